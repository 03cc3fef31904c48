"""The reproducible timestamp stamped on archives and manifests.

SOURCE_DATE_EPOCH when set, else the commit time of the last commit that
touched the blueprint's folder, else 1980-01-01. gitpython is imported
inside the function: `bpkit lint` never pays for it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from bpkit.errors import GitError, UsageError
from bpkit.helm.tgz import MAX_MTIME

__all__ = ["DEFAULT_EPOCH", "source_date"]

#: The timestamp used when neither SOURCE_DATE_EPOCH nor git can give one:
#: 1980-01-01T00:00:00Z, the earliest time a zip file can hold, the usual
#: choice of reproducible-build tools.
DEFAULT_EPOCH = 315532800


def source_date(blueprint_dir: Path) -> tuple[int, str]:
    """The timestamp to stamp on archives, and where it came from.

    In order: the SOURCE_DATE_EPOCH environment variable (when set and not
    empty; UsageError unless it is a whole number of seconds in 0..8**11-1);
    the committer time of the last commit touching `blueprint_dir`; else
    DEFAULT_EPOCH. Git being absent, the folder not being in a repository
    or having no commits fall through to the default; a shallow clone whose
    history is cut before the folder's last change raises GitError, since
    its answer would differ from a full clone's.
    """
    env = os.environ.get("SOURCE_DATE_EPOCH", "")
    if env:
        if not re.fullmatch(r"[0-9]{1,12}", env) or int(env) > MAX_MTIME:
            raise UsageError(
                f"SOURCE_DATE_EPOCH={env!r} is not a whole number of seconds "
                f"between 0 and {MAX_MTIME}"
            )
        return int(env), "SOURCE_DATE_EPOCH"
    found = _git_date(Path(blueprint_dir))
    if found is not None:
        return found
    return DEFAULT_EPOCH, "default (1980-01-01T00:00:00Z)"


def _git_date(folder: Path) -> tuple[int, str] | None:
    try:
        import git
    except ImportError:  # gitpython absent, or no git executable
        return None
    try:
        repo = git.Repo(folder, search_parent_directories=True)
    except (git.exc.InvalidGitRepositoryError, git.exc.NoSuchPathError, OSError):
        return None
    try:
        worktree = repo.working_tree_dir
        if worktree is None:
            return None
        top = os.path.realpath(worktree)
        here = os.path.realpath(folder)
        rel = os.path.relpath(here, top)
        if rel == ".." or rel.startswith("../"):
            return None
        spec = "." if rel == "." else f":(literal){rel}"
        out = repo.git.log("-1", "--format=%H %ct", "--", spec)
        if not out.strip():
            return None
        sha, _, stamp = out.strip().partition(" ")
        if _is_shallow_boundary(repo, sha):
            raise GitError(
                f"{folder}: the shallow clone's history ends at {sha[:12]}, so the last change "
                "to this folder is unknown; fetch full history or set SOURCE_DATE_EPOCH"
            )
        return int(stamp), f"git commit {sha[:12]}"
    except (git.exc.GitCommandError, git.exc.GitCommandNotFound, ValueError, OSError):
        return None  # e.g. no commits yet
    finally:
        repo.close()


def _is_shallow_boundary(repo: object, sha: str) -> bool:
    git_dir = getattr(repo, "common_dir", None) or getattr(repo, "git_dir", "")
    shallow = Path(str(git_dir)) / "shallow"
    try:
        return sha in shallow.read_text().split()
    except OSError:
        return False
