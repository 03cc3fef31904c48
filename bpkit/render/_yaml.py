"""A small block-style YAML emitter for generated manifests.

Why not ruamel's dumper: the bytes must be the same for every ruamel
version, and every string must read back as the same string under YAML 1.2
(bpkit, kubectl's newer parsers) and YAML 1.1 (Helm and Flux read YAML with
go-yaml, where `on`, `0755` and `1:30` are no strings). So a string is
written plain only when it is unmistakably a string; otherwise it is
double-quoted. Mappings keep their insertion order.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

# Plain scalars: a letter, `_` or `/` first, then a small safe set; never a
# trailing `:`; or a quantity such as `10m` or `20Gi` (no YAML reads digits
# followed only by letters as a number, once `0x`, `0o` and `0b` are ruled
# out). Anything else (other digits first, spaces, `#`, quotes) is quoted.
_PLAIN = re.compile(r"[A-Za-z_/][A-Za-z0-9_./@%+=,:-]*|[1-9][0-9]*[A-Za-z]+")
# Words YAML 1.1 or 1.2 reads as booleans or null.
_RESERVED = frozenset(
    w for base in ("y", "yes", "n", "no", "true", "false", "on", "off", "null")
    for w in (base, base.capitalize(), base.upper())
)


class EmitError(ValueError):
    """A value YAML for Kubernetes cannot carry (bytes, sets, other objects)."""


def dump_documents(documents: Sequence[Mapping[str, Any]], header: str = "") -> str:
    """Documents as one multi-document YAML text, each starting with `---`."""
    parts = [header] if header else []
    for doc in documents:
        parts.append("---\n")
        parts.extend(line + "\n" for line in _block(doc, 0))
    return "".join(parts)


def _is_block(value: Any) -> bool:
    return isinstance(value, (Mapping, list, tuple)) and len(value) > 0


def _block(value: Any, indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, Mapping):
        names: set[str] = set()
        for key, item in value.items():
            name = _key(key)
            if name in names:
                raise EmitError(f"two keys read as {name}")
            names.add(name)
            if _is_block(item):
                lines.append(f"{pad}{name}:")
                lines.extend(_block(item, indent + 2))
            else:
                head, more = _scalar(item, indent + 2)
                lines.append(f"{pad}{name}: {head}")
                lines.extend(more)
        return lines
    for item in value:
        if _is_block(item):
            sub = _block(item, indent + 2)
            lines.append(f"{pad}- {sub[0][indent + 2:]}")
            lines.extend(sub[1:])
        else:
            head, more = _scalar(item, indent + 2)
            lines.append(f"{pad}- {head}")
            lines.extend(more)
    return lines


def _key(key: Any) -> str:
    if isinstance(key, bool):
        key = "true" if key else "false"
    elif key is None:
        key = "null"
    elif isinstance(key, (int, float)):
        key = str(key)
    if not isinstance(key, str):
        raise EmitError(f"mapping key of type {type(key).__name__}")
    return _string(key, allow_block=False)[0]


def _scalar(value: Any, indent: int) -> tuple[str, list[str]]:
    """The text after `key: ` or `- `, and the lines of a literal block, if any."""
    if value is None:
        return "null", []
    if isinstance(value, bool):
        return ("true" if value else "false"), []
    if isinstance(value, int):
        return str(value), []
    if isinstance(value, float):
        return _float(value), []
    if isinstance(value, str):
        return _string(value, indent=indent)
    if isinstance(value, date):  # a YAML timestamp: Helm and Flux see a string
        return _quoted(value.isoformat()), []
    if isinstance(value, Mapping):
        return "{}", []
    if isinstance(value, (list, tuple)):
        return "[]", []
    raise EmitError(f"value of type {type(value).__name__}")


def _float(value: float) -> str:
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    text = repr(value)
    if "e" in text and "." not in text:  # YAML 1.1 floats need the dot: 1.0e+16
        mantissa, _, exp = text.partition("e")
        text = f"{mantissa}.0e{exp}"
    return text


def _string(text: str, *, indent: int = 0, allow_block: bool = True) -> tuple[str, list[str]]:
    if _PLAIN.fullmatch(text) and not text.endswith(":") and text not in _RESERVED:
        return text, []
    if allow_block and "\n" in text and _literal_ok(text):
        body = text.rstrip("\n")
        trailing = len(text) - len(body)
        chomp = "-" if trailing == 0 else ("" if trailing == 1 else "+")
        pad = " " * indent
        lines = [pad + line if line else "" for line in body.split("\n")]
        lines.extend([""] * (trailing - 1) if trailing > 1 else [])
        return "|" + chomp, lines
    return _quoted(text), []


def _literal_ok(text: str) -> bool:
    """Whether a literal block keeps `text` exactly (no indicator needed, no lost spaces)."""
    lines = text.rstrip("\n").split("\n")
    first = next((line for line in lines if line), "")
    if not first or first[0] == " ":
        return False
    for line in lines:
        if line != line.rstrip(" \t") or line.startswith("\t"):
            return False
        if not all(c.isprintable() or c == "\t" for c in line) or "\ufeff" in line:
            return False
    return True


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0"}


def _quoted(text: str) -> str:
    out = []
    for c in text:
        if c in _ESCAPES:
            out.append(_ESCAPES[c])
        elif c.isprintable() and c != "\ufeff":
            out.append(c)
        elif ord(c) < 0x100:
            out.append(f"\\x{ord(c):02x}")
        elif ord(c) < 0x10000:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(f"\\U{ord(c):08x}")
    return '"' + "".join(out) + '"'
