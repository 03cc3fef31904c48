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
  1 PUT manifest (our exact bytes)
  1 GET manifest by tag, hashed to check the registry serves our digest
= 7 requests; 5 when both blobs are already there; an unchanged re-publish
is the single HEAD.
"""

from __future__ import annotations

import base64
import functools
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import quote, urljoin, urlsplit

from bpkit.errors import AuthError, ImmutableReleaseError, RegistryError, UsageError
from bpkit.net.auth import Challenge, parse_challenge
from bpkit.net.http import (
    CONNECT_TIMEOUT,
    DEFAULT_RETRY_BUDGET,
    READ_TIMEOUT,
    RETRY_STATUSES,
    USER_AGENT,
    Transient,
    backoff_delay,
    ca_path,
    exception_chain,
    new_session,
    oci_error_message,
    parse_retry_after,
    requests_module,
    ssl_reason,
)
from bpkit.oci.artifact import MANIFEST_MEDIA_TYPE, Artifact, sha256_digest
from bpkit.oci.reference import DIGEST_RE, TAG_RE, RegistryRef, is_loopback_host, parse_registry
from bpkit.text import one_line, redact, seconds

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

RetryHook = Callable[[str, str, float, str], None]
"""Called before each retry's pause with (host, what was being done, seconds, why)."""


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class PushResult:
    """What a push did; `requests` counts HTTP requests, retries and token fetches included."""

    reference: str  # HOST/REPO:TAG
    digest: str  # the artifact's manifest digest, now served by the tag
    status: Literal["published", "unchanged", "overwritten"]
    previous_digest: str | None  # what the tag held before (None: it did not exist)
    uploaded_blobs: int  # blobs sent; blobs the repository had already are not counted
    requests: int

    @property
    def changed(self) -> bool:
        return self.status != "unchanged"


# --------------------------------------------------------------------------- the target


class RegistryTarget:
    """One registry namespace to publish Helm artifacts to.

    Retries stop `retry_budget` seconds after a push or check began; the
    last attempt can add at most `connect_timeout + read_timeout` on top.
    Not thread-safe: use one target per thread (they are cheap).
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
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        """`plain_http=None` means HTTP for loopback hosts without `ca_file`, HTTPS otherwise.

        `session` replaces the requests session (unit tests); by default it
        is a fresh `requests` session.
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
        self.on_retry = on_retry
        self._credentials = credentials
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not crypto
        self._secrets: tuple[str, ...] = credentials.secrets() if credentials else ()
        self._auth_header: str | None = None  # what we send to the registry host
        self._want_push = False
        self._deadline = 0.0
        self._count = 0
        self._basic: str | None = None
        if credentials is not None and credentials.password and self._may_send_credentials():
            raw = f"{credentials.username}:{credentials.password}".encode()
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
        """The digest the artifact's tag holds now, or None: one HEAD request."""
        self._start(push=False)
        return self._retrying("checking the tag", lambda: self._head_manifest(artifact))

    def dry_run(self, artifact: Artifact, *, force: bool = False) -> str:
        """Say what `push` would do, after the one HEAD request it starts with."""
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
        self._check_artifact(artifact)
        self._start(push=True)
        start_count = self._count
        where = self.ref.reference(artifact)
        existing = self._retrying("checking the tag", lambda: self._head_manifest(artifact))
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
        self._retrying("uploading the manifest", lambda: self._put_manifest(artifact))
        served = self._retrying("reading the manifest back", lambda: self._get_manifest(artifact))
        if served != artifact.digest:
            raise RegistryError(
                f"{where} serves {served} after pushing {artifact.digest}: "
                "another publisher may have changed the tag at the same time"
            )
        return PushResult(
            reference=where,
            digest=artifact.digest,
            status="published" if existing is None else "overwritten",
            previous_digest=existing,
            uploaded_blobs=uploaded,
            requests=self._count - start_count,
        )

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
            if resp.status_code == 404:
                raise RegistryError(f"{self.ref.host}/{self.ref.repository(name)}:{tag}: "
                                    "not found (HTTP 404)")
            if resp.status_code != 200:
                raise self._error("reading the manifest", resp)
            data = bytes(resp.content)
            if by_digest and sha256_digest(data) != tag:
                raise RegistryError(f"{self.ref.host}: manifest {tag} arrived with digest "
                                    f"{sha256_digest(data)}")
            return data

        return self._retrying("reading the manifest", step)

    def get_blob(self, name: str, digest: str, *, limit: int) -> bytes:
        """The blob `digest` of repository `name`, at most `limit` bytes, hash checked."""
        if not DIGEST_RE.fullmatch(digest):
            raise RegistryError(f"{self.ref.host}: blob digest '{digest}' is not sha256:<hex>")
        self._start(push=False)
        url = f"{self._base}/v2/{self.ref.repository(name)}/blobs/{digest}"

        def step() -> bytes:
            resp = self._request("GET", url, limit=limit)
            if resp.status_code != 200:
                raise self._error("reading a blob", resp)
            data = bytes(resp.content)
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
            if resp.status_code == 404:
                return []
            if resp.status_code != 200:
                raise self._error("listing tags", resp)
            try:
                tags = resp.json().get("tags") or []
            except (ValueError, AttributeError):
                return []
            return [t for t in tags if isinstance(t, str)]

        return self._retrying("listing tags", step)

    # -- the steps ------------------------------------------------------------

    def _check_artifact(self, artifact: Artifact) -> None:
        if not TAG_RE.fullmatch(artifact.tag):
            raise UsageError(f"{self.ref.url}: '{artifact.tag}' is not a valid OCI tag")
        if not DIGEST_RE.fullmatch(artifact.digest):
            raise UsageError(f"{artifact.name}: digest '{artifact.digest}' is not sha256:<hex>")
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

    def _head_manifest(self, artifact: Artifact) -> str | None:
        resp = self._request(
            "HEAD", self._manifest_url(artifact), headers={"Accept": MANIFEST_ACCEPT}
        )
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            raise self._error("checking the tag", resp)
        digest = resp.headers.get("Docker-Content-Digest")
        if not digest:  # not required by the OCI spec: hash the manifest instead
            return self._get_manifest(artifact, missing_ok=True)
        return str(digest)

    def _put_blob(self, repo: str, digest: str, data: bytes) -> bool:
        """Start (or mount) an upload, then send the bytes; False if the blob was there.

        A retry starts over with a fresh POST, so a half-sent upload is never resumed.
        """
        post_url = f"{self._base}/v2/{repo}/blobs/uploads/?mount={digest}&from={repo}"
        resp = self._request("POST", post_url, headers={"Content-Length": "0"})
        if resp.status_code == 201:
            return False  # the repository already has it
        if resp.status_code != 202:
            raise self._error("starting a blob upload", resp)
        location = resp.headers.get("Location")
        if not location:
            raise RegistryError(f"{self.ref.host}: blob upload started without a Location")
        url = urljoin(resp.url or post_url, location)
        url += ("&" if urlsplit(url).query else "?") + f"digest={digest}"
        resp = self._request(
            "PUT",
            url,
            data=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        if resp.status_code == 404 and "BLOB_UPLOAD_UNKNOWN" in resp.text:
            raise Transient("the upload session was lost (BLOB_UPLOAD_UNKNOWN)")
        if resp.status_code not in (201, 204):
            raise self._error("uploading a blob", resp)
        return True

    def _put_manifest(self, artifact: Artifact) -> None:
        resp = self._request(
            "PUT",
            self._manifest_url(artifact),
            data=artifact.manifest,
            headers={"Content-Type": MANIFEST_MEDIA_TYPE},
        )
        if resp.status_code not in (200, 201):
            raise self._error("uploading the manifest", resp)

    def _get_manifest(self, artifact: Artifact, *, missing_ok: bool = False) -> str | None:
        resp = self._request(
            "GET", self._manifest_url(artifact), headers={"Accept": MANIFEST_ACCEPT}
        )
        if resp.status_code == 404:
            if missing_ok:
                return None
            # Registries backed by eventually consistent storage may lag a moment.
            raise Transient("the new tag is not visible yet (404)")
        if resp.status_code != 200:
            raise self._error("reading the manifest back", resp)
        return sha256_digest(resp.content)

    # -- retry policy -----------------------------------------------------------

    def _start(self, *, push: bool) -> None:
        self._want_push = push
        self._deadline = self._clock() + self.retry_budget

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
                self._sleep(pause)

    # -- one HTTP request -------------------------------------------------------

    def _request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        data: bytes | None = None,
        limit: int | None = None,
    ) -> Any:
        """Send one request, answering an auth challenge once; classify failures."""
        resp = self._send(method, url, headers, data, limit=limit)
        if resp.status_code == 401:
            challenge = parse_challenge(resp.headers.get("WWW-Authenticate"))
            if self._answer_challenge(challenge, url):
                resp = self._send(method, url, headers, data, limit=limit)
        if resp.status_code in (401, 403):
            raise self._auth_failure(resp)
        if resp.status_code in RETRY_STATUSES:
            raise Transient(
                self._status_text(resp),
                parse_retry_after(resp.headers.get("Retry-After")),
            )
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
        limit: int | None = None,
    ) -> Any:
        requests = requests_module()
        merged = dict(headers or {})
        parts = urlsplit(url)
        if auth is not None:
            merged["Authorization"] = auth
        elif registry_auth and self._auth_header and parts.netloc.lower() == self.ref.host:
            merged["Authorization"] = self._auth_header
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        self._count += 1
        status: int | None = None
        try:
            resp = self._session.request(
                method,
                url,
                headers=merged,
                data=form if form is not None else data,
                timeout=self.timeout,
                verify=self.verify,
                allow_redirects=method in ("GET", "HEAD"),
                stream=limit is not None,
            )
            status = resp.status_code
            if limit is not None:
                self._read_bounded(resp, limit)
            elif method != "HEAD":
                _ = resp.content  # read now, so a dropped body fails here and is retried
            return resp
        except requests.exceptions.RequestException as exc:
            raise self._classify(exc, url) from None
        finally:
            if self.on_request is not None:
                self.on_request(method, redact(path, self._secrets), status)

    def _read_bounded(self, resp: Any, limit: int) -> None:
        """Read a streamed body into `resp.content`, refusing more than `limit` bytes."""
        try:
            length = resp.headers.get("Content-Length")
            if length is not None and length.strip().isdigit() and int(length) > limit:
                raise RegistryError(f"{self.ref.host}: answer of {int(length):,} bytes is over "
                                    f"the {limit:,} bytes accepted; not read")
            chunks, total = [], 0
            for chunk in resp.iter_content(256 * 1024):
                total += len(chunk)
                if total > limit:
                    raise RegistryError(f"{self.ref.host}: answer is over the {limit:,} bytes "
                                        "accepted; not read further")
                chunks.append(chunk)
            resp._content = b"".join(chunks)  # what `resp.content` returns from now on
            resp._content_consumed = True
        finally:
            resp.close()

    def _classify(self, exc: BaseException, url: str) -> Exception:
        requests = requests_module()
        parts = urlsplit(url)
        target = parts.netloc or self.ref.host
        if parts.port is None:
            target += ":80" if parts.scheme == "http" else ":443"
        chain = list(exception_chain(exc))
        if isinstance(exc, requests.exceptions.SSLError):
            return RegistryError(
                f"TLS error talking to {target}: {ssl_reason(chain)} "
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
        detail = one_line(redact(str(exc), self._secrets), 200)
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
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise AuthError(f"authentication failed for {self.ref.host}: bad token realm")
        creds = self._credentials
        if (
            parts.scheme == "http"
            and creds is not None
            and not is_loopback_host(parts.hostname or "")
        ):
            raise AuthError(
                f"authentication failed for {self.ref.host}: refusing to send credentials "
                f"to a plain-HTTP token service ({parts.netloc})"
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
            resp = self._send("POST", realm, None, None, form=form, registry_auth=False)
        else:
            query = "&".join(f"{k}={quote(v, safe='')}" for k, v in params.items() if v)
            url = realm + ("&" if parts.query else "?") + query
            auth = self._basic if creds is not None and creds.password else None
            resp = self._send(
                "GET", url, {"Accept": "application/json"}, None, auth=auth, registry_auth=False
            )
        if resp.status_code in RETRY_STATUSES:
            raise Transient(f"token service: {self._status_text(resp)}")
        if resp.status_code != 200:
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
        return token

    def _auth_failure(self, resp: Any) -> AuthError:
        host = self.ref.host
        detail = oci_error_message(resp.content) if resp.content else ""
        detail = one_line(redact(detail, self._secrets), 200)
        suffix = f": {detail}" if detail else ""
        if resp.status_code == 403:
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

    def _status_text(self, resp: Any) -> str:
        reason = getattr(resp, "reason", "") or ""
        detail = oci_error_message(resp.content) if resp.content else ""
        text = f"HTTP {resp.status_code}" + (f" {reason}" if reason else "")
        if detail:
            text += f": {detail}"
        return one_line(redact(text, self._secrets), 300)

    def _error(self, doing: str, resp: Any) -> RegistryError:
        hint = ""
        body = resp.content or b""
        method = getattr(getattr(resp, "request", None), "method", "")
        if self.plain_http and (b"HTTP request to an HTTPS server" in body or (
                resp.status_code == 400 and method == "HEAD" and not body)):
            # What an HTTPS server answers to plain HTTP (a HEAD carries no text).
            hint = " (if the registry speaks HTTPS, pass --ca-file with its CA bundle)"
        return RegistryError(
            f"{self.ref.host}: {doing} failed: {self._status_text(resp)}{hint}")

