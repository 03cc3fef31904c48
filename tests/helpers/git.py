"""Git for tests: one `git()` helper, commits, and the monorepos the tests build.

Identities, dates and config come from the autouse fixture in
tests/conftest.py (never the developer's git config).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from tests.helpers.blueprints import write_blueprint, write_tree

REPO = Path(__file__).resolve().parents[2]
PLATFORM = REPO / "platform"


def git(repo: Path, *args: str, env: Mapping[str, str] | None = None,
        date: int | None = None) -> str:
    """Run git in `repo`; its stdout. A failure fails the test, with git's stderr.

    `date` pins the commit: committer date `date` (+05:30), author date
    5000 s earlier, so a test can tell which of the two bpkit reads.
    """
    full = dict(os.environ if env is None else env)
    if date is not None:
        full["GIT_AUTHOR_DATE"] = f"@{date - 5000} +0000"
        full["GIT_COMMITTER_DATE"] = f"@{date} +0530"
    proc = subprocess.run(["git", *args], cwd=repo, env=full, capture_output=True, text=True,
                          timeout=30, check=False)
    assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stderr}"
    return proc.stdout


def commit(repo: Path, message: str) -> str:
    """Commit the whole working tree; the new commit's id."""
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


def make_monorepo(root: Path) -> Path:
    """platform/cert-manager, platform/flux and products/shop in a first commit on main."""
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    write_tree(root)
    write_blueprint(root, "shop", group="products")
    commit(root, "three blueprints")
    return root


def platform_repo(where: Path, message: str = "platform wrappers") -> Path:
    """`where/repo`: a git repository holding a copy of this project's platform/, committed."""
    root = where / "repo"
    shutil.copytree(PLATFORM, root / "platform")
    git(root, "init", "-q", "-b", "main")
    commit(root, message)
    return root


def set_version(root: Path, folder: str, version: str) -> None:
    """Chart.yaml's version, with spec.version following it."""
    for rel, key in (("chart/Chart.yaml", "version: "), ("blueprint.yaml", "  version: ")):
        file = root / folder / rel
        lines = [key + version if line.startswith(key) else line
                 for line in file.read_text().splitlines()]
        file.write_text("\n".join(lines) + "\n")


def append(file: Path, text: str) -> None:
    file.parent.mkdir(parents=True, exist_ok=True)
    with file.open("a") as fh:
        fh.write(text)
