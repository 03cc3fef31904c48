"""`bpkit changed` at scale and with odd folder names, in real git repositories.

Scale is asserted as a count, not a time: the number of git processes one
comparison starts must not grow with the number of blueprints it touches
(bench/bench_changed.py measures the time).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bpkit.history.changes import ADDED, CHANGED, DELETED, RENAMED, changed_blueprints
from tests.helpers.blueprints import write_blueprint
from tests.helpers.cli import bpkit
from tests.helpers.git import append, commit, git

ODD = ["evil\n::error::forged", "esc\x1b[2Jclear", "tab\there", "sp ace", "star*[x]?",
       "-dash", "uni-\u00e9\u202e"]


@pytest.fixture
def git_processes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[list[str]]]:
    """Every git process started in this process (gitpython's and bpkit's own)."""
    started: list[list[str]] = []
    real_init = subprocess.Popen.__init__

    def init(self: Any, args: Any, *rest: Any, **kw: Any) -> None:
        argv = [args] if isinstance(args, str | bytes) else list(args)
        if argv and Path(str(argv[0])).name == "git":
            started.append([str(a) for a in argv])
        real_init(self, args, *rest, **kw)

    monkeypatch.setattr(subprocess.Popen, "__init__", init)
    yield started


def many(root: Path, count: int) -> Path:
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    for i in range(count):
        write_blueprint(root, f"bp{i:04d}")
    (root / "platform/bp0001/chart/.helmignore").write_text("*.bak\n")
    commit(root, "blueprints")
    for i in range(count):
        append(root / f"platform/bp{i:04d}/chart/values.yaml", "touched: true\n")
    append(root / "platform/bp0001/chart/x.bak", "ignored\n")
    commit(root, "touch every blueprint")
    return root


def test_git_processes_do_not_grow_with_the_diff(tmp_path: Path,
                                                 git_processes: list[list[str]]) -> None:
    counts = {}
    for count in (20, 200):
        root = many(tmp_path / str(count), count)
        git_processes.clear()
        for head in (None, "HEAD"):  # pull-request and push semantics
            result = changed_blueprints(root, "HEAD~1", head)
            assert len(result.changes) == count
            assert {c.status for c in result.changes} == {CHANGED}
            assert result.find("platform/bp0001") is not None
            assert result.find("platform/bp0001").files == ("chart/values.yaml",)  # type: ignore[union-attr]
        counts[count] = len(git_processes)
    assert counts[200] <= counts[20], counts
    assert counts[200] <= 40, counts  # a handful per comparison, both semantics


def test_all_if_unknown_lists_every_blueprint_in_few_processes(
        tmp_path: Path, git_processes: list[list[str]]) -> None:
    root = many(tmp_path / "r", 50)
    git_processes.clear()
    result = changed_blueprints(root, "HEAD~5", all_if_unknown=True)
    assert result.warning is not None
    assert [c.path for c in result.changes] == [f"platform/bp{i:04d}" for i in range(50)]
    assert len(git_processes) <= 15


def test_batched_reads_agree_on_status_kinds(tmp_path: Path) -> None:
    root = many(tmp_path / "r", 4)
    git(root, "mv", "platform/bp0002", "platform/renamed")
    write_blueprint(root, "fresh")
    # A .helmignore that is a symlink is not read (every file then counts).
    (root / "platform/bp0000/chart/.helmignore").symlink_to("values.yaml")
    append(root / "platform/bp0000/chart/y.bak", "x\n")
    # bp0001's own .helmignore still leaves *.bak out.
    append(root / "platform/bp0001/chart/y.bak", "x\n")
    commit(root, "rename, add")
    statuses = {c.path: c.status for c in changed_blueprints(root, "HEAD~1").changes}
    assert statuses == {"platform/bp0000": CHANGED, "platform/fresh": ADDED,
                        "platform/renamed": RENAMED}
    git(root, "rm", "-rq", "platform/bp0003")
    commit(root, "delete")
    assert paths_of(changed_blueprints(root, "HEAD~1")) == {"platform/bp0003": DELETED}


def paths_of(result: Any) -> dict[str, str]:
    return {c.path: c.status for c in result.changes}


@pytest.fixture
def odd_repo(tmp_path: Path) -> Path:
    root = tmp_path / "odd"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    write_blueprint(root, "plain")
    commit(root, "first")
    for name in ODD:
        write_blueprint(root, name)
    append(root / "platform/plain/chart/values.yaml", "x: 1\n")
    commit(root, "odd names")
    return root


def test_odd_names_are_found(odd_repo: Path) -> None:
    result = changed_blueprints(odd_repo, "HEAD~1")
    assert sorted(c.path for c in result.changes) == sorted(
        ["platform/plain", *(f"platform/{n}" for n in ODD)])
    assert {c.status for c in result.changes if c.path != "platform/plain"} == {ADDED}


def test_text_output_cannot_forge_lines(odd_repo: Path) -> None:
    r = bpkit("changed", "--base", "HEAD~1", cwd=odd_repo)
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert len(lines) == len(ODD) + 1  # one line per blueprint, whatever the names
    assert all(line.startswith("platform/") for line in lines)
    assert "platform/evil\\n::error::forged" in lines
    assert "platform/esc\\x1b[2Jclear" in lines
    assert "platform/uni-\u00e9\\u202e" in lines
    assert "\x1b" not in r.out and "\u202e" not in r.out


def test_nul_output_keeps_the_exact_names(odd_repo: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bpkit", "changed", "--base", "HEAD~1", "-z"], cwd=odd_repo,
        capture_output=True, check=False,
        env={**_env(), "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.endswith(b"\0")
    names = proc.stdout[:-1].split(b"\0")
    assert sorted(names) == sorted(
        [b"platform/plain", *(f"platform/{n}".encode() for n in ODD)])


def test_nul_needs_names_format(odd_repo: Path) -> None:
    r = bpkit("changed", "--base", "HEAD~1", "-z", "--format", "json", cwd=odd_repo)
    assert r.code == 2
    assert "-z goes with --format names" in r.err


def test_json_and_matrix_escape_odd_names(odd_repo: Path, tmp_path: Path) -> None:
    r = bpkit("changed", "--base", "HEAD~1", "--format", "json", cwd=odd_repo)
    assert r.code == 0, r.err
    assert r.out.isascii() and "\x1b" not in r.out
    paths = {b["path"] for b in json.loads(r.out)["blueprints"]}
    assert "platform/evil\n::error::forged" in paths
    output = tmp_path / "github-output"
    m = bpkit("changed", "--base", "HEAD~1", "--format", "matrix", cwd=odd_repo,
              env={"GITHUB_OUTPUT": str(output)})
    assert m.code == 0, m.err
    assert len(m.out.splitlines()) == 1
    written = output.read_text().splitlines()
    assert [line.split("=", 1)[0] for line in written] == ["matrix", "count"]
    assert written[1] == f"count={len(ODD) + 1}"


def test_per_job_lists_refuse_names_a_shell_would_split(odd_repo: Path) -> None:
    r = bpkit("changed", "--base", "HEAD~1", "--format", "matrix", "--per-job", "3",
              cwd=odd_repo)
    assert r.code == 2
    assert r.out == ""
    assert len(r.err.splitlines()) == 1 and "use --per-job 1" in r.err
    assert "\x1b" not in r.err and "\n" not in r.err.rstrip("\n")


def test_notes_on_stderr_are_escaped(odd_repo: Path) -> None:
    git(odd_repo, "rm", "-rq", "platform/evil\n::error::forged")
    commit(odd_repo, "delete the odd one")
    r = bpkit("changed", "--base", "HEAD~1", cwd=odd_repo)
    assert r.code == 0, r.err
    assert r.err.splitlines() == [
        "bpkit: platform/evil\\n::error::forged: deleted; not a publish target"]


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k != "GITHUB_ACTIONS"}
