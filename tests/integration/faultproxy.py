"""A small HTTP proxy in front of a real registry that misbehaves on request.

Tests script faults (answer 503 N times, 429 with Retry-After, reset the
connection in the middle of a request body, stall, drop, send an endless
body, trickle the headers a byte at a time, lie about a manifest) for requests that
match a method and a path pattern; everything else is forwarded unchanged
to the registry. Every request is recorded, so tests can count what a
client really sent. Loopback only.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import struct
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal

Action = Literal["status", "reset", "stall", "drop", "endless", "trickle", "lie"]

_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
}


@dataclass
class Fault:
    """One scripted misbehaviour.

    action:
      status  answer `status` (with `headers`) without asking the registry
      reset   read `reset_after` bytes of the body (default: half), then RST
      stall   wait `stall` seconds, then close without answering
      drop    close the connection without answering (remote disconnected)
      endless answer `status` (with `headers`) and a body that never ends
              (chunked; or with a `Content-Length` header the body never
              reaches), at full speed, until the client hangs up
      trickle send a status line and headers one byte every `interval`
              seconds, never finishing
      lie     forward to the registry, then replace the answer's body with
              `body` and add `headers` (a lying cache or proxy)
    `forward_first`: for stall/drop, let the registry do the request first
    (the client then loses the answer to a request that took effect).
    `times`: how many matching requests to hit; None means all of them.
    """

    action: Action
    method: str | None = None
    path: str = ""
    times: int | None = 1
    status: int = 503
    headers: dict[str, str] = field(default_factory=dict)
    stall: float = 5.0
    reset_after: int | None = None
    forward_first: bool = False
    interval: float = 1.0
    body: bytes | None = None
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if self.method is not None and self.method != method:
            return False
        return re.search(self.path, path) is not None


@dataclass(frozen=True)
class Call:
    method: str
    path: str  # without the query
    query: str
    status: int | None  # what the client got; None when the connection was cut
    fault: Action | None


class FaultProxy:
    """Forward to `upstream` ("127.0.0.1:PORT"), injecting scripted faults."""

    def __init__(self, upstream: str, namespace: str = "openova-io") -> None:
        self.upstream = upstream
        self.namespace = namespace
        self.calls: list[Call] = []
        self.faults: list[Fault] = []
        self.endless_bytes = 0  # body bytes sent by `endless` faults
        self.trickled_bytes = 0  # header bytes sent by `trickle` faults
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self._server.server_address[1]}"

    @property
    def url(self) -> str:
        return f"oci://{self.host}/{self.namespace}"

    def inject(
        self, action: Action, method: str | None = None, path: str = "", **kw: object
    ) -> Fault:
        fault = Fault(action=action, method=method, path=path, **kw)  # type: ignore[arg-type]
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear(self) -> None:
        """Forget faults and recorded calls."""
        with self._lock:
            self.faults.clear()
            self.calls.clear()

    def count(self, method: str | None = None, path: str = "") -> int:
        """Recorded requests matching a method and a path regex."""
        with self._lock:
            return sum(
                1
                for c in self.calls
                if (method is None or c.method == method) and re.search(path, c.path)
            )

    def summary(self) -> list[str]:
        """`METHOD path -> status` lines, for assertion messages."""
        with self._lock:
            return [
                f"{c.method} {c.path} -> {c.status} {c.fault or ''}".rstrip() for c in self.calls
            ]

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # used by the handler
    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.matches(method, path):
                    fault.hits += 1
                    return fault
        return None

    def _record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)


def _make_handler(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep test output quiet

        def do_GET(self) -> None:
            self._handle()

        do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

        def _handle(self) -> None:
            path, _, query = self.path.partition("?")
            method = self.command
            fault = proxy._take_fault(method, path)
            action = fault.action if fault else None

            if fault is not None and fault.action == "reset":
                length = int(self.headers.get("Content-Length") or 0)
                want = fault.reset_after if fault.reset_after is not None else max(1, length // 2)
                self.rfile.read(min(want, length))
                proxy._record(Call(method, path, query, None, action))
                self._reset()
                return

            body = self._read_body()
            if fault is not None and fault.action == "status":
                payload = json.dumps(
                    {"errors": [{"code": "UNAVAILABLE", "message": "injected by the fault proxy"}]}
                ).encode()
                proxy._record(Call(method, path, query, fault.status, action))
                self.send_response(fault.status)
                for key, value in fault.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if method != "HEAD":
                    self.wfile.write(payload)
                return

            if fault is not None and fault.action == "endless":
                proxy._record(Call(method, path, query, fault.status, action))
                self._endless(fault)
                return

            if fault is not None and fault.action == "trickle":
                proxy._record(Call(method, path, query, None, action))
                self._trickle(fault)
                return

            if fault is not None and fault.action == "lie":
                self._forward(method, body, send=True, record=(path, query), lie=fault)
                return

            if fault is not None and fault.action in ("stall", "drop"):
                if fault.forward_first:
                    self._forward(method, body)
                proxy._record(Call(method, path, query, None, action))
                if fault.action == "stall":
                    proxy._stopping.wait(fault.stall)
                self.close_connection = True
                return

            self._forward(method, body, send=True, record=(path, query))

        def _read_body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        self.rfile.readline()
                        break
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                return b"".join(chunks)
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _endless(self, fault: Fault) -> None:
            self.close_connection = True
            self.send_response(fault.status)
            chunked = not any(k.lower() == "content-length" for k in fault.headers)
            for key, value in fault.headers.items():
                self.send_header(key, value)
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            block = b"{" + b" " * (64 * 1024 - 2) + b"}"
            frame = f"{len(block):x}\r\n".encode() + block + b"\r\n" if chunked else block
            try:
                while not proxy._stopping.is_set():
                    self.wfile.write(frame)
                    proxy.endless_bytes += len(block)
            except OSError:
                pass  # the client hung up, as it should

        def _trickle(self, fault: Fault) -> None:
            self.close_connection = True
            head = (b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"a" * 10_000 + b"\r\n\r\n")
            try:
                for i in range(len(head)):
                    self.wfile.write(head[i : i + 1])
                    self.wfile.flush()
                    proxy.trickled_bytes += 1
                    if proxy._stopping.wait(fault.interval):
                        return
            except OSError:
                pass

        def _reset(self) -> None:
            self.close_connection = True
            sock = self.connection
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()

        def _forward(
            self,
            method: str,
            body: bytes,
            *,
            send: bool = False,
            record: tuple[str, str] | None = None,
            lie: Fault | None = None,
        ) -> int | None:
            """Ask the registry; with `send`, pass the answer on (recorded before it leaves)."""
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            if body or method in ("POST", "PUT", "PATCH"):
                headers["Content-Length"] = str(len(body))
            conn = http.client.HTTPConnection(proxy.upstream, timeout=30)
            try:
                conn.request(method, self.path, body=body or None, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                if lie is not None and lie.body is not None and method != "HEAD":
                    data = lie.body
                if record is not None:
                    proxy._record(Call(method, record[0], record[1], resp.status, None))
                if not send:
                    return resp.status
                self.send_response(resp.status)
                for key, value in resp.getheaders():
                    if key.lower() in _HOP_BY_HOP or key.lower() == "content-length":
                        continue
                    if lie is not None and key.lower() in {k.lower() for k in lie.headers}:
                        continue
                    self.send_header(key, value)
                for key, value in (lie.headers if lie is not None else {}).items():
                    self.send_header(key, value)
                length = resp.getheader("Content-Length") if method == "HEAD" else str(len(data))
                self.send_header("Content-Length", length or "0")
                self.end_headers()
                if method != "HEAD":
                    self.wfile.write(data)
                return resp.status
            finally:
                conn.close()

    return Handler
