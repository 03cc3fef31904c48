"""bpkit.oci.artifact against real Helm (helm-sdkpy): the bytes of `helm push`; Helm reads ours.

Helm's `created` annotation is the pushed .tgz file's mtime, so each test
sets that mtime (or reads back what Helm wrote) and builds bpkit's artifact
with the same time; then config and manifest must be byte-identical.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import tarfile
import urllib.request
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

import pytest
from ruamel.yaml import YAML

from bpkit.oci import artifact as artifact_mod
from bpkit.oci.layout import LayoutTarget, ref_name

try:
    from tests.integration import helmcheck
except ImportError:  # tests/ is not a package: pytest put this folder on sys.path
    import helmcheck  # type: ignore[import-not-found,no-redef]

if TYPE_CHECKING:
    from tests.integration.conftest import RunningRegistry

pytestmark = [pytest.mark.integration, pytest.mark.helm]


def _golden() -> ModuleType:
    """tests/test_oci.py, where the Helm-made golden bytes are pinned."""
    path = Path(__file__).resolve().parents[1] / "test_oci.py"
    spec = importlib.util.spec_from_file_location("bpkit_test_oci_golden", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GOLDEN = _golden()


@pytest.fixture(autouse=True)
def _needs_helm() -> None:
    helmcheck.require_helm()


def load_yaml(text: str | bytes) -> Any:
    return YAML(typ="safe", pure=True).load(text)


def chart_yaml_in(tgz: bytes) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(tgz), mode="r:gz") as tf:
        for member in tf.getmembers():
            if member.name.count("/") == 1 and member.name.endswith("/Chart.yaml"):
                fh = tf.extractfile(member)
                assert fh is not None
                return fh.read()
    raise AssertionError("no Chart.yaml in archive")


def make_tgz(name: str, chart_yaml: str, values: str = "a: 1\n") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.PAX_FORMAT) as tf:
        for path, text in (("Chart.yaml", chart_yaml), ("values.yaml", values)):
            data = text.encode()
            info = tarfile.TarInfo(f"{name}/{path}")
            info.size, info.mtime, info.mode = len(data), 1714564800, 0o644
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def write_tgz(directory: Path, name: str, data: bytes, mtime: int) -> Path:
    path = directory / f"{name}.tgz"
    path.write_bytes(data)
    os.utime(path, (mtime, mtime))
    return path


def epoch_of(created: str) -> int:
    assert created.endswith("Z"), created  # helmcheck runs Helm with TZ=UTC
    return int(datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp())


def http_push(registry: RunningRegistry, art: artifact_mod.Artifact) -> None:
    """Blobs then manifest, with plain HTTP requests: no bpkit, no oras."""
    base = f"http://{registry.host}"
    repo = registry.repo(art.name)

    def send(method: str, url: str, body: bytes | None, ctype: str | None = None) -> Any:
        req = urllib.request.Request(url, data=body, method=method)
        if ctype:
            req.add_header("Content-Type", ctype)
        return urllib.request.urlopen(req, timeout=10)

    for digest, data in art.blobs:
        with send("POST", f"{base}/v2/{repo}/blobs/uploads/", b"") as resp:
            assert resp.status == 202
            location = urljoin(base, resp.headers["Location"])
        sep = "&" if "?" in location else "?"
        with send("PUT", f"{location}{sep}digest={digest}", data, "application/octet-stream") as r:
            assert r.status == 201
    url = f"{base}/v2/{repo}/manifests/{art.tag}"
    with send("PUT", url, art.manifest, artifact_mod.MANIFEST_MEDIA_TYPE) as resp:
        assert resp.status == 201
        assert resp.headers["Docker-Content-Digest"] == art.digest


# --- Helm writes what bpkit computes -------------------------------------------


def test_helm_push_gives_the_pinned_golden_bytes(registry: RunningRegistry, tmp_path: Path) -> None:
    # The unit tests' metadata is what this archive really holds.
    assert load_yaml(chart_yaml_in(GOLDEN.GOLDEN_TGZ)) == GOLDEN.GOLDEN_META
    tgz = write_tgz(tmp_path, "bp-flux-1.2.3", GOLDEN.GOLDEN_TGZ, GOLDEN.GOLDEN_CREATED)
    digest = helmcheck.push(tgz, registry.url)
    ours = artifact_mod.build_artifact(
        GOLDEN.GOLDEN_META, GOLDEN.GOLDEN_TGZ, created_epoch=GOLDEN.GOLDEN_CREATED
    )
    assert registry.skopeo_raw("bp-flux", "1.2.3", config=True) == GOLDEN.GOLDEN_CONFIG
    assert registry.skopeo_raw("bp-flux", "1.2.3") == GOLDEN.GOLDEN_MANIFEST
    assert digest == GOLDEN.GOLDEN_DIGEST == ours.digest
    assert ours.manifest == GOLDEN.GOLDEN_MANIFEST


FRESH_CHART = """\
apiVersion: v2
name: bp-fresh
description: "Tricky: <b>bold</b> & \\"quoted\\" \\u2028 and\\ttabs"
version: 0.4.0+rc.1
appVersion: "v1.2"
home: https://example.com/?a=1&b=2
sources: [https://example.com/src]
maintainers:
  - {name: Ann, email: ann@example.com}
  - {email: ops@example.com}
keywords: [x]
annotations:
  org.opencontainers.image.version: "9.9.9"
  catalyst.openova.io/note: "a > b"
"""


def test_helm_package_and_push_matches_build_artifact(
    registry: RunningRegistry, tmp_path: Path
) -> None:
    chart = tmp_path / "src" / "bp-fresh"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text(FRESH_CHART)
    (chart / "values.yaml").write_text("catalystBlueprint:\n  upstream: {chart: x}\n")
    (chart / "templates" / "cm.yaml").write_text("kind: ConfigMap\n")
    tgz, digest = helmcheck.helm_package_and_push(chart, registry.url, dest_dir=tmp_path)
    helm_manifest = registry.skopeo_raw("bp-fresh", "0.4.0_rc.1")
    helm_config = registry.skopeo_raw("bp-fresh", "0.4.0_rc.1", config=True)
    # Helm stamped the archive's mtime; build ours with the time Helm wrote.
    created = epoch_of(json.loads(helm_manifest)["annotations"][artifact_mod.ANNOTATION_CREATED])
    assert created == int(tgz.stat().st_mtime)
    ours = artifact_mod.build_artifact(
        load_yaml(FRESH_CHART), tgz.read_bytes(), created_epoch=created, upstream=None
    )
    assert ours.config == helm_config
    assert ours.manifest == helm_manifest
    assert ours.digest == digest
    assert (ours.name, ours.tag) == ("bp-fresh", "0.4.0_rc.1")


# Each was seen to differ between naive JSON and Helm; all parse the same in
# YAML 1.1 (Helm) and 1.2 (ruamel).
VARIANTS = {
    "numbers": "appVersion: 1.10\nkeywords: [1, 2.5, null, x]\nannotations: {x: 1.5, nil: null}\n",
    "controls": 'annotations:\n  ctl: "a\\bb\\fc\\x01d\\x7fe\\u2028f\\u2029"\n  "<k>": "&"\n',
    "blank": 'description: "  \\t "\nhome: " "\nmaintainers:\n  - {}\n  - {name: "", email: ""}\n',
    "sanitize": 'description: "a\\u00a0b\\u200bc\\u00adD\\x1fE\\u0085F"\nsources: [" ", b]\n',
    "case": "Description: upper\nAPPVERSION: 2\nmaintainers:\n - NAME: z\n   Email: e\n",
    "deps": (
        "dependencies:\n  - name: sub\n    version: 0.1.0\n    repository: ''\n"
        "    alias: s2\n    enabled: true\n    import-values: [a, {child: b, parent: c}]\n"
        "    tags: [t1]\n    condition: sub.enabled\n"
    ),
    "full": (
        "type: library\nicon: i\ncondition: c\ntags: t\nkubeVersion: '>=1'\nhome: h\n"
        "deprecated: true\nappVersion: 1.5e-7\n"
    ),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_helm_push_of_edge_cases_matches(
    variant: str, registry: RunningRegistry, tmp_path: Path
) -> None:
    name = f"bp-{variant}"
    text = f"apiVersion: v2\nname: {name}\nversion: 1.0.0\n" + VARIANTS[variant]
    data = make_tgz(name, text)
    if variant == "deps":  # Helm wants the dependency present
        data = _with_subchart(name, text)
    tgz = write_tgz(tmp_path, name, data, 1714564800)
    digest = helmcheck.push(tgz, registry.url)
    ours = artifact_mod.build_artifact(load_yaml(text), data, created_epoch=1714564800)
    assert registry.skopeo_raw(name, "1.0.0", config=True) == ours.config
    assert registry.skopeo_raw(name, "1.0.0") == ours.manifest
    assert digest == ours.digest


def _with_subchart(name: str, chart_yaml: str) -> bytes:
    buf = io.BytesIO()
    files = {
        f"{name}/Chart.yaml": chart_yaml,
        f"{name}/values.yaml": "a: 1\n",
        f"{name}/charts/sub/Chart.yaml": "apiVersion: v2\nname: sub\nversion: 0.1.0\n",
    }
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for path, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(path)
            info.size, info.mtime = len(data), 1714564800
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


# --- Helm reads what bpkit publishes --------------------------------------------


def test_helm_reads_our_artifact_pushed_over_plain_http(registry: RunningRegistry) -> None:
    art = artifact_mod.build_artifact(
        GOLDEN.GOLDEN_META, GOLDEN.GOLDEN_TGZ, created_epoch=1, upstream=GOLDEN.UPSTREAM
    )
    http_push(registry, art)
    assert registry.skopeo_raw("bp-flux", "1.2.3") == art.manifest
    chart = load_yaml(helmcheck.show_chart(f"{registry.url}/bp-flux:1.2.3"))
    assert chart["name"] == "bp-flux"
    assert chart["version"] == "1.2.3"
    assert chart["description"] == GOLDEN.GOLDEN_META["description"]
    values = load_yaml(helmcheck.show_values(f"{registry.url}/bp-flux:1.2.3"))
    assert values["catalystBlueprint"]["upstream"]["chart"] == "flux2"


def test_helm_maps_underscore_tag_back_to_build_metadata(registry: RunningRegistry) -> None:
    text = "apiVersion: v2\nname: bp-build\nversion: 2.0.0+build.5\n"
    art = artifact_mod.build_artifact(load_yaml(text), make_tgz("bp-build", text), created_epoch=1)
    assert art.tag == "2.0.0_build.5"
    http_push(registry, art)
    # No version given: Helm lists the tags, reads "_" as "+", and picks this one.
    chart = load_yaml(helmcheck.show_chart(f"{registry.url}/bp-build"))
    assert chart["version"] == "2.0.0+build.5"


def test_helm_reads_a_release_copied_from_the_layout(
    registry: RunningRegistry, tmp_path: Path
) -> None:
    import subprocess

    art = artifact_mod.build_artifact(
        GOLDEN.GOLDEN_META, GOLDEN.GOLDEN_TGZ, created_epoch=1, upstream=GOLDEN.UPSTREAM
    )
    root = tmp_path / "oci"
    LayoutTarget(root).push(art)
    dest = f"docker://{registry.host}/{registry.repo(art.name)}:{art.tag}"
    subprocess.run(
        [
            "skopeo",
            "copy",
            "--dest-tls-verify=false",
            f"oci:{root}:{ref_name(art.name, art.tag)}",
            dest,
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    chart = load_yaml(helmcheck.show_chart(f"{registry.url}/bp-flux:1.2.3"))
    assert chart["version"] == "1.2.3"
    assert registry.skopeo_raw("bp-flux", "1.2.3") == art.manifest


def test_helm_lint_accepts_the_golden_archive(tmp_path: Path) -> None:
    tgz = write_tgz(tmp_path, "bp-flux-1.2.3", GOLDEN.GOLDEN_TGZ, GOLDEN.GOLDEN_CREATED)
    result = helmcheck.lint(tgz)
    assert result["TotalChartsLinted"] == 1
    assert not result["Errors"]


def test_helm_failure_is_reported(registry: RunningRegistry) -> None:
    with pytest.raises(helmcheck.HelmFailed, match=r"not found|manifest unknown|failed"):
        helmcheck.show_chart(f"{registry.url}/bp-missing:1.0.0")
