"""The lint engine: blueprints in, problems out. No I/O beyond reading the files.

    discover -> load -> per-blueprint rules -> tree rules -> settings -> sorted problems
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bpkit.lint.context import Context
from bpkit.lint.rules import BLUEPRINT_CHECKS, TREE_CHECKS
from bpkit.problem import Level, Problem
from bpkit.settings import Settings
from bpkit.source.discover import blueprints_under, discover
from bpkit.source.model import Blueprint, load_blueprint

if TYPE_CHECKING:
    from bpkit.history.gate import GateFacts

INTERNAL = "internal-error"


@dataclass
class LintResult:
    blueprints: list[Blueprint]
    problems: list[Problem] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)  # given files in no blueprint

    @property
    def errors(self) -> int:
        return sum(1 for p in self.problems if p.level is Level.ERROR)

    @property
    def warnings(self) -> int:
        return sum(1 for p in self.problems if p.level is Level.WARNING)

    @property
    def files(self) -> int:
        return sum(sum(1 for d in (bp.blueprint, bp.chart, bp.values) if d is not None)
                   for bp in self.blueprints)

    def failed(self, strict: bool = False) -> bool:
        return self.errors > 0 or (strict and self.warnings > 0)


def lint_paths(
    paths: Sequence[str | Path], settings: Settings, *,
    version_gate: GateFacts | None = None,
) -> LintResult:
    found = discover(paths, settings.root, settings.roots)
    blueprints = [load_blueprint(path) for path in found.blueprints]
    result = LintResult(blueprints=blueprints, outside=found.outside)
    result.problems = lint_blueprints(blueprints, settings, version_gate=version_gate)
    return result


def owning_blueprint(path: str | Path, blueprints: Sequence[Blueprint]) -> Path | None:
    """The folder of the blueprint a problem's file belongs to, if any."""
    absolute = Path(path).absolute()
    for bp in blueprints:
        if absolute == bp.path or bp.path in absolute.parents:
            return bp.path
    return None


def sibling_loader(linted: Sequence[Blueprint],
                   settings: Settings) -> Callable[[], list[Blueprint]]:
    """Blueprints of the same monorepo(s), for resolving dependencies by name."""

    def load() -> list[Blueprint]:
        known = {bp.path for bp in linted}
        folders: dict[Path, None] = {}
        for bp in linted:
            monorepo = bp.path.parent.parent
            for group in (*settings.roots, bp.path.parent.name):
                folders[monorepo / group] = None
        siblings = []
        for folder in folders:
            if folder.is_dir():
                for path in blueprints_under(folder, depth=1):
                    if path not in known:
                        known.add(path)
                        siblings.append(load_blueprint(path, with_values=False))
        return siblings

    return load


def lint_blueprints(
    blueprints: Sequence[Blueprint], settings: Settings, *,
    version_gate: GateFacts | None = None,
    load_siblings: Callable[[], Sequence[Blueprint]] | None = None,
) -> list[Problem]:
    ctx = Context(linted=blueprints,
                  load_siblings=load_siblings or sibling_loader(blueprints, settings),
                  version_gate=version_gate)
    raw: list[Problem] = []
    for bp in blueprints:
        raw.extend(bp.problems)
        for rule_id, check in BLUEPRINT_CHECKS:
            raw.extend(_guarded(rule_id, bp, lambda c=check, b=bp: c(b, ctx)))  # type: ignore[misc]
    for rule_id, check_tree in TREE_CHECKS:
        raw.extend(_guarded(rule_id, None, lambda c=check_tree: c(blueprints, ctx)))  # type: ignore[misc]
    return apply_settings(raw, settings)


def _guarded(rule_id: str, bp: Blueprint | None,
             run: Callable[[], Iterator[Problem]]) -> list[Problem]:
    """A crashing rule is a bug; report it as a problem, not a traceback."""
    try:
        return list(run())
    except Exception as exc:
        where = bp.display if bp is not None else "."
        return [Problem(where, 0, 0, INTERNAL, Level.ERROR,
                        f"rule {rule_id} failed ({type(exc).__name__}: {exc}); "
                        "please report this bpkit bug")]


def apply_settings(problems: Sequence[Problem], settings: Settings) -> list[Problem]:
    out: dict[Problem, None] = {}
    for found in problems:
        level = settings.level_for(found.rule, found.level, Path(found.path))
        if level is Level.OFF:
            continue
        if level is not found.level:
            found = Problem(found.path, found.line, found.col, found.rule, level,  # noqa: PLW2901
                            found.message)
        out[found] = None
    return sorted(out, key=Problem.sort_key)
