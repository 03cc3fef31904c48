"""Real Helm (helm-sdkpy, Helm 4) on bundles and on guarded overlays.

What this machine can show: `Show chart`/`Show values` from the registry
(what installers read) and `Lint`, which renders every template with the
chart's values, subcharts included. What it cannot: helm-sdkpy has no
`template` and no client-side dry run, and installs need a cluster, so the
guard's `fail` at install time is shown only by reading the template (and
by lint, whose release is neither an install nor an upgrade, passing).

Facts of Helm 4 lint used here: it only logs a `required`/`fail` message
(its result's errors come back as {}), so the assertions read Helm's output;
it renders nothing when the parent chart has no templates/ folder (the test
wrappers carry templates/NOTES.txt); it never renders `_`-prefixed files.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from ruamel.yaml import YAML

from tests.helpers.blueprints import write_blueprint
from tests.helpers.bundles import upstream_chart, write_bundle_blueprint
from tests.helpers.cli import Run, bpkit

try:
    from tests.integration import helmcheck
except ImportError:  # tests/ is not a package: pytest put this folder on sys.path
    import helmcheck  # type: ignore[import-not-found,no-redef]

if TYPE_CHECKING:
    from tests.integration.conftest import RunningRegistry

pytestmark = [pytest.mark.integration, pytest.mark.helm]
REQUIRED = "demo.message is required"


@pytest.fixture(autouse=True)
def _needs_helm() -> None:
    helmcheck.require_helm()


def load_yaml(text: str | bytes) -> Any:
    return YAML(typ="safe", pure=True).load(text)


def lint_output(path: Path) -> tuple[dict[str, Any], str]:
    """Helm's lint result and its log (Helm 4 logs `required` misses on stderr as WARN).

    helmcheck's child, run here with stderr kept (helmcheck keeps stdout only).
    """
    python = helmcheck.require_helm()
    with tempfile.TemporaryDirectory(prefix="bundle-lint-") as tmp:
        work = Path(tmp)
        (work / "request.json").write_text(json.dumps({"op": "lint",
                                                       "args": {"path": str(path)}}))
        env = {**os.environ, "TZ": "UTC"}
        for name in ("HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"):
            (work / name).mkdir()
            env[name] = str(work / name)
        env.pop("KUBECONFIG", None)
        proc = subprocess.run([python, helmcheck.__file__, str(work / "request.json"),
                               str(work / "result.json")], capture_output=True, env=env,
                              timeout=120, check=False)
        answer = json.loads((work / "result.json").read_text())
    assert answer["ok"], answer
    return answer["value"], (proc.stdout + proc.stderr).decode(errors="replace")


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, Path]:
    root, cache = tmp_path / "repo", tmp_path / "cache"
    root.mkdir()
    write_bundle_blueprint(root, cache)  # the overlay sets demo.message
    write_bundle_blueprint(root, cache, "bare", overlay="other: 1\n")  # it does not
    write_blueprint(root, "flux")
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "init"]):
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, timeout=30)
    return root, cache


def run(repo: tuple[Path, Path], *args: str) -> Run:
    root, cache = repo
    r = bpkit(*args, cwd=root, env={"BPKIT_CACHE_DIR": str(cache), "HOME": str(root),
                                    "DOCKER_CONFIG": str(root / ".docker")})
    assert r.code == 0, r.out + r.err
    return r


def test_helm_shows_the_bundle_dependency(repo: tuple[Path, Path],
                                          registry: RunningRegistry) -> None:
    run(repo, "publish", "demo", "--mode", "bundle", "--registry", registry.url)
    ref = f"{registry.url}/bp-demo:1.0.0"
    chart = load_yaml(helmcheck.show_chart(ref))
    assert chart["dependencies"] == [{"name": "demo", "version": "1.2.3",
                                      "repository": "https://charts.example.com"}]
    values = load_yaml(helmcheck.show_values(ref))
    assert values["demo"] == {"message": "hello from the overlay"}
    assert values["catalystBlueprint"]["upstream"]["chart"] == "demo"


def test_helm_lint_renders_the_subchart_with_the_nested_overlay(repo: tuple[Path, Path],
                                                                tmp_path: Path) -> None:
    out = tmp_path / "out"
    run(repo, "package", "demo", "bare", "--mode", "bundle", "--out", str(out))
    result, output = lint_output(out / "bp-demo-1.0.0.tgz")
    assert result["TotalChartsLinted"] == 1 and not result["Errors"], (result, output)
    assert REQUIRED not in output, output
    # nothing about the dependencies (missing from charts/, not in Chart.yaml, out of sync)
    assert [m for m in result["Messages"] or [] if m["Severity"] >= 2] == [], result
    bare_result, bare_output = lint_output(out / "bp-bare-1.0.0.tgz")
    # Helm rendered the subchart's template and found the value missing: the same
    # check passes above only because the overlay reached the subchart.
    assert REQUIRED in bare_output, (bare_result, bare_output)


def test_lint_renders_the_upstream_only_through_the_bundle(repo: tuple[Path, Path],
                                                           tmp_path: Path) -> None:
    """Control: the upstream chart alone, linted, reports the missing value too."""
    (tmp_path / "demo-1.2.3.tgz").write_bytes(upstream_chart())
    _, output = lint_output(tmp_path / "demo-1.2.3.tgz")
    assert REQUIRED in output


def test_guarded_overlay_lints_and_shows(repo: tuple[Path, Path], registry: RunningRegistry,
                                         tmp_path: Path) -> None:
    out = tmp_path / "out"
    run(repo, "package", "flux", "--out", str(out))
    result, output = lint_output(out / "bp-flux-1.0.0.tgz")
    assert result["TotalChartsLinted"] == 1 and not result["Errors"], (result, output)
    assert "Catalyst overlay" not in output  # the guard did not fire at lint
    assert [m for m in result["Messages"] or [] if m["Severity"] >= 3] == []
    run(repo, "publish", "flux", "--registry", registry.url)
    root = repo[0]
    ref = f"{registry.url}/bp-flux:1.0.0"
    source = root / "platform" / "flux" / "chart"
    assert load_yaml(helmcheck.show_chart(ref)) == load_yaml((source / "Chart.yaml").read_text())
    assert load_yaml(helmcheck.show_values(ref)) == load_yaml(
        (source / "values.yaml").read_text())


def test_helm_push_of_the_bundle_makes_our_config_and_layer(
        repo: tuple[Path, Path], registry: RunningRegistry, tmp_path: Path) -> None:
    """Helm loads the bundle (Chart.yaml with dependencies, Chart.lock, the subchart) and
    pushes the same config blob bpkit computed: the metadata agree to the byte."""
    out = tmp_path / "out"
    run(repo, "package", "demo", "--mode", "bundle", "--out", str(out))
    run(repo, "publish", "demo", "--mode", "bundle", "--registry", registry.url)
    helmcheck.push(out / "bp-demo-1.0.0.tgz", f"oci://{registry.host}/helm-made")
    ours = json.loads(registry.skopeo_raw("bp-demo", "1.0.0"))
    theirs = json.loads(subprocess.run(
        ["skopeo", "inspect", "--raw", "--tls-verify=false",
         f"docker://{registry.host}/helm-made/bp-demo:1.0.0"],
        capture_output=True, check=True, timeout=30).stdout)
    assert theirs["config"] == ours["config"]
    assert theirs["layers"] == ours["layers"]
