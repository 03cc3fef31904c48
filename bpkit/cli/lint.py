"""`bpkit lint`: every rule, with file:line:col, for people and for CI."""

from __future__ import annotations

import gc
import io
import os
import sys
from collections.abc import Sequence

import click

from bpkit.errors import EXIT_OK, EXIT_PROBLEMS
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
    from bpkit.cli._common import rooted, settings_here
    from bpkit.lint.engine import Owners, lint_paths
    from bpkit.lint.rules import RULES
    from bpkit.report import lint as report

    # A lint run allocates millions of small, long-lived objects and then
    # exits: with default thresholds the cyclic collector keeps rescanning
    # them, which doubled the run time. Collect rarely instead.
    gc.freeze()
    gc.set_threshold(100_000, 50, 1000)
    settings = settings_here()
    gate = None
    if base is not None:
        from bpkit.history.gate import version_gate

        gate = version_gate(settings.root, base, settings)
    if fix:
        _fix(paths, settings)
    cache = None
    if not no_cache:
        from bpkit.lint.cache import LintCache, cache_dir

        cache = LintCache(cache_dir(settings.root), settings)
    result = lint_paths(paths, settings, version_gate=gate, cache=cache)
    if cache is not None:
        cache.save()
    fmt = report.choose_format(fmt, os.environ)
    checked = [*result.blueprints, *result.dependents]
    owner = Owners(checked)
    with_problems = len({owner(p.path) for p in result.problems} - {None})
    summary = report.Summary(blueprints=len(result.blueprints), files=result.files,
                             blueprints_with_problems=with_problems)
    stream = sys.stdout
    if isinstance(stream, io.TextIOWrapper):
        stream.reconfigure(errors="backslashreplace")
    problems = result.problems
    if fmt in ("github", "sarif"):
        # GitHub resolves annotation and SARIF paths from the repository root.
        problems = rooted(problems, settings.root)
    report.render(fmt, problems, RULES, summary,
                  color=report.use_color(sys.stdout, os.environ), stream=stream, quiet=quiet)
    if sarif_file:
        with open(sarif_file, "w", encoding="utf-8") as fh:
            report.render("sarif", rooted(result.problems, settings.root), RULES, summary,
                          color=False, stream=fh)
    if os.environ.get("GITHUB_ACTIONS") == "true" and os.environ.get("GITHUB_STEP_SUMMARY"):
        from bpkit.report.github import write_summary

        write_summary(report.markdown_summary(rooted(result.problems, settings.root), summary),
                      os.environ)
    sys.exit(EXIT_PROBLEMS if result.failed(strict) else EXIT_OK)


def _fix(paths: Sequence[str], settings: object) -> None:
    """Apply `bpkit.lint.fix` to every blueprint PATHS name; say what changed, on stderr."""
    from bpkit.lint.fix import fix_path
    from bpkit.settings import Settings
    from bpkit.source.discover import discover
    from bpkit.text import printable

    assert isinstance(settings, Settings)
    for folder in discover(list(paths), settings.root, settings.roots).blueprints:
        done = fix_path(folder, settings.mode_for(folder))
        for line in done.fixed:
            click.echo(printable(f"fixed: {line}"), err=True)
        for line in done.left:
            click.echo(printable(f"not fixed: {line}"), err=True)
