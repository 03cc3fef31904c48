"""Real services for integration tests: docker-registry (plain, basic auth, TLS), a fault proxy.

Fixtures:
  registry_factory  make(auth=False, tls=False, namespace="openova-io") -> RunningRegistry;
                    every registry it made is stopped after the test
  registry          a plain-HTTP registry on 127.0.0.1 (fresh storage per test)
  auth_registry     htpasswd basic auth (bcrypt cost 4); .username / .password
  tls_registry      HTTPS with a CA made at test time; .ca_file
  token_registry    bearer tokens from a local token service (like ghcr.io); .username /
                    .password, .token_server (TokenServer: .requests, .refresh_token)
  fault_proxy       a FaultProxy in front of `registry` (see faultproxy.py)
  make_artifact     make_artifact(name="bp-demo", tag="1.0.0", payload=b"...") -> Artifact

RunningRegistry also reads the registry directly (urllib, not bpkit):
`manifest()`, `blob()`, `tags()`, and `skopeo_raw()` runs real skopeo.
Each registry takes about 20 ms to start: one per test keeps tests apart.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bpkit.oci.artifact import Artifact
from tests.helpers.artifacts import build_artifact

try:
    from tests.integration.faultproxy import FaultProxy
except ImportError:  # tests/ is not a package: pytest put this folder on sys.path
    from faultproxy import FaultProxy  # type: ignore[no-redef]

REGISTRY_BIN = "/usr/bin/docker-registry"
NAMESPACE = "openova-io"
_LISTENING = re.compile(r"listening on 127\.0\.0\.1:(\d+)")

_OPENSSL_CNF = """\
[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[srv]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
authorityKeyIdentifier = keyid
subjectKeyIdentifier = hash
"""


@dataclass
class RunningRegistry:
    host: str  # "127.0.0.1:PORT"
    namespace: str
    root: Path  # storage directory
    log: Path
    process: subprocess.Popen[bytes]
    scheme: str = "http"
    username: str | None = None
    password: str | None = None
    ca_file: Path | None = None
    token_server: TokenServer | None = None

    @property
    def url(self) -> str:
        return f"oci://{self.host}/{self.namespace}"

    def repo(self, name: str) -> str:
        return f"{self.namespace}/{name}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    # -- direct reads, bypassing bpkit ------------------------------------

    def http(
        self, method: str, path: str, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        req = urllib.request.Request(
            f"{self.scheme}://{self.host}{path}", method=method, headers=dict(headers or {})
        )
        if self.token_server is not None:
            scope = f"repository:{path.split('/')[2]}/{path.split('/')[3]}:pull"
            req.add_header("Authorization", f"Bearer {self.token_server.issue(scope)}")
        elif self.username is not None:
            token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
            req.add_header("Authorization", f"Basic {token}")
        ctx = ssl.create_default_context(cafile=str(self.ca_file)) if self.ca_file else None
        try:
            with urllib.request.urlopen(req, timeout=10, context=ctx) as resp:
                return resp.status, dict(resp.headers.items()), resp.read()
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers.items()), err.read()

    def manifest(self, name: str, ref: str) -> bytes | None:
        status, _, body = self.http(
            "GET",
            f"/v2/{self.repo(name)}/manifests/{ref}",
            {"Accept": "application/vnd.oci.image.manifest.v1+json"},
        )
        return body if status == 200 else None

    def blob(self, name: str, digest: str) -> bytes | None:
        status, _, body = self.http("GET", f"/v2/{self.repo(name)}/blobs/{digest}")
        return body if status == 200 else None

    def tags(self, name: str) -> list[str]:
        status, _, body = self.http("GET", f"/v2/{self.repo(name)}/tags/list")
        return list(json.loads(body).get("tags") or []) if status == 200 else []

    def skopeo_raw(self, name: str, tag: str, *, config: bool = False) -> bytes:
        """`skopeo inspect --raw` (or `--config --raw`): the bytes the registry serves."""
        cmd = ["skopeo", "inspect", "--raw", "--tls-verify=false"]
        if config:
            cmd.insert(2, "--config")
        if self.username is not None:
            cmd.append(f"--creds={self.username}:{self.password}")
        cmd.append(f"docker://{self.host}/{self.repo(name)}:{tag}")
        proc = subprocess.run(cmd, capture_output=True, timeout=30, check=False)
        assert proc.returncode == 0, proc.stderr.decode()
        return proc.stdout


def _start_registry(
    workdir: Path,
    *,
    namespace: str = NAMESPACE,
    htpasswd: tuple[str, str, Path] | None = None,
    tls: tuple[Path, Path, Path] | None = None,
    token: TokenServer | None = None,
) -> RunningRegistry:
    if not Path(REGISTRY_BIN).exists():
        pytest.fail(f"{REGISTRY_BIN} is missing: apt-get install docker-registry")
    workdir.mkdir(parents=True)
    root = workdir / "storage"
    lines = [
        "version: 0.1",
        "log: {level: info, accesslog: {disabled: true}}",
        f"storage: {{filesystem: {{rootdirectory: {root}}}, delete: {{enabled: true}}, "
        "maintenance: {uploadpurging: {enabled: false}}}",
        "http:",
        "  addr: 127.0.0.1:0",
        "  secret: bpkit-test-secret",
    ]
    if tls is not None:
        _, cert, key = tls
        lines.append(f"  tls: {{certificate: {cert}, key: {key}}}")
    if htpasswd is not None:
        lines.append(f"auth: {{htpasswd: {{realm: bpkit-test, path: {htpasswd[2]}}}}}")
    if token is not None:
        lines.append(
            f"auth: {{token: {{realm: '{token.realm}', service: {token.service}, "
            f"issuer: {token.issuer}, rootcertbundle: {token.cert}}}}}"
        )
    config = workdir / "config.yml"
    config.write_text("\n".join(lines) + "\n")
    log = workdir / "registry.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [REGISTRY_BIN, "serve", str(config)], stdout=subprocess.DEVNULL, stderr=sink
        )
    deadline = time.monotonic() + 10
    while True:
        match = _LISTENING.search(log.read_text(errors="replace"))
        if match:
            break
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"docker-registry did not start:\n{log.read_text(errors='replace')}")
        time.sleep(0.005)
    reg = RunningRegistry(
        host=f"127.0.0.1:{match.group(1)}",
        namespace=namespace,
        root=root,
        log=log,
        process=proc,
        scheme="https" if tls else "http",
    )
    if htpasswd is not None:
        reg.username, reg.password = htpasswd[0], htpasswd[1]
    if tls is not None:
        reg.ca_file = tls[0]
    if token is not None:
        reg.username, reg.password = token.username, token.password
        reg.token_server = token
    return reg


def _htpasswd(path: Path, username: str, password: str) -> None:
    # bcrypt cost 4: the registry checks the hash on every request, and cost 12
    # costs ~0.1 s each time.
    try:
        import bcrypt
    except ImportError:
        pytest.fail("the bcrypt package is needed for auth tests: pip install bcrypt")
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
    path.write_text(f"{username}:{hashed}\n")


@pytest.fixture(scope="session")
def tls_material(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(ca.pem, server.pem, server.key): a throwaway CA and a cert for IP:127.0.0.1."""
    if shutil.which("openssl") is None:
        pytest.fail("openssl is missing: apt-get install openssl")
    d = tmp_path_factory.mktemp("tls")
    cnf = d / "openssl.cnf"
    cnf.write_text(_OPENSSL_CNF)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True, timeout=30)

    run(
        "req",
        "-x509",
        "-new",
        *ec,
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=bpkit-test-ca",
        "-config",
        str(cnf),
        "-extensions",
        "ca",
    )
    run(
        "req",
        "-new",
        *ec,
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
        "-config",
        str(cnf),
    )
    run(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        str(cnf),
        "-extensions",
        "srv",
    )
    return d / "ca.pem", d / "server.pem", d / "server.key"


class TokenServer:
    """A docker-style token service: Basic credentials (or a refresh token) in, RS256 JWT out.

    docker-registry's `auth.token` trusts tokens whose `x5c` certificate is in
    its root bundle; tokens are signed with the openssl CLI.
    """

    service = "bpkit-test-registry"
    issuer = "bpkit-test-issuer"
    username = "token-user"
    password = "t0ken-pa55"
    refresh_token = "refresh-s3cret"

    def __init__(self, key: Path, cert: Path) -> None:
        self.key, self.cert = key, cert
        pem = cert.read_text()
        self._x5c = "".join(pem.split("-----")[2].split())
        self.requests: list[tuple[str, str]] = []  # (method, scope)
        server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        server.daemon_threads = True
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()

    @property
    def realm(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/token"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def issue(self, scope: str, subject: str = "token-user", push: bool = True) -> str:
        """A signed token granting `scope` ("repository:NAME:pull,push"), push only if allowed."""
        access = []
        if scope:
            kind, name, actions = scope.split(":")
            wanted = actions.split(",")
            allowed = [a for a in wanted if a == "pull" or (push and a == "push")]
            access.append({"type": kind, "name": name, "actions": allowed})
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self._x5c]}
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": self.service,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": f"{now}-{len(self.requests)}-{threading.get_ident()}",
            "access": access,
        }
        signing_input = (
            f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        )
        sig = subprocess.run(
            ["openssl", "dgst", "-sha256", "-sign", str(self.key)],
            input=signing_input.encode(),
            capture_output=True,
            check=True,
            timeout=30,
        ).stdout
        return f"{signing_input}.{_b64url(sig)}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def _answer(self, code: int, body: dict[str, object]) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                scope = query.get("scope", [""])[0]
                outer.requests.append(("GET", scope))
                auth = self.headers.get("Authorization", "")
                good = (
                    "Basic "
                    + base64.b64encode(f"{outer.username}:{outer.password}".encode()).decode()
                )
                if auth and auth != good:
                    self._answer(
                        401, {"errors": [{"code": "UNAUTHORIZED", "message": "bad creds"}]}
                    )
                    return
                token = outer.issue(scope, "token-user" if auth else "", push=bool(auth))
                self._answer(200, {"token": token, "access_token": token, "expires_in": 300})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = urllib.parse.parse_qs(self.rfile.read(length).decode())
                scope = form.get("scope", [""])[0]
                outer.requests.append(("POST", scope))
                if form.get("refresh_token", [""])[0] != outer.refresh_token:
                    self._answer(401, {"error": "invalid_grant"})
                    return
                self._answer(200, {"access_token": outer.issue(scope), "expires_in": 300})

        return Handler


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture(scope="session")
def token_signing(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(key.pem, cert.pem): the token service's RSA signing key, trusted by the registry."""
    d = tmp_path_factory.mktemp("token")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem",
         "-out", "cert.pem", "-days", "2", "-subj", "/CN=bpkit-test-token-issuer"],
        cwd=d, check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return d / "key.pem", d / "cert.pem"


RegistryFactory = Callable[..., RunningRegistry]


@pytest.fixture
def registry_factory(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[RegistryFactory]:
    started: list[RunningRegistry] = []

    def make(
        *, auth: bool = False, tls: bool = False, token: bool = False, namespace: str = NAMESPACE
    ) -> RunningRegistry:
        workdir = tmp_path_factory.mktemp("registry") / "r"
        htpasswd = None
        if auth:
            path = workdir.parent / "htpasswd"
            htpasswd = ("bpkit-user", "s3cret-pa55word", path)
            _htpasswd(path, htpasswd[0], htpasswd[1])
        material = request.getfixturevalue("tls_material") if tls else None
        server = None
        if token:
            server = TokenServer(*request.getfixturevalue("token_signing"))
            servers.append(server)
        reg = _start_registry(
            workdir, namespace=namespace, htpasswd=htpasswd, tls=material, token=server
        )
        started.append(reg)
        return reg

    servers: list[TokenServer] = []
    yield make
    for reg in started:
        reg.stop()
    for server in servers:
        server.stop()


@pytest.fixture
def registry(registry_factory: RegistryFactory) -> RunningRegistry:
    return registry_factory()


@pytest.fixture
def auth_registry(registry_factory: RegistryFactory) -> RunningRegistry:
    return registry_factory(auth=True)


@pytest.fixture
def tls_registry(registry_factory: RegistryFactory) -> RunningRegistry:
    return registry_factory(tls=True)


@pytest.fixture
def token_registry(registry_factory: RegistryFactory) -> RunningRegistry:
    """Bearer-token auth like ghcr.io; `.token_server` counts token requests."""
    return registry_factory(token=True)


@pytest.fixture
def fault_proxy(registry: RunningRegistry) -> Iterator[FaultProxy]:
    proxy = FaultProxy(registry.host, namespace=registry.namespace)
    yield proxy
    proxy.stop()


@pytest.fixture
def make_artifact() -> Callable[..., Artifact]:
    return build_artifact
