"""An upstream chart's summary: what lint reads of it, kept beside the chart cache.

A digest always means the same bytes, so what is read from one chart once
(its defaults as JSON, its schema, its subcharts, the schema errors of the
defaults alone) is kept as `values/sha256/<hex>.json` next to
`charts/sha256/<hex>.tgz`. `bpkit upstream lock` and `fetch` write it when
they store or find a chart, so the first lint after a fetch reads this
small file instead of unpacking the chart and parsing a values.yaml of
thousands of lines; lint writes it itself when it is missing (a cache
filled by an older bpkit, or by hand). A summary that does not read back
is rebuilt from the chart; one that cannot be written is skipped.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bpkit.errors import BpkitError

__all__ = ["SUMMARY_FORMAT", "ErrorKey", "UpstreamDefaults", "ensure_summary", "error_key",
           "read_summary", "summarize", "summary_path", "write_summary"]

_KEPT = ("Chart.yaml", "values.yaml", "values.schema.json")

SUMMARY_FORMAT = 3  # 3: names the chart digest it summarises
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


def summarize(data: bytes, chart: str, version: str) -> UpstreamDefaults:
    """What lint needs of a chart archive; `chart` and `version` name it in messages."""
    from bpkit.helm.tgz import inspect
    from bpkit.yamlio.load import parse

    try:
        members = inspect(data, keep=lambda path: path in _KEPT)
    except BpkitError as exc:
        return UpstreamDefaults(None, None, frozenset(), unreadable=exc.message)
    files = {m.path: m.data for m in members if m.path in _KEPT and m.data is not None}
    where = f"{chart} {version}"
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


def summary_path(root: Path, digest: str) -> Path:
    return root / "values" / "sha256" / f"{digest.partition(':')[2]}.json"


def read_summary(path: Path, digest: str) -> UpstreamDefaults | None:
    """The summary of chart `digest` at `path`, or None when absent, too big, not ours,
    of another chart or damaged."""
    from bpkit.fsio import read_bytes_capped
    from bpkit.limits import UPSTREAM_SUMMARY_MAX_BYTES

    try:
        data = read_bytes_capped(path, UPSTREAM_SUMMARY_MAX_BYTES)
        if data is None:
            return None
        raw = json.loads(data)
        if (not isinstance(raw, dict) or raw.get("format") != SUMMARY_FORMAT
                or raw.get("digest") != digest):
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


def write_summary(path: Path, found: UpstreamDefaults, digest: str) -> None:
    """Keep `found`, the summary of chart `digest`, at `path` (silently not, if it cannot be)."""
    from bpkit.fsio import atomic_write

    body = {"format": SUMMARY_FORMAT, "digest": digest, "values": found.values,
            "schema": found.schema,
            "subcharts": sorted(found.subcharts), "unreadable": found.unreadable,
            "default_errors": sorted([list(p), v, m] for p, v, m in found.default_errors),
            "regex_safe": found.regex_safe}
    from bpkit.limits import UPSTREAM_SUMMARY_MAX_BYTES

    # A read-only cache: the chart is parsed again next time.
    with contextlib.suppress(OSError, ValueError, TypeError):
        encoded = json.dumps(body, separators=(",", ":")).encode()
        if len(encoded) <= UPSTREAM_SUMMARY_MAX_BYTES:
            atomic_write(path, encoded)


def ensure_summary(root: Path, digest: str, data: bytes, chart: str, version: str) -> None:
    """Write the chart's summary unless one that reads back is there already."""
    path = summary_path(root, digest)
    if read_summary(path, digest) is None:
        write_summary(path, summarize(data, chart, version), digest)
