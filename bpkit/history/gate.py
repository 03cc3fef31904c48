"""Facts for the version gate (`bpkit lint --base REF`): what changed, and the base's versions.

History returns facts only; the `version-bump` rule decides what is wrong
and words the message. The changes (merge base of REF and HEAD against the
working tree) and the base's Chart.yaml versions are read once, here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bpkit.history.changes import CHANGED, CommitSide, compare
from bpkit.history.git import Repo
from bpkit.source.discover import CHART_DIR

if TYPE_CHECKING:
    from bpkit.settings import Settings

__all__ = ["ChangedVersion", "GateFacts", "version_gate"]

_CHART_FILE = "Chart.yaml"


@dataclass(frozen=True)
class ChangedVersion:
    """A blueprint that changed since the merge base, with the version it had there."""

    path: str  # "platform/flux", relative to the repository root
    files: tuple[str, ...]  # what changed, relative to the blueprint folder
    base_version: str | None  # Chart.yaml's version at the merge base (None: no chart there)


@dataclass(frozen=True)
class GateFacts:
    """Everything the version-bump rule needs, read once before linting."""

    base_ref: str  # what the user passed, e.g. "origin/main"
    base_sha: str  # the merge base
    changed: dict[Path, ChangedVersion] = field(default_factory=dict)  # by absolute folder

    def lookup(self, folder: Path) -> ChangedVersion | None:
        return self.changed.get(folder)


def _version_at(text: bytes) -> str | None:
    from bpkit.yamlio.load import parse

    try:
        doc, _ = parse(text.decode("utf-8-sig"), Path(_CHART_FILE), _CHART_FILE)
    except UnicodeDecodeError:
        return None
    data = doc.data if doc is not None else None
    version = data.get("version") if isinstance(data, dict) else None
    return version if isinstance(version, str) else None


def version_gate(root: Path, base: str, settings: Settings) -> GateFacts:
    """The facts `bpkit lint --base REF` checks against (see the version-bump rule)."""
    repo = Repo(root)
    try:
        changes = compare(repo, base, None, tuple(settings.roots), False, True)
        facts: dict[Path, ChangedVersion] = {}
        top = Path(root).resolve()
        side = CommitSide(repo, changes.base) if changes.base is not None else None
        if side is not None:  # one batch for all of them
            side.prefetch_files([f"{c.path}/{CHART_DIR}/{_CHART_FILE}"
                                 for c in changes.changes if c.status == CHANGED])
        for change in changes.changes:
            if change.status != CHANGED:
                continue
            version = None
            if side is not None:
                text = side.read(f"{change.path}/{CHART_DIR}/{_CHART_FILE}")
                version = _version_at(text) if text is not None else None
            facts[top / change.path] = ChangedVersion(change.path, tuple(change.files), version)
    finally:
        repo.close()
    return GateFacts(base_ref=base, base_sha=changes.base or "", changed=facts)
