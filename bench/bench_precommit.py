"""Whole-process speed of `bpkit lint FILES` as the pre-commit hook runs it (not a test).

    python bench/bench_precommit.py [--runs 7] [--count 50]

Target on the 2-core reference machine (see bench/README.md): one changed
blueprint in a 50-blueprint monorepo, its two files passed as pre-commit
passes them, under 0.3 s wall. That includes reading every sibling's
blueprint.yaml and Chart.yaml to find the blueprints depending on the
changed one and check their version pins. A second row raises the changed
blueprint past its dependents' ranges, so they fail (exit 1 expected).
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

from gen_blueprints import compile_bpkit, generate  # noqa: E402


def command() -> list[str]:
    """bpkit of this checkout, run by this interpreter, as the hook would run it."""
    return [sys.executable, "-m", "bpkit"]

TARGET = 0.3


def measure(args: list[str], cwd: Path, runs: int,
            edit: Path | None = None) -> tuple[float, float, int]:
    """(median wall seconds, median CPU seconds, exit code of the last run).

    `edit`: a file changed before every run, as each commit changes what it
    lints (so neither the lint cache nor its run record has that answer).

    CPU time (user + system) is printed beside wall time: on a shared,
    loaded machine it is the steadier figure.
    """
    walls, cpus, code = [], [], 0
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("GITHUB_ACTIONS", None)
    for run in range(runs):
        if edit is not None:
            with edit.open("a") as fh:
                fh.write(f"# edit {time.time_ns()} {run}\n")
        start = time.perf_counter()
        proc = subprocess.Popen([*command(), *args], cwd=cwd, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        walls.append(time.perf_counter() - start)
        cpus.append(usage.ru_utime + usage.ru_stime)
        code = os.waitstatus_to_exitcode(status)
    return statistics.median(walls), statistics.median(cpus), code


def main() -> int:
    compile_bpkit()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--count", type=int, default=50)
    opts = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bpkit-bench-precommit-") as tmp:
        mono = Path(tmp)
        (mono / ".git").mkdir()  # repository root marker, as in a monorepo
        folders = generate(mono, opts.count)
        # bp0001 is depended on by bp0002 and bp0003 (see gen_blueprints).
        changed = folders[1]
        files = [str((changed / f).relative_to(mono)) for f in ("blueprint.yaml",
                                                                "chart/Chart.yaml")]
        cases = [
            # For scale, in the same run: bench_lint.py's ten-wrapper case.
            ("reference: lint the ten wrappers, cold", ["lint", "--no-cache", "platform/"],
             REPO, 0, None),
            ("one changed blueprint", ["lint", *files], mono, 0, TARGET),
            ("... raised past its dependents' pins", ["lint", *files], mono, 1, TARGET),
        ]
        for name, args, cwd, expected, target in cases:
            if expected == 1:
                for f in files:
                    path = mono / f
                    text = path.read_text()
                    path.write_text(text.replace("version: 1.1.0", "version: 2.0.0", 1))
            edit = mono / files[0] if cwd == mono else None
            measure(args, cwd, 1, edit)  # warm the page cache, .pyc files and the lint cache
            time.sleep(2.5)  # the lint cache trusts stat data of files older than 2 s
            wall, cpu, code = measure(args, cwd, opts.runs, edit)
            if code != expected:
                print(f"{name}: exit {code}, expected {expected}", file=sys.stderr)
                return 1
            rows.append((name, wall, cpu, target))
    print(f"{'case (' + str(opts.count) + ' blueprints)':<40} {'median wall':>12} "
          f"{'CPU':>8} {'target':>8}")
    for name, wall, cpu, target in rows:
        verdict = "" if target is None else ("  ok" if wall <= target else "  MISSED")
        shown = "-" if target is None else f"{target:.2f} s"
        print(f"{name:<40} {wall:>10.3f} s {cpu:>6.3f} s {shown:>8}{verdict}")
    print(f"({opts.runs} runs each, median; load average {os.getloadavg()[0]:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
