"""Pieces several subcommands share."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from bpkit.problem import Problem
from bpkit.settings import Settings, load_settings
from bpkit.source.discover import find_repo_root


def settings_here() -> Settings:
    from bpkit.lint.ids import RULE_IDS

    root = find_repo_root(Path.cwd())
    return load_settings(root, known_rules=RULE_IDS)


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


def rooted(problems: Sequence[Problem], root: Path) -> list[Problem]:
    """Problems with paths relative to the repository root (GitHub resolves them from there)."""
    out = []
    for p in problems:
        absolute = Path(p.path).absolute()
        try:
            path = absolute.relative_to(root).as_posix()
        except ValueError:
            path = p.path
        out.append(Problem(path, p.line, p.col, p.rule, p.level, p.message))
    return out
