"""Where parallel loading starts to pay: `bpkit lint --no-cache` in one process and with workers.

    python bench/bench_parallel.py [--sizes 40,80,120,240] [--runs 5]

For each size, a generated tree (gen_blueprints.py, with its upstream charts
cached) is linted cold with BPKIT_LINT_WORKERS=1 and =N (the cores, at most
4), interleaved, with the engine's PARALLEL_MIN and PER_WORKER_MIN lowered so that every
size runs parallel; medians of whole processes. The engine's PARALLEL_MIN should
sit where the second column starts to win.
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

CHILD = ("import sys\nimport bpkit.lint.engine as engine\n"
         "engine.PARALLEL_MIN = 2\nengine.PER_WORKER_MIN = 1\n"
         "sys.argv = ['bpkit', 'lint', '--no-cache', 'platform/']\n"
         "from bpkit.cli import main\nmain()\n")


def main() -> int:
    compile_bpkit()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="40,80,120,240")
    parser.add_argument("--runs", type=int, default=5)
    opts = parser.parse_args()
    workers = str(min(os.cpu_count() or 1, 4))
    print(f"load average {os.getloadavg()[0]:.2f}; {os.cpu_count()} cores; medians of "
          f"{opts.runs} runs")
    print(f"| blueprints | 1 process | {workers} workers |\n|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="bpkit-bench-parallel-") as tmp:
        for size in (int(s) for s in opts.sizes.split(",")):
            tree, cache = Path(tmp) / f"t{size}", Path(tmp) / f"c{size}"
            generate(tree, size, cache)
            (tree / ".git").mkdir()
            times: dict[str, list[float]] = {"1": [], workers: []}
            for _ in range(opts.runs):
                for count, samples in times.items():
                    env = {**os.environ, "PYTHONPATH": str(REPO), "BPKIT_CACHE_DIR": str(cache),
                           "BPKIT_LINT_WORKERS": count}
                    start = time.perf_counter()
                    proc = subprocess.run([sys.executable, "-c", CHILD], cwd=tree, env=env,
                                          stdout=subprocess.DEVNULL, check=False)
                    samples.append(time.perf_counter() - start)
                    if proc.returncode != 0:
                        print(f"lint of {size} exited {proc.returncode}", file=sys.stderr)
                        return 1
            print(f"| {size} | {statistics.median(times['1']):.2f} s | "
                  f"{statistics.median(times[workers]):.2f} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
