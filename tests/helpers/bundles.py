"""Builders for bundle-mode blueprints: a synthetic upstream chart, its lock and the cache."""

from __future__ import annotations

import hashlib
from pathlib import Path

from bpkit.helm import tgz
from bpkit.helm.chartfiles import Entry
from bpkit.source.lock import LOCK_FILE, UpstreamLock, dump_lock
from bpkit.upstream.cache import ChartCache
from tests.helpers.blueprints import write_blueprint

UPSTREAM = ("demo", "1.2.3", "https://charts.example.com")
# The upstream's one template needs a value only the overlay sets: Helm's lint says
# "demo.message is required" unless the overlay reaches the subchart.
REQUIRED_TEMPLATE = (
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-demo\n"
    "data:\n  message: {{ required \"demo.message is required\" .Values.message | quote }}\n"
)
OVERLAY = "demo:\n  message: hello from the overlay\n"


def upstream_chart(name: str = "demo", version: str = "1.2.3", *, kind: str = "application",
                   templates: dict[str, str] | None = None) -> bytes:
    """A chart archive as an upstream repository would serve it."""
    if templates is None:
        templates = {"templates/configmap.yaml": REQUIRED_TEMPLATE}
    chart = f"apiVersion: v2\nname: {name}\nversion: {version}\ntype: {kind}\n"
    entries = [Entry("Chart.yaml", chart.encode()), Entry("values.yaml", b"message: null\n")]
    entries += [Entry(path, text.encode()) for path, text in sorted(templates.items())]
    return tgz.pack(entries, name=name, mtime=1_600_000_000)


def lock_for(data: bytes, chart: str = "demo", version: str = "1.2.3",
             repo: str = "https://charts.example.com", kind: str = "application"
             ) -> UpstreamLock:
    return UpstreamLock(chart=chart, version=version, repo=repo,
                        digest="sha256:" + hashlib.sha256(data).hexdigest(), app_version=None,
                        type=kind, values_digest=None, schema_digest=None)


def write_bundle_blueprint(root: Path, cache_dir: Path, name: str = "demo", *,
                           data: bytes | None = None, overlay: str = OVERLAY,
                           lock: bool = True, cached: bool = True,
                           upstream: tuple[str, str, str] = UPSTREAM) -> Path:
    """platform/<name> naming `demo`, with templates/NOTES.txt (Helm lint renders nothing
    in a chart without templates/), its upstream.lock and the archive in the cache."""
    data = upstream_chart(upstream[0], upstream[1]) if data is None else data
    folder = write_blueprint(root, name, upstream=upstream)
    values = folder / "chart" / "values.yaml"
    values.write_text(values.read_text().replace("replicaCount: 1\n", overlay))
    (folder / "chart" / "templates").mkdir(exist_ok=True)
    (folder / "chart" / "templates" / "NOTES.txt").write_text("{{ .Chart.Name }} installed\n")
    if lock:
        (folder / LOCK_FILE).write_bytes(dump_lock(lock_for(data, *upstream)))
    if cached:
        ChartCache(cache_dir).put(data)
    return folder
