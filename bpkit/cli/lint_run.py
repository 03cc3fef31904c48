"""What `bpkit lint` does, without click: the plain command line runs it directly.

`bpkit lint [PATHS]` with at most --format, --strict, -q/--quiet and
--no-cache is what the pre-commit hook runs on every commit, and a warm run
is answered from the run record in about 0.1 s, of which importing click
would take a third. `plain_lint` recognises exactly that command line
(anything else, `--help` included, goes through click, and
tests/test_cli_plain.py checks that both give the same output and exit
code); `lint_run` is the command's body either way.
"""

from __future__ import annotations

import gc
import io
import os
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from bpkit.errors import EXIT_OK, EXIT_PROBLEMS

if TYPE_CHECKING:
    from bpkit.lint.record import Report, RunRecord
    from bpkit.lint.rules.base import RuleInfo
    from bpkit.settings import Settings

#: The flags `plain_lint` takes (the click command's own names), and the one option.
PLAIN_FLAGS = {"--strict": "strict", "-q": "quiet", "--quiet": "quiet", "--no-cache": "no_cache"}
PLAIN_FORMAT = "--format"


def plain_lint(argv: Sequence[str]) -> dict[str, Any] | None:
    """`lint_run`'s arguments when ARGV is a plain `lint` command line, else None."""
    if not argv or argv[0] != "lint":
        return None
    from bpkit.report.lint import FORMATS

    found: dict[str, Any] = {"paths": [], "fmt": None, "strict": False, "quiet": False,
                             "no_cache": False}
    args = list(argv[1:])
    while args:
        arg = args.pop(0)
        if arg == "--":
            found["paths"].extend(args)
            break
        if arg in PLAIN_FLAGS:
            found[PLAIN_FLAGS[arg]] = True
        elif arg == PLAIN_FORMAT or arg.startswith(PLAIN_FORMAT + "="):
            value = arg.partition("=")[2] if "=" in arg else (args.pop(0) if args else None)
            if value not in FORMATS:
                return None  # click says what is wrong
            found["fmt"] = value
        elif arg.startswith("-") and arg != "-":
            return None
        else:
            found["paths"].append(arg)
    return found


def lint_run(paths: Sequence[str], fmt: str | None = None, *, strict: bool = False,
             base: str | None = None, sarif_file: str | None = None, quiet: bool = False,
             fix: bool = False, no_cache: bool = False) -> int:
    """Lint PATHS, print the problems, and return the exit code."""
    from bpkit.cli._common import rooted, settings_here
    from bpkit.lint.paths import Owners
    from bpkit.lint.record import RunRecord, cache_dir
    from bpkit.report import lint as report

    paths = tuple(paths)
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
    with_problems = 0
    if outcome.problems:  # a set of 1,000 folders costs a clean warm run 2 ms
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
    stream.flush()
    return EXIT_PROBLEMS if outcome.failed(strict) else EXIT_OK


def _rules() -> Mapping[str, RuleInfo]:
    """The rule registry (imports every rule module): only SARIF names the rules."""
    from bpkit.lint.rules import RULES

    return RULES


def _run(paths: tuple[str, ...], settings: Settings, *, base: str | None, fix: bool,
         no_cache: bool, record: RunRecord | None) -> Report:
    """Lint for real: load (or take from the lint cache), run the rules, keep the record."""
    from bpkit.lint.engine import lint_paths, workers_note

    note = workers_note()
    if note is not None:
        sys.stderr.write(f"bpkit: note: {note}\n")

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
            sys.stderr.write(printable(f"fixed: {line}") + "\n")
        for line in done.left:
            sys.stderr.write(printable(f"not fixed: {line}") + "\n")
    sys.stderr.flush()
