"""Builders for blueprint trees in temporary folders (the tests' own fixtures)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

UPSTREAMS = {
    "flux": ("flux2", "2.13.0", "https://fluxcd-community.github.io/helm-charts"),
    "cert-manager": ("cert-manager", "1.16.2", "https://charts.jetstack.io"),
}


def chart_yaml(name: str, version: str = "1.0.0", extra: str = "") -> str:
    return (f"apiVersion: v2\nname: bp-{name}\nversion: {version}\ntype: application\n"
            f"description: Catalyst wrapper for {name}.\n{extra}")


def values_yaml(chart: str, version: str, repo: str, overlay: str = "replicaCount: 1\n") -> str:
    return (f'catalystBlueprint:\n  upstream: {{ chart: {chart}, version: "{version}", '
            f'repo: "{repo}" }}\n{overlay}')


def blueprint_yaml(name: str, version: str = "1.0.0", depends: str = "") -> str:
    text = (f"apiVersion: catalyst.openova.io/v1alpha1\nkind: Blueprint\n"
            f"metadata:\n  name: bp-{name}\nspec:\n  version: {version}\n"
            f"  card:\n    title: {name}\n  visibility: unlisted\n"
            f"  manifests:\n    chart: ./chart\n")
    if depends:
        text += "  depends:\n" + depends
    return text


def write_blueprint(root: Path, name: str, *, version: str = "1.0.0",
                    upstream: tuple[str, str, str] | None = None, depends: str = "",
                    group: str = "platform", locked: bool = True) -> Path:
    """A clean blueprint; `locked`: with an upstream.lock and its (synthetic) chart cached,
    as after `bpkit upstream lock` and `fetch` (tests of `lock` itself start without)."""
    folder = root / group / name
    (folder / "chart").mkdir(parents=True, exist_ok=True)
    chart, up_version, repo = upstream or UPSTREAMS.get(name, (name, "1.0.0", "https://charts.example.com"))
    (folder / "blueprint.yaml").write_text(blueprint_yaml(name, version, depends))
    (folder / "chart" / "Chart.yaml").write_text(chart_yaml(name, version))
    (folder / "chart" / "values.yaml").write_text(values_yaml(chart, up_version, repo))
    if locked:
        import contextlib

        from bpkit.errors import PackageError

        # A chart name no archive can have gets no lock (`bpkit upstream lock` would fail too).
        with contextlib.suppress(PackageError):
            lock_blueprint(folder, chart, up_version, repo)
    return folder


def write_tree(root: Path) -> Path:
    """A clean two-blueprint monorepo: platform/flux and platform/cert-manager."""
    write_blueprint(root, "cert-manager")
    write_blueprint(root, "flux")
    return root


def upstream_chart(chart: str, version: str, *, values: str | None = "",
                   schema: dict[str, Any] | None = None, app_version: str | None = None,
                   extra_chart_yaml: str = "") -> bytes:
    """A synthetic upstream chart archive (the same bytes for the same arguments).

    The default, an empty values.yaml and no schema, defines no keys and so
    accepts any overlay: what most tests need from "a locked, fetched upstream".
    """
    from bpkit.helm.chartfiles import Entry
    from bpkit.helm.tgz import pack

    meta = f"apiVersion: v2\nname: {chart}\nversion: {version}\ntype: application\n"
    if app_version is not None:
        meta += f'appVersion: "{app_version}"\n'
    entries = [Entry("Chart.yaml", (meta + extra_chart_yaml).encode())]
    if values is not None:
        entries.append(Entry("values.yaml", values.encode()))
    if schema is not None:
        entries.append(Entry("values.schema.json", json.dumps(schema, indent=2).encode()))
    entries.append(Entry("templates/configmap.yaml",
                         b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"))
    return pack(entries, name=chart, mtime=315532800)


def lock_blueprint(folder: Path, chart: str, version: str, repo: str, *,
                   data: bytes | None = None, cache: Path | None = None) -> Path:
    """Write `folder/upstream.lock` for a synthetic upstream and put that chart in the cache,
    as `bpkit upstream lock` and `bpkit upstream fetch` would have."""
    from bpkit.source.lock import LOCK_FILE, UpstreamLock, write_lock
    from bpkit.upstream.cache import ChartCache

    if data is None:
        data = upstream_chart(chart, version)
    digest = ChartCache(cache).put(data)

    def sha(name: str) -> str | None:
        from bpkit.helm.tgz import inspect

        for member in inspect(data, keep=lambda p: p == name):
            if member.path == name and member.data is not None:
                return "sha256:" + hashlib.sha256(member.data).hexdigest()
        return None

    lock = UpstreamLock(chart=chart, version=version, repo=repo, digest=digest,
                        app_version=None, type="application",
                        values_digest=sha("values.yaml"), schema_digest=sha("values.schema.json"))
    write_lock(folder / LOCK_FILE, lock)
    return folder / LOCK_FILE


def relock(folder: Path) -> None:
    """Re-lock a blueprint to what its values.yaml names now (as `bpkit upstream lock`)."""
    from bpkit.errors import PackageError
    from bpkit.source.lock import LOCK_FILE
    from bpkit.source.model import load_blueprint

    bp = load_blueprint(folder)
    upstream = bp.upstream or {}
    fields = [upstream.get(k) for k in ("chart", "version", "repo")]
    if not bp.no_upstream and all(isinstance(f, str) for f in fields):
        chart, version, repo = fields
        try:
            lock_blueprint(folder, chart, version, repo)
            return
        except PackageError:
            pass  # a name no chart can have: resolving would fail, so no lock
    (folder / LOCK_FILE).unlink(missing_ok=True)
