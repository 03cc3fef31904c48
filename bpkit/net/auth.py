"""Registry authentication challenges (RFC 9110 section 11, `WWW-Authenticate`).

Registries answer 401 with a Basic or Bearer challenge; the Bearer one names
the token service (`realm`), `service` and `scope` that the distribution
token spec defines. Parsing lives here so every client reads challenges the
same way. The header is outside text: the parser never raises, takes the
first value of a repeated parameter, unescapes quoted strings, reads
several challenges in one header, and gives up on garbage (treated as no
challenge) instead of guessing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Challenge", "parse_challenge", "parse_challenges"]

#: Longest header read; http.client already caps a header line at 64 KiB.
MAX_HEADER_CHARS = 16 * 1024

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_TOKEN68 = re.compile(r"[A-Za-z0-9._~+/-]+=*")
_SPACES = re.compile(r"[ \t]*")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"', re.DOTALL)
_UNESCAPE = re.compile(r"\\(.)", re.DOTALL)
_PARAM_START = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+[ \t]*=(?!=*[ \t]*(?:,|$))")


@dataclass
class Challenge:
    scheme: str  # lower case: "basic", "bearer", ...
    params: dict[str, str]  # names lower case
    token68: str | None = None


def _skip(text: str, pos: int) -> int:
    m = _SPACES.match(text, pos)
    return m.end() if m else pos


def parse_challenges(header: str | None) -> list[Challenge]:
    """Every challenge in a `WWW-Authenticate` value, in order; [] for none or garbage."""
    if not header or len(header) > MAX_HEADER_CHARS:
        return []
    text = header
    out: list[Challenge] = []
    pos, n = 0, len(text)
    while pos < n:
        while pos < n and text[pos] in " \t,":
            pos += 1
        if pos >= n:
            break
        m = _TOKEN.match(text, pos)
        if m is None:
            return out  # garbage: keep what was clean
        challenge = Challenge(m.group().lower(), {})
        out.append(challenge)
        pos = m.end()
        if pos < n and text[pos] not in " \t,":
            return out
        pos = _skip(text, pos)
        t68 = _TOKEN68.match(text, pos)
        if t68 is not None and not _PARAM_START.match(text, pos):
            end = _skip(text, t68.end())
            if end >= n or text[end] == ",":
                challenge.token68 = t68.group()
                pos = end
                continue
        # auth-params: name = (token | quoted-string), separated by commas,
        # until something that is not a parameter starts the next challenge.
        while pos < n:
            pm = _PARAM_START.match(text, pos)
            if pm is None:
                break
            name = text[pos : pm.end()].rstrip("= \t").lower()
            pos = _skip(text, pm.end())
            if pos < n and text[pos] == '"':
                qm = _QUOTED.match(text, pos)
                if qm is None:
                    return out[:-1]  # an unterminated quote: nothing to trust here
                value = _UNESCAPE.sub(r"\1", qm.group(1))
                pos = qm.end()
            else:
                vm = _TOKEN.match(text, pos)
                if vm is None:
                    return out[:-1]
                value = vm.group()
                pos = vm.end()
            challenge.params.setdefault(name, value)
            pos = _skip(text, pos)
            if pos < n and text[pos] != ",":
                return out[:-1]
            # past the comma: another parameter, or the next challenge
            while pos < n and text[pos] in " \t,":
                pos += 1
    return out


def parse_challenge(header: str | None) -> Challenge | None:
    """The challenge to answer: the first Bearer or Basic one (others are unsupported)."""
    challenges = parse_challenges(header)
    for challenge in challenges:
        if challenge.scheme in ("bearer", "basic"):
            return challenge
    return challenges[0] if challenges else None
