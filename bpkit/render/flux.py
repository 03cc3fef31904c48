"""Flux manifests for blueprints: what a cluster needs to install what a release names.

Per blueprint, one source and one HelmRelease, both in the Flux namespace:

- bundle mode: an `OCIRepository` of the published `bp-<name>` artifact
  (which carries the upstream chart inside) and a HelmRelease with
  `chartRef` to it;
- overlay mode: the upstream chart's own source (a `HelmRepository` for an
  https:// repository, an `OCIRepository` for an oci:// one) and a
  HelmRelease of the upstream chart at the pinned version with the
  wrapper's overlay as `values`, so Flux does the installer's job.

A blueprint with the `no-upstream` opt-out is its own install unit and is
rendered as in bundle mode whatever the mode. The HelmRelease and the Helm
release are named after the blueprint (`bp-cert-manager`) in both modes, so
`dependsOn` is `spec.depends[].blueprint` as written, and switching modes
keeps the release (and the names Helm derives from it).
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bpkit.errors import EXIT_PROBLEMS, BpkitError, UsageError
from bpkit.problem import Level, Problem
from bpkit.render._yaml import EmitError, dump_documents
from bpkit.settings import UPSTREAM_MODES, Settings
from bpkit.source.model import Blueprint

#: The Helm chart layer of an OCI artifact: what Flux copies for helm-controller.
HELM_CHART_LAYER = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
DEFAULT_NAMESPACE = "flux-system"
#: Sources are pinned to one version, so a rare re-check is enough; the
#: release interval is how often Flux corrects drift in the cluster.
DEFAULT_SOURCE_INTERVAL = "1h"
DEFAULT_RELEASE_INTERVAL = "10m"
DEFAULT_RETRIES = 3
UPSTREAM_KEY = "catalystBlueprint"
MANAGED_BY = "bpkit"
LABEL_BLUEPRINT = "catalyst.openova.io/blueprint"
LABEL_MODE = "catalyst.openova.io/upstream-mode"
ANNOTATION_PREFIX = "io.openova.catalyst.upstream."
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")
_INTERVAL = re.compile(r"([0-9]+(\.[0-9]+)?(ms|s|m|h))+")


@dataclass(frozen=True)
class FluxApi:
    """The API versions one Flux release serves (read from its CRDs)."""

    flux: str
    source_controller: str
    helm_controller: str
    oci_repository: str
    helm_repository: str
    helm_release: str


#: Flux 2.4 still serves OCIRepository only as v1beta2 (v1 came with 2.6);
#: Flux 2.9 serves v1 and has dropped the v1beta2 source APIs.
FLUX_APIS = {
    "2.4": FluxApi("2.4", "v1.4.1", "v1.1.0", "source.toolkit.fluxcd.io/v1beta2",
                   "source.toolkit.fluxcd.io/v1", "helm.toolkit.fluxcd.io/v2"),
    "2.9": FluxApi("2.9", "v1.9.1", "v1.6.3", "source.toolkit.fluxcd.io/v1",
                   "source.toolkit.fluxcd.io/v1", "helm.toolkit.fluxcd.io/v2"),
}
DEFAULT_FLUX = "2.9"


class RenderError(BpkitError):
    """A blueprint lacks what its manifests need (exit 1, names the file)."""

    exit_code = EXIT_PROBLEMS


@dataclass(frozen=True)
class FluxOptions:
    """Everything `bpkit render flux` can be told; the defaults are the documented ones."""

    flux: str = DEFAULT_FLUX
    registry: str | None = None  # oci://HOST/NAMESPACE: where bp-<name> artifacts live
    mode: str | None = None  # one mode for every blueprint, else the settings' per path
    namespace: str = DEFAULT_NAMESPACE
    target_namespace: str | None = None
    secret_ref: str | None = None  # pull secret for the bp-<name> artifacts
    source_interval: str = DEFAULT_SOURCE_INTERVAL
    release_interval: str = DEFAULT_RELEASE_INTERVAL


@dataclass(frozen=True)
class Rendered:
    """One blueprint's manifests: the objects and the exact text written for them."""

    blueprint: Blueprint
    mode: str
    objects: tuple[dict[str, Any], ...]
    text: str

    @property
    def filename(self) -> str:
        return f"{self.blueprint.name}.yaml"


@dataclass
class RenderResult:
    """What a run rendered, and the blueprints lint stopped (with its problems)."""

    rendered: list[Rendered]
    problems: list[Problem]  # from lint: errors and warnings
    refused: list[Blueprint]  # lint errors: not rendered

    @property
    def failed(self) -> bool:
        return bool(self.refused)


@dataclass(frozen=True)
class Drift:
    """A committed manifest that is not what bpkit renders now."""

    path: Path
    line: int  # first differing line, 1-based; 0 when the file is missing
    message: str
    diff: str  # unified diff, committed -> rendered


def render_paths(paths: Sequence[str | Path], settings: Settings,
                 options: FluxOptions) -> RenderResult:
    """Lint the blueprints PATHS name and render those without lint errors.

    A blueprint with errors is not rendered: manifests from a wrapper that
    names no usable upstream would install nothing, or the wrong thing.
    """
    from bpkit.lint.engine import lint_paths
    from bpkit.lint.paths import Owners

    _check_options(options)
    result = lint_paths(paths, settings)
    if result.outside:
        raise UsageError(f"{result.outside[0]}: not inside a blueprint folder")
    if not result.blueprints:
        raise UsageError("no blueprints to render")
    owner = Owners(bp.path for bp in result.blueprints)
    with_errors = {owner(p.path) for p in result.problems if p.level is Level.ERROR}
    clean = [bp for bp in result.blueprints if bp.path not in with_errors]
    refused = [bp for bp in result.blueprints if bp.path in with_errors]
    return RenderResult(render_flux(clean, settings, options), result.problems, refused)


def render_flux(blueprints: Sequence[Blueprint], settings: Settings,
                options: FluxOptions) -> list[Rendered]:
    """Render every blueprint, or raise before any output when the options cannot work."""
    api = _check_options(options)
    modes = [(bp, effective_mode(bp, settings, options)) for bp in blueprints]
    registry_ref = None
    needs_registry = [bp.name for bp, mode in modes if mode == "bundle"]
    if needs_registry:
        if not options.registry:
            names = ", ".join(needs_registry)
            raise UsageError(
                f"bundle mode needs the registry the bp-<name> artifacts are published to: "
                f"pass --registry oci://HOST/NAMESPACE, or set BPKIT_REGISTRY or "
                f"[tool.bpkit] registry (in bundle mode: {names})")
        from bpkit.oci.reference import parse_registry

        registry_ref = parse_registry(options.registry)
    out = []
    for bp, mode in modes:
        if mode == "bundle":
            assert registry_ref is not None
            url = f"oci://{registry_ref.host}/{registry_ref.repository(_release_name(bp))}"
            objects = _bundle(bp, api, options, url)
        else:
            objects = _overlay(bp, api, options)
        try:
            text = dump_documents(objects, _header(bp, settings, mode, api))
        except EmitError as exc:
            raise RenderError(f"{_values_display(bp)}: cannot render: {exc}") from None
        out.append(Rendered(bp, mode, tuple(objects), text))
    return out


def effective_mode(bp: Blueprint, settings: Settings, options: FluxOptions) -> str:
    """`bundle` when the artifact itself is installed, else `overlay`."""
    if bp.no_upstream:
        return "bundle"  # nothing upstream: the wrapper is the install unit
    return options.mode or settings.mode_for(bp.path)


def _check_options(options: FluxOptions) -> FluxApi:
    api = FLUX_APIS.get(options.flux)
    if api is None:
        raise UsageError(f"--flux {options.flux!r}: choose one of {', '.join(FLUX_APIS)}")
    if options.mode is not None and options.mode not in UPSTREAM_MODES:
        raise UsageError(f"--mode {options.mode!r}: choose overlay or bundle")
    for flag, value in (("--namespace", options.namespace),
                        ("--target-namespace", options.target_namespace)):
        if value is not None and not _DNS_LABEL.fullmatch(value):
            raise UsageError(f"{flag} {value!r} is not a Kubernetes namespace name "
                             "(lower-case letters, digits and '-', at most 63)")
    if options.secret_ref is not None and not _DNS_SUBDOMAIN.fullmatch(options.secret_ref):
        raise UsageError(f"--secret-ref {options.secret_ref!r} is not a Kubernetes Secret name")
    for flag, value in (("source interval", options.source_interval),
                        ("release interval", options.release_interval)):
        if not _INTERVAL.fullmatch(value):
            raise UsageError(f"{flag} {value!r} is not a duration such as 10m or 1h")
    return api


# --------------------------------------------------------------------------- objects


def _release_name(bp: Blueprint) -> str:
    name = bp.release_name or bp.expected_chart_name
    if not _DNS_LABEL.fullmatch(name):
        raise RenderError(f"{bp.display}: {name!r} cannot name a HelmRelease "
                          "(lower-case letters, digits and '-', at most 63)")
    return name


def _metadata(bp: Blueprint, name: str, options: FluxOptions, mode: str) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": options.namespace,
        "labels": {
            "app.kubernetes.io/managed-by": MANAGED_BY,
            LABEL_BLUEPRINT: _release_name(bp),
            LABEL_MODE: mode,
        },
    }


def _oci_repository(api: FluxApi, metadata: dict[str, Any], url: str, tag: str,
                    interval: str, secret_ref: str | None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "interval": interval,
        "url": url,
        "ref": {"tag": tag},
        "layerSelector": {"mediaType": HELM_CHART_LAYER, "operation": "copy"},
    }
    if secret_ref is not None:
        spec["secretRef"] = {"name": secret_ref}
    return {"apiVersion": api.oci_repository, "kind": "OCIRepository", "metadata": metadata,
            "spec": spec}


def _helm_release(bp: Blueprint, api: FluxApi, options: FluxOptions, mode: str,
                  chart: dict[str, Any], values: dict[str, Any] | None) -> dict[str, Any]:
    name = _release_name(bp)
    metadata = _metadata(bp, name, options, mode)
    upstream = _upstream(bp) if not bp.no_upstream else None
    if upstream is not None:
        metadata["annotations"] = {ANNOTATION_PREFIX + key: upstream[key]
                                   for key in ("chart", "version", "repo")}
    spec: dict[str, Any] = {"interval": options.release_interval, "releaseName": name}
    spec.update(chart)
    if options.target_namespace is not None:
        spec["targetNamespace"] = options.target_namespace
    depends = _depends_on(bp)
    if depends:
        spec["dependsOn"] = [{"name": d} for d in depends]
    install: dict[str, Any] = {"remediation": {"retries": DEFAULT_RETRIES}}
    if options.target_namespace is not None:
        install["createNamespace"] = True
    spec["install"] = install
    # Helm never touches CRDs on upgrade by default: an upstream bump would
    # keep the old CRDs. CreateReplace applies the chart's new ones.
    spec["upgrade"] = {"crds": "CreateReplace", "remediation": {"retries": DEFAULT_RETRIES}}
    if values:
        spec["values"] = values
    return {"apiVersion": api.helm_release, "kind": "HelmRelease", "metadata": metadata,
            "spec": spec}


def _bundle(bp: Blueprint, api: FluxApi, options: FluxOptions, url: str) -> list[dict[str, Any]]:
    name = _release_name(bp)
    version = bp.version
    if version is None:
        raise RenderError(f"{bp.display}: chart/Chart.yaml has no version to pin")
    source = _oci_repository(api, _metadata(bp, name, options, "bundle"), url,
                             oci_tag(version), options.source_interval, options.secret_ref)
    chart = {"chartRef": {"kind": "OCIRepository", "name": name}}
    return [source, _helm_release(bp, api, options, "bundle", chart, None)]


def _overlay(bp: Blueprint, api: FluxApi, options: FluxOptions) -> list[dict[str, Any]]:
    upstream = _upstream(bp)
    if upstream is None:
        raise RenderError(f"{_values_display(bp)}: no usable catalystBlueprint.upstream block "
                          "(chart, version, repo); `bpkit lint` says why")
    source_name = f"{_release_name(bp)}-upstream"
    metadata = _metadata(bp, source_name, options, "overlay")
    repo = upstream["repo"].rstrip("/")
    if "@" in urlsplit(repo).netloc:
        # Never into a manifest, never echoed: `bpkit lint` (upstream-repo) says the same.
        raise RenderError(f"{_values_display(bp)}: the upstream repo contains credentials")
    chart: dict[str, Any]
    if repo.startswith("oci://"):
        # Flux's recommendation for OCI charts (source-controller docs): an
        # OCIRepository of the chart itself and `chartRef`, no HelmChart.
        source = _oci_repository(api, metadata, f"{repo}/{upstream['chart']}",
                                 oci_tag(upstream["version"]), options.source_interval, None)
        chart = {"chartRef": {"kind": "OCIRepository", "name": source_name}}
    else:
        source = {"apiVersion": api.helm_repository, "kind": "HelmRepository",
                  "metadata": metadata,
                  "spec": {"interval": options.source_interval, "url": repo}}
        chart = {"chart": {"spec": {
            "chart": upstream["chart"],
            "version": upstream["version"],
            "sourceRef": {"kind": "HelmRepository", "name": source_name},
        }}}
    return [source, _helm_release(bp, api, options, "overlay", chart, overlay_values(bp))]


def oci_tag(version: str) -> str:
    """Helm's OCI tag for a chart version: `+` is not allowed in tags."""
    return version.replace("+", "_")


def _upstream(bp: Blueprint) -> dict[str, str] | None:
    block = bp.upstream
    if block is None:
        return None
    values = {key: block.get(key) for key in ("chart", "version", "repo")}
    if not all(isinstance(v, str) and v for v in values.values()):
        return None
    return {k: str(v) for k, v in values.items()}


def overlay_values(bp: Blueprint) -> dict[str, Any]:
    """values.yaml without the `catalystBlueprint` block: what the upstream chart gets."""
    data = bp.values.data if bp.values is not None else None
    if not isinstance(data, dict):
        return {}
    return {key: value for key, value in data.items() if key != UPSTREAM_KEY}


def _depends_on(bp: Blueprint) -> list[str]:
    depends = bp.spec.get("depends")
    names: list[str] = []
    if isinstance(depends, list):
        for entry in depends:
            target = entry.get("blueprint") if isinstance(entry, dict) else None
            if isinstance(target, str) and target not in names:
                names.append(target)
    return names


def _values_display(bp: Blueprint) -> str:
    return bp.values.display if bp.values is not None else bp.display


def _header(bp: Blueprint, settings: Settings, mode: str, api: FluxApi) -> str:
    try:
        where = bp.path.relative_to(settings.root).as_posix()
    except ValueError:
        where = bp.name
    if not where.isprintable():
        where = ascii(where)
    return (f"# Rendered by `bpkit render flux` from {where} ({mode} mode, Flux {api.flux}:\n"
            f"# source-controller {api.source_controller}, helm-controller "
            f"{api.helm_controller}). Do not edit: change the blueprint and render again.\n")


# --------------------------------------------------------------------------- files


def write_manifests(rendered: Iterable[Rendered], out_dir: Path) -> list[Path]:
    """One file per blueprint; unchanged files are left alone (mtimes stay)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for item in rendered:
        path = out_dir / item.filename
        data = item.text.encode("utf-8")
        try:
            if path.read_bytes() == data:
                written.append(path)
                continue
        except OSError:
            pass
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
        written.append(path)
    return written


def check_manifests(rendered: Iterable[Rendered], committed_dir: Path) -> list[Drift]:
    """Committed manifests that differ from what bpkit renders now (missing ones too)."""
    drift = []
    for item in rendered:
        path = committed_dir / item.filename
        try:
            found = path.read_bytes().decode("utf-8", errors="replace")
        except FileNotFoundError:
            drift.append(Drift(path, 0, "missing: run `bpkit render flux --out "
                                        f"{committed_dir}` to write it", ""))
            continue
        except OSError as exc:
            drift.append(Drift(path, 0, f"cannot read: {exc.strerror}", ""))
            continue
        if found == item.text:
            continue
        old = found.splitlines(keepends=True)
        new = item.text.splitlines(keepends=True)
        line = next((i + 1 for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b),
                    min(len(old), len(new)) + 1)
        shown = new[line - 1].rstrip("\n") if line <= len(new) else "(end of file)"
        diff = "".join(difflib.unified_diff(old, new, f"{path} (committed)",
                                            f"{path} (rendered)"))
        drift.append(Drift(path, line, f"differs from what bpkit renders from line {line}: "
                                       f"expected {shown.strip()!r}", diff))
    return drift


__all__ = [
    "DEFAULT_FLUX",
    "FLUX_APIS",
    "Drift",
    "FluxOptions",
    "RenderError",
    "RenderResult",
    "Rendered",
    "check_manifests",
    "render_flux",
    "render_paths",
    "write_manifests",
]
