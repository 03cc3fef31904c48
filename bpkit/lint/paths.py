"""Paths given to lint: which are deletions, which blueprint owns a file.

Light (no YAML, no rules), so the lint cache's run record can ask too.

Pre-commit passes the files of a commit, deleted ones included. A path
that no longer exists under one of the roots is a deletion: its blueprint
is linted if it still exists, else its dependents are checked.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from bpkit.settings import Settings
from bpkit.source.discover import is_blueprint_dir


def split_deleted(paths: Sequence[str | Path],
                  settings: Settings) -> tuple[list[str | Path], set[str]]:
    """(paths to discover, names of deleted blueprints) from the given paths."""
    present: list[str | Path] = []
    deleted: set[str] = set()
    for raw in paths:
        path = Path(raw)
        folder = None if path.exists() or path.is_symlink() else root_folder(path, settings)
        if folder is None or Path(os.path.abspath(path)) == folder:
            # Outside the roots, or a blueprint folder that is not there (a typo,
            # not a deletion: deletions arrive as the files that were deleted):
            # discover reports it.
            present.append(raw)
        elif is_blueprint_dir(folder):
            present.append(folder)  # a file deleted from a blueprint that remains
        else:
            deleted.add(folder.name)
    return present, deleted


def root_folder(path: Path, settings: Settings) -> Path | None:
    """`ROOT/<root>/<name>` when `path` lies inside it."""
    absolute = Path(os.path.abspath(path))
    for group in settings.roots:
        base = settings.root / group
        try:
            parts = absolute.relative_to(base).parts
        except ValueError:
            continue
        if parts and parts[0] not in ("..", "."):
            return base / parts[0]
    return None


class Owners:
    """Which blueprint folder a problem's file belongs to, in time linear in the path's depth.

    Built once per run: asking each problem against every blueprint made a
    1,000-blueprint lint with one warning each spend 14 s here.
    """

    def __init__(self, folders: Iterable[Path]) -> None:
        self._folders = set(folders)

    def __call__(self, path: str | Path) -> Path | None:
        absolute = Path(os.path.abspath(path))
        for folder in (absolute, *absolute.parents):
            if folder in self._folders:
                return folder
        return None
