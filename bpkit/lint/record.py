"""The lint cache's run record: a whole `bpkit lint` result, kept while its inputs look the same.

The lint cache (bpkit.lint.cache) spares a warm run the parsing, but every
rule that looks across blueprints still runs, and the run still imports
the YAML parser and every rule. When nothing a run read has changed, its
result cannot have changed either, so the record answers directly: the
problems as they were printed, the blueprints counted, and everything the
run depended on.

A record is used only when all of these look as they did:
- the key: bpkit (version, modules), the settings, the working directory,
  the chart cache's location and the PATHS given;
- which PATHS exist and what they name (`split_deleted`, `discover`);
- every blueprint folder the run read, the linted ones and the siblings
  loaded to resolve dependencies, by the stat data of every file and
  folder in it (`stamps.unchanged`, as the cache's entries are checked);
- every folder searched for siblings, by the blueprints found in it now;
- every file outside those folders that a rule's verdict depended on
  (the cached upstream charts overlay-values checks against), by its stat
  data or its absence.
A run that read something the record cannot check (a folder holding a
symlink, anything changed in the last two seconds, a chart folder outside
its blueprint, `--base`, `--fix`) writes no record. A rule that comes to read
anything else outside its blueprint folder must add it to `Inputs.files`.

Records live beside the packs as `run-<key>.rec`; the newest KEEP_RECORDS
are kept (pre-commit runs each name other files). The format is the packs':
a header line with the body's sha256, so a torn or foreign file is ignored.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bpkit import __version__
from bpkit.lint import packfile, stamps
from bpkit.lint.paths import split_deleted
from bpkit.problem import Level, Problem
from bpkit.settings import Settings, cache_root
from bpkit.source.discover import Listings, blueprints_under, discover

__all__ = ["CACHE_ENV", "REPO_CACHE", "Inputs", "Report", "RunRecord", "cache_dir"]

MAGIC = "bpkit-lint-run"
FORMAT = 2  # 2: folder seals over the stat values alone (stamps.seal)
CACHE_ENV = "BPKIT_CACHE_DIR"
REPO_CACHE = ".bpkit_cache"
MAX_RECORD_BYTES = 64 * 1024 * 1024
KEEP_RECORDS = 16


def cache_dir(root: Path, env: Mapping[str, str] = os.environ) -> Path:
    """`$BPKIT_CACHE_DIR/lint` when set, else `.bpkit_cache/lint` at the repository root."""
    configured = env.get(CACHE_ENV)
    if configured:
        return Path(configured) / "lint"
    return root / REPO_CACHE / "lint"


@dataclass(frozen=True)
class Report:
    """What `bpkit lint` shows and counts: problems and folders, no parsed documents."""

    problems: tuple[Problem, ...]
    blueprints: tuple[Path, ...]  # linted
    dependents: tuple[Path, ...]  # checked for their dependency pins only
    files: int
    outside: tuple[str, ...]

    def failed(self, strict: bool = False) -> bool:
        return any(p.level is Level.ERROR or (strict and p.level is Level.WARNING)
                   for p in self.problems)


@dataclass
class Inputs:
    """What one run read, noted as it reads it; `complete` goes False at anything uncheckable."""

    present: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    blueprints: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    folders: dict[str, stamps.Rows] = field(default_factory=dict)
    searched: dict[str, list[str]] = field(default_factory=dict)
    files: set[str] = field(default_factory=set)
    complete: bool = True

    def folder(self, real: str, rows: stamps.Rows | None) -> None:
        if rows is None:
            self.complete = False
        else:
            self.folders[real] = rows


class RunRecord:
    """The record of one (settings, working directory, PATHS); read/write failures are silent."""

    def __init__(self, directory: Path, settings: Settings, paths: Sequence[str | Path],
                 env: Mapping[str, str] = os.environ) -> None:
        self.directory = directory
        self.settings = settings
        self.paths = [str(p) for p in paths]
        key = hashlib.sha256()
        for part in (MAGIC, str(FORMAT), __version__, stamps.code_fingerprint(), repr(settings),
                     os.getcwd(), str(cache_root(env)), *self.paths):
            key.update(part.encode("utf-8", "surrogateescape") + b"\0")
        self.key = key.hexdigest()
        self.file = directory / f"run-{self.key[:40]}.rec"

    def answer(self) -> Report | None:
        """The recorded report when every input still looks the same, else None."""
        body = packfile.read(self.file, magic=MAGIC, fmt=FORMAT, key=self.key,
                             max_bytes=MAX_RECORD_BYTES)
        if not isinstance(body, dict):
            return None
        try:
            if not self._current(body["inputs"]):
                return None
            return _report(body["report"])
        except (KeyError, TypeError, ValueError, AttributeError, IndexError):
            return None

    def _current(self, inputs: dict[str, Any]) -> bool:
        present, deleted = split_deleted(self.paths, self.settings)
        if [str(p) for p in present] != inputs["present"] or sorted(deleted) != inputs["deleted"]:
            return False
        listings: Listings = {}  # discovery and the sibling searches list a root once
        if self.paths and not present:
            blueprints: list[str] = []
            outside: list[str] = []
        else:
            found = discover(present, self.settings.root, self.settings.roots, listings)
            blueprints, outside = [str(p) for p in found.blueprints], list(found.outside)
        if blueprints != inputs["blueprints"] or outside != inputs["outside"]:
            return False
        folders = inputs["folders"]
        if not isinstance(folders, dict):
            return False
        if not all(isinstance(kept, list) and len(kept) == 2
                   and stamps.sealed_unchanged(real, kept[0], kept[1])
                   for real, kept in folders.items()):
            return False
        for folder, kept in inputs["searched"].items():
            path = Path(folder)
            now = ([str(p) for p in blueprints_under(path, depth=1, memo=listings)]
                   if path.is_dir() else [])
            if now != kept:
                return False
        return all(stamps.file_row(name) == row for name, row in inputs["files"].items())

    def save(self, report: Report, inputs: Inputs) -> None:
        """Keep `report` for the next run with the same key, if everything read can be checked."""
        if not inputs.complete:
            return
        body = {
            "inputs": {"present": inputs.present, "deleted": sorted(inputs.deleted),
                       "blueprints": inputs.blueprints, "outside": inputs.outside,
                       "folders": {real: list(stamps.seal(rows))
                                   for real, rows in inputs.folders.items()},
                       "searched": inputs.searched,
                       "files": {name: stamps.file_row(name) for name in sorted(inputs.files)}},
            "report": {"problems": packfile.problem_rows(report.problems),
                       "blueprints": [str(p) for p in report.blueprints],
                       "dependents": [str(p) for p in report.dependents],
                       "files": report.files, "outside": list(report.outside)},
        }
        if packfile.write(self.file, body, magic=MAGIC, fmt=FORMAT, key=self.key,
                          max_bytes=MAX_RECORD_BYTES):
            packfile.prune(self.directory, "run-*.rec", KEEP_RECORDS, self.file)


def _report(data: dict[str, Any]) -> Report:
    problems = packfile.problems_from(data["problems"])
    files = data["files"]
    if type(files) is not int:
        raise ValueError("files must be a number")
    return Report(problems=tuple(problems),
                  blueprints=tuple(Path(_text(p)) for p in data["blueprints"]),
                  dependents=tuple(Path(_text(p)) for p in data["dependents"]),
                  files=files, outside=tuple(_text(p) for p in data["outside"]))


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("expected a string")
    return value
