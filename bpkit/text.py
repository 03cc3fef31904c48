"""Text that reaches a person or a CI log: one line, printable, without secrets.

Messages quote outside text (a user's YAML, a registry's error body, a file
name), which may hold line breaks, terminal escapes or credentials. Every
formatter and error message goes through these helpers, so "one problem,
one line" holds and nothing outside can move the cursor or forge output.
"""

from __future__ import annotations

import re

__all__ = ["one_line", "printable", "redact", "show_path"]

# Characters that would break "one problem, one line" or let a message
# (which may quote a user's YAML) move the cursor, recolour or reorder text.
_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
UNPRINTABLE: dict[int, str] = {
    **{c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))},
    **{ord(c): f"\\u{ord(c):04x}" for c in _BIDI},
    0x0A: "\\n",
    0x0D: "\\r",
    0x09: "\t",
}

_USERINFO_RE = re.compile(r"(?i)([a-z][a-z0-9+.-]*://)[^/@\s]*@")
_AUTH_HEADER_RE = re.compile(
    r"(?i)\b(authorization['\"]?\s*[:=]\s*['\"]?)(basic|bearer)\s+[^\s'\",}]+"
)


def printable(text: str) -> str:
    """Control, C1 and bidi characters shown as visible escapes."""
    return text.translate(UNPRINTABLE)


def one_line(text: str, limit: int | None = None) -> str:
    """White space runs (line breaks included) folded to one space; cut at `limit`."""
    flat = " ".join(text.split())
    if limit is None or len(flat) <= limit:
        return flat
    return flat[: limit - 3] + "..."


def show_path(path: str) -> str:
    """A file name fit for a one-line message (undecodable bytes and controls escaped)."""
    shown = path.encode("utf-8", "backslashreplace").decode("utf-8")
    if shown.isprintable():
        return shown
    return repr(shown)[1:-1]


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Strip credentials from text meant for users: URL userinfo, auth headers, known secrets."""
    out = _USERINFO_RE.sub(r"\1***@", text)
    out = _AUTH_HEADER_RE.sub(r"\1\2 ***", out)
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            out = out.replace(secret, "***")
    return out


def seconds(value: float) -> str:
    """A duration as a person reads it: "30 s", "9.7 s", "0.25 s" (never "9.65111 s")."""
    value = max(0.0, float(value))
    if value >= 10:
        shown = f"{value:.0f}"
    elif value >= 1 or value == 0:
        shown = f"{value:.1f}".removesuffix(".0")
    else:
        shown = f"{value:.2g}"
    return f"{shown} s"
