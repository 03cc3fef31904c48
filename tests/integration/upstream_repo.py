"""A real HTTPS Helm chart repository on 127.0.0.1, and synthetic upstream charts.

`HelmRepoServer` serves `index.yaml` and chart archives over TLS (a test CA),
with optional basic auth, ETag/Last-Modified and 304s, and records every
request (path, status, whether an Authorization header came) so tests can
count index fetches and see where credentials went. `make_chart` builds an
upstream chart archive with bpkit's own packer; `index_yaml` writes the
index Helm's `helm repo index` would (the fields bpkit reads).
"""

from __future__ import annotations

import base64
import hashlib
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bpkit.helm.chartfiles import Entry
from bpkit.helm.tgz import pack


@dataclass
class Seen:
    path: str
    status: int
    authorized: bool
    conditional: bool


@dataclass
class HelmRepoServer:
    cert: Path
    key: Path
    auth: tuple[str, str] | None = None
    files: dict[str, bytes] = field(default_factory=dict)
    #: path -> a function that writes the whole answer itself (hostile servers)
    special: dict[str, Callable[[BaseHTTPRequestHandler], None]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    host: str = "127.0.0.1"

    def __post_init__(self) -> None:
        server = ThreadingHTTPServer((self.host, 0), self._handler())
        server.daemon_threads = True
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(self.cert), str(self.key))
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def count(self, path: str) -> int:
        return sum(1 for s in self.seen if s.path == path)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        repo = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _send(self, status: int, body: bytes = b"",
                      headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if body:
                    self.wfile.write(body)

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                sent_auth = self.headers.get("Authorization")
                conditional = bool(self.headers.get("If-None-Match")
                                   or self.headers.get("If-Modified-Since"))

                def seen(status: int) -> None:
                    repo.seen.append(Seen(path, status, sent_auth is not None, conditional))

                if repo.auth is not None:
                    want = "Basic " + base64.b64encode(
                        f"{repo.auth[0]}:{repo.auth[1]}".encode()).decode()
                    if sent_auth != want:
                        seen(401)
                        self._send(401, b"unauthorized",
                                   {"WWW-Authenticate": 'Basic realm="charts"'})
                        return
                if path in repo.special:
                    seen(200)
                    repo.special[path](self)
                    return
                body = repo.files.get(path)
                if body is None:
                    seen(404)
                    self._send(404, b"not found")
                    return
                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                if self.headers.get("If-None-Match") == etag:
                    seen(304)
                    self._send(304, b"", {"ETag": etag})
                    return
                seen(200)
                self._send(200, body, {"ETag": etag,
                                       "Last-Modified": "Mon, 01 Jan 2024 00:00:00 GMT"})

        return Handler


def make_chart(name: str, version: str, *, app_version: str | None = "1.0.0",
               values: str | None = "replicaCount: 1\nimage:\n  tag: latest\n",
               schema: str | None = '{"type": "object"}\n',
               chart_type: str | None = None, extra: dict[str, str] | None = None) -> bytes:
    """An upstream chart archive: Chart.yaml, values.yaml, values.schema.json, a template."""
    meta = f"apiVersion: v2\nname: {name}\nversion: {version}\n"
    if app_version is not None:
        meta += f'appVersion: "{app_version}"\n'
    if chart_type is not None:
        meta += f"type: {chart_type}\n"
    files = {"Chart.yaml": meta,
             "templates/deployment.yaml":
                 "kind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n"}
    if values is not None:
        files["values.yaml"] = values
    if schema is not None:
        files["values.schema.json"] = schema
    files.update(extra or {})
    return pack([Entry(path, text.encode()) for path, text in files.items()], name=name,
                mtime=1_700_000_000)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def index_yaml(charts: list[tuple[str, str, str | None, str, str | None]]) -> bytes:
    """(name, version, appVersion, url, hex digest) rows -> index.yaml bytes."""
    by_name: dict[str, list[str]] = {}
    for name, version, app, url, digest in charts:
        item = f"  - name: {name}\n    version: {version}\n"
        if app is not None:
            item += f'    appVersion: "{app}"\n'
        item += f"    urls:\n      - {url}\n"
        if digest is not None:
            item += f"    digest: {digest}\n"
        item += "    apiVersion: v2\n    created: \"2024-01-01T00:00:00Z\"\n"
        by_name.setdefault(name, []).append(item)
    text = "apiVersion: v1\nentries:\n"
    for name, items in by_name.items():
        text += f"  {name}:\n" + "".join(items)
    return (text + 'generated: "2024-01-01T00:00:00Z"\n').encode()


def publish(server: HelmRepoServer, charts: list[tuple[str, str, str | None]], *,
            absolute: bool = False, digests: bool = True, prefix: str = "/charts",
            **chart_args: object) -> dict[tuple[str, str], bytes]:
    """Put (name, version, appVersion) charts and their index on `server`."""
    rows = []
    made = {}
    for name, version, app in charts:
        data = make_chart(name, version, app_version=app, **chart_args)  # type: ignore[arg-type]
        path = f"{prefix}/{name}-{version}.tgz"
        server.files[path] = data
        url = server.url + path if absolute else path.lstrip("/")
        rows.append((name, version, app, url, sha256(data) if digests else None))
        made[(name, version)] = data
    server.files["/index.yaml"] = index_yaml(rows)
    return made
