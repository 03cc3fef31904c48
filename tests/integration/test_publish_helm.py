"""Real Helm (helm-sdkpy, Helm 4) reads back what `bpkit publish` pushed, and lints what
`bpkit package` built: the ten wrappers of the project's own platform/.

Helm runs in child processes (see helmcheck.py); calls run a few at a time.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest
from ruamel.yaml import YAML

from tests.helpers.cli import Run, bpkit
from tests.helpers.git import platform_repo

try:
    from tests.integration import helmcheck
except ImportError:  # tests/ is not a package: pytest put this folder on sys.path
    import helmcheck  # type: ignore[import-not-found,no-redef]

if TYPE_CHECKING:
    from tests.integration.conftest import RunningRegistry

pytestmark = [pytest.mark.integration, pytest.mark.helm]

PLATFORM = Path(__file__).resolve().parents[2] / "platform"
NAMES = sorted(p.name for p in PLATFORM.iterdir() if (p / "blueprint.yaml").is_file())
TAG = "1.0.0"
UPSTREAM_KEYS = {"io.openova.catalyst.upstream.chart", "io.openova.catalyst.upstream.version",
                 "io.openova.catalyst.upstream.repo"}
_T = TypeVar("_T")


@pytest.fixture(autouse=True)
def _needs_helm() -> None:
    helmcheck.require_helm()


def load_yaml(text: str | bytes) -> Any:
    return YAML(typ="safe", pure=True).load(text)


def parallel(fn: Callable[[str], _T], names: list[str]) -> dict[str, _T]:
    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(names, pool.map(fn, names), strict=True))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = platform_repo(tmp_path, "init")
    (root / "home").mkdir()
    return root


def run(repo: Path, *args: str, env: dict[str, str] | None = None) -> Run:
    full = {"HOME": str(repo / "home"), "DOCKER_CONFIG": str(repo / "home" / ".docker")}
    full.update(env or {})
    r = bpkit(*args, cwd=repo, env=full)
    assert r.code == 0, r.out + r.err
    return r


def wrapper_files(name: str) -> tuple[Any, Any]:
    chart = PLATFORM / name / "chart"
    return load_yaml((chart / "Chart.yaml").read_bytes()), load_yaml(
        (chart / "values.yaml").read_bytes())


def check_read_back(reg: RunningRegistry, auth: tuple[str, str] | None) -> None:
    def read(name: str) -> tuple[Any, Any]:
        ref = f"{reg.url}/bp-{name}:{TAG}"
        return (load_yaml(helmcheck.show_chart(ref, auth=auth)),
                load_yaml(helmcheck.show_values(ref, auth=auth)))

    for name, (chart, values) in parallel(read, NAMES).items():
        want_chart, want_values = wrapper_files(name)
        assert values == want_values, name
        assert chart == want_chart, name
        assert values["catalystBlueprint"]["upstream"]["chart"]


def test_helm_reads_back_all_ten(repo: Path, registry: RunningRegistry) -> None:
    r = run(repo, "publish", "--all", "--registry", registry.url)
    assert "10 of 10 published" in r.out
    check_read_back(registry, None)


def test_helm_reads_back_from_the_auth_registry(repo: Path, auth_registry: RunningRegistry
                                                ) -> None:
    assert auth_registry.username is not None and auth_registry.password is not None
    run(repo, "publish", "--all", "--registry", auth_registry.url,
        env={"BPKIT_REGISTRY_USERNAME": auth_registry.username,
             "BPKIT_REGISTRY_PASSWORD": auth_registry.password})
    check_read_back(auth_registry, (auth_registry.username, auth_registry.password))


def test_helm_lint_passes_on_every_packaged_chart(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run(repo, "package", "--all", "--out", str(out))
    archives = sorted(p.name for p in out.iterdir())
    assert archives == [f"bp-{n}-{TAG}.tgz" for n in NAMES]
    for name, result in parallel(lambda a: helmcheck.lint(out / a), archives).items():
        assert result["TotalChartsLinted"] == 1, name
        assert not result["Errors"], (name, result)
        assert [m for m in result["Messages"] or [] if m["Severity"] >= 3] == [], name


def test_helm_push_of_our_archive_matches_our_config_and_layer(
    repo: Path, registry: RunningRegistry, tmp_path: Path
) -> None:
    """Helm pushing bpkit's .tgz makes the same config and layer; the manifest differs only
    by bpkit's upstream annotations (and `created`, which Helm takes from the file mtime)."""
    out = tmp_path / "out"
    run(repo, "package", "flux", "--out", str(out))
    run(repo, "publish", "flux", "--registry", registry.url)
    helm_ns = f"oci://{registry.host}/helm-made"
    helmcheck.push(out / f"bp-flux-{TAG}.tgz", helm_ns)
    ours = json.loads(registry.skopeo_raw("bp-flux", TAG))
    theirs_raw = subprocess.run(
        ["skopeo", "inspect", "--raw", "--tls-verify=false",
         f"docker://{registry.host}/helm-made/bp-flux:{TAG}"],
        capture_output=True, check=True, timeout=30).stdout
    theirs = json.loads(theirs_raw)
    assert theirs["config"] == ours["config"]
    assert theirs["layers"] == ours["layers"]
    extra = set(ours["annotations"]) - set(theirs["annotations"])
    assert extra == UPSTREAM_KEYS | {"io.openova.catalyst.mode"}
    same = set(theirs["annotations"]) - {"org.opencontainers.image.created"}
    assert {k: theirs["annotations"][k] for k in same} == {k: ours["annotations"][k]
                                                           for k in same}
