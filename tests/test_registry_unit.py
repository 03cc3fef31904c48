"""bpkit.net.registry without a network: URL parsing, retry policy, auth flow, messages.

The HTTP session is replaced by a scripted fake; sleeping and the clock are
fake too, so the retry policy is checked exactly and instantly.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from requests.structures import CaseInsensitiveDict

from bpkit.errors import AuthError, ImmutableReleaseError, RegistryError, UsageError
from bpkit.limits import READBACK_PAUSE_MIN
from bpkit.net.credentials import Credentials
from bpkit.net.http import backoff_delay, oci_error_message, parse_retry_after
from bpkit.net.registry import RegistryTarget
from bpkit.oci.artifact import (
    MANIFEST_MEDIA_TYPE,
    Artifact,
)
from bpkit.oci.reference import RegistryRef, is_loopback_host, parse_registry
from bpkit.text import redact
from tests.helpers.artifacts import build_artifact


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def artifact(payload: bytes = b"layer") -> Artifact:
    return build_artifact("bp-x", "1.0.0", layer=payload)


# --------------------------------------------------------------------------- parse_registry


@pytest.mark.parametrize(
    ("url", "host", "namespace"),
    [
        ("oci://ghcr.io/openova-io", "ghcr.io", "openova-io"),
        ("ghcr.io/openova-io/charts/", "ghcr.io", "openova-io/charts"),
        ("OCI://GHCR.IO/openova-io", "ghcr.io", "openova-io"),
        ("oci://127.0.0.1:5000/a.b/c__d/e-f", "127.0.0.1:5000", "a.b/c__d/e-f"),
        ("oci://localhost:5000/ns", "localhost:5000", "ns"),
        ("oci://[::1]:5000/ns", "[::1]:5000", "ns"),
    ],
)
def test_parse_registry_accepts(url: str, host: str, namespace: str) -> None:
    ref = parse_registry(url)
    assert (ref.host, ref.namespace) == (host, namespace)
    assert ref.url == f"oci://{host}/{namespace}"
    assert ref.repository("bp-flux") == f"{namespace}/bp-flux"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "empty"),
        ("https://ghcr.io/org", "must start with oci://"),
        ("oci://ghcr.io", "has no namespace"),
        ("oci://ghcr.io/", "has no namespace"),
        ("oci://ghcr.io/Org", "lower-case"),
        ("oci://ghcr.io/org/bp-x:1.0.0", "must not carry a tag"),
        ("oci://ghcr.io:99999/org", "port '99999'"),
        ("oci://ghcr.io:abc/org", "port 'abc'"),
        ("oci://gh_cr.io/org", "not a valid registry host"),
        ("oci://[zz]:5000/org", "not a valid IPv6 host"),
        ("oci://ghcr.io/org?x=1", "query"),
        ("oci://ghcr.io/org/a--", "namespace part 'a--'"),
    ],
)
def test_parse_registry_rejects(url: str, message: str) -> None:
    with pytest.raises(UsageError, match="registry URL") as err:
        parse_registry(url)
    assert message in str(err.value)


def test_parse_registry_never_echoes_a_password_in_the_url() -> None:
    with pytest.raises(UsageError) as err:
        parse_registry("oci://bob:hunter2@ghcr.io/org")
    assert "hunter2" not in str(err.value)
    assert "credentials" in str(err.value)


def test_registry_ref_parts() -> None:
    ref = RegistryRef("[::1]:5000", "ns")
    assert (ref.hostname, ref.port, ref.is_loopback) == ("::1", 5000, True)
    ref = RegistryRef("ghcr.io", "ns")
    assert (ref.hostname, ref.port, ref.is_loopback) == ("ghcr.io", None, False)
    with pytest.raises(UsageError, match="not a valid OCI repository name"):
        ref.repository("BP_x!")


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.9.8.7", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("10.0.0.1", False),
        ("ghcr.io", False),
        ("localhost.example.com", False),
    ],
)
def test_is_loopback_host(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


def test_scheme_rules(tmp_path: Any) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    fake = FakeSession()
    assert RegistryTarget("oci://127.0.0.1:5000/ns", session=fake).scheme == "http"
    assert RegistryTarget("oci://ghcr.io/ns", session=fake).scheme == "https"
    assert RegistryTarget("oci://127.0.0.1:5000/ns", ca_file=ca, session=fake).scheme == "https"
    assert RegistryTarget("oci://reg.lan/ns", plain_http=True, session=fake).scheme == "http"
    with pytest.raises(UsageError, match="CA file makes no sense"):
        RegistryTarget("oci://127.0.0.1/ns", plain_http=True, ca_file=ca, session=fake)
    with pytest.raises(UsageError, match="does not exist"):
        RegistryTarget("oci://ghcr.io/ns", ca_file=tmp_path / "missing.pem", session=fake)


# --------------------------------------------------------------------------- small helpers


def test_redact() -> None:
    text = "GET https://bob:pw@ghcr.io/v2/ Authorization: Basic Ym9iOnB3 and hunter2"
    out = redact(text, ("hunter2",))
    assert "bob:pw" not in out and "Ym9iOnB3" not in out and "hunter2" not in out
    assert "https://***@ghcr.io/v2/" in out


def test_oci_error_message() -> None:
    body = json.dumps(
        {"errors": [{"code": "DENIED", "message": "no push"}, {"code": "UNKNOWN"}, "junk"]}
    )
    assert oci_error_message(body) == "DENIED: no push; UNKNOWN"
    assert oci_error_message(b"<html>") == ""
    assert oci_error_message(b'{"errors": 3}') == ""


def test_parse_retry_after() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    now = datetime(2030, 1, 1, tzinfo=UTC).timestamp()
    later = format_datetime(datetime(2030, 1, 1, 0, 0, 12, tzinfo=UTC), usegmt=True)
    assert parse_retry_after(later, now=now) == 12.0
    assert parse_retry_after(later, now=now + 60) == 0.0


def test_backoff_delay_grows_is_capped_and_honours_retry_after() -> None:
    rng = random.Random(1)
    for attempt, low, high in [(0, 0.25, 0.5), (1, 0.5, 1.0), (2, 1.0, 2.0), (10, 4.0, 8.0)]:
        for _ in range(20):
            assert low <= backoff_delay(attempt, rng) <= high
    assert backoff_delay(0, rng, retry_after=3.0) == 3.0
    assert backoff_delay(500, rng) <= 8.0


def test_importing_registry_does_not_import_oras_or_requests() -> None:
    code = (
        "import sys, bpkit.net.registry, bpkit.net.credentials;"
        "bad = [m for m in ('oras', 'requests', 'urllib3') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# --------------------------------------------------------------------------- fake network


@dataclass
class FakeResponse:
    status_code: int
    headers: CaseInsensitiveDict[str] = field(default_factory=CaseInsensitiveDict)
    content: bytes = b""
    url: str = ""
    reason: str = ""

    @property
    def text(self) -> str:
        return self.content.decode()

    def iter_content(self, chunk_size: int = 1) -> Any:
        for i in range(0, len(self.content), chunk_size):
            yield self.content[i : i + chunk_size]

    def close(self) -> None:
        pass

    def json(self) -> Any:
        return json.loads(self.content)


Handler = Callable[[str, str, dict[str, str], Any], "FakeResponse | BaseException"]


class FakeSession:
    """A registry in a dict; `faults` are consumed first: (method, path part, response)."""

    def __init__(self) -> None:
        self.manifests: dict[str, bytes] = {}
        self.blobs: set[str] = set()
        self.calls: list[tuple[str, str, dict[str, str]]] = []
        self.faults: list[tuple[str, str, FakeResponse | BaseException]] = []
        self.handlers: list[Handler] = []
        self.sent_bodies: list[Any] = []

    def close(self) -> None:
        pass

    def request(self, method: str, url: str, **kw: Any) -> FakeResponse:
        headers = dict(kw.get("headers") or {})
        self.calls.append((method, url, headers))
        self.sent_bodies.append(kw.get("data"))
        for i, (m, part, answer) in enumerate(self.faults):
            if m == method and part in url:
                del self.faults[i]
                if isinstance(answer, BaseException):
                    raise answer
                answer.url = url
                return answer
        for handler in self.handlers:
            got = handler(method, url, headers, kw.get("data"))
            if isinstance(got, BaseException):
                raise got
            if got is not None:
                got.url = url
                return got
        return self._registry(method, url, headers, kw.get("data"))

    def _registry(self, method: str, url: str, headers: dict[str, str], data: Any) -> FakeResponse:
        parts = urlsplit(url)
        path, query = parts.path, parse_qs(parts.query)
        if "/manifests/" in path:
            tag = path.rsplit("/", 1)[1]
            if method == "PUT":
                self.manifests[tag] = data
                return FakeResponse(201, url=url)
            body = self.manifests.get(tag)
            if body is None:
                return FakeResponse(404, url=url)
            h = CaseInsensitiveDict({"Docker-Content-Digest": sha(body)})
            return FakeResponse(200, h, b"" if method == "HEAD" else body, url=url)
        if method == "POST" and path.endswith("/blobs/uploads/"):
            if query.get("mount", [""])[0] in self.blobs:
                return FakeResponse(201, url=url)
            return FakeResponse(
                202,
                CaseInsensitiveDict({"Location": "/v2/ns/bp-x/blobs/uploads/1?_state=s"}),
                url=url,
            )
        if method == "PUT" and "/blobs/uploads/" in path:
            digest = query["digest"][0]
            assert sha(data) == digest
            self.blobs.add(digest)
            return FakeResponse(201, url=url)
        return FakeResponse(400, content=b'{"errors":[{"code":"UNSUPPORTED"}]}', url=url)

    def methods(self) -> list[str]:
        return [m for m, _, _ in self.calls]


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def target(
    session: FakeSession,
    fake_time: FakeTime | None = None,
    url: str = "oci://reg.example/ns",
    **kw: Any,
) -> RegistryTarget:
    t = fake_time or FakeTime()
    return RegistryTarget(
        url, session=session, sleep=t.sleep, clock=t.clock, rng=random.Random(0), **kw
    )


def status(code: int, **headers: str) -> FakeResponse:
    return FakeResponse(code, CaseInsensitiveDict(headers))


# --------------------------------------------------------------------------- push flow


def test_new_artifact_takes_eight_requests_and_republish_two() -> None:
    session = FakeSession()
    seen: list[tuple[str, str, int | None]] = []
    art = artifact()
    result = target(session, on_request=lambda *a: seen.append(a)).push(art)
    assert session.methods() == ["HEAD", "POST", "PUT", "POST", "PUT", "HEAD", "PUT", "GET"]
    assert (result.status, result.requests, result.uploaded_blobs) == ("published", 8, 2)
    assert session.manifests["1.0.0"] == art.manifest
    head = session.calls[0]
    assert head[1] == "https://reg.example/v2/ns/bp-x/manifests/1.0.0"
    assert head[2]["Accept"].startswith(MANIFEST_MEDIA_TYPE + ", ")
    assert "application/vnd.oci.image.index.v1+json" in head[2]["Accept"]
    assert session.calls[6][2]["Content-Type"] == MANIFEST_MEDIA_TYPE
    assert session.sent_bodies[6] == art.manifest  # exact bytes, not re-serialised
    assert "mount=" + sha(art.config) in session.calls[1][1]
    assert "from=ns/bp-x" in session.calls[1][1]
    assert [s for _, _, s in seen] == [404, 202, 201, 202, 201, 404, 201, 200]

    session.calls.clear()
    again = target(session).push(art)
    # The HEAD's digest is only a claim: the GET's bytes prove "unchanged".
    assert (again.status, again.requests, session.methods()) == ("unchanged", 2, ["HEAD", "GET"])


def test_blobs_the_repository_has_are_mounted_not_sent() -> None:
    session = FakeSession()
    art = artifact()
    session.blobs |= {sha(art.config), sha(art.layer)}
    result = target(session).push(art)
    assert session.methods() == ["HEAD", "POST", "POST", "HEAD", "PUT", "GET"]
    assert result.uploaded_blobs == 0


def test_tag_check_without_digest_header_hashes_the_manifest() -> None:
    session = FakeSession()
    old = artifact(b"old")
    session.faults.append(("HEAD", "/manifests/", status(200)))
    session.manifests["1.0.0"] = old.manifest
    assert target(session).existing_digest(artifact()) == old.digest
    assert session.methods() == ["HEAD", "GET"]


def test_other_digest_is_refused_unless_forced() -> None:
    session = FakeSession()
    old = artifact(b"old")
    session.manifests["1.0.0"] = old.manifest
    new = artifact(b"new")
    with pytest.raises(ImmutableReleaseError) as err:
        target(session).push(new)
    assert old.digest in str(err.value) and new.digest in str(err.value)
    assert session.methods() == ["HEAD"]
    result = target(session).push(new, force=True)
    assert (result.status, result.previous_digest) == ("overwritten", old.digest)
    assert session.manifests["1.0.0"] == new.manifest


def test_dry_run_messages() -> None:
    session = FakeSession()
    art = artifact()
    assert target(session).dry_run(art) == f"would publish reg.example/ns/bp-x:1.0.0 ({art.digest})"
    session.manifests["1.0.0"] = art.manifest
    assert "already published" in target(session).dry_run(art)
    other = artifact(b"other")
    assert target(session).dry_run(other).startswith("would refuse reg.example/ns/bp-x:1.0.0")
    assert "would overwrite" in target(session).dry_run(other, force=True)
    assert set(session.methods()) == {"HEAD", "GET"}


def test_read_back_mismatch_is_an_error() -> None:
    session = FakeSession()
    other = artifact(b"someone else")
    session.faults.append(("GET", "/manifests/", FakeResponse(200, content=other.manifest)))
    with pytest.raises(RegistryError, match=f"serves {other.digest}"):
        target(session).push(artifact())


def test_artifact_whose_manifest_does_not_match_its_digest_is_refused() -> None:
    art = artifact()
    bad = Artifact(art.name, art.tag, art.config, art.layer, art.manifest + b" ", art.digest)
    with pytest.raises(UsageError, match="do not hash to"):
        target(FakeSession()).push(bad)


def test_other_errors_name_registry_status_and_message() -> None:
    session = FakeSession()
    body = b'{"errors":[{"code":"MANIFEST_BLOB_UNKNOWN","message":"blob unknown to registry"}]}'
    session.faults.append(("PUT", "/manifests/", FakeResponse(400, content=body, reason="Bad")))
    with pytest.raises(RegistryError) as err:
        target(session).push(artifact())
    assert str(err.value) == (
        "reg.example: uploading the manifest failed: HTTP 400 Bad: "
        "MANIFEST_BLOB_UNKNOWN: blob unknown to registry"
    )


def test_500_is_not_retried() -> None:
    session, clock = FakeSession(), FakeTime()
    session.faults.append(("HEAD", "/manifests/", status(500)))
    with pytest.raises(RegistryError, match="HTTP 500"):
        target(session, clock).push(artifact())
    assert clock.sleeps == []


# --------------------------------------------------------------------------- retry policy


def test_503_twice_then_success_with_growing_jittered_sleeps() -> None:
    session, clock = FakeSession(), FakeTime()
    session.faults += [("HEAD", "/manifests/", status(503)), ("HEAD", "/manifests/", status(503))]
    result = target(session, clock).push(artifact())
    assert result.status == "published"
    assert len(clock.sleeps) == 3  # two retries, then the pause before the read-back
    assert 0.25 <= clock.sleeps[0] <= 0.5 and 0.5 <= clock.sleeps[1] <= 1.0
    assert clock.sleeps[2] == pytest.approx(READBACK_PAUSE_MIN)


@pytest.mark.parametrize("code", [429, 502, 503, 504])
def test_retry_statuses_stop_at_the_budget(code: int) -> None:
    session, clock = FakeSession(), FakeTime()
    session.handlers.append(lambda m, u, h, d: status(code) if m == "HEAD" else None)
    start = clock.now
    with pytest.raises(RegistryError) as err:
        target(session, clock, retry_budget=30).push(artifact())
    assert clock.now - start <= 30
    assert sum(clock.sleeps) == pytest.approx(30)  # the last try comes at the deadline
    assert f"HTTP {code}" in str(err.value)
    assert "30 s retry budget" in str(err.value)
    assert f"after {len(clock.sleeps) + 1} attempts" in str(err.value)
    assert max(clock.sleeps) <= 8.0


def test_retry_after_seconds_and_date_are_honoured() -> None:
    session, clock = FakeSession(), FakeTime()
    when = format_datetime(datetime.fromtimestamp(9e9 + 4, tz=UTC), usegmt=True)
    session.faults += [
        ("POST", "/blobs/uploads/", status(429, **{"Retry-After": "3"})),
        ("PUT", "/manifests/", status(503, **{"Retry-After": when})),
    ]
    # The HTTP date is read against the wall clock: pretend it is 9e9 now.
    import bpkit.net.registry as reg

    real_time = reg.time.time
    reg.time.time = lambda: 9e9  # type: ignore[assignment]
    try:
        target(session, clock).push(artifact())
    finally:
        reg.time.time = real_time  # type: ignore[assignment]
    assert clock.sleeps[0] == 3.0
    assert 3.5 <= clock.sleeps[1] <= 4.0


def test_dropped_connections_and_timeouts_are_retried_and_a_blob_restarts() -> None:
    session, clock = FakeSession(), FakeTime()
    session.faults += [
        ("PUT", "/blobs/uploads/", requests.exceptions.ConnectionError(ConnectionResetError(104))),
        ("GET", "/manifests/", requests.exceptions.ReadTimeout("read timed out")),
        ("HEAD", "/manifests/", requests.exceptions.ChunkedEncodingError("eof")),
    ]
    result = target(session, clock).push(artifact())
    assert result.status == "published"
    assert len(clock.sleeps) == 4  # three retries and the read-back pause
    # HEAD x2, POST PUT (reset) POST PUT for the config, POST PUT layer, HEAD, PUT, GET x2
    assert session.methods() == [
        "HEAD", "HEAD", "POST", "PUT", "POST", "PUT", "POST", "PUT", "HEAD", "PUT", "GET", "GET",
    ]  # fmt: skip


def test_refused_connection_fails_at_once() -> None:
    session, clock = FakeSession(), FakeTime()
    refused = requests.exceptions.ConnectionError(ConnectionRefusedError(111, "refused"))
    session.faults.append(("HEAD", "/manifests/", refused))
    with pytest.raises(RegistryError) as err:
        target(session, clock, url="oci://reg.example:5000/ns").push(artifact())
    assert str(err.value) == "cannot connect to reg.example:5000: connection refused"
    assert clock.sleeps == []


def test_refused_connection_names_the_default_port() -> None:
    session = FakeSession()
    session.faults.append(
        ("HEAD", "/manifests/", requests.exceptions.ConnectionError(ConnectionRefusedError()))
    )
    with pytest.raises(
        RegistryError, match=r"cannot connect to reg.example:443: connection refused"
    ):
        target(session).push(artifact())


def test_tls_errors_are_not_retried() -> None:
    session, clock = FakeSession(), FakeTime()
    session.faults.append(("HEAD", "/manifests/", requests.exceptions.SSLError("bad cert")))
    with pytest.raises(RegistryError, match=r"TLS error talking to reg.example:443.*--ca-file"):
        target(session, clock).push(artifact())
    assert clock.sleeps == []


# --------------------------------------------------------------------------- auth


def basic(user: str, pw: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()


def test_basic_credentials_are_sent_preemptively_and_only_to_the_registry() -> None:
    session = FakeSession()
    session.faults.append(
        (
            "POST",
            "/blobs/uploads/",
            status(202, Location="https://uploads.cdn.example/v2/ns/bp-x/blobs/uploads/1?x=1"),
        )
    )
    creds = Credentials("bob", "hunter2")
    target(session, credentials=creds).push(artifact())
    auth = [h.get("Authorization") for _, _, h in session.calls]
    hosts = [urlsplit(u).netloc for _, u, _ in session.calls]
    for host, header in zip(hosts, auth, strict=True):
        assert header == (basic("bob", "hunter2") if host == "reg.example" else None)
    assert "uploads.cdn.example" in hosts


def test_401_with_credentials_is_an_auth_error_at_once() -> None:
    session, clock = FakeSession(), FakeTime()
    session.handlers.append(
        lambda m, u, h, d: status(401, **{"WWW-Authenticate": 'Basic realm="r"'})
    )
    with pytest.raises(AuthError) as err:
        target(session, clock, credentials=Credentials("bob", "hunter2")).push(artifact())
    assert str(err.value) == "authentication failed for reg.example"
    assert clock.sleeps == [] and len(session.calls) == 1


def test_403_is_an_auth_error() -> None:
    session = FakeSession()
    body = b'{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}'
    session.faults.append(("POST", "/blobs/", FakeResponse(403, content=body)))
    with pytest.raises(AuthError, match="access denied \\(HTTP 403\\): DENIED"):
        target(session, credentials=Credentials("bob", "pw")).push(artifact())


def bearer_registry(session: FakeSession, token: str = "tok-123") -> list[dict[str, Any]]:
    """Make the fake registry demand a bearer token from https://auth.example/token."""
    token_calls: list[dict[str, Any]] = []

    def handler(method: str, url: str, headers: dict[str, str], data: Any) -> Any:
        parts = urlsplit(url)
        if parts.netloc == "auth.example":
            token_calls.append({"method": method, "query": parse_qs(parts.query),
                                "headers": headers, "data": data})  # fmt: skip
            if headers.get("Authorization") not in (basic("bob", "pw"), None) or (
                method == "POST" and data.get("refresh_token") != "idtok"
            ):
                return status(401)
            return FakeResponse(200, content=json.dumps({"token": token}).encode())
        if headers.get("Authorization") != f"Bearer {token}":
            scope = "repository:ns/bp-x:pull"
            challenge = f'Bearer realm="https://auth.example/token",service="reg",scope="{scope}"'
            return status(401, **{"WWW-Authenticate": challenge})
        return None

    session.handlers.append(handler)
    return token_calls


def test_bearer_token_flow_asks_for_push_scope_once() -> None:
    session = FakeSession()
    token_calls = bearer_registry(session)
    seen: list[tuple[str, str, int | None]] = []
    creds = Credentials("bob", "pw")
    result = target(session, credentials=creds, on_request=lambda *a: seen.append(a)).push(
        artifact()
    )
    assert result.status == "published"
    assert len(token_calls) == 1
    call = token_calls[0]
    assert call["query"] == {"service": ["reg"], "scope": ["repository:ns/bp-x:pull,push"]}
    assert call["headers"]["Authorization"] == basic("bob", "pw")
    # HEAD (basic, 401) + token + HEAD again + the 7 other requests
    assert result.requests == 10
    assert all("tok-123" not in path for _, path, _ in seen)


def test_expired_bearer_token_is_renewed() -> None:
    session = FakeSession()
    tokens = iter(["tok-1", "tok-2"])
    current = {"token": ""}
    token_calls: list[str] = []

    def handler(method: str, url: str, headers: dict[str, str], data: Any) -> Any:
        if urlsplit(url).netloc == "auth.example":
            current["token"] = next(tokens)
            token_calls.append(current["token"])
            return FakeResponse(200, content=json.dumps({"token": current["token"]}).encode())
        expired = "/blobs/" in url and current["token"] == "tok-1"
        if headers.get("Authorization") != f"Bearer {current['token']}" or expired:
            challenge = 'Bearer realm="https://auth.example/token",service="reg"'
            return status(401, **{"WWW-Authenticate": challenge})
        return None

    session.handlers.append(handler)
    result = target(session, credentials=Credentials("bob", "pw")).push(artifact())
    assert result.status == "published"
    assert token_calls == ["tok-1", "tok-2"]


def test_bearer_token_flow_with_an_identity_token() -> None:
    session = FakeSession()
    token_calls = bearer_registry(session)
    creds = Credentials("<token>", "", identity_token="idtok")
    target(session, credentials=creds).push(artifact())
    assert token_calls[0]["method"] == "POST"
    assert token_calls[0]["data"]["grant_type"] == "refresh_token"
    assert token_calls[0]["data"]["scope"] == "repository:ns/bp-x:pull,push"


def test_bearer_token_refused_is_an_auth_error() -> None:
    session = FakeSession()
    bearer_registry(session)
    with pytest.raises(AuthError, match=r"authentication failed for reg.example"):
        target(session, credentials=Credentials("bob", "wrong")).push(artifact())


def test_anonymous_bearer_token_for_reads() -> None:
    session = FakeSession()
    token_calls = bearer_registry(session)
    assert target(session).existing_digest(artifact()) is None
    assert "Authorization" not in token_calls[0]["headers"]
    assert token_calls[0]["query"]["scope"] == ["repository:ns/bp-x:pull"]


def test_credentials_are_not_sent_to_a_plain_http_token_service() -> None:
    session = FakeSession()
    session.faults.append(
        (
            "HEAD",
            "/manifests/",
            status(401, **{"WWW-Authenticate": 'Bearer realm="http://a.example/t"'}),
        )
    )
    with pytest.raises(AuthError, match="plain-HTTP token service"):
        target(session, credentials=Credentials("bob", "pw")).push(artifact())
    assert len(session.calls) == 1


def test_no_credentials_message_and_identity_token_on_basic_registry() -> None:
    challenge = {"WWW-Authenticate": 'Basic realm="r"'}
    session = FakeSession()
    session.handlers.append(lambda m, u, h, d: status(401, **challenge))
    with pytest.raises(AuthError, match="none were found"):
        target(session).push(artifact())
    creds = Credentials("<token>", "", identity_token="idtok", source="docker config X")
    with pytest.raises(AuthError, match="only an identity token was found \\(docker config X\\)"):
        target(session, credentials=creds).push(artifact())


def test_secrets_never_reach_messages() -> None:
    session = FakeSession()
    body = b'{"errors":[{"code":"DENIED","message":"bad password hunter2 for bob"}]}'
    session.faults.append(("PUT", "/manifests/", FakeResponse(418, content=body)))
    with pytest.raises(RegistryError) as err:
        target(session, credentials=Credentials("bob", "hunter2")).push(artifact())
    assert "hunter2" not in str(err.value)
    assert "***" in str(err.value)


def test_repr_hides_credentials() -> None:
    t = target(FakeSession(), credentials=Credentials("bob", "hunter2"))
    assert "hunter2" not in repr(t) and "hunter2" not in repr(t.__dict__.get("_credentials"))
