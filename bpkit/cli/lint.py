"""`bpkit lint`: every rule, with file:line:col, for people and for CI."""

from __future__ import annotations

import gc
import io
import os
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import click

from bpkit.errors import EXIT_OK, EXIT_PROBLEMS
from bpkit.report.lint import FORMATS

if TYPE_CHECKING:
    from bpkit.lint.record import Report, RunRecord
    from bpkit.lint.rules.base import RuleInfo
    from bpkit.settings import Settings


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
    from bpkit.lint.paths import Owners
    from bpkit.lint.record import RunRecord, cache_dir
    from bpkit.report import lint as report

    settings = settings_here()
    # A whole run answered from the lint cache's run record needs neither the
    # YAML parser nor a rule: nothing it read has changed (bpkit.lint.record).
    record = None
    if not no_cache and base is None and not fix:
        record = RunRecord(cache_dir(settings.root), settings, paths)
    outcome = record.answer() if record is not None else None
    if outcome is None:
        outcome = _run(paths, settings, base=base, fix=fix, no_cache=no_cache, record=record)
    fmt = report.choose_format(fmt, os.environ)
    owner = Owners([*outcome.blueprints, *outcome.dependents])
    with_problems = len({owner(p.path) for p in outcome.problems} - {None})
    summary = report.Summary(blueprints=len(outcome.blueprints), files=outcome.files,
                             blueprints_with_problems=with_problems)
    stream = sys.stdout
    if isinstance(stream, io.TextIOWrapper):
        stream.reconfigure(errors="backslashreplace")
    problems = list(outcome.problems)
    if fmt in ("github", "sarif"):
        # GitHub resolves annotation and SARIF paths from the repository root.
        problems = rooted(problems, settings.root)
    report.render(fmt, problems, _rules() if fmt == "sarif" else {}, summary,
                  color=report.use_color(sys.stdout, os.environ), stream=stream, quiet=quiet)
    if sarif_file:
        with open(sarif_file, "w", encoding="utf-8") as fh:
            report.render("sarif", rooted(list(outcome.problems), settings.root), _rules(),
                          summary, color=False, stream=fh)
    if os.environ.get("GITHUB_ACTIONS") == "true" and os.environ.get("GITHUB_STEP_SUMMARY"):
        from bpkit.report.github import write_summary

        write_summary(report.markdown_summary(rooted(list(outcome.problems), settings.root),
                                              summary), os.environ)
    sys.exit(EXIT_PROBLEMS if outcome.failed(strict) else EXIT_OK)


def _rules() -> Mapping[str, RuleInfo]:
    """The rule registry (imports every rule module): only SARIF names the rules."""
    from bpkit.lint.rules import RULES

    return RULES


def _run(paths: tuple[str, ...], settings: Settings, *, base: str | None, fix: bool,
         no_cache: bool, record: RunRecord | None) -> Report:
    """Lint for real: load (or take from the lint cache), run the rules, keep the record."""
    from bpkit.lint.engine import lint_paths

    # A lint run allocates millions of small, long-lived objects and then
    # exits: with default thresholds the cyclic collector keeps rescanning
    # them, which doubled the run time. Collect rarely instead.
    gc.freeze()
    gc.set_threshold(100_000, 50, 1000)
    gate = None
    if base is not None:
        from bpkit.history.gate import version_gate

        gate = version_gate(settings.root, base, settings)
    if fix:
        _fix(paths, settings)
    cache = None
    if not no_cache:
        from bpkit.lint.cache import LintCache
        from bpkit.lint.record import cache_dir

        cache = LintCache(cache_dir(settings.root), settings)
    result = lint_paths(paths, settings, version_gate=gate, cache=cache)
    outcome = result.report()
    if cache is not None:
        cache.save()
        if record is not None:
            record.save(outcome, cache.inputs)
    return outcome


def _fix(paths: Sequence[str], settings: Settings) -> None:
    """Apply `bpkit.lint.fix` to every blueprint PATHS name; say what changed, on stderr."""
    from bpkit.lint.fix import fix_path
    from bpkit.source.discover import discover
    from bpkit.text import printable

    for folder in discover(list(paths), settings.root, settings.roots).blueprints:
        done = fix_path(folder, settings.mode_for(folder))
        for line in done.fixed:
            click.echo(printable(f"fixed: {line}"), err=True)
        for line in done.left:
            click.echo(printable(f"not fixed: {line}"), err=True)
