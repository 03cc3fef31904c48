"""The lint engine: blueprints in, problems out. No I/O beyond reading the files.

    discover -> load -> per-blueprint rules -> tree rules -> settings -> sorted problems
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from bpkit.errors import UsageError
from bpkit.lint.cache import LOCAL_RULES, LintCache, release
from bpkit.lint.context import Context
from bpkit.lint.paths import split_deleted
from bpkit.lint.record import Report
from bpkit.lint.rules import BLUEPRINT_CHECKS, RESETS, TREE_CHECKS
from bpkit.problem import Level, Problem
from bpkit.settings import Settings
from bpkit.source.discover import Discovery, blueprints_under, discover
from bpkit.source.model import Blueprint, load_blueprint

if TYPE_CHECKING:
    from bpkit.history.gate import GateFacts

INTERNAL = "internal-error"
# What a change to one blueprint can break in the blueprints depending on it.
DEPENDENT_RULES = ("depends-target", "depends-version")


@dataclass
class LintResult:
    blueprints: list[Blueprint]
    problems: list[Problem] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)  # given files in no blueprint
    # Blueprints not asked for that depend on one that was (or was deleted):
    # checked with DEPENDENT_RULES only.
    dependents: list[Blueprint] = field(default_factory=list)

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

    def report(self) -> Report:
        """What `bpkit lint` shows of this result (and its run record keeps)."""
        return Report(problems=tuple(self.problems),
                      blueprints=tuple(bp.path for bp in self.blueprints),
                      dependents=tuple(bp.path for bp in self.dependents),
                      files=self.files, outside=tuple(self.outside))


def lint_paths(
    paths: Sequence[str | Path], settings: Settings, *,
    version_gate: GateFacts | None = None,
    cache: LintCache | None = None,
) -> LintResult:
    """Lint what `paths` name; with paths, also the dependency pins of their dependents.

    Given files (as pre-commit passes them), a changed blueprint can break
    others that were not given: a version raised past their `^1.0`, or a
    blueprint deleted. Those dependents get the DEPENDENT_RULES. A given
    path that no longer exists under one of the roots is a deletion: its
    blueprint is linted if it still exists, else its dependents are checked.

    `cache`: reuse what unchanged blueprint folders contributed last time
    (see bpkit.lint.cache); the problems are the same either way. New
    entries are kept in it: the caller writes them with `cache.save()`.
    """
    for reset in RESETS:
        reset()
    present, deleted = split_deleted(paths, settings)
    if paths and not present:
        found = Discovery()
    else:
        found = discover(present, settings.root, settings.roots)
    if cache is not None:
        noted = cache.inputs
        noted.present, noted.deleted = [str(p) for p in present], sorted(deleted)
        noted.blueprints, noted.outside = [str(p) for p in found.blueprints], list(found.outside)
    local: dict[Path, dict[str, list[Problem]]] = {}
    hits: dict[Path, Blueprint] = {}
    for path in found.blueprints:
        hit = cache.lookup(path) if cache is not None else None
        if hit is not None:
            hits[path] = hit.blueprint
            local[path] = hit.rules
    loaded = load_many([path for path in found.blueprints if path not in hits], settings)
    blueprints = []
    for path in found.blueprints:
        if path in hits:
            blueprints.append(hits[path])
            continue
        bp, local[path], inputs = next(loaded)
        if cache is not None:
            cache.put(bp, {rule: problems for rule, problems in local[path].items()
                           if rule not in UPSTREAM_RULES})
            cache.inputs.files.update(inputs)
            if not _chart_inside(bp):
                cache.inputs.complete = False  # the record checks blueprint folders only
        blueprints.append(bp)
    result = LintResult(blueprints=blueprints, outside=found.outside)
    siblings = _once(sibling_loader(blueprints, settings, also=[settings.root] if deleted else [],
                                    cache=cache))

    if paths:
        result.dependents = _dependents(blueprints, deleted, siblings())
    result.problems = lint_blueprints(blueprints, settings, version_gate=version_gate,
                                      load_siblings=siblings, dependents=result.dependents,
                                      local=local,
                                      inputs=cache.inputs.files if cache is not None else None)
    return result


#: Below this many blueprints to load, one process does it all: forking and
#: sending results back costs more than it saves. bench/bench_parallel.py
#: measures the break-even; here (2 cores, medians of 5-7 runs, this process
#: loading a share itself): 40 blueprints 0.21 s in one process and with two;
#: 60: 0.26 s, 0.24 s; 80: 0.30 s, 0.29 s; 100: 0.32 s, 0.28 s; 140: 0.38 s, 0.30 s.
PARALLEL_MIN = 100
PER_WORKER_MIN = 50  # blueprints each process loads at least
_WORKERS_ENV = "BPKIT_LINT_WORKERS"  # a number; 1 turns parallel loading off


def load_many(paths: Sequence[Path], settings: Settings | None = None) -> Iterator[Loaded]:
    """`load_checked` for each path, in order; in forked processes too when there are many.

    YAML reading is pure Python object building, so threads would not
    help: this process and forked ones (Linux) each take the next blueprint
    when free (bpkit.lint.forked), and what the others send back is plain
    data (documents without node graphs, problems).
    """
    workers = _workers(len(paths))
    if workers <= 1:
        return (load_checked(path, settings) for path in paths)
    import functools

    from bpkit.lint import wire
    from bpkit.lint.forked import WorkerFailed, forked_map

    def results() -> Iterator[Loaded]:
        try:
            yield from forked_map(functools.partial(load_checked, settings=settings), paths,
                                  workers, encode=wire.encode, decode=wire.decode)
        except WorkerFailed as exc:
            # A worker killed (out of memory, a signal) or failing: never wait for it.
            raise UsageError(f"a lint worker process died while loading {len(paths)} "
                             f"blueprints ({exc.why}); {_WORKERS_ENV}=1 loads them in this "
                             "process") from None

    return results()


def workers_note(env: Mapping[str, str] = os.environ) -> str | None:
    """What is wrong with $BPKIT_LINT_WORKERS, when something is (it then means one process)."""
    raw = env.get(_WORKERS_ENV, "")
    try:
        if not raw or int(raw) >= 0:
            return None
    except ValueError:
        pass
    from bpkit.text import printable

    return (f"{_WORKERS_ENV}='{printable(raw)}' is not a number of processes; "
            "loading in this process")


def _workers(count: int) -> int:
    raw = os.environ.get(_WORKERS_ENV, "")
    try:
        wanted = int(raw) if raw else min(os.cpu_count() or 1, 4)
    except ValueError:
        wanted = 1
    if count < PARALLEL_MIN or wanted <= 1:
        return 1
    import threading

    if threading.active_count() > 1:
        return 1  # forking a process with threads can copy a held lock into the child
    if not hasattr(os, "fork"):
        return 1
    return min(wanted, count // PER_WORKER_MIN)


class Loaded(NamedTuple):
    """A loaded blueprint, the problems of the rules run on it alone, and what they read."""

    blueprint: Blueprint
    rules: dict[str, list[Problem]]
    inputs: frozenset[str]  # files outside the folder the verdicts depend on (Context.inputs)


#: Rules that need the blueprint, the settings and the chart cache, and
#: nothing of other blueprints: with settings, `load_checked` runs them too
#: (in the worker, while the node graphs are still there). Not cached per
#: folder (the chart cache is outside it); the run record checks that.
UPSTREAM_RULES = frozenset({"overlay-values", "overlay-subchart-key"})


def load_checked(path: Path, settings: Settings | None = None) -> Loaded:
    """Load a blueprint and run the rules that need nothing else (`local_problems`).

    With `settings`, the UPSTREAM_RULES too. Its node graphs are dropped
    then (positions are parsed again if another rule needs one), and the
    youngest generation of the cyclic collector runs: the YAML loader leaves
    a reference cycle per file that holds its C parser's buffers, and `bpkit
    lint` makes full collections rare. A run of 1,000 blueprints peaks at
    40 MB this way instead of 95 MB, and is no slower (only this blueprint's
    objects are young).
    """
    bp = load_blueprint(path)
    memo: dict[Any, Any] = {}  # facts of the blueprint's files (its lock), read once
    off = switched_off(settings)
    found = local_problems(bp, memo, off)
    inputs: frozenset[str] = frozenset()
    if settings is not None:
        alone = Context(linted=(), settings=settings, memo=memo)
        for rule_id, check in BLUEPRINT_CHECKS:
            if rule_id in UPSTREAM_RULES:
                found[rule_id] = [] if rule_id in off else _guarded(
                    rule_id, bp, lambda c=check: c(bp, alone))  # type: ignore[misc]
        inputs = frozenset(alone.inputs)
    release(bp)
    gc.collect(0)
    return Loaded(bp, found, inputs)


def local_problems(bp: Blueprint, memo: dict[Any, Any] | None = None,
                   off: frozenset[str] = frozenset()) -> dict[str, list[Problem]]:
    """The problems of the LOCAL_RULES, by rule: they need nothing but the blueprint.

    `memo`: shared with the UPSTREAM_RULES' context, so the lock is read once.
    `off`: rules not run (`switched_off`), as if they found nothing.
    """
    alone = Context(linted=(), memo=memo if memo is not None else {})
    return {rule_id: [] if rule_id in off else _guarded(
                rule_id, bp, lambda c=check: c(bp, alone))  # type: ignore[misc]
            for rule_id, check in BLUEPRINT_CHECKS if rule_id in LOCAL_RULES}


def switched_off(settings: Settings | None) -> frozenset[str]:
    """Rules the settings turn off everywhere, which need not run at all.

    All a rule gives is problems, and those of a rule set to "off" with no
    per-path level are dropped by `apply_settings` anyway; not running it
    also spares the positions of what it would have found (a parse each).
    """
    if settings is None or not settings.rule_levels:
        return frozenset()
    per_path = {rule for _, levels in settings.per_path for rule in levels}
    return frozenset(rule for rule, level in settings.rule_levels.items()
                     if level is Level.OFF and rule not in per_path)


def _dependents(changed: Sequence[Blueprint], deleted: set[str],
                siblings: Sequence[Blueprint]) -> list[Blueprint]:
    names = {name for bp in changed for name in (bp.metadata_name, bp.chart_name,
                                                 bp.expected_chart_name) if name}
    names |= {f"bp-{name}" for name in deleted} | deleted
    return [bp for bp in siblings
            if any(entry.get("blueprint") in names for _, entry in bp.depends_entries())]


def _once(load: Callable[[], list[Blueprint]]) -> Callable[[], list[Blueprint]]:
    loaded: list[list[Blueprint]] = []

    def cached() -> list[Blueprint]:
        if not loaded:
            loaded.append(load())
        return loaded[0]

    return cached


def _chart_inside(bp: Blueprint) -> bool:
    folder = os.path.abspath(bp.path)
    return os.path.abspath(bp.chart_dir).startswith(folder.rstrip("/") + "/")


def sibling_loader(linted: Sequence[Blueprint], settings: Settings, *,
                   also: Sequence[Path] = (),
                   cache: LintCache | None = None) -> Callable[[], list[Blueprint]]:
    """Blueprints of the same monorepo(s), for resolving dependencies by name.

    `also`: more monorepo roots to look in (when nothing was linted there).
    `cache`: read when given, and given partial entries (no values, no
    verdicts) for siblings it did not hold.
    """

    def one(path: Path) -> Blueprint:
        hit = cache.lookup(path, with_values=False) if cache is not None else None
        if hit is not None:
            return hit.blueprint
        bp = load_blueprint(path, with_values=False)
        if cache is not None:
            if not _chart_inside(bp):
                cache.inputs.complete = False
            cache.put_sibling(bp)
        return bp


    def load() -> list[Blueprint]:
        known = {bp.path for bp in linted}
        folders: dict[Path, None] = {}
        for monorepo in also:
            for group in settings.roots:
                folders[monorepo / group] = None
        for parent in dict.fromkeys(bp.path.parent for bp in linted):  # a few, for many
            for group in (*settings.roots, parent.name):
                folders[parent.parent / group] = None
        siblings = []
        skip = {str(path) for path in known}
        for folder in folders:
            if cache is not None:  # the run record checks what was found where
                found = blueprints_under(folder, depth=1) if folder.is_dir() else []
                cache.inputs.searched[str(folder)] = [str(p) for p in found]
            elif folder.is_dir():
                found = blueprints_under(folder, depth=1, known=skip)
            else:
                continue
            for path in found:
                if path not in known:
                    known.add(path)
                    siblings.append(one(path))
        return siblings

    return load


def lint_blueprints(
    blueprints: Sequence[Blueprint], settings: Settings, *,
    version_gate: GateFacts | None = None,
    load_siblings: Callable[[], Sequence[Blueprint]] | None = None,
    dependents: Sequence[Blueprint] = (),
    local: Mapping[Path, Mapping[str, list[Problem]]] | None = None,
    inputs: set[str] | None = None,
) -> list[Problem]:
    """Every problem of `blueprints`, settings applied, sorted.

    `local`: the LOCAL_RULES' problems of blueprints, already found (while
    loading, or read from the lint cache): those rules are not run again.
    The order of the problems is the same either way. `inputs` gets the
    files outside the blueprint folders that the rules read (Context.inputs).
    """
    ctx = Context(linted=blueprints,
                  load_siblings=load_siblings or sibling_loader(blueprints, settings),
                  version_gate=version_gate, settings=settings,
                  inputs=inputs if inputs is not None else set())
    raw: list[Problem] = []
    off = switched_off(settings)
    for bp in blueprints:
        raw.extend(bp.problems)
        known = local.get(bp.path) if local else None
        for rule_id, check in BLUEPRINT_CHECKS:
            if known is not None and rule_id in known:
                raw.extend(known[rule_id])
            elif rule_id not in off:
                raw.extend(_guarded(rule_id, bp, lambda c=check, b=bp: c(b, ctx)))  # type: ignore[misc]
    for bp in dependents:
        for rule_id, check in BLUEPRINT_CHECKS:
            if rule_id in DEPENDENT_RULES and rule_id not in off:
                raw.extend(_guarded(rule_id, bp, lambda c=check, b=bp: c(b, ctx)))  # type: ignore[misc]
    for rule_id, check_tree in TREE_CHECKS:
        if rule_id not in off:
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
