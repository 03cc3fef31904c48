"""A real docker-registry behind the fault proxy, misbehaving the ways issue 11 lists.

Unbounded reads (endless bodies, trickled headers), header values (huge
Retry-After, a lying Docker-Content-Digest), read-back (a lying GET, two
publishers of different content at once). Every check reads the registry
directly, never through bpkit.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from bpkit.errors import ImmutableReleaseError, ReadBackError, RegistryError
from bpkit.net.registry import PushResult, RegistryTarget
from bpkit.oci.artifact import MANIFEST_MEDIA_TYPE
from tests.integration.test_registry import assert_absent_or_complete, assert_published

pytestmark = pytest.mark.integration

MiB = 1024 * 1024


# --------------------------------------------------------------------------- unbounded reads


def test_trickled_headers_end_at_the_total_deadline(fault_proxy: Any, make_artifact: Any):
    # A byte every 0.2 s: a per-read timeout of 1 s never fires.
    fault_proxy.inject("trickle", "HEAD", "/manifests/", times=None, interval=0.2)
    target = RegistryTarget(fault_proxy.url, connect_timeout=1, read_timeout=1, retry_budget=1)
    start = time.monotonic()
    with pytest.raises(RegistryError, match=r"no complete answer from .* within 2 s") as err:
        target.push(make_artifact())
    elapsed = time.monotonic() - start
    # budget + one request's total deadline (connect + read), plus slack for load
    assert elapsed < 1 + 2 + 1.5, elapsed
    assert fault_proxy.trickled_bytes < 40
    assert "\n" not in str(err.value)


def test_endless_manifest_read_back_is_cut_at_4_mib(
    fault_proxy: Any, registry: Any, make_artifact: Any
):
    fault_proxy.inject("endless", "GET", "/manifests/", times=None, status=200,
                       headers={"Content-Type": MANIFEST_MEDIA_TYPE})
    artifact = make_artifact()
    start = time.monotonic()
    with pytest.raises(RegistryError, match="manifest is larger than 4 MiB"):
        RegistryTarget(fault_proxy.url, retry_budget=5).push(artifact)
    assert time.monotonic() - start < 5
    assert fault_proxy.endless_bytes < 64 * MiB  # what the proxy got to write, buffers included
    assert fault_proxy.count("GET", "/manifests/") == 1  # not retried: a format limit
    assert_absent_or_complete(registry, artifact)


def test_declared_huge_manifest_is_refused_before_reading(
    fault_proxy: Any, registry: Any, make_artifact: Any
):
    artifact = make_artifact()
    RegistryTarget(fault_proxy.url).push(artifact)
    fault_proxy.inject("endless", "GET", "/manifests/", times=None, status=200,
                       headers={"Content-Type": MANIFEST_MEDIA_TYPE,
                                "Content-Length": str(10**12)})
    with pytest.raises(RegistryError, match="larger than 4 MiB"):
        RegistryTarget(fault_proxy.url).push(artifact)  # the proof of "unchanged" is refused
    assert_published(registry, artifact)


def test_endless_error_body_gives_a_short_message(fault_proxy: Any, make_artifact: Any):
    fault_proxy.inject("endless", "POST", "/blobs/uploads/", times=None, status=500)
    start = time.monotonic()
    with pytest.raises(RegistryError, match=r"starting a blob upload failed: HTTP 500") as err:
        RegistryTarget(fault_proxy.url).push(make_artifact())
    assert time.monotonic() - start < 5
    assert len(str(err.value)) < 400


# --------------------------------------------------------------------------- header values


def test_huge_retry_after_is_ignored_with_a_note(
    fault_proxy: Any, registry: Any, make_artifact: Any
):
    fault_proxy.inject("status", "HEAD", "/manifests/", times=2, status=503,
                       headers={"Retry-After": "9" * 5000})
    artifact = make_artifact()
    target = RegistryTarget(fault_proxy.url, retry_budget=10)
    result = target.push(artifact)
    assert result.status == "published"
    assert target.notes == [f"{fault_proxy.host}: ignored a Retry-After of 5000 digits"]
    assert_published(registry, artifact)


def test_a_lying_digest_header_never_makes_other_bytes_unchanged(
    fault_proxy: Any, registry: Any, make_artifact: Any
):
    theirs = make_artifact(payload=b"theirs")
    RegistryTarget(registry.url).push(theirs)
    ours = make_artifact(payload=b"ours")
    fault_proxy.inject("lie", "HEAD", "/manifests/", times=None,
                       headers={"Docker-Content-Digest": ours.digest})
    with pytest.raises(ImmutableReleaseError) as err:
        RegistryTarget(fault_proxy.url).push(ours)
    assert theirs.digest in str(err.value) and ours.digest in str(err.value)
    assert registry.manifest("bp-demo", "1.0.0") == theirs.manifest


# --------------------------------------------------------------------------- read-back


def test_a_lying_read_back_fails_naming_both_digests(
    fault_proxy: Any, registry: Any, make_artifact: Any
):
    other = make_artifact(payload=b"other")
    fault_proxy.inject("lie", "GET", "/manifests/", times=None, body=other.manifest)
    ours = make_artifact(payload=b"ours")
    with pytest.raises(ReadBackError) as err:
        RegistryTarget(fault_proxy.url).push(ours)
    assert ours.digest in str(err.value) and other.digest in str(err.value)


@pytest.mark.parametrize("round_", range(4))
def test_two_publishers_of_different_content_one_wins(
    registry: Any, make_artifact: Any, round_: int
):
    tag = f"2.0.{round_}"
    arts = [make_artifact(tag=tag, payload=f"publisher {i} round {round_}".encode())
            for i in range(2)]
    barrier = threading.Barrier(2)
    outcomes: dict[int, PushResult | BaseException] = {}

    def publish(i: int) -> None:
        target = RegistryTarget(registry.url)
        barrier.wait()
        try:
            outcomes[i] = target.push(arts[i])
        except BaseException as exc:  # judged below
            outcomes[i] = exc

    threads = [threading.Thread(target=publish, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    served = registry.manifest("bp-demo", tag)
    winners = [i for i, o in outcomes.items() if isinstance(o, PushResult)]
    assert len(winners) <= 1, outcomes  # never both "published"
    for i, outcome in outcomes.items():
        if isinstance(outcome, BaseException):
            assert isinstance(outcome, RegistryError | ImmutableReleaseError), outcome
            if not isinstance(outcome, ImmutableReleaseError | ReadBackError):
                continue  # the registry's own trouble (a 500 from racing link files)
            text = str(outcome)
            assert arts[i].digest in text and arts[1 - i].digest in text, text
    if winners:
        assert served == arts[winners[0]].manifest
