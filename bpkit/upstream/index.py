"""Which versions a repository offers, and the newest patch, minor and major of a pin.

Pure functions over what an index says (no network): `outdated` and `bump`
feed them what `bpkit.net.helmrepo` (or a registry's tag list) returned.
Versions that are not strict SemVer are left out (Helm cannot pin them
exactly either); pre-releases only count when the pin itself is one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bpkit.versions import SEMVER_RE, Version


@dataclass(frozen=True)
class Offer:
    """One chart version a repository offers."""

    version: str
    app_version: str | None = None

    @property
    def parsed(self) -> Version:
        return Version.parse(self.version)


@dataclass(frozen=True)
class Newest:
    """The newest offer of the pin's minor line (patch), major line (minor), and overall."""

    patch: Offer | None
    minor: Offer | None
    major: Offer | None


def versions_from_index(index: Mapping[str, Any], chart: str) -> list[Offer]:
    """(version, appVersion) of `chart` in a parsed index.yaml, oldest first, duplicates dropped."""
    entries = index.get("entries") if isinstance(index, Mapping) else None
    items = entries.get(chart) if isinstance(entries, Mapping) else None
    found = []
    for item in items if isinstance(items, list) else ():
        if isinstance(item, Mapping):
            app = item.get("appVersion")
            found.append((item.get("version"), None if app is None else str(app)))
    return offers(found)


def offers(pairs: Iterable[tuple[object, str | None]]) -> list[Offer]:
    """Strict SemVer offers from (version, appVersion) pairs, oldest first, first one kept."""
    seen: dict[str, Offer] = {}
    for version, app in pairs:
        if isinstance(version, str) and SEMVER_RE.fullmatch(version) and version not in seen:
            seen[version] = Offer(version, app)
    return sorted(seen.values(), key=lambda o: o.parsed)


def _eligible(available: Iterable[Offer], pinned: Version | None) -> list[Offer]:
    allow_pre = pinned is not None and bool(pinned.prerelease)
    return [o for o in available if allow_pre or not o.parsed.prerelease]


def newest(available: Iterable[Offer], pinned: str) -> Newest:
    """The newest offer with the pin's major.minor, with its major, and of all (never older)."""
    pin = Version.parse(pinned)
    pool = [o for o in _eligible(available, pin) if not o.parsed < pin]

    def best(match: Any) -> Offer | None:
        chosen = [o for o in pool if match(o.parsed)]
        return max(chosen, key=lambda o: o.parsed) if chosen else None

    return Newest(
        patch=best(lambda v: (v.major, v.minor) == (pin.major, pin.minor)),
        minor=best(lambda v: v.major == pin.major),
        major=best(lambda v: True),
    )


def newest_stable(available: Iterable[Offer]) -> Offer | None:
    """The newest version that is not a pre-release."""
    stable = _eligible(available, None)
    return max(stable, key=lambda o: o.parsed) if stable else None


def find(available: Iterable[Offer], version: str) -> Offer | None:
    return next((o for o in available if o.version == version), None)


def nearest(available: Iterable[Offer], version: str, n: int = 3) -> list[str]:
    """Versions close to one that is not offered, for "did you mean" messages."""
    pool = list(available)
    try:
        want = Version.parse(version)
    except ValueError:
        return [o.version for o in pool[-n:]]
    def distance(o: Offer) -> tuple[int, int, int]:
        v = o.parsed
        return (abs(v.major - want.major), abs(v.minor - want.minor), abs(v.patch - want.patch))
    return [o.version for o in sorted(pool, key=distance)[:n]]
