"""The OCI image layout target, read and copied by real skopeo.

Checks that the `<chart>:<tag>` ref.name scheme works with skopeo's
`oci:PATH:REF` transport both ways, and that bytes survive a copy to a real
docker-registry unchanged (same digest).
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from bpkit.oci import artifact as artifact_mod
from bpkit.oci.layout import LayoutTarget, ref_name

pytestmark = pytest.mark.integration

if TYPE_CHECKING:
    from tests.integration.conftest import RunningRegistry


def chart_tgz(name: str, version: str) -> bytes:
    """A small but valid chart archive (Helm can load it)."""
    files = {
        "Chart.yaml": f"apiVersion: v2\nname: {name}\nversion: {version}\n".encode(),
        "values.yaml": b"catalystBlueprint:\n  upstream: {chart: up, version: 1.0.0, repo: x}\n",
    }
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.PAX_FORMAT) as tf:
        for path, data in files.items():
            info = tarfile.TarInfo(f"{name}/{path}")
            info.size, info.mtime, info.mode = len(data), 1714564800, 0o644
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def artifact(name: str, version: str) -> artifact_mod.Artifact:
    meta = {"apiVersion": "v2", "name": name, "version": version, "description": "a & b"}
    return artifact_mod.build_artifact(
        meta,
        chart_tgz(name, version),
        created_epoch=1714564800,
        upstream={"chart": "up", "version": "1.0.0", "repo": "https://charts.example"},
    )


def skopeo(*args: str) -> bytes:
    if shutil.which("skopeo") is None:
        pytest.fail("skopeo is missing: apt-get install skopeo")
    proc = subprocess.run(["skopeo", *args], capture_output=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout


def oci_ref(root: Path, art: artifact_mod.Artifact) -> str:
    return f"oci:{root}:{ref_name(art.name, art.tag)}"


@pytest.fixture
def published(tmp_path: Path) -> tuple[Path, list[artifact_mod.Artifact]]:
    root = tmp_path / "dist" / "oci"
    arts = [artifact("bp-flux", "1.0.0"), artifact("bp-cilium", "2.1.0+build.7")]
    target = LayoutTarget(root)
    for art in arts:
        assert target.push(art) is True
    return root, arts


def test_skopeo_reads_manifest_and_config_exactly(
    published: tuple[Path, list[artifact_mod.Artifact]],
) -> None:
    root, arts = published
    for art in arts:
        assert skopeo("inspect", "--raw", oci_ref(root, art)) == art.manifest
        assert skopeo("inspect", "--config", "--raw", oci_ref(root, art)) == art.config


def test_skopeo_copies_layout_to_registry_unchanged(
    published: tuple[Path, list[artifact_mod.Artifact]], registry: RunningRegistry
) -> None:
    root, arts = published
    for art in arts:
        dest = f"docker://{registry.host}/{registry.repo(art.name)}:{art.tag}"
        skopeo("copy", "--dest-tls-verify=false", oci_ref(root, art), dest)
        assert registry.manifest(art.name, art.tag) == art.manifest
        assert registry.blob(art.name, art.config_digest) == art.config
        assert registry.blob(art.name, art.layer_digest) == art.layer
        status, headers, _ = registry.http(
            "HEAD",
            f"/v2/{registry.repo(art.name)}/manifests/{art.tag}",
            {"Accept": artifact_mod.MANIFEST_MEDIA_TYPE},
        )
        assert status == 200
        assert headers["Docker-Content-Digest"] == art.digest
        assert registry.skopeo_raw(art.name, art.tag) == art.manifest


def test_layout_written_by_skopeo_is_understood(
    published: tuple[Path, list[artifact_mod.Artifact]], registry: RunningRegistry, tmp_path: Path
) -> None:
    root, arts = published
    flux, cilium = arts
    dest = f"docker://{registry.host}/{registry.repo(flux.name)}:{flux.tag}"
    skopeo("copy", "--dest-tls-verify=false", oci_ref(root, flux), dest)
    # skopeo writes a fresh layout, naming the entry with the same scheme.
    other = tmp_path / "from-skopeo"
    skopeo("copy", "--src-tls-verify=false", dest, oci_ref(other, flux))
    target = LayoutTarget(other)
    assert target.existing_digest(flux) == flux.digest
    assert target.read_manifest(flux.name, flux.tag) == flux.manifest
    assert target.push(flux) is False  # already published, by skopeo
    assert target.push(cilium) is True  # and bpkit can add to skopeo's layout
    assert skopeo("inspect", "--raw", oci_ref(other, cilium)) == cilium.manifest
    assert skopeo("inspect", "--raw", oci_ref(other, flux)) == flux.manifest
