"""Text that reaches a person or a CI log: one line, printable, without secrets.

Messages quote outside text (a user's YAML, a registry's error body, a file
name), which may hold line breaks, terminal escapes or credentials. Every
formatter and error message goes through these helpers, so "one problem,
one line" holds and nothing outside can move the cursor or forge output.
`outside()` is the one call for a piece of outside text in a message:
redacted, folded to one line, escaped, cut.
"""

from __future__ import annotations

import base64
import bisect
import functools
import re
from collections.abc import Iterable

__all__ = [
    "UNPRINTABLE",
    "decoded",
    "one_line",
    "outside",
    "printable",
    "redact",
    "show_path",
]

# Characters that would break "one problem, one line" or let a message
# (which may quote a user's YAML) move the cursor, recolour or reorder text:
# C0 and C1 controls (ESC, CR, LF, NEL...), DEL, bidirectional overrides,
# the Unicode line and paragraph separators, and lone surrogates (undecodable
# bytes of a file name or an environment value).
_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
UNPRINTABLE: dict[int, str] = {
    **{c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))},
    **{ord(c): f"\\u{ord(c):04x}" for c in _BIDI},
    0x2028: "\\u2028",
    0x2029: "\\u2029",
    **{c: f"\\u{c:04x}" for c in range(0xD800, 0xE000)},
    0x0A: "\\n",
    0x0D: "\\r",
    0x09: "\t",
}

_MASK = "***"


def printable(text: str) -> str:
    """Control, C1, bidi and separator characters shown as visible escapes."""
    return text.translate(UNPRINTABLE)


def one_line(text: str, limit: int | None = None) -> str:
    """White space runs (line breaks included) folded to one space; cut at `limit`."""
    flat = " ".join(text.split())
    if limit is None or len(flat) <= limit:
        return flat
    return flat[: limit - 3] + "..."


def outside(text: str, *, secrets: Iterable[str] = (), limit: int | None = 300) -> str:
    """Outside text fit for one line of a message: redacted, folded, escaped, cut."""
    shown = printable(one_line(redact(text, tuple(secrets))))
    if limit is None or len(shown) <= limit:
        return shown
    return shown[: limit - 3] + "..."


def show_path(path: str) -> str:
    """A file name fit for a one-line message (undecodable bytes and controls escaped)."""
    shown = path.encode("utf-8", "backslashreplace").decode("utf-8")
    if shown.isprintable():
        return shown
    return repr(shown)[1:-1]


def decoded(value: str, where: str) -> str:
    """`value` if it is real text; a one-line UsageError naming `where` if it held non-UTF-8 bytes.

    Python decodes environment values and file names with surrogateescape, so
    bytes that are not UTF-8 arrive as lone surrogates and only fail later,
    deep inside an encoder.
    """
    for i, ch in enumerate(value):
        if "\ud800" <= ch <= "\udfff":
            from bpkit.errors import UsageError

            raise UsageError(f"{where} is not valid UTF-8 (undecodable byte at offset {i})")
    return value


# --------------------------------------------------------------------------- redaction

# Where a URL's authority begins: after `scheme://`, or at `//` starting a word.
_URL_START = re.compile(r"(?i)(?:\b[a-z][a-z0-9+.-]*:|(?<![^\s'\"=(<\[{,]))//")
# What may follow the `@` that ends userinfo: a host (name, IPv4, [IPv6]).
_HOST_AFTER = re.compile(r"[A-Za-z0-9\[]")
# `name@sha256:<hex>` is a digest reference, not userinfo.
_DIGEST_AFTER = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32,}")
# `user:password@host` without a scheme, starting a word (or a quote that may
# itself be the user: `repo ':pw@host` masks `:pw`).
_BARE_USERINFO = re.compile(
    r"(?<![^\s'\"=(<\[{,])([^\s:/@'\"<>]*:(?!//)[^\s'\"<>]*)"
    r"@(?![a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32,})(?=[A-Za-z0-9\[])"
)
_AUTH_HEADER = re.compile(
    r"(?i)\b((?:proxy-)?authorization['\"]?\s*[:=]\s*['\"]?)(basic|bearer|token)\s+[^\s'\",}]+"
)
# key=value / "key": "value" pairs whose value is a secret by name.
_SECRET_FIELD = re.compile(
    r"(?i)((?<![\w-])[\"']?(?:password|passwd|pwd|secret|client_secret|token|access_token|"
    r"refresh_token|id_token|identitytoken|registrytoken|api[_-]?key|auth)[\"']?"
    r"\s*[:=]\s*[\"']?)([^\s\"'&,;}]+)"
)


def _redact_userinfo(line: str, mask: str = _MASK) -> str:
    """Mask everything between a URL's `//` and the last `@` before a host on the line.

    Passwords may hold `/`, `:`, `@` or even spaces in text a user wrote, so
    the userinfo runs to the last `@` on the line (before another URL
    starts) that is followed by something host-like. Over-masking a line is
    the price of never printing a password.
    """
    out: list[str] = []
    pos = 0
    matches = list(_URL_START.finditer(line))
    starts = [m.end() for m in matches]
    # A URL that starts a new word ends the previous one's scope; one inside
    # a word ("pw://x" within a password) does not.
    words = [m.start() for m in matches
             if m.start() == 0 or line[m.start() - 1] in " \t'\"(<[{=,"]
    for start in starts:
        if start < pos:
            continue
        i = bisect.bisect_left(words, start)
        end_of_scope = words[i] if i < len(words) else len(line)
        at = -1
        search_from = start
        while True:
            nxt = line.find("@", search_from, end_of_scope)
            if nxt < 0:
                break
            if _HOST_AFTER.match(line, nxt + 1) and not _DIGEST_AFTER.match(line, nxt + 1):
                at = nxt
            search_from = nxt + 1
        if at < 0:
            continue
        out.append(line[pos:start])
        out.append(mask)
        pos = at
    out.append(line[pos:])
    return "".join(out)


def _encodings(secret: str) -> list[str]:
    """The shapes a secret takes on the wire: itself, and base64 (padded or not, any alphabet).

    Base64 of a longer string that contains the secret (a Basic header's
    `user:password`) holds one of three stable runs, one per alignment;
    those are added for secrets long enough that a run cannot be ordinary
    text.
    """
    raw = secret.encode("utf-8", "surrogatepass")
    shapes = {secret}
    full = base64.b64encode(raw).decode("ascii")
    shapes |= {full, full.rstrip("=")}
    if len(raw) >= 8:
        for k in range(3):
            enc = base64.b64encode(b"\0" * k + raw).decode("ascii")
            first = -(-8 * k // 6)
            last = (8 * k + 8 * len(raw)) // 6
            if last - first >= 6:
                shapes.add(enc[first:last])
    shapes |= {s.replace("+", "-").replace("/", "_") for s in shapes}
    return sorted((s for s in shapes if s), key=len, reverse=True)


_FOLD = re.compile(r"[ \t]*(?:\r\n|\r|\n|\\r\\n|\\n)[ \t]*")
_PCT_RUN = re.compile(r"(?:%[0-9A-Fa-f]{2})+")
_JSON_U = re.compile(r"\\u([0-9A-Fa-f]{4})")
_Spans = list[tuple[int, int]]


def _utf8_length(lead: int) -> int:
    if lead < 0x80:
        return 1
    if 0xC2 <= lead <= 0xDF:
        return 2
    if 0xE0 <= lead <= 0xEF:
        return 3
    if 0xF0 <= lead <= 0xF4:
        return 4
    return 0


def _view(text: str, fold: str, decode: str) -> tuple[str, _Spans]:
    """`text` as a server may have re-encoded it, with each character's span in `text`.

    fold: "" keeps line breaks, "drop" removes a fold (a wrapped base64
    block), "space" turns it into one space (an HTTP header fold).
    decode: "" as is, "pct" percent-decoded, "pct+" also `+` as space,
    "json" JSON `\\uXXXX` escapes decoded.
    """
    chars: list[str] = []
    spans: _Spans = []
    i, n = 0, len(text)
    while i < n:
        if fold:
            m = _FOLD.match(text, i)
            if m is not None:
                if fold == "space":
                    chars.append(" ")
                    spans.append((i, m.end()))
                i = m.end()
                continue
        ch = text[i]
        if decode in ("pct", "pct+") and ch == "%":
            m = _PCT_RUN.match(text, i)
            if m is not None:
                raw = bytes.fromhex(m.group().replace("%", ""))
                j = 0
                while j < len(raw):
                    size = _utf8_length(raw[j])
                    piece = None
                    if size and j + size <= len(raw):
                        try:
                            piece = raw[j : j + size].decode("utf-8")
                        except UnicodeDecodeError:
                            piece = None
                    at = i + 3 * j
                    if piece is None:  # not UTF-8: keep the three characters as they are
                        chars.extend(text[at : at + 3])
                        spans.extend([(at, at + 1), (at + 1, at + 2), (at + 2, at + 3)])
                        j += 1
                    else:
                        chars.append(piece)
                        spans.append((at, at + 3 * size))
                        j += size
                i = m.end()
                continue
        if decode == "pct+" and ch == "+":
            chars.append(" ")
            spans.append((i, i + 1))
            i += 1
            continue
        if decode == "json" and ch == "\\":
            m = _JSON_U.match(text, i)
            if m is not None:
                code, end = int(m.group(1), 16), m.end()
                low = _JSON_U.match(text, end) if 0xD800 <= code < 0xDC00 else None
                if low is not None and 0xDC00 <= int(low.group(1), 16) < 0xE000:
                    code = 0x10000 + ((code - 0xD800) << 10) + (int(low.group(1), 16) - 0xDC00)
                    end = low.end()
                chars.append(chr(code))
                spans.append((i, end))
                i = end
                continue
        chars.append(ch)
        spans.append((i, i + 1))
        i += 1
    return "".join(chars), spans


def _views(text: str) -> list[tuple[str, _Spans | None]]:
    """The original text and the re-encoded views worth searching (None: spans are identity)."""
    views: list[tuple[str, _Spans | None]] = [(text, None)]
    folds = [""]
    if "\n" in text or "\r" in text or "\\n" in text or "\\r" in text:
        folds += ["drop", "space"]
    decodes = [""]
    if "%" in text:
        decodes.append("pct")
    if "+" in text:
        decodes.append("pct+")
    if "\\u" in text:
        decodes.append("json")
    for fold in folds:
        for decode in decodes:
            if fold or decode:
                views.append(_view(text, fold, decode))
    return views


@functools.lru_cache(maxsize=64)
def _shapes(secrets: tuple[str, ...]) -> tuple[str, ...]:
    found: set[str] = set()
    for secret in secrets:
        found.update(_encodings(secret))
    return tuple(sorted(found, key=len, reverse=True))


def _secret_spans(text: str, shapes: tuple[str, ...]) -> _Spans:
    spans: _Spans = []
    for view, where in _views(text):
        for shape in shapes:
            start = view.find(shape)
            while start >= 0:
                end = start + len(shape)
                if where is None:
                    spans.append((start, end))
                else:
                    spans.append((where[start][0], where[end - 1][1]))
                start = view.find(shape, start + 1)
    return spans


def _mask_spans(text: str, spans: _Spans, mask: str) -> str:
    out: list[str] = []
    pos = 0
    for start, end in sorted(spans):
        if start < pos or (start == pos and out):  # overlaps or touches the last one
            pos = max(pos, end)
            continue
        out.append(text[pos:start])
        out.append(mask)
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _mask_for(shapes: tuple[str, ...]) -> str:
    """A mask no secret shape shares a character with, so masking never forms a secret."""
    for ch in "*#~^!$":
        if not any(ch in shape for shape in shapes):
            return ch * 3
    return ""


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Strip credentials from text meant for users.

    URL userinfo in any form (`scheme://`, `//`, bare `user:pw@host`), auth
    headers, `password=`/`token:` fields, and every known secret as itself,
    base64 (padded or not, standard or URL alphabet), percent-encoded, JSON
    `\\u`-escaped, or folded over lines.
    """
    shapes = _shapes(tuple(sorted({s for s in secrets if s})))
    mask = _mask_for(shapes)
    out = text
    if shapes:
        while True:
            spans = _secret_spans(out, shapes)
            if not spans:
                break
            out = _mask_spans(out, spans, mask)
            if mask:  # a mask shares no character with a shape: one pass is enough
                break
    out = "\n".join(_redact_userinfo(line, mask) for line in out.split("\n"))
    out = _BARE_USERINFO.sub(lambda m: mask + "@", out)
    out = _AUTH_HEADER.sub(lambda m: f"{m.group(1)}{m.group(2)} {mask}", out)
    return _SECRET_FIELD.sub(lambda m: m.group(1) + mask, out)


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
