"""Files bpkit writes itself: whole or not at all.

A lock, a cached chart or a cached index half-written by a run that was
killed would be read back as garbage (or, worse, as something plausible).
Writing a temporary file in the same folder and renaming it over the
target means readers see the old bytes or the new ones, never a mix, and
parallel runs never interleave.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write"]


def atomic_write(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Write `data` at `path` through a temporary file and a rename (same folder)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
