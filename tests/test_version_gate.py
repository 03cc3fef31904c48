"""The version gate: `bpkit lint --base REF` and bpkit.history.gate.version_gate."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bpkit.history.changes import UnknownHistoryError
from bpkit.history.gate import version_gate
from bpkit.lint.engine import lint_paths
from bpkit.problem import Level, Problem
from bpkit.settings import Settings
from tests.helpers.blueprints import write_blueprint
from tests.helpers.cli import invoke
from tests.helpers.git import append, commit, git, make_monorepo, set_version

RULE = "version-bump"
FLUX_CHART = "platform/flux/chart/Chart.yaml"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A monorepo on branch `feature`, forked from `main` after the first commit."""
    root = make_monorepo(tmp_path / "mono")
    git(root, "checkout", "-q", "-b", "feature")
    return root


def gate_problems(root: Path, base: str = "main") -> list[Problem]:
    settings = Settings(root=root.resolve())
    gate = version_gate(settings.root, base, settings)
    result = lint_paths([], settings, version_gate=gate)
    return [p for p in result.problems if p.rule == RULE]


def rel(problem: Problem, root: Path) -> str:
    return Path(problem.path).resolve().relative_to(root.resolve()).as_posix()


def test_unchanged_version_is_an_error_naming_it(repo: Path) -> None:
    append(repo / "platform/flux/chart/values.yaml", "extra: 1\n")
    commit(repo, "edit flux")
    [problem] = gate_problems(repo)
    assert rel(problem, repo) == FLUX_CHART
    assert (problem.line, problem.col, problem.level) == (3, 10, Level.ERROR)  # `version:` value
    assert "version 1.0.0 is unchanged since the merge base with main" in problem.message
    assert "chart/values.yaml" in problem.message and "1.0.1" in problem.message


def test_lowered_version_names_both(repo: Path) -> None:
    append(repo / "platform/flux/blueprint.yaml", "# edit\n")
    set_version(repo, "platform/flux", "0.9.0")
    commit(repo, "lower flux")
    [problem] = gate_problems(repo)
    assert rel(problem, repo) == FLUX_CHART
    assert "version 0.9.0 is lower than 1.0.0" in problem.message


def test_raised_and_new_blueprints_pass(repo: Path) -> None:
    append(repo / "platform/flux/chart/values.yaml", "extra: 1\n")
    set_version(repo, "platform/flux", "1.0.1")
    append(repo / "products/shop/chart/values.yaml", "extra: 1\n")
    set_version(repo, "products/shop", "2.0.0-rc.1")
    write_blueprint(repo, "gitea", version="0.1.0")
    commit(repo, "bump flux and shop, add gitea")
    assert gate_problems(repo) == []


def test_unchanged_blueprints_and_readme_edits_pass(repo: Path) -> None:
    (repo / "platform/flux/chart/README.md").write_text("# docs\n")
    commit(repo, "docs")
    assert gate_problems(repo) == []


def test_build_metadata_alone_does_not_raise(repo: Path) -> None:
    set_version(repo, "platform/flux", "1.0.0+build.2")
    commit(repo, "metadata only")
    [problem] = gate_problems(repo)
    assert "1.0.0+build.2 does not raise 1.0.0" in problem.message


def test_prerelease_of_the_base_is_raised_by_its_release(repo: Path) -> None:
    git(repo, "checkout", "-q", "main")
    set_version(repo, "platform/flux", "1.1.0-rc.1")
    commit(repo, "rc")
    git(repo, "checkout", "-q", "-b", "release")
    set_version(repo, "platform/flux", "1.1.0")
    commit(repo, "release")
    assert gate_problems(repo) == []


def test_uncommitted_edits_count(repo: Path) -> None:
    """lint reads the working tree, so the gate compares with it too."""
    append(repo / "products/shop/chart/templates/cm.yaml", "kind: ConfigMap\n")  # untracked
    [problem] = gate_problems(repo)
    assert rel(problem, repo) == "products/shop/chart/Chart.yaml"
    assert "chart/templates/cm.yaml" in problem.message


def test_gate_reads_git_once(repo: Path) -> None:
    append(repo / "platform/flux/chart/values.yaml", "extra: 1\n")
    commit(repo, "edit flux")
    settings = Settings(root=repo.resolve())
    gate = version_gate(settings.root, "main", settings)
    shutil.rmtree(repo / ".git")  # everything the gate needs was read up front
    problems = lint_paths([], settings, version_gate=gate).problems
    assert [rel(p, repo) for p in problems if p.rule == RULE] == [FLUX_CHART]


def test_gate_in_a_shallow_clone_says_what_to_fetch(repo: Path, tmp_path: Path) -> None:
    commit(repo, "on feature")
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", "--branch", "feature", f"file://{repo}",
        str(clone))
    settings = Settings(root=clone)
    with pytest.raises(UnknownHistoryError, match="fetch-depth: 0"):
        version_gate(clone, "origin/main", settings)


# -- the command ----------------------------------------------------------------------


def test_cli_stops_an_unbumped_change(repo: Path) -> None:
    append(repo / "platform/flux/chart/values.yaml", "extra: 1\n")
    commit(repo, "edit flux")
    run = invoke("lint", "--base", "main", cwd=repo)
    assert run.code == 1, run.out + run.err
    assert run.lines[0].startswith(
        f"{FLUX_CHART}:3:10: error version-bump version 1.0.0 is unchanged since the merge "
        "base with main")
    assert len([line for line in run.lines if "version-bump" in line]) == 1
    # Without --base the rule does nothing.
    assert invoke("lint", cwd=repo).code == 0


def test_cli_lowered_then_raised(repo: Path) -> None:
    set_version(repo, "platform/flux", "0.9.0")
    commit(repo, "lower")
    run = invoke("lint", "--base", "main", "--format", "github", cwd=repo)
    assert run.code == 1
    assert run.lines[0].startswith(f"::error file={FLUX_CHART},line=3,col=10")
    assert "0.9.0 is lower than 1.0.0" in run.lines[0]
    set_version(repo, "platform/flux", "1.0.1")
    commit(repo, "raise")
    run = invoke("lint", "--base", "main", cwd=repo)
    assert run.code == 0, run.out + run.err


def test_cli_unknown_base_is_exit_2(repo: Path) -> None:
    run = invoke("lint", "--base", "origin/main", cwd=repo)
    assert run.code == 2
    assert run.err.startswith("bpkit: error: base origin/main: no such commit in this clone")
