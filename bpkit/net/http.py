"""HTTP for every bpkit client: one session shape, a retry budget, failure classes.

Registries and Helm chart repositories fail in the same ways (rate limits,
gateways, dropped connections, TLS trouble), and users should get the same
one-line answer and the same retry policy from both. `requests` is imported
lazily: `bpkit lint` must never pay for it.

The policy: 429, 502, 503 and 504 and dropped connections are worth another
try, with capped exponential backoff and jitter that honours `Retry-After`,
until the caller's budget is spent; a refused connection, a name that does
not resolve and TLS errors fail at once.

Everything a server sends is bounded: each request has a total deadline
(enforced by shutting its socket down, so a server trickling a byte a
second cannot outlive it), bodies are streamed and read within a cap from
`bpkit.limits`, header values are parsed defensively (malformed means
absent, with a note), and values bpkit sends on (tokens) must be plain
visible ASCII.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import json
import random
import re
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from bpkit.errors import UsageError
from bpkit.limits import (
    CONNECT_TIMEOUT,
    DEFAULT_RETRY_BUDGET,
    READ_TIMEOUT,
    RETRY_AFTER_MAX_DIGITS,
)
from bpkit.text import outside

__all__ = [
    "CONNECT_TIMEOUT",
    "DEFAULT_RETRY_BUDGET",
    "READ_TIMEOUT",
    "REDIRECT_STATUSES",
    "RETRY_STATUSES",
    "USER_AGENT",
    "Answer",
    "BodyTooLarge",
    "Transient",
    "Watch",
    "backoff_delay",
    "ca_path",
    "exception_chain",
    "header_value_ok",
    "loads_json",
    "new_session",
    "oci_error_message",
    "parse_retry_after",
    "read_body",
    "read_retry_after",
    "redirect_to",
    "requests_module",
    "ssl_reason",
    "watching",
]

#: Statuses worth another try: rate limiting and gateway/availability errors.
RETRY_STATUSES = frozenset({429, 502, 503, 504})
#: Redirects, followed by bpkit itself (`redirect_to`).
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
USER_AGENT = "bpkit"
_BACKOFF_BASE = 0.5
_BACKOFF_CAP = 8.0
_CHUNK = 64 * 1024


def requests_module() -> Any:
    """`requests`, imported on first use."""
    return importlib.import_module("requests")


def new_session(*, loopback: bool) -> Any:
    """A requests session with bpkit's User-Agent and watched sockets (see `watching`).

    Loopback traffic never uses a proxy.
    """
    session = requests_module().Session()
    session.headers["User-Agent"] = USER_AGENT
    adapter = _adapter_class()()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    if loopback:
        session.trust_env = False
    return session


# --------------------------------------------------------------------------- deadlines

_current = threading.local()


class Watch:
    """The sockets of one request, shut down when its total deadline passes or on cancel.

    A per-read socket timeout cannot stop a server that sends a byte every
    second; shutting the socket down from a timer thread ends the blocked
    read at once, whatever it was waiting for (headers, body, TLS).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._socks: list[socket.socket] = []
        self._closed = False
        self.fired: str | None = None  # "deadline" or "cancel"

    def add(self, sock: socket.socket) -> None:
        with self._lock:
            if self._closed:
                return
            if sock not in self._socks:
                self._socks.append(sock)
            if self.fired is not None:
                _shutdown(sock)

    def fire(self, why: str = "deadline") -> None:
        with self._lock:
            if self._closed or self.fired is not None:
                return
            self.fired = why
            for sock in self._socks:
                _shutdown(sock)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._socks.clear()


def _shutdown(sock: socket.socket) -> None:
    # The plain socket's shutdown, also for an SSLSocket: no TLS close
    # alert (the reading thread owns the TLS state), just end the reads.
    with contextlib.suppress(OSError, ValueError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _watch_current(sock: Any) -> None:
    watch = getattr(_current, "watch", None)
    if watch is not None and isinstance(sock, socket.socket):
        watch.add(sock)


@contextmanager
def watching(seconds: float) -> Iterator[Watch]:
    """Run one request (sent from this thread) with a total deadline `seconds` from now."""
    watch = Watch()
    timer = threading.Timer(max(0.0, seconds), watch.fire)
    timer.daemon = True
    previous = getattr(_current, "watch", None)
    _current.watch = watch
    timer.start()
    try:
        yield watch
    finally:
        timer.cancel()
        watch.close()
        _current.watch = previous


@functools.cache
def _adapter_class() -> type:
    """An HTTPAdapter whose connections report their sockets to the current `Watch`."""
    requests = requests_module()
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    class _Watched:
        sock: Any

        def _new_conn(self) -> Any:
            sock = super()._new_conn()  # type: ignore[misc]
            _watch_current(sock)  # before TLS: a trickled handshake is cut off too
            return sock

        def request(self, *args: Any, **kwargs: Any) -> Any:
            if self.sock is not None:  # a kept-alive connection
                _watch_current(self.sock)
            return super().request(*args, **kwargs)  # type: ignore[misc]

    class WatchedHTTPConnection(_Watched, HTTPConnection):
        pass

    class WatchedHTTPSConnection(_Watched, HTTPSConnection):
        pass

    class WatchedHTTPPool(HTTPConnectionPool):
        ConnectionCls = WatchedHTTPConnection

    class WatchedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = WatchedHTTPSConnection

    pools = {"http": WatchedHTTPPool, "https": WatchedHTTPSPool}

    base: Any = requests.adapters.HTTPAdapter

    class WatchedAdapter(base):  # type: ignore[misc]
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = pools

        def proxy_manager_for(self, proxy: Any, **kwargs: Any) -> Any:
            manager = super().proxy_manager_for(proxy, **kwargs)
            manager.pool_classes_by_scheme = pools
            return manager

    return WatchedAdapter


# --------------------------------------------------------------------------- bodies


class BodyTooLarge(Exception):
    """An answer bpkit needs whole is larger than its format allows."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"{size} > {limit}")
        self.size = size
        self.limit = limit


@dataclass(frozen=True)
class Answer:
    """One HTTP answer, its body read within a cap (never `resp.content`: that is unbounded)."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    url: str = ""
    reason: str = ""
    method: str = ""
    truncated: bool = False

    def json(self) -> Any:
        return loads_json(self.body)


def _declared_length(resp: Any) -> int | None:
    value = str(resp.headers.get("Content-Length") or "").strip()
    if value.isascii() and value.isdigit() and len(value) <= 19:
        return int(value)
    return None


def read_body(resp: Any, limit: int, *, strict: bool) -> tuple[bytes, bool]:
    """Read at most `limit` bytes of a streamed answer (decoded: a gzip bomb stops too).

    strict: a longer body is an error (BodyTooLarge), found from
    Content-Length before reading when the server says so. Otherwise the
    body is cut at `limit` and the connection dropped; returns (body, cut).
    """
    declared = _declared_length(resp)
    if strict and declared is not None and declared > limit:
        resp.close()
        raise BodyTooLarge(declared, limit)
    chunks: list[bytes] = []
    total = 0
    for chunk in resp.iter_content(chunk_size=_CHUNK):
        if not chunk:
            continue
        total += len(chunk)
        if total > limit:
            resp.close()
            if strict:
                raise BodyTooLarge(total, limit)
            chunks.append(chunk[: len(chunk) - (total - limit)])
            return b"".join(chunks), True
        chunks.append(chunk)
    resp.close()  # consumed: the connection goes back to the pool
    return b"".join(chunks), False


def loads_json(data: bytes | str) -> Any:
    """json.loads that fails only with ValueError (deep nesting is a RecursionError otherwise)."""
    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    except (TypeError, UnicodeDecodeError) as exc:
        raise ValueError(str(exc)) from None


def oci_error_message(body: bytes | str) -> str:
    """The registry's own words from an OCI error body (`errors[].code/message`), or ''."""
    try:
        data = loads_json(body)
    except ValueError:
        return ""
    errors = data.get("errors") if isinstance(data, dict) else None
    if not isinstance(errors, list):
        return ""
    parts = []
    for err in errors[:10]:
        if not isinstance(err, dict):
            continue
        code, message = err.get("code"), err.get("message")
        text = ": ".join(str(x) for x in (code, message) if isinstance(x, str | int) and x)
        if text:
            parts.append(text)
    return "; ".join(parts)


# --------------------------------------------------------------------------- header values

_DELTA_SECONDS = re.compile(r"[0-9]+")
# RFC 9110 field-value characters bpkit will send: visible ASCII only (no
# space, no controls: NUL, CR and LF above all).
_HEADER_TOKEN = re.compile(r"[\x21-\x7e]+")


def read_retry_after(value: str | None, *, now: float | None = None
                     ) -> tuple[float | None, str | None]:
    """Seconds a `Retry-After` asks for (delta-seconds or HTTP date), and a note if malformed.

    Anything that is not one of the two RFC 9110 forms, or is absurdly far
    off, is treated as absent; the note says so in one line.
    """
    if value is None:
        return None, None
    text = value.strip()
    if not text:
        return None, None
    shown = outside(text, limit=60)
    if _DELTA_SECONDS.fullmatch(text):
        if len(text.lstrip("0")) > RETRY_AFTER_MAX_DIGITS:
            return None, f"ignored a Retry-After of {len(text)} digits"
        return float(int(text)), None
    import email.utils

    try:
        when = email.utils.parsedate_to_datetime(text)
        stamp = float(when.timestamp())
    except (TypeError, ValueError, IndexError, OverflowError, OSError, AttributeError):
        return None, f"ignored a Retry-After that is neither seconds nor a date: '{shown}'"
    wall = time.time() if now is None else now
    return max(0.0, stamp - wall), None


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header, or None (absent or malformed)."""
    return read_retry_after(value, now=now)[0]


def header_value_ok(value: str) -> bool:
    """True if `value` may go into a header as is (no NUL, CR, LF, space or non-ASCII)."""
    return _HEADER_TOKEN.fullmatch(value) is not None


def redirect_to(url: str, location: str | None) -> tuple[str | None, str]:
    """Where a redirect from `url` goes: (the next URL, "") or (None, why it is not followed).

    Registries and chart repositories alike: bpkit follows GET and HEAD
    redirects itself (each hop a request within the caps and deadlines), to
    http(s) URLs with a host only, and never from HTTPS down to plain HTTP,
    but to loopback.
    """
    from bpkit.oci.reference import is_loopback_host

    location = location or ""
    nxt = urljoin(url, location) if location and header_value_ok(location) else ""
    parts = urlsplit(nxt)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None, "a redirect without a usable Location (an http or https URL)"
    if (urlsplit(url).scheme == "https" and parts.scheme == "http"
            and not is_loopback_host(parts.hostname or "")):
        return None, ("refusing a redirect from HTTPS to plain HTTP "
                      f"({outside(parts.netloc, limit=100)})")
    return nxt, ""


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
