"""Helm's OCI artifact format: config, manifest, annotations, image layout.

(Stub: being written. The Artifact shape below is the contract between
packaging, the targets and publishing.)
"""

from __future__ import annotations

from dataclasses import dataclass

MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_MEDIA_TYPE = "application/vnd.cncf.helm.config.v1+json"
CHART_LAYER_MEDIA_TYPE = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"


@dataclass(frozen=True)
class Artifact:
    """Everything needed to publish one chart, digests computed up front."""

    name: str  # repository's last path part, the chart name: "bp-flux"
    tag: str  # chart version with "+" replaced by "_"
    config: bytes  # Helm's config blob
    layer: bytes  # the chart .tgz
    manifest: bytes  # exact manifest bytes
    digest: str  # "sha256:<hex>" of manifest
