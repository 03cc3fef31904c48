"""lint -> reproducible chart archive -> Helm OCI artifact, for one blueprint.

The step between linting and publishing: nothing here talks to a registry.
The release mode (overlay or bundle, see `bpkit.package.bundle`) decides
what is added to the wrapper's files; a wrapper with the no-upstream
opt-out is packaged as it is (mode `standalone`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bpkit.errors import BpkitError, LintFailed, PackageError, UsageError
from bpkit.helm import tgz
from bpkit.helm.chartfiles import collect
from bpkit.history.epoch import source_date
from bpkit.oci.artifact import (
    MODE_BUNDLE,
    MODE_OVERLAY,
    MODE_STANDALONE,
    Artifact,
    build_artifact,
)
from bpkit.package.bundle import (
    bundle_entries,
    guard_template,
    load_bundle,
    read_usable_lock,
    with_guard,
)
from bpkit.problem import Problem
from bpkit.source.model import Blueprint
from bpkit.upstream.cache import ChartCache
from bpkit.yamlio.load import display_path

#: What `--mode` and `[tool.bpkit] upstream-mode` accept.
REQUESTED_MODES = (MODE_OVERLAY, MODE_BUNDLE)


@dataclass
class Package:
    """A blueprint ready to publish: its archive and its OCI artifact."""

    blueprint: Blueprint
    archive_name: str
    archive: bytes
    artifact: Artifact
    epoch: int
    epoch_source: str  # "SOURCE_DATE_EPOCH", "git commit abc123", "default epoch"
    problems: list[Problem] = field(default_factory=list)  # warnings that did not stop it
    mode: str = MODE_OVERLAY  # what the release is: overlay, bundle or standalone
    upstream_digest: str | None = None  # from upstream.lock

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.archive).hexdigest()

    @property
    def name(self) -> str:
        return self.artifact.name

    @property
    def version(self) -> str:
        return self.blueprint.version or ""


def build_package(bp: Blueprint, problems: Sequence[Problem], *, mode: str = MODE_OVERLAY,
                  cache: ChartCache | None = None) -> Package:
    """Package a linted blueprint in `mode`; LintFailed if its lint found errors.

    Bundle mode reads `upstream.lock` and the cached upstream archive
    (`cache`, default the user's chart cache) and refuses without them.
    """
    if mode not in REQUESTED_MODES:
        raise UsageError(f"release mode {mode!r}: expected overlay or bundle")
    errors = [p for p in problems if p.is_error]
    if errors:
        raise LintFailed(f"{bp.display}: not packaged, lint found {len(errors)} "
                         f"error{'s' if len(errors) != 1 else ''}")
    if bp.chart is None or not isinstance(bp.chart.data, dict):  # lint reports this
        raise LintFailed(f"{bp.display}: no usable Chart.yaml")
    name, version = bp.chart_name, bp.chart_version
    assert name is not None and version is not None  # guaranteed by a clean lint
    epoch, source = source_date(bp.path)
    upstream = _strings(bp.upstream if not bp.no_upstream else None)
    meta: dict[str, object] = dict(bp.chart.data)
    digest = None
    try:
        tgz.archive_name(name, version)
        entries = collect(bp.chart_dir)
        if bp.no_upstream:
            mode = MODE_STANDALONE
        elif mode == MODE_BUNDLE:
            bundle = load_bundle(bp.path, upstream)
            entries, meta = bundle_entries(entries, meta, bundle, epoch)
            digest = bundle.lock.digest
        else:
            entries = with_guard(entries, guard_template(name, version, upstream or {}))
            lock = read_usable_lock(bp.path, upstream)
            digest = lock.digest if lock is not None else None
        data = tgz.pack(entries, name=name, mtime=epoch)
    except PackageError as exc:  # its paths are relative to the chart folder: say which
        if exc.message.startswith(bp.display):
            raise
        raise PackageError(f"{display_path(bp.chart_dir)}: {exc.message}") from None
    try:
        artifact = build_artifact(meta, data, created_epoch=epoch, upstream=upstream,
                                  mode=mode, upstream_digest=digest)
    except BpkitError as exc:
        raise type(exc)(f"{bp.display}: {exc.message}") from None
    return Package(blueprint=bp, archive_name=tgz.archive_name(name, version), archive=data,
                   artifact=artifact, epoch=epoch, epoch_source=source,
                   problems=[p for p in problems if not p.is_error], mode=mode,
                   upstream_digest=digest)


def _strings(upstream: dict[str, object] | None) -> dict[str, str] | None:
    if upstream is None:
        return None
    return {k: v for k, v in upstream.items() if isinstance(v, str)}


def write_archive(package: Package, out_dir: Path) -> Path:
    """Write the .tgz atomically; an identical existing file is left alone."""
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / package.archive_name
    if target.is_file() and target.read_bytes() == package.archive:
        return target
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_bytes(package.archive)
    tmp.replace(target)
    return target
