"""Speed and request counts of `bpkit publish`, against Helm's own package + push (not a test).

    python bench/bench_publish.py [--runs 5]

One local docker-registry serves the whole run; the ten wrappers of
platform/ are published into a fresh namespace each time:

  1. `bpkit publish --all` as a whole process (interpreter start, lint,
     package, push, verify) against Helm 4's package + push of the same ten
     charts through helm-sdkpy, in one process (the median of its in-process
     loops; the child's start-up and library load are reported apart).
     Both talk straight to the registry. The ratio is bpkit / Helm.
  2. HTTP requests per new blueprint (target <= 10) and per unchanged
     re-publish (target 2), counted by the test suite's fault proxy
     (tests/integration/faultproxy.py) placed in front of the registry,
     here injecting no faults. Helm's count per new chart is shown too.

Helm needs Python >= 3.12 with helm-sdkpy: the interpreter in
$BPKIT_HELM_PYTHON, else this one if it has helm_sdkpy; without it the Helm
rows are skipped. Exits non-zero only when something fails, never for a
missed target. Figures drift between machines: compare ratios from one run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))

from gen_blueprints import compile_bpkit  # noqa: E402

from tests.integration.faultproxy import FaultProxy  # noqa: E402
from tests.integration.helmcheck import helm_python  # noqa: E402

REGISTRY_BIN = "/usr/bin/docker-registry"
LISTENING = re.compile(r"listening on 127\.0\.0\.1:(\d+)")
REPO_PATH = re.compile(r"^/v2/[^/]+/([^/]+)/")
# 10: 8 to push (the tag is checked again just before the manifest PUT) and 2 to
# read the blobs back for verify's checks; 2: "unchanged" is proven by hashing
# the manifest the tag serves (issue 11, bpkit.net.registry).
NEW_TARGET, UNCHANGED_TARGET = 10, 2

# The Helm side, run by a Python that has helm_sdkpy: package and push every
# chart, `runs` times, each into a fresh namespace; prints JSON timings.
HELM_CHILD = r"""
import asyncio, json, sys, tempfile, time
t0 = time.perf_counter()
import helm_sdkpy as h
req = json.loads(sys.argv[1])
cfg = h.Configuration(namespace="default", plain_http=True)
loaded = time.perf_counter() - t0
loops = []
for n in range(req["runs"]):
    remote = f"oci://{req['host']}/{req['prefix']}{n}"
    with tempfile.TemporaryDirectory() as dest:
        start = time.perf_counter()
        for chart in req["charts"]:
            tgz = asyncio.run(h.Package(cfg).run(chart, dest_dir=dest))
            asyncio.run(h.Push(cfg).run(tgz, remote, plain_http=True))
        loops.append(time.perf_counter() - start)
print("BENCH-JSON " + json.dumps({"load": loaded, "loops": loops}))
"""


class Failed(Exception):
    """Something did not work: the benchmark's figures would mean nothing."""


def start_registry(work: Path) -> tuple[subprocess.Popen[bytes], str]:
    if not Path(REGISTRY_BIN).exists():
        raise Failed(f"{REGISTRY_BIN} is missing: apt-get install docker-registry")
    config = work / "registry.yml"
    config.write_text(
        "version: 0.1\n"
        "log: {level: info, accesslog: {disabled: true}}\n"
        f"storage: {{filesystem: {{rootdirectory: {work / 'storage'}}}, "
        "delete: {enabled: true}}\n"
        "http:\n  addr: 127.0.0.1:0\n  secret: bench\n"
    )
    log = work / "registry.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen([REGISTRY_BIN, "serve", str(config)],
                                stdout=subprocess.DEVNULL, stderr=sink)
    deadline = time.monotonic() + 10
    while True:
        text = log.read_text(errors="replace")
        match = LISTENING.search(text)
        if match:
            return proc, f"127.0.0.1:{match.group(1)}"
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise Failed(f"docker-registry did not start:\n{text}")
        time.sleep(0.005)


def make_monorepo(work: Path) -> Path:
    """The ten wrappers in a committed git repository, as CI sees them."""
    root = work / "repo"
    shutil.copytree(REPO / "platform", root / "platform")
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com",
           "GIT_AUTHOR_DATE": "2024-01-02T03:04:05Z", "GIT_COMMITTER_DATE": "2024-01-02T03:04:05Z"}
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "wrappers"]):
        subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)
    return root


def bpkit_command() -> list[str]:
    script = shutil.which("bpkit")
    return [script] if script else [sys.executable, "-m", "bpkit"]


def publish(repo: Path, url: str) -> tuple[float, dict[str, Any]]:
    """One whole `bpkit publish --all` process: (wall seconds, its JSON report)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "HOME": str(repo.parent / "home"),
           "DOCKER_CONFIG": str(repo.parent / "home" / ".docker")}
    for var in ("GITHUB_ACTIONS", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "BPKIT_REGISTRY"):
        env.pop(var, None)
    start = time.perf_counter()
    proc = subprocess.run([*bpkit_command(), "publish", "--all", "--registry", url,
                           "--format", "json"], cwd=repo, env=env, capture_output=True,
                          text=True, check=False)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise Failed(f"bpkit publish to {url} exited {proc.returncode}:\n{proc.stdout}"
                     f"{proc.stderr}")
    report: dict[str, Any] = json.loads(proc.stdout)
    return wall, report


def helm_times(python: str, host: str, charts: list[Path], runs: int,
               prefix: str) -> tuple[float, list[float]]:
    """(child start-up + library load, in-process package+push loop times)."""
    with tempfile.TemporaryDirectory(prefix="bench-helm-") as tmp:
        env = {**os.environ, "TZ": "UTC"}
        for name in ("HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"):
            Path(tmp, name).mkdir()
            env[name] = str(Path(tmp, name))
        env.pop("KUBECONFIG", None)
        request = json.dumps({"host": host, "prefix": prefix, "runs": runs,
                              "charts": [str(c) for c in charts]})
        start = time.perf_counter()
        proc = subprocess.run([python, "-c", HELM_CHILD, request], env=env, capture_output=True,
                              text=True, check=False, timeout=600)
        wall = time.perf_counter() - start
    match = re.search(r"^BENCH-JSON (.*)$", proc.stdout, re.MULTILINE)
    if proc.returncode != 0 or match is None:
        raise Failed(f"helm child exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    data = json.loads(match.group(1))
    loops: list[float] = data["loops"]
    return wall - sum(loops), loops


def per_blueprint(proxy: FaultProxy) -> list[int]:
    counts: dict[str, int] = {}
    for call in proxy.calls:
        match = REPO_PATH.match(call.path)
        key = match.group(1) if match else "(other)"
        counts[key] = counts.get(key, 0) + 1
    return [counts[k] for k in sorted(counts)]


def main() -> int:
    compile_bpkit()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per side (default 5)")
    opts = parser.parse_args()
    runs = max(1, opts.runs)
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="bench-publish-") as tmp:
        work = Path(tmp)
        registry, host = start_registry(work)
        proxy = FaultProxy(host, namespace="counted")
        try:
            repo = make_monorepo(work)
            charts = sorted(p / "chart" for p in (repo / "platform").iterdir()
                            if (p / "chart").is_dir())
            n = len(charts)

            # 1. time: a warm-up, then fresh namespaces.
            publish(repo, f"oci://{host}/warmup")
            walls = [publish(repo, f"oci://{host}/bpkit{i}")[0] for i in range(runs)]
            bpkit_median = statistics.median(walls)
            rows.append((f"bpkit publish --all ({n} charts, whole process)",
                         f"{bpkit_median * 1000:.0f} ms",
                         f"min {min(walls) * 1000:.0f}, max {max(walls) * 1000:.0f}"))
            python = helm_python()
            helm_median = None
            if python is None:
                rows.append(("helm package+push", "skipped",
                             "set BPKIT_HELM_PYTHON to a Python with helm-sdkpy"))
            else:
                startup, loops = helm_times(python, host, charts, runs + 1, "helm")
                loops = loops[1:]  # the first loop warms Helm's caches
                helm_median = statistics.median(loops)
                rows.append((f"helm package+push ({n} charts, in process)",
                             f"{helm_median * 1000:.0f} ms",
                             f"min {min(loops) * 1000:.0f}, max {max(loops) * 1000:.0f}"))
                rows.append(("helm child start-up + library load", f"{startup * 1000:.0f} ms",
                             "not in the figure above"))
                rows.append(("ratio bpkit / helm (in process)",
                             f"{bpkit_median / helm_median:.2f}x", ""))
                rows.append(("ratio bpkit / helm (helm incl. start-up)",
                             f"{bpkit_median / (helm_median + startup):.2f}x", ""))

            # 2. requests, counted by the proxy.
            _, report = publish(repo, proxy.url)
            statuses = {r["status"] for r in report["results"]}
            if statuses != {"published"}:
                raise Failed(f"first publish through the proxy: statuses {statuses}")
            new = per_blueprint(proxy)
            proxy.clear()
            _, report = publish(repo, proxy.url)
            statuses = {r["status"] for r in report["results"]}
            if statuses != {"unchanged"}:
                raise Failed(f"re-publish through the proxy: statuses {statuses}")
            again = per_blueprint(proxy)
            if len(new) != n or len(again) != n:
                raise Failed(f"requests seen for {len(new)} and {len(again)} of {n} charts")
            verdict = "ok" if max(new) <= NEW_TARGET else "MISSED"
            rows.append(("requests per new blueprint", f"{sum(new) / n:.1f}",
                         f"max {max(new)}, target <= {NEW_TARGET}: {verdict}"))
            verdict = "ok" if max(again) <= UNCHANGED_TARGET else "MISSED"
            rows.append(("requests per unchanged re-publish", f"{sum(again) / n:.1f}",
                         f"max {max(again)}, target {UNCHANGED_TARGET}: {verdict}"))
            if python is not None:
                proxy.clear()
                helm_times(python, proxy.host, charts, 1, "helmcounted")
                helm_new = per_blueprint(proxy)
                rows.append(("helm requests per new chart", f"{sum(helm_new) / n:.1f}",
                             f"max {max(helm_new)}"))
        finally:
            proxy.stop()
            registry.terminate()
            registry.wait(timeout=10)
    width = max(len(r[0]) for r in rows)
    value_width = max(len(r[1]) for r in rows)
    print(f"bpkit publish benchmark: {runs} timed runs per side, one local docker-registry")
    for what, value, note in rows:
        print(f"  {what.ljust(width)}  {value.rjust(value_width)}  {note}".rstrip())
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Failed as exc:
        print(f"bench_publish: {exc}", file=sys.stderr)
        sys.exit(1)
