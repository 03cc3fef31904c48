"""Bundles and verify against a real docker-registry on 127.0.0.1, read back with skopeo.

The upstream chart is synthetic (tests/bundles.py) and sits in a real chart
cache folder with its upstream.lock, as `bpkit upstream lock` and `fetch`
leave them.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from bpkit.helm import tgz
from bpkit.helm.chartfiles import collect
from bpkit.net.registry import RegistryTarget
from bpkit.oci.artifact import (
    MODE,
    UPSTREAM_DIGEST,
    UPSTREAM_VERSION,
    Artifact,
    build_artifact,
    sha256_digest,
)
from bpkit.package.bundle import bundle_entries, load_bundle
from bpkit.source.model import load_blueprint
from bpkit.upstream.cache import ChartCache
from tests.helpers.blueprints import write_blueprint
from tests.helpers.bundles import upstream_chart, write_bundle_blueprint
from tests.helpers.cli import Run, bpkit

if TYPE_CHECKING:
    from tests.integration.conftest import RunningRegistry

pytestmark = pytest.mark.integration


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, timeout=30)


def make_repo(root: Path, cache: Path) -> Path:
    root.mkdir(parents=True)
    write_bundle_blueprint(root, cache)
    write_blueprint(root, "flux")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "wrappers")
    return root


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def repo(tmp_path: Path, cache: Path) -> Path:
    return make_repo(tmp_path / "repo", cache)


def run(repo: Path, cache: Path, *args: str, code: int = 0, **env: str) -> Run:
    r = bpkit(*args, cwd=repo, env={"BPKIT_CACHE_DIR": str(cache), "HOME": str(repo),
                                    "DOCKER_CONFIG": str(repo / ".docker"), **env})
    assert r.code == code, r.out + r.err
    assert "Traceback" not in r.err
    return r


def push_raw(reg: RunningRegistry, artifact: Artifact) -> None:
    with RegistryTarget(reg.url) as target:
        target.push(artifact)


def edited(artifact: Artifact, tag: str, edit: Any) -> Artifact:
    doc = json.loads(artifact.manifest)
    edit(doc)
    manifest = json.dumps(doc, separators=(",", ":")).encode()
    return Artifact(name=artifact.name, tag=tag, config=artifact.config, layer=artifact.layer,
                    manifest=manifest, digest=sha256_digest(manifest))


def test_bundle_in_the_registry_skopeo_verify_and_immutability(
        repo: Path, cache: Path, registry: RunningRegistry) -> None:
    r = run(repo, cache, "publish", "demo", "--mode", "bundle", "--registry", registry.url,
            "--format", "json")
    (result,) = json.loads(r.out)["results"]
    assert result["status"] == "published"
    manifest = json.loads(registry.skopeo_raw("bp-demo", "1.0.0"))
    assert sha256_digest(registry.skopeo_raw("bp-demo", "1.0.0")) == result["digest"]
    upstream = (repo / "platform" / "demo" / "upstream.lock").read_text()
    assert manifest["annotations"][MODE] == "bundle"
    assert f"digest: {manifest['annotations'][UPSTREAM_DIGEST]}" in upstream
    config = json.loads(registry.skopeo_raw("bp-demo", "1.0.0", config=True))
    assert config["dependencies"] == [{"name": "demo", "version": "1.2.3",
                                       "repository": "https://charts.example.com"}]
    layer = registry.blob("bp-demo", manifest["layers"][0]["digest"])
    assert layer is not None
    inside = {m.path: m.data for m in tgz.inspect(layer, keep=lambda p: p.startswith("charts/"))}
    assert inside["charts/demo-1.2.3.tgz"] == upstream_chart()

    ref = f"{registry.url}/bp-demo"
    ok = run(repo, cache, "verify", f"{ref}:1.0.0", f"{ref}@{result['digest']}")
    assert ok.lines[-1] == "2 of 2 sound"
    # immutability as for overlays: the same bytes are unchanged, other bytes refused
    again = run(repo, cache, "publish", "demo", "--mode", "bundle", "--registry", registry.url)
    assert "unchanged" in again.out
    overlay = run(repo, cache, "publish", "demo", "--registry", registry.url, code=1)
    assert "refused" in overlay.out and result["digest"] in overlay.out


def test_verify_fails_wrong_annotation_tampered_layer_and_hollow(
        repo: Path, cache: Path, registry: RunningRegistry) -> None:
    bp = load_blueprint(repo / "platform" / "demo")
    assert bp.chart is not None and isinstance(bp.chart.data, dict)
    upstream = {k: str(v) for k, v in (bp.upstream or {}).items()}
    bundle = load_bundle(bp.path, upstream, ChartCache(cache))
    entries, meta = bundle_entries(collect(bp.chart_dir), bp.chart.data, bundle, 0)
    good = build_artifact(meta, tgz.pack(entries, name="bp-demo", mtime=0), created_epoch=0,
                          upstream=upstream, mode="bundle", upstream_digest=bundle.lock.digest)

    def version(doc: Any) -> None:
        doc["annotations"][UPSTREAM_VERSION] = "1.2.4"

    push_raw(registry, edited(good, "1.0.1", version))
    # the layer swapped for one whose subchart is another chart, annotations kept
    other = upstream_chart(templates={"templates/cm.yaml": "kind: ConfigMap\n",
                                      "templates/job.yaml": "kind: Job\n"})
    swapped = [e if not e.path.startswith("charts/") else type(e)(e.path, other)
               for e in entries]
    tampered = build_artifact(meta, tgz.pack(swapped, name="bp-demo", mtime=0),
                              created_epoch=0, upstream=upstream, mode="bundle",
                              upstream_digest=bundle.lock.digest)
    push_raw(registry, Artifact(name=tampered.name, tag="1.0.2", config=tampered.config,
                                layer=tampered.layer, manifest=tampered.manifest,
                                digest=tampered.digest))
    hollow = build_artifact(bp.chart.data, tgz.build(bp.chart_dir, name="bp-demo",
                                                     version="1.0.0", mtime=0),
                            created_epoch=0, upstream=upstream, mode="overlay")
    push_raw(registry, Artifact(name=hollow.name, tag="1.0.3", config=hollow.config,
                                layer=hollow.layer, manifest=hollow.manifest,
                                digest=hollow.digest))
    ref = f"{registry.url}/bp-demo"
    r = run(repo, cache, "verify", f"{ref}:1.0.1", f"{ref}:1.0.2", f"{ref}:1.0.3",
            f"{ref}:9.9.9", "--format", "json", code=1)
    results = {x["ref"].rsplit(":", 1)[1]: x for x in json.loads(r.out)["results"]}
    assert not any(x["ok"] for x in results.values())
    assert [p["check"] for p in results["1.0.1"]["problems"]] == ["annotations"]
    assert "1.2.4" in results["1.0.1"]["problems"][0]["message"]
    assert [p["check"] for p in results["1.0.2"]["problems"]] == ["digest"]
    assert "charts/demo-1.2.3.tgz is sha256:" in results["1.0.2"]["problems"][0]["message"]
    assert [p["check"] for p in results["1.0.3"]["problems"]] == ["hollow"]
    assert results["9.9.9"]["problems"][0]["check"] == "read"
    assert "not found" in results["9.9.9"]["problems"][0]["message"]


def _checkout(root: Path, cache: Path, seed: int) -> Path:
    """The same sources in another folder, with other mtimes and file modes."""
    repo = make_repo(root, cache)
    rng = random.Random(seed)
    for path in sorted(repo.rglob("*"), reverse=True):
        if ".git" in path.parts:
            continue
        stamp = rng.randint(10**9, 2 * 10**9)
        os.utime(path, (stamp, stamp))
        if path.is_file():
            path.chmod(rng.choice([0o600, 0o644, 0o664, 0o755]))
    return repo


def test_bundles_are_reproducible_across_checkouts(tmp_path: Path) -> None:
    digests = []
    for i, (tz, umask) in enumerate([("UTC", "022"), ("Pacific/Kiritimati", "077")]):
        cache = tmp_path / f"cache{i}"
        repo = _checkout(tmp_path / f"checkout-{i}" / ("deep/er" if i else "x"), cache, i)
        layout = tmp_path / f"layout{i}"
        env = {"BPKIT_CACHE_DIR": str(cache), "TZ": tz, "LC_ALL": "C.UTF-8", "HOME": str(repo)}
        proc = subprocess.run(
            ["sh", "-c", f'umask {umask} && exec "$0" -m bpkit "$@"', sys.executable,
             "publish", "demo", "--mode", "bundle", "--layout", str(layout), "--format", "json"],
            cwd=repo, env={**os.environ, **env,
                           "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
            capture_output=True, text=True, timeout=60, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        digests.append(json.loads(proc.stdout)["results"][0]["digest"])
        blobs = sorted(p.name for p in (layout / "blobs" / "sha256").iterdir())
        digests.append(blobs)
    assert digests[0] == digests[2] and digests[1] == digests[3]
