"""The content-addressed cache of upstream chart archives.

Archives are stored by the sha256 of their bytes, so a cached file is its
own proof: `get` re-hashes what it reads and treats a file that no longer
matches (a truncated copy, a disk error, tampering) as absent. Writes go to
a temporary file in the same folder and are renamed into place, so parallel
runs sharing one cache (CI jobs, `xargs -P`) never see half a file, and two
writers of the same digest write the same bytes. No network code here:
`bpkit lint` reads this cache offline.
"""

from __future__ import annotations

import re
from pathlib import Path

from bpkit.fsio import atomic_write, read_bytes_capped
from bpkit.limits import HELM_MAX_CHART_BYTES
from bpkit.oci.artifact import sha256_digest
from bpkit.settings import cache_root  # re-exported: where the archives live

__all__ = ["ChartCache", "cache_root"]

_DIGEST_RE = re.compile(r"sha256:([0-9a-f]{64})")


class ChartCache:
    """Chart archives under `root/charts/sha256/<hex>.tgz`."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root if root is not None else cache_root()

    def path_for(self, digest: str) -> Path:
        match = _DIGEST_RE.fullmatch(digest)
        if match is None:
            raise ValueError(f"not a sha256 digest: {digest!r}")
        return self.root / "charts" / "sha256" / f"{match.group(1)}.tgz"

    def get(self, digest: str) -> bytes | None:
        """The archive's bytes, or None when absent, unreadable, too big or not matching."""
        try:
            path = self.path_for(digest)
        except ValueError:
            return None
        data = read_bytes_capped(path, HELM_MAX_CHART_BYTES)
        if data is None or sha256_digest(data) != digest:
            return None
        return data

    def put(self, data: bytes) -> str:
        """Store `data`; returns its digest. Already present: nothing is rewritten."""
        digest = sha256_digest(data)
        path = self.path_for(digest)
        if self.get(digest) is None:
            atomic_write(path, data)
        return digest

    def index_dir(self) -> Path:
        """Where cached Helm repository indexes (and their ETag/Last-Modified) live."""
        return self.root / "index"
