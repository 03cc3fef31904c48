"""The `bpkit-lint` pre-commit hook, run by real pre-commit in a real git repository."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.blueprints import write_blueprint, write_tree

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


def run(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600,
                          check=False)


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One hook environment for the module: installing bpkit into it takes a while."""
    return tmp_path_factory.mktemp("pre-commit-home")


def test_hook_lints_changed_blueprints(tmp_path: Path, pre_commit_home: Path) -> None:
    mono = tmp_path / "mono"
    mono.mkdir()
    env = {**os.environ, "PRE_COMMIT_HOME": str(pre_commit_home), "NO_COLOR": "1"}
    env.pop("GITHUB_ACTIONS", None)
    run("git", "init", "-q", "-b", "main", cwd=mono, env=env)
    write_tree(mono)
    (mono / "README.md").write_text("# monorepo\n")
    run("git", "add", "-A", cwd=mono, env=env)
    pre_commit = [sys.executable, "-m", "pre_commit", "try-repo", str(REPO), "bpkit-lint"]

    clean = run(*pre_commit, "--files", "platform/flux/chart/values.yaml", "README.md",
                cwd=mono, env=env)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "bpkit lint" in clean.stdout and "Passed" in clean.stdout

    chart = mono / "platform/flux/chart/Chart.yaml"
    chart.write_text(chart.read_text() + "dependencies: []\n")
    run("git", "add", "-A", cwd=mono, env=env)
    broken = run(*pre_commit, "--files", "platform/flux/chart/Chart.yaml",
                 "platform/flux/blueprint.yaml", cwd=mono, env=env)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "Failed" in broken.stdout
    lines = [ln for ln in broken.stdout.splitlines() if "chart-dependencies" in ln]
    assert len(lines) == 1  # two files of one blueprint: linted once
    assert lines[0].startswith("platform/flux/chart/Chart.yaml:")

    # Files outside blueprints are not passed to the hook at all.
    (mono / "docs").mkdir()
    (mono / "docs" / "x.yaml").write_text("a: [\n")
    run("git", "add", "-A", cwd=mono, env=env)
    skipped = run(*pre_commit, "--files", "docs/x.yaml", cwd=mono, env=env)
    assert skipped.returncode == 0
    assert "no files to check" in skipped.stdout.lower()


def test_hook_checks_dependents_under_any_root(tmp_path: Path, pre_commit_home: Path) -> None:
    """Raising cert-manager to 2.0.0 breaks a blueprint pinning ^1.0 that was not changed."""
    mono = tmp_path / "mono"
    mono.mkdir()
    env = {**os.environ, "PRE_COMMIT_HOME": str(pre_commit_home), "NO_COLOR": "1"}
    env.pop("GITHUB_ACTIONS", None)
    run("git", "init", "-q", "-b", "main", cwd=mono, env=env)
    (mono / "pyproject.toml").write_text('[tool.bpkit]\nroots = ["charts/infra"]\n')
    write_blueprint(mono, "cert-manager", group="charts/infra")
    write_blueprint(mono, "flux", group="charts/infra",
                    depends='    - blueprint: bp-cert-manager\n      version: "^1.0"\n')
    write_blueprint(mono, "cert-manager", group="charts/infra", version="2.0.0")
    run("git", "add", "-A", cwd=mono, env=env)
    pre_commit = [sys.executable, "-m", "pre_commit", "try-repo", str(REPO), "bpkit-lint"]
    changed = ["charts/infra/cert-manager/blueprint.yaml",
               "charts/infra/cert-manager/chart/Chart.yaml", "pyproject.toml"]
    broken = run(*pre_commit, "--files", *changed, cwd=mono, env=env)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    lines = [ln for ln in broken.stdout.splitlines() if "depends-version" in ln]
    assert len(lines) == 1, broken.stdout
    assert lines[0].startswith("charts/infra/flux/blueprint.yaml:14:")
    assert "bp-cert-manager is at 2.0.0, outside the range '^1.0'" in lines[0]
