"""select -> load -> lint, for the commands that name blueprints (package, publish)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bpkit.lint.engine import lint_blueprints, load_checked
from bpkit.problem import Problem
from bpkit.settings import Settings
from bpkit.source.discover import select
from bpkit.source.model import Blueprint


def lint_selection(settings: Settings, names: Sequence[str], all_: bool = False,
                   paths: Sequence[Path] | None = None) -> tuple[list[Blueprint], list[Problem]]:
    """The blueprints named (or `paths`, or with `all_` every one) and their lint problems.

    Names resolve as `bpkit package`/`publish` document them (a folder, a
    file in one, `flux` or `bp-flux` under a root); UsageError otherwise.
    """
    chosen = list(paths) if paths is not None else select(names, settings.root, settings.roots,
                                                          all_=all_)
    blueprints = []
    local = {}
    for path in chosen:
        bp, rules, _ = load_checked(path, settings)
        local[bp.path] = rules
        blueprints.append(bp)
    return blueprints, lint_blueprints(blueprints, settings, local=local)
