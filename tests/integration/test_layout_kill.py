"""`kill -9` of `bpkit publish` into an OCI layout, at any moment, then a re-run completes.

The layout writer's promise (bpkit/oci/layout.py): blobs first, index.json
last, each by temporary file + fsync + rename, under a lock that dies with
its holder. So after a SIGKILL wherever it lands, the layout is valid
(skopeo reads every release its index names, every blob hashes to its
name), and the next run publishes what is missing and exits 0.

Kill points: the first blob appearing, the first index.json, a later
index.json rewrite, and random delays (seeded, so a failure can be replayed)
across a whole run's length.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers.cli import REPO
from tests.helpers.git import PLATFORM, platform_repo
from tests.helpers.publish import TAG

pytestmark = pytest.mark.integration

SEED = 20261201
CHARTS = sorted(f"bp-{p.name}" for p in PLATFORM.iterdir() if (p / "blueprint.yaml").is_file())


def start(repo: Path, layout: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "BPKIT_REGISTRY")}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.Popen(
        [sys.executable, "-m", "bpkit", "publish", "--all", "--layout", str(layout),
         "--format", "json"],
        cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def kill_when(proc: subprocess.Popen[bytes], ready: Callable[[], bool],
              timeout: float = 60) -> bool:
    """SIGKILL `proc` as soon as `ready()` holds; False if it finished first."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None:
        if ready():
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            return True
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("bpkit publish did not finish")
        time.sleep(0.001)
    return False


def blob_count(layout: Path) -> int:
    try:
        return len(os.listdir(layout / "blobs" / "sha256"))
    except OSError:
        return 0


def index_mtime(layout: Path) -> int:
    try:
        return (layout / "index.json").stat().st_mtime_ns
    except OSError:
        return 0


def sha256_file(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def assert_valid(layout: Path) -> list[str]:
    """Check the layout as a reader would; the release names its index holds."""
    if not (layout / "index.json").exists():
        return []
    assert json.loads((layout / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads((layout / "index.json").read_text())
    names = []
    for desc in index["manifests"]:
        manifest_path = layout / "blobs" / "sha256" / desc["digest"][7:]
        assert sha256_file(manifest_path) == desc["digest"]
        manifest = json.loads(manifest_path.read_bytes())
        for blob in (manifest["config"], *manifest["layers"]):
            path = layout / "blobs" / "sha256" / blob["digest"][7:]
            assert sha256_file(path) == blob["digest"], path
            assert path.stat().st_size == blob["size"]
        name = desc["annotations"]["org.opencontainers.image.ref.name"]
        raw = subprocess.run(["skopeo", "inspect", "--raw", f"oci:{layout}:{name}"],
                             capture_output=True, check=True, timeout=30).stdout
        assert raw == manifest_path.read_bytes()
        names.append(name)
    return names


def rerun_completes(repo: Path, layout: Path) -> dict[str, str]:
    proc = start(repo, layout)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    statuses = {row["name"]: row["status"] for row in json.loads(out)["results"]}
    assert sorted(statuses) == CHARTS
    assert set(statuses.values()) <= {"published", "unchanged"}
    assert sorted(assert_valid(layout)) == [f"{c}:{TAG}" for c in CHARTS]
    return statuses


def test_kill_at_any_moment_then_rerun_completes(tmp_path: Path) -> None:
    repo = platform_repo(tmp_path)
    # How long a whole run takes here, for the random delays.
    began = time.monotonic()
    rerun_completes(repo, tmp_path / "timing")
    whole = time.monotonic() - began

    rng = random.Random(SEED)
    layout = repo / "dist" / "oci"

    def after(delay: float) -> Callable[[], bool]:
        t0 = time.monotonic()
        return lambda: time.monotonic() - t0 >= delay

    def rewrite() -> Callable[[], bool]:
        seen = index_mtime(layout)
        return lambda: index_mtime(layout) not in (0, seen)

    points: list[tuple[str, Callable[[], Callable[[], bool]]]] = [
        ("first blob", lambda: lambda: blob_count(layout) >= 1),
        ("first index.json", lambda: lambda: index_mtime(layout) != 0),
        ("an index.json rewrite", rewrite),
        ("another index.json rewrite", rewrite),
    ]
    for _ in range(4):
        delay = rng.uniform(0.2, 1.0) * whole
        points.append((f"after {delay:.2f} s", lambda delay=delay: after(delay)))  # type: ignore[misc]
    killed = []
    for what, make in points:
        proc = start(repo, layout)
        if kill_when(proc, make()):
            killed.append(what)
        names = assert_valid(layout)  # valid after the kill, whatever it held
        assert set(names) <= {f"{c}:{TAG}" for c in CHARTS}, what
    assert len(killed) >= 4, killed  # most kill points land mid-run
    rerun_completes(repo, layout)
    assert rerun_completes(repo, layout) == dict.fromkeys(CHARTS, "unchanged")
    assert not (layout / ".bpkit.lock").read_bytes()  # the lock file holds no data
