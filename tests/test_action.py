"""The composite Action (action.yml), run locally as the runner would run it.

Each step's `run` goes to bash with its `env`, after the `${{ ... }}`
expressions the action uses (inputs, an earlier step's outputs) are filled
in; the action's outputs are then read back through its `outputs:` map.
The install step really builds bpkit's venv from this checkout with the
pinned versions (from PyPI: the one network use, allowed by the charter).
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.helpers.git import append, commit, make_monorepo

REPO = Path(__file__).resolve().parent.parent
ACTION = YAML(typ="safe").load((REPO / "action.yml").read_text())
EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
VERSION = re.search(r'__version__ = "([^"]+)"', (REPO / "bpkit" / "__init__.py").read_text())
assert VERSION
ACTION_VERSION = VERSION.group(1)


def fill(text: str, inputs: dict[str, str], outputs: dict[str, dict[str, str]]) -> str:
    """The few expressions action.yml may use; anything else fails the test."""

    def one(match: re.Match[str]) -> str:
        expr = match.group(1)
        if m := re.fullmatch(r"inputs\.([\w-]+)", expr):
            assert m.group(1) in ACTION["inputs"], f"action.yml uses unknown input {expr}"
            return inputs[m.group(1)]
        if m := re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", expr):
            return outputs.get(m.group(1), {}).get(m.group(2), "")
        raise AssertionError(f"action.yml uses an expression this test cannot run: {expr}")

    return EXPR.sub(one, text)


def read_outputs(path: Path) -> dict[str, str]:
    """A $GITHUB_OUTPUT file: name=value lines (bpkit writes no multi-line values)."""
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def run_action(with_: dict[str, str], cwd: Path, tmp_path: Path, venv: Path,
               env: dict[str, str] | None = None) -> tuple[int, dict[str, str], str, str]:
    """Run every step of the action; (exit code, the action's outputs, each step's stdout
    joined, stderr joined)."""
    unknown = set(with_) - set(ACTION["inputs"])
    assert not unknown, unknown
    inputs = {name: str(spec.get("default", "")) for name, spec in ACTION["inputs"].items()}
    inputs.update(with_)
    outputs: dict[str, dict[str, str]] = {}
    base = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "GITHUB_ACTION_PATH": str(REPO),
            "RUNNER_TEMP": str(tmp_path), "BPKIT_ACTION_VENV": str(venv),
            "GITHUB_ACTIONS": "true",
            **{k: v for k, v in os.environ.items() if k.startswith(("GIT_", "PIP_"))},
            **(env or {})}
    stdout = stderr = ""
    for number, s in enumerate(ACTION["runs"]["steps"]):
        assert s["shell"] == "bash"
        out = tmp_path / f"output-{number}"
        out.write_text("")
        step_env = {**base, "GITHUB_OUTPUT": str(out),
                    **{k: fill(str(v), inputs, outputs) for k, v in s.get("env", {}).items()}}
        workdir = cwd / fill(s.get("working-directory", "."), inputs, outputs)
        proc = subprocess.run(["bash", "-e", "-c", fill(s["run"], inputs, outputs)],
                              cwd=workdir, env=step_env, capture_output=True, text=True,
                              timeout=600, check=False)
        stdout += proc.stdout
        stderr += proc.stderr
        outputs[s["id"]] = read_outputs(out)
        if proc.returncode != 0:
            return proc.returncode, {}, stdout, stderr
    result = {name: fill(spec["value"], inputs, outputs)
              for name, spec in ACTION["outputs"].items()}
    return 0, result, stdout, stderr


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One install for the module: the install step itself, as the first action run does it."""
    tmp = tmp_path_factory.mktemp("action-install")
    venv = tmp / "venv"
    out = tmp / "output"
    proc = subprocess.run(
        ["bash", "-e", "-c", ACTION["runs"]["steps"][0]["run"]], cwd=tmp, capture_output=True,
        text=True, timeout=900, check=False,
        env={"PATH": os.environ["PATH"], "HOME": str(tmp), "GITHUB_ACTION_PATH": str(REPO),
             "GITHUB_OUTPUT": str(out), "BPKIT_ACTION_VENV": str(venv), "INPUT_PYTHON": "python3",
             **{k: v for k, v in os.environ.items() if k.startswith("PIP_")}})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert read_outputs(out) == {"bpkit": f"{venv}/bin/bpkit"}
    return venv


def pins() -> dict[str, str]:
    text = (REPO / "action" / "requirements.txt").read_text()
    found = {}
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep and re.fullmatch(r"[\w.+-]+", version), f"not an exact pin: {line}"
            found[re.sub(r"[-_.]+", "-", name).lower()] = version
    return found


@pytest.mark.integration
def test_the_venv_holds_exactly_the_pinned_versions(venv: Path) -> None:
    proc = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "list", "--format", "json",
                           "--disable-pip-version-check"], capture_output=True, text=True,
                          timeout=60, check=True)
    installed = {re.sub(r"[-_.]+", "-", p["name"]).lower(): p["version"]
                 for p in json.loads(proc.stdout)}
    for seed in ("pip", "setuptools"):  # what `python -m venv` puts in (3.11: both)
        installed.pop(seed, None)
    assert installed.pop("catalyst-bpkit") == ACTION_VERSION
    installed.pop("oras", None)  # unpinned on purpose until issue 7 drops it
    wanted = pins()
    unpinned = set(installed) - set(wanted)
    assert not unpinned, f"installed but not pinned in action/requirements.txt: {unpinned}"
    assert {name: wanted[name] for name in installed} == installed



@pytest.mark.integration
def test_a_second_install_reuses_the_venv(venv: Path, tmp_path: Path) -> None:
    marker = venv / "bin" / "bpkit"
    before = marker.stat().st_mtime_ns
    code, outputs, stdout, stderr = run_action({"command": "lint", "paths": "platform/flux"},
                                               REPO, tmp_path, venv)
    assert code == 0, stderr
    assert f"bpkit, version {ACTION_VERSION}" in stdout
    assert marker.stat().st_mtime_ns == before
    assert outputs["bpkit"] == str(marker)


@pytest.mark.integration
def test_lint_of_the_projects_own_platform(venv: Path, tmp_path: Path) -> None:
    sarif = tmp_path / "bpkit.sarif"
    code, outputs, stdout, stderr = run_action(
        {"command": "lint", "paths": "platform/", "strict": "true", "sarif-file": str(sarif)},
        REPO, tmp_path, venv)
    assert code == 0, stdout + stderr
    assert json.loads(sarif.read_text())["version"] == "2.1.0"
    assert outputs["matrix"] == "" and outputs["count"] == ""
    # A broken blueprint fails the step with bpkit's exit code and an annotation.
    mono = make_monorepo(tmp_path / "mono")
    (mono / "platform/flux/chart/Chart.yaml").write_text("apiVersion: v1\nname: wrong\n")
    code, _, stdout, stderr = run_action({"command": "lint"}, mono, tmp_path, venv)
    assert code == 1
    assert "::error file=platform/flux/chart/Chart.yaml" in stdout


@pytest.mark.integration
def test_changed_writes_the_matrix_and_count_outputs(venv: Path, tmp_path: Path) -> None:
    mono = make_monorepo(tmp_path / "mono")
    before = commit(mono, "before")
    append(mono / "platform/flux/chart/values.yaml", "x: 1\n")
    append(mono / "products/shop/chart/values.yaml", "x: 1\n")
    head = commit(mono, "the push")
    code, outputs, _, stderr = run_action(
        {"command": "changed", "base": before, "head": head, "format": "matrix"},
        mono, tmp_path, venv)
    assert code == 0, stderr
    assert json.loads(outputs["matrix"]) == {"include": [
        {"blueprint": "flux", "path": "platform/flux"},
        {"blueprint": "shop", "path": "products/shop"}]}
    assert outputs["count"] == "2"
    code, outputs, _, stderr = run_action(
        {"command": "changed", "base": "0" * 40, "head": head, "format": "matrix",
         "per-job": "2", "args": "--all-if-unknown"}, mono, tmp_path, venv)
    assert code == 0, stderr
    assert json.loads(outputs["matrix"]) == {"include": [
        {"job": "1", "blueprints": "platform/cert-manager platform/flux",
         "names": "cert-manager flux"},
        {"job": "2", "blueprints": "products/shop", "names": "shop"}]}
    assert outputs["count"] == "3"


@pytest.mark.integration
def test_publish_dry_run_to_a_layout_keeps_the_json(venv: Path, tmp_path: Path) -> None:
    mono = make_monorepo(tmp_path / "mono")
    results = tmp_path / "results.json"
    code, _, stdout, stderr = run_action(
        {"command": "publish", "paths": "platform/flux\nproducts/shop", "dry-run": "true",
         "format": "json", "output-file": str(results),
         "args": f"--layout '{tmp_path / 'oci layout'}'"}, mono, tmp_path, venv)
    assert code == 0, stderr
    data = json.loads(results.read_text())
    assert json.loads(stdout.split("\n", 1)[1]) == data  # after install's version line
    assert [(r["blueprint"], r["status"]) for r in data["results"]] == [
        ("platform/flux", "would publish"), ("products/shop", "would publish")]
    assert "oci layout" in data["destination"]


# -- run.sh alone, with a stand-in bpkit that prints its arguments --------------------


def stand_in(tmp_path: Path, body: str = 'printf "%s\\n" "$@"') -> Path:
    tool = tmp_path / "bin" / "bpkit"
    tool.parent.mkdir(exist_ok=True)
    tool.write_text(f"#!/bin/sh\n{body}\n")
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    return tool


def run_sh(tmp_path: Path, body: str = 'printf "%s\\n" "$@"',
           **inputs: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ["PATH"], "BPKIT": str(stand_in(tmp_path, body)),
           **{f"INPUT_{k.upper()}": v for k, v in inputs.items()}}
    return subprocess.run([str(REPO / "action" / "run.sh")], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=30, check=False)


def test_inputs_become_options(tmp_path: Path) -> None:
    proc = run_sh(tmp_path, command="lint", paths="platform/a\n  platform/b ", base="origin/main",
                  format="sarif", strict="true", sarif_file="out.sarif", dry_run="false")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["lint", "--base", "origin/main", "--format", "sarif",
                                        "--sarif-file", "out.sarif", "--strict", "--",
                                        "platform/a", "platform/b"]
    proc = run_sh(tmp_path, command="changed", base="abc", head="def", per_job="4",
                  args="--all-if-unknown")
    assert proc.stdout.splitlines() == ["changed", "--base", "abc", "--head", "def",
                                        "--per-job", "4", "--all-if-unknown"]
    proc = run_sh(tmp_path, command="publish", registry="oci://r/ns", dry_run="true")
    assert proc.stdout.splitlines() == ["publish", "--registry", "oci://r/ns", "--dry-run"]


@pytest.mark.parametrize(("inputs", "argv"), [
    ({"command": "verify", "paths": "oci://r/ns/bp-a:1.0.0 oci:dist/oci:bp-b:1.0.0",
      "format": "json"}, ["verify", "--format", "json", "--", "oci://r/ns/bp-a:1.0.0",
                          "oci:dist/oci:bp-b:1.0.0"]),
    ({"command": "render", "registry": "oci://r/ns", "args": "--out deploy"},
     ["render", "flux", "--registry", "oci://r/ns", "--out", "deploy"]),
    ({"command": "render flux", "paths": "platform/flux"},
     ["render", "flux", "--", "platform/flux"]),
    ({"command": "upstream lock", "args": "--check"}, ["upstream", "lock", "--check"]),
    ({"command": "upstream fetch", "paths": "platform"}, ["upstream", "fetch", "--", "platform"]),
])
def test_verify_render_and_upstream_commands(tmp_path: Path, inputs: dict[str, str],
                                             argv: list[str]) -> None:
    proc = run_sh(tmp_path, **inputs)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == argv


def test_the_new_commands_run_the_real_bpkit(tmp_path: Path) -> None:
    """run.sh's argument lists are ones bpkit itself accepts (render, upstream lock --check)."""
    import sys

    real = Path(sys.executable).parent / "bpkit"
    mono = make_monorepo(tmp_path / "mono")
    env = {"PATH": os.environ["PATH"], "BPKIT": str(real), "HOME": str(tmp_path),
           "BPKIT_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.run([str(REPO / "action" / "run.sh")], cwd=mono, timeout=120, check=False,
                          env={**env, "INPUT_COMMAND": "render", "INPUT_PATHS": "platform/flux"},
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "kind: HelmRelease" in proc.stdout
    proc = subprocess.run([str(REPO / "action" / "run.sh")], cwd=mono, timeout=120, check=False,
                          env={**env, "INPUT_COMMAND": "verify", "INPUT_PATHS": "nothing.tgz"},
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "nothing.tgz" in proc.stderr


def test_args_split_like_a_shell_without_running_anything(tmp_path: Path) -> None:
    proc = run_sh(tmp_path, command="publish",
                  args="--tag 'platform/flux/v1.0.0' --layout \"a b\" $(touch pwned) `touch x` *")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["publish", "--tag", "platform/flux/v1.0.0", "--layout",
                                        "a b", "$(touch", "pwned)", "`touch", "x`", "*"]
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "x").exists()
    proc = run_sh(tmp_path, command="lint", paths="$(touch pwned2) *")
    assert proc.stdout.splitlines() == ["lint", "--", "$(touch", "pwned2)", "*"]
    assert not (tmp_path / "pwned2").exists()


@pytest.mark.parametrize(("inputs", "message"), [
    ({"command": "deploy"}, "bpkit action: unknown command deploy (one of: lint, changed, "
                            "publish, verify, render, upstream lock, upstream fetch)"),
    ({"command": "upstream"}, "bpkit action: unknown command upstream (one of:"),
    ({"command": "upstream rm"}, "bpkit action: unknown command upstream\\ rm (one of:"),
    ({"command": ""}, "bpkit action: unknown command ''"),
    ({"command": "lint", "strict": "yes"}, "bpkit action: input strict must be true or false, "
                                           "not yes"),
    ({"command": "lint", "args": "--base 'open"}, "bpkit action: input args: No closing "
                                                  "quotation"),
])
def test_bad_inputs_exit_2_with_one_line(tmp_path: Path, inputs: dict[str, str],
                                         message: str) -> None:
    proc = run_sh(tmp_path, **inputs)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith(message) and proc.stderr.count("\n") == 1


def test_the_command_name_is_escaped_in_the_log(tmp_path: Path) -> None:
    proc = run_sh(tmp_path, command="x\n::error::injected")
    assert proc.returncode == 2
    assert "\n::error::" not in proc.stderr


def test_exit_code_and_output_file_pass_through(tmp_path: Path) -> None:
    out = tmp_path / "copy.json"
    proc = run_sh(tmp_path, "echo '{\"ok\": false}'; exit 1", command="publish",
                  output_file=str(out))
    assert proc.returncode == 1
    assert out.read_text() == proc.stdout == '{"ok": false}\n'


def test_install_refuses_an_old_or_missing_python(tmp_path: Path) -> None:
    fake = tmp_path / "python3.9"
    fake.write_text("#!/bin/sh\ncase \"$2\" in *platform*) echo 3.9.18;; *) exit 1;; esac\n")
    fake.chmod(0o755)
    script = str(REPO / "action" / "install.sh")
    for python, message in ((str(fake), "bpkit needs Python 3.11 or later; "
                                        f"'{fake}' is 3.9.18"),
                            ("no-such-python", "no Python interpreter 'no-such-python'")):
        proc = subprocess.run([script], env={"PATH": os.environ["PATH"], "INPUT_PYTHON": python,
                                             "BPKIT_ACTION_VENV": str(tmp_path / "v")},
                              capture_output=True, text=True, timeout=30, check=False)
        assert proc.returncode == 2
        assert message in proc.stderr
        assert not (tmp_path / "v").exists()
