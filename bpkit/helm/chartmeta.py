"""Chart.yaml as Helm marshals it: the config blob of Helm's OCI artifact.

What Helm does on the way, and what is mirrored here (pkg/chart/v2,
pkg/chart/v2/loader, pkg/registry/{client,chart}.go):

* Chart.yaml is read by sigs.k8s.io/yaml (YAML 1.1 scalars) into string
  fields: a number or boolean written without quotes becomes a string
  (`appVersion: 1.10` is published as "1.1", Go's shortest float32 form;
  `true` as "true"). Those are mirrored. Dates are refused (Helm keeps the
  exact text, which a parsed date no longer has): quote them.
* Field names match case-insensitively (`Description:` counts); unknown
  keys are dropped; an empty `apiVersion` becomes "v1".
* `Metadata.Validate` replaces Unicode white space with a space and drops
  non-printable characters in most string fields (not in version,
  apiVersion, type or annotations).
* Empty fields are left out (`omitempty`); key order is the struct order.
* Strings are escaped as Go does: `& < >` and U+2028/U+2029 as `\\uXXXX`.
* Manifest annotations: title (name), version, description, url (home),
  source (first of sources), authors ("Name (email), ..."), created; a
  value that is only white space is skipped. The chart's own
  `annotations:` are copied over them, except title and version.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import re
import struct
from collections.abc import Mapping, Sequence
from typing import Any

from bpkit.errors import PackageError

__all__ = [
    "chart_metadata",
    "go_format_float32",
    "go_is_blank",
    "go_json",
    "helm_config",
    "kind_of",
]


# --- Go's encoding/json ------------------------------------------------------

_GO_HTML_ESCAPES = {
    "&": "\\u0026",
    "<": "\\u003c",
    ">": "\\u003e",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
_GO_ESCAPE_RE = re.compile("[&<>\u2028\u2029]")


def go_json(value: Any) -> bytes:
    """Compact JSON as Go's json.Marshal writes it (dict order is kept)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    text = _GO_ESCAPE_RE.sub(lambda m: _GO_HTML_ESCAPES[m.group(0)], text)
    return text.encode("utf-8")


# --- Go's strconv / unicode ----------------------------------------------------

# unicode.IsSpace: Latin-1 spaces plus the White_Space property.
_GO_SPACE = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000"
    + "".join(chr(c) for c in range(0x2000, 0x200B))
)
_GO_TRIM_SPACE = "".join(sorted(_GO_SPACE))


def go_is_blank(value: str) -> bool:
    """strings.TrimSpace(value) == ""."""
    return value.strip(_GO_TRIM_SPACE) == ""


def _sanitize(value: str) -> str:
    """Helm's sanitizeString: white space to " ", non-printables dropped.

    Go's unicode.IsPrint and Python's str.isprintable agree on categories
    (letters, marks, numbers, punctuation, symbols and the ASCII space).
    """
    return "".join(
        " " if ch in _GO_SPACE else ch for ch in value if ch in _GO_SPACE or ch.isprintable()
    )


def _float32(value: float) -> float:
    try:
        return float(struct.unpack("<f", struct.pack("<f", value))[0])
    except OverflowError:
        return math.copysign(math.inf, value)


def go_format_float32(value: float) -> str:
    """strconv.FormatFloat(v, 'g', -1, 32): how Helm turns a YAML float into a string."""
    if math.isnan(value):
        return "NaN"
    f32 = _float32(value)
    if math.isinf(f32):
        return "+Inf" if f32 > 0 else "-Inf"
    sign = "-" if math.copysign(1.0, f32) < 0 else ""
    f32 = abs(f32)
    if f32 == 0:
        return sign + "0"
    for precision in range(1, 10):
        text = f"{f32:.{precision - 1}e}"
        if _float32(float(text)) == f32:
            break
    mantissa, exp_text = text.split("e")
    digits = mantissa.replace(".", "").rstrip("0") or "0"
    exponent = int(exp_text)
    if exponent < -4 or exponent >= 6:  # shortest form: Go decides with precision 6
        frac = digits[1:]
        body = digits[0] + ("." + frac if frac else "")
        return f"{sign}{body}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"
    point = exponent + 1  # digits before the decimal point
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return sign + digits + "0" * (point - len(digits))
    return f"{sign}{digits[:point]}.{digits[point:]}"


_INT64_MIN = -(2**63)
_UINT64_MAX = 2**64 - 1


def _go_string(value: Any, where: str) -> str:
    """A YAML scalar as Helm stores it in a Go string field."""
    if isinstance(value, str):
        # Go replaces invalid UTF-8 (here: lone surrogates) with U+FFFD.
        return "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and _INT64_MIN <= value <= _UINT64_MAX:
        return str(value)
    if isinstance(value, int | float):
        if not math.isfinite(_float32(float(value))):
            # Helm would publish "+Inf" or "NaN": surely not what was meant.
            raise PackageError(f"Chart.yaml: {where} ({value}) is not a usable number; quote it")
        return go_format_float32(float(value))
    if isinstance(value, _dt.date):
        raise PackageError(
            f"Chart.yaml: {where} is a date ({value}); quote it so Helm and bpkit "
            "read the same text"
        )
    raise PackageError(f"Chart.yaml: {where} must be a string, not {kind_of(value)}")


def kind_of(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return type(value).__name__


# --- Chart.yaml metadata -------------------------------------------------------

# Helm's Metadata struct: JSON key, kind, sanitized by Validate().
_STR, _STRS, _BOOL, _MAP, _MAINTAINERS, _DEPS = range(6)
_FIELDS: tuple[tuple[str, int, bool], ...] = (
    ("name", _STR, True),
    ("home", _STR, True),
    ("sources", _STRS, True),
    ("version", _STR, False),
    ("description", _STR, True),
    ("keywords", _STRS, True),
    ("maintainers", _MAINTAINERS, True),
    ("icon", _STR, True),
    ("apiVersion", _STR, False),
    ("condition", _STR, True),
    ("tags", _STR, True),
    ("appVersion", _STR, True),
    ("deprecated", _BOOL, False),
    ("annotations", _MAP, False),
    ("kubeVersion", _STR, True),
    ("dependencies", _DEPS, False),
    ("type", _STR, False),
)
_MAINTAINER_FIELDS = ("name", "email", "url")
# Dependency struct: key, kind, omitempty.
_DEP_FIELDS: tuple[tuple[str, int, bool], ...] = (
    ("name", _STR, False),
    ("version", _STR, True),
    ("repository", _STR, False),
    ("condition", _STR, True),
    ("tags", _STRS, True),
    ("enabled", _BOOL, True),
    ("import-values", -1, True),
    ("alias", _STR, True),
)
_DEP_SANITIZED = frozenset({"name", "version", "repository", "condition", "tags"})


def _pick(raw: Mapping[Any, Any], names: Sequence[str], where: str) -> dict[str, Any]:
    """Map raw keys to struct fields the way encoding/json does (case-insensitive).

    Two keys for one field are refused: Go's result would depend on
    key order after a YAML->JSON round trip, which nobody means.
    """
    by_fold = {n.lower(): n for n in names}
    out: dict[str, Any] = {}
    seen: dict[str, str] = {}
    for key, value in raw.items():
        if not isinstance(key, str):
            continue
        field = key if key in names else by_fold.get(key.lower()) if key.isascii() else None
        if field is None:
            continue
        if field in seen:
            raise PackageError(
                f"Chart.yaml: {where}{seen[field]!r} and {key!r} are the same field to Helm"
            )
        seen[field] = key
        out[field] = value
    return out


def _str_list(value: Any, where: str, sanitize: bool) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        raise PackageError(f"Chart.yaml: {where} must be a list, not {kind_of(value)}")
    items = [_go_string(item, f"{where}[{i}]") for i, item in enumerate(value)]
    return [_sanitize(s) for s in items] if sanitize else items


def _bool(value: Any, where: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise PackageError(f"Chart.yaml: {where} must be true or false, not {value!r}")
    return value


def _string_map(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise PackageError(f"Chart.yaml: {where} must be a mapping, not {kind_of(value)}")
    out: dict[str, str] = {}
    for key, item in value.items():
        name = _go_string(key, f"a key in {where}")
        if name in out:
            raise PackageError(f"Chart.yaml: {where} has the key {name!r} twice")
        out[name] = _go_string(item, f"{where}.{name}")
    return dict(sorted(out.items()))


def _maintainers(value: Any) -> list[dict[str, str]]:
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        raise PackageError(f"Chart.yaml: maintainers must be a list, not {kind_of(value)}")
    out: list[dict[str, str]] = []
    for i, item in enumerate(value):
        where = f"maintainers[{i}]"
        if not isinstance(item, Mapping):
            raise PackageError(f"Chart.yaml: {where} must be a mapping with name/email/url")
        fields = _pick(item, _MAINTAINER_FIELDS, f"{where}: ")
        entry: dict[str, str] = {}
        for name in _MAINTAINER_FIELDS:
            text = _sanitize(_go_string(fields.get(name), f"{where}.{name}"))
            if text:
                entry[name] = text
        out.append(entry)
    return out


def _import_values(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        raise PackageError(f"Chart.yaml: {where} must be a list, not {kind_of(value)}")
    out: list[Any] = []
    for i, item in enumerate(value):
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, Mapping) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in item.items()
        ):
            out.append(dict(sorted(item.items())))
        else:
            raise PackageError(
                f"Chart.yaml: {where}[{i}] must be a string or a child/parent mapping of strings"
            )
    return out


def _dependencies(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        raise PackageError(f"Chart.yaml: dependencies must be a list, not {kind_of(value)}")
    out: list[dict[str, Any]] = []
    for i, item in enumerate(value):
        where = f"dependencies[{i}]"
        if not isinstance(item, Mapping):
            raise PackageError(f"Chart.yaml: {where} must be a mapping")
        fields = _pick(item, [f[0] for f in _DEP_FIELDS], f"{where}: ")
        entry: dict[str, Any] = {}
        for name, kind, omitempty in _DEP_FIELDS:
            raw = fields.get(name)
            sub = f"{where}.{name}"
            sanitize = name in _DEP_SANITIZED
            converted: Any
            if kind == _STR:
                converted = _go_string(raw, sub)
                converted = _sanitize(converted) if sanitize else converted
            elif kind == _STRS:
                converted = _str_list(raw, sub, sanitize)
            elif kind == _BOOL:
                converted = _bool(raw, sub)
            else:
                converted = _import_values(raw, sub)
            if converted or not omitempty:
                entry[name] = converted
        out.append(entry)
    return out


def chart_metadata(meta: Mapping[str, Any]) -> dict[str, Any]:
    """Chart.yaml as Helm's loaded `Metadata`: coerced, sanitized, empty fields dropped.

    Refuses (PackageError) what Helm's loader refuses and what bpkit cannot
    reproduce exactly (dates, fields given twice).
    """
    if not isinstance(meta, Mapping):
        raise PackageError(f"Chart.yaml: must be a mapping, not {kind_of(meta)}")
    fields = _pick(meta, [f[0] for f in _FIELDS], "")
    out: dict[str, Any] = {}
    for name, kind, sanitize in _FIELDS:
        raw = fields.get(name)
        value: Any
        if kind == _STR:
            value = _go_string(raw, name)
            if sanitize:
                value = _sanitize(value)
            if name == "apiVersion" and value == "":
                value = "v1"  # the loader's default for charts from Helm 2
        elif kind == _STRS:
            value = _str_list(raw, name, sanitize)
        elif kind == _BOOL:
            value = _bool(raw, name)
        elif kind == _MAP:
            value = _string_map(raw, name)
        elif kind == _MAINTAINERS:
            value = _maintainers(raw)
        else:
            value = _dependencies(raw)
        if value:
            out[name] = value
    name = out.get("name", "")
    if not name:
        raise PackageError("Chart.yaml: name is required")
    if "/" in name or "\\" in name or name in (".", ".."):
        raise PackageError(f"Chart.yaml: name {name!r} is invalid")
    if not out.get("version"):
        raise PackageError("Chart.yaml: version is required")
    if out.get("type", "") not in ("", "application", "library"):
        raise PackageError("Chart.yaml: type must be application or library")
    return out


def helm_config(meta: Mapping[str, Any]) -> bytes:
    """The config blob exactly as `helm push` writes it for this Chart.yaml."""
    return go_json(chart_metadata(meta))
