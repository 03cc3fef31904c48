"""`bpkit upstream outdated` and `bump` against a real HTTPS Helm repository on 127.0.0.1.

The server and the synthetic upstream charts are tests/integration/upstream_repo.py's
(a test CA; the charts are packed by the tests); every command is the real
`bpkit` in a subprocess.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from bpkit.source.lock import read_lock
from tests.helpers.blueprints import write_blueprint
from tests.helpers.cli import Run, bpkit
from tests.integration.upstream_repo import HelmRepoServer, publish, sha256

if TYPE_CHECKING:
    from tests.integration.conftest import RunningRegistry

pytestmark = pytest.mark.integration

CHARTS = [("flux2", "2.13.0", "2.3.0"), ("flux2", "2.13.1", "2.3.0"),
          ("flux2", "2.14.0", "2.4.0"), ("flux2", "3.0.0", "3.0.0"),
          ("flux2", "3.1.0-rc.1", "3.1.0"), ("openbao", "0.8.0", "2.1.0"),
          ("openbao", "0.8.1", "2.1.0")]


@pytest.fixture
def repo(tls_material: tuple[Path, Path, Path]) -> Iterator[tuple[HelmRepoServer, dict]]:
    _, cert, key = tls_material
    server = HelmRepoServer(cert, key)
    made = publish(server, CHARTS)
    yield server, made
    server.stop()


@pytest.fixture
def env(tmp_path: Path, tls_material: tuple[Path, Path, Path]) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    return {"BPKIT_CACHE_DIR": str(tmp_path / "cache"), "HOME": str(home),
            "SSL_CERT_FILE": str(tls_material[0]), "XDG_CONFIG_HOME": str(home / ".config"),
            "BPKIT_MIRRORS": "", "NETRC": str(home / ".netrc"),
            "HELM_REPOSITORY_CONFIG": str(home / "repositories.yaml")}


def mono(tmp_path: Path, url: str) -> Path:
    root = tmp_path / "mono"
    (root / ".git").mkdir(parents=True)
    write_blueprint(root, "flux", upstream=("flux2", "2.13.0", url), locked=False)
    write_blueprint(root, "bao", upstream=("openbao", "0.8.0", url), locked=False)
    return root


def run(root: Path, env: dict[str, str], *args: str) -> Run:
    result = bpkit(*args, cwd=root, env=env, timeout=120)
    assert "Traceback" not in result.err, result.err
    return result


def snapshot(folder: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_outdated_asks_each_repository_once(tmp_path: Path, repo: tuple[HelmRepoServer, dict],
                                             env: dict[str, str]) -> None:
    server, _ = repo
    root = mono(tmp_path, server.url)
    text = run(root, env, "upstream", "outdated")
    assert text.code == 0, text.err
    rows = {line.split()[0]: line.split() for line in text.lines[1:]}
    assert rows["platform/flux"] == ["platform/flux", "flux2", "2.13.0", "(2.3.0)",
                                     "2.13.1", "(2.3.0)", "2.14.0", "(2.4.0)", "3.0.0", "(3.0.0)"]
    assert rows["platform/bao"][:5] == ["platform/bao", "openbao", "0.8.0", "(2.1.0)", "0.8.1"]
    assert server.count("/index.yaml") == 1  # two blueprints, one repository, one request
    as_json = run(root, env, "upstream", "outdated", "platform/flux", "--format", "json")
    doc = json.loads(as_json.out)
    assert doc["version"] == 1 and len(doc["blueprints"]) == 1
    flux = doc["blueprints"][0]
    assert flux["major"] == {"version": "3.0.0", "appVersion": "3.0.0"}  # rc skipped
    assert flux["outdated"] is True and flux["error"] is None


def test_outdated_names_an_unreachable_repository_and_exits_one(
        tmp_path: Path, env: dict[str, str]) -> None:
    root = mono(tmp_path, "https://127.0.0.1:9")
    result = run(root, env, "upstream", "outdated", "--retry-budget", "0")
    assert result.code == 1
    assert "127.0.0.1:9" in result.out and "error" in result.out


def test_bump_defaults_to_the_newest_stable_writes_the_lock_and_lints_clean(
        tmp_path: Path, repo: tuple[HelmRepoServer, dict], env: dict[str, str]) -> None:
    server, made = repo
    root = mono(tmp_path, server.url)
    folder = root / "platform/flux"
    result = run(root, env, "upstream", "bump", "platform/flux")
    assert result.code == 0, result.err
    assert '-  upstream: { chart: flux2, version: "2.13.0"' in result.out
    assert '+  upstream: { chart: flux2, version: "3.0.0"' in result.out
    assert "+version: 2.0.0" in result.out and "+  version: 2.0.0" in result.out  # major
    assert "+++ b/platform/flux/upstream.lock" in result.out
    assert "2.13.0 -> 3.0.0 (major); wrapper 1.0.0 -> 2.0.0" in result.err
    lock, problems = read_lock(folder / "upstream.lock")
    assert problems == [] and lock is not None
    assert (lock.version, lock.digest) == ("3.0.0", "sha256:" + sha256(made[("flux2", "3.0.0")]))
    assert lock.app_version == "3.0.0"
    lint = run(root, env, "lint", "--strict", "platform/flux")
    assert lint.code == 0, lint.out  # lock current, overlay checked against the real chart


def test_bump_dry_run_prints_the_diff_and_writes_nothing(
        tmp_path: Path, repo: tuple[HelmRepoServer, dict], env: dict[str, str]) -> None:
    server, _ = repo
    root = mono(tmp_path, server.url)
    before = snapshot(root)
    result = run(root, env, "upstream", "bump", "platform/flux", "--to", "2.13.1", "--dry-run")
    assert result.code == 0, result.err
    assert '+  upstream: { chart: flux2, version: "2.13.1"' in result.out
    assert "+version: 1.0.1" in result.out  # a patch of the upstream is a patch of the wrapper
    assert "dry run, nothing written" in result.err
    assert snapshot(root) == before
    assert not (Path(env["BPKIT_CACHE_DIR"]) / "charts").exists()  # nothing downloaded


def test_bump_to_a_version_the_repository_lacks_says_what_exists(
        tmp_path: Path, repo: tuple[HelmRepoServer, dict], env: dict[str, str]) -> None:
    server, _ = repo
    root = mono(tmp_path, server.url)
    before = snapshot(root)
    app = run(root, env, "upstream", "bump", "platform/bao", "--to", "2.1.0")
    assert app.code == 1
    assert ("openbao 2.1.0 is an appVersion, not a chart version; chart versions with "
            "appVersion 2.1.0: "
            "0.8.0, 0.8.1") in app.err
    missing = run(root, env, "upstream", "bump", "platform/flux", "--to", "2.13.7")
    assert missing.code == 1
    assert "flux2 has no version 2.13.7 (nearest: 2.13.1, 2.13.0, 2.14.0)" in missing.err
    assert snapshot(root) == before
    usage = run(root, env, "upstream", "bump", "platform")
    assert usage.code == 2 and "one at a time" in usage.err


def test_bump_at_the_newest_stable_changes_nothing(
        tmp_path: Path, repo: tuple[HelmRepoServer, dict], env: dict[str, str]) -> None:
    server, _ = repo
    root = tmp_path / "mono"
    (root / ".git").mkdir(parents=True)
    write_blueprint(root, "flux", upstream=("flux2", "3.0.0", server.url), locked=False)
    before = snapshot(root)
    result = run(root, env, "upstream", "bump", "platform/flux")
    assert result.code == 0 and "nothing to bump" in result.err
    assert snapshot(root) == before


def test_outdated_and_bump_with_an_oci_upstream(tmp_path: Path, registry: RunningRegistry) -> None:
    from tests.integration.test_upstream_oci import push_chart

    for version in ("6.5.0", "6.5.1", "6.6.0", "7.0.0-rc.1"):
        push_chart(registry, "podinfo", version, app_version=version)
    repo = f"oci://{registry.host}/{registry.namespace}"
    root = tmp_path / "mono"
    (root / ".git").mkdir(parents=True)
    write_blueprint(root, "podinfo", upstream=("podinfo", "6.5.0", repo), locked=False)
    home = tmp_path / "home"
    home.mkdir()
    env = {"BPKIT_CACHE_DIR": str(tmp_path / "cache"), "HOME": str(home), "BPKIT_MIRRORS": "",
           "DOCKER_CONFIG": str(home / ".docker")}
    listed = run(root, env, "upstream", "outdated", "--format", "json")
    assert listed.code == 0, listed.err
    row = json.loads(listed.out)["blueprints"][0]
    assert (row["patch"]["version"], row["minor"]["version"], row["major"]["version"]) == (
        "6.5.1", "6.6.0", "6.6.0")
    assert row["major"]["appVersion"] is None  # tags carry no appVersion
    bumped = run(root, env, "upstream", "bump", "platform/podinfo")
    assert bumped.code == 0, bumped.err
    assert "6.5.0 -> 6.6.0 (minor); wrapper 1.0.0 -> 1.1.0" in bumped.err
    lock, problems = read_lock(root / "platform/podinfo/upstream.lock")
    assert problems == [] and lock is not None and lock.version == "6.6.0"
    assert lock.app_version == "6.6.0"  # from the chart itself, once resolved
