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

import contextlib
import json
import math
import re
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bpkit.errors import BpkitError
from bpkit.lint.context import Context
from bpkit.problem import Problem
from bpkit.settings import normalize_repo
from bpkit.source.lock import UpstreamLock, dump_lock, read_lock
from bpkit.source.model import Blueprint

UPSTREAM_FIELDS = ("chart", "version", "repo")
_KEPT = ("Chart.yaml", "values.yaml", "values.schema.json")
_MAX_DIGESTS = 256  # parsed upstreams kept per process


SUMMARY_FORMAT = 2
ErrorKey = tuple[tuple[str, ...], str, str]  # (path, validator, message)


@dataclass(frozen=True)
class UpstreamDefaults:
    """An upstream chart's default values, schema and subchart names, from the cache."""

    values: Any  # values.yaml as Helm sees it, JSON types (None: none, or empty)
    schema: dict[str, Any] | None  # values.schema.json, when present and usable
    subcharts: frozenset[str]  # Chart.yaml dependency names and aliases
    unreadable: str | None = None  # why the cached archive could not be read
    # What the schema already refuses in the defaults alone (the upstream's problem).
    default_errors: frozenset[ErrorKey] = frozenset()
    # False when the schema holds a regular expression that could backtrack for ever:
    # then it is not validated against, and its patterns are taken to match.
    regex_safe: bool = True

    @property
    def defines_keys(self) -> bool:
        """Whether the chart says which top-level values it takes (else any key goes)."""
        props = self.schema.get("properties") if self.schema is not None else None
        return (isinstance(self.values, dict) and bool(self.values)) or bool(props)


_DEFAULTS: OrderedDict[tuple[Path, str], UpstreamDefaults | None] = OrderedDict()


def lock_of(bp: Blueprint, ctx: Context) -> tuple[UpstreamLock | None, list[Problem]]:
    """The blueprint's lock and what is wrong with the file, read once per run."""
    key = ("lock", bp.path)
    if key not in ctx.memo:
        try:
            raw = bp.lock_path.read_bytes() if bp.lock_path.is_file() else None
        except OSError:
            raw = None
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
    if len(raw) > 4096:
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
    summary = _summary_path(cache.root, lock.digest)
    # The summary stands for the chart, so it counts only while the chart is cached.
    found = _read_summary(summary) if cache.path_for(lock.digest).is_file() else None
    if found is None:
        data = cache.get(lock.digest)
        if data is None:
            return None  # not remembered: a later `upstream fetch` may fill the cache
        found = _parse(data, lock)
        _write_summary(summary, found)
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
    from bpkit.helm.tgz import inspect
    from bpkit.yamlio.load import parse

    try:
        members = inspect(data, keep=lambda path: path in _KEPT)
    except BpkitError as exc:
        return UpstreamDefaults(None, None, frozenset(), unreadable=exc.message)
    files = {m.path: m.data for m in members if m.path in _KEPT and m.data is not None}
    where = f"{lock.chart} {lock.version}"
    values: Any = None
    if "values.yaml" in files:
        try:
            text = files["values.yaml"].decode("utf-8-sig")
        except UnicodeDecodeError:
            return UpstreamDefaults(None, None, frozenset(),
                                    unreadable=f"{where}: values.yaml is not UTF-8")
        doc, _ = parse(text, Path("values.yaml"), f"{where}/values.yaml")
        if doc is None:
            return UpstreamDefaults(None, None, frozenset(),
                                    unreadable=f"{where}: values.yaml does not parse")
        values = _jsonable(doc.data)
    schema: dict[str, Any] | None = None
    if "values.schema.json" in files:
        try:
            loaded = json.loads(files["values.schema.json"])
        except (ValueError, RecursionError):
            loaded = None
        schema = loaded if isinstance(loaded, dict) else None
    subcharts: set[str] = set()
    if "Chart.yaml" in files:
        try:
            chart_doc, _ = parse(files["Chart.yaml"].decode("utf-8-sig"), Path("Chart.yaml"),
                                 f"{where}/Chart.yaml")
        except UnicodeDecodeError:
            chart_doc = None
        meta = chart_doc.data if chart_doc is not None else None
        deps = meta.get("dependencies") if isinstance(meta, dict) else None
        for dep in deps if isinstance(deps, list) else ():
            if isinstance(dep, dict):
                for name in (dep.get("name"), dep.get("alias")):
                    if isinstance(name, str) and name:
                        subcharts.add(name)
    safe = schema is None or not _risky_patterns(schema)
    return UpstreamDefaults(values, schema, frozenset(subcharts), regex_safe=safe,
                            default_errors=_default_errors(schema, values) if safe else frozenset())


# A group holding a quantifier or an alternation, itself repeated (`(a+)+`, `(x|xy)*`)
# can backtrack exponentially in Python's re, which has no timeout. Some such
# patterns are harmless; telling them apart is not worth a hang.
_NESTED_QUANTIFIER = re.compile(r"\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)[+*{?]"
                                r"|\((?:[^()\\]|\\.)*\|(?:[^()\\]|\\.)*\)[+*{]")
_MAX_PATTERN = 1000


def _risky_patterns(schema: Any, depth: int = 0) -> bool:
    """Whether an upstream schema holds a regular expression that could hang the lint."""
    if depth > 200:
        return True
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "pattern" and isinstance(value, str) and _bad_regex(value):
                return True
            if key == "patternProperties" and isinstance(value, dict) and any(
                    _bad_regex(str(p)) for p in value):
                return True
            if _risky_patterns(value, depth + 1):
                return True
    elif isinstance(schema, list):
        return any(_risky_patterns(v, depth + 1) for v in schema)
    return False


def _bad_regex(pattern: str) -> bool:
    if len(pattern) > _MAX_PATTERN or _NESTED_QUANTIFIER.search(pattern):
        return True
    try:
        re.compile(pattern)
    except (re.error, RecursionError, OverflowError):
        return True
    return False


def _jsonable(data: Any) -> Any:
    """Values as Helm sees them after its YAML-to-JSON step: string keys, JSON scalars."""
    if isinstance(data, dict):
        return {str(k): _jsonable(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_jsonable(v) for v in data]
    if data is None or isinstance(data, (str, bool, int)):
        return data
    if isinstance(data, float) and math.isfinite(data):
        return data
    return str(data)  # dates, binary, nan: Helm's JSON conversion makes them strings


def _default_errors(schema: dict[str, Any] | None, values: Any) -> frozenset[ErrorKey]:
    if schema is None:
        return frozenset()
    try:
        import jsonschema

        cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
        base = values if isinstance(values, dict) else {}
        return frozenset(error_key(e) for e in cls(schema).iter_errors(base))
    except Exception:  # a broken upstream schema: overlay-values skips schema checks
        return frozenset()


def error_key(error: Any) -> ErrorKey:
    return (tuple(str(p) for p in error.absolute_path), str(error.validator), error.message)


def _summary_path(root: Path, digest: str) -> Path:
    return root / "values" / "sha256" / f"{digest.partition(':')[2]}.json"


def _read_summary(path: Path) -> UpstreamDefaults | None:
    try:
        raw = json.loads(path.read_bytes())
        if not isinstance(raw, dict) or raw.get("format") != SUMMARY_FORMAT:
            return None
        schema = raw["schema"]
        return UpstreamDefaults(
            values=raw["values"], schema=schema if isinstance(schema, dict) else None,
            subcharts=frozenset(str(s) for s in raw["subcharts"]),
            unreadable=raw["unreadable"] if isinstance(raw["unreadable"], str) else None,
            default_errors=frozenset((tuple(p), str(v), str(m))
                                     for p, v, m in raw["default_errors"]),
            regex_safe=raw["regex_safe"] is True)
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None


def _write_summary(path: Path, found: UpstreamDefaults) -> None:
    from bpkit.fsio import atomic_write

    body = {"format": SUMMARY_FORMAT, "values": found.values, "schema": found.schema,
            "subcharts": sorted(found.subcharts), "unreadable": found.unreadable,
            "default_errors": sorted([list(p), v, m] for p, v, m in found.default_errors),
            "regex_safe": found.regex_safe}
    # A read-only cache: the chart is parsed again next time.
    with contextlib.suppress(OSError, ValueError, TypeError):
        atomic_write(path, json.dumps(body, separators=(",", ":")).encode())
