"""`bpkit lint`, `bpkit rules` and `bpkit schema` as users run them."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers.cli import invoke

REPO = Path(__file__).resolve().parent.parent


def break_flux(root: Path) -> None:
    chart = root / "platform/flux/chart/Chart.yaml"
    chart.write_text(chart.read_text() + "dependencies:\n  - name: flux2\n    version: 2.13.0\n"
                     "    repository: https://fluxcd-community.github.io/helm-charts\n")


def test_clean_tree_exits_zero(monorepo: Path) -> None:
    run = invoke("lint", cwd=monorepo)
    assert run.code == 0, run.out + run.err
    assert run.lines[-1] == "2 blueprints clean" or "clean" in run.lines[-1]


def test_problem_line_format_and_exit_one(monorepo: Path) -> None:
    break_flux(monorepo)
    run = invoke("lint", cwd=monorepo)
    assert run.code == 1
    first = run.lines[0]
    assert first.startswith("platform/flux/chart/Chart.yaml:6:1: error chart-dependencies ")
    assert "registry and containerd" in first
    assert 'chart: flux2, version: "2.13.0"' in first
    assert "\x1b[" not in run.out  # no colour when not a terminal


def test_json_format(monorepo: Path) -> None:
    break_flux(monorepo)
    run = invoke("lint", "--format", "json", cwd=monorepo)
    data = json.loads(run.out)
    assert run.code == 1
    assert data["problems"][0]["rule"] == "chart-dependencies"
    assert data["problems"][0]["line"] == 6


def test_github_format_is_chosen_under_actions(monorepo: Path) -> None:
    break_flux(monorepo)
    run = invoke("lint", cwd=monorepo, env={"GITHUB_ACTIONS": "true"})
    assert run.lines[0].startswith("::error file=platform/flux/chart/Chart.yaml,line=6,col=1")


def test_sarif_file_alongside_text(monorepo: Path) -> None:
    break_flux(monorepo)
    run = invoke("lint", "--sarif-file", "out.sarif", cwd=monorepo)
    assert run.code == 1
    sarif = json.loads((monorepo / "out.sarif").read_text())
    assert sarif["version"] == "2.1.0"
    assert sarif["runs"][0]["results"][0]["ruleId"] == "chart-dependencies"


def test_strict_fails_on_warnings(monorepo: Path) -> None:
    values = monorepo / "platform/flux/chart/values.yaml"
    text = values.read_text().replace("replicaCount: 1\n", "flux2:\n  replicaCount: 1\n")
    values.write_text(text)
    assert invoke("lint", cwd=monorepo).code == 0
    run = invoke("lint", "--strict", cwd=monorepo)
    assert run.code == 1 and "overlay-subchart-key" in run.out


def test_usage_errors_exit_two(monorepo: Path) -> None:
    run = invoke("lint", "nowhere", cwd=monorepo)
    assert run.code == 2 and "nowhere: no such file" in run.err and "Traceback" not in run.err
    run = invoke("lint", "--format", "xml", cwd=monorepo)
    assert run.code == 2
    (monorepo / "pyproject.toml").write_text("[tool.bpkit.rules]\nnope = 'off'\n")
    run = invoke("lint", cwd=monorepo)
    assert run.code == 2 and "pyproject.toml" in run.err and "unknown rule" in run.err


def test_pre_commit_style_file_arguments(monorepo: Path) -> None:
    (monorepo / "README.md").write_text("# monorepo\n")
    break_flux(monorepo)
    run = invoke("lint", "platform/flux/chart/Chart.yaml", "platform/flux/chart/values.yaml",
                "README.md", cwd=monorepo)
    assert run.code == 1
    assert sum("chart-dependencies" in line for line in run.lines) == 1


def test_rules_list_and_explain(monorepo: Path) -> None:
    run = invoke("rules", cwd=monorepo)
    assert run.code == 0
    ids = [line.split()[0] for line in run.lines]
    assert "chart-dependencies" in ids and len(ids) == len(set(ids)) >= 25
    run = invoke("rules", "chart-dependencies", cwd=monorepo)
    assert run.code == 0 and "containerd" in run.out and "Failing::" in run.out
    assert invoke("rules", "nope", cwd=monorepo).code == 2


def test_schema_prints_json_schema(monorepo: Path) -> None:
    for name in ("blueprint", "chart", "upstream", "values"):
        run = invoke("schema", name, cwd=monorepo)
        data = json.loads(run.out)
        assert data["$schema"].endswith("2020-12/schema")
        assert data["$id"].endswith(f"{name}.schema.json")


def test_project_platform_is_clean() -> None:
    run = invoke("lint", "--strict", "platform/", cwd=REPO)
    assert run.code == 0, run.out + run.err
    assert "10 blueprints clean" in run.out


def test_lint_never_imports_the_network_or_git_stack(monorepo: Path) -> None:
    """The pre-commit hook runs lint on every commit: keep its imports cheap."""
    import subprocess
    import sys

    code = ("import sys\nfrom bpkit.cli import main\n"
            "try:\n    main(['lint', 'platform'])\nexcept SystemExit as e:\n    code = e.code\n"
            "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'oras', 'requests', 'git',"
            " 'urllib3', 'semver'})\nprint('HEAVY', heavy, code)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=monorepo, capture_output=True,
                          text=True, check=False, env={"PYTHONPATH": str(REPO), "PATH": ""})
    assert "HEAVY [] 0" in proc.stdout, proc.stdout + proc.stderr
