"""`bpkit publish` with credentials where helm and podman/skopeo leave them, against a real
basic-auth docker-registry."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.helpers.git import platform_repo
from tests.helpers.publish import TAG, no_secret, run

if TYPE_CHECKING:
    from tests.integration.conftest import RunningRegistry

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("where", ["helm-default", "helm-variable", "containers-auth"])
def test_publish_with_credentials_from_helm_or_containers_files(
    tmp_path: Path, auth_registry: RunningRegistry, where: str,
) -> None:
    reg = auth_registry
    assert reg.password is not None
    repo = platform_repo(tmp_path)
    home = repo.parent / "home"
    auth = base64.b64encode(f"{reg.username}:{reg.password}".encode()).decode()
    config = json.dumps({"auths": {reg.host: {"auth": auth}}})
    env = {"XDG_CONFIG_HOME": "", "HELM_REGISTRY_CONFIG": "", "REGISTRY_AUTH_FILE": "",
           "XDG_RUNTIME_DIR": str(tmp_path / "run")}
    if where == "helm-default":  # what `helm registry login` writes
        path = home / ".config" / "helm" / "registry" / "config.json"
    elif where == "helm-variable":
        path = tmp_path / "helm-registry.json"
        env["HELM_REGISTRY_CONFIG"] = str(path)
    else:  # what `podman login` / `skopeo login` write
        path = tmp_path / "run" / "containers" / "auth.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(config)
    r = run(repo, "publish", "flux", "--registry", reg.url, env=env)
    assert r.code == 0, r.out + r.err
    assert reg.tags("bp-flux") == [TAG]
    no_secret(r, reg.password)
    assert path.read_text() == config
    # Without the file the registry refuses: the credentials really came from it.
    path.unlink()
    anonymous = run(repo, "publish", "cilium", "--registry", reg.url, env=env)
    assert anonymous.code == 1
    assert f"authentication failed for {reg.host}" in anonymous.out + anonymous.err
