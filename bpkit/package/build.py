"""lint -> reproducible chart archive -> Helm OCI artifact, for one blueprint.

The step between linting and publishing: nothing here talks to a registry.
The release mode (overlay or bundle, see `bpkit.package.bundle`) decides
what is added to the wrapper's files; a wrapper with the no-upstream
opt-out is packaged as it is (mode `standalone`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bpkit.errors import BpkitError, GitError, LintFailed, PackageError, UsageError
from bpkit.helm import tgz
from bpkit.helm.chartfiles import collect
from bpkit.history.epoch import source_date, source_dates
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
from bpkit.source.discover import find_repo_root
from bpkit.source.model import Blueprint
from bpkit.text import show_path
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


def packable(bp: Blueprint, problems: Sequence[Problem]) -> bool:
    """Whether `build_package` gets as far as the timestamp (lint clean, a Chart.yaml)."""
    return (not any(p.is_error for p in problems) and bp.chart is not None
            and isinstance(bp.chart.data, dict))


def epochs_for(blueprints: Sequence[Blueprint]) -> dict[Path, tuple[int, str]]:
    """Every blueprint's timestamp from one git walk; {} when one of them cannot have one.

    On a shallow clone that cut a folder's history, `build_package` asks
    blueprint by blueprint, so each failure is reported where it belongs.
    """
    if not blueprints:
        return {}
    try:
        return source_dates(bp.path for bp in blueprints)
    except GitError:
        return {}


def build_package(bp: Blueprint, problems: Sequence[Problem], *, mode: str = MODE_OVERLAY,
                  cache: ChartCache | None = None, root: Path | None = None,
                  known_epoch: tuple[int, str] | None = None) -> Package:
    """Package a linted blueprint in `mode`; LintFailed if its lint found errors.

    Bundle mode reads `upstream.lock` and the cached upstream archive
    (`cache`, default the user's chart cache) and refuses without them.
    `known_epoch`: the timestamp and its source, when already known (`epochs_for`).
    The chart folder must resolve inside `root`, the repository (default:
    the nearest folder above the blueprint holding `.git`, else the
    blueprint folder). The CLI passes its repository root, so a blueprint
    folder that is itself a link out of the repository is refused too.
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
    epoch, source = source_date(bp.path) if known_epoch is None else known_epoch
    upstream = _strings(bp.upstream if not bp.no_upstream else None)
    meta: dict[str, object] = dict(bp.chart.data)
    digest = None
    try:
        tgz.archive_name(name, version)
        entries = collect(bp.chart_dir, within=root or find_repo_root(bp.path))
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
        data, tar = tgz.pack_both(entries, name=name, mtime=epoch)
    except PackageError as exc:  # its paths are relative to the chart folder: say which
        if exc.message.startswith(bp.display):
            raise
        raise PackageError(f"{display_path(bp.chart_dir)}: {exc.message}") from None
    try:
        artifact = build_artifact(meta, data, created_epoch=epoch, upstream=upstream,
                                  mode=mode, upstream_digest=digest, content=tar)
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


def check_out_dir(out_dir: Path, blueprints: Sequence[Blueprint], *,
                  option: str = "--out") -> None:
    """Refuse an output folder inside a chart folder: the next run would package its archives."""
    out = Path(os.path.realpath(out_dir))
    for bp in blueprints:
        chart = Path(os.path.realpath(bp.chart_dir))
        if out == chart or out.is_relative_to(chart):
            raise UsageError(f"{option} {show_path(str(out_dir))}: inside the chart folder "
                             f"{display_path(bp.chart_dir)}; choose a folder outside it")


def write_archive(package: Package, out_dir: Path) -> Path:
    """Write the .tgz atomically; an identical existing file is left alone.

    The bytes go to a temporary file that `mkstemp` creates exclusively
    (O_CREAT|O_EXCL, an unpredictable name) in the output folder, then
    renamed over the target: a link planted at a guessable name cannot
    redirect the write, and a reader never sees half an archive. An output
    folder that cannot be written is a PackageError naming it.
    """
    target = out_dir / package.archive_name
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        if _same_bytes(target, package.archive):
            return target
        fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=f".{package.archive_name}.",
                                   suffix=".tmp")
    except OSError as exc:
        raise PackageError(f"{show_path(str(out_dir))}: cannot write there: "
                           f"{exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(package.archive)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644 & ~_umask())
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise PackageError(f"{show_path(str(target))}: cannot write it: "
                               f"{exc.strerror or exc}") from None
        raise
    return target


def _same_bytes(target: Path, data: bytes) -> bool:
    """Whether `target` is a regular file (not a link) holding exactly `data`."""
    try:
        fd = os.open(target, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size != len(data):
            return False
        with os.fdopen(os.dup(fd), "rb") as f:
            return f.read(len(data) + 1) == data
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
