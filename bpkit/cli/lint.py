"""`bpkit lint`: every rule, with file:line:col, for people and for CI.

The options as click reads them; the body is bpkit.cli.lint_run's.
"""

from __future__ import annotations

import sys

import click

from bpkit.report.lint import FORMATS


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
@click.option("-q", "--quiet", is_flag=True,
              help="Only the problems: no summary line (text and github formats).")
@click.option("--fix", is_flag=True,
              help="First turn umbrella charts into wrappers where that is mechanical "
                   "(a single dependencies: entry becomes the upstream block; values move to "
                   "the upstream-mode's shape); then lint.")
@click.option("--no-cache", is_flag=True,
              help="Neither read nor write the lint cache ($BPKIT_CACHE_DIR/lint, else "
                   ".bpkit_cache/ at the repository root).")
def lint(paths: tuple[str, ...], fmt: str | None, strict: bool, base: str | None,
         sarif_file: str | None, quiet: bool, fix: bool, no_cache: bool) -> None:
    """Check blueprints: PATHS are folders of blueprints, blueprint folders, or files in one.

    With no PATHS: platform/ and products/ under the repository root.
    Unchanged blueprint folders are not parsed again: what they contributed
    is kept in the lint cache, and the results are the same without it.
    """
    from bpkit.cli.lint_run import lint_run

    sys.exit(lint_run(paths, fmt, strict=strict, base=base, sarif_file=sarif_file, quiet=quiet,
                      fix=fix, no_cache=no_cache))
