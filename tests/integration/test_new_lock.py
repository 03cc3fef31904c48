"""`bpkit new` against a real HTTPS Helm repository on 127.0.0.1: the lock is written at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from bpkit.source.lock import read_lock
from tests.helpers.cli import bpkit
from tests.integration.upstream_repo import HelmRepoServer, publish, sha256

pytestmark = pytest.mark.integration


def test_new_writes_the_lock_and_lints_clean_with_strict(
        monorepo: Path, tmp_path: Path, tls_material: tuple[Path, Path, Path]) -> None:
    ca, cert, key = tls_material
    server = HelmRepoServer(cert, key)
    try:
        data = publish(server, [("vault", "0.28.1", "1.17.2")])
        env = {"BPKIT_CACHE_DIR": str(tmp_path / "cache"), "SSL_CERT_FILE": str(ca),
               "BPKIT_MIRRORS": "", "HOME": str(tmp_path),
               "HELM_REPOSITORY_CONFIG": str(tmp_path / "none.yaml"),
               "NETRC": str(tmp_path / "none.netrc")}
        run = bpkit("new", "vault", "--upstream", "vault@0.28.1", "--repo", server.url,
                    cwd=monorepo, env=env, timeout=120)
        assert run.code == 0, run.out + run.err
        assert "locked vault 0.28.1 sha256:" in run.out
        lock, problems = read_lock(monorepo / "platform" / "vault" / "upstream.lock")
        assert problems == [] and lock is not None
        assert (lock.chart, lock.version, lock.repo) == ("vault", "0.28.1", server.url)
        assert lock.app_version == "1.17.2"
        assert lock.digest == f"sha256:{sha256(data[('vault', '0.28.1')])}"
        lint = bpkit("lint", "--strict", "platform/vault", cwd=monorepo, env=env)
        assert lint.code == 0, lint.out + lint.err
    finally:
        server.stop()
