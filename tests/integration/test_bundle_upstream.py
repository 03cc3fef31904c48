"""The whole bundle path with real parts: a real HTTPS Helm repository (test CA) serves
the upstream, `bpkit upstream lock` pins it, `bpkit upstream fetch` caches it, `bpkit
publish --mode bundle` pushes it to docker-registry, `bpkit verify` checks it."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from bpkit.oci.artifact import UPSTREAM_DIGEST
from bpkit.source.lock import read_lock
from bpkit.upstream.summary import read_summary, summarize, summary_path
from tests.helpers.bundles import upstream_chart, write_bundle_blueprint
from tests.helpers.cli import Run, bpkit

try:
    from tests.integration.upstream_repo import HelmRepoServer, index_yaml, sha256
except ImportError:  # tests/ is not a package: pytest put this folder on sys.path
    from upstream_repo import (  # type: ignore[import-not-found,no-redef]
        HelmRepoServer,
        index_yaml,
        sha256,
    )

if TYPE_CHECKING:
    from tests.integration.conftest import RunningRegistry

pytestmark = pytest.mark.integration


@pytest.fixture
def helm_repo(tls_material: tuple[Path, Path, Path]) -> Iterator[HelmRepoServer]:
    _, cert, key = tls_material
    server = HelmRepoServer(cert, key)
    data = upstream_chart()
    server.files["/charts/demo-1.2.3.tgz"] = data
    server.files["/index.yaml"] = index_yaml(
        [("demo", "1.2.3", None, "charts/demo-1.2.3.tgz", sha256(data))])
    yield server
    server.stop()


def test_lock_fetch_bundle_publish_verify(tmp_path: Path, helm_repo: HelmRepoServer,
                                          registry: RunningRegistry,
                                          tls_material: tuple[Path, Path, Path]) -> None:
    root, home = tmp_path / "mono", tmp_path / "home"
    home.mkdir()
    root.mkdir()
    write_bundle_blueprint(root, tmp_path / "unused", lock=False, cached=False,
                           upstream=("demo", "1.2.3", helm_repo.url))
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "demo"]):
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, timeout=30)
    env = {"BPKIT_CACHE_DIR": str(tmp_path / "cache"), "HOME": str(home),
           "SSL_CERT_FILE": str(tls_material[0]), "XDG_CONFIG_HOME": str(home / ".config"),
           "BPKIT_MIRRORS": "", "NETRC": str(home / ".netrc"),
           "HELM_REPOSITORY_CONFIG": str(home / "repositories.yaml"),
           "DOCKER_CONFIG": str(home / ".docker")}

    def run(*args: str, code: int = 0) -> Run:
        r = bpkit(*args, cwd=root, env=env, timeout=120)
        assert r.code == code, r.out + r.err
        assert "Traceback" not in r.err
        return r

    refused = run("publish", "demo", "--mode", "bundle", "--registry", registry.url, code=1)
    assert "run bpkit upstream lock" in refused.out + refused.err
    run("upstream", "lock")
    lock, _ = read_lock(root / "platform" / "demo" / "upstream.lock")
    assert lock is not None and lock.digest == "sha256:" + sha256(upstream_chart())
    # Locking left the summary lint reads beside the cached chart; fetch restores it.
    summary = summary_path(tmp_path / "cache", lock.digest)
    assert read_summary(summary, lock.digest) == summarize(upstream_chart(), "demo", "1.2.3")
    summary.unlink()
    run("upstream", "fetch")
    assert read_summary(summary, lock.digest) == summarize(upstream_chart(), "demo", "1.2.3")
    r = run("publish", "demo", "--mode", "bundle", "--registry", registry.url,
            "--format", "json")
    (result,) = json.loads(r.out)["results"]
    assert result["status"] == "published"
    manifest = json.loads(registry.skopeo_raw("bp-demo", "1.0.0"))
    assert manifest["annotations"][UPSTREAM_DIGEST] == lock.digest
    ok = run("verify", f"{registry.url}/bp-demo:1.0.0", "--format", "json")
    (report,) = json.loads(ok.out)["results"]
    assert report["ok"] and report["mode"] == "bundle"
    # offline from here on: the cache alone rebuilds the same bytes
    helm_repo.stop()
    again = run("publish", "demo", "--mode", "bundle", "--registry", registry.url)
    assert "unchanged" in again.out
