"""`bpkit changed` and bpkit.history.changes, in real temporary git repositories.

conftest pins author, committer and dates and keeps the developer's git
config out. The git helpers here are shared by the version-gate, tag and
release tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bpkit.errors import GitError
from bpkit.helm.helmignore import HelmIgnore
from bpkit.history.changes import (
    ADDED,
    CHANGED,
    DELETED,
    RENAMED,
    ChangeSet,
    UnknownHistoryError,
    changed_blueprints,
    counts_as_change,
)
from bpkit.report.matrix import matrix
from tests.helpers.blueprints import write_blueprint, write_tree
from tests.helpers.cli import invoke
from tests.helpers.git import append, commit, git, make_monorepo

# -- helpers ---------------------------------------------------------------------


def targets_matrix(result: ChangeSet) -> dict[str, list[dict[str, str]]]:
    """What `bpkit changed --format matrix` prints for the result's publish targets."""
    return matrix([(c.name, c.path) for c in result.targets])


# -- fixtures ---------------------------------------------------------------------


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_monorepo(tmp_path / "mono")


def paths(root: Path, base: str, head: str | None = None, **kw: object) -> dict[str, str]:
    result = changed_blueprints(root, base, head, **kw)  # type: ignore[arg-type]
    return {c.path: c.status for c in result.changes}


# -- what counts as a change -----------------------------------------------------


def test_edit_to_one_blueprint(repo: Path) -> None:
    append(repo / "platform/flux/chart/values.yaml", "extra: true\n")
    commit(repo, "flux values")
    result = changed_blueprints(repo, "HEAD~1")
    assert [(c.path, c.status, c.files) for c in result.changes] == [
        ("platform/flux", CHANGED, ("chart/values.yaml",))]
    assert result.complete and result.warning is None
    assert result.base == git(repo, "rev-parse", "HEAD~1").strip()
    assert result.head == git(repo, "rev-parse", "HEAD").strip()
    assert targets_matrix(result) == {"include": [{"blueprint": "flux", "path": "platform/flux"}]}


def test_edits_to_several_blueprints_in_both_roots(repo: Path) -> None:
    append(repo / "platform/cert-manager/blueprint.yaml", "# note\n")
    append(repo / "products/shop/chart/templates/cm.yaml", "kind: ConfigMap\n")
    commit(repo, "two blueprints")
    append(repo / "platform/flux/chart/values.yaml", "x: 1\n")
    commit(repo, "a third")
    assert paths(repo, "HEAD~2") == {"platform/cert-manager": CHANGED, "platform/flux": CHANGED,
                                     "products/shop": CHANGED}
    assert paths(repo, "HEAD~1") == {"platform/flux": CHANGED}


def test_readme_and_other_files_do_not_count(repo: Path) -> None:
    (repo / "platform/flux/README.md").write_text("# flux\n")
    (repo / "platform/flux/chart/README.md").write_text("# bp-flux\n")
    (repo / "platform/flux/chart/templates").mkdir()
    (repo / "platform/flux/chart/templates/readme").write_text("notes\n")
    (repo / "platform/flux/docs").mkdir()
    (repo / "platform/flux/docs/usage.md").write_text("usage\n")
    (repo / "platform/NOTES.md").write_text("not in a blueprint\n")
    (repo / "README.md").write_text("monorepo\n")
    commit(repo, "docs only")
    assert paths(repo, "HEAD~1") == {}


def test_helmignored_files_do_not_count(repo: Path) -> None:
    (repo / "platform/flux/chart/.helmignore").write_text("*.bak\nci/\n")
    commit(repo, "helmignore")
    chart = repo / "platform/flux/chart"
    append(chart / "values.yaml.bak", "old\n")
    append(chart / "ci/test-values.yaml", "a: 1\n")
    append(chart / "templates/.scratch.yaml", "x\n")  # Helm's default rule templates/.?*
    append(chart / "charts/.gitkeep", "")  # Helm drops charts/.* itself
    commit(repo, "ignored files")
    assert paths(repo, "HEAD~1") == {}
    append(chart / "templates/cm.yaml", "kind: ConfigMap\n")
    commit(repo, "a packaged file")
    result = changed_blueprints(repo, "HEAD~2")
    assert [(c.path, c.files) for c in result.changes] == [
        ("platform/flux", ("chart/templates/cm.yaml",))]


def test_helmignore_edit_counts(repo: Path) -> None:
    (repo / "platform/flux/chart/.helmignore").write_text("*.bak\n")
    commit(repo, "helmignore")
    assert paths(repo, "HEAD~1") == {"platform/flux": CHANGED}


def test_file_deleted_and_newly_ignored_counts(repo: Path) -> None:
    """Packaged at the base, gone at the head: the package changed."""
    append(repo / "platform/flux/chart/files/a.conf", "a\n")
    commit(repo, "a.conf")
    (repo / "platform/flux/chart/files/a.conf").unlink()
    commit(repo, "drop a.conf")
    result = changed_blueprints(repo, "HEAD~1")
    assert [(c.path, c.files) for c in result.changes] == [
        ("platform/flux", ("chart/files/a.conf",))]


def test_counts_as_change_rules() -> None:
    rules = HelmIgnore.parse("/secret/\n*.tmp\n").with_defaults()
    assert counts_as_change("blueprint.yaml", [rules])
    assert counts_as_change("chart/.helmignore", [rules])
    assert counts_as_change("chart/values.yaml", [rules])
    assert not counts_as_change("chart/secret/x.yaml", [rules])  # ignored folder
    assert not counts_as_change("chart/README.md", [rules])
    assert not counts_as_change("chart/templates/.hidden", [rules])
    assert not counts_as_change("chart/templates/x.tmp", [rules])
    assert not counts_as_change("chart/charts/_helpers/a.yaml", [rules])
    assert counts_as_change("chart/files/secret/x.yaml", [rules])  # /secret/ is anchored
    assert not counts_as_change("docs/a.md", [rules])
    assert not counts_as_change("chart/values.yaml", [])  # exists on neither side
    assert counts_as_change("chart/secret/x.yaml", [rules, None])  # a refused .helmignore


# -- deletions, renames, additions ----------------------------------------------


def test_deleted_blueprint_is_not_a_publish_target(repo: Path) -> None:
    git(repo, "rm", "-q", "-r", "platform/cert-manager")
    commit(repo, "drop cert-manager")
    result = changed_blueprints(repo, "HEAD~1")
    assert [(c.path, c.status, c.publish) for c in result.changes] == [
        ("platform/cert-manager", DELETED, False)]
    assert result.targets == ()
    assert targets_matrix(result) == {"include": []}


def test_renamed_folder_counts_under_its_new_name(repo: Path) -> None:
    git(repo, "mv", "platform/flux", "platform/fluxcd")
    commit(repo, "rename")
    result = changed_blueprints(repo, "HEAD~1")
    assert [(c.path, c.status, c.renamed_from) for c in result.changes] == [
        ("platform/fluxcd", RENAMED, "platform/flux")]
    assert targets_matrix(result) == {
        "include": [{"blueprint": "fluxcd", "path": "platform/fluxcd"}]}


def test_new_blueprint_is_added(repo: Path) -> None:
    write_blueprint(repo, "gitea")
    (repo / "platform/empty").mkdir()
    (repo / "platform/empty/README.md").write_text("not a blueprint\n")
    commit(repo, "gitea")
    assert paths(repo, "HEAD~1") == {"platform/gitea": ADDED}


# -- history shapes ---------------------------------------------------------------


def test_merge_commits(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "feature")
    append(repo / "platform/flux/chart/values.yaml", "feature: 1\n")
    commit(repo, "feature edits flux")
    git(repo, "checkout", "-q", "main")
    append(repo / "platform/cert-manager/chart/values.yaml", "main: 1\n")
    main_before = commit(repo, "main edits cert-manager")
    git(repo, "checkout", "-q", "feature")
    git(repo, "merge", "-q", "--no-edit", "main")  # main merged into the branch
    # Pull-request semantics: only the branch's own change, through the merge commit.
    assert paths(repo, "main") == {"platform/flux": CHANGED}
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "--no-edit", "feature")
    merge = git(repo, "rev-parse", "HEAD").strip()
    assert len(git(repo, "rev-list", "--parents", "-n1", "HEAD").split()) == 3
    # Push semantics: the push moved main from main_before to the merge commit.
    assert paths(repo, main_before, merge) == {"platform/flux": CHANGED}


def test_shallow_clone_needs_full_history(repo: Path, tmp_path: Path) -> None:
    append(repo / "platform/flux/chart/values.yaml", "x: 1\n")
    commit(repo, "flux")
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo}", str(clone))
    with pytest.raises(UnknownHistoryError) as err:
        changed_blueprints(clone, "HEAD~1")
    assert "shallow" in err.value.message and "fetch-depth: 0" in err.value.message
    assert err.value.exit_code == 2
    result = changed_blueprints(clone, "HEAD~1", all_if_unknown=True)
    assert [c.path for c in result.changes] == [
        "platform/cert-manager", "platform/flux", "products/shop"]
    assert not result.complete and result.warning and "fetch-depth: 0" in result.warning
    assert result.base is None


def test_first_commit_has_no_parent(repo: Path) -> None:
    with pytest.raises(UnknownHistoryError, match="before the repository's first commit"):
        changed_blueprints(repo, "HEAD~1")
    result = changed_blueprints(repo, "HEAD~1", all_if_unknown=True)
    assert len(result.changes) == 3 and result.warning


def test_all_zero_before_of_a_new_branch(repo: Path) -> None:
    with pytest.raises(UnknownHistoryError, match="all-zero commit id"):
        changed_blueprints(repo, "0" * 40, "HEAD")
    result = changed_blueprints(repo, "0" * 40, "HEAD", all_if_unknown=True)
    assert [c.status for c in result.changes] == [CHANGED] * 3


def test_unknown_base_and_bad_head(repo: Path) -> None:
    with pytest.raises(UnknownHistoryError, match="no such commit in this clone"):
        changed_blueprints(repo, "origin/main")
    with pytest.raises(GitError, match="head nope: no such commit"):
        changed_blueprints(repo, "HEAD", "nope")


def test_not_a_git_repository(tmp_path: Path) -> None:
    write_tree(tmp_path)
    with pytest.raises(GitError, match="not inside a git repository"):
        changed_blueprints(tmp_path, "HEAD")


def test_worktree_mode_sees_uncommitted_and_untracked_files(repo: Path) -> None:
    append(repo / "platform/flux/chart/values.yaml", "x: 1\n")
    append(repo / "products/shop/chart/templates/new.yaml", "kind: Secret\n")
    assert paths(repo, "HEAD") == {}
    assert paths(repo, "HEAD", worktree=True) == {"platform/flux": CHANGED,
                                                  "products/shop": CHANGED}


def test_bpkit_root_below_the_git_top(tmp_path: Path) -> None:
    top = tmp_path / "top"
    top.mkdir()
    git(top, "init", "-q", "-b", "main")
    write_tree(top / "mono")
    commit(top, "nested monorepo")
    append(top / "mono/platform/flux/blueprint.yaml", "# edit\n")
    commit(top, "edit")
    assert paths(top / "mono", "HEAD~1") == {"platform/flux": CHANGED}


# -- the command --------------------------------------------------------------------


def test_cli_names_json_and_deleted_note(repo: Path) -> None:
    append(repo / "platform/flux/chart/values.yaml", "x: 1\n")
    git(repo, "rm", "-q", "-r", "platform/cert-manager")
    commit(repo, "edit flux, drop cert-manager")
    run = invoke("changed", "--base", "HEAD~1", cwd=repo)
    assert run.code == 0, run.err
    assert run.lines == ["platform/flux"]
    assert "platform/cert-manager: deleted; not a publish target" in run.err
    run = invoke("changed", "--base", "HEAD~1", "--format", "json", cwd=repo)
    data = json.loads(run.out)
    assert data["complete"] is True
    assert [(b["path"], b["status"], b["publish"]) for b in data["blueprints"]] == [
        ("platform/cert-manager", "deleted", False), ("platform/flux", "changed", True)]


def test_cli_matrix_from_a_clone_with_history(repo: Path, tmp_path: Path) -> None:
    """Issue 4's "done when": a clone, `--base HEAD~1 --format matrix`, exactly the changes."""
    append(repo / "platform/cert-manager/chart/values.yaml", "old: change\n")
    commit(repo, "older change")
    append(repo / "platform/flux/chart/templates/cm.yaml", "kind: ConfigMap\n")
    append(repo / "products/shop/blueprint.yaml", "# edit\n")
    (repo / "platform/cert-manager/README.md").write_text("docs only\n")
    commit(repo, "latest")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", f"file://{repo}", str(clone))
    out_file = tmp_path / "github-output"
    run = invoke("changed", "--base", "HEAD~1", "--format", "matrix", cwd=clone,
                env={"GITHUB_OUTPUT": str(out_file)})
    assert run.code == 0, run.err
    expected = {"include": [{"blueprint": "flux", "path": "platform/flux"},
                            {"blueprint": "shop", "path": "products/shop"}]}
    assert json.loads(run.out) == expected
    lines = out_file.read_text().splitlines()
    assert lines[0].startswith("matrix=") and json.loads(lines[0][7:]) == expected
    assert lines[1] == "count=2"


def test_cli_shallow_clone_exit_2_or_all_with_warning(repo: Path, tmp_path: Path) -> None:
    commit(repo, "second")
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo}", str(clone))
    run = invoke("changed", "--base", "HEAD~1", cwd=clone)
    assert run.code == 2
    assert run.out == ""
    err = run.err.strip()
    assert err.startswith("bpkit: error: base HEAD~1 is not in this shallow clone")
    assert "fetch-depth: 0" in err and "--all-if-unknown" in err and "\n" not in err
    run = invoke("changed", "--base", "HEAD~1", "--all-if-unknown", "--format", "matrix",
                cwd=clone)
    assert run.code == 0
    assert len(json.loads(run.out)["include"]) == 3
    assert run.err.startswith("bpkit: warning: base HEAD~1 is not in this shallow clone")


def test_cli_needs_base(repo: Path) -> None:
    run = invoke("changed", cwd=repo)
    assert run.code == 2
    assert "--base" in run.err
