"""Pieces several subcommands share."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from bpkit.problem import Problem
from bpkit.settings import Settings, load_settings
from bpkit.source.discover import find_repo_root
from bpkit.source.model import Blueprint


def settings_here() -> Settings:
    from bpkit.lint.rules import RULES

    root = find_repo_root(Path.cwd())
    return load_settings(root, known_rules=frozenset(RULES))


def lint_selected(settings: Settings, names: Sequence[str], all_: bool,
                  paths: Sequence[Path] | None = None) -> tuple[list[Blueprint], list[Problem]]:
    """Load and lint the blueprints named on a package/publish command line."""
    from bpkit.lint.engine import lint_blueprints, load_checked
    from bpkit.source.discover import select

    chosen = list(paths) if paths is not None else select(names, settings.root, settings.roots,
                                                          all_=all_)
    blueprints = []
    local = {}
    for path in chosen:
        bp, local[bp.path] = load_checked(path)
        blueprints.append(bp)
    return blueprints, lint_blueprints(blueprints, settings, local=local)


def print_problems(problems: Sequence[Problem]) -> None:
    """Lint problems that stop (or accompany) packaging, on stderr as text."""
    if not problems:
        return
    from bpkit.report import lint as report

    stream = sys.stderr
    color = report.use_color(sys.stderr, os.environ)
    text = report.format_text(problems, report.Summary(0, 0), color=color)
    # Only the problem lines: the summary belongs to `bpkit lint`.
    lines = text.rstrip("\n").splitlines()[:-1]
    for line in lines:
        stream.write(line + "\n")
