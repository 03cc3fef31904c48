"""From a values.yaml `upstream` block to a verified, cached, locked chart.

locate (index.yaml or OCI manifest) -> download -> verify (index digest,
lock digest, strict archive reader, Chart.yaml name and version) ->
`ChartCache.put` -> `UpstreamLock`. The network is reached only through
`bpkit.net`, and only when the cache cannot answer: a chart whose locked
digest is cached is never downloaded again.

Every error is one line naming the repository and the chart, and says what
to do: the nearest versions that exist, the chart versions whose appVersion
is the pinned number, the chart name the user probably meant.
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bpkit.errors import BpkitError, PackageError, UpstreamError
from bpkit.helm.tgz import inspect
from bpkit.limits import UPSTREAM_MAX_ARCHIVE_BYTES
from bpkit.oci.artifact import (
    CHART_LAYER_MEDIA_TYPE,
    CONFIG_MEDIA_TYPE,
    PROV_LAYER_MEDIA_TYPE,
    sha256_digest,
)
from bpkit.settings import DEFAULT_RETRY_BUDGET, normalize_repo
from bpkit.source.lock import UpstreamLock
from bpkit.text import printable
from bpkit.upstream.cache import ChartCache
from bpkit.upstream.clients import Upstreams
from bpkit.upstream.summary import ensure_summary
from bpkit.versions import SEMVER_RE, Version

if TYPE_CHECKING:
    from bpkit.net.helmrepo import ChartVersion, HelmRepoClient
    from bpkit.source.model import Blueprint

__all__ = ["Resolved", "Resolver", "Upstream", "mismatch_message", "upstream_of"]

_KEEP = frozenset({"Chart.yaml", "values.yaml", "values.schema.json"})


@dataclass(frozen=True)
class Upstream:
    """The `catalystBlueprint.upstream` block of a wrapper's values.yaml."""

    chart: str
    version: str
    repo: str  # canonical, exactly as written in values.yaml (the lock keeps it so)

    def matches(self, lock: UpstreamLock) -> bool:
        return (self.chart, self.version, normalize_repo(self.repo)) == (
            lock.chart, lock.version, normalize_repo(lock.repo))

    def __str__(self) -> str:
        return f"{self.chart} {self.version}"


def upstream_of(bp: Blueprint) -> Upstream | None:
    """The blueprint's upstream block when it has the three strings (lint says what else)."""
    block = bp.upstream
    if block is None:
        return None
    chart, version, repo = (block.get(k) for k in ("chart", "version", "repo"))
    if not all(isinstance(v, str) and v for v in (chart, version, repo)):
        return None
    assert isinstance(chart, str) and isinstance(version, str) and isinstance(repo, str)
    return Upstream(chart, version, repo.strip())


@dataclass(frozen=True)
class Resolved:
    lock: UpstreamLock
    data: bytes
    downloaded: bool  # False: the cache had it


def mismatch_message(up: Upstream, source: str, got: str, expected: str) -> str:
    """What to say when the bytes on offer are not the locked ones."""
    if normalize_repo(source) != normalize_repo(up.repo):
        return (f"{source} (mirror of {up.repo}) serves {up} with digest {got}, but "
                f"upstream.lock has {expected}: the mirror holds other bytes than the locked "
                "upstream (re-sync the mirror)")
    return (f"{up.repo}: {up} now has digest {got}, but upstream.lock has {expected}: the "
            "upstream re-published this version with other bytes (check the change, then "
            "delete upstream.lock and run bpkit upstream lock)")


class Resolver(Upstreams):
    """Resolves upstreams for one run: one index per repository, one client per registry."""

    def __init__(
        self,
        cache: ChartCache,
        *,
        mirrors: Mapping[str, str] | None = None,
        env: Mapping[str, str] = os.environ,
        ca_file: str | Path | None = None,
        retry_budget: float = DEFAULT_RETRY_BUDGET,
        helm_client: Callable[[], HelmRepoClient] | None = None,
    ) -> None:
        super().__init__(mirrors=mirrors, env=env, ca_file=ca_file, retry_budget=retry_budget,
                         index_dir=cache.index_dir(), helm_factory=helm_client)
        self.cache = cache

    def __enter__(self) -> Resolver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- public -----------------------------------------------------------------

    def resolve(self, up: Upstream, *, locked: UpstreamLock | None = None) -> Resolved:
        """Resolve `up`; with a `locked` lock for the same chart, its digest must still hold."""
        expect = locked.digest if locked is not None and up.matches(locked) else None
        data, downloaded = self._obtain(up, expect)
        resolved = Resolved(self._describe(up, data), data, downloaded)
        self._summarize(resolved.lock, data)
        return resolved

    def fetch(self, lock: UpstreamLock) -> Resolved:
        """The locked chart's bytes: from the cache, else downloaded and checked."""
        up = Upstream(lock.chart, lock.version, lock.repo)
        cached = self.cache.get(lock.digest)
        if cached is not None:
            self._summarize(lock, cached)
            return Resolved(lock, cached, False)
        data, downloaded = self._obtain(up, lock.digest)
        self._summarize(lock, data)
        return Resolved(lock, data, downloaded)

    def _summarize(self, lock: UpstreamLock, data: bytes) -> None:
        """Leave the summary lint reads beside the cached chart (bpkit.upstream.summary)."""
        ensure_summary(self.cache.root, lock.digest, data, lock.chart, lock.version)

    # -- locate and download ----------------------------------------------------

    def _obtain(self, up: Upstream, expect: str | None) -> tuple[bytes, bool]:
        source = self.source_for(up.repo)
        try:
            if source.startswith("oci://"):
                data, downloaded = self._from_oci(up, source, expect)
            else:
                data, downloaded = self._from_helm_repo(up, source, expect)
        except UpstreamError:
            raise
        except BpkitError as exc:  # registry and usage errors: add which chart it was
            raise UpstreamError(f"{source}: {up}: {exc.message}") from None
        got = sha256_digest(data)
        if expect is not None and got != expect:
            raise UpstreamError(mismatch_message(up, source, got, expect))
        if downloaded:
            self.cache.put(data)
        return data, downloaded

    def _cached_if(self, expect: str | None, offered: str | None) -> bytes | None:
        if expect is None or (offered is not None and offered != expect):
            return None
        return self.cache.get(expect)

    def _from_helm_repo(self, up: Upstream, source: str,
                        expect: str | None) -> tuple[bytes, bool]:
        if not source.startswith(("https://", "http://")):
            raise UpstreamError(f"{printable(source)}: not an https:// or oci:// repository")
        client = self.helm_client()
        index = client.index(source)
        versions = index.entries.get(up.chart)
        if not versions:
            raise UpstreamError(_no_chart(up, source, list(index.entries)))
        entry = next((v for v in versions if v.version == up.version), None)
        if entry is None:
            raise UpstreamError(_no_version(up, source, versions))
        if expect is not None and entry.digest is not None and entry.digest != expect:
            raise UpstreamError(mismatch_message(up, source, entry.digest, expect))
        cached = self._cached_if(expect, entry.digest)
        if cached is not None:
            return cached, False
        return client.download(source, entry), True

    def _from_oci(self, up: Upstream, source: str, expect: str | None) -> tuple[bytes, bool]:
        from bpkit.errors import RegistryError

        target = self.registry(source)
        tag = up.version.replace("+", "_")
        try:
            manifest = target.get_manifest(up.chart, tag)
        except RegistryError as exc:
            if "HTTP 404" not in exc.message:
                raise
            tags = target.list_tags(up.chart)
            if not tags:
                raise UpstreamError(f"{source}: chart {up.chart} not found (no repository "
                                    f"{target.ref.repository(up.chart)} with tags)") from None
            fake = [_OciVersion(t.replace("_", "+")) for t in tags]
            raise UpstreamError(_no_version(up, source, fake)) from None
        layer = _chart_layer(up, source, manifest)
        digest, size = layer
        if size > UPSTREAM_MAX_ARCHIVE_BYTES:
            raise UpstreamError(f"{source}: {up}: the chart layer is {size:,} bytes, over the "
                                f"{UPSTREAM_MAX_ARCHIVE_BYTES:,} accepted")
        if expect is not None and digest != expect:
            raise UpstreamError(mismatch_message(up, source, digest, expect))
        cached = self._cached_if(expect, digest)
        if cached is not None:
            return cached, False
        return target.get_blob(up.chart, digest, limit=UPSTREAM_MAX_ARCHIVE_BYTES), True

    # -- what the chart says ------------------------------------------------------

    def _describe(self, up: Upstream, data: bytes) -> UpstreamLock:
        where = f"{self.source_for(up.repo)}: {up}"
        try:
            members = inspect(data, keep=lambda path: path in _KEEP)
        except PackageError as exc:
            raise UpstreamError(f"{where}: refusing the chart archive: {exc.message}") from None
        by_path = {m.path: m for m in members}
        meta = _chart_yaml(where, by_path["Chart.yaml"].data or b"")
        name, version = meta.get("name"), meta.get("version")
        if name != up.chart:
            raise UpstreamError(f"{where}: the archive holds chart {printable(str(name))!r}, "
                                f"not {up.chart}")
        if str(version) != up.version:
            raise UpstreamError(f"{where}: the archive's Chart.yaml says version "
                                f"{printable(str(version))}, not {up.version}")
        app = meta.get("appVersion")
        app_version = None if app is None or isinstance(app, (dict, list)) else str(app)
        kind = meta.get("type") or "application"
        if kind not in ("application", "library"):
            raise UpstreamError(f"{where}: Chart.yaml type {printable(str(kind))!r} is neither "
                                "application nor library")
        values = by_path.get("values.yaml")
        schema = by_path.get("values.schema.json")
        return UpstreamLock(
            chart=up.chart, version=up.version, repo=up.repo, digest=sha256_digest(data),
            app_version=app_version, type=str(kind),
            values_digest=f"sha256:{values.sha256}" if values is not None else None,
            schema_digest=f"sha256:{schema.sha256}" if schema is not None else None,
        )


# --------------------------------------------------------------------------- helpers


@dataclass(frozen=True)
class _OciVersion:
    version: str
    app_version: str | None = None


def _chart_yaml(where: str, raw: bytes) -> dict[str, Any]:
    from bpkit.yamlio.load import parse

    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        raise UpstreamError(f"{where}: Chart.yaml is not UTF-8") from None
    doc, problems = parse(text, Path("Chart.yaml"), "Chart.yaml")
    if doc is None or not isinstance(doc.data, dict):
        why = problems[0].message if problems else "not a mapping"
        raise UpstreamError(f"{where}: Chart.yaml: {why}")
    return doc.data


def _chart_layer(up: Upstream, source: str, manifest: bytes) -> tuple[str, int]:
    where = f"{source}: {up}"
    try:
        data = json.loads(manifest)
    except ValueError:
        raise UpstreamError(f"{where}: the manifest is not JSON") from None
    if not isinstance(data, dict):
        raise UpstreamError(f"{where}: the manifest is not a JSON object")
    config = data.get("config")
    config_type = config.get("mediaType") if isinstance(config, dict) else None
    if config_type != CONFIG_MEDIA_TYPE:
        raise UpstreamError(f"{where}: not a Helm chart (config media type "
                            f"{printable(str(config_type))!r}, expected {CONFIG_MEDIA_TYPE})")
    layers = data.get("layers")
    charts = []
    for layer in layers if isinstance(layers, list) else []:
        media = layer.get("mediaType") if isinstance(layer, dict) else None
        if media == CHART_LAYER_MEDIA_TYPE:
            charts.append(layer)
        elif media != PROV_LAYER_MEDIA_TYPE:
            raise UpstreamError(f"{where}: unknown layer media type {printable(str(media))!r} "
                                "(Helm refuses it too)")
    if len(charts) != 1:
        raise UpstreamError(f"{where}: expected one chart layer ({CHART_LAYER_MEDIA_TYPE}), "
                            f"found {len(charts)}")
    digest, size = charts[0].get("digest"), charts[0].get("size")
    if not isinstance(digest, str) or not digest.startswith("sha256:"):
        raise UpstreamError(f"{where}: the chart layer has no sha256 digest")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise UpstreamError(f"{where}: the chart layer has no valid size")
    return digest, size


def _no_chart(up: Upstream, source: str, names: list[str]) -> str:
    close = difflib.get_close_matches(up.chart, names, n=3, cutoff=0.6)
    close += [n for n in names if up.chart in n and n not in close][: 3 - len(close)]
    hint = f"; did you mean {' or '.join(close)}?" if close else (
        "; the repository is empty" if not names else "")
    return f"{source}: no chart named {up.chart}{hint}"


def _parse(version: str) -> Version | None:
    if SEMVER_RE.fullmatch(version) is None:
        return None
    return Version.parse(version)


def _no_version(up: Upstream, source: str, versions: list[ChartVersion] | list[_OciVersion]
                ) -> str:
    bare = up.version.removeprefix("v")
    apps = sorted({v.version for v in versions
                   if v.app_version is not None and v.app_version.removeprefix("v") == bare},
                  key=lambda s: (_parse(s) or Version(0, 0, 0), s))
    if apps:
        return (f"{source}: {up.chart} {up.version} is an appVersion, not a chart version; "
                f"chart versions with appVersion {up.version}: {', '.join(apps)}")
    pin = _parse(up.version)
    known = sorted({(p, v.version) for v in versions if (p := _parse(v.version)) is not None})
    nearest: list[str] = []
    if pin is not None and known:
        below = [s for p, s in known if p < pin][-2:]
        above = [s for p, s in known if p > pin][:2]
        nearest = below + above
    elif known:
        nearest = [s for _, s in known[-3:]]
    hint = f"; nearest: {', '.join(nearest)}" if nearest else ""
    return f"{source}: chart {up.chart} has no version {up.version}{hint}"
