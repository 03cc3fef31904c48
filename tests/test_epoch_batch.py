"""`source_dates` (one git walk for many folders) against `git log -1` asked folder by folder.

Real temporary repositories, author and committer pinned in the
environment. The oracle is git itself: `git log -1 --format=%H %ct --
:(literal)FOLDER`, which is what bpkit asked per blueprint before.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bpkit.errors import GitError
from bpkit.history.epoch import DEFAULT_EPOCH, source_date, source_dates
from bpkit.package.build import epochs_for
from bpkit.source.model import Blueprint

pytestmark = pytest.mark.usefixtures("no_sde")


@pytest.fixture
def no_sde(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)


class Git:
    def __init__(self, root: Path, home: Path) -> None:
        self.root = root
        self.env = {"PATH": os.environ["PATH"], "HOME": str(home),
                    "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
                    "GIT_AUTHOR_NAME": "A", "GIT_AUTHOR_EMAIL": "a@example.com",
                    "GIT_COMMITTER_NAME": "C", "GIT_COMMITTER_EMAIL": "c@example.com"}
        self.clock = 1_600_000_000

    def __call__(self, *args: str, cwd: Path | None = None) -> str:
        self.clock += 1000
        env = {**self.env, "GIT_AUTHOR_DATE": f"@{self.clock} +0000",
               "GIT_COMMITTER_DATE": f"@{self.clock} +0000"}
        return subprocess.run(["git", *args], cwd=cwd or self.root, env=env, check=True,
                              capture_output=True, text=True).stdout

    def write(self, rel: str, text: str) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def commit(self, message: str) -> None:
        self("add", "-A")
        self("commit", "-q", "--allow-empty", "-m", message)

    def oracle(self, folder: Path) -> int:
        rel = folder.relative_to(self.root).as_posix()
        out = self("log", "-1", "--format=%H %ct", "--", f":(literal){rel}").strip()
        return int(out.split()[1]) if out else DEFAULT_EPOCH


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Git]:
    if shutil.which("git") is None:
        pytest.fail("git is not installed")
    root = tmp_path / "repo"
    root.mkdir()
    g = Git(root, tmp_path)
    for key in ("GIT_CONFIG_GLOBAL", "GIT_CONFIG_NOSYSTEM", "HOME"):
        monkeypatch.setenv(key, g.env[key])
    g("init", "-q", "-b", "main")
    yield g


def folders(g: Git) -> list[Path]:
    return sorted(p for group in ("platform", "products") if (g.root / group).is_dir()
                  for p in (g.root / group).iterdir() if p.is_dir())


def assert_same_as_git(g: Git, extra: list[Path] | None = None) -> dict[Path, tuple[int, str]]:
    wanted = [*folders(g), *(extra or [])]
    batch = source_dates(wanted)
    assert list(batch) == wanted
    for folder in wanted:
        assert batch[folder][0] == g.oracle(folder), folder
        assert batch[folder] == source_date(folder), folder
    return batch


def test_linear_history(repo: Git) -> None:
    for i in range(6):
        repo.write(f"platform/bp{i}/blueprint.yaml", "a: 1\n")
    repo.write("products/shop/blueprint.yaml", "a: 1\n")
    repo.commit("one")
    repo.write("platform/bp2/chart/values.yaml", "b: 2\n")
    repo.commit("two")
    repo.write("README.md", "x\n")  # outside every root
    repo.commit("three")
    repo.write("platform/bp4/blueprint.yaml", "a: 2\n")
    repo.write("products/shop/chart/Chart.yaml", "name: x\n")
    repo.commit("four")
    (repo.root / "platform" / "bp0" / "blueprint.yaml").unlink()
    repo.write("platform/bp0/other.yaml", "a: 1\n")
    repo.commit("five")
    repo("mv", "platform/bp1", "platform/bp1-renamed")
    repo.commit("rename")
    (repo.root / "platform" / "untracked").mkdir()  # never committed: the default
    batch = assert_same_as_git(repo)
    assert batch[repo.root / "platform" / "untracked"][0] == DEFAULT_EPOCH
    assert len({stamp for stamp, _ in batch.values()}) == 6


def test_renamed_away_folder_is_touched_by_the_rename(repo: Git) -> None:
    repo.write("platform/a/blueprint.yaml", "a: 1\n")
    repo.write("platform/b/blueprint.yaml", "a: 1\n")
    repo.commit("one")
    repo("mv", "platform/a/blueprint.yaml", "platform/b/moved.yaml")
    repo.commit("move")
    (repo.root / "platform" / "a").mkdir(exist_ok=True)
    assert_same_as_git(repo)


def test_history_with_merges(repo: Git) -> None:
    for name in ("a", "b", "c", "d"):
        repo.write(f"platform/{name}/blueprint.yaml", "v: 0\n")
    repo.commit("base")
    repo("checkout", "-q", "-b", "feature")
    repo.write("platform/a/blueprint.yaml", "v: 1\n")
    repo.commit("feature a")
    repo.write("platform/b/x.yaml", "x\n")
    repo.commit("feature b")
    repo("checkout", "-q", "main")
    repo.write("platform/b/blueprint.yaml", "v: 2\n")
    repo.commit("main b")
    repo.write("platform/c/blueprint.yaml", "v: 2\n")
    repo.commit("main c")
    repo("merge", "-q", "--no-ff", "--no-edit", "feature")
    repo.write("platform/d/blueprint.yaml", "v: 3\n")
    repo.commit("after the merge")
    assert_same_as_git(repo)


def test_the_top_and_a_nested_folder(repo: Git) -> None:
    repo.write("platform/a/blueprint.yaml", "v: 0\n")
    repo.commit("one")
    repo.write("docs/x", "x\n")
    repo.commit("two")
    assert_same_as_git(repo, extra=[repo.root, repo.root / "platform"])


def test_special_characters_are_literal(repo: Git) -> None:
    for name in ("*", "x", "sp ace", "ünï", "new\nline"):
        repo.write(f"platform/{name}/blueprint.yaml", "a: 1\n")
        repo.commit(name)
    assert_same_as_git(repo)


def test_outside_any_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    (tmp_path / "a").mkdir()
    assert source_dates([tmp_path / "a", tmp_path / "missing"]) == {
        tmp_path / "a": (DEFAULT_EPOCH, "default (1980-01-01T00:00:00Z)"),
        tmp_path / "missing": (DEFAULT_EPOCH, "default (1980-01-01T00:00:00Z)"),
    }


def test_shallow_clone(tmp_path: Path, repo: Git) -> None:
    repo.write("platform/old/blueprint.yaml", "a: 1\n")
    repo.write("platform/new/blueprint.yaml", "a: 1\n")
    repo.commit("one")
    repo.write("platform/new/blueprint.yaml", "a: 2\n")
    repo.commit("two")
    clone = tmp_path / "clone"
    repo("clone", "-q", "--depth", "1", f"file://{repo.root}", str(clone), cwd=tmp_path)
    new, old = clone / "platform" / "new", clone / "platform" / "old"
    # The last commit is the boundary: every folder's last change is cut off.
    with pytest.raises(GitError, match="shallow clone"):
        source_dates([new])
    with pytest.raises(GitError, match=r"platform/old: the shallow clone"):
        source_dates([old, new])
    # Packaging then asks blueprint by blueprint, so each failure stays its own.
    assert epochs_for([Blueprint(path=old), Blueprint(path=new)]) == {}
    repo2 = Git(clone, tmp_path)
    repo2.write("platform/new/blueprint.yaml", "a: 3\n")
    repo2.commit("three")
    assert source_dates([new])[new][0] == repo2.clock
    with pytest.raises(GitError, match="shallow clone"):
        source_date(old)


def test_stops_early_in_a_long_history(repo: Git) -> None:
    repo.write("platform/a/blueprint.yaml", "a: 0\n")
    repo.commit("a")
    for i in range(40):
        repo.write(f"platform/b/f{i}", "x\n")
        repo.commit(f"b {i}")
    assert_same_as_git(repo)
