"""OCI artifacts for tests: small, Helm-shaped, with digests that are right."""

from __future__ import annotations

import hashlib
import json

from bpkit.oci.artifact import CHART_LAYER_MEDIA_TYPE, CONFIG_MEDIA_TYPE, Artifact


def build_artifact(
    name: str = "bp-demo", tag: str = "1.0.0", payload: bytes = b"", layer: bytes | None = None
) -> Artifact:
    """A small Helm-shaped artifact: config JSON, a layer, a compact manifest referencing both.

    The layer is unique to name, tag and payload unless given.
    """
    version = tag.replace("_", "+")
    config = json.dumps(
        {"name": name, "version": version, "apiVersion": "v2"}, separators=(",", ":")
    ).encode()
    if layer is None:
        layer = b"not really a tgz: " + name.encode() + b" " + tag.encode() + b" " + payload
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "config": {
                "mediaType": CONFIG_MEDIA_TYPE,
                "digest": "sha256:" + hashlib.sha256(config).hexdigest(),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": CHART_LAYER_MEDIA_TYPE,
                    "digest": "sha256:" + hashlib.sha256(layer).hexdigest(),
                    "size": len(layer),
                }
            ],
            "annotations": {
                "org.opencontainers.image.title": name,
                "org.opencontainers.image.version": version,
            },
        },
        separators=(",", ":"),
    ).encode()
    digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
    return Artifact(
        name=name, tag=tag, config=config, layer=layer, manifest=manifest, digest=digest
    )
