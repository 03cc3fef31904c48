"""Whole-process speed of `bpkit lint` and `bpkit --version` (not a test).

    python bench/bench_lint.py [--runs 7] [--count 1000]

Targets on the 2-core reference machine (see bench/README.md):
  bpkit --version            <= 0.15 s wall
  lint, the ten wrappers     <= 0.25 s wall
  lint, 1,000 blueprints     <= 2 s wall and <= 150 MB peak memory

Each figure is the median of several runs of the real command in a fresh
process (the console script when installed, else `python -m bpkit`), with
the peak resident memory of that process. The machine is noisy: compare
figures from one run of this script, not across machines.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from gen_blueprints import generate  # noqa: E402


def command() -> list[str]:
    script = shutil.which("bpkit")
    return [script] if script else [sys.executable, "-m", "bpkit"]


def measure(args: list[str], cwd: Path, runs: int) -> tuple[float, float, int]:
    """(median wall seconds, median peak RSS in MB, exit code of the last run)."""
    walls, peaks, code = [], [], 0
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("GITHUB_ACTIONS", None)
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.Popen([*command(), *args], cwd=cwd, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        walls.append(time.perf_counter() - start)
        peaks.append(usage.ru_maxrss / 1024)
        code = os.waitstatus_to_exitcode(status)
    return statistics.median(walls), statistics.median(peaks), code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--count", type=int, default=1000)
    opts = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bpkit-bench-") as tmp:
        big = Path(tmp)
        (big / ".git").mkdir()  # repository root marker, as in a monorepo
        generate(big, opts.count)
        cases = [
            ("bpkit --version", ["--version"], REPO, 0.15, None),
            ("lint: the ten wrappers", ["lint", "platform/"], REPO, 0.25, None),
            (f"lint: {opts.count:,} blueprints", ["lint", "platform/"], big, 2.0, 150.0),
        ]
        for name, args, cwd, wall_target, mem_target in cases:
            measure(args, cwd, 1)  # warm the page cache and .pyc files
            wall, peak, code = measure(args, cwd, opts.runs)
            if code != 0:
                print(f"{name}: exit {code}", file=sys.stderr)
                return 1
            ok = wall <= wall_target and (mem_target is None or peak <= mem_target)
            rows.append((name, wall, wall_target, peak, mem_target, ok))
    print(f"{'case':<28} {'median wall':>12} {'target':>8} {'peak RSS':>10} {'target':>8}")
    for name, wall, wall_target, peak, mem_target, ok in rows:
        mem = f"{mem_target:.0f} MB" if mem_target else "-"
        print(f"{name:<28} {wall:>10.3f} s {wall_target:>6.2f} s {peak:>7.1f} MB {mem:>8}"
              f"  {'ok' if ok else 'MISSED'}")
    print(f"({opts.runs} runs each, median; load average {os.getloadavg()[0]:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
