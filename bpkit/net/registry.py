"""Push Helm OCI artifacts to a registry: exact bytes, immutable tags, bounded retries.

The client is bpkit's own, on a plain `requests` session (see
`bpkit.net.http`): oras-py's push writes a non-Helm manifest in 14 requests
where this client uses 7, its manifest upload re-serialises the JSON (so the
digest changes), its `login()` writes the password to disk, and its token
backend took 131 s to fail on a wrong password. `requests` is imported
lazily: `lint` must start fast.

Requests for a new artifact (anonymous or basic auth):
  1 HEAD manifest by tag (immutability check)
  2 per blob (config, layer): POST upload?mount=DIGEST&from=REPO, which
    answers 201 when the repository already has the blob (nothing to send)
    or 202 with an upload session, then 1 PUT with the bytes
  1 HEAD manifest by tag again, just before the manifest goes up
  1 PUT manifest (our exact bytes)
  1 GET manifest by tag, after a short pause, hashed: the tag must serve
    the bytes we pushed
= 8 requests; 6 when both blobs are already there. An unchanged re-publish
is 2: the HEAD, and a GET whose body must hash to our digest before
bpkit says "unchanged" (a header is the registry's claim; the hash is the
proof, and a Helm manifest is under 2 KiB).

Registries have no compare-and-swap for tags (distribution ignores
If-Match on a manifest PUT), so two publishers of one version with
different content could both see "not there yet", both push, and both read
their own bytes back. bpkit narrows that race to nothing in practice: the
second HEAD leaves only the time of one PUT between check and write, and
the read-back waits READBACK_PAUSE_FACTOR times that long (within bounds,
bpkit.limits) first. Of two publishers whose windows overlap, one then sees
the other's digest: it refuses (before its PUT) or fails its read-back
(after it), exit 1, both digests named; the one whose bytes the tag serves
succeeds.

`push_begin` stops after the manifest PUT and `push_end` does the
read-back once the pause is over, so a caller with several artifacts (the
publish pipeline) spends the pause on the others instead of sleeping.

Every answer is read within a cap and every request within a total
deadline (bpkit.net.http); Ctrl-C (`abort()`) ends blocked requests at once.
"""


from __future__ import annotations

import base64
import functools
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import quote, urljoin, urlsplit

from bpkit.errors import (
    AuthError,
    ImmutableReleaseError,
    Interrupted,
    ReadBackError,
    RegistryError,
    UsageError,
)
from bpkit.limits import (
    ERROR_BODY_MAX_BYTES,
    MANIFEST_MAX_BYTES,
    MAX_REDIRECTS,
    MIN_UPLOAD_RATE,
    OCI_MAX_MANIFEST_BYTES,
    READBACK_PAUSE_FACTOR,
    READBACK_PAUSE_MAX,
    READBACK_PAUSE_MIN,
    TOKEN_RESPONSE_MAX_BYTES,
)
from bpkit.net.auth import Challenge, parse_challenge
from bpkit.net.http import (
    CONNECT_TIMEOUT,
    DEFAULT_RETRY_BUDGET,
    READ_TIMEOUT,
    REDIRECT_STATUSES,
    RETRY_STATUSES,
    USER_AGENT,
    Answer,
    BodyTooLarge,
    Transient,
    backoff_delay,
    ca_path,
    exception_chain,
    header_value_ok,
    new_session,
    oci_error_message,
    read_body,
    read_retry_after,
    redirect_to,
    requests_module,
    ssl_reason,
    watching,
)
from bpkit.oci.artifact import MANIFEST_MEDIA_TYPE, Artifact, same_release, sha256_digest
from bpkit.oci.reference import DIGEST_RE, TAG_RE, RegistryRef, is_loopback_host, parse_registry
from bpkit.text import outside, seconds

if TYPE_CHECKING:
    from bpkit.net.credentials import Credentials

_T = TypeVar("_T")

#: What a tag may hold. Ours comes first; the others let the tag check see (and
#: refuse to replace) an index or Docker manifest someone else put there.
#: distribution 2.8 answers 404 to a manifest HEAD without an OCI Accept.
MANIFEST_ACCEPT = ", ".join(
    [
        MANIFEST_MEDIA_TYPE,
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    ]
)

RequestHook = Callable[[str, str, "int | None"], None]
"""Called after every HTTP request with (method, URL path and query, status or None)."""


#: What the body of an answer is for: its cap, and whether a longer one is an error.
BodyKind = Literal["manifest", "token", "other"]

RetryHook = Callable[[str, str, float, str], None]
"""Called before each retry's pause with (host, what was being done, seconds, why)."""


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class PendingPush:
    """A tag written but not yet read back (`RegistryTarget.push_begin`)."""

    artifact: Artifact
    reference: str
    previous_digest: str | None
    uploaded_blobs: int
    requests: int
    read_back_at: float  # the target's clock (time.monotonic)


@dataclass(frozen=True)
class PushResult:
    """What a push did; `requests` counts HTTP requests, retries and token fetches included."""

    reference: str  # HOST/REPO:TAG
    digest: str  # the artifact's manifest digest, now served by the tag
    status: Literal["published", "unchanged", "overwritten"]
    previous_digest: str | None  # what the tag held before (None: it did not exist)
    uploaded_blobs: int  # blobs sent; blobs the repository had already are not counted
    requests: int
    # "unchanged" because the tag holds this release compressed by another zlib
    # (see bpkit.oci.artifact.same_release); `digest` is then the tag's.
    compressed_differently: bool = False

    @property
    def changed(self) -> bool:
        return self.status != "unchanged"


# --------------------------------------------------------------------------- the target


class RegistryTarget:
    """One registry namespace to publish Helm artifacts to.

    Retries stop `retry_budget` seconds after a push or check began. Each
    request has a total deadline of `connect_timeout + read_timeout` (plus
    upload time at MIN_UPLOAD_RATE for its body), so a push or check ends
    at the latest that long after the budget is spent, whatever the server
    does. Not thread-safe: use one target per thread (they are cheap);
    only `abort()` may be called from another thread.
    """

    def __init__(
        self,
        ref: RegistryRef | str,
        *,
        credentials: Credentials | None = None,
        plain_http: bool | None = None,
        ca_file: str | Path | None = None,
        retry_budget: float = DEFAULT_RETRY_BUDGET,
        connect_timeout: float = CONNECT_TIMEOUT,
        read_timeout: float = READ_TIMEOUT,
        on_request: RequestHook | None = None,
        on_retry: RetryHook | None = None,
        session: Any = None,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        cancel: threading.Event | None = None,
    ) -> None:
        """`plain_http=None` means HTTP for loopback hosts without `ca_file`, HTTPS otherwise.

        `session` replaces the requests session (unit tests); by default it
        is a fresh `requests` session. `cancel`, when set (by `abort()` or
        by whoever shares the event), stops every request and pause.
        """
        self.ref = parse_registry(ref) if isinstance(ref, str) else ref
        if plain_http is None:
            plain_http = self.ref.is_loopback and ca_file is None
        if plain_http and ca_file is not None:
            raise UsageError(f"{self.ref.url}: a CA file makes no sense with plain HTTP")
        self.plain_http = plain_http
        self.scheme = "http" if plain_http else "https"
        self.verify: bool | str = True if ca_file is None else ca_path(ca_file)
        self.retry_budget = retry_budget
        self.timeout = (connect_timeout, read_timeout)
        self.on_request = on_request
        self.notes: list[str] = []  # one-line notes: malformed headers treated as absent
        self.on_retry = on_retry
        self._credentials = credentials
        self._cancel = cancel if cancel is not None else threading.Event()
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not crypto
        self._secrets: tuple[str, ...] = credentials.secrets() if credentials else ()
        self._auth_header: str | None = None  # what we send to the registry host
        self._want_push = False
        self._deadline = 0.0
        self._hard_deadline = 0.0
        self._count = 0
        self._basic: str | None = None
        self._watch: Any = None
        self._last_took = 0.0  # seconds the last request took
        if credentials is not None and credentials.password and self._may_send_credentials():
            raw = f"{credentials.username}:{credentials.password}".encode("utf-8", "replace")
            self._basic = "Basic " + base64.b64encode(raw).decode("ascii")
            self._secrets += (self._basic.split(" ", 1)[1],)
            self._auth_header = self._basic  # preemptive: saves a 401 round trip
        if session is None:
            session = new_session(loopback=self.ref.is_loopback)
        self._session = session

    # -- setup ------------------------------------------------------------

    def _may_send_credentials(self) -> bool:
        return self.scheme == "https" or self.ref.is_loopback or self.plain_http

    def close(self) -> None:
        self._session.close()

    def abort(self) -> None:
        """Stop now (from any thread): the request in flight fails, no new one starts."""
        self._cancel.set()
        watch = self._watch
        if watch is not None:
            watch.fire("cancel")

    def pause(self, seconds: float) -> None:
        """Sleep, but wake up (and raise Interrupted) as soon as the target is aborted."""
        if self._sleep is not None:
            self._sleep(seconds)
        elif seconds > 0:
            self._cancel.wait(seconds)
        if self._cancel.is_set():
            raise Interrupted("interrupted")

    def __enter__(self) -> RegistryTarget:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RegistryTarget({self.ref.url!r}, scheme={self.scheme!r})"

    # -- public API ---------------------------------------------------------

    @property
    def request_count(self) -> int:
        """HTTP requests made by this target so far (upstream resolving counts them)."""
        return self._count

    def existing_digest(self, artifact: Artifact) -> str | None:
        """The digest the artifact's tag holds now, or None.

        When the tag claims to hold the artifact's own digest, the claim is
        checked by hashing the manifest it serves (see `_tag_digest`).
        """
        self._start(push=False, upload=0)
        return self._retrying("checking the tag", lambda: self._tag_digest(artifact))

    def dry_run(self, artifact: Artifact, *, force: bool = False) -> str:
        """Say what `push` would do, after the tag check it starts with."""
        where = self.ref.reference(artifact)
        existing = self.existing_digest(artifact)
        if existing is None:
            return f"would publish {where} ({artifact.digest})"
        if existing == artifact.digest:
            return f"{where} is already published with {existing}: nothing to do"
        if force:
            return f"would overwrite {where}: {existing} -> {artifact.digest} (--force)"
        return (
            f"would refuse {where}: it holds {existing}, not {artifact.digest} "
            "(released versions are immutable; bump the version or use --force)"
        )

    def push(self, artifact: Artifact, *, force: bool = False) -> PushResult:
        """Publish the artifact's exact bytes unless the tag already holds them."""
        begun = self.push_begin(artifact, force=force)
        if isinstance(begun, PushResult):
            return begun
        return self.push_end(begun)  # which waits out the read-back pause

    def push_begin(self, artifact: Artifact, *, force: bool = False) -> PushResult | PendingPush:
        """Everything up to the manifest PUT; a PendingPush when the tag was written.

        Its read-back (`push_end`) is due `read_back_at`: the pause in
        between may be spent on other work, on this target or another one.
        """
        self._check_artifact(artifact)
        upload = len(artifact.config) + len(artifact.layer) + len(artifact.manifest)
        self._start(push=True, upload=upload)
        start_count = self._count
        where = self.ref.reference(artifact)
        existing = self._retrying("checking the tag", lambda: self._tag_digest(artifact))
        if existing == artifact.digest:
            return PushResult(
                reference=where,
                digest=artifact.digest,
                status="unchanged",
                previous_digest=existing,
                uploaded_blobs=0,
                requests=self._count - start_count,
            )
        if existing is not None and not force:
            same = self.same_release(artifact, started=True)
            if same is not None:
                return PushResult(
                    reference=where,
                    digest=same,
                    status="unchanged",
                    previous_digest=same,
                    uploaded_blobs=0,
                    requests=self._count - start_count,
                    compressed_differently=True,
                )
            raise ImmutableReleaseError(
                f"{where} already holds {existing}; refusing to replace it with "
                f"{artifact.digest} (released versions are immutable: bump the chart "
                "version, or use --force)"
            )
        repo = self.ref.repository(artifact.name)
        uploaded = 0
        for what, blob in (("config", artifact.config), ("chart layer", artifact.layer)):
            digest = sha256_digest(blob)
            sent = self._retrying(
                f"uploading the {what} blob", functools.partial(self._put_blob, repo, digest, blob)
            )
            uploaded += int(sent)
        now = self._retrying("checking the tag again", lambda: self._recheck(artifact))
        if now is not None and now not in (existing, artifact.digest) and not force:
            raise ImmutableReleaseError(
                f"{where} was published with {now} by someone else while bpkit uploaded "
                f"{artifact.digest}; refusing to replace it (released versions are immutable)"
            )
        check_took = self._last_took
        self._retrying("uploading the manifest", lambda: self._put_manifest(artifact))
        # The check-then-write window: the last (successful) HEAD and PUT.
        window = check_took + self._last_took
        pause = min(READBACK_PAUSE_MAX, max(READBACK_PAUSE_MIN, READBACK_PAUSE_FACTOR * window))
        return PendingPush(artifact=artifact, reference=where, previous_digest=existing,
                           uploaded_blobs=uploaded, requests=self._count - start_count,
                           read_back_at=self._clock() + pause)

    def push_end(self, pending: PendingPush) -> PushResult:
        """The read-back of a written tag: it must serve the bytes pushed.

        Called no earlier than `pending.read_back_at` (it waits for the rest);
        any target of the same registry and credentials will do.
        """
        artifact = pending.artifact
        self._start(push=False)
        left = pending.read_back_at - self._clock()
        if left > 0:
            self.pause(left)
        start_count = self._count
        served = self._retrying("reading the manifest back", lambda: self._get_manifest(artifact))
        if served != artifact.digest:
            raise ReadBackError(
                f"{pending.reference} serves {served} after bpkit pushed {artifact.digest}: "
                "another publisher changed the tag at the same time, or the registry does not "
                "keep what it is sent; this release is not the one published"
            )
        return PushResult(
            reference=pending.reference,
            digest=artifact.digest,
            status="published" if pending.previous_digest is None else "overwritten",
            previous_digest=pending.previous_digest,
            uploaded_blobs=pending.uploaded_blobs,
            requests=pending.requests + self._count - start_count,
        )

    def same_release(self, artifact: Artifact, *, started: bool = False) -> str | None:
        """The tag's digest if it holds this release compressed differently, else None.

        One GET of the tag's manifest, only for artifacts that record their
        content digest (see bpkit.oci.artifact.same_release).
        """
        if artifact.content_digest is None:
            return None
        if not started:
            self._start(push=False)
        return self._retrying("reading the tag's manifest",
                              lambda: self._served_same_release(artifact))

    # -- pulling (upstream charts) ----------------------------------------------

    def get_manifest(self, name: str, tag: str) -> bytes:
        """The manifest bytes `name:tag` (or `name@sha256:...`) holds, bounded.

        Asked by digest, the bytes must hash to it (`bpkit verify REF@sha256:...`).
        """
        from bpkit.limits import OCI_MAX_MANIFEST_BYTES

        by_digest = DIGEST_RE.fullmatch(tag) is not None
        if not by_digest and not TAG_RE.fullmatch(tag):
            raise UsageError(f"{self.ref.url}: '{tag}' is not a valid OCI tag or digest")
        self._start(push=False)
        url = (f"{self._base}/v2/{self.ref.repository(name)}/manifests/"
               f"{quote(tag, safe=':' if by_digest else '')}")

        def step() -> bytes:
            resp = self._request("GET", url, headers={"Accept": MANIFEST_ACCEPT},
                                 limit=OCI_MAX_MANIFEST_BYTES)
            if resp.status == 404:
                raise RegistryError(f"{self.ref.host}/{self.ref.repository(name)}:{tag}: "
                                    "not found (HTTP 404)")
            if resp.status != 200:
                raise self._error("reading the manifest", resp)
            data = resp.body
            if by_digest and sha256_digest(data) != tag:
                raise RegistryError(f"{self.ref.host}: manifest {tag} arrived with digest "
                                    f"{sha256_digest(data)}")
            return data

        return self._retrying("reading the manifest", step)

    def get_blob(self, name: str, digest: str, *, limit: int) -> bytes:
        """The blob `digest` of repository `name`, at most `limit` bytes, hash checked."""
        if not DIGEST_RE.fullmatch(digest):
            raise RegistryError(f"{self.ref.host}: blob digest '{digest}' is not sha256:<hex>")
        self._start(push=False, upload=limit)  # time for `limit` bytes at MIN_UPLOAD_RATE
        url = f"{self._base}/v2/{self.ref.repository(name)}/blobs/{digest}"

        def step() -> bytes:
            resp = self._request("GET", url, limit=limit)
            if resp.status != 200:
                raise self._error("reading a blob", resp)
            data = resp.body
            if sha256_digest(data) != digest:
                raise RegistryError(f"{self.ref.host}: blob {digest} arrived with digest "
                                    f"{sha256_digest(data)}")
            return data

        return self._retrying("reading a blob", step)

    def list_tags(self, name: str) -> list[str]:
        """The tags of repository `name` (first page; for did-you-mean messages)."""
        self._start(push=False)
        url = f"{self._base}/v2/{self.ref.repository(name)}/tags/list?n=1000"

        def step() -> list[str]:
            resp = self._request("GET", url, limit=4 * 1024 * 1024)
            if resp.status == 404:
                return []
            if resp.status != 200:
                raise self._error("listing tags", resp)
            try:
                tags = resp.json().get("tags") or []
            except (ValueError, AttributeError):
                return []
            return [t for t in tags if isinstance(t, str)]

        return self._retrying("listing tags", step)

    # -- the steps ------------------------------------------------------------

    def _served_same_release(self, artifact: Artifact) -> str | None:
        resp = self._request(
            "GET", self._manifest_url(artifact), headers={"Accept": MANIFEST_ACCEPT},
            limit=OCI_MAX_MANIFEST_BYTES,
        )
        if resp.status == 404:
            return None
        if resp.status != 200:
            raise self._error("reading the tag's manifest", resp)
        body = resp.body
        if resp.truncated or not same_release(artifact, body):
            return None
        return sha256_digest(body)

    def _check_artifact(self, artifact: Artifact) -> None:
        if not TAG_RE.fullmatch(artifact.tag):
            raise UsageError(f"{self.ref.url}: '{outside(artifact.tag)}' is not a valid OCI tag")
        if not DIGEST_RE.fullmatch(artifact.digest):
            raise UsageError(f"{artifact.name}: digest '{outside(artifact.digest)}' is not "
                             "sha256:<hex>")
        if sha256_digest(artifact.manifest) != artifact.digest:
            raise UsageError(
                f"{artifact.name}:{artifact.tag}: manifest bytes do not hash to {artifact.digest}"
            )
        self.ref.repository(artifact.name)

    def _manifest_url(self, artifact: Artifact) -> str:
        repo = self.ref.repository(artifact.name)
        return f"{self._base}/v2/{repo}/manifests/{quote(artifact.tag, safe='')}"

    @property
    def _base(self) -> str:
        return f"{self.scheme}://{self.ref.host}"

    def _note(self, text: str) -> None:
        line = f"{self.ref.host}: {text}"
        if line not in self.notes:
            self.notes.append(line)

    def _head_digest(self, artifact: Artifact) -> str | None:
        """The digest the tag's HEAD claims, None if the tag is absent ('' if it claims none)."""
        resp = self._request(
            "HEAD", self._manifest_url(artifact), headers={"Accept": MANIFEST_ACCEPT}
        )
        if resp.status == 404:
            return None
        if resp.status != 200:
            raise self._error("checking the tag", resp)
        digest = str(resp.headers.get("Docker-Content-Digest") or "").strip()
        if digest and not DIGEST_RE.fullmatch(digest):
            self._note(f"ignored a Docker-Content-Digest that is not sha256:<hex>: "
                       f"'{outside(digest, limit=80)}'")
            digest = ""
        return digest

    def _tag_digest(self, artifact: Artifact) -> str | None:
        """What the tag holds: None if absent; proven by hashing when it claims to be ours.

        A HEAD's Docker-Content-Digest is a claim (a stale cache or a lying
        proxy can make it), so "unchanged" is only said after the manifest
        served for the tag hashes to our digest. A claim of another digest is
        believed: it can only lead to a refusal, never to skipping a push.
        The header is optional in the OCI spec; without it the GET decides.
        """
        claimed = self._head_digest(artifact)
        if claimed is None:
            return None
        if claimed and claimed != artifact.digest:
            return claimed
        return self._get_manifest(artifact, missing_ok=True)

    def _recheck(self, artifact: Artifact) -> str | None:
        """The tag's digest just before the manifest PUT (the HEAD's word, else the bytes')."""
        claimed = self._head_digest(artifact)
        if claimed == "":  # there, but without a usable digest header
            return self._get_manifest(artifact, missing_ok=True)
        return claimed

    def _put_blob(self, repo: str, digest: str, data: bytes) -> bool:
        """Start (or mount) an upload, then send the bytes; False if the blob was there.

        A retry starts over with a fresh POST, so a half-sent upload is never resumed.
        """
        post_url = f"{self._base}/v2/{repo}/blobs/uploads/?mount={digest}&from={repo}"
        resp = self._request("POST", post_url, headers={"Content-Length": "0"})
        if resp.status == 201:
            return False  # the repository already has it
        if resp.status != 202:
            raise self._error("starting a blob upload", resp)
        location = str(resp.headers.get("Location") or "")
        if not location or not header_value_ok(location):
            raise RegistryError(f"{self.ref.host}: blob upload started without a usable Location")
        url = urljoin(resp.url or post_url, location)
        if urlsplit(url).scheme not in ("http", "https"):
            raise RegistryError(f"{self.ref.host}: blob upload Location is not an HTTP URL")
        url += ("&" if urlsplit(url).query else "?") + f"digest={digest}"
        resp = self._request(
            "PUT",
            url,
            data=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        if resp.status == 404 and b"BLOB_UPLOAD_UNKNOWN" in resp.body:
            raise Transient("the upload session was lost (BLOB_UPLOAD_UNKNOWN)")
        if resp.status not in (201, 204):
            raise self._error("uploading a blob", resp)
        return True

    def _put_manifest(self, artifact: Artifact) -> None:
        resp = self._request(
            "PUT",
            self._manifest_url(artifact),
            data=artifact.manifest,
            headers={"Content-Type": MANIFEST_MEDIA_TYPE},
        )
        if resp.status not in (200, 201):
            raise self._error("uploading the manifest", resp)

    def _get_manifest(self, artifact: Artifact, *, missing_ok: bool = False) -> str | None:
        resp = self._request(
            "GET", self._manifest_url(artifact), headers={"Accept": MANIFEST_ACCEPT},
            body="manifest",
        )
        if resp.status == 404:
            if missing_ok:
                return None
            # Registries backed by eventually consistent storage may lag a moment.
            raise Transient("the new tag is not visible yet (404)")
        if resp.status != 200:
            raise self._error("reading the manifest back", resp)
        return sha256_digest(resp.body)

    # -- retry policy -----------------------------------------------------------

    def _start(self, *, push: bool, upload: int = 0) -> None:
        self._want_push = push
        now = self._clock()
        self._deadline = now + self.retry_budget
        self._hard_deadline = self._deadline + sum(self.timeout) + upload / MIN_UPLOAD_RATE
        if self._cancel.is_set():
            raise Interrupted("interrupted")

    def _retrying(self, doing: str, step: Callable[[], _T]) -> _T:
        attempt = 0
        while True:
            try:
                return step()
            except Transient as exc:
                delay = backoff_delay(attempt, self._rng, exc.retry_after)
                left = self._deadline - self._clock()
                attempt += 1
                # A last try at the deadline is worth it, unless the server asked
                # for more patience than the budget has left.
                too_long = exc.retry_after is not None and exc.retry_after > left
                if left <= 0 or too_long:
                    tries = "1 attempt" if attempt == 1 else f"{attempt} attempts"
                    wait = (f"; it asked to wait {seconds(exc.retry_after)}"
                            if exc.retry_after is not None and too_long else "")
                    raise RegistryError(
                        f"{self.ref.host}: {doing} failed after {tries} within the "
                        f"{seconds(self.retry_budget)} retry budget: {exc.reason}{wait}"
                    ) from None
                pause = min(delay, left)
                if self.on_retry is not None:
                    self.on_retry(self.ref.host, doing, pause, exc.reason)
                self.pause(pause)

    # -- one HTTP request -------------------------------------------------------

    def _request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        data: bytes | None = None,
        body: BodyKind = "other",
        limit: int | None = None,
    ) -> Answer:
        """Send one request, answering an auth challenge once; classify failures.

        `limit` replaces the cap of `body` for a successful answer (a blob).
        """
        resp = self._send(method, url, headers, data, body=body, limit=limit)
        if resp.status == 401:
            challenge = parse_challenge(resp.headers.get("WWW-Authenticate"))
            if self._answer_challenge(challenge, url):
                resp = self._send(method, url, headers, data, body=body, limit=limit)
        if resp.status in (401, 403):
            raise self._auth_failure(resp)
        if resp.status in RETRY_STATUSES:
            retry_after, note = read_retry_after(resp.headers.get("Retry-After"))
            if note:
                self._note(note)
            raise Transient(self._status_text(resp), retry_after)
        return resp

    def _send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        data: bytes | None,
        *,
        auth: str | None = None,
        registry_auth: bool = True,
        form: Mapping[str, str] | None = None,
        body: BodyKind = "other",
        limit: int | None = None,
    ) -> Answer:
        """One request, following GET/HEAD redirects itself.

        requests would read each redirect's body whole (to free the
        connection); here every hop is a request of its own, within the
        caps and deadlines, and credentials never follow to another host.
        """
        first_host = urlsplit(url).netloc.lower()
        for _ in range(MAX_REDIRECTS + 1):
            same_host = urlsplit(url).netloc.lower() == first_host
            resp = self._send_once(method, url, headers, data, auth=auth if same_host else None,
                                   registry_auth=registry_auth, form=form, body=body,
                                   limit=limit)
            if resp.status not in REDIRECT_STATUSES or method not in ("GET", "HEAD"):
                return resp
            nxt, why = redirect_to(resp.url or url, str(resp.headers.get("Location") or ""))
            if nxt is None:
                raise RegistryError(f"{self._target_name(url)}: HTTP {resp.status}: {why}")
            url = nxt
        raise RegistryError(f"{self.ref.host}: more than {MAX_REDIRECTS} redirects")

    def _send_once(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        data: bytes | None,
        *,
        auth: str | None = None,
        registry_auth: bool = True,
        form: Mapping[str, str] | None = None,
        body: BodyKind = "other",
        limit: int | None = None,
    ) -> Answer:
        requests = requests_module()
        if self._cancel.is_set():
            raise Interrupted("interrupted")
        merged = dict(headers or {})
        parts = urlsplit(url)
        if auth is not None:
            merged["Authorization"] = auth
        elif registry_auth and self._auth_header and parts.netloc.lower() == self.ref.host:
            merged["Authorization"] = self._auth_header
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        target = self._target_name(url)
        left = self._hard_deadline - self._clock()
        if left <= 0:
            raise Transient(f"no time left for a request to {target}")
        allowance = sum(self.timeout) + (len(data or b"") + (limit or 0)) / MIN_UPLOAD_RATE
        seconds = min(allowance, left)
        timeout = (min(self.timeout[0], seconds), min(self.timeout[1], seconds))
        self._count += 1
        status: int | None = None
        began = self._clock()
        try:
            with watching(seconds) as watch:
                self._watch = watch
                if self._cancel.is_set():
                    watch.fire("cancel")
                try:
                    resp = self._session.request(
                        method,
                        url,
                        headers=merged,
                        data=form if form is not None else data,
                        timeout=timeout,
                        verify=self.verify,
                        allow_redirects=False,
                        stream=True,
                    )
                    status = resp.status_code
                    return self._read(method, resp, body, limit)
                except (Transient, RegistryError):
                    raise
                except Exception as exc:
                    if watch.fired == "cancel" or self._cancel.is_set():
                        raise Interrupted("interrupted") from None
                    if watch.fired == "deadline":
                        raise Transient(
                            f"no complete answer from {target} within {seconds:.3g} s"
                        ) from None
                    if isinstance(exc, requests.exceptions.RequestException | OSError):
                        raise self._classify(exc, url) from None
                    raise
                finally:
                    self._watch = None
                    self._last_took = max(0.0, self._clock() - began)
        finally:
            if self.on_request is not None:
                self.on_request(method, outside(path, secrets=self._secrets, limit=None), status)

    def _read(self, method: str, resp: Any, body: BodyKind, limit: int | None = None) -> Answer:
        """The answer with its body read within the cap its kind allows (or `limit`)."""
        status = int(resp.status_code)
        ok = 200 <= status < 300
        if method == "HEAD":
            cap, strict = 0, False
        elif ok and limit is not None:
            cap, strict = limit, True
        elif ok and body == "manifest":
            cap, strict = MANIFEST_MAX_BYTES, True
        elif ok and body == "token":
            cap, strict = TOKEN_RESPONSE_MAX_BYTES, True
        else:
            cap, strict = ERROR_BODY_MAX_BYTES, False
        try:
            content, cut = read_body(resp, cap, strict=strict)
        except BodyTooLarge as exc:
            what = {"manifest": "manifest", "token": "token service answer"}.get(body, "answer")
            raise RegistryError(
                f"{self._target_name(str(resp.url or ''))}: the {what} is larger than "
                f"{_size(exc.limit)} ({_size(exc.size)} or more); refusing to read it"
            ) from None
        request = getattr(resp, "request", None)
        return Answer(
            status=status,
            headers=resp.headers,
            body=content,
            url=str(resp.url or ""),
            reason=str(getattr(resp, "reason", "") or ""),
            method=str(getattr(request, "method", "") or method),
            truncated=cut,
        )

    def _target_name(self, url: str) -> str:
        parts = urlsplit(url)
        target = parts.netloc.rsplit("@", 1)[-1] or self.ref.host
        try:
            port = parts.port
        except ValueError:
            port = 0
        if port is None:
            target += ":80" if parts.scheme == "http" else ":443"
        return target

    def _classify(self, exc: BaseException, url: str) -> Exception:
        requests = requests_module()
        target = self._target_name(url)
        chain = list(exception_chain(exc))
        if isinstance(exc, requests.exceptions.SSLError):
            return RegistryError(
                f"TLS error talking to {target}: {outside(ssl_reason(chain), limit=200)} "
                "(give the registry's CA with --ca-file, or use --plain-http for HTTP)"
            )
        if any(isinstance(e, ConnectionRefusedError) for e in chain):
            return RegistryError(f"cannot connect to {target}: connection refused")
        if any(type(e).__name__ in ("NameResolutionError", "gaierror") for e in chain):
            return RegistryError(f"cannot connect to {target}: host name not found")
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            return Transient(f"no connection to {target} within {seconds(self.timeout[0])}")
        if isinstance(exc, requests.exceptions.ReadTimeout):
            return Transient(f"no answer from {target} within {seconds(self.timeout[1])}")
        dropped = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)
        if any(isinstance(e, ConnectionResetError) for e in chain):
            return Transient(f"connection reset by {target}")
        if isinstance(
            exc, (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError)
        ) or any(isinstance(e, dropped) for e in chain):
            return Transient(f"connection dropped by {target}")
        detail = outside(str(exc), secrets=self._secrets, limit=200)
        return RegistryError(f"request to {target} failed: {type(exc).__name__}: {detail}")

    # -- auth ---------------------------------------------------------------------

    def _answer_challenge(self, challenge: Challenge | None, url: str) -> bool:
        """Prepare credentials for a 401; True if the request is worth sending again."""
        if challenge is None:
            return False
        if challenge.scheme == "basic":
            if self._basic is None or self._auth_header == self._basic:
                return False  # nothing to offer, or it was already refused
            self._auth_header = self._basic
            return True
        if challenge.scheme == "bearer":
            scope = challenge.params.get("scope", "")
            if self._want_push and scope.endswith(":pull"):
                scope += ",push"
            # Always a fresh token: the old one may have expired or lack the scope.
            # If the registry refuses the fresh one too, the caller reports it.
            token = self._fetch_token(challenge, scope)
            self._auth_header = f"Bearer {token}"
            self._secrets += (token,)
            return True
        return False

    def _fetch_token(self, challenge: Challenge, scope: str) -> str:
        realm = challenge.params.get("realm", "")
        parts = urlsplit(realm)
        if (parts.scheme not in ("http", "https") or not parts.netloc
                or not header_value_ok(realm)):
            raise AuthError(f"authentication failed for {self.ref.host}: bad token realm")
        creds = self._credentials
        if (
            parts.scheme == "http"
            and creds is not None
            and not is_loopback_host(parts.hostname or "")
        ):
            raise AuthError(
                f"authentication failed for {self.ref.host}: refusing to send credentials "
                f"to a plain-HTTP token service ({outside(parts.netloc, limit=100)})"
            )
        params = {"service": challenge.params.get("service", "")}
        if scope:
            params["scope"] = scope
        if creds is not None and creds.identity_token:
            form = {
                "grant_type": "refresh_token",
                "refresh_token": creds.identity_token,
                "client_id": USER_AGENT,
                **params,
            }
            resp = self._send("POST", realm, None, None, form=form, registry_auth=False,
                              body="token")
        else:
            query = "&".join(f"{k}={quote(v, safe='')}" for k, v in params.items() if v)
            url = realm + ("&" if parts.query else "?") + query
            auth = self._basic if creds is not None and creds.password else None
            resp = self._send(
                "GET", url, {"Accept": "application/json"}, None, auth=auth, registry_auth=False,
                body="token",
            )
        if resp.status in RETRY_STATUSES:
            raise Transient(f"token service: {self._status_text(resp)}")
        if resp.status != 200:
            raise self._auth_failure(resp)
        try:
            data = resp.json()
            token = data.get("token") or data.get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            raise AuthError(
                f"authentication failed for {self.ref.host}: the token service sent no token"
            )
        self._secrets += (token,)
        if not header_value_ok(token):
            raise AuthError(
                f"authentication failed for {self.ref.host}: the token service sent a token "
                "with control characters, spaces or non-ASCII text; refusing to send it on"
            )
        return token

    def _auth_failure(self, resp: Answer) -> AuthError:
        host = self.ref.host
        detail = oci_error_message(resp.body) if resp.body else ""
        detail = outside(detail, secrets=self._secrets, limit=200)
        suffix = f": {detail}" if detail else ""
        if resp.status == 403:
            return AuthError(f"authentication failed for {host}: access denied (HTTP 403){suffix}")
        if self._credentials is None:
            return AuthError(
                f"authentication failed for {host}: the registry wants credentials and none "
                "were found (use --username with --password-stdin, BPKIT_REGISTRY_USERNAME/"
                "BPKIT_REGISTRY_PASSWORD, or docker login)"
            )
        if self._basic is None and self._credentials.identity_token:
            return AuthError(
                f"authentication failed for {host}: only an identity token was found "
                f"({self._credentials.source}) and the registry does not accept it"
            )
        return AuthError(f"authentication failed for {host}{suffix}")

    # -- messages -------------------------------------------------------------------

    def _status_text(self, resp: Answer) -> str:
        detail = oci_error_message(resp.body) if resp.body else ""
        text = f"HTTP {resp.status}" + (f" {resp.reason}" if resp.reason else "")
        if detail:
            text += f": {detail}"
        return outside(text, secrets=self._secrets, limit=300)

    def _error(self, doing: str, resp: Answer) -> RegistryError:
        hint = ""
        if self.plain_http and (b"HTTP request to an HTTPS server" in resp.body or (
                resp.status == 400 and resp.method == "HEAD" and not resp.body)):
            # What an HTTPS server answers to plain HTTP (a HEAD carries no text).
            hint = " (if the registry speaks HTTPS, pass --ca-file with its CA bundle)"
        return RegistryError(
            f"{self.ref.host}: {doing} failed: {self._status_text(resp)}{hint}")


def _size(n: int) -> str:
    if n >= 1024 * 1024 and n % (1024 * 1024) == 0:
        return f"{n // (1024 * 1024)} MiB"
    if n >= 1024 and n % 1024 == 0:
        return f"{n // 1024} KiB"
    return f"{n} bytes"
