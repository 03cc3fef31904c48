"""Registry authentication challenges (RFC 7235 `WWW-Authenticate`).

Registries answer 401 with a Basic or Bearer challenge; the Bearer one names
the token service (`realm`), `service` and `scope` that the distribution
token spec defines. Parsing lives here so every client reads challenges the
same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Challenge", "parse_challenge"]


@dataclass
class Challenge:
    scheme: str  # "basic" or "bearer"
    params: dict[str, str]


def parse_challenge(header: str | None) -> Challenge | None:
    if not header:
        return None
    scheme, _, rest = header.strip().partition(" ")
    params = {k.lower(): v for k, v in re.findall(r'([A-Za-z_]+)="([^"]*)"', rest)}
    return Challenge(scheme=scheme.lower(), params=params)
