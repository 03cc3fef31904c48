"""`bpkit lint`: every rule, with file:line:col, for people and for CI."""

from __future__ import annotations

import os
import sys

import click

from bpkit.errors import EXIT_OK, EXIT_PROBLEMS

FORMATS = ["text", "json", "github", "sarif"]


@click.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--format", "fmt", type=click.Choice(FORMATS),
              help="Output format. Default: github under GitHub Actions, else text.")
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too.")
@click.option("--base", metavar="REF",
              help="Also require a version bump in blueprints changed since the merge base "
                   "with REF (pull requests).")
@click.option("--sarif-file", type=click.Path(dir_okay=False),
              help="Also write SARIF 2.1.0 to this file (for code-scanning upload).")
def lint(paths: tuple[str, ...], fmt: str | None, strict: bool, base: str | None,
         sarif_file: str | None) -> None:
    """Check blueprints: PATHS are folders of blueprints, blueprint folders, or files in one.

    With no PATHS: platform/ and products/ under the repository root.
    """
    from bpkit import output
    from bpkit.cli._common import settings_here
    from bpkit.lint import lint_paths
    from bpkit.rules import RULES

    settings = settings_here()
    gate = None
    if base is not None:
        from bpkit.changes import version_gate

        gate = version_gate(settings.root, base)
    result = lint_paths(paths, settings, version_gate=gate)
    fmt = output.choose_format(fmt, os.environ)
    summary = output.Summary(blueprints=len(result.blueprints), files=result.files)
    stream = click.get_text_stream("stdout")
    output.render(fmt, result.problems, RULES, summary,
                  color=output.use_color(sys.stdout, os.environ), stream=stream)
    if sarif_file:
        with open(sarif_file, "w", encoding="utf-8") as fh:
            output.render("sarif", result.problems, RULES, summary, color=False, stream=fh)
    sys.exit(EXIT_PROBLEMS if result.failed(strict) else EXIT_OK)
