"""The lint cache: what each blueprint folder contributes, kept between runs.

A warm `bpkit lint` checks each blueprint folder's stat data (or, when that
changed, hashes its files) and takes its entry from the cache instead of
parsing YAML, validating schemas and walking the chart. An entry holds what
the folder contributes: its parsed documents (plain JSON data) and the
problems of the loader and of the LOCAL_RULES, whose verdict depends on
nothing but the folder's own files. The other rules (dependencies, cycles,
the version gate) still run on every blueprint, cached or not, so they see
the whole tree.

An entry is used only when everything it was computed from is unchanged:
- the folder's content: every name, kind and file content under it
  (sha256). Stat data (mode, size, mtime, ctime, inode, device of every file
  and folder) stands in for reading the files again, as in git's index,
  except for anything changed in the last two seconds; a folder holding a
  symlink, a special file, too many entries or too many bytes is never
  cached;
- bpkit itself (version, and the size and mtime of every module and
  bundled schema, so an edited checkout never reads stale verdicts), the
  rule set, the settings and the working directory (problem paths are
  shown relative to it): together the key of one pack file.

Packs live in `$BPKIT_CACHE_DIR/lint`, else `.bpkit_cache/lint` at the
repository root (with a `.gitignore` of `*`): one header line (magic,
format, key, the body's sha256) and a JSON body of entries by folder.
Writes are atomic (temp file + rename) and merge with what another run
wrote meanwhile, so parallel runs at worst redo work. Nothing is ever
unpickled: a pack whose header or checksum does not match is ignored, and
an entry of the wrong shape is a miss, then rewritten.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bpkit import __version__
from bpkit.lint import packfile, stamps
from bpkit.lint.record import REPO_CACHE, Inputs, cache_dir
from bpkit.problem import Problem
from bpkit.settings import Settings
from bpkit.source.discover import BLUEPRINT_FILE
from bpkit.source.model import CHART_FILE, VALUES_FILE, Blueprint
from bpkit.yamlio.load import Document, KeyPath, LazyDocument, display_path, load

if TYPE_CHECKING:
    from ruamel.yaml.nodes import Node

__all__ = ["LOCAL_RULES", "LintCache", "Reloading", "cache_dir", "release"]

MAGIC = "bpkit-lint-cache"
FORMAT = 1

#: Rules whose problems depend only on the blueprint folder's own files
#: (no Context, no other blueprint, no git, nothing outside the folder: not
#: overlay-values or overlay-subchart-key, which read the chart cache).
#: Only these are cached; a rule missing here simply runs every time.
LOCAL_RULES = frozenset({
    "chart-schema", "chart-api-version", "chart-name", "chart-version", "chart-type",
    "chart-dependencies", "chart-vendored", "chart-files", "upstream-block", "upstream-chart",
    "upstream-version", "upstream-repo", "upstream-opt-out", "upstream-lock", "blueprint-schema",
    "blueprint-unknown-key", "blueprint-name", "blueprint-version",
    "blueprint-chart-path",
})

MAX_PACK_BYTES = 256 * 1024 * 1024
KEEP_PACKS = 8  # pack files kept in one cache folder
LOAD_KEY = "(load)"  # the loader's own problems, in an entry's "problems"
_DOCS = ("blueprint", "chart", "values")


class Reloading(Document):
    """A document without its node graph: positions come from parsing the file again.

    Made from the cache (data as JSON text, decoded on first use) or from a
    freshly loaded document once the rules that need its nodes have run
    (`release`), so a run does not hold the node graphs of every file.
    Problems outside those rules are rare, and only they pay for a parse.
    """

    def __init__(self, path: Path, display: str, *, encoded: str | None = None,
                 data: Any = None) -> None:
        # With `encoded`, `data` is left unset: __getattr__ decodes it when first read.
        self.path, self.display, self.root, self.text = path, display, None, ""
        self._encoded = encoded
        if encoded is None:
            self.data = data
        self._parsed = False

    def __getattr__(self, name: str) -> Any:
        encoded = self.__dict__.get("_encoded")
        if name != "data" or encoded is None:
            raise AttributeError(name)
        try:
            data = json.loads(encoded)
        except (ValueError, RecursionError):  # the pack's checksum makes this unlikely
            fresh, _ = load(self.path, self.display)
            data = fresh.data if fresh is not None else None
        self.__dict__["data"], self.__dict__["_encoded"] = data, None
        return data

    def node(self, keypath: KeyPath) -> tuple[Node | None, Node | None]:
        if not self._parsed:
            self._parsed = True
            fresh, _ = load(self.path, self.display)
            if fresh is not None:
                self.root, self.text = fresh.root, fresh.text
        return super().node(keypath)


def release(bp: Blueprint) -> None:
    """Drop the node graphs of a loaded blueprint's documents (kept: data, paths)."""
    for name in _DOCS:
        doc = getattr(bp, name)
        if doc is None or isinstance(doc, Reloading):
            continue
        # A fast-read document holds its text, not yet a graph: asking for
        # its root would compose one.
        if isinstance(doc, LazyDocument) or doc.root is not None:
            setattr(bp, name, Reloading(doc.path, doc.display, data=doc.data))


@dataclass(frozen=True)
class Hit:
    """A blueprint rebuilt from its entry, and the problems its local rules found."""

    blueprint: Blueprint
    rules: dict[str, list[Problem]]


class LintCache:
    """One run's view of the lint cache; every failure to read or write is silent.

    `lookup` answers from the pack read at the first lookup; `put` keeps new
    entries in memory and `save` writes them, once, at the end of a run.
    """

    def __init__(self, directory: Path, settings: Settings) -> None:
        from bpkit.lint.rules import BLUEPRINT_CHECKS, RULES

        self.directory = directory
        self.local = tuple(rule for rule, _ in BLUEPRINT_CHECKS if rule in LOCAL_RULES)
        rule_ids = [f"{info.id}={info.level.value}" for info in RULES.values()]
        self._inside = os.path.realpath(directory)
        base = hashlib.sha256()
        for part in (MAGIC, str(FORMAT), __version__, stamps.code_fingerprint(),
                     "\0".join(rule_ids), "\0".join(self.local), repr(settings), os.getcwd()):
            base.update(part.encode("utf-8", "surrogateescape") + b"\0")
        self.key = base.hexdigest()
        self.file = directory / f"{self.key[:40]}.json"
        self._entries: dict[str, Any] | None = None
        self._new: dict[str, Any] = {}
        self._seen: dict[Path, tuple[str, list[list[Any]] | None]] = {}
        self.hits = 0
        self.inputs = Inputs()  # what this run read, for its run record

    # -- reading -------------------------------------------------------------

    def _stored(self) -> dict[str, Any]:
        if self._entries is None:
            self._entries = _read_pack(self.file, self.key)
        return self._entries

    def lookup(self, folder: Path, *, with_values: bool = True) -> Hit | None:
        """What `folder` contributed when it last looked as it does now, if known."""
        real = os.path.abspath(folder)  # discovery resolved it already
        if self._inside == real or self._inside.startswith(real.rstrip("/") + "/"):
            self.inputs.complete = False
            return None  # a cache inside the folder would change what it hashes
        entry = self._stored().get(real)
        if not isinstance(entry, dict):
            entry = None
        fingerprint: str | None = None
        stats: list[list[Any]] | None = None
        if entry is not None and stamps.unchanged(real, entry.get("stats")):
            fingerprint = entry.get("fingerprint")  # stat data unchanged, as git's index
            stats = entry["stats"]
        if not isinstance(fingerprint, str):
            listing = stamps.scan(real)
            if listing is None:
                self.inputs.complete = False
                return None  # not cacheable: a symlink, a special file, too many entries
            fingerprint = stamps.fingerprint(real, listing)
            if fingerprint is None:
                self.inputs.complete = False
                return None
            stats = stamps.stats_of(listing)
        self.inputs.folder(real, stats)
        self._seen[folder] = (fingerprint, stats)
        if entry is None or entry.get("fingerprint") != fingerprint:
            return None
        if with_values and entry.get("partial"):
            return None  # a sibling's entry: no values, no rule verdicts
        try:
            hit = self._rebuild(folder, entry, with_values)
        except (TypeError, ValueError, KeyError, AttributeError):
            return None
        if hit is not None:
            self.hits += 1
            if stats is not None and entry.get("stats") != stats:
                # Hashed because the stat data was new or too recent to trust:
                # keep the stat data now, so the next run need not read the files.
                self._new[real] = {**entry, "stats": stats}
        return hit

    def _rebuild(self, folder: Path, entry: dict[str, Any], with_values: bool) -> Hit | None:
        chart_rel = entry["chart_dir"]
        if not isinstance(chart_rel, str) or not _inside_relative(chart_rel):
            return None
        chart_dir = folder / chart_rel if chart_rel else folder
        files = {"blueprint": folder / BLUEPRINT_FILE, "chart": chart_dir / CHART_FILE,
                 "values": chart_dir / VALUES_FILE}
        stored_docs = entry["docs"]
        if not isinstance(stored_docs, dict) or set(stored_docs) != set(_DOCS):
            return None
        docs: dict[str, Document | None] = {}
        for name in _DOCS:
            stored = stored_docs[name]
            if stored is None:
                docs[name] = None
            elif (isinstance(stored, list) and len(stored) == 2 and isinstance(stored[0], str)
                  and isinstance(stored[1], str)):
                docs[name] = Reloading(files[name], stored[0], encoded=stored[1])
            else:
                return None
        problems = entry["problems"]  # only the non-empty lists are stored
        if not isinstance(problems, dict) or not set(problems) <= {LOAD_KEY, *self.local}:
            return None
        found: dict[str, list[Problem]] = {rule: [] for rule in self.local}
        found.update((rule, packfile.problems_from(items)) for rule, items in problems.items())
        loaded = found.pop(LOAD_KEY, [])
        if not with_values:  # as `load_blueprint(with_values=False)` would have it
            shown = display_path(files["values"])
            loaded = [p for p in loaded if p.path != shown]
        bp = Blueprint(path=folder, blueprint=docs["blueprint"], chart=docs["chart"],
                       values=docs["values"] if with_values else None, chart_dir=chart_dir,
                       problems=loaded)
        return Hit(bp, found)

    # -- writing -------------------------------------------------------------

    def put_sibling(self, bp: Blueprint) -> None:
        """Keep a sibling (looked up, then loaded without values): what resolving pins needs.

        Pre-commit lints the changed blueprints only; their siblings are
        loaded every time to resolve dependencies, and would be parsed every
        time without this. A partial entry serves lookups without values
        only, and never replaces a full one for the same content.
        """
        current = self._new.get(os.path.abspath(bp.path)) or self._stored().get(
            os.path.abspath(bp.path))
        seen = self._seen.get(bp.path)
        if seen is None or (isinstance(current, dict)
                            and current.get("fingerprint") == seen[0]):
            return
        self._keep(bp, seen, rules=None)

    def put(self, bp: Blueprint, rules: Mapping[str, list[Problem]]) -> None:
        """Keep what `bp` (looked up, then loaded with values) contributes, if plain data."""
        seen = self._seen.get(bp.path)
        if seen is None or set(rules) != set(self.local):
            return
        self._keep(bp, seen, rules)

    def _keep(self, bp: Blueprint, seen: tuple[str, list[list[Any]] | None],
              rules: Mapping[str, list[Problem]] | None) -> None:
        docs: dict[str, Any] = {}
        for name, doc in zip(_DOCS, (bp.blueprint, bp.chart, bp.values), strict=True):
            if doc is None:
                docs[name] = None
                continue
            try:
                if not _plain(doc.data):
                    return
            except RecursionError:
                return
            docs[name] = [doc.display, packfile.dumps(doc.data)]
        try:
            chart_rel = bp.chart_dir.relative_to(bp.path).as_posix()
        except ValueError:
            return
        fingerprint, stats = seen
        entry: dict[str, Any] = {
            "fingerprint": fingerprint, "stats": stats,
            "chart_dir": "" if chart_rel == "." else chart_rel, "docs": docs,
            "problems": {rule: packfile.problem_rows(found)
                         for rule, found in [(LOAD_KEY, bp.problems), *(rules or {}).items()]
                         if found}}
        if rules is None:
            entry["partial"] = True
        self._new[os.path.abspath(bp.path)] = entry

    def save(self) -> None:
        """Write the new entries, merged with what another run may have written meanwhile."""
        if not self._new:
            return
        entries = {**_read_pack(self.file, self.key), **self._new}
        for real in [r for r in entries if r not in self._new]:
            if not os.path.isdir(real):
                del entries[real]  # a blueprint that is gone
        self._prepare()
        if not packfile.write(self.file, entries, magic=MAGIC, fmt=FORMAT, key=self.key,
                              max_bytes=MAX_PACK_BYTES):
            return
        self._new.clear()
        # The newest few packs stay (other settings, working directories, bpkit versions).
        packfile.prune(self.directory, "*.json", KEEP_PACKS, self.file)

    def _prepare(self) -> None:
        top = self.directory.parent
        if top.name == REPO_CACHE and not (top / ".gitignore").exists():
            from bpkit.fsio import atomic_write

            with contextlib.suppress(OSError):
                atomic_write(top / ".gitignore",
                             b"# Created by bpkit: the lint cache, never committed.\n*\n")


def _read_pack(file: Path, key: str) -> dict[str, Any]:
    """The entries of a pack file, or {} when it is missing, corrupt or not ours."""
    entries = packfile.read(file, magic=MAGIC, fmt=FORMAT, key=key, max_bytes=MAX_PACK_BYTES)
    return entries if isinstance(entries, dict) else {}


def _plain(value: Any) -> bool:
    """Whether JSON gives `value` back equal and of the same types."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return True
    if kind is float:
        return math.isfinite(value)
    if kind is dict:
        return all(type(k) is str and _plain(v) for k, v in value.items())
    if kind is list:
        return all(_plain(v) for v in value)
    return False


def _inside_relative(rel: str) -> bool:
    if rel == "":
        return True
    parts = rel.split("/")
    return not rel.startswith("/") and all(p not in ("", ".", "..") for p in parts)
