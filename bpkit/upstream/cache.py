"""The content-addressed chart cache (minimal version of the shared API in INTERFACES.md).

Charts are stored by the sha256 of their bytes, so a file is either the
right chart or not there: `get` re-hashes what it reads, and writes are
atomic (temp file + rename), which makes parallel runs safe. No network
here: `bpkit lint` reads this module.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from bpkit.limits import HELM_MAX_CHART_BYTES


def cache_root(env: Mapping[str, str] = os.environ) -> Path:
    """$BPKIT_CACHE_DIR, else $XDG_CACHE_HOME/bpkit, else ~/.cache/bpkit."""
    if env.get("BPKIT_CACHE_DIR"):
        return Path(env["BPKIT_CACHE_DIR"])
    if env.get("XDG_CACHE_HOME"):
        return Path(env["XDG_CACHE_HOME"]) / "bpkit"
    return Path.home() / ".cache" / "bpkit"


def _hex(digest: str) -> str:
    algo, _, value = digest.partition(":")
    if algo != "sha256" or len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise ValueError(f"not a sha256 digest: {digest!r}")
    return value


class ChartCache:
    """Chart archives by digest under `root / charts / sha256`."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root if root is not None else cache_root()

    def path_for(self, digest: str) -> Path:
        return self.root / "charts" / "sha256" / f"{_hex(digest)}.tgz"

    def get(self, digest: str) -> bytes | None:
        """The bytes, or None when absent, too big, or not hashing to `digest`."""
        try:
            path = self.path_for(digest)
            with path.open("rb") as fh:
                data = fh.read(HELM_MAX_CHART_BYTES + 1)
        except (OSError, ValueError):
            return None
        if len(data) > HELM_MAX_CHART_BYTES:
            return None
        if "sha256:" + hashlib.sha256(data).hexdigest() != digest:
            return None
        return data

    def put(self, data: bytes) -> str:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        path = self.path_for(digest)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return digest
