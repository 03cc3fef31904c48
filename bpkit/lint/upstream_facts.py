"""What the lint rules know about a blueprint's upstream chart, offline.

The lock says which archive a wrapper was resolved against; the cache may
hold that archive. Several rules ask the same questions (is there a lock,
does it agree with values.yaml, what are the upstream's defaults), so the
answers are memoised: locks per run (in the Context), an upstream's
defaults per digest for the whole process and on disk. A digest always
means the same bytes, so what was read from one chart once (its defaults
as JSON, its schema, its subcharts, the schema errors of the defaults
alone) is kept beside the cache as `values/sha256/<hex>.json`: the next
lint reads that small file instead of unpacking the chart and parsing a
values.yaml of thousands of lines again. A summary that does not read back
is simply rebuilt from the chart; one that cannot be written is skipped.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from pathlib import Path
from typing import Any

from bpkit.fsio import read_bytes_capped
from bpkit.limits import LOCK_FAST_MAX_BYTES
from bpkit.lint.context import Context
from bpkit.problem import Problem
from bpkit.settings import normalize_repo
from bpkit.source.lock import UpstreamLock, dump_lock, read_lock
from bpkit.source.model import Blueprint
from bpkit.upstream.summary import (
    UpstreamDefaults,
    error_key,
    read_summary,
    summarize,
    summary_path,
    write_summary,
)

__all__ = ["UpstreamDefaults", "current_lock", "defaults_for", "differences", "error_key",
           "known_upstream", "lock_of", "pinned"]

UPSTREAM_FIELDS = ("chart", "version", "repo")
_MAX_DIGESTS = 256  # parsed upstreams kept per process


_DEFAULTS: OrderedDict[tuple[Path, str], UpstreamDefaults | None] = OrderedDict()


def lock_of(bp: Blueprint, ctx: Context) -> tuple[UpstreamLock | None, list[Problem]]:
    """The blueprint's lock and what is wrong with the file, read once per run."""
    key = ("lock", bp.path)
    if key not in ctx.memo:
        raw = read_bytes_capped(bp.lock_path, LOCK_FAST_MAX_BYTES)
        fast = canonical_lock(raw) if raw is not None else None
        ctx.memo[key] = (fast, []) if fast is not None else read_lock(bp.lock_path)
    found: tuple[UpstreamLock | None, list[Problem]] = ctx.memo[key]
    return found


def canonical_lock(raw: bytes) -> UpstreamLock | None:
    """The lock when `raw` is byte for byte what `dump_lock` writes for valid values.

    Nearly every lock is, since bpkit writes them; reading those needs
    neither the YAML parser nor a JSON Schema validation (together about
    0.8 ms per blueprint, a quarter of a lint run). The values are checked
    with the lock schema's own patterns, so this accepts exactly what
    `read_lock` accepts; anything else (edited, older, broken) goes through
    `read_lock` and gets its problems.
    """
    if len(raw) > LOCK_FAST_MAX_BYTES:
        return None
    try:
        lines = raw.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        return None
    fields: dict[str, str] = {}
    block: str | None = None
    for line in lines[3:]:
        if block is not None and line.startswith("  digest: "):
            fields[block] = _unquote(line[len("  digest: "):])
            block = None
        elif line.endswith(":") and line[:-1] in ("values", "schema"):
            block = line[:-1]
        elif ": " in line:
            name, _, value = line.partition(": ")
            fields[name] = _unquote(value)
    try:
        lock = UpstreamLock(
            chart=fields["chart"], version=fields["version"], repo=fields["repo"],
            digest=fields["digest"], app_version=fields.get("appVersion"), type=fields["type"],
            values_digest=fields.get("values"), schema_digest=fields.get("schema"))
    except KeyError:
        return None
    if dump_lock(lock) != raw or not _schema_allows(lock):
        return None
    return lock


def _unquote(value: str) -> str:
    if value.startswith('"'):
        try:
            loaded = json.loads(value)
        except ValueError:
            return "\x00"  # never valid: read_lock will say why
        return loaded if isinstance(loaded, str) else "\x00"
    return value


def _schema_allows(lock: UpstreamLock) -> bool:
    from bpkit.source.schemas import schema

    upstream = schema("upstream")["properties"]
    lock_schema = schema("upstream-lock")
    digest = lock_schema["$defs"]["digest"]["pattern"]
    checks = [(upstream["chart"]["pattern"], lock.chart), (upstream["version"]["pattern"],
              lock.version), (upstream["repo"]["pattern"], lock.repo), (digest, lock.digest)]
    checks += [(digest, d) for d in (lock.values_digest, lock.schema_digest) if d is not None]
    return (all(re.search(pattern, value) for pattern, value in checks)
            and lock.chart not in (".", "..")
            and lock.type in lock_schema["properties"]["type"]["enum"])


def differences(bp: Blueprint, lock: UpstreamLock) -> list[tuple[str, str, Any]]:
    """(field, value in the lock, value in values.yaml) for each field that differs."""
    upstream = bp.upstream or {}

    def same(name: str) -> bool:
        locked, wanted = getattr(lock, name), upstream.get(name)
        if name == "repo" and isinstance(wanted, str):
            return normalize_repo(locked) == normalize_repo(wanted)  # as the resolver locks it
        return bool(locked == wanted)

    return [(name, getattr(lock, name), upstream.get(name)) for name in UPSTREAM_FIELDS
            if not same(name)]


def pinned(bp: Blueprint) -> bool:
    """Whether values.yaml names an upstream with chart, version and repo as strings."""
    upstream = bp.upstream
    return (not bp.no_upstream and upstream is not None
            and all(isinstance(upstream.get(name), str) for name in UPSTREAM_FIELDS))


def current_lock(bp: Blueprint, ctx: Context) -> UpstreamLock | None:
    """The lock when it is readable and agrees with values.yaml (else upstream-lock says why)."""
    if not pinned(bp):
        return None
    lock, _ = lock_of(bp, ctx)
    if lock is None or differences(bp, lock):
        return None
    return lock


def defaults_for(lock: UpstreamLock, cache_root: Path | None = None, *,
                 inputs: set[str] | None = None) -> UpstreamDefaults | None:
    """The locked upstream's defaults, or None when the cache does not hold the chart.

    `inputs` (a Context's) gets the archive's path: the answer depends on it.
    """
    from bpkit.upstream.cache import ChartCache

    cache = ChartCache(cache_root)
    if inputs is not None:
        inputs.add(str(cache.path_for(lock.digest)))
    key = (cache.root, lock.digest)
    if key in _DEFAULTS:
        _DEFAULTS.move_to_end(key)
        return _DEFAULTS[key]
    summary = summary_path(cache.root, lock.digest)
    # The summary stands for the chart, so it counts only while the chart is cached.
    found = read_summary(summary, lock.digest) if cache.path_for(lock.digest).is_file() else None
    if found is None:
        data = cache.get(lock.digest)
        if data is None:
            return None  # not remembered: a later `upstream fetch` may fill the cache
        found = _parse(data, lock)
        write_summary(summary, found, lock.digest)
    _DEFAULTS[key] = found
    if len(_DEFAULTS) > _MAX_DIGESTS:
        _DEFAULTS.popitem(last=False)
    return found


def known_upstream(bp: Blueprint, ctx: Context) -> tuple[UpstreamLock, UpstreamDefaults] | None:
    """Lock and defaults when the lock is current and its chart is in the cache and readable."""
    lock = current_lock(bp, ctx)
    if lock is None:
        return None
    defaults = defaults_for(lock, inputs=ctx.inputs)
    if defaults is None or defaults.unreadable is not None:
        return None
    return lock, defaults


def _parse(data: bytes, lock: UpstreamLock) -> UpstreamDefaults:
    return summarize(data, lock.chart, lock.version)
