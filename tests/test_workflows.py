"""The GitHub workflows: schema-valid offline, no helm/yq/awk/containerd, and they run bpkit.

The step scripts are also run with bash, as the runner would, against real
git repositories: the detect step with the real `bpkit`, the publish steps
with a stand-in that prints its arguments.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests.test_changes import append, commit, make_monorepo

REPO = Path(__file__).resolve().parent.parent
WORKFLOWS = REPO / ".github" / "workflows"
RELEASE = WORKFLOWS / "blueprint-release.yaml"
CI = WORKFLOWS / "ci.yaml"
FORBIDDEN = re.compile(r"(?<![\w-])(helm|yq|awk|gawk|mawk|containerd|ctr|nerdctl)(?![\w-])")


def load(path: Path) -> dict[str, Any]:
    data = YAML(typ="safe").load(path.read_text())
    assert isinstance(data, dict)
    return data


def steps(workflow: dict[str, Any], job: str) -> list[dict[str, Any]]:
    return list(workflow["jobs"][job]["steps"])


def runs(workflow: dict[str, Any], job: str) -> str:
    return "\n".join(s.get("run", "") for s in steps(workflow, job))


def check_jsonschema(*files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
         *map(str, files)], capture_output=True, text=True, timeout=60, check=False)


def all_workflows() -> list[Path]:
    return sorted([*WORKFLOWS.glob("*.yaml"), *WORKFLOWS.glob("*.yml")])


def test_every_workflow_passes_the_github_workflow_schema() -> None:
    files = all_workflows()
    assert RELEASE in files and CI in files
    proc = check_jsonschema(*files)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "validation done" in proc.stdout


def test_the_schema_check_catches_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(RELEASE.read_text().replace("runs-on: ubuntu-latest", "runs_on: x", 1))
    proc = check_jsonschema(broken)
    assert proc.returncode == 1
    assert "runs_on" in proc.stdout


@pytest.mark.parametrize("path", all_workflows(), ids=lambda p: p.name)
def test_no_helm_yq_awk_or_containerd(path: Path) -> None:
    workflow = load(path)
    for job_id, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            for key in ("run", "uses"):
                text = str(step.get(key, ""))
                assert not FORBIDDEN.search(text), f"{path.name} {job_id}: {text}"
                assert "setup-helm" not in text


def test_release_triggers() -> None:
    on = load(RELEASE)["on"]
    assert sorted(on["pull_request"]["paths"]) == ["platform/**", "products/**"]
    assert on["push"]["branches"] == ["main"]
    assert sorted(on["push"]["tags"]) == ["platform/*/v*", "products/*/v*"]


def test_release_lint_job_on_pull_requests() -> None:
    wf = load(RELEASE)
    job = wf["jobs"]["lint"]
    assert "pull_request" in job["if"]
    assert job["permissions"]["security-events"] == "write"
    checkout = next(s for s in steps(wf, "lint") if s.get("uses", "").startswith(
        "actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0
    assert re.search(r"bpkit lint --base \"origin/\$BASE_REF\" --sarif-file bpkit\.sarif",
                     runs(wf, "lint"))
    assert any(s.get("env", {}).get("BASE_REF") == "${{ github.base_ref }}"
               for s in steps(wf, "lint"))
    upload = next(s for s in steps(wf, "lint")
                  if s.get("uses", "").startswith("github/codeql-action/upload-sarif@"))
    assert "always()" in upload["if"]
    assert upload["with"]["sarif_file"] == "bpkit.sarif"


def test_release_detect_and_publish_jobs_on_main() -> None:
    wf = load(RELEASE)
    detect, publish = wf["jobs"]["detect"], wf["jobs"]["publish"]
    assert "refs/heads/main" in detect["if"]
    assert detect["outputs"]["matrix"] == "${{ steps.changed.outputs.matrix }}"
    checkout = steps(wf, "detect")[0]
    assert checkout["with"]["fetch-depth"] == 0
    script = runs(wf, "detect")
    assert "bpkit changed --base" in script and "--format matrix" in script
    assert "--head" in script and "--all-if-unknown" in script
    assert publish["needs"] == "detect"
    assert publish["strategy"]["matrix"] == "${{ fromJSON(needs.detect.outputs.matrix) }}"
    assert "needs.detect.outputs.count" in publish["if"]  # no job for an empty matrix
    assert publish["permissions"]["packages"] == "write"
    assert publish["concurrency"]["group"].endswith("${{ matrix.path }}")
    assert publish["concurrency"]["cancel-in-progress"] is False
    assert publish["outputs"]["digest"] == "${{ steps.publish.outputs.digest }}"
    step = next(s for s in steps(wf, "publish") if s.get("id") == "publish")
    assert step["run"].startswith("bpkit publish ") and "--registry \"oci://ghcr.io/" in step["run"]
    assert step["env"]["GITHUB_TOKEN"] == "${{ secrets.GITHUB_TOKEN }}"
    assert step["env"]["BLUEPRINT"] == "${{ matrix.path }}"


def test_release_tag_jobs() -> None:
    wf = load(RELEASE)
    info, release = wf["jobs"]["tag-info"], wf["jobs"]["release-tag"]
    assert "refs/tags/" in info["if"]
    assert release["needs"] == "tag-info"
    # The same concurrency group as a main-branch release of that blueprint.
    group = wf["jobs"]["publish"]["concurrency"]["group"].replace(
        "${{ matrix.path }}", "${{ needs.tag-info.outputs.path }}")
    assert release["concurrency"]["group"] == group
    assert release["permissions"]["packages"] == "write"
    step = next(s for s in steps(wf, "release-tag") if s.get("id") == "publish")
    assert "bpkit publish --tag \"$GITHUB_REF_NAME\"" in step["run"]
    assert step["env"]["GITHUB_TOKEN"] == "${{ secrets.GITHUB_TOKEN }}"
    assert release["outputs"]["digest"] == "${{ steps.publish.outputs.digest }}"


def test_ci_runs_the_readme_test_command_and_lints_the_wrappers() -> None:
    wf = load(CI)
    assert "./scripts/test-all.sh" in runs(wf, "test")
    assert "./scripts/test-all.sh" in (REPO / "README.md").read_text()
    versions = str(steps(wf, "test")[1]["with"]["python-version"]).split()
    assert versions == ["3.11", "3.12"]
    assert "bpkit lint --strict platform/" in runs(wf, "own-blueprints")


# -- the step scripts, run with bash ------------------------------------------------


def run_step(step: dict[str, Any], env: dict[str, str], cwd: Path, bin_dir: Path,
             tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    """Run a step's script as the runner does (bash -e), with its env and $GITHUB_OUTPUT."""
    out = tmp_path / "github-output"
    out.write_text("")
    full = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "HOME": str(tmp_path),
            "GITHUB_OUTPUT": str(out), "PYTHONPATH": str(REPO),
            **{k: v for k, v in os.environ.items() if k.startswith("GIT_")}}
    for key, value in {**step.get("env", {}), **env}.items():
        full[key] = value
    proc = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=cwd, env=full,
                          capture_output=True, text=True, timeout=60, check=False)
    values = dict(line.split("=", 1) for line in out.read_text().splitlines() if "=" in line)
    return proc, values


def shim(bin_dir: Path, body: str) -> Path:
    bin_dir.mkdir(exist_ok=True)
    tool = bin_dir / "bpkit"
    tool.write_text(f"#!/bin/sh\n{body}\n")
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    return bin_dir


@pytest.mark.skipif(shutil.which("bash") is None, reason="the runner's shell is bash")
def test_detect_step_gives_the_matrix(tmp_path: Path) -> None:
    repo = make_monorepo(tmp_path / "mono")
    before = commit(repo, "before")
    append(repo / "products/shop/chart/values.yaml", "x: 1\n")
    head = commit(repo, "the push")
    step = next(s for s in steps(load(RELEASE), "detect") if s.get("id") == "changed")
    bin_dir = shim(tmp_path / "bin", f'exec "{sys.executable}" -m bpkit "$@"')
    proc, values = run_step(step, {"BEFORE": before, "GITHUB_SHA": head}, repo, bin_dir,
                            tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert values == {"matrix": '{"include":[{"blueprint":"shop","path":"products/shop"}]}',
                      "count": "1"}
    # A push that created the branch: every blueprint, with a warning.
    proc, values = run_step(step, {"BEFORE": "0" * 40, "GITHUB_SHA": head}, repo, bin_dir,
                            tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert values["count"] == "3"
    assert "bpkit: warning: base 000000000000... is the all-zero commit id" in proc.stderr


@pytest.mark.skipif(shutil.which("bash") is None, reason="the runner's shell is bash")
def test_publish_and_tag_steps_run_bpkit_with_a_lowercase_owner(tmp_path: Path) -> None:
    wf = load(RELEASE)
    bin_dir = shim(tmp_path / "bin", 'printf "%s\\n" "$@"')
    publish = next(s for s in steps(wf, "publish") if s.get("id") == "publish")
    proc, _ = run_step(publish, {"BLUEPRINT": "platform/flux", "OWNER": "OpenOva-IO"},
                       tmp_path, bin_dir, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["publish", "platform/flux", "--registry",
                                        "oci://ghcr.io/openova-io"]
    release = next(s for s in steps(wf, "release-tag") if s.get("id") == "publish")
    proc, _ = run_step(release, {"GITHUB_REF_NAME": "products/shop/v2.0.0", "OWNER": "Org"},
                       tmp_path, bin_dir, tmp_path)
    assert proc.stdout.splitlines() == ["publish", "--tag", "products/shop/v2.0.0",
                                        "--registry", "oci://ghcr.io/org"]
    info = next(s for s in steps(wf, "tag-info") if s.get("id") == "tag")
    for ref, path in (("platform/flux/v1.2.3", "platform/flux"),
                      ("products/vault/v0.1.0-rc.1", "products/vault")):
        proc, values = run_step(info, {"GITHUB_REF_NAME": ref}, tmp_path, bin_dir, tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert values == {"path": path}
