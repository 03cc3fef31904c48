"""HTTP for every bpkit client: one session shape, a retry budget, failure classes.

Registries and Helm chart repositories fail in the same ways (rate limits,
gateways, dropped connections, TLS trouble), and users should get the same
one-line answer and the same retry policy from both. `requests` is imported
lazily: `bpkit lint` must never pay for it.

The policy: 429, 502, 503 and 504 and dropped connections are worth another
try, with capped exponential backoff and jitter that honours `Retry-After`,
until the caller's budget is spent; a refused connection, a name that does
not resolve and TLS errors fail at once.
"""

from __future__ import annotations

import importlib
import json
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bpkit.errors import UsageError
from bpkit.limits import CONNECT_TIMEOUT, DEFAULT_RETRY_BUDGET, READ_TIMEOUT

__all__ = [
    "CONNECT_TIMEOUT",
    "DEFAULT_RETRY_BUDGET",
    "READ_TIMEOUT",
    "RETRY_STATUSES",
    "USER_AGENT",
    "Transient",
    "backoff_delay",
    "ca_path",
    "exception_chain",
    "new_session",
    "oci_error_message",
    "parse_retry_after",
    "requests_module",
    "ssl_reason",
]

#: Statuses worth another try: rate limiting and gateway/availability errors.
RETRY_STATUSES = frozenset({429, 502, 503, 504})
USER_AGENT = "bpkit"
_BACKOFF_BASE = 0.5
_BACKOFF_CAP = 8.0


def requests_module() -> Any:
    """`requests`, imported on first use."""
    return importlib.import_module("requests")


def new_session(*, loopback: bool) -> Any:
    """A requests session with bpkit's User-Agent; loopback traffic never uses a proxy."""
    session = requests_module().Session()
    session.headers["User-Agent"] = USER_AGENT
    if loopback:
        session.trust_env = False
    return session


def oci_error_message(body: bytes | str) -> str:
    """The registry's own words from an OCI error body (`errors[].code/message`), or ''."""
    try:
        data = json.loads(body)
    except (ValueError, TypeError):
        return ""
    errors = data.get("errors") if isinstance(data, dict) else None
    if not isinstance(errors, list):
        return ""
    parts = []
    for err in errors:
        if not isinstance(err, dict):
            continue
        code, message = err.get("code"), err.get("message")
        text = ": ".join(str(x) for x in (code, message) if x)
        if text:
            parts.append(text)
    return "; ".join(parts)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or HTTP date), or None."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return float(int(value))
    import email.utils

    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:  # pragma: no cover - older Pythons returned None
        return None
    wall = time.time() if now is None else now
    return max(0.0, float(when.timestamp()) - wall)


def backoff_delay(attempt: int, rng: random.Random, retry_after: float | None = None) -> float:
    """Capped exponential backoff with jitter; never shorter than the server's Retry-After."""
    base = min(_BACKOFF_CAP, _BACKOFF_BASE * float(1 << min(attempt, 16)))
    delay = base * rng.uniform(0.5, 1.0)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay




class Transient(Exception):
    """A failure worth retrying (429/502/503/504, dropped connection, timeout)."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def exception_chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, its causes/contexts and urllib3's wrapped reasons, each once."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        cur = todo.pop()
        if id(cur) in seen:
            continue
        seen.add(id(cur))
        yield cur
        for nxt in (cur.__cause__, cur.__context__, getattr(cur, "reason", None), *cur.args):
            if isinstance(nxt, BaseException):
                todo.append(nxt)


def ssl_reason(chain: list[BaseException]) -> str:
    """The OpenSSL reason (and verify message) of the innermost ssl.SSLError."""
    import ssl

    for exc in chain:
        if isinstance(exc, ssl.SSLError):
            reason = exc.reason or type(exc).__name__
            extra = getattr(exc, "verify_message", None)
            return f"{reason} ({extra})" if extra else str(reason)
    return "handshake failed"


def ca_path(ca_file: str | Path) -> str:
    path = Path(ca_file)
    if not path.is_file():
        raise UsageError(f"CA file {path} does not exist or is not a file")
    return str(path)
