"""RegistryTarget against a real docker-registry, checked with real skopeo and direct reads."""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from bpkit.errors import AuthError, ImmutableReleaseError, RegistryError
from bpkit.net.credentials import Credentials
from bpkit.net.registry import PushResult, RegistryTarget
from bpkit.oci.artifact import Artifact

pytestmark = pytest.mark.integration

MakeArtifact = Callable[..., Artifact]
BIG = bytes(range(256)) * 2048  # 512 KiB, so a reset really cuts an upload in half


def assert_absent_or_complete(reg: Any, artifact: Artifact) -> None:
    """The tag does not exist, or it serves a manifest whose blobs are all there and intact."""
    raw = reg.manifest(artifact.name, artifact.tag)
    if raw is None:
        assert artifact.tag not in reg.tags(artifact.name)
        return
    manifest = json.loads(raw)
    for desc in [manifest["config"], *manifest["layers"]]:
        blob = reg.blob(artifact.name, desc["digest"])
        assert blob is not None, f"tag {artifact.tag} points to a missing blob {desc['digest']}"
        assert "sha256:" + hashlib.sha256(blob).hexdigest() == desc["digest"]
        assert len(blob) == desc["size"]


def assert_published(reg: Any, artifact: Artifact) -> None:
    assert reg.manifest(artifact.name, artifact.tag) == artifact.manifest
    assert reg.blob(artifact.name, _sha(artifact.config)) == artifact.config
    assert reg.blob(artifact.name, _sha(artifact.layer)) == artifact.layer


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------- plain, auth, TLS


def test_push_plain_registry_serves_our_exact_bytes(registry: Any, make_artifact: MakeArtifact):
    artifact = make_artifact(tag="1.2.3_build.4")
    result = RegistryTarget(registry.url).push(artifact)
    assert result.status == "published"
    assert result.previous_digest is None
    assert result.uploaded_blobs == 2
    assert result.reference == f"{registry.host}/openova-io/bp-demo:1.2.3_build.4"
    assert registry.skopeo_raw("bp-demo", "1.2.3_build.4") == artifact.manifest
    assert registry.skopeo_raw("bp-demo", "1.2.3_build.4", config=True) == artifact.config
    assert_published(registry, artifact)


def test_push_with_basic_auth(auth_registry: Any, make_artifact: MakeArtifact):
    artifact = make_artifact()
    creds = Credentials(auth_registry.username, auth_registry.password, source="test")
    result = RegistryTarget(auth_registry.url, credentials=creds).push(artifact)
    assert result.status == "published"
    # Preemptive basic auth: no 401 round trips, same count as anonymous.
    assert result.requests == 8
    assert auth_registry.skopeo_raw("bp-demo", "1.0.0") == artifact.manifest
    assert_published(auth_registry, artifact)


def test_wrong_password_is_an_auth_error_within_seconds(
    auth_registry: Any, make_artifact: MakeArtifact
):
    creds = Credentials(auth_registry.username, "not-the-Password-42", source="test")
    seen: list[tuple[str, str, int | None]] = []
    target = RegistryTarget(
        auth_registry.url, credentials=creds, on_request=lambda *a: seen.append(a)
    )
    start = time.monotonic()
    with pytest.raises(AuthError) as err:
        target.push(make_artifact())
    assert time.monotonic() - start < 3
    assert str(err.value) == f"authentication failed for {auth_registry.host}"
    assert "not-the-Password-42" not in str(err.value)
    assert seen == [("HEAD", "/v2/openova-io/bp-demo/manifests/1.0.0", 401)]  # no retries
    assert auth_registry.tags("bp-demo") == []


def test_missing_credentials_say_how_to_give_them(auth_registry: Any, make_artifact: MakeArtifact):
    with pytest.raises(AuthError, match=r"none were found.*--password-stdin"):
        RegistryTarget(auth_registry.url).push(make_artifact())


def test_push_with_bearer_tokens_like_ghcr(token_registry: Any, make_artifact: MakeArtifact):
    artifact = make_artifact()
    creds = Credentials(token_registry.username, token_registry.password, source="test")
    result = RegistryTarget(token_registry.url, credentials=creds).push(artifact)
    assert result.status == "published"
    # One token for pull+push, asked for after the first 401: 8 + 401 + token fetch.
    assert token_registry.token_server.requests == [
        ("GET", "repository:openova-io/bp-demo:pull,push")
    ]
    assert result.requests == 10
    # skopeo does its own token dance and reads our exact bytes.
    assert token_registry.skopeo_raw("bp-demo", "1.0.0") == artifact.manifest
    assert_published(token_registry, artifact)
    again = RegistryTarget(token_registry.url, credentials=creds).push(artifact)
    assert (again.status, again.requests) == ("unchanged", 4)  # 401, token, HEAD, GET


def test_bearer_with_an_identity_token(token_registry: Any, make_artifact: MakeArtifact):
    server = token_registry.token_server
    creds = Credentials("<token>", "", identity_token=server.refresh_token, source="test")
    artifact = make_artifact()
    assert RegistryTarget(token_registry.url, credentials=creds).push(artifact).changed
    assert server.requests == [("POST", "repository:openova-io/bp-demo:pull,push")]
    assert_published(token_registry, artifact)


def test_bearer_wrong_password_and_anonymous_push_are_auth_errors(
    token_registry: Any, make_artifact: MakeArtifact
):
    artifact = make_artifact()
    creds = Credentials(token_registry.username, "wrong-one", source="test")
    start = time.monotonic()
    with pytest.raises(AuthError) as err:
        RegistryTarget(token_registry.url, credentials=creds).push(artifact)
    assert time.monotonic() - start < 3
    assert (
        str(err.value)
        == f"authentication failed for {token_registry.host}: UNAUTHORIZED: bad creds"
    )
    # Anonymous: the token service grants pull only, so reading works and pushing does not.
    anonymous = RegistryTarget(token_registry.url)
    assert anonymous.existing_digest(artifact) is None
    with pytest.raises(AuthError, match="none were found"):
        anonymous.push(artifact)
    assert token_registry.tags("bp-demo") == []


def test_push_over_tls_with_ca_file(tls_registry: Any, make_artifact: MakeArtifact):
    artifact = make_artifact()
    target = RegistryTarget(tls_registry.url, ca_file=tls_registry.ca_file)
    assert target.scheme == "https"
    assert target.push(artifact).status == "published"
    assert tls_registry.skopeo_raw("bp-demo", "1.0.0") == artifact.manifest
    assert_published(tls_registry, artifact)


def test_tls_without_the_ca_fails_fast_and_names_the_problem(
    tls_registry: Any, make_artifact: MakeArtifact
):
    start = time.monotonic()
    with pytest.raises(RegistryError, match=r"TLS error talking to 127.0.0.1:.*CERTIFICATE_VERIFY"):
        RegistryTarget(tls_registry.url, plain_http=False).push(make_artifact())
    assert time.monotonic() - start < 2


def test_refused_connection_fails_fast(make_artifact: MakeArtifact):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.monotonic()
    with pytest.raises(RegistryError) as err:
        RegistryTarget(f"oci://127.0.0.1:{port}/openova-io").push(make_artifact())
    assert time.monotonic() - start < 2
    assert str(err.value) == f"cannot connect to 127.0.0.1:{port}: connection refused"


# --------------------------------------------------------------------------- request counts


def test_request_counts_new_artifact_and_unchanged_republish(
    fault_proxy: Any, registry: Any, make_artifact: MakeArtifact
):
    artifact = make_artifact()
    target = RegistryTarget(fault_proxy.url)
    result = target.push(artifact)
    calls = fault_proxy.summary()
    assert result.requests == len(calls) == 8, calls
    assert fault_proxy.count("HEAD", "/manifests/1.0.0$") == 2  # the check, and just before PUT
    assert fault_proxy.count("POST", "/blobs/uploads/$") == 2
    assert fault_proxy.count("PUT", "/blobs/uploads/.") == 2
    assert fault_proxy.count("PUT", "/manifests/1.0.0$") == 1
    assert fault_proxy.count("GET", "/manifests/1.0.0$") == 1

    fault_proxy.clear()
    again = RegistryTarget(fault_proxy.url).push(artifact)
    assert again.status == "unchanged"
    assert again.uploaded_blobs == 0
    # The HEAD claims our digest; the GET's bytes prove it before "unchanged".
    assert fault_proxy.summary() == ["HEAD /v2/openova-io/bp-demo/manifests/1.0.0 -> 200",
                                     "GET /v2/openova-io/bp-demo/manifests/1.0.0 -> 200"]
    assert again.requests == 2
    assert_published(registry, artifact)


def test_blob_the_repository_has_is_not_sent_again(
    fault_proxy: Any, registry: Any, make_artifact: MakeArtifact
):
    layer = b"shared chart layer bytes"
    RegistryTarget(fault_proxy.url).push(make_artifact(tag="1.0.0", layer=layer))
    fault_proxy.clear()
    second = make_artifact(tag="1.0.1", layer=layer)
    result = RegistryTarget(fault_proxy.url).push(second)
    assert result.uploaded_blobs == 1
    assert result.requests == 7, fault_proxy.summary()
    assert fault_proxy.count("PUT", "/blobs/uploads/.") == 1
    assert_published(registry, second)


# --------------------------------------------------------------------------- immutability


def test_same_digest_is_one_request_and_other_digest_is_refused(
    fault_proxy: Any, registry: Any, make_artifact: MakeArtifact
):
    first = make_artifact(payload=b"first")
    RegistryTarget(fault_proxy.url).push(first)
    other = make_artifact(payload=b"second")
    assert other.digest != first.digest

    fault_proxy.clear()
    target = RegistryTarget(fault_proxy.url)
    with pytest.raises(ImmutableReleaseError) as err:
        target.push(other)
    assert first.digest in str(err.value) and other.digest in str(err.value)
    assert "--force" in str(err.value)
    assert fault_proxy.summary() == ["HEAD /v2/openova-io/bp-demo/manifests/1.0.0 -> 200"]
    assert registry.manifest("bp-demo", "1.0.0") == first.manifest
    assert registry.blob("bp-demo", _sha(other.layer)) is None  # nothing uploaded

    fault_proxy.clear()
    forced = target.push(other, force=True)
    assert forced.status == "overwritten"
    assert forced.previous_digest == first.digest
    assert registry.skopeo_raw("bp-demo", "1.0.0") == other.manifest


def test_dry_run_says_what_would_happen_with_one_request(
    fault_proxy: Any, make_artifact: MakeArtifact
):
    first = make_artifact(payload=b"one")
    other = make_artifact(payload=b"two")
    target = RegistryTarget(fault_proxy.url)
    assert target.dry_run(first).startswith("would publish ")
    assert fault_proxy.count() == 1
    target.push(first)
    fault_proxy.clear()
    assert "already published" in target.dry_run(first)
    refused = target.dry_run(other)
    assert refused.startswith("would refuse") and first.digest in refused
    assert other.digest in refused
    assert target.dry_run(other, force=True).startswith("would overwrite")
    assert fault_proxy.count() == 4  # "already published" is proven with a GET
    assert fault_proxy.count("HEAD") == 3


def test_two_publishers_of_the_same_artifact_at_once(registry: Any, make_artifact: MakeArtifact):
    artifact = make_artifact(payload=BIG)
    barrier = threading.Barrier(2)
    results: list[PushResult] = []
    errors: list[BaseException] = []

    def publish() -> None:
        target = RegistryTarget(registry.url)
        barrier.wait()
        try:
            results.append(target.push(artifact))
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=publish) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert len(results) == 2
    assert {r.status for r in results} <= {"published", "unchanged"}
    assert registry.tags("bp-demo") == ["1.0.0"]
    assert_published(registry, artifact)


# --------------------------------------------------------------------------- faults


def test_503_twice_then_success(fault_proxy: Any, registry: Any, make_artifact: MakeArtifact):
    fault_proxy.inject("status", "HEAD", "/manifests/", times=2, status=503)
    artifact = make_artifact()
    result = RegistryTarget(fault_proxy.url, retry_budget=10).push(artifact)
    assert result.status == "published"
    assert fault_proxy.count("HEAD", "/manifests/") == 4
    assert result.requests == 10
    assert_published(registry, artifact)


def test_503_forever_fails_within_the_budget(
    fault_proxy: Any, registry: Any, make_artifact: MakeArtifact
):
    fault_proxy.inject("status", "POST", "/blobs/uploads/", times=None, status=503)
    artifact = make_artifact()
    start = time.monotonic()
    with pytest.raises(RegistryError) as err:
        RegistryTarget(fault_proxy.url, retry_budget=2).push(artifact)
    assert time.monotonic() - start < 2 + 1.5  # the budget, plus slack for a loaded machine
    message = str(err.value)
    assert "uploading the config blob failed" in message
    assert "2 s retry budget" in message and "HTTP 503" in message
    assert "injected by the fault proxy" in message  # the registry's own error text
    assert fault_proxy.count("POST") >= 3
    assert_absent_or_complete(registry, artifact)
    assert registry.manifest(artifact.name, artifact.tag) is None


def test_429_retry_after_is_honoured(fault_proxy: Any, registry: Any, make_artifact: MakeArtifact):
    fault_proxy.inject(
        "status", "PUT", "/manifests/", times=1, status=429, headers={"Retry-After": "1"}
    )
    artifact = make_artifact()
    start = time.monotonic()
    result = RegistryTarget(fault_proxy.url).push(artifact)
    assert time.monotonic() - start >= 1.0
    assert result.status == "published"
    assert fault_proxy.count("PUT", "/manifests/") == 2
    assert_published(registry, artifact)


def test_retry_after_beyond_the_budget_fails_at_once(
    fault_proxy: Any, registry: Any, make_artifact: MakeArtifact
):
    fault_proxy.inject(
        "status", "HEAD", "/manifests/", times=None, status=429, headers={"Retry-After": "120"}
    )
    start = time.monotonic()
    with pytest.raises(RegistryError, match=r"HTTP 429.*asked to wait 120 s"):
        RegistryTarget(fault_proxy.url, retry_budget=5).push(make_artifact())
    assert time.monotonic() - start < 1
    assert fault_proxy.count() == 1


def test_connection_reset_mid_blob_upload_restarts_the_blob(
    fault_proxy: Any, registry: Any, make_artifact: MakeArtifact
):
    artifact = make_artifact(payload=BIG)
    fault = fault_proxy.inject("reset", "PUT", "/blobs/uploads/.", times=1)
    result = RegistryTarget(fault_proxy.url, retry_budget=10).push(artifact)
    assert fault.hits == 1
    assert result.status == "published"
    # The config upload was cut; it started over with a new POST.
    assert fault_proxy.count("POST", "/blobs/uploads/") == 3
    assert_published(registry, artifact)
    assert registry.skopeo_raw("bp-demo", "1.0.0") == artifact.manifest


def test_connection_reset_forever_fails_within_the_budget(
    fault_proxy: Any, registry: Any, make_artifact: MakeArtifact
):
    artifact = make_artifact(payload=BIG)
    fault_proxy.inject("reset", "PUT", "/blobs/uploads/.", times=None)
    start = time.monotonic()
    with pytest.raises(RegistryError, match=r"uploading the .* blob failed .*connection"):
        RegistryTarget(fault_proxy.url, retry_budget=2).push(artifact)
    assert time.monotonic() - start < 2 + 1.5  # the budget, plus slack for a loaded machine
    assert_absent_or_complete(registry, artifact)
    assert registry.manifest(artifact.name, artifact.tag) is None


def test_stalled_answer_to_a_manifest_put_is_retried(
    fault_proxy: Any, registry: Any, make_artifact: MakeArtifact
):
    # The registry stores the manifest, but the answer never reaches the client.
    fault_proxy.inject("stall", "PUT", "/manifests/", times=1, stall=5, forward_first=True)
    artifact = make_artifact()
    start = time.monotonic()
    result = RegistryTarget(fault_proxy.url, read_timeout=0.5, retry_budget=10).push(artifact)
    assert time.monotonic() - start < 3
    assert result.status == "published"
    assert fault_proxy.count("PUT", "/manifests/") == 2
    assert_published(registry, artifact)


def test_stall_forever_fails_in_bounded_time_and_leaves_a_complete_artifact(
    fault_proxy: Any, registry: Any, make_artifact: MakeArtifact
):
    fault_proxy.inject("stall", "PUT", "/manifests/", times=None, stall=10, forward_first=True)
    artifact = make_artifact()
    start = time.monotonic()
    with pytest.raises(RegistryError, match=r"uploading the manifest failed.*no answer .* 0.5 s"):
        RegistryTarget(fault_proxy.url, read_timeout=0.5, retry_budget=1.5).push(artifact)
    # budget + one read timeout, plus slack for a loaded machine
    assert time.monotonic() - start < 1.5 + 0.5 + 1.5
    assert_absent_or_complete(registry, artifact)
    fault_proxy.clear()
    # The registry did take the manifest: publishing again sees it and stops.
    assert RegistryTarget(fault_proxy.url).push(artifact).status == "unchanged"
    assert fault_proxy.count() == 2  # HEAD, and the GET that proves it


def test_dropped_connection_while_reading_back_is_retried(
    fault_proxy: Any, registry: Any, make_artifact: MakeArtifact
):
    fault_proxy.inject("drop", "GET", "/manifests/", times=1)
    artifact = make_artifact()
    result = RegistryTarget(fault_proxy.url, retry_budget=10).push(artifact)
    assert result.status == "published"
    assert fault_proxy.count("GET", "/manifests/") == 2
    assert_published(registry, artifact)
