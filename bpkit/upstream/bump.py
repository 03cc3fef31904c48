"""`bpkit upstream bump`: move a wrapper to another upstream version, as a release.

Three files change together, each edited in place (`bpkit.yamlio.edit`) so
comments, quoting and layout stay: the upstream `version` in values.yaml,
Chart.yaml `version` and blueprint.yaml `spec.version` (raised by the same
part as the upstream moved: patch, minor or major), and, when the wrapper's
Chart.yaml `appVersion` mirrored the old upstream's, that too. The lock is
rewritten from the resolved chart. Planning is pure; writing is the last
step, after the new upstream resolved, so a failure changes nothing.
"""

from __future__ import annotations

import difflib
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bpkit.errors import BpkitError, UsageError
from bpkit.source.model import CHART_FILE, VALUES_FILE, Blueprint
from bpkit.upstream.index import Offer, find
from bpkit.versions import Version
from bpkit.yamlio.edit import Edit, apply_edits
from bpkit.yamlio.load import display_path

UPSTREAM_VERSION = ("catalystBlueprint", "upstream", "version")
KINDS = ("patch", "minor", "major")


class BumpError(BpkitError):
    """The bump cannot be planned (bad versions, a file that cannot be edited in place)."""


@dataclass(frozen=True)
class FileChange:
    path: Path
    old: bytes
    new: bytes


@dataclass(frozen=True)
class BumpPlan:
    blueprint: str  # as shown
    chart: str
    repo: str
    upstream_from: str
    upstream_to: str
    kind: str  # patch | minor | major
    wrapper_from: str
    wrapper_to: str
    changes: tuple[FileChange, ...]

    def diff(self) -> str:
        """A unified diff of every file the bump changes (paths as the user types them)."""
        out: list[str] = []
        for change in self.changes:
            shown = display_path(change.path)
            out.extend(difflib.unified_diff(
                change.old.decode("utf-8", "replace").splitlines(keepends=True),
                change.new.decode("utf-8", "replace").splitlines(keepends=True),
                fromfile=f"a/{shown}", tofile=f"b/{shown}"))
        return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
                       for line in out)


def upstream_kind(old: str, new: str) -> str:
    """Which part of the upstream version moved: major, minor, else patch."""
    a, b = Version.parse(old), Version.parse(new)
    if a.major != b.major:
        return "major"
    if a.minor != b.minor:
        return "minor"
    return "patch"


def raise_version(version: str, kind: str) -> str:
    """The wrapper's next version for an upstream move of `kind` (semver's bump_*)."""
    import semver

    try:
        parsed = semver.Version.parse(version)
    except ValueError:
        raise BumpError(f"chart version {version!r} is not a semantic version "
                        "(bpkit lint: chart-version)") from None
    bumped = {"patch": parsed.bump_patch, "minor": parsed.bump_minor,
              "major": parsed.bump_major}[kind]()
    return str(bumped)


def plan_bump(bp: Blueprint, to: str, available: Sequence[Offer] = ()) -> BumpPlan:
    """The edits that move `bp` to upstream version `to` (nothing is written).

    `available` (what the repository offers) gives the appVersions, so a
    wrapper `appVersion` that mirrored the old upstream's follows it.
    """
    block = bp.upstream
    if bp.no_upstream or block is None:
        raise UsageError(f"{bp.display}: no catalystBlueprint.upstream to bump")
    chart, current, repo = (block.get(k) for k in ("chart", "version", "repo"))
    if not (isinstance(chart, str) and isinstance(current, str) and isinstance(repo, str)):
        raise BumpError(f"{bp.display}: catalystBlueprint.upstream needs chart, version and repo "
                        "strings (bpkit lint says more)")
    for what, value in (("pinned", current), ("target", to)):
        try:
            Version.parse(value)
        except ValueError:
            raise BumpError(f"{bp.display}: {what} upstream version {value!r} is not a "
                            "semantic version") from None
    if to == current:
        raise BumpError(f"{bp.display}: already at {chart} {to}", exit_code=0)
    wrapper = bp.chart_version
    if wrapper is None or bp.chart is None or bp.values is None or bp.blueprint is None:
        raise BumpError(f"{bp.display}: Chart.yaml, values.yaml and blueprint.yaml must load "
                        "(bpkit lint says why)")
    kind = upstream_kind(current, to)
    new_wrapper = raise_version(wrapper, kind)
    chart_edits = [Edit(("version",), new_wrapper)]
    old_offer, new_offer = find(available, current), find(available, to)
    app = bp.chart_field("appVersion")
    if isinstance(app, str) and new_offer is not None and new_offer.app_version and (
            app in (current, old_offer.app_version if old_offer else None)):
        chart_edits.append(Edit(("appVersion",), new_offer.app_version if app != current else to))
    edits = [
        (bp.chart_dir / VALUES_FILE, [Edit(UPSTREAM_VERSION, to)]),
        (bp.chart_dir / CHART_FILE, chart_edits),
        (bp.path / "blueprint.yaml", [Edit(("spec", "version"), new_wrapper)]),
    ]
    changes = []
    for path, file_edits in edits:
        old = path.read_bytes()
        try:
            text = old.decode("utf-8")
        except UnicodeDecodeError:
            raise BumpError(f"{display_path(path)}: not UTF-8; cannot edit in place") from None
        new = apply_edits(text, file_edits, display=display_path(path)).encode("utf-8")
        changes.append(FileChange(path, old, new))
    return BumpPlan(bp.display, chart, repo, current, to, kind, wrapper, new_wrapper,
                    tuple(changes))


def write_plan(plan: BumpPlan, extra: Sequence[FileChange] = ()) -> None:
    """Write every changed file atomically (temp file + rename, mode kept)."""
    for change in (*plan.changes, *extra):
        if change.new == change.old:
            continue
        mode = change.path.stat().st_mode & 0o7777 if change.path.exists() else 0o644
        fd, tmp = tempfile.mkstemp(prefix=f".{change.path.name}.", dir=change.path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(change.new)
            os.chmod(tmp, mode)
            os.replace(tmp, change.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
