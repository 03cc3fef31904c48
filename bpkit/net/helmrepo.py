"""Helm chart repositories over HTTPS: `index.yaml`, then the chart archive.

A repository is hostile input like any other: the index is read with a size
cap (refused from `Content-Length` before a byte of the body is read), a
total deadline (a slow drip cannot hold a run forever) and the bounded YAML
loader (alias bombs stop cheaply); archives have their own cap and are
checked against the index `digest`. Each repository's index is fetched once
per client (one run) and kept on disk with its ETag/Last-Modified, so the
next run asks with `If-None-Match`/`If-Modified-Since` and a 304 costs no
body.

Credentials come from where Helm users keep them: Helm's
`repositories.yaml` (an entry whose `url` is the repository), then
`~/.netrc`. They are sent only to the repository's own scheme and host:
never to another host an index `urls` entry or a redirect points at, and
never over plain HTTP to a host that is not loopback. Redirects are followed
by hand for exactly that reason.

Failures use the same retry budget and classification as publishing
(`bpkit.net.http`) and end as one `UpstreamError` line naming the
repository.
"""

from __future__ import annotations

import base64
import contextlib
import gc
import hashlib
import json
import os
import random
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

from bpkit.errors import UpstreamError, UsageError
from bpkit.fsio import atomic_write
from bpkit.limits import (
    CONNECT_TIMEOUT,
    DEFAULT_RETRY_BUDGET,
    DOWNLOAD_DEADLINE,
    HELM_INDEX_MAX_BYTES,
    HELM_INDEX_MAX_NODES,
    MAX_REDIRECTS,
    READ_TIMEOUT,
    UPSTREAM_MAX_ARCHIVE_BYTES,
)
from bpkit.net.http import (
    REDIRECT_STATUSES,
    RETRY_STATUSES,
    Transient,
    backoff_delay,
    ca_path,
    exception_chain,
    new_session,
    parse_retry_after,
    redirect_to,
    requests_module,
    ssl_reason,
    watching,
)
from bpkit.oci.reference import is_loopback_host
from bpkit.text import one_line, printable, redact, seconds

__all__ = ["ChartVersion", "HelmRepoClient", "RepoIndex", "basic_credentials", "verify_setting"]

_T = TypeVar("_T")
_CHUNK = 256 * 1024
_HEX64 = frozenset("0123456789abcdef")

RequestHook = Callable[[str, str, "int | None"], None]
"""Called after every HTTP request with (method, URL, status or None)."""


@dataclass(frozen=True)
class ChartVersion:
    """One entry of an index: what is needed to find, fetch and check a chart."""

    name: str
    version: str
    app_version: str | None
    urls: tuple[str, ...]
    digest: str | None  # "sha256:<hex>", when the index gives one


@dataclass
class RepoIndex:
    """A parsed index.yaml: chart name -> its versions, in index order."""

    url: str  # the repository URL the index came from (a mirror, if one is used)
    entries: dict[str, list[ChartVersion]] = field(default_factory=dict)
    from_cache: bool = False  # answered 304: the copy on disk was used


# --------------------------------------------------------------------------- settings


def verify_setting(ca_file: str | Path | None, env: Mapping[str, str]) -> bool | str:
    """What `requests` should verify TLS with: --ca-file, SSL_CERT_FILE,
    REQUESTS_CA_BUNDLE, else the system store (certifi where it has none)."""
    if ca_file is not None:
        return ca_path(ca_file)
    for name in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"):
        value = env.get(name)
        if value:
            if not Path(value).is_file():
                raise UsageError(f"{name}={value}: no such CA file")
            return value
    system = ssl.get_default_verify_paths().cafile
    return system if system and Path(system).is_file() else True


def _norm(url: str) -> str:
    return url.strip().rstrip("/")


def _helm_repository_config(env: Mapping[str, str]) -> Path:
    if env.get("HELM_REPOSITORY_CONFIG"):
        return Path(env["HELM_REPOSITORY_CONFIG"])
    if env.get("HELM_CONFIG_HOME"):
        return Path(env["HELM_CONFIG_HOME"]) / "repositories.yaml"
    home = Path(env["HOME"]) if env.get("HOME") else Path.home()
    base = Path(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") else home / ".config"
    return base / "helm" / "repositories.yaml"


def basic_credentials(repo: str, env: Mapping[str, str] = os.environ
                      ) -> tuple[str, str, str] | None:
    """(username, password, where from) for repository `repo`, or None.

    Helm's repositories.yaml entry with the same `url` first, then the
    ~/.netrc machine of the repository's host. A file that cannot be read
    is an error (silently going anonymous would only confuse a 401 later).
    """
    path = _helm_repository_config(env)
    if path.is_file():
        from bpkit.yamlio.load import parse, read_text

        text, problems = read_text(path)
        doc = None
        if text is not None:
            doc, problems = parse(text, path, str(path))
        if doc is None:
            why = problems[0].message if problems else "unreadable"
            raise UsageError(f"{path}: {why}")
        data = doc.data if isinstance(doc.data, dict) else {}
        for entry in data.get("repositories") or []:
            if (isinstance(entry, dict) and isinstance(entry.get("url"), str)
                    and _norm(entry["url"]) == _norm(repo)):
                user, password = entry.get("username"), entry.get("password")
                if isinstance(user, str) and user and isinstance(password, str):
                    return user, password, str(path)
    host = urlsplit(repo).hostname or ""
    netrc_path = Path(env["NETRC"]) if env.get("NETRC") else (
        (Path(env["HOME"]) if env.get("HOME") else Path.home()) / ".netrc")
    if netrc_path.is_file():
        import netrc

        try:
            found = netrc.netrc(str(netrc_path)).authenticators(host)
        except (netrc.NetrcParseError, OSError) as exc:
            msg = getattr(exc, "msg", None) or str(exc)
            raise UsageError(f"{netrc_path}: {one_line(msg, 200)}") from None
        if found is not None and found[0] and found[2] is not None:
            return found[0], found[2], str(netrc_path)
    return None


# --------------------------------------------------------------------------- the client


class HelmRepoClient:
    """Reads Helm repositories for one run: each index at most once.

    `cache_dir` holds index copies with their validators (None: no disk
    cache). Not thread-safe; cheap to make one per thread.
    """

    def __init__(
        self,
        *,
        ca_file: str | Path | None = None,
        cache_dir: Path | None = None,
        env: Mapping[str, str] = os.environ,
        retry_budget: float = DEFAULT_RETRY_BUDGET,
        connect_timeout: float = CONNECT_TIMEOUT,
        read_timeout: float = READ_TIMEOUT,
        deadline: float = DOWNLOAD_DEADLINE,
        max_index_bytes: int = HELM_INDEX_MAX_BYTES,
        max_chart_bytes: int = UPSTREAM_MAX_ARCHIVE_BYTES,
        on_request: RequestHook | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.verify = verify_setting(ca_file, env)
        self.cache_dir = cache_dir
        self.env = env
        self.retry_budget = retry_budget
        self.timeout = (connect_timeout, read_timeout)
        self.deadline = deadline
        self.max_index_bytes = max_index_bytes
        self.max_chart_bytes = max_chart_bytes
        self.on_request = on_request
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not crypto
        self._indexes: dict[str, RepoIndex] = {}
        self._sessions: dict[bool, Any] = {}
        self._creds: dict[str, tuple[str, str] | None] = {}
        self._secrets: tuple[str, ...] = ()
        self.request_count = 0

    def close(self) -> None:
        for session in self._sessions.values():
            session.close()

    def __enter__(self) -> HelmRepoClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- public -------------------------------------------------------------------

    def index(self, repo: str) -> RepoIndex:
        """The repository's index (fetched at most once per client)."""
        key = _norm(repo)
        if key not in self._indexes:
            self._indexes[key] = self._load_index(key)
        return self._indexes[key]

    def download(self, repo: str, entry: ChartVersion) -> bytes:
        """The chart archive of `entry`, checked against the index digest when given."""
        key = _norm(repo)
        what = f"{self._show(key)}: chart {entry.name} {entry.version}"
        if not entry.urls:
            raise UpstreamError(f"{what}: the index lists no download URL")
        url = urljoin(key + "/", entry.urls[0])
        if urlsplit(url).scheme not in ("https", "http"):
            raise UpstreamError(f"{what}: download URL {printable(url)!r} is not http(s)")
        _, _, data = self._retrying(key, f"downloading {self._show(url)}",
                                    lambda: self._get(key, url, limit=self.max_chart_bytes,
                                                      what="chart archive"))
        if entry.digest is not None:
            got = "sha256:" + hashlib.sha256(data).hexdigest()
            if got != entry.digest:
                raise UpstreamError(f"{what}: the archive has digest {got}, but the index says "
                                    f"{entry.digest} (a broken or tampered download)")
        return data

    # -- the index ----------------------------------------------------------------

    def _index_files(self, key: str) -> tuple[Path, Path] | None:
        if self.cache_dir is None:
            return None
        name = hashlib.sha256(key.encode()).hexdigest()[:40]
        return self.cache_dir / f"{name}.yaml", self.cache_dir / f"{name}.json"

    def _entries_file(self, key: str) -> Path | None:
        files = self._index_files(key)
        return files[0].with_suffix(".entries.json") if files is not None else None

    def _cached_entries(self, key: str, body_sha: str) -> dict[str, list[ChartVersion]] | None:
        """The parsed index saved beside its copy: a 304 then costs no YAML parse."""
        path = self._entries_file(key)
        if path is None:
            return None
        try:
            with path.open("rb") as fh:
                data = json.loads(fh.read(self.max_index_bytes + 1))
            if not isinstance(data, dict) or data.get("sha256") != body_sha:
                return None
            return {name: [ChartVersion(name, v, a, tuple(u), d) for v, a, u, d in rows]
                    for name, rows in data["entries"].items()}
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return None

    def _store_entries(self, key: str, body_sha: str,
                       entries: dict[str, list[ChartVersion]]) -> None:
        path = self._entries_file(key)
        if path is None:
            return
        rows = {name: [[v.version, v.app_version, list(v.urls), v.digest] for v in versions]
                for name, versions in entries.items()}
        with contextlib.suppress(OSError):
            atomic_write(path, json.dumps({"sha256": body_sha, "entries": rows}).encode(),
                         mode=0o600)

    def _cached(self, key: str) -> tuple[bytes, dict[str, str]] | None:
        files = self._index_files(key)
        if files is None:
            return None
        body_path, meta_path = files
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            with body_path.open("rb") as fh:
                body = fh.read(self.max_index_bytes + 1)
        except (OSError, ValueError):
            return None
        if (not isinstance(meta, dict) or meta.get("url") != key
                or meta.get("sha256") != hashlib.sha256(body).hexdigest()):
            return None  # another run is replacing it, or it is damaged: ask afresh
        return body, {k: v for k, v in meta.items() if isinstance(v, str)}

    def _store(self, key: str, body: bytes, headers: Mapping[str, str]) -> None:
        files = self._index_files(key)
        if files is None:
            return
        body_path, meta_path = files
        meta = {"url": key, "sha256": hashlib.sha256(body).hexdigest()}
        for header, name in (("ETag", "etag"), ("Last-Modified", "last_modified")):
            if headers.get(header):
                meta[name] = headers[header]
        try:
            atomic_write(body_path, body, mode=0o600)
            atomic_write(meta_path, json.dumps(meta, sort_keys=True).encode(), mode=0o600)
        except OSError:
            pass  # a read-only cache only costs the next run a full download

    def _load_index(self, key: str) -> RepoIndex:
        url = key + "/index.yaml"
        cached = self._cached(key)
        headers: dict[str, str] = {}
        if cached is not None:
            if cached[1].get("etag"):
                headers["If-None-Match"] = cached[1]["etag"]
            if cached[1].get("last_modified"):
                headers["If-Modified-Since"] = cached[1]["last_modified"]
        status, resp_headers, body = self._retrying(
            key, "reading index.yaml",
            lambda: self._get(key, url, limit=self.max_index_bytes, what="index.yaml",
                              headers=headers))
        from_cache = False
        if status == 304:
            if cached is None:
                raise UpstreamError(f"{self._show(key)}: reading index.yaml: the server "
                                    "answered 304 to an unconditional request")
            body, from_cache = cached[0], True
            known = self._cached_entries(key, cached[1]["sha256"])
            if known is not None:
                return RepoIndex(url=key, entries=known, from_cache=True)
        else:
            self._store(key, body, resp_headers)
        entries = self._parse_index(key, body)
        self._store_entries(key, hashlib.sha256(body).hexdigest(), entries)
        return RepoIndex(url=key, entries=entries, from_cache=from_cache)

    def _parse_index(self, key: str, body: bytes) -> dict[str, list[ChartVersion]]:
        from bpkit.yamlio.load import parse

        shown = f"{self._show(key)}/index.yaml"
        try:
            text = body.decode("utf-8").removeprefix("\ufeff")
        except UnicodeDecodeError:
            raise UpstreamError(f"{shown}: not UTF-8") from None
        # Millions of small objects: the cyclic collector would rescan them again and
        # again while they are built (3x the parse time); nothing here makes cycles.
        enabled = gc.isenabled()
        gc.disable()
        try:
            doc, problems = parse(text, Path("index.yaml"), shown,
                                  max_nodes=HELM_INDEX_MAX_NODES)
        finally:
            if enabled:
                gc.enable()
        if doc is None:
            first = problems[0] if problems else None
            where = f" line {first.line}" if first and first.line else ""
            why = first.message if first else "unreadable"
            raise UpstreamError(f"{shown}:{where}: {why}")
        data = doc.data
        entries = data.get("entries") if isinstance(data, dict) else None
        if not isinstance(entries, dict):
            raise UpstreamError(f"{shown}: not a Helm repository index (no `entries` map)")
        out: dict[str, list[ChartVersion]] = {}
        for name, versions in entries.items():
            if not isinstance(name, str) or not isinstance(versions, list):
                continue
            found = []
            for item in versions:
                parsed = _chart_version(name, item)
                if parsed is not None:  # Helm skips broken entries too
                    found.append(parsed)
            out[name] = found
        return out

    # -- one GET ------------------------------------------------------------------

    def _session(self, host: str) -> Any:
        loopback = is_loopback_host(host)
        if loopback not in self._sessions:
            self._sessions[loopback] = new_session(loopback=loopback)
        return self._sessions[loopback]

    def _auth_for(self, key: str, url: str) -> str | None:
        """Basic auth for `url` when it is on the repository's own scheme and host."""
        repo, target = urlsplit(key), urlsplit(url)
        if (repo.scheme, repo.netloc.lower()) != (target.scheme, target.netloc.lower()):
            return None
        if target.scheme != "https" and not is_loopback_host(target.hostname or ""):
            return None
        if key not in self._creds:
            found = basic_credentials(key, self.env)
            self._creds[key] = (found[0], found[1]) if found else None
            if found:
                token = base64.b64encode(f"{found[0]}:{found[1]}".encode()).decode("ascii")
                self._secrets += (found[1], token)
        creds = self._creds[key]
        if creds is None:
            return None
        return "Basic " + base64.b64encode(f"{creds[0]}:{creds[1]}".encode()).decode("ascii")

    def _get(self, key: str, url: str, *, limit: int, what: str,
             headers: Mapping[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        """GET with manual redirects, a size cap and a deadline; (status, headers, body)."""
        requests = requests_module()
        started = self._clock()
        # The total deadline also holds while a server trickles its headers, a
        # byte a second: the socket is shut down when it passes (real time).
        real_end = time.monotonic() + self.deadline
        for _hop in range(MAX_REDIRECTS + 1):
            parts = urlsplit(url)
            sent = dict(headers or {})
            auth = self._auth_for(key, url)
            if auth is not None:
                sent["Authorization"] = auth
            self.request_count += 1
            status: int | None = None
            with watching(max(0.0, real_end - time.monotonic())) as fired:
                try:
                    resp = self._session(parts.hostname or "").request(
                        "GET", url, headers=sent, timeout=self.timeout, verify=self.verify,
                        allow_redirects=False, stream=True)
                    status = resp.status_code
                    try:
                        if status in REDIRECT_STATUSES:
                            nxt, why = redirect_to(url, resp.headers.get("Location"))
                            if nxt is None:
                                raise UpstreamError(f"{self._show(key)}: {what}: HTTP {status}: "
                                                    f"{why}")
                            url = nxt
                            continue
                        self._check_status(key, what, resp)
                        if status == 304:
                            return status, dict(resp.headers), b""
                        body = self._read(key, what, resp, limit, started)
                        return status, dict(resp.headers), body
                    finally:
                        resp.close()
                except requests.exceptions.RequestException as exc:
                    if fired.fired is not None:
                        raise UpstreamError(f"{self._show(key)}: {what}: not complete within "
                                            f"{seconds(self.deadline)}; giving up") from None
                    raise self._classify(key, exc, url) from None
                finally:
                    if self.on_request is not None:
                        self.on_request("GET", redact(url, self._secrets), status)
        raise UpstreamError(f"{self._show(key)}: {what}: more than {MAX_REDIRECTS} redirects")

    def _check_status(self, key: str, what: str, resp: Any) -> None:
        status = resp.status_code
        shown = self._show(key)
        if status in (200, 304):
            return
        if status in RETRY_STATUSES:
            raise Transient(f"HTTP {status}", parse_retry_after(resp.headers.get("Retry-After")))
        if status == 401:
            has = self._creds.get(key) is not None
            hint = ("the credentials found were refused" if has else
                    "it wants credentials and none were found (helm repo add --username, "
                    "or ~/.netrc)")
            raise UpstreamError(f"{shown}: {what}: authentication failed (HTTP 401): {hint}")
        if status == 403:
            raise UpstreamError(f"{shown}: {what}: access denied (HTTP 403)")
        if status == 404:
            hint = " (is this a Helm repository URL?)" if what == "index.yaml" else ""
            raise UpstreamError(f"{shown}: {what}: not found (HTTP 404){hint}")
        reason = one_line(printable(str(getattr(resp, "reason", "") or "")), 80)
        raise UpstreamError(f"{shown}: {what}: HTTP {status}" + (f" {reason}" if reason else ""))

    def _read(self, key: str, what: str, resp: Any, limit: int, started: float) -> bytes:
        shown = self._show(key)
        length = resp.headers.get("Content-Length")
        if (length is not None and length.strip().isascii() and length.strip().isdigit()
                and int(length) > limit):
            raise UpstreamError(f"{shown}: {what} is {int(length) / 1048576:.1f} MiB, over the "
                                f"{limit / 1048576:g} MiB bpkit accepts; not read")
        chunks: list[bytes] = []
        total = 0
        for chunk in resp.iter_content(_CHUNK):
            total += len(chunk)
            if total > limit:
                raise UpstreamError(f"{shown}: {what} is over the {limit / 1048576:g} MiB bpkit "
                                    "accepts; not read further")
            chunks.append(chunk)
            if self._clock() - started > self.deadline:
                raise UpstreamError(f"{shown}: {what}: not complete within "
                                    f"{seconds(self.deadline)}; giving up")
        return b"".join(chunks)

    # -- retry and classification -------------------------------------------------

    def _retrying(self, key: str, doing: str, step: Callable[[], _T]) -> _T:
        deadline = self._clock() + self.retry_budget
        attempt = 0
        while True:
            try:
                return step()
            except Transient as exc:
                delay = backoff_delay(attempt, self._rng, exc.retry_after)
                left = deadline - self._clock()
                attempt += 1
                too_long = exc.retry_after is not None and exc.retry_after > left
                if left <= 0 or too_long:
                    tries = "1 attempt" if attempt == 1 else f"{attempt} attempts"
                    raise UpstreamError(
                        f"{self._show(key)}: {doing} failed after {tries} within the "
                        f"{seconds(self.retry_budget)} retry budget: {exc.reason}") from None
                self._sleep(min(delay, left))

    def _classify(self, key: str, exc: BaseException, url: str) -> Exception:
        requests = requests_module()
        parts = urlsplit(url)
        target = parts.netloc + ("" if parts.port else (":80" if parts.scheme == "http"
                                                        else ":443"))
        shown = self._show(key)
        chain = list(exception_chain(exc))
        if isinstance(exc, requests.exceptions.SSLError):
            return UpstreamError(
                f"{shown}: TLS error talking to {target}: {ssl_reason(chain)} (give the "
                "repository's CA with --ca-file or SSL_CERT_FILE)")
        if any(isinstance(e, ConnectionRefusedError) for e in chain):
            return UpstreamError(f"{shown}: cannot connect to {target}: connection refused")
        if any(type(e).__name__ in ("NameResolutionError", "gaierror") for e in chain):
            return UpstreamError(f"{shown}: cannot connect to {target}: host name not found")
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            return Transient(f"no connection to {target} within {seconds(self.timeout[0])}")
        if isinstance(exc, requests.exceptions.ReadTimeout):
            return Transient(f"no answer from {target} within {seconds(self.timeout[1])}")
        if isinstance(exc, (requests.exceptions.ConnectionError,
                            requests.exceptions.ChunkedEncodingError)) or any(
                isinstance(e, (ConnectionResetError, BrokenPipeError)) for e in chain):
            return Transient(f"connection dropped by {target}")
        detail = one_line(redact(str(exc), self._secrets), 200)
        return UpstreamError(f"{shown}: request to {target} failed: {type(exc).__name__}: "
                             f"{printable(detail)}")

    def _show(self, url: str) -> str:
        return printable(redact(url, self._secrets))


def _chart_version(name: str, item: Any) -> ChartVersion | None:
    if not isinstance(item, dict):
        return None
    version = item.get("version")
    if not isinstance(version, str) or not version:
        return None
    urls = item.get("urls")
    url_list = tuple(u for u in urls if isinstance(u, str) and u) if isinstance(urls, list) else ()
    app = item.get("appVersion")
    app_version = app if isinstance(app, str) else (str(app) if isinstance(app, (int, float))
                                                    and not isinstance(app, bool) else None)
    raw = item.get("digest")
    digest = None
    if isinstance(raw, str):
        hex_part = raw.removeprefix("sha256:").lower()
        if len(hex_part) == 64 and set(hex_part) <= _HEX64:
            digest = "sha256:" + hex_part
    return ChartVersion(name=name, version=version, app_version=app_version, urls=url_list,
                        digest=digest)
