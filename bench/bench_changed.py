"""`bpkit changed` beside `git diff` on one commit touching N blueprints (not a test).

    python bench/bench_changed.py [--runs 5] [--count 1000]

Builds a git repository of N generated blueprints (gen_blueprints.py
--git), then one commit that edits every blueprint's values.yaml and adds
a .helmignore to every tenth, and times, interleaved, whole processes:

- `git diff --name-status -z BASE HEAD` (the floor: what git itself needs);
- `bpkit changed --base BASE --head HEAD` (push semantics) and
  `bpkit changed --base BASE` (pull-request semantics: a merge base too).

Target on the 2-core reference machine: under 2 s wall for N = 1,000
(it took over 35 s when each blueprint's trees were read through
gitpython). The script checks that bpkit lists all N blueprints.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from gen_blueprints import _git, commit_history, compile_bpkit, generate  # noqa: E402

TARGET = 2.0


def command() -> list[str]:
    return [sys.executable, "-m", "bpkit"]


def run(args: list[str], cwd: Path) -> tuple[float, float, int, bytes]:
    """(wall seconds, CPU seconds, exit code, stdout) of one whole process."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("GITHUB_ACTIONS", None)
    start = time.perf_counter()
    proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    out = proc.stdout.read() if proc.stdout is not None else b""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    return wall, usage.ru_utime + usage.ru_stime, os.waitstatus_to_exitcode(status), out


def build(root: Path, count: int) -> None:
    folders = generate(root, count)
    commit_history(root, folders)
    for index, folder in enumerate(folders):
        with (folder / "chart" / "values.yaml").open("a") as values:
            values.write("# Touched by the big commit.\n")
        if index % 10 == 0:
            (folder / "chart" / ".helmignore").write_text("*.bak\nci/\n")
    _git(root, "add", "-A", date="2024-03-01T00:00:00Z")
    _git(root, "commit", "-q", "-m", f"Touch all {count} blueprints",
         date="2024-03-01T00:00:00Z")


def main() -> int:
    compile_bpkit()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--count", type=int, default=1000)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bpkit-bench-changed-") as tmp:
        root = Path(tmp)
        build(root, opts.count)
        cases = [
            ("git diff --name-status", ["git", "diff", "--name-status", "-z", "HEAD~1", "HEAD"],
             None),
            ("bpkit changed --head (push)",
             [*command(), "changed", "--base", "HEAD~1", "--head", "HEAD"], TARGET),
            ("bpkit changed (pull request)", [*command(), "changed", "--base", "HEAD~1"],
             TARGET),
        ]
        figures: dict[str, tuple[list[float], list[float]]] = {n: ([], []) for n, _, _ in cases}
        for round_ in range(opts.runs + 1):  # round 0 warms caches and .pyc files
            for name, args, target in cases:
                wall, cpu, code, out = run(args, root)
                if code != 0:
                    print(f"{name}: exit {code}", file=sys.stderr)
                    return 1
                if target is not None and len(out.splitlines()) != opts.count:
                    print(f"{name}: listed {len(out.splitlines())} blueprints, "
                          f"expected {opts.count}", file=sys.stderr)
                    return 1
                if round_:
                    figures[name][0].append(wall)
                    figures[name][1].append(cpu)
    print(f"{'case (' + str(opts.count) + ' blueprints, one commit)':<44} {'median wall':>12} "
          f"{'CPU':>8} {'target':>8}")
    for name, _, target in cases:
        wall = statistics.median(figures[name][0])
        cpu = statistics.median(figures[name][1])
        verdict = "" if target is None else ("  ok" if wall <= target else "  MISSED")
        shown = "-" if target is None else f"{target:.2f} s"
        print(f"{name:<44} {wall:>10.3f} s {cpu:>6.3f} s {shown:>8}{verdict}")
    print(f"({opts.runs} runs each, interleaved, median; "
          f"load average {os.getloadavg()[0]:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
