"""The two kinds of destination behind one interface: a registry, or an OCI layout.

The pipeline sees only PublishTarget. RegistryPublisher wraps
`bpkit.net.registry.RegistryTarget` (HTTP, retries, one more attempt when a
concurrent publisher trips the registry's storage); LayoutPublisher wraps
`bpkit.oci.layout.LayoutTarget` (a folder, locked while written) and reads
the manifest back as a registry push does. Both answer in the same words
(`Published`), so outcomes read the same whichever destination was used.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol, TypeVar

from bpkit.errors import (
    AuthError,
    ImmutableReleaseError,
    Interrupted,
    ReadBackError,
    RegistryError,
    UsageError,
)
from bpkit.oci.artifact import Artifact, same_release, sha256_digest

if TYPE_CHECKING:
    from bpkit.net.registry import PendingPush, PushResult, RegistryTarget
    from bpkit.oci.layout import LayoutTarget

SETTLE_PAUSE = 0.25  # seconds before a push that failed is tried once more
_T = TypeVar("_T")


@dataclass(frozen=True)
class Published:
    """What a push did to the tag."""

    status: Literal["published", "unchanged", "overwritten"]
    previous_digest: str | None  # what the tag held before; None: nothing
    # "unchanged" because the tag holds this release compressed by another zlib
    # (bpkit.oci.artifact.same_release); previous_digest is then what it holds.
    compressed_differently: bool = False


@dataclass(frozen=True)
class Pending:
    """A tag written, its read-back due at `due` (time.monotonic): see `PublishTarget.begin`."""

    push: PendingPush

    @property
    def due(self) -> float:
        return self.push.read_back_at


class PublishTarget(Protocol):
    """A destination as the publish pipeline uses it (one thread at a time)."""

    def existing_digest(self, artifact: Artifact) -> str | None:
        """The digest the artifact's name:tag holds now, or None."""
        ...

    def same_release(self, artifact: Artifact) -> str | None:
        """What the tag holds if it is this release compressed differently, else None."""
        ...

    def publish(self, artifact: Artifact, *, force: bool = False) -> Published:
        """Write the artifact's exact bytes unless the tag holds them; verify by reading back.

        Raises ImmutableReleaseError when the tag holds other content and
        `force` is False; BpkitError subclasses for everything else.
        """
        ...

    def begin(self, artifact: Artifact, *, force: bool = False) -> Published | Pending:
        """`publish` up to the write: a Pending when the read-back is still to come.

        The pause before the read-back (bpkit.net.registry) is then the
        caller's to spend: on other blueprints' pushes, say. `finish` ends it,
        on this target or another of the same destination.
        """
        ...

    def finish(self, pending: Pending) -> Published:
        """Read a written tag back (waiting until it is due) and check what it serves."""
        ...

    def close(self) -> None:
        ...


class RegistryPublisher:
    """PublishTarget for a registry namespace."""

    def __init__(self, target: RegistryTarget) -> None:
        self.target = target

    @property
    def notes(self) -> list[str]:
        """One-line notes of the target (malformed headers it treated as absent)."""
        return self.target.notes

    def abort(self) -> None:
        """Stop the request in flight now (called from another thread on Ctrl-C)."""
        self.target.abort()

    def existing_digest(self, artifact: Artifact) -> str | None:
        return self.target.existing_digest(artifact)

    def same_release(self, artifact: Artifact) -> str | None:
        return self.target.same_release(artifact)

    def publish(self, artifact: Artifact, *, force: bool = False) -> Published:
        step = self.begin(artifact, force=force)
        return step if isinstance(step, Published) else self.finish(step)

    def begin(self, artifact: Artifact, *, force: bool = False) -> Published | Pending:
        from bpkit.net.registry import PushResult

        target = self.target
        begun = settled(target, lambda: target.push_begin(artifact, force=force))
        if isinstance(begun, PushResult):  # unchanged: nothing was written
            return Published(begun.status, begun.previous_digest, begun.compressed_differently)
        return Pending(begun)

    def finish(self, pending: Pending) -> Published:
        artifact = pending.push.artifact
        target = self.target
        result = settled(target, lambda: target.push_end(pending.push))
        # The read-back matched the manifest's digest, so its bytes are ours;
        # the blobs are read back here (2 more requests).
        verify_served(target.ref.reference(artifact), artifact, artifact.manifest,
                      lambda d, size: target.get_blob(artifact.name, d, limit=size))
        return Published(result.status, result.previous_digest)

    def close(self) -> None:
        self.target.close()


class LayoutPublisher:
    """PublishTarget for a local OCI image layout folder."""

    def __init__(self, target: LayoutTarget) -> None:
        self.target = target

    def existing_digest(self, artifact: Artifact) -> str | None:
        return self.target.existing_digest(artifact)

    def same_release(self, artifact: Artifact) -> str | None:
        return self.target.same_release(artifact)

    def publish(self, artifact: Artifact, *, force: bool = False) -> Published:
        previous = self.target.existing_digest(artifact) if force else None
        written = self.target.push(artifact, force=force)
        manifest = self.target.read_manifest(artifact.name, artifact.tag)
        served = sha256_digest(manifest)
        if served != artifact.digest and not written and same_release(artifact, manifest):
            return Published("unchanged", served, compressed_differently=True)
        if served != artifact.digest:
            raise ImmutableReleaseError(f"{self.target.root}: {artifact.name}:{artifact.tag} "
                                        f"holds {served} after writing {artifact.digest}")
        if not written:
            return Published("unchanged", artifact.digest)
        verify_served(f"{self.target.root}:{artifact.name}:{artifact.tag}", artifact,
                      self.target.read_manifest(artifact.name, artifact.tag),
                      lambda d, size: self.target.read_blob(d))
        return Published("published" if previous is None else "overwritten", previous)

    def begin(self, artifact: Artifact, *, force: bool = False) -> Published | Pending:
        """A layout is read back at once (it is locked while written): never a Pending."""
        return self.publish(artifact, force=force)

    def finish(self, pending: Pending) -> Published:
        raise AssertionError("an OCI layout never leaves a push pending")

    def close(self) -> None:
        """Nothing to release: the layout lock is held only while writing."""


def verify_served(reference: str, artifact: Artifact, manifest: bytes,
                  read_blob: Callable[[str, int], bytes]) -> None:
    """verify's checks on what the destination serves now, not on what we sent."""
    from bpkit.verify.check import verify_manifest

    report = verify_manifest(reference, manifest, read_blob, expected_digest=artifact.digest)
    if not report.ok:
        raise RegistryError(f"{reference} was pushed but what it serves is not sound: "
                            f"{report.findings[0].message}")


def push_settled(target: RegistryTarget, artifact: Artifact, *, force: bool) -> PushResult:
    """`target.push`, settled (see `settled`)."""
    return settled(target, lambda: target.push(artifact, force=force))


def settled(target: RegistryTarget, step: Callable[[], _T]) -> _T:
    """`step`; after a failure, one more attempt within what is left of the retry budget.

    Two publishers of one release at once trip over docker-registry's
    filesystem storage, which rewrites link files in place (truncate, then
    write): a reader can meet an empty link and answer 500 (reading the tag)
    or "blob unknown" (a manifest PUT), though nothing is wrong a moment
    later. A fresh attempt settles it: its first request finds the tag
    holding our digest, or the push goes through with the blobs already
    there. Credentials and refusals are never retried; a budget spent on
    retries leaves no time for another attempt.
    """
    budget = float(target.retry_budget)
    start = time.monotonic()
    try:
        return step()
    except (AuthError, ImmutableReleaseError, UsageError, ReadBackError, Interrupted):
        raise  # a lost race or a lying registry is not settled by trying again
    except RegistryError:
        left = budget - (time.monotonic() - start) - SETTLE_PAUSE
        if left <= 0:
            raise
    target.pause(SETTLE_PAUSE)  # wakes up at once on Ctrl-C
    target.retry_budget = left
    try:
        return step()
    finally:
        target.retry_budget = budget
