"""The reproducible timestamp stamped on archives and manifests.

SOURCE_DATE_EPOCH when set, else the commit time of the last commit that
touched the blueprint's folder, else 1980-01-01. `source_dates` answers
many folders with one `git log` over their parent folders (about 50 ms for
a thousand blueprints, where one `git log -1` each took 13 ms apiece), and
asks git folder by folder only when the history has merges, whose
simplification differs per path. git runs as a plain subprocess.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from bpkit.errors import GitError, UsageError
from bpkit.helm.tgz import MAX_MTIME
from bpkit.history.git import TopLevel, last_commit, log_touching, toplevel

__all__ = ["DEFAULT_EPOCH", "DEFAULT_SOURCE", "source_date", "source_dates"]

#: The timestamp used when neither SOURCE_DATE_EPOCH nor git can give one:
#: 1980-01-01T00:00:00Z, the earliest time a zip file can hold, the usual
#: choice of reproducible-build tools.
DEFAULT_EPOCH = 315532800
DEFAULT_SOURCE = "default (1980-01-01T00:00:00Z)"


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
    return source_dates([blueprint_dir])[Path(blueprint_dir)]


def source_dates(folders: Iterable[Path]) -> dict[Path, tuple[int, str]]:
    """`source_date` of every folder (keyed as given), with one `git log` per work tree.

    The same answers as asking folder by folder, the shallow-clone GitError
    included (raised for the first folder, in the order given, whose last
    change is cut off).
    """
    wanted = list(dict.fromkeys(Path(f) for f in folders))
    env = os.environ.get("SOURCE_DATE_EPOCH", "")
    if env:
        if not re.fullmatch(r"[0-9]{1,12}", env) or int(env) > MAX_MTIME:
            raise UsageError(
                f"SOURCE_DATE_EPOCH={env!r} is not a whole number of seconds "
                f"between 0 and {MAX_MTIME}"
            )
        return dict.fromkeys(wanted, (int(env), "SOURCE_DATE_EPOCH"))
    commits: dict[Path, tuple[str, int]] = {}
    shallow: dict[Path, frozenset[str]] = {}
    for repo, members in _by_work_tree(wanted).items():
        commits.update(_last_commits(repo.top, members))
        shallow.update(dict.fromkeys(members, repo.shallow))
    result: dict[Path, tuple[int, str]] = {}
    for folder in wanted:
        commit = commits.get(folder)
        if commit is None:
            result[folder] = (DEFAULT_EPOCH, DEFAULT_SOURCE)
            continue
        sha, stamp = commit
        if sha in shallow[folder]:
            raise GitError(
                f"{folder}: the shallow clone's history ends at {sha[:12]}, so the last change "
                "to this folder is unknown; fetch full history or set SOURCE_DATE_EPOCH"
            )
        result[folder] = (stamp, f"git commit {sha[:12]}")
    return result


def _by_work_tree(folders: list[Path]) -> dict[TopLevel, dict[Path, str]]:
    """Folders grouped by the work tree holding them, each with its path from the top.

    One `git rev-parse` per distinct parent folder. Folders git cannot place
    (missing, outside any work tree) are left out: they get the default.
    """
    tops: dict[Path, TopLevel | None] = {}
    groups: dict[TopLevel, dict[Path, str]] = {}
    for folder in folders:
        here = Path(os.path.realpath(folder))
        if not here.is_dir():
            continue
        # Ask about the parent, which blueprints share, unless the folder is
        # a work tree's top itself.
        ask = here if here.parent == here or os.path.lexists(here / ".git") else here.parent
        if ask not in tops:
            tops[ask] = toplevel(ask)
        repo = tops[ask]
        if repo is None:
            continue
        rel = os.path.relpath(here, repo.top)
        if rel == ".." or rel.startswith("../"):
            continue
        groups.setdefault(repo, {})[folder] = "" if rel == "." else Path(rel).as_posix()
    return groups


def _last_commits(top: Path, members: dict[Path, str]) -> dict[Path, tuple[str, int]]:
    """(SHA, committer time) of the last commit touching each folder, where there is one.

    One `git log --name-only` over the folders' parents, newest first,
    stopping once every folder has been seen. The walk is exact while the
    history it has shown has no merge: a linear history lists the commits a
    per-folder `git log -1` would. At the first merge the folders not yet
    seen are asked one by one, as `git log -1 -- FOLDER`.
    """
    todo: dict[str, list[Path]] = {}
    for folder, rel in members.items():
        todo.setdefault(rel, []).append(folder)
    found: dict[Path, tuple[str, int]] = {}
    if "" in todo:  # the work tree's top itself: the last commit of all
        whole = last_commit(top, ".")
        for folder in todo.pop(""):
            if whole is not None:
                found[folder] = whole
    parents = sorted({rel.rpartition("/")[0] or rel for rel in todo})
    if todo:
        walk = log_touching(top, [f":(literal){p}" for p in parents])
        try:
            for entry in walk:
                if entry.parents > 1:
                    break  # a merge: simplification is per path from here on
                for name in entry.files:
                    for rel in _prefixes(name):
                        folders = todo.pop(rel, None)
                        if folders is not None:
                            for folder in folders:
                                found[folder] = (entry.sha, entry.stamp)
                if not todo:
                    break
            else:
                todo.clear()  # the whole history was shown: the rest were never touched
        finally:
            walk.close()
    for rel, folders in todo.items():
        commit = last_commit(top, f":(literal){rel}")
        if commit is not None:
            for folder in folders:
                found[folder] = commit
    return found


def _prefixes(name: str) -> list[str]:
    """`a/b/c` -> `a`, `a/b`, `a/b/c`: the folders a changed file lies in."""
    parts = name.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
