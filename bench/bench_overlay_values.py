"""What `overlay-values` (and `upstream-lock`) add to `bpkit lint` on N blueprints.

    python bench/bench_overlay_values.py [--count 1000] [--runs 3] [--shared]

Generates N wrappers (gen_blueprints.py), locks each to its own synthetic
upstream chart (or, with --shared, all to one) whose values.yaml of ~200
lines defines every overlay key, puts the charts in a private cache, then
lints them with every rule, without overlay-values, and without both lock
rules, each lint in a fresh process, the cases interleaved (the on-disk
summaries stay, as in CI with a cached folder, after a first warm-up run).
Figures are the CPU seconds of the lint itself (imports excluded), which
the shared machine's load disturbs less than wall time.
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

DEFAULTS = ("replicaCount: 1\nimage:\n  repository: x\n  pullPolicy: Always\n  tag: \"\"\n"
            "resources: {}\ncontroller:\n  resources: {}\n  podSecurityContext: {}\n"
            "metrics:\n  enabled: false\n  serviceMonitor:\n    enabled: false\n    interval: 30s\n"
            "podAnnotations: {}\nnodeSelector: {}\ntolerations: []\naffinity: {}\n"
            + "".join(f"option{i}:\n  enabled: false\n  value: \"{i}\"\n" for i in range(60)))


CASES = {
    "every rule": (),
    "without overlay-values": ("overlay-values",),
    "without both lock rules": ("overlay-values", "upstream-lock"),
}


def child(case: str, platform: Path) -> None:
    """One lint in a fresh process, as `bpkit lint` runs; prints its CPU seconds."""
    from bpkit.lint import engine
    from bpkit.settings import Settings

    engine.BLUEPRINT_CHECKS = tuple(  # type: ignore[misc]
        c for c in engine.BLUEPRINT_CHECKS if c[0] not in CASES[case])
    settings = Settings(root=platform.parent)
    engine.lint_paths([platform], settings)  # imports and first-use costs out of the figure
    start = time.process_time()
    result = engine.lint_paths([platform], settings)
    print(time.process_time() - start, len(result.problems))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--shared", action="store_true", help="one upstream for all")
    parser.add_argument("--child", nargs=2, metavar=("CASE", "PLATFORM"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return 0
    work = Path(tempfile.mkdtemp(prefix="bpkit-bench-ov-"))
    os.environ["BPKIT_CACHE_DIR"] = str(work / "cache")
    try:
        return run(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(args: argparse.Namespace, work: Path) -> int:
    from gen_blueprints import generate
    from tests.blueprints import lock_blueprint, upstream_chart

    from bpkit.lint import engine
    from bpkit.settings import Settings
    from bpkit.source.model import load_blueprint

    (work / "mono" / ".git").mkdir(parents=True)
    folders = generate(work / "mono", args.count)
    shared = upstream_chart("shared", "1.0.0", values=DEFAULTS) if args.shared else None
    for folder in folders:
        up = load_blueprint(folder).upstream or {}
        data = shared or upstream_chart(up["chart"], up["version"], values=DEFAULTS)
        lock_blueprint(folder, up["chart"], up["version"], up["repo"], data=data)
    platform = work / "mono" / "platform"
    first = engine.lint_paths([platform], Settings(root=work / "mono"))  # writes the summaries
    assert not first.problems, first.problems[:3]
    times: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(args.runs):
        for name in CASES:  # interleaved, so load on the machine falls on all alike
            out = subprocess.run([sys.executable, __file__, "--child", name, str(platform)],
                                 capture_output=True, text=True, check=True).stdout.split()
            times[name].append(float(out[0]))
    bare = statistics.median(times["without both lock rules"])
    base = statistics.median(times["without overlay-values"])
    kind = "one shared upstream" if args.shared else "one upstream each"
    print(f"{args.count} blueprints, {kind}; median CPU seconds of one lint, {args.runs} runs")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:26} {median:6.2f} s  ({median / bare - 1:+6.1%} on no lock rules)")
    print(f"  overlay-values adds {statistics.median(times['every rule']) / base - 1:+.1%} "
          "to a lint that reads the locks anyway")
    return 0


if __name__ == "__main__":
    sys.exit(main())
