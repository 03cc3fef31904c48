"""`bpkit verify` on artifacts in memory, in OCI layouts and as .tgz files (no network)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bpkit.errors import UsageError
from bpkit.helm import tgz
from bpkit.lint.engine import lint_blueprints
from bpkit.oci.artifact import (
    UPSTREAM_DIGEST,
    UPSTREAM_VERSION,
    Artifact,
    build_artifact,
    sha256_digest,
)
from bpkit.package.build import Package, build_package
from bpkit.settings import load_settings
from bpkit.source.model import load_blueprint
from bpkit.verify.check import verify_archive, verify_artifact, verify_manifest
from bpkit.verify.refs import parse_ref
from tests.helpers.bundles import upstream_chart, write_bundle_blueprint
from tests.helpers.cli import bpkit


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("BPKIT_CACHE_DIR", str(folder))
    return folder


def package(root: Path, name: str, mode: str) -> Package:
    bp = load_blueprint(root / "platform" / name)
    return build_package(bp, lint_blueprints([bp], load_settings(root)), mode=mode)


def checks(report: Any) -> set[str]:
    return {f.check for f in report.findings}


def with_manifest(artifact: Artifact, edit: Any) -> tuple[bytes, Any]:
    """The artifact's manifest after `edit(doc)`, and a reader of its blobs."""
    doc = json.loads(artifact.manifest)
    edit(doc)
    blobs = dict(artifact.blobs)
    return json.dumps(doc).encode(), lambda digest, size: blobs[digest]


def test_sound_bundle_and_overlay(monorepo: Path, cache: Path) -> None:
    write_bundle_blueprint(monorepo, cache)
    bundle = verify_artifact(package(monorepo, "demo", "bundle").artifact)
    assert bundle.ok, bundle.findings
    assert (bundle.mode, bundle.name, bundle.version) == ("bundle", "bp-demo", "1.0.0")
    overlay = verify_artifact(package(monorepo, "flux", "overlay").artifact)
    assert overlay.ok and overlay.mode == "overlay"


def test_wrong_annotation(monorepo: Path, cache: Path) -> None:
    write_bundle_blueprint(monorepo, cache)
    artifact = package(monorepo, "demo", "bundle").artifact

    def edit(doc: Any) -> None:
        doc["annotations"][UPSTREAM_VERSION] = "9.9.9"

    manifest, read = with_manifest(artifact, edit)
    report = verify_manifest("x", manifest, read)
    assert not report.ok
    assert any(f.check == "annotations" and "9.9.9" in f.message for f in report.findings)


def test_bundle_subchart_must_match_the_annotated_digest(monorepo: Path, cache: Path) -> None:
    write_bundle_blueprint(monorepo, cache)
    pkg = package(monorepo, "demo", "bundle")
    other = sha256_digest(upstream_chart(version="1.2.3", templates={
        "templates/cm.yaml": "kind: ConfigMap\n", "templates/extra.yaml": "kind: Secret\n"}))

    def edit(doc: Any) -> None:
        doc["annotations"][UPSTREAM_DIGEST] = other

    report = verify_manifest("x", *with_manifest(pkg.artifact, edit))
    assert [f.check for f in report.findings] == ["digest"]
    assert "not the annotated" in report.findings[0].message


def test_hollow_overlay_without_guard_and_an_old_artifact(monorepo: Path) -> None:
    bp = load_blueprint(monorepo / "platform" / "flux")
    assert bp.chart is not None
    plain = tgz.build(bp.chart_dir, name="bp-flux", version="1.0.0", mtime=0)
    upstream = {k: str(v) for k, v in (bp.upstream or {}).items()}
    unguarded = build_artifact(bp.chart.data, plain, created_epoch=0, upstream=upstream,
                               mode="overlay")
    report = verify_artifact(unguarded)
    assert checks(report) == {"hollow"}
    assert "without templates/catalyst-overlay-guard.yaml" in report.findings[0].message
    before_modes = build_artifact(bp.chart.data, plain, created_epoch=0, upstream=upstream)
    assert {"mode", "hollow"} <= checks(verify_artifact(before_modes))


def test_tampered_layer_and_media_types(monorepo: Path) -> None:
    artifact = package(monorepo, "flux", "overlay").artifact
    blobs = dict(artifact.blobs)
    tampered = dict(blobs)
    tampered[artifact.layer_digest] = artifact.layer[:-1] + bytes([artifact.layer[-1] ^ 1])
    report = verify_manifest("x", artifact.manifest, lambda d, s: tampered[d])
    assert checks(report) == {"digest"}
    assert "does not hash" in report.findings[0].message

    def extra_layer(doc: Any) -> None:
        doc["layers"].append({"mediaType": "application/vnd.in-toto+json",
                              "digest": artifact.config_digest, "size": len(artifact.config)})
        doc["config"]["mediaType"] = "application/vnd.oci.image.config.v1+json"

    report = verify_manifest("x", *with_manifest(artifact, extra_layer))
    assert checks(report) == {"media-type"} and len(report.findings) == 2
    wrong = verify_manifest("x", artifact.manifest, lambda d, s: blobs[d],
                            expected_digest="sha256:" + "0" * 64)
    assert checks(wrong) == {"digest"}


def test_config_must_describe_the_chart_inside(monorepo: Path) -> None:
    artifact = package(monorepo, "flux", "overlay").artifact
    fake = json.dumps({"name": "bp-flux", "version": "1.0.0", "apiVersion": "v2",
                       "description": "something else"}).encode()

    def edit(doc: Any) -> None:
        doc["config"] = {"mediaType": doc["config"]["mediaType"],
                         "digest": sha256_digest(fake), "size": len(fake)}

    blobs = dict(artifact.blobs)
    blobs[sha256_digest(fake)] = fake
    manifest, _ = with_manifest(artifact, edit)
    report = verify_manifest("x", manifest, lambda d, s: blobs[d])
    assert [f.message for f in report.findings] == [
        "config blob is not the metadata of the Chart.yaml inside (Helm shows one, installs "
        "the other)"]


def test_parse_ref_forms() -> None:
    reg = parse_ref("oci://127.0.0.1:5000/team/charts/bp-x:1.2.3")
    assert (reg.kind, reg.location, reg.name, reg.reference) == (
        "registry", "oci://127.0.0.1:5000/team/charts", "bp-x", "1.2.3")
    digest = "sha256:" + "a" * 64
    assert parse_ref(f"oci://ghcr.io/o/bp-x@{digest}").reference == digest
    lay = parse_ref("oci:dist/oci:bp-x:1.0.0_build.1")
    assert (lay.kind, lay.location, lay.name, lay.reference) == (
        "layout", "dist/oci", "bp-x", "1.0.0_build.1")
    assert parse_ref("some/bp-x-1.0.0.tgz").kind == "archive"
    for bad in ("oci://ghcr.io/o/bp-x", "oci://ghcr.io/o/bp-x@sha256:12",
                "oci:dist/oci:bp-x", "ghcr.io/o/bp-x:1.0.0", "oci://u:p@ghcr.io/o/bp-x:1"):
        with pytest.raises(UsageError):
            parse_ref(bad)


def test_cli_layout_tgz_json_and_exit_codes(monorepo: Path, cache: Path) -> None:
    write_bundle_blueprint(monorepo, cache)
    env = {"BPKIT_CACHE_DIR": str(cache)}
    assert bpkit("publish", "demo", "--mode", "bundle", cwd=monorepo, env=env).code == 0
    assert bpkit("package", "flux", cwd=monorepo).code == 0
    ok = bpkit("verify", "oci:dist/oci:bp-demo:1.0.0", "dist/bp-flux-1.0.0.tgz", cwd=monorepo)
    assert ok.code == 0, ok.out + ok.err
    assert ok.lines[0].startswith("ok  oci:dist/oci:bp-demo:1.0.0  bp-demo 1.0.0 (bundle) sha256:")
    assert ok.lines[-1] == "2 of 2 sound"
    # tamper with the chart layer on disk: its digest no longer matches
    index = json.loads((monorepo / "dist" / "oci" / "index.json").read_text())
    manifest = json.loads((monorepo / "dist" / "oci" / "blobs" / "sha256" /
                           index["manifests"][0]["digest"].split(":")[1]).read_text())
    layer = monorepo / "dist" / "oci" / "blobs" / "sha256" / \
        manifest["layers"][0]["digest"].split(":")[1]
    layer.write_bytes(layer.read_bytes() + b"x")
    bad = bpkit("verify", "oci:dist/oci:bp-demo:1.0.0", "--format", "json", cwd=monorepo)
    assert bad.code == 1
    (result,) = json.loads(bad.out)["results"]
    assert result["ok"] is False and result["problems"][0]["check"] == "digest"
    assert "does not match its digest" in result["problems"][0]["message"]
    assert bpkit("verify", "nonsense:ref", cwd=monorepo).code == 2
    assert bpkit("verify", cwd=monorepo).code == 2
    missing = bpkit("verify", "oci:dist/oci:bp-nothing:1.0.0", cwd=monorepo)
    assert missing.code == 1 and "bp-nothing:1.0.0 is not in index.json" in missing.out


def test_bare_tgz_without_guard_is_hollow(monorepo: Path, tmp_path: Path) -> None:
    bp = load_blueprint(monorepo / "platform" / "flux")
    data = tgz.build(bp.chart_dir, name="bp-flux", version="1.0.0", mtime=0)
    report = verify_archive("x.tgz", data)
    assert report.mode is None and checks(report) == {"hollow"}
    assert "neither a bundle" in report.findings[0].message
    (tmp_path / "x.tgz").write_bytes(data)
    r = bpkit("verify", str(tmp_path / "x.tgz"), cwd=monorepo)
    assert r.code == 1 and r.lines[1].startswith("    hollow: neither a bundle")


def test_publish_checks_what_the_layout_serves_after_writing(
        monorepo: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from bpkit.oci.layout import LayoutTarget
    from bpkit.publish.pipeline import Destination, push_all

    pkg = package(monorepo, "flux", "overlay")
    real = LayoutTarget.read_blob

    def corrupting(self: LayoutTarget, digest: str) -> bytes:
        data = real(self, digest)
        return data[:-1] + bytes([data[-1] ^ 1]) if digest == pkg.artifact.layer_digest else data

    monkeypatch.setattr(LayoutTarget, "read_blob", corrupting)
    (outcome,) = push_all([pkg], Destination(layout=tmp_path / "oci"))
    assert outcome.status == "failed"
    assert "was pushed but what it serves is not sound" in outcome.message
    assert "does not hash" in outcome.message
