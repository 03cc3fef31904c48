"""lint -> package -> push -> verify, for many blueprints at once.

Packaging is quick and local, so it runs first for every blueprint;
pushes then run in parallel (bounded), each with its own retry budget, and
one failure never stops the others. The destination is a registry
(`oci://HOST/NAMESPACE`) or, when none is configured, a local OCI image
layout folder (`dist/oci`).

At most `jobs` blueprints talk to the registry at once, over `jobs`
connections. A pushed tag is read back only after a pause (the tag race,
bpkit.net.registry), and a blueprint waiting out its pause gives its
connection to the next one: with ten blueprints and four jobs, the pauses
cost once rather than three times over.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from bpkit.errors import BpkitError, ImmutableReleaseError, Interrupted, LintFailed
from bpkit.package.build import Package
from bpkit.package.run import package_clean
from bpkit.problem import Problem
from bpkit.publish.destination import Destination
from bpkit.publish.options import DEFAULT_JOBS
from bpkit.publish.targets import LayoutPublisher, Pending, PublishTarget, RegistryPublisher
from bpkit.source.model import Blueprint
from bpkit.text import outside

RetryHook = Callable[[str, str, float, str], None]  # (host, doing, seconds, why)
RequestHook = Callable[[str, str, "int | None"], None]  # (method, path, status or None)

__all__ = ["DEFAULT_JOBS", "OK_STATUSES", "Destination", "Outcome", "Status", "prepare",
           "push_all"]

Status = Literal["published", "unchanged", "overwritten", "would publish", "would skip",
                 "would refuse", "refused", "failed", "lint failed"]
OK_STATUSES = {"published", "unchanged", "overwritten", "would publish", "would skip"}
#: The tag holds this release with the chart compressed by another zlib.
COMPRESSED_DIFFERENTLY = ("unchanged (compressed differently): the tag holds this release "
                          "packaged by a zlib that compresses differently; its content digest "
                          "(the uncompressed chart) is ours")


@dataclass
class Outcome:
    """What happened to one blueprint; `reference` is what users pull."""

    blueprint: str  # "platform/flux"
    name: str  # "bp-flux"
    version: str
    reference: str
    digest: str | None
    status: Status
    message: str = ""
    notes: tuple[str, ...] = ()  # one-line notes (malformed headers treated as absent)

    @property
    def ok(self) -> bool:
        return self.status in OK_STATUSES


#: Threads at most: blueprints waiting out their read-back pause hold a thread
#: but no connection, so there may be more threads than jobs.
MAX_THREADS = 32


class _Targets:
    """At most `jobs` targets, each used by one thread at a time (sessions are not thread-safe).

    A thread takes one for the requests of one step of one blueprint
    (`checkout`) and gives it back: a blueprint waiting out its read-back
    pause holds none, so another blueprint's push goes on meanwhile.
    """

    def __init__(self, dest: Destination, on_retry: RetryHook | None = None,
                 on_request: RequestHook | None = None, jobs: int = DEFAULT_JOBS) -> None:
        self.dest = dest
        self.on_retry = on_retry
        self.on_request = on_request
        self._idle: list[PublishTarget] = []
        self._slots = threading.BoundedSemaphore(max(1, jobs))
        self._all: list[PublishTarget] = []
        self._lock = threading.Lock()
        self.cancel = threading.Event()  # set on Ctrl-C: every target stops at once
        if dest.registry is not None:
            from bpkit.oci.reference import parse_registry

            self.ref = parse_registry(dest.registry)  # fails early on a bad URL

    @contextlib.contextmanager
    def checkout(self) -> Iterator[PublishTarget]:
        """A target for this thread alone until the block ends."""
        while not self._slots.acquire(timeout=0.05):
            if self.cancel.is_set():
                raise Interrupted("interrupted")
        try:
            with self._lock:
                target = self._idle.pop() if self._idle else None
            if target is None:
                target = self._new()
            try:
                yield target
            finally:
                with self._lock:
                    self._idle.append(target)
        finally:
            self._slots.release()

    def wait_until(self, due: float) -> None:
        """Sleep until `due` (time.monotonic); Ctrl-C ends the wait at once."""
        left = due - time.monotonic()
        if left > 0:
            self.cancel.wait(left)
        if self.cancel.is_set():
            raise Interrupted("interrupted")

    def _new(self) -> PublishTarget:
        target: PublishTarget
        if self.dest.registry is not None:
            from bpkit.net import registry

            target = RegistryPublisher(registry.RegistryTarget(
                self.ref, credentials=self.dest.credentials,
                plain_http=self.dest.plain_http, ca_file=self.dest.ca_file,
                retry_budget=self.dest.retry_budget, cancel=self.cancel,
                on_retry=self.on_retry, on_request=self.on_request))
        else:
            from bpkit.oci.layout import LayoutTarget

            assert self.dest.layout is not None
            target = LayoutPublisher(LayoutTarget(self.dest.layout))
        with self._lock:
            self._all.append(target)
        return target

    def reference(self, package: Package) -> str:
        artifact = package.artifact
        if self.dest.registry is not None:
            return str(self.ref.reference(artifact))
        return f"oci:{self.dest.layout}:{artifact.name}:{artifact.tag}"

    def abort(self) -> None:
        """Stop every target now (from the main thread, on Ctrl-C)."""
        self.cancel.set()
        with self._lock:
            targets = list(self._all)
        for target in targets:
            abort = getattr(target, "abort", None)
            if abort is not None:
                abort()

    def close(self) -> None:
        for target in self._all:
            target.close()


def prepare(blueprints: Sequence[Blueprint], problems: Sequence[Problem],
            mode_for: Callable[[Path], str] | None = None, *,
            root: Path | None = None) -> tuple[list[Package], list[Outcome]]:
    """Package every blueprint whose lint is clean (and not hollow); the others are outcomes.

    `root`, the repository every chart folder must resolve inside (the
    command's repository root; default: each blueprint's own).
    """
    packages, unpackaged = package_clean(blueprints, problems, mode_for, root=root)
    failed = []
    for item in unpackaged:
        bp, exc = item.blueprint, item.error
        status: Status = "lint failed" if isinstance(exc, LintFailed) else "failed"
        failed.append(Outcome(_shown(bp), bp.chart_name or bp.expected_chart_name,
                              bp.version or "?", "", None, status, exc.message))
    return packages, failed


def _shown(bp: Blueprint) -> str:
    return f"{bp.group}/{bp.name}"


def push_all(
    packages: Sequence[Package], dest: Destination, *, force: bool = False,
    dry_run: bool = False, jobs: int = DEFAULT_JOBS,
    on_done: Callable[[Outcome], None] | None = None,
    on_retry: RetryHook | None = None, on_request: RequestHook | None = None,
) -> list[Outcome]:
    """Push (or, with dry_run, only check) every package; never raises for one failure.

    Ctrl-C (KeyboardInterrupt in the main thread) aborts every target, so
    workers blocked in a request or a pause return within milliseconds,
    drops the pushes not yet started, and re-raises: a tag is only ever
    moved by one complete manifest PUT, so nothing is left half-published.

    The hooks are called on the thread pushing the blueprint, and `on_done`
    on that same thread once it is done, so a caller can tell whose
    retries and requests it sees (see bpkit.cli.publish).
    """
    targets = _Targets(dest, on_retry, on_request, jobs=jobs)

    def one(package: Package) -> Outcome:
        if targets.cancel.is_set():
            raise Interrupted("interrupted")
        outcome = _push_one(targets, package, force=force, dry_run=dry_run)
        if targets.cancel.is_set():
            raise Interrupted("interrupted")
        if on_done is not None:
            on_done(outcome)
        return outcome

    try:
        if len(packages) <= 1 or jobs <= 1:
            return [one(p) for p in packages]
        # Threads for every blueprint (bounded): `jobs` of them push at a time.
        threads = min(len(packages), max(jobs, MAX_THREADS if dest.registry else jobs))
        pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="bpkit-push")
        try:
            results = list(pool.map(one, packages))
        except BaseException:
            targets.abort()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        return results
    except BaseException:
        targets.abort()
        raise
    finally:
        targets.close()


def _push_one(targets: _Targets, package: Package, *, force: bool, dry_run: bool) -> Outcome:
    artifact = package.artifact
    outcome = Outcome(_shown(package.blueprint), artifact.name, package.version,
                      targets.reference(package), artifact.digest, "failed")
    notes: list[str] = []

    @contextlib.contextmanager
    def target() -> Iterator[Any]:
        with targets.checkout() as chosen:
            first = len(getattr(chosen, "notes", ()))
            try:
                yield chosen
            finally:
                notes.extend(getattr(chosen, "notes", ())[first:])

    try:
        if dry_run:
            with target() as t:
                existing = t.existing_digest(artifact)
                same = (t.same_release(artifact)
                        if existing not in (None, artifact.digest) and not force else None)
            if existing is None:
                outcome.status, outcome.message = "would publish", "not published yet"
            elif existing == artifact.digest:
                outcome.status, outcome.message = "would skip", "already published"
            elif force:
                outcome.status, outcome.message = "would publish", f"would replace {existing}"
            elif same is not None:
                outcome.status, outcome.digest = "would skip", same
                outcome.message = COMPRESSED_DIFFERENTLY
            else:
                outcome.status = "would refuse"
                outcome.message = f"already holds {existing}"
            return outcome
        with target() as t:
            result = t.begin(artifact, force=force)
        if isinstance(result, Pending):
            targets.wait_until(result.due)  # holding no connection meanwhile
            with target() as t:
                result = t.finish(result)
        outcome.status = result.status
        if result.compressed_differently:
            outcome.digest, outcome.message = result.previous_digest, COMPRESSED_DIFFERENTLY
        elif result.status == "unchanged":
            outcome.message = "already published"
        elif result.status == "overwritten":
            outcome.message = f"replaced {result.previous_digest} (--force)"
    except Interrupted:
        raise
    except ImmutableReleaseError as exc:
        outcome.status, outcome.message = "refused", exc.message
    except BpkitError as exc:
        outcome.status, outcome.message = "failed", exc.message
    except Exception as exc:
        outcome.status = "failed"
        outcome.message = f"{type(exc).__name__}: {outside(str(exc), limit=300)}"
    finally:
        outcome.notes = tuple(notes)
    return outcome
