"""Helm's OCI artifact format, byte for byte, so digests are known before pushing.

`helm push` builds three things from a chart archive: a config blob (the
Chart.yaml metadata as Go's `encoding/json` writes Helm's `Metadata`
struct), one layer (the .tgz itself) and an image manifest naming both.
This module rebuilds all three exactly as Helm 4 does (checked against
`helm push` through helm-sdkpy, see tests/integration/test_oci_helm.py),
so the manifest digest of a release is known without a registry, and
publishing the same chart twice is recognisably a no-op.

Chart.yaml's metadata as Helm marshals it is `bpkit.helm.chartmeta`.

bpkit adds three manifest annotations of its own (never to the config, so
the config stays byte-equal to Helm's), taken from the wrapper's
`catalystBlueprint.upstream` block in values.yaml, so a registry listing
shows what a wrapper wraps without downloading it:

* `io.openova.catalyst.upstream.chart`:   the upstream chart name
* `io.openova.catalyst.upstream.version`: the upstream chart version
* `io.openova.catalyst.upstream.repo`:    the upstream chart repository URL

and two about what the release is (see the README's "Release modes"):

* `io.openova.catalyst.mode`: `overlay` (values only, installs nothing by
  itself; a guard template fails its install), `bundle` (the upstream chart
  is inside as a subchart) or `standalone` (the wrapper opts out of an
  upstream and installs its own templates)
* `io.openova.catalyst.upstream.digest`: sha256 of the upstream chart
  archive, from `upstream.lock` (for a bundle: of the subchart inside)

They win over chart annotations of the same name; empty ones are skipped.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from bpkit.errors import PackageError, UsageError
from bpkit.helm.chartmeta import chart_metadata, go_is_blank, go_json, kind_of
from bpkit.oci.reference import NAME_COMPONENT_RE, TAG_RE

MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_MEDIA_TYPE = "application/vnd.cncf.helm.config.v1+json"
CHART_LAYER_MEDIA_TYPE = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
PROV_LAYER_MEDIA_TYPE = "application/vnd.cncf.helm.chart.provenance.v1.prov"

ANNOTATION_TITLE = "org.opencontainers.image.title"
ANNOTATION_VERSION = "org.opencontainers.image.version"
ANNOTATION_DESCRIPTION = "org.opencontainers.image.description"
ANNOTATION_URL = "org.opencontainers.image.url"
ANNOTATION_SOURCE = "org.opencontainers.image.source"
ANNOTATION_AUTHORS = "org.opencontainers.image.authors"
ANNOTATION_CREATED = "org.opencontainers.image.created"

UPSTREAM_CHART = "io.openova.catalyst.upstream.chart"
UPSTREAM_VERSION = "io.openova.catalyst.upstream.version"
UPSTREAM_REPO = "io.openova.catalyst.upstream.repo"
UPSTREAM_DIGEST = "io.openova.catalyst.upstream.digest"
MODE = "io.openova.catalyst.mode"
MODE_OVERLAY, MODE_BUNDLE, MODE_STANDALONE = "overlay", "bundle", "standalone"
MODES = (MODE_OVERLAY, MODE_BUNDLE, MODE_STANDALONE)
# values.yaml `catalystBlueprint.upstream` key -> manifest annotation
UPSTREAM_ANNOTATIONS = {
    "chart": UPSTREAM_CHART,
    "version": UPSTREAM_VERSION,
    "repo": UPSTREAM_REPO,
}

# Distribution's grammar: a tag, and one path component of a repository.


@dataclass(frozen=True)
class Artifact:
    """Everything needed to publish one chart, digests computed up front."""

    name: str  # repository's last path part, the chart name: "bp-flux"
    tag: str  # chart version with "+" replaced by "_"
    config: bytes  # Helm's config blob
    layer: bytes  # the chart .tgz
    manifest: bytes  # exact manifest bytes
    digest: str  # "sha256:<hex>" of manifest

    @cached_property
    def config_digest(self) -> str:
        return sha256_digest(self.config)

    @cached_property
    def layer_digest(self) -> str:
        return sha256_digest(self.layer)

    @property
    def blobs(self) -> tuple[tuple[str, bytes], ...]:
        """(digest, bytes) of the blobs, in the order they must be uploaded."""
        return ((self.config_digest, self.config), (self.layer_digest, self.layer))


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# --- manifest ------------------------------------------------------------------


def created_rfc3339(epoch: int) -> str:
    """Go's time.RFC3339 for a UTC time: "2024-05-01T12:00:00Z"."""
    try:
        moment = _dt.datetime.fromtimestamp(epoch, tz=_dt.UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise UsageError(f"creation time {epoch} is not a usable Unix time") from exc
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _authors(maintainers: Sequence[Mapping[str, str]]) -> str:
    parts = []
    for m in maintainers:
        text = m.get("name", "")
        if m.get("email"):
            text += f" ({m['email']})"
        parts.append(text)
    return ", ".join(parts)


def _annotations_of(
    md: Mapping[str, Any], created: str, upstream: Mapping[str, Any] | None,
    release: Mapping[str, str] | None = None,
) -> dict[str, str]:
    out: dict[str, str] = {}

    def add(key: str, value: str) -> None:
        if not go_is_blank(value):
            out[key] = value

    add(ANNOTATION_DESCRIPTION, md.get("description", ""))
    add(ANNOTATION_TITLE, md["name"])
    add(ANNOTATION_VERSION, md["version"])
    add(ANNOTATION_URL, md.get("home", ""))
    add(ANNOTATION_CREATED, created)
    if md.get("sources"):
        add(ANNOTATION_SOURCE, md["sources"][0])
    if md.get("maintainers"):
        add(ANNOTATION_AUTHORS, _authors(md["maintainers"]))
    for key, value in md.get("annotations", {}).items():
        if key not in (ANNOTATION_TITLE, ANNOTATION_VERSION):
            out[key] = value
    for key, annotation in UPSTREAM_ANNOTATIONS.items():
        value = (upstream or {}).get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise PackageError(
                f"values.yaml: catalystBlueprint.upstream.{key} must be a string, "
                f"not {kind_of(value)}"
            )
        add(annotation, value)
    for key, value in (release or {}).items():
        add(key, value)
    return dict(sorted(out.items()))


# Not named `annotations`: that name is taken by `from __future__ import
# annotations`, and mypy would see the feature object in callers.
def manifest_annotations(
    meta: Mapping[str, Any], *, created: str, upstream: Mapping[str, str] | None
) -> dict[str, str]:
    """Manifest annotations: Helm's own, then bpkit's upstream ones; keys sorted."""
    return _annotations_of(chart_metadata(meta), created, upstream)


def _descriptor(media_type: str, data: bytes) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": sha256_digest(data), "size": len(data)}


def build_artifact(
    meta: Mapping[str, Any],
    archive: bytes,
    *,
    created_epoch: int,
    upstream: Mapping[str, str] | None = None,
    mode: str | None = None,
    upstream_digest: str | None = None,
) -> Artifact:
    """The artifact `helm push` would make of `archive`, created at `created_epoch`.

    `meta` must be the Chart.yaml inside `archive` (not checked here).
    With upstream, mode and upstream_digest None the manifest is byte-equal
    to Helm's for the same creation time.
    """
    if mode is not None and mode not in MODES:
        raise PackageError(f"release mode {mode!r} is not one of {', '.join(MODES)}")
    release = {k: v for k, v in ((MODE, mode), (UPSTREAM_DIGEST, upstream_digest)) if v}
    md = chart_metadata(meta)
    name, version = md["name"], md["version"]
    if not NAME_COMPONENT_RE.fullmatch(name):
        raise PackageError(
            f"Chart.yaml: name {name!r} cannot be an OCI repository name "
            "(lowercase letters, digits and . _ - separators)"
        )
    tag = version.replace("+", "_")
    if not TAG_RE.fullmatch(tag):
        raise PackageError(f"Chart.yaml: version {version!r} cannot be an OCI tag")
    config = go_json(md)
    manifest = go_json(
        {
            "schemaVersion": 2,
            "config": _descriptor(CONFIG_MEDIA_TYPE, config),
            "layers": [_descriptor(CHART_LAYER_MEDIA_TYPE, archive)],
            "annotations": _annotations_of(md, created_rfc3339(created_epoch), upstream,
                                          release),
        }
    )
    return Artifact(
        name=name,
        tag=tag,
        config=config,
        layer=archive,
        manifest=manifest,
        digest=sha256_digest(manifest),
    )
