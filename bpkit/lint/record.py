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

import contextlib
import hashlib
import json
import os
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bpkit import __version__
from bpkit.lint import stamps
from bpkit.lint.paths import split_deleted
from bpkit.problem import Level, Problem
from bpkit.settings import Settings, cache_root
from bpkit.source.discover import blueprints_under, discover

__all__ = ["CACHE_ENV", "REPO_CACHE", "Inputs", "Report", "RunRecord", "cache_dir"]

MAGIC = "bpkit-lint-run"
FORMAT = 1
CACHE_ENV = "BPKIT_CACHE_DIR"
REPO_CACHE = ".bpkit_cache"
MAX_RECORD_BYTES = 64 * 1024 * 1024
KEEP_RECORDS = 16
_LEVELS = {level.value: level for level in Level}


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
        body = _read(self.file, self.key)
        if body is None:
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
        if self.paths and not present:
            blueprints: list[str] = []
            outside: list[str] = []
        else:
            found = discover(present, self.settings.root, self.settings.roots)
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
            now = [str(p) for p in blueprints_under(path, depth=1)] if path.is_dir() else []
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
            "report": {"problems": [[p.path, p.line, p.col, p.rule, p.level.value, p.message]
                                    for p in report.problems],
                       "blueprints": [str(p) for p in report.blueprints],
                       "dependents": [str(p) for p in report.dependents],
                       "files": report.files, "outside": list(report.outside)},
        }
        try:
            encoded = _dumps(body).encode("ascii")
        except (ValueError, TypeError, RecursionError, UnicodeError):
            return
        header = {"magic": MAGIC, "format": FORMAT, "key": self.key,
                  "sha256": hashlib.sha256(encoded).hexdigest()}
        data = _dumps(header).encode() + b"\n" + encoded
        if len(data) > MAX_RECORD_BYTES:
            return
        tmp = self.directory / f".{self.file.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with open(tmp, "xb") as fh:
                fh.write(data)
            os.replace(tmp, self.file)
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink()
            return
        with contextlib.suppress(OSError):
            records = sorted((p for p in self.directory.glob("run-*.rec") if p != self.file),
                             key=lambda p: p.stat().st_mtime, reverse=True)
            for old in records[KEEP_RECORDS - 1:]:
                old.unlink()


def _dumps(data: Any) -> str:
    # ASCII with \u escapes: lone surrogates (file names that are not UTF-8) survive.
    return json.dumps(data, ensure_ascii=True, allow_nan=False, separators=(",", ":"))


def _read(file: Path, key: str) -> dict[str, Any] | None:
    """The body of a record whose header and checksum match, else None."""
    try:
        fd = os.open(file, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
                     | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                return None
            raw = fh.read(MAX_RECORD_BYTES + 1)
    except OSError:
        return None
    line, _, encoded = raw.partition(b"\n")
    if len(raw) > MAX_RECORD_BYTES or len(line) > 1024:
        return None
    try:
        header = json.loads(line)
        if not (isinstance(header, dict) and header.get("magic") == MAGIC
                and header.get("format") == FORMAT and header.get("key") == key
                and header.get("sha256") == hashlib.sha256(encoded).hexdigest()):
            return None
        body = json.loads(encoded)
    except (ValueError, RecursionError):
        return None
    return body if isinstance(body, dict) else None


def _report(data: dict[str, Any]) -> Report:
    problems = []
    for row in data["problems"]:
        path, line, col, rule, level, message = row
        if not (isinstance(path, str) and type(line) is int and type(col) is int
                and isinstance(rule, str) and isinstance(message, str) and level in _LEVELS):
            raise ValueError("a problem field has the wrong type")
        problems.append(Problem(path, line, col, rule, _LEVELS[level], message))
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
