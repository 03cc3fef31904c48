"""Same sources, same bytes: archives and manifest digests do not depend on the machine.

Two checkouts of the ten wrappers differ in everything that must not matter
(path, file mtimes, permissions, umask, creation order, TZ, LC_ALL); their
archives, manifest digests and OCI layouts must be byte-identical. The
timestamp inside comes from the last commit touching each blueprint, or from
SOURCE_DATE_EPOCH when set, or from the documented default with no git.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import json
import os
import random
import shutil
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.cli import Run, bpkit
from tests.helpers.git import git

pytestmark = pytest.mark.integration

PLATFORM = Path(__file__).resolve().parents[2] / "platform"
NAMES = sorted(p.name for p in PLATFORM.iterdir() if (p / "blueprint.yaml").is_file())
ARCHIVES = [f"bp-{n}-1.0.0.tgz" for n in NAMES]
COMMIT_TIME = int(dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC).timestamp())  # tests/conftest.py
DEFAULT_EPOCH = 315532800  # 1980-01-01T00:00:00Z, documented in bpkit/archive.py
SDE = 1700000000


def checkout(root: Path, *, reverse: bool, seed: int, file_mode: int, dir_mode: int,
             use_git: bool = True) -> Path:
    """Copy platform/ file by file, in a chosen order, with random mtimes and given modes."""
    files = sorted(p for p in PLATFORM.rglob("*") if p.is_file())
    if reverse:
        files.reverse()
    rng = random.Random(seed)
    for src in files:
        dst = root / "platform" / src.relative_to(PLATFORM)
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(src.read_bytes())
    if use_git:
        git(root, "init", "-q", "-b", "main")
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "platform wrappers")
    for path in sorted((root / "platform").rglob("*"), reverse=True):
        path.chmod(dir_mode if path.is_dir() else file_mode)
        stamp = rng.randrange(10**8, 2 * 10**9)
        os.utime(path, (stamp, stamp))
    return root


@contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def run(repo: Path, *args: str, env: dict[str, str], mask: int) -> Run:
    full = {"HOME": str(repo / ".home"), "DOCKER_CONFIG": str(repo / ".home" / ".docker")}
    full.update(env)
    with umask(mask):
        r = bpkit(*args, cwd=repo, env=full)
    assert r.code == 0, r.out + r.err
    return r


ENV_A = {"TZ": "UTC", "LC_ALL": "C"}
ENV_B = {"TZ": "Pacific/Chatham", "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}


@pytest.fixture
def two_checkouts(tmp_path: Path) -> tuple[Path, Path]:
    a = checkout(tmp_path / "a" / "repo", reverse=False, seed=1, file_mode=0o644,
                 dir_mode=0o755)
    b = checkout(tmp_path / "elsewhere" / "much" / "deeper" / "checkout", reverse=True, seed=2,
                 file_mode=0o600, dir_mode=0o700)
    (b / "platform" / "flux" / "chart" / "values.yaml").chmod(0o755)
    return a, b


def package_all(repo: Path, env: dict[str, str], mask: int) -> dict[str, bytes]:
    out = repo / "out"
    r = run(repo, "package", "--all", "--out", str(out), env=env, mask=mask)
    printed: dict[str, str] = {}
    for line in r.lines:
        path, digest = line.split()
        printed[digest] = path
    found = {p.name: p.read_bytes() for p in sorted(out.iterdir())}
    assert sorted(found) == ARCHIVES
    for name, data in found.items():
        assert printed["sha256:" + hashlib.sha256(data).hexdigest()] == str(out / name)
    return found


def digests(repo: Path, env: dict[str, str], mask: int) -> dict[str, str]:
    r = run(repo, "publish", "--all", "--dry-run", "--format", "json", env=env, mask=mask)
    rows = json.loads(r.out)["results"]
    assert all(row["status"] == "would publish" for row in rows)
    return {row["name"]: row["digest"] for row in rows}


def mtimes(data: bytes) -> set[int]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return {int(m.mtime) for m in tar.getmembers()}


def layout_manifest(repo: Path, name: str) -> dict[str, Any]:
    layout = repo / "dist" / "oci"
    index = json.loads((layout / "index.json").read_text())
    for desc in index["manifests"]:
        if desc["annotations"]["org.opencontainers.image.ref.name"] == f"{name}:1.0.0":
            hexpart = desc["digest"].split(":", 1)[1]
            manifest: dict[str, Any] = json.loads((layout / "blobs" / "sha256" / hexpart)
                                                  .read_bytes())
            return manifest
    raise AssertionError(f"{name} not in {layout}")


def test_two_checkouts_give_identical_archives_and_digests(
    two_checkouts: tuple[Path, Path],
) -> None:
    a, b = two_checkouts
    archives_a = package_all(a, ENV_A, 0o022)
    archives_b = package_all(b, ENV_B, 0o077)
    assert archives_a == archives_b
    for data in archives_a.values():
        assert mtimes(data) == {COMMIT_TIME}  # from git, not from the files
        assert gzip.decompress(data)  # a valid gzip stream
    digests_a = digests(a, ENV_A, 0o022)
    assert digests(b, ENV_B, 0o077) == digests_a
    assert len(set(digests_a.values())) == len(NAMES)
    # The dry run wrote nothing.
    assert not (a / "dist").exists() and not (b / "dist").exists()

    # The published layouts are byte-identical too, and `created` is the commit time.
    run(a, "publish", "--all", env=ENV_A, mask=0o022)
    run(b, "publish", "--all", env=ENV_B, mask=0o077)
    index_a = (a / "dist" / "oci" / "index.json").read_bytes()
    assert index_a == (b / "dist" / "oci" / "index.json").read_bytes()
    blobs_a = sorted(p.name for p in (a / "dist" / "oci" / "blobs" / "sha256").iterdir())
    assert blobs_a == sorted(p.name for p in (b / "dist" / "oci" / "blobs" / "sha256").iterdir())
    manifest = layout_manifest(a, "bp-flux")
    assert manifest["annotations"]["org.opencontainers.image.created"] == "2024-01-02T03:04:05Z"


def test_source_date_epoch_is_followed(two_checkouts: tuple[Path, Path]) -> None:
    a, b = two_checkouts
    from_git = package_all(a, ENV_A, 0o022)
    git_digests = digests(a, ENV_A, 0o022)
    env_a = {**ENV_A, "SOURCE_DATE_EPOCH": str(SDE)}
    env_b = {**ENV_B, "SOURCE_DATE_EPOCH": str(SDE)}
    shutil.rmtree(a / "out")
    pinned_a = package_all(a, env_a, 0o022)
    pinned_b = package_all(b, env_b, 0o077)
    assert pinned_a == pinned_b
    for name, data in pinned_a.items():
        assert mtimes(data) == {SDE}
        assert data != from_git[name]
    sde_digests = digests(a, env_a, 0o022)
    assert digests(b, env_b, 0o077) == sde_digests
    assert all(sde_digests[n] != git_digests[n] for n in sde_digests)
    run(a, "publish", "flux", env=env_a, mask=0o022)
    created = layout_manifest(a, "bp-flux")["annotations"]["org.opencontainers.image.created"]
    assert created == "2023-11-14T22:13:20Z"

    bad = bpkit("package", "flux", cwd=a, env={"SOURCE_DATE_EPOCH": "yesterday"})
    assert bad.code != 0
    assert "SOURCE_DATE_EPOCH" in bad.err and "Traceback" not in bad.err


def test_without_git_the_default_epoch_is_used(tmp_path: Path) -> None:
    plain = checkout(tmp_path / "nogit", reverse=True, seed=3, file_mode=0o640,
                     dir_mode=0o750, use_git=False)
    (plain / ".git").mkdir()  # marks the root only: not a real repository
    archives = package_all(plain, ENV_B, 0o027)
    for data in archives.values():
        assert mtimes(data) == {DEFAULT_EPOCH}
