"""What `overlay-values` (and `upstream-lock`) add to `bpkit lint` on N blueprints.

    python bench/bench_overlay_values.py [--count 1000] [--runs 3] [--shared]

Generates N wrappers (gen_blueprints.py), locks each to its own synthetic
upstream chart (or, with --shared, all to one) whose values.yaml of ~200
lines defines every overlay key, puts the charts in a private cache, then
lints in one process with every rule, without overlay-values, and without
both lock rules, interleaved, with a fresh process-level memo each run (as
a new process starts; the on-disk summaries stay, as in CI with a cached
folder, after a first warm-up run). Figures are CPU seconds (process time),
which the shared machine's load disturbs less than wall time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
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


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--shared", action="store_true", help="one upstream for all")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bpkit-bench-ov-"))
    os.environ["BPKIT_CACHE_DIR"] = str(work / "cache")
    try:
        return run(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(args: argparse.Namespace, work: Path) -> int:

    from gen_blueprints import generate

    from bpkit.lint import engine, upstream_facts
    from bpkit.settings import Settings
    from bpkit.source.model import load_blueprint
    from tests.blueprints import lock_blueprint, upstream_chart

    (work / "mono" / ".git").mkdir(parents=True)
    folders = generate(work / "mono", args.count)
    shared = upstream_chart("shared", "1.0.0", values=DEFAULTS) if args.shared else None
    for folder in folders:
        up = load_blueprint(folder).upstream or {}
        data = shared or upstream_chart(up["chart"], up["version"], values=DEFAULTS)
        lock_blueprint(folder, up["chart"], up["version"], up["repo"], data=data)
    settings = Settings(root=work / "mono")
    full = engine.BLUEPRINT_CHECKS
    cases = {
        "every rule": full,
        "without overlay-values": tuple(c for c in full if c[0] != "overlay-values"),
        "without both lock rules": tuple(c for c in full
                                         if c[0] not in ("overlay-values", "upstream-lock")),
    }
    platform = work / "mono" / "platform"
    first = engine.lint_paths([platform], settings)  # warm-up: writes the summaries
    assert not first.problems, first.problems[:3]
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.runs):
        for name, checks in cases.items():
            engine.BLUEPRINT_CHECKS = checks  # type: ignore[misc]
            upstream_facts._DEFAULTS.clear()
            start = time.process_time()
            engine.lint_paths([platform], settings)
            times[name].append(time.process_time() - start)
    engine.BLUEPRINT_CHECKS = full  # type: ignore[misc]
    base = statistics.median(times["without overlay-values"])
    bare = statistics.median(times["without both lock rules"])
    kind = "one shared upstream" if args.shared else "one upstream each"
    print(f"{args.count} blueprints, {kind}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:26} {median:6.2f} s CPU  (+{median / bare - 1:5.1%} on no lock rules)")
    print(f"  overlay-values adds {statistics.median(times['every rule']) / base - 1:+.1%} "
          "to a lint that reads the locks anyway")
    return 0


if __name__ == "__main__":
    sys.exit(main())
