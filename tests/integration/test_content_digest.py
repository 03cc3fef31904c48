"""A release compressed by another zlib is "unchanged (compressed differently)", not refused.

A machine whose zlib compresses differently (zlib-ng, as Fedora ships)
packages the same chart into other .tgz bytes, so another manifest digest.
Played here by compressing the same tar at zlib level 1: that release is
pushed first (to a real docker-registry, and to an OCI layout), then
`bpkit publish` of the same blueprint must exit 0 and leave the tag alone.
Another release (other tar bytes) is still refused.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from bpkit.helm import tgz
from bpkit.net.registry import RegistryTarget
from bpkit.oci.artifact import CONTENT_DIGEST, Artifact, content_digest_of, sha256_digest
from bpkit.oci.layout import LayoutTarget
from bpkit.package.build import Package, build_package
from bpkit.source.model import load_blueprint
from tests.helpers.cli import Run
from tests.helpers.git import platform_repo
from tests.helpers.publish import run

if TYPE_CHECKING:
    from tests.integration.conftest import RunningRegistry

pytestmark = pytest.mark.integration


def package(repo: Path, name: str = "flux") -> Package:
    return build_package(load_blueprint(repo / "platform" / name), [])


def recompressed(pkg: Package, level: int) -> Artifact:
    """`pkg`'s release as a machine with another zlib would build it.

    The same tar, compressed at another level; in the manifest only the
    chart layer's digest and size change (bytes otherwise as bpkit writes).
    """
    tar = gzip.decompress(pkg.archive)
    layer = tgz.recompress(tar, level)
    assert layer != pkg.archive
    ours = pkg.artifact
    old = f'"digest":"{ours.layer_digest}","size":{len(ours.layer)}'.encode()
    new = f'"digest":"{sha256_digest(layer)}","size":{len(layer)}'.encode()
    assert ours.manifest.count(old) == 1
    manifest = ours.manifest.replace(old, new)
    other = dataclasses.replace(ours, layer=layer, manifest=manifest,
                                digest=sha256_digest(manifest))
    assert other.digest != ours.digest
    assert content_digest_of(other.manifest) == ours.content_digest == sha256_digest(tar)
    return other


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return platform_repo(tmp_path)


def results(r: Run) -> dict[str, dict[str, Any]]:
    """`--format json` output, by chart name."""
    return {row["name"]: row for row in json.loads(r.out)["results"]}


def test_content_digest_is_the_uncompressed_tar(repo: Path) -> None:
    pkg = package(repo)
    manifest = json.loads(pkg.artifact.manifest)
    tar = gzip.decompress(pkg.archive)
    assert manifest["annotations"][CONTENT_DIGEST] == sha256_digest(tar)
    assert pkg.artifact.content_digest == sha256_digest(tar)


def test_registry_tag_compressed_differently_is_unchanged(
        repo: Path, registry: RunningRegistry) -> None:
    pkg = package(repo)
    theirs = recompressed(pkg, 1)
    assert RegistryTarget(registry.url).push(theirs).status == "published"

    dry = run(repo, "publish", "flux", "--registry", registry.url, "--dry-run",
              "--format", "json")
    assert dry.code == 0, dry.err
    assert results(dry)["bp-flux"]["status"] == "would skip"

    r = run(repo, "publish", "flux", "--registry", registry.url, "--format", "json")
    assert r.code == 0, r.out + r.err
    row = results(r)["bp-flux"]
    assert row["status"] == "unchanged" and row["ok"] is True
    assert row["digest"] == theirs.digest  # what the tag holds, e.g. for signing
    assert row["message"].startswith("unchanged (compressed differently)")
    assert registry.manifest("bp-flux", "1.0.0") == theirs.manifest  # left alone
    assert registry.blob("bp-flux", pkg.artifact.layer_digest) is None  # nothing uploaded

    text = run(repo, "publish", "flux", "--registry", registry.url)
    assert text.code == 0, text.err
    assert "bp-flux: unchanged (compressed differently)" in text.out + text.err


def test_registry_other_content_is_still_refused(repo: Path, registry: RunningRegistry) -> None:
    pkg = package(repo)
    theirs = recompressed(pkg, 1)
    # Our content digest claimed, but another creation time: not this release.
    manifest = json.loads(theirs.manifest)
    manifest["annotations"]["org.opencontainers.image.created"] = "2001-01-01T00:00:00Z"
    raw = json.dumps(manifest, separators=(",", ":")).encode()
    forged = dataclasses.replace(theirs, manifest=raw, digest=sha256_digest(raw))
    assert RegistryTarget(registry.url).push(forged).status == "published"
    r = run(repo, "publish", "flux", "--registry", registry.url, "--format", "json")
    assert r.code == 1, r.out + r.err
    row = results(r)["bp-flux"]
    assert row["status"] == "refused"
    assert forged.digest in row["message"] and pkg.artifact.digest in row["message"]
    assert registry.manifest("bp-flux", "1.0.0") == raw


def test_layout_compressed_differently_is_unchanged(repo: Path) -> None:
    pkg = package(repo)
    theirs = recompressed(pkg, 1)
    layout = repo / "dist" / "oci"
    assert LayoutTarget(layout).push(theirs) is True
    index = (layout / "index.json").read_bytes()

    r = run(repo, "publish", "flux", "--format", "json")
    assert r.code == 0, r.out + r.err
    row = results(r)["bp-flux"]
    assert (row["status"], row["digest"]) == ("unchanged", theirs.digest)
    assert (layout / "index.json").read_bytes() == index
    assert not (layout / "blobs" / "sha256" / pkg.artifact.layer_digest[7:]).exists()
    raw = subprocess.run(["skopeo", "inspect", "--raw", f"oci:{layout}:bp-flux:1.0.0"],
                         capture_output=True, check=True, timeout=30).stdout
    assert raw == theirs.manifest

    # Another tar under the same tag is refused, as before.
    (repo / "platform" / "cert-manager" / "chart" / "values.yaml").open("a").write("# x\n")
    other = package(repo, "cert-manager")
    assert LayoutTarget(layout).push(recompressed(other, 1)) is True
    (repo / "platform" / "cert-manager" / "chart" / "values.yaml").open("a").write("# y\n")
    refused = run(repo, "publish", "cert-manager", "--format", "json")
    assert refused.code == 1
    assert results(refused)["bp-cert-manager"]["status"] == "refused"
