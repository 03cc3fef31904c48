"""`bpkit upstream lock` / `fetch` with an OCI upstream in a real docker-registry.

Charts are pushed in Helm's OCI format by bpkit's own publisher (the same
bytes `helm push` writes; tests/integration/test_publish_helm.py checks
that against real Helm); anonymous and token-authenticated registries.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from bpkit.net.registry import RegistryTarget
from bpkit.oci.artifact import build_artifact
from bpkit.source.lock import read_lock
from tests.helpers.blueprints import write_blueprint
from tests.helpers.cli import Run, bpkit
from tests.integration.upstream_repo import make_chart

if TYPE_CHECKING:
    from tests.integration.conftest import RegistryFactory, RunningRegistry

pytestmark = pytest.mark.integration


def push_chart(registry: RunningRegistry, name: str, version: str, **kwargs: object) -> bytes:
    from bpkit.net.credentials import Credentials

    data = make_chart(name, version, **kwargs)  # type: ignore[arg-type]
    artifact = build_artifact({"apiVersion": "v2", "name": name, "version": version}, data,
                              created_epoch=1_700_000_000)
    creds = (Credentials(registry.username, registry.password)
             if registry.username and registry.password else None)
    with RegistryTarget(f"oci://{registry.host}/{registry.namespace}",
                        credentials=creds) as target:
        target.push(artifact, force=True)
    return data


def run(root: Path, env: dict[str, str], *args: str) -> Run:
    result = bpkit("upstream", *args, cwd=root, env=env, timeout=120)
    assert "Traceback" not in result.err, result.err
    return result


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    return {"BPKIT_CACHE_DIR": str(tmp_path / "cache"), "HOME": str(home), "BPKIT_MIRRORS": "",
            "DOCKER_CONFIG": str(home / ".docker")}


def test_oci_upstream_is_locked_and_fetched(tmp_path: Path, registry: RunningRegistry,
                                            env: dict[str, str]) -> None:
    data = push_chart(registry, "podinfo", "6.5.0", app_version="6.5.0")
    push_chart(registry, "podinfo", "6.5.1", app_version="6.5.1")
    repo = f"oci://{registry.host}/{registry.namespace}"
    root = tmp_path / "mono"
    write_blueprint(root, "podinfo", upstream=("podinfo", "6.5.0", repo), locked=False)
    result = run(root, env, "lock")
    assert result.code == 0, result.err
    lock, problems = read_lock(root / "platform/podinfo/upstream.lock")
    assert problems == [] and lock is not None
    assert lock.digest == "sha256:" + hashlib.sha256(data).hexdigest()
    assert lock.repo == repo and lock.app_version == "6.5.0"
    assert lock.schema_digest is not None
    assert run(root, env, "lock", "--check").code == 0
    cold = {**env, "BPKIT_CACHE_DIR": str(tmp_path / "cold")}
    fetched = run(root, cold, "fetch")
    assert fetched.code == 0 and "1 fetched" in fetched.err, fetched.err

    missing = tmp_path / "missing"
    write_blueprint(missing, "podinfo", upstream=("podinfo", "6.4.0", repo), locked=False)
    result = run(missing, env, "lock")
    assert result.code == 1
    assert "chart podinfo has no version 6.4.0; nearest: 6.5.0, 6.5.1" in result.err, result.err
    nochart = tmp_path / "nochart"
    write_blueprint(nochart, "podinfo", upstream=("nosuch", "1.0.0", repo), locked=False)
    result = run(nochart, env, "lock")
    assert result.code == 1 and "chart nosuch not found" in result.err, result.err


def test_https_repo_mirrored_to_oci(tmp_path: Path, registry: RunningRegistry,
                                    env: dict[str, str]) -> None:
    push_chart(registry, "cert-manager", "1.14.4", app_version="v1.14.4")
    canonical = "https://charts.jetstack.invalid"
    root = tmp_path / "mono"
    write_blueprint(root, "cert-manager", upstream=("cert-manager", "1.14.4", canonical),
                    locked=False)
    mirror = f"oci://{registry.host}/{registry.namespace}"
    result = run(root, {**env, "BPKIT_MIRRORS": f"{canonical}={mirror}"}, "lock")
    assert result.code == 0, result.err
    lock, _ = read_lock(root / "platform/cert-manager/upstream.lock")
    assert lock is not None and lock.repo == canonical and lock.app_version == "v1.14.4"


def test_token_registry_upstream(tmp_path: Path, registry_factory: RegistryFactory,
                                 env: dict[str, str]) -> None:
    """Anonymous pull tokens (as ghcr.io and Docker Hub hand out), then credentials."""
    reg = registry_factory(token=True)
    push_chart(reg, "private-chart", "1.0.0")
    assert reg.token_server is not None and reg.username and reg.password
    root = tmp_path / "mono"
    write_blueprint(root, "private", upstream=("private-chart", "1.0.0",
                                               f"oci://{reg.host}/{reg.namespace}"), locked=False)
    before = len(reg.token_server.requests)
    anonymous = run(root, env, "lock")
    assert anonymous.code == 0, anonymous.err
    scopes = [scope for _, scope in reg.token_server.requests[before:]]
    assert scopes and all(s.endswith(":pull") for s in scopes)  # never asks to push

    (root / "platform/private/upstream.lock").unlink()
    wrong = run(root, {**env, "BPKIT_REGISTRY_USERNAME": reg.username,
                       "BPKIT_REGISTRY_PASSWORD": "not-the-password"}, "lock")
    assert wrong.code == 1 and "authentication failed" in wrong.err, wrong.err
    assert "not-the-password" not in wrong.out + wrong.err
    ok = run(root, {**env, "BPKIT_REGISTRY_USERNAME": reg.username,
                    "BPKIT_REGISTRY_PASSWORD": reg.password}, "lock")
    assert ok.code == 0, ok.err
    assert reg.password not in ok.out + ok.err


@pytest.mark.helm
def test_chart_pushed_by_real_helm(tmp_path: Path, registry: RunningRegistry,
                                   env: dict[str, str]) -> None:
    """An independent producer: Helm's own `push` (helm-sdkpy) writes the upstream."""
    try:
        from tests.integration import helmcheck
    except ImportError:  # pragma: no cover - tests/ put on sys.path directly
        import helmcheck  # type: ignore[import-not-found,no-redef]

    helmcheck.require_helm()
    data = make_chart("helm-made", "3.2.1", app_version="9.9.9")
    tgz = tmp_path / "helm-made-3.2.1.tgz"
    tgz.write_bytes(data)
    repo = f"oci://{registry.host}/{registry.namespace}"
    helmcheck.push(tgz, repo)
    root = tmp_path / "mono"
    write_blueprint(root, "helm-made", upstream=("helm-made", "3.2.1", repo), locked=False)
    result = run(root, env, "lock")
    assert result.code == 0, result.err
    lock, _ = read_lock(root / "platform/helm-made/upstream.lock")
    assert lock is not None and lock.app_version == "9.9.9"
    assert lock.digest == "sha256:" + hashlib.sha256(data).hexdigest()  # Helm keeps the bytes


def test_pull_methods_are_bounded_and_checked(registry: RunningRegistry) -> None:
    from bpkit.errors import RegistryError

    data = push_chart(registry, "bounded", "1.0.0")
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    with RegistryTarget(f"oci://{registry.host}/{registry.namespace}") as target:
        assert target.get_blob("bounded", digest, limit=len(data)) == data
        with pytest.raises(RegistryError, match="larger than"):
            target.get_blob("bounded", digest, limit=len(data) - 1)
        assert b'"layers"' in target.get_manifest("bounded", "1.0.0")
        assert target.list_tags("bounded") == ["1.0.0"]
        with pytest.raises(RegistryError, match="not found"):
            target.get_manifest("bounded", "9.9.9")
