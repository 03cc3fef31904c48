"""Whole-process speed of `bpkit lint` and `bpkit package --all`, with Helm's lint beside it.

    BPKIT_HELM_PYTHON=/path/to/python3.12-with-helm-sdkpy \\
        python bench/bench_lint.py [--runs 5] [--count 1000] [--quick]

Cases, each a median of --runs whole processes after one warm-up, the two
sides interleaved (bpkit, Helm, bpkit, Helm, ...) so that load on the
shared machine falls on both alike:

  start-up          `bpkit --version` / a Python that imports helm_sdkpy
  lint, ten         `bpkit lint platform/` of the ten wrappers (a copy)
  lint, N cold      the same on N synthetic blueprints (gen_blueprints.py),
                    with no lint cache (`--no-cache` when bpkit has it, and a
                    fresh cache directory either way, holding only the
                    upstream charts and their summaries, as `bpkit upstream
                    fetch` leaves it)
  lint, N cold,     the same with a cache holding the charts alone (filled by
  bare charts       hand or by a bpkit older than the summaries): lint
                    summarises each chart itself
  lint, N warm      `bpkit lint` twice on the same tree and cache, the second
                    one timed (the first fills the lint cache)
  package --all     of the N blueprints in a git repository with a history,
                    without and with SOURCE_DATE_EPOCH (the ratio shows what
                    taking timestamps from git costs)

Helm's side is one process (a Python >= 3.12 with helm-sdkpy: the
interpreter in $BPKIT_HELM_PYTHON, else this one if it has helm_sdkpy) that
lints each chart in turn through helm-sdkpy's Lint, timed whole, start-up
included. Peak memory is each process's VmHWM, plus for bpkit's lint
workers (large trees) each worker at the largest one's peak. Without helm-sdkpy the Helm
column says so. The output is a Markdown table (ratio bpkit / Helm) with the
load average at start and end. Exits non-zero only when something fails
(a non-zero exit, missing archives), never for a missed goal. Figures drift
between machines: compare ratios from one run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform as host
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))

from gen_blueprints import commit_history, compile_bpkit, generate  # noqa: E402

from tests.integration.helmcheck import helm_python  # noqa: E402

# bpkit as its console script does it, reporting the process's peak memory
# (VmHWM: getrusage's ru_maxrss would carry over the forking parent's peak).
# Lint's forked processes (for large trees; bpkit's own loads a share too)
# count too: each at the largest one's peak (ru_maxrss of the children), an
# upper bound since they share pages with the parent. timed_run also samples the summed PSS of the
# process tree, which counts shared pages once: the memory verdict uses it.
BPKIT_CHILD = (
    "import os, resource, runpy, sys\n"
    "sys.argv = ['bpkit'] + sys.argv[1:]\n"
    "def peak():\n"
    "    for line in open('/proc/self/status'):\n"
    "        if line.startswith('VmHWM:'):\n"
    "            return int(line.split()[1])\n"
    "    return 0\n"
    "def workers():\n"
    "    import bpkit.lint.engine as e\n"
    "    return e._workers(e.PARALLEL_MIN * 100)\n"
    "try:\n"
    "    runpy.run_module('bpkit', run_name='__main__')\n"
    "finally:\n"
    "    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "    forked = 'bpkit.lint.forked' in sys.modules\n"
    "    extra = child * (workers() - 1) if forked else 0\n"
    "    print('\\nBENCH-PEAK-KB', peak() + extra, file=sys.stderr)\n"
)

# Helm's side: lint every chart listed in the file argv[1], one at a time, in
# this one process; prints counts, the in-process loop time and VmHWM.
HELM_CHILD = r"""
import asyncio, json, sys, time
import helm_sdkpy as h
charts = json.load(open(sys.argv[1]))
cfg = h.Configuration(namespace="default")
async def lint_all():
    errors = failed = 0
    for chart in charts:
        try:
            result = await h.Lint(cfg).run(chart)
        except h.HelmError:
            failed += 1
            continue
        errors += sum(1 for m in result.get("Messages") or [] if m.get("Severity", 0) >= 3)
    return errors, failed
start = time.perf_counter()
errors, failed = asyncio.run(lint_all())
loop = time.perf_counter() - start
peak = 0
for line in open("/proc/self/status"):
    if line.startswith("VmHWM:"):
        peak = int(line.split()[1])
print("\nBENCH-JSON " + json.dumps({"charts": len(charts), "errors": errors,
                                   "failed": failed, "loop": loop, "peak_kb": peak}))
"""

PEAK = re.compile(r"^BENCH-PEAK-KB (\d+)$", re.MULTILINE)
HELM_JSON = re.compile(r"^BENCH-JSON (.*)$", re.MULTILINE)


class Failed(Exception):
    """Something did not work: the figures would mean nothing."""


@dataclass
class Samples:
    """Wall seconds and peak MB of the timed runs of one side of one case."""

    walls: list[float] = field(default_factory=list)
    peaks: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    psss: list[float] = field(default_factory=list)

    def add(self, run: Run) -> None:
        self.walls.append(run.wall)
        self.peaks.append(run.peak)
        self.cpus.append(run.cpu)
        self.psss.append(run.pss)

    @property
    def pss(self) -> float:
        return statistics.median(self.psss)

    @property
    def wall(self) -> float:
        return statistics.median(self.walls)

    @property
    def peak(self) -> float:
        return statistics.median(self.peaks)

    @property
    def cpu(self) -> float:
        return statistics.median(self.cpus)

    def cell(self, memory: bool = True) -> str:
        return f"{self.wall:.2f} s, {self.peak:.0f} MB" if memory else f"{self.wall:.2f} s"

    def spread(self) -> str:
        return (f"wall {' '.join(f'{w:.3f}' for w in self.walls)} s; "
                f"cpu {' '.join(f'{c:.3f}' for c in self.cpus)} s; "
                f"peak {' '.join(f'{p:.0f}' for p in self.peaks)} MB; "
                f"PSS {' '.join(f'{p:.0f}' for p in self.psss)} MB")


@dataclass(frozen=True)
class Run:
    """One whole process: wall seconds, CPU seconds (user + system, all threads), peak MB.

    `pss`: the largest sum of PSS (proportional set size) over the process
    and its children, sampled every 10 ms: the physical memory the run
    held, each page shared by a forked worker and its parent counted once.
    """

    wall: float
    cpu: float
    peak: float
    pss: float = 0.0


def tree_pss_kb(pid: int) -> int:
    """Sum of PSS over `pid` and its descendants, from /proc (0 where it cannot be read)."""
    total, todo, seen = 0, [pid], set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            with open(f"/proc/{current}/smaps_rollup") as rollup:
                for line in rollup:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    todo.extend(int(child) for child in children.read().split())
        except (OSError, ValueError):
            continue
    return total


def timed_run(argv: list[str], cwd: Path | None, env: dict[str, str],
              capture_stdout: bool) -> tuple[subprocess.CompletedProcess[str], float, float, float]:
    """(the finished process, wall seconds, CPU seconds, peak PSS MB); one child at a time."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    child = subprocess.Popen(argv, cwd=cwd, env=env, text=True,
                             stdout=subprocess.PIPE if capture_stdout else subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.01):
            peak[0] = max(peak[0], tree_pss_kb(child.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        out, err = child.communicate(timeout=900)
    finally:
        done.set()
        sampler.join()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    proc = subprocess.CompletedProcess(argv, child.returncode, out, err)
    return proc, wall, cpu, peak[0] / 1024


class Bench:
    """Runs both sides as whole processes with a controlled environment."""

    def __init__(self, work: Path, helm: str | None) -> None:
        self.work = work
        self.helm = helm
        self.caches = 0
        self.upstreams = work / "upstreams"  # the synthetic upstream charts (gen_blueprints)
        self.bare = work / "bare"  # the same charts without their summaries
        self.bpkit_env = {k: v for k, v in os.environ.items()
                          if k not in ("GITHUB_ACTIONS", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY",
                                       "BPKIT_REGISTRY", "SOURCE_DATE_EPOCH",
                                       "BPKIT_CACHE_DIR")}
        self.bpkit_env["PYTHONPATH"] = str(REPO)
        self.helm_env = {**os.environ, "TZ": "UTC"}
        self.helm_env.pop("KUBECONFIG", None)
        for name in ("HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"):
            (work / "helm" / name).mkdir(parents=True)
            self.helm_env[name] = str(work / "helm" / name)

    def fresh_cache(self, bare: bool = False) -> Path:
        """A $BPKIT_CACHE_DIR new for every cold run: the upstream charts and nothing else.

        As `bpkit upstream fetch` leaves it: the charts with their summaries,
        but no lint cache; `bare`: the charts alone.
        """
        self.caches += 1
        path = self.work / "caches" / str(self.caches)
        seed = self.bare if bare else self.upstreams
        if seed.is_dir():
            shutil.copytree(seed, path, copy_function=os.link)
        else:
            path.mkdir(parents=True)
        return path

    def help_has(self, subcommand: str, option: str) -> bool:
        proc = subprocess.run([sys.executable, "-m", "bpkit", subcommand, "--help"],
                              env=self.bpkit_env, capture_output=True, text=True, check=False)
        return re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", proc.stdout) is not None

    def bpkit(self, args: list[str], cwd: Path, cache: Path,
              extra: dict[str, str] | None = None) -> Run:
        """One whole `bpkit ARGS` process; fails on a non-zero exit."""
        env = {**self.bpkit_env, "BPKIT_CACHE_DIR": str(cache), **(extra or {})}
        proc, wall, cpu, pss = timed_run([sys.executable, "-c", BPKIT_CHILD, *args], cwd, env,
                                         capture_stdout=False)
        match = PEAK.search(proc.stderr)
        if proc.returncode != 0 or match is None:
            tail = "\n".join(PEAK.sub("", proc.stderr).strip().splitlines()[-20:])
            raise Failed(f"bpkit {' '.join(args)} in {cwd} exited {proc.returncode}:\n{tail}")
        return Run(wall, cpu, int(match.group(1)) / 1024, pss)

    def helm_lint(self, charts: Path | None) -> tuple[Run, dict[str, float]]:
        """One whole Helm process linting the charts listed in CHARTS (None: start-up only)."""
        assert self.helm is not None
        listing = charts or self.work / "no-charts.json"
        if charts is None:
            listing.write_text("[]")
        proc, wall, cpu, pss = timed_run([self.helm, "-c", HELM_CHILD, str(listing)], None,
                                         self.helm_env, capture_stdout=True)
        match = HELM_JSON.search(proc.stdout)
        if proc.returncode != 0 or match is None:
            raise Failed(f"the Helm lint child exited {proc.returncode}:\n"
                         f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
        data: dict[str, float] = json.loads(match.group(1))
        return Run(wall, cpu, data["peak_kb"] / 1024, pss), data


def chart_list(work: Path, tree: Path, name: str) -> Path:
    charts = sorted(str(p / "chart") for p in (tree / "platform").iterdir()
                    if (p / "chart").is_dir())
    path = work / f"{name}.json"
    path.write_text(json.dumps(charts))
    return path


def interleave(runs: int, steps: list[Callable[[bool], None]]) -> None:
    """One warm-up round (page cache, .pyc files, Helm's library), then RUNS timed rounds."""
    for timed in [False] + [True] * runs:
        for step in steps:
            step(timed)


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def versions(helm: str | None) -> str:
    parts = [f"Python {host.python_version()}"]
    git = subprocess.run(["git", "--version"], capture_output=True, text=True, check=False)
    parts.append(git.stdout.strip() or "git missing")
    if helm:
        proc = subprocess.run([helm, "-c", "import importlib.metadata as m, platform; "
                               "print(platform.python_version(), m.version('helm-sdkpy'))"],
                              capture_output=True, text=True, check=False)
        py, _, sdk = proc.stdout.strip().partition(" ")
        parts.append(f"helm-sdkpy {sdk} on Python {py}")
    return ", ".join(parts)


def main() -> int:
    compile_bpkit()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per side (default 5)")
    parser.add_argument("--count", type=int, default=1000,
                        help="synthetic blueprints (default 1000)")
    parser.add_argument("--quick", action="store_true",
                        help="2 timed runs per lint case, 1 per package case")
    opts = parser.parse_args()
    runs = 2 if opts.quick else max(1, opts.runs)
    package_runs = 1 if opts.quick else runs
    count = opts.count
    helm = helm_python()
    load_start = load()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bpkit-bench-") as tmp:
        work = Path(tmp)
        bench = Bench(work, helm)
        no_cache = ["--no-cache"] if bench.help_has("lint", "--no-cache") else []
        ten = work / "ten"
        shutil.copytree(REPO / "platform", ten / "platform")
        (ten / ".git").mkdir()  # repository root marker, as in a monorepo
        big = work / "big"
        commit_history(big, generate(big, count, bench.upstreams))
        generate(work / "unused", count, bench.bare, summaries=False)
        ten_charts, big_charts = chart_list(work, ten, "ten"), chart_list(work, big, "big")

        results: dict[str, Samples] = {}
        helm_notes: dict[str, dict[str, float]] = {}

        def bpkit_step(case: str, args: list[str], tree: Path,
                       extra: dict[str, str] | None = None,
                       warm: bool = False, bare: bool = False) -> Callable[[bool], None]:
            def step(timed: bool) -> None:
                shutil.rmtree(tree / ".bpkit_cache", ignore_errors=True)
                cache = bench.fresh_cache(bare)
                if warm:
                    bench.bpkit(args, tree, cache, extra)  # fills the cache
                    files = sum(1 for p in cache.rglob("*") if p.is_file())
                    files += sum(1 for p in (tree / ".bpkit_cache").rglob("*") if p.is_file())
                    helm_notes.setdefault("cache files", {})[case] = files
                run = bench.bpkit(args, tree, cache, extra)
                if timed:
                    results.setdefault(case, Samples()).add(run)
            return step

        def helm_step(case: str, charts: Path | None) -> Callable[[bool], None]:
            def step(timed: bool) -> None:
                if helm is None:
                    return
                run, data = bench.helm_lint(charts)
                helm_notes[case] = data
                if timed:
                    results.setdefault(case, Samples()).add(run)
            return step

        interleave(runs, [bpkit_step("start-up", ["--version"], ten),
                          helm_step("helm start-up", None)])
        interleave(runs, [bpkit_step("lint ten", ["lint", *no_cache, "platform/"], ten),
                          helm_step("helm lint ten", ten_charts)])
        interleave(runs, [bpkit_step("lint big", ["lint", *no_cache, "platform/"], big),
                          helm_step("helm lint big", big_charts),
                          bpkit_step("lint big warm", ["lint", "platform/"], big, warm=True),
                          bpkit_step("lint big bare", ["lint", *no_cache, "platform/"], big,
                                     bare=True)])

        outs = iter(range(10**6))

        def package_step(case: str, extra: dict[str, str]) -> Callable[[bool], None]:
            def step(timed: bool) -> None:
                out = work / "dist" / str(next(outs))
                inner = bpkit_step(case, ["package", "--all", "--out", str(out)], big, extra)
                inner(timed)
                made = len(list(out.glob("*.tgz")))
                if made != count:
                    raise Failed(f"bpkit package --all wrote {made} archives, not {count}")
                shutil.rmtree(out)
            return step

        epoch = {"SOURCE_DATE_EPOCH": "1704067200"}
        interleave(package_runs, [package_step("package git", {}),
                                  package_step("package epoch", epoch)])

    elapsed = time.perf_counter() - started
    load_end = load()

    def ratio(case: str, other: str) -> tuple[str, float | None]:
        if other not in results:
            return "—", None
        value = results[case].wall / results[other].wall
        return f"{value:.2f}x", value

    def helm_cell(case: str) -> str:
        return results[case].cell() if case in results else "skipped (no helm-sdkpy)"

    def verdict(value: float | None, goal: float, memory_ok: bool = True) -> str:
        if value is None:
            return "—"
        return "met" if value <= goal and memory_ok else "missed"

    n = f"{count:,}"
    rows: list[tuple[str, str, str, str, str, str]] = []
    text, value = ratio("start-up", "helm start-up")
    rows.append(("start-up (`bpkit --version`; Python importing helm_sdkpy)",
                 results["start-up"].cell(), helm_cell("helm start-up"), text, "≤ 0.15 s",
                 "met" if results["start-up"].wall <= 0.15 else "missed"))
    text, value = ratio("lint ten", "helm lint ten")
    rows.append(("lint, the ten wrappers", results["lint ten"].cell(),
                 helm_cell("helm lint ten"), text, "≤ 0.8x", verdict(value, 0.8)))
    text, value = ratio("lint big", "helm lint big")
    # Memory: the physical memory each run held, pages shared by the forked
    # workers and their parent counted once (summed PSS), not VmHWM summed.
    memory_ok = ("helm lint big" in results
                 and results["lint big"].pss <= results["helm lint big"].pss)
    rows.append((f"lint, {n} synthetic blueprints, cold", results["lint big"].cell(),
                 helm_cell("helm lint big"), text, "≤ 0.35x; memory (Σ PSS) ≤ Helm's",
                 verdict(value, 0.35, memory_ok)))
    text, value = ratio("lint big bare", "helm lint big")
    rows.append((f"lint, {n} synthetic blueprints, cold, bare charts (no summaries)",
                 results["lint big bare"].cell(), helm_cell("helm lint big"), text,
                 "—", "—"))
    text, value = ratio("lint big warm", "helm lint big")
    rows.append((f"lint, {n} synthetic blueprints, warm (second run)",
                 results["lint big warm"].cell(), helm_cell("helm lint big"), text,
                 "≤ 0.1x", verdict(value, 0.1)))
    text, value = ratio("package git", "package epoch")
    rows.append((f"package --all, {n} blueprints", results["package git"].cell(), "—",
                 f"{text} of the SOURCE_DATE_EPOCH run",
                 f"≤ 1.2x of the same run with SOURCE_DATE_EPOCH set "
                 f"({results['package epoch'].wall:.2f} s)", verdict(value, 1.2)))

    print(f"bpkit lint/package benchmark: timed runs: {runs} per lint case, {package_runs} per "
          f"package case; medians, interleaved with Helm; {os.cpu_count()} cores")
    print(f"{versions(helm)}")
    print(f"load average at start: {load_start}; at end: {load_end}; took {elapsed:.0f} s")
    print()
    print("| case | bpkit | Helm | ratio | goal | met |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print()
    print("CPU seconds (user + system, all threads; less sensitive to load than wall time):")
    print()
    print("| case | bpkit | against | ratio |")
    print("|---|---|---|---|")
    for label, mine, theirs, who in (
            ("lint, the ten wrappers", "lint ten", "helm lint ten", "Helm"),
            (f"lint, {n} synthetic blueprints, cold", "lint big", "helm lint big", "Helm"),
            (f"lint, {n} synthetic blueprints, warm", "lint big warm", "helm lint big", "Helm"),
            (f"lint, {n} synthetic blueprints, cold, bare charts", "lint big bare",
             "helm lint big", "Helm"),
            (f"package --all, {n} blueprints", "package git", "package epoch",
             "bpkit with SOURCE_DATE_EPOCH")):
        other = results.get(theirs)
        print(f"| {label} | {results[mine].cpu:.2f} s | "
              f"{f'{who} {other.cpu:.2f} s' if other else '—'} | "
              f"{f'{results[mine].cpu / other.cpu:.2f}x' if other else '—'} |")
    print()
    print("Memory, MB: VmHWM (bpkit's workers each at the largest one's peak: an upper bound")
    print("that counts the pages they share with their parent once per worker), and the")
    print("largest sum of PSS over the process tree, sampled every 10 ms:")
    print()
    print("| case | bpkit VmHWM | bpkit Σ PSS | Helm VmHWM | Helm Σ PSS |")
    print("|---|---|---|---|---|")
    for label, mine, theirs in (
            ("lint, the ten wrappers", "lint ten", "helm lint ten"),
            (f"lint, {n} synthetic blueprints, cold", "lint big", "helm lint big"),
            (f"lint, {n} synthetic blueprints, warm", "lint big warm", "helm lint big")):
        other = results.get(theirs)
        print(f"| {label} | {results[mine].peak:.0f} | {results[mine].pss:.0f} | "
              f"{f'{other.peak:.0f}' if other else '—'} | "
              f"{f'{other.pss:.0f}' if other else '—'} |")
    print()
    print("Runs (in order):")
    for case, samples in results.items():
        print(f"  {case}: {samples.spread()}")
    for case in ("helm lint ten", "helm lint big"):
        data = helm_notes.get(case)
        if data:
            print(f"  {case}: last run linted {data['charts']:.0f} charts in "
                  f"{data['loop']:.2f} s in process; {data['errors']:.0f} error messages, "
                  f"{data['failed']:.0f} charts Helm could not lint")
    files = helm_notes.get("cache files", {}).get("lint big warm", 0)
    print(f"  lint cache after the first of the two warm runs: {files:.0f} files"
          + ("" if files else " (none: the warm row is a second cold run)"))
    print(f"  cold lint runs pass: {' '.join(no_cache) or '(nothing: bpkit has no --no-cache)'}"
          "; every bpkit run gets a fresh BPKIT_CACHE_DIR but the warm pair, which shares one")
    print()
    print("Commands (cwd: a copy of platform/, or the generated git repository):")
    print(f"  bpkit --version; bpkit lint {''.join(f'{o} ' for o in no_cache)}platform/ (cold); "
          "bpkit lint platform/ twice (warm)")
    print("  bpkit package --all --out DIR, with and without SOURCE_DATE_EPOCH=1704067200")
    print("  Helm: one python process: import helm_sdkpy; for each chart: await "
          "Lint(Configuration()).run(chart)")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Failed as exc:
        print(f"bench_lint: {exc}", file=sys.stderr)
        sys.exit(1)
