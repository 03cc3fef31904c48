"""Release tags: `platform/flux/v1.2.3` names a blueprint folder and a version.

The monorepo tags releases per blueprint; the OCI tag drops the `v`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bpkit.errors import UsageError
from bpkit.source.discover import is_blueprint_dir
from bpkit.versions import SEMVER_RE

# The group may hold slashes: roots are folders under the repository root.
_TAG_RE = re.compile(r"(?P<group>.+)/(?P<name>[^/]+)/v(?P<version>[^/]+)")


@dataclass(frozen=True)
class ReleaseTag:
    group: str  # "platform"
    name: str  # "flux"
    version: str  # "1.2.3", without the v

    @property
    def folder(self) -> str:
        return f"{self.group}/{self.name}"


def parse_tag(tag: str, root: Path, roots: Iterable[str]) -> ReleaseTag:
    """Parse and resolve a release tag, with a message saying what is wrong."""
    roots = tuple(roots)
    raw = tag.removeprefix("refs/tags/")
    shape = "GROUP/NAME/vMAJOR.MINOR.PATCH, e.g. platform/flux/v1.2.3"
    match = _TAG_RE.fullmatch(raw)
    if match is None:
        parts = raw.split("/")
        if len(parts) >= 3 and all(parts) and not parts[-1].startswith("v"):
            raise UsageError(f"release tag {tag!r}: the version part must start with v ({shape})")
        raise UsageError(f"release tag {tag!r} is not of the form {shape}")
    group, name, version = match.group("group", "name", "version")
    if group not in roots:
        raise UsageError(f"release tag {tag!r}: {group!r} is not a blueprint folder "
                         f"({', '.join(roots)})")
    if name.startswith("."):
        raise UsageError(f"release tag {tag!r}: {name!r} is not a blueprint name")
    if not SEMVER_RE.fullmatch(version):
        raise UsageError(f"release tag {tag!r}: {version!r} is not a semantic version "
                         "(MAJOR.MINOR.PATCH)")
    if not is_blueprint_dir(root / group / name):
        raise UsageError(f"release tag {tag!r}: there is no blueprint {group}/{name} in {root}")
    return ReleaseTag(group, name, version)
