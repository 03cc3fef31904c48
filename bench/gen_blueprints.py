"""Generate N synthetic, lint-clean wrapper blueprints for benchmarks.

    python bench/gen_blueprints.py OUT_DIR N [--git]

Writes OUT_DIR/platform/bp0000.../ with blueprint.yaml, chart/Chart.yaml and
chart/values.yaml shaped like the real wrappers (comments, a flow-mapping
upstream block, a nested overlay of ~40 lines, a few dependencies), and the
upstream.lock that `bpkit upstream lock` would write. The upstream charts
are synthetic too (a Chart.yaml, values.yaml holding every key the overlay
sets, one template); `generate(..., cache=DIR)` stores them in a bpkit cache
folder as `bpkit upstream fetch` leaves it (DIR/charts/sha256/<hex>.tgz, and
beside each the summary lint reads, DIR/values/sha256/<hex>.json), so
overlay-values checks every overlay as it would in a real monorepo.

With --git, OUT_DIR becomes a git repository with a history, as a real
monorepo has, so that `bpkit package` takes archive timestamps from git:
the blueprints arrive in ten dated commits, and a last one touches every
seventh blueprint again.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bpkit.source.lock import LOCK_FILE, UpstreamLock, dump_lock
from bpkit.upstream.cache import ChartCache
from bpkit.upstream.summary import ensure_summary

CHART = """\
apiVersion: v2
name: bp-{name}
version: 1.{minor}.0
description: |
  Catalyst-curated Blueprint wrapper for {name}. Carries Catalyst-specific
  values on top of the upstream Helm chart; the bootstrap-kit installer reads
  the upstream chart reference from values.yaml's metadata block.
type: application
keywords: [catalyst, blueprint, {name}]
maintainers:
  - name: OpenOva Catalyst
    email: catalyst@openova.io
"""

VALUES = """\
# Catalyst Blueprint wrapper metadata, read by the bootstrap-kit installer.
catalystBlueprint:
  upstream:
    {{ chart: up-{name}, version: "2.{minor}.1", repo: "https://charts.example.com/{name}" }}

# Overlay passed to the upstream chart.
replicaCount: 2
image:
  pullPolicy: IfNotPresent
resources:
  requests: {{ cpu: 50m, memory: 64Mi }}
  limits: {{ memory: 256Mi }}
controller:
  resources:
    requests: {{ cpu: 50m, memory: 64Mi }}
    limits: {{ memory: 256Mi }}
  podSecurityContext:
    runAsNonRoot: true
    seccompProfile: {{ type: RuntimeDefault }}
metrics:
  enabled: true
  serviceMonitor:
    enabled: false
    interval: 30s
tolerations: []
nodeSelector: {{}}
affinity:
  podAntiAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm:
          topologyKey: kubernetes.io/hostname
          labelSelector:
            matchLabels: {{ app.kubernetes.io/name: {name} }}
"""

BLUEPRINT = """\
apiVersion: catalyst.openova.io/v1alpha1
kind: Blueprint
metadata:
  name: bp-{name}
  labels:
    catalyst.openova.io/section: bench
spec:
  version: 1.{minor}.0
  card:
    title: {name}
    summary: Synthetic blueprint number {index} for benchmarks.
  visibility: listed
  configSchema:
    type: object
    properties:
      replicas: {{ type: integer, minimum: 1, default: 2 }}
  manifests:
    chart: ./chart
  depends:
{depends}  upgrades:
    from: ["0.x"]
"""


UPSTREAM_CHART = """\
apiVersion: v2
name: up-{name}
version: 2.{minor}.1
appVersion: "9.{minor}.0"
type: application
"""

UPSTREAM_TEMPLATE = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  replicas: {{ .Values.replicaCount }}
"""


def _overlay(values: str) -> str:
    """The overlay part of a wrapper's values.yaml (everything after the upstream block)."""
    return values.split("# Overlay passed to the upstream chart.\n", 1)[1]


def upstream_values(name: str, minor: int) -> bytes:
    return ("# Defaults of the synthetic upstream.\n" + _overlay(
        VALUES.format(name=name, minor=minor)) + "extraEnv: []\n").encode()


def upstream_chart(name: str, minor: int) -> bytes:
    """The synthetic upstream chart's .tgz: the same bytes every time."""
    files = {
        "Chart.yaml": UPSTREAM_CHART.format(name=name, minor=minor),
        "values.yaml": upstream_values(name, minor).decode(),
        "templates/deployment.yaml": UPSTREAM_TEMPLATE,
    }
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for path, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"up-{name}/{path}")
            info.size, info.mtime, info.mode = len(data), 1704067200, 0o644
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


def generate(out: Path, count: int, cache: Path | None = None, *,
             summaries: bool = True) -> list[Path]:
    """The blueprints; with `cache`, their upstream charts stored as `upstream fetch` does.

    That is, each archive with its summary beside it (bpkit.upstream.summary);
    `summaries=False` leaves the charts alone, as a cache filled by hand or by
    an older bpkit is.
    """
    chart_cache = ChartCache(cache) if cache is not None else None
    folders = []
    for index in range(count):
        name = f"bp{index:04d}"
        folder = out / "platform" / name
        (folder / "chart").mkdir(parents=True, exist_ok=True)
        minor = index % 7
        # Each blueprint depends on up to two earlier ones: an acyclic graph.
        deps = "".join(f"    - {{ blueprint: bp-bp{d:04d}, version: ^1.0 }}\n"
                       for d in (index - 1, index // 2) if 0 <= d < index)
        (folder / "chart" / "Chart.yaml").write_text(CHART.format(name=name, minor=minor))
        (folder / "chart" / "values.yaml").write_text(VALUES.format(name=name, minor=minor))
        (folder / "blueprint.yaml").write_text(BLUEPRINT.format(
            name=name, minor=minor, index=index, depends=deps or "    []\n"))
        tgz = upstream_chart(name, minor)
        digest = hashlib.sha256(tgz).hexdigest()
        if chart_cache is not None:
            chart_cache.put(tgz)
            if summaries:
                ensure_summary(chart_cache.root, f"sha256:{digest}", tgz, f"up-{name}",
                               f"2.{minor}.1")
        (folder / LOCK_FILE).write_bytes(dump_lock(UpstreamLock(
            chart=f"up-{name}", version=f"2.{minor}.1", repo=f"https://charts.example.com/{name}",
            digest=f"sha256:{digest}", app_version=f"9.{minor}.0", type="application",
            values_digest="sha256:" + hashlib.sha256(upstream_values(name, minor)).hexdigest(),
            schema_digest=None)))
        folders.append(folder)
    return folders


def _git(root: Path, *args: str, date: str) -> None:
    # A fixed identity and no user or system config: the same history every time.
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com",
           "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
    subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)


def commit_history(out: Path, folders: list[Path], batches: int = 10) -> None:
    """Make OUT a git repository whose blueprints were committed over several days."""
    _git(out, "init", "-q", date="2024-01-01T00:00:00Z")
    size = max(1, -(-len(folders) // batches))
    for number, start in enumerate(range(0, len(folders), size)):
        batch = [str(f.relative_to(out)) for f in folders[start:start + size]]
        date = f"2024-01-{number + 2:02d}T12:00:00Z"
        _git(out, "add", "--", *batch, date=date)
        _git(out, "commit", "-q", "-m", f"Add blueprints {batch[0]}..{batch[-1]}", date=date)
    touched = folders[::7]
    for folder in touched:
        with (folder / "chart" / "values.yaml").open("a") as values:
            values.write("# Reviewed for the 2024-02 upgrade.\n")
    if touched:
        _git(out, "commit", "-q", "-a", "-m", "Review every seventh blueprint",
             date="2024-02-01T09:30:00Z")


def compile_bpkit() -> None:
    """Bytecode for bpkit's modules, as `pip install` leaves it (every bench calls this first).

    Under PYTHONDONTWRITEBYTECODE (set on these machines) a source checkout
    never gets its .pyc files, and every timed run compiled every module it
    imported: 60-80 ms of a 0.1 s warm lint.
    """
    import compileall

    compileall.compile_dir(Path(__file__).resolve().parent.parent / "bpkit", quiet=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("count", type=int)
    parser.add_argument("--git", action="store_true",
                        help="make OUT a git repository with a dated history")
    parser.add_argument("--cache", type=Path, metavar="DIR",
                        help="store the upstream charts in this bpkit cache folder "
                             "(use it as $BPKIT_CACHE_DIR)")
    opts = parser.parse_args()
    folders = generate(opts.out, opts.count, opts.cache)
    if opts.git:
        commit_history(opts.out, folders)


if __name__ == "__main__":
    main()
