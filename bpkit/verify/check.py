"""Check a published chart the way a careful consumer would, before trusting it.

`verify_manifest` takes a manifest's bytes and a way to read blobs (a
registry, an OCI layout, or the artifact still in memory before a push) and
checks, in order: the manifest digest (when the reference named one),
Helm's media types and layer set, each blob's digest and size, that the
config is Helm's metadata of the Chart.yaml inside, that Chart.yaml and
values.yaml load, the annotations (title, version, upstream, mode), and
that the release is not hollow (`bpkit.verify.hollow`). `verify_archive`
does the chart-level part for a bare .tgz.

Nothing here raises for a bad artifact: every problem is a Finding, so one
report says everything wrong at once.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bpkit.errors import BpkitError, PackageError
from bpkit.helm.chartmeta import chart_metadata
from bpkit.oci.artifact import (
    ANNOTATION_TITLE,
    ANNOTATION_VERSION,
    CHART_LAYER_MEDIA_TYPE,
    CONFIG_MEDIA_TYPE,
    MANIFEST_MEDIA_TYPE,
    MODE,
    PROV_LAYER_MEDIA_TYPE,
    Artifact,
    sha256_digest,
)
from bpkit.oci.reference import DIGEST_RE
from bpkit.text import one_line, printable
from bpkit.verify.hollow import ChartContents, Finding, hollow_findings, infer_mode, read_chart

__all__ = ["Report", "verify_archive", "verify_artifact", "verify_manifest"]

#: What a blob reader gets: (digest, size from the descriptor) -> bytes.
BlobReader = Callable[[str, int], bytes]


@dataclass
class Report:
    """What `verify` found about one reference; sound when there are no findings."""

    ref: str
    digest: str | None = None  # the manifest's (None for a .tgz)
    mode: str | None = None
    name: str | None = None
    version: str | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def add(self, check: str, message: str) -> None:
        self.findings.append(Finding(check, printable(one_line(message, 400))))

    def as_dict(self) -> dict[str, Any]:
        return {"ref": self.ref, "ok": self.ok, "digest": self.digest, "mode": self.mode,
                "name": self.name, "version": self.version,
                "problems": [{"check": f.check, "message": f.message} for f in self.findings]}


def _descriptor(raw: Any, where: str, report: Report) -> tuple[str, str, int] | None:
    if not isinstance(raw, dict):
        report.add("manifest", f"{where} is not a descriptor")
        return None
    media, digest, size = raw.get("mediaType"), raw.get("digest"), raw.get("size")
    if not isinstance(media, str) or not isinstance(digest, str) or \
            not isinstance(size, int) or isinstance(size, bool) or size < 0:
        report.add("manifest", f"{where} needs mediaType, digest and size")
        return None
    if not DIGEST_RE.fullmatch(digest):
        report.add("digest", f"{where} digest {digest!r} is not sha256:<hex>")
        return None
    return media, digest, size


def _read(read_blob: BlobReader, what: str, digest: str, size: int,
          report: Report) -> bytes | None:
    try:
        data = read_blob(digest, size)
    except BpkitError as exc:
        report.add("digest", f"{what} blob {digest}: {exc.message}")
        return None
    if sha256_digest(data) != digest:
        report.add("digest", f"{what} blob does not hash to {digest} (tampered or corrupt)")
        return None
    if len(data) != size:
        report.add("digest", f"{what} blob is {len(data)} bytes, the manifest says {size}")
        return None
    return data


def verify_manifest(ref: str, manifest: bytes, read_blob: BlobReader, *,
                    expected_digest: str | None = None) -> Report:
    """Everything about one artifact, from its manifest bytes down to the subchart."""
    report = Report(ref=ref, digest=sha256_digest(manifest))
    if expected_digest is not None and report.digest != expected_digest:
        report.add("digest", f"manifest is {report.digest}, not {expected_digest}")
    try:
        doc = json.loads(manifest)
    except (ValueError, UnicodeDecodeError):
        report.add("manifest", "manifest is not JSON")
        return report
    if not isinstance(doc, dict) or doc.get("schemaVersion") != 2:
        report.add("manifest", "not an OCI image manifest (schemaVersion 2)")
        return report
    if doc.get("mediaType", MANIFEST_MEDIA_TYPE) != MANIFEST_MEDIA_TYPE:
        report.add("media-type", f"manifest media type is {doc.get('mediaType')!r}, "
                                 f"not {MANIFEST_MEDIA_TYPE}")
    annotations = doc.get("annotations", {})
    if not isinstance(annotations, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in annotations.items()):
        report.add("annotations", "manifest annotations must map strings to strings")
        annotations = {}
    config_desc = _descriptor(doc.get("config"), "config", report)
    layers = doc.get("layers")
    if not isinstance(layers, list):
        report.add("manifest", "manifest has no layers list")
        layers = []
    chart_descs = []
    for i, raw in enumerate(layers):
        desc = _descriptor(raw, f"layers[{i}]", report)
        if desc is None:
            continue
        if desc[0] == CHART_LAYER_MEDIA_TYPE:
            chart_descs.append(desc)
        elif desc[0] != PROV_LAYER_MEDIA_TYPE:
            report.add("media-type", f"layers[{i}] has media type {desc[0]!r}, which Helm "
                                     "refuses to pull")
    if config_desc is not None and config_desc[0] != CONFIG_MEDIA_TYPE:
        report.add("media-type", f"config media type is {config_desc[0]!r}, "
                                 f"not {CONFIG_MEDIA_TYPE}")
    if len(chart_descs) != 1:
        report.add("media-type", f"{len(chart_descs)} chart layers "
                                 f"({CHART_LAYER_MEDIA_TYPE}); Helm wants exactly one")
    config = None
    if config_desc is not None:
        config = _read(read_blob, "config", config_desc[1], config_desc[2], report)
    layer = None
    if len(chart_descs) == 1:
        layer = _read(read_blob, "chart layer", chart_descs[0][1], chart_descs[0][2], report)
    if layer is None:
        return report
    contents = _chart_checks(layer, report)
    if contents is None:
        return report
    if config is not None and contents.chart is not None:
        _config_check(config, contents.chart, report)
    meta = contents.chart or {}
    for key, annotation in (("name", ANNOTATION_TITLE), ("version", ANNOTATION_VERSION)):
        if annotations.get(annotation) != str(meta.get(key)):
            report.add("annotations", f"{annotation} is {annotations.get(annotation)!r} but "
                                      f"Chart.yaml {key} is {meta.get(key)!r}")
    report.mode = annotations.get(MODE) or infer_mode(contents)
    for finding in hollow_findings(contents, annotations):
        report.add(finding.check, finding.message)
    return report


def _chart_checks(layer: bytes, report: Report) -> ChartContents | None:
    try:
        contents = read_chart(layer)
    except PackageError as exc:
        report.add("chart", exc.message)
        return None
    for finding in contents.findings:
        report.add(finding.check, finding.message)
    meta = contents.chart or {}
    report.name = meta.get("name") if isinstance(meta.get("name"), str) else None
    report.version = str(meta["version"]) if meta.get("version") is not None else None
    if contents.values is None and "values.yaml" not in contents.files:
        report.add("chart", "values.yaml is missing: a wrapper carries its upstream there")
    return contents


def _config_check(config: bytes, chart: dict[str, Any], report: Report) -> None:
    try:
        got = json.loads(config)
    except (ValueError, UnicodeDecodeError):
        report.add("chart", "config blob is not JSON")
        return
    try:
        want = chart_metadata(chart)
    except PackageError as exc:
        report.add("chart", exc.message)
        return
    if got != want:
        report.add("chart", "config blob is not the metadata of the Chart.yaml inside "
                            "(Helm shows one, installs the other)")


def verify_archive(ref: str, data: bytes) -> Report:
    """A bare chart .tgz: loads, and not hollow (its mode read from its contents)."""
    report = Report(ref=ref)
    contents = _chart_checks(data, report)
    if contents is None:
        return report
    report.mode = infer_mode(contents)
    for finding in hollow_findings(contents, None):
        report.add(finding.check, finding.message)
    return report


def verify_artifact(artifact: Artifact, ref: str = "") -> Report:
    """The same checks on an artifact still in memory (what publish runs before a push)."""
    blobs = dict(artifact.blobs)

    def read(digest: str, size: int) -> bytes:
        if digest not in blobs:
            raise PackageError("not part of the artifact")
        return blobs[digest]

    return verify_manifest(ref or f"{artifact.name}:{artifact.tag}", artifact.manifest, read,
                           expected_digest=artifact.digest)
