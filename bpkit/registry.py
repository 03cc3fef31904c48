"""Push Helm OCI artifacts to a registry: exact bytes, immutable tags, bounded retries.

The transport sits on `oras.provider.Registry` for its requests session
(cookie policy, TLS settings, plain-HTTP prefix) and oras' auth helpers, but
none of oras' high-level calls are used: `push()` rewrites the manifest,
`login()` writes passwords to disk, `upload_manifest()` re-serialises the
JSON, and `do_request()` carries a retry decorator that sleeps for minutes and
ignores 429/502/503. The request flow, auth challenges and retry policy are
therefore owned here. `oras` and `requests` are imported lazily: `lint` must
start fast.

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
import importlib
import ipaddress
import json
import random
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import quote, urljoin, urlsplit

from bpkit.errors import AuthError, ImmutableReleaseError, RegistryError, UsageError
from bpkit.oci import MANIFEST_MEDIA_TYPE, Artifact, sha256_digest

if TYPE_CHECKING:
    from bpkit.credentials import Credentials

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

#: Statuses worth another try: rate limiting and gateway/availability errors.
RETRY_STATUSES = frozenset({429, 502, 503, 504})

DEFAULT_RETRY_BUDGET = 30.0
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 30.0
_BACKOFF_BASE = 0.5
_BACKOFF_CAP = 8.0
_USER_AGENT = "bpkit"

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_COMPONENT_RE = re.compile(_COMPONENT)
_HOSTNAME_RE = re.compile(
    r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*"
)
_TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}")
_USERINFO_RE = re.compile(r"(?i)([a-z][a-z0-9+.-]*://)[^/@\s]*@")
_AUTH_HEADER_RE = re.compile(
    r"(?i)\b(authorization['\"]?\s*[:=]\s*['\"]?)(basic|bearer)\s+[^\s'\",}]+"
)

RequestHook = Callable[[str, str, "int | None"], None]
"""Called after every HTTP request with (method, URL path and query, status or None)."""


# --------------------------------------------------------------------------- references


@dataclass(frozen=True)
class RegistryRef:
    """Where artifacts go: `oci://HOST[:PORT]/NAMESPACE`; repository = NAMESPACE/<name>."""

    host: str  # "ghcr.io", "127.0.0.1:5000", "[::1]:5000" (lower case)
    namespace: str  # "openova-io" or "openova-io/charts"

    @property
    def hostname(self) -> str:
        """The host without port or IPv6 brackets."""
        if self.host.startswith("["):
            return self.host[1 : self.host.index("]")]
        return self.host.rsplit(":", 1)[0] if ":" in self.host else self.host

    @property
    def port(self) -> int | None:
        tail = self.host.rsplit("]", 1)[-1]
        return int(tail.rsplit(":", 1)[1]) if ":" in tail else None

    @property
    def is_loopback(self) -> bool:
        return is_loopback_host(self.hostname)

    @property
    def url(self) -> str:
        return f"oci://{self.host}/{self.namespace}"

    def repository(self, name: str) -> str:
        """The repository path for chart `name`, checked against OCI's grammar."""
        if not _COMPONENT_RE.fullmatch(name):
            raise UsageError(f"{self.url}: '{name}' is not a valid OCI repository name")
        repo = f"{self.namespace}/{name}"
        if len(repo) > 255:
            raise UsageError(f"{self.url}: repository '{repo}' is longer than 255 characters")
        return repo

    def reference(self, artifact: Artifact) -> str:
        """`HOST/REPO:TAG`, the form skopeo and humans read."""
        return f"{self.host}/{self.repository(artifact.name)}:{artifact.tag}"

    def __str__(self) -> str:
        return self.url


def is_loopback_host(hostname: str) -> bool:
    """True for localhost, 127.0.0.0/8 and ::1: the only hosts spoken to in plain HTTP unasked."""
    name = hostname.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def parse_registry(url: str) -> RegistryRef:
    """Parse and validate `oci://HOST[:PORT]/NAMESPACE[/...]` (the `oci://` is optional)."""
    text = url.strip()
    shown = redact(text)
    if not text:
        raise UsageError("registry URL is empty: expected oci://HOST/NAMESPACE")
    if "://" in text:
        scheme, _, rest = text.partition("://")
        if scheme.lower() != "oci":
            raise UsageError(
                f"registry URL '{shown}' must start with oci:// (as in oci://ghcr.io/my-org)"
            )
    else:
        rest = text
    if "@" in rest:
        raise UsageError(
            f"registry URL '{shown}' must not contain credentials or a digest: "
            "pass credentials with --username/--password-stdin or the environment"
        )
    if any(c in rest for c in "?#\\ \t"):
        raise UsageError(f"registry URL '{shown}' must not contain a query, fragment or spaces")
    host, _, path = rest.partition("/")
    host = host.lower()
    _check_host(host, shown)
    namespace = path.strip("/")
    if not namespace:
        raise UsageError(
            f"registry URL '{shown}' has no namespace: expected oci://{host or 'HOST'}/NAMESPACE"
        )
    for part in namespace.split("/"):
        if ":" in part:
            raise UsageError(
                f"registry URL '{shown}' must not carry a tag: the tag is the chart version"
            )
        if not _COMPONENT_RE.fullmatch(part):
            raise UsageError(
                f"registry URL '{shown}': namespace part '{part}' must be lower-case letters, "
                "digits and single separators (. _ __ -)"
            )
    return RegistryRef(host=host, namespace=namespace)


def _check_host(host: str, shown: str) -> None:
    if host.startswith("["):
        inner, _, tail = host[1:].partition("]")
        try:
            ipaddress.IPv6Address(inner)
        except ValueError:
            raise UsageError(f"registry URL '{shown}': '{host}' is not a valid IPv6 host") from None
        port = tail[1:] if tail.startswith(":") else None
        if tail and port is None:
            raise UsageError(f"registry URL '{shown}': bad text after the IPv6 address")
    else:
        name, sep, port_text = host.partition(":")
        port = port_text if sep else None
        if not name or not _HOSTNAME_RE.fullmatch(name) or len(name) > 253:
            raise UsageError(f"registry URL '{shown}': '{host}' is not a valid registry host")
    if port is not None and not (port.isdigit() and 0 < int(port) < 65536):
        raise UsageError(f"registry URL '{shown}': port '{port}' must be a number from 1 to 65535")


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


# --------------------------------------------------------------------------- sanitizing


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Strip credentials from text meant for users: URL userinfo, auth headers, known secrets."""
    out = _USERINFO_RE.sub(r"\1***@", text)
    out = _AUTH_HEADER_RE.sub(r"\1\2 ***", out)
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            out = out.replace(secret, "***")
    return out


def _one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def oci_error_message(body: bytes | str) -> str:
    """The registry's own words from an OCI error body (`errors[].code/message`), or ''."""
    try:
        data = json.loads(body)
    except (ValueError, TypeError):
        return ""
    errors = data.get("errors") if isinstance(data, dict) else None
    if not isinstance(errors, list):
        return ""
    parts = []
    for err in errors:
        if not isinstance(err, dict):
            continue
        code, message = err.get("code"), err.get("message")
        text = ": ".join(str(x) for x in (code, message) if x)
        if text:
            parts.append(text)
    return "; ".join(parts)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or HTTP date), or None."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return float(int(value))
    import email.utils

    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:  # pragma: no cover - older Pythons returned None
        return None
    wall = time.time() if now is None else now
    return max(0.0, float(when.timestamp()) - wall)


def backoff_delay(attempt: int, rng: random.Random, retry_after: float | None = None) -> float:
    """Capped exponential backoff with jitter; never shorter than the server's Retry-After."""
    base = min(_BACKOFF_CAP, _BACKOFF_BASE * float(1 << min(attempt, 16)))
    delay = base * rng.uniform(0.5, 1.0)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay


# --------------------------------------------------------------------------- internals


class _Transient(Exception):
    """A failure worth retrying (429/502/503/504, dropped connection, timeout)."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


@dataclass
class _Challenge:
    scheme: str  # "basic" or "bearer"
    params: dict[str, str]


def _parse_challenge(header: str | None) -> _Challenge | None:
    if not header:
        return None
    scheme, _, rest = header.strip().partition(" ")
    params = {k.lower(): v for k, v in re.findall(r'([A-Za-z_]+)="([^"]*)"', rest)}
    return _Challenge(scheme=scheme.lower(), params=params)


def _exception_chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, its causes/contexts and urllib3's wrapped reasons, each once."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        cur = todo.pop()
        if id(cur) in seen:
            continue
        seen.add(id(cur))
        yield cur
        for nxt in (cur.__cause__, cur.__context__, getattr(cur, "reason", None), *cur.args):
            if isinstance(nxt, BaseException):
                todo.append(nxt)


def _ssl_reason(chain: list[BaseException]) -> str:
    """The OpenSSL reason (and verify message) of the innermost ssl.SSLError."""
    import ssl

    for exc in chain:
        if isinstance(exc, ssl.SSLError):
            reason = exc.reason or type(exc).__name__
            extra = getattr(exc, "verify_message", None)
            return f"{reason} ({extra})" if extra else str(reason)
    return "handshake failed"


def _requests() -> Any:
    return importlib.import_module("requests")


def _ca_path(ca_file: str | Path) -> str:
    path = Path(ca_file)
    if not path.is_file():
        raise UsageError(f"CA file {path} does not exist or is not a file")
    return str(path)


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
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        on_request: RequestHook | None = None,
        session: Any = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        """`plain_http=None` means HTTP for loopback hosts without `ca_file`, HTTPS otherwise.

        `session` replaces the requests session (unit tests); by default it
        is the one `oras.provider.Registry` sets up.
        """
        self.ref = parse_registry(ref) if isinstance(ref, str) else ref
        if plain_http is None:
            plain_http = self.ref.is_loopback and ca_file is None
        if plain_http and ca_file is not None:
            raise UsageError(f"{self.ref.url}: a CA file makes no sense with plain HTTP")
        self.plain_http = plain_http
        self.scheme = "http" if plain_http else "https"
        self.verify: bool | str = True if ca_file is None else _ca_path(ca_file)
        self.retry_budget = retry_budget
        self.timeout = (connect_timeout, read_timeout)
        self.on_request = on_request
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
            session = self._oras_session()
        self._session = session

    # -- setup ------------------------------------------------------------

    def _oras_session(self) -> Any:
        provider = importlib.import_module("oras.provider")
        client = provider.Registry(
            hostname=self.ref.host,
            insecure=self.plain_http,
            tls_verify=self.verify,
            auth_backend="basic",  # "token" hangs on basic-auth registries; unused anyway
        )
        session = client.session
        session.headers["User-Agent"] = _USER_AGENT
        if self.ref.is_loopback:
            session.trust_env = False  # never route loopback traffic through an HTTP proxy
        return session

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
        """HTTP requests made by this target so far."""
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

    # -- the steps ------------------------------------------------------------

    def _check_artifact(self, artifact: Artifact) -> None:
        if not _TAG_RE.fullmatch(artifact.tag):
            raise UsageError(f"{self.ref.url}: '{artifact.tag}' is not a valid OCI tag")
        if not _DIGEST_RE.fullmatch(artifact.digest):
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
            raise _Transient("the upload session was lost (BLOB_UPLOAD_UNKNOWN)")
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
            raise _Transient("the new tag is not visible yet (404)")
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
            except _Transient as exc:
                delay = backoff_delay(attempt, self._rng, exc.retry_after)
                left = self._deadline - self._clock()
                attempt += 1
                # A last try at the deadline is worth it, unless the server asked
                # for more patience than the budget has left.
                too_long = exc.retry_after is not None and exc.retry_after > left
                if left <= 0 or too_long:
                    tries = "1 attempt" if attempt == 1 else f"{attempt} attempts"
                    wait = f"; it asked to wait {exc.retry_after:g} s" if too_long else ""
                    raise RegistryError(
                        f"{self.ref.host}: {doing} failed after {tries} within the "
                        f"{self.retry_budget:g} s retry budget: {exc.reason}{wait}"
                    ) from None
                self._sleep(min(delay, left))

    # -- one HTTP request -------------------------------------------------------

    def _request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        data: bytes | None = None,
    ) -> Any:
        """Send one request, answering an auth challenge once; classify failures."""
        resp = self._send(method, url, headers, data)
        if resp.status_code == 401:
            challenge = _parse_challenge(resp.headers.get("WWW-Authenticate"))
            if self._answer_challenge(challenge, url):
                resp = self._send(method, url, headers, data)
        if resp.status_code in (401, 403):
            raise self._auth_failure(resp)
        if resp.status_code in RETRY_STATUSES:
            raise _Transient(
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
    ) -> Any:
        requests = _requests()
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
            )
            status = resp.status_code
            if method != "HEAD":
                _ = resp.content  # read now, so a dropped body fails here and is retried
            return resp
        except requests.exceptions.RequestException as exc:
            raise self._classify(exc, url) from None
        finally:
            if self.on_request is not None:
                self.on_request(method, redact(path, self._secrets), status)

    def _classify(self, exc: BaseException, url: str) -> Exception:
        requests = _requests()
        parts = urlsplit(url)
        target = parts.netloc or self.ref.host
        if parts.port is None:
            target += ":80" if parts.scheme == "http" else ":443"
        chain = list(_exception_chain(exc))
        if isinstance(exc, requests.exceptions.SSLError):
            return RegistryError(
                f"TLS error talking to {target}: {_ssl_reason(chain)} "
                "(give the registry's CA with --ca-file, or use --plain-http for HTTP)"
            )
        if any(isinstance(e, ConnectionRefusedError) for e in chain):
            return RegistryError(f"cannot connect to {target}: connection refused")
        if any(type(e).__name__ in ("NameResolutionError", "gaierror") for e in chain):
            return RegistryError(f"cannot connect to {target}: host name not found")
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            return _Transient(f"no connection to {target} within {self.timeout[0]:g} s")
        if isinstance(exc, requests.exceptions.ReadTimeout):
            return _Transient(f"no answer from {target} within {self.timeout[1]:g} s")
        dropped = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)
        if any(isinstance(e, ConnectionResetError) for e in chain):
            return _Transient(f"connection reset by {target}")
        if isinstance(
            exc, (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError)
        ) or any(isinstance(e, dropped) for e in chain):
            return _Transient(f"connection dropped by {target}")
        detail = _one_line(redact(str(exc), self._secrets), 200)
        return RegistryError(f"request to {target} failed: {type(exc).__name__}: {detail}")

    # -- auth ---------------------------------------------------------------------

    def _answer_challenge(self, challenge: _Challenge | None, url: str) -> bool:
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

    def _fetch_token(self, challenge: _Challenge, scope: str) -> str:
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
                "client_id": _USER_AGENT,
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
            raise _Transient(f"token service: {self._status_text(resp)}")
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
        detail = _one_line(redact(detail, self._secrets), 200)
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
        return _one_line(redact(text, self._secrets), 300)

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

