"""Strict versions and version ranges, as Helm (Masterminds semver) reads them.

Wrapper and upstream versions must be one exact SemVer 2.0.0 version;
`spec.depends[].version` and `spec.upgrades.from` take ranges, read and
checked as Helm's Masterminds semver v3 does. Parsing and ordering are our
own (a regular expression and a tuple key) so `bpkit lint` stays quick to
start; the semver package, whose import alone costs 20-70 ms, does the
bumps and is imported only then. tests/test_versions.py holds our ordering
to semver.Version.compare and our ranges to Masterminds' own test cases.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering
from typing import Literal

#: Semantic Versioning 2.0.0, the regular expression from semver.org: the one
#: definition of a strict version (Chart.yaml, upstream pins, release tags).
SEMVER_RE = re.compile(
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?"
)

BumpKind = Literal["major", "minor", "patch"]

_RANGE_CHARS = ("^", "~", ">", "<", "=", "*", "|", " ", ",")


def version_problem(value: object) -> str | None:
    """Why `value` is not one strict semantic version, or None when it is."""
    if isinstance(value, bool) or not isinstance(value, str):
        if isinstance(value, (int, float)):
            return (f"{value!r} is a number to YAML: quote it, and write three parts "
                    '(e.g. "1.0.0")')
        return "must be a string holding a semantic version such as 1.0.0"
    text = value.strip()
    if SEMVER_RE.fullmatch(value):
        return None
    if not text:
        return "is empty"
    if any(c in text for c in _RANGE_CHARS) or re.search(r"(^|\.)[xX]($|\.)", text):
        return f"{value!r} is a range; pin one exact version such as 1.2.3"
    if text[0] in "vV" and SEMVER_RE.fullmatch(text[1:]):
        return f"{value!r} has a leading {text[0]!r}; write {text[1:]}"
    core = text.split("-", 1)[0].split("+", 1)[0]
    parts = core.split(".")
    if all(p.isdigit() for p in parts):
        if len(parts) != 3:
            return f"{value!r} needs exactly three numbers MAJOR.MINOR.PATCH (e.g. 1.0.0)"
        if any(len(p) > 1 and p.startswith("0") for p in parts):
            return f"{value!r} has a leading zero, which semantic versions forbid"
    return f"{value!r} is not a semantic version (MAJOR.MINOR.PATCH, e.g. 1.0.0)"


@total_ordering
@dataclass(frozen=True)
class Version:
    """A SemVer 2.0.0 version with its precedence rules (build metadata ignored)."""

    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Version:
        match = SEMVER_RE.fullmatch(text)
        if match is None:
            raise ValueError(f"not a semantic version: {text!r}")
        pre = tuple(match.group(4).split(".")) if match.group(4) else ()
        return cls(int(match.group(1)), int(match.group(2)), int(match.group(3)), pre)

    def _key(self) -> tuple[int, int, int, int, tuple[tuple[int, int, str], ...]]:
        pre = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.prerelease)
        return (self.major, self.minor, self.patch, 0 if self.prerelease else 1, pre)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() < other._key()

    def compare(self, other: Version) -> int:
        """-1, 0 or 1, as `semver.Version.compare` answers (a test holds the two together)."""
        mine, theirs = self._key(), other._key()
        return (mine > theirs) - (mine < theirs)

    def bump(self, kind: BumpKind) -> Version:
        """The next `kind` release, computed by the semver package.

        As python-semver does it: the part is raised, lower parts reset and
        any pre-release dropped (so 1.2.3-rc.1 bumps to 1.2.4, 1.3.0, 2.0.0).
        semver is imported here, not at the top: `bpkit lint` never bumps
        and must not pay for the import.
        """
        import semver

        current = semver.Version(self.major, self.minor, self.patch,
                                 ".".join(self.prerelease) or None)
        if kind == "patch":
            bumped = current.bump_patch()
        elif kind == "minor":
            bumped = current.bump_minor()
        elif kind == "major":
            bumped = current.bump_major()
        else:
            raise ValueError(f"unknown bump {kind!r}: give major, minor or patch")
        return Version.parse(str(bumped))

    def next_patch(self) -> Version:
        return self.bump("patch")

    def next_minor(self) -> Version:
        return self.bump("minor")

    def next_major(self) -> Version:
        return self.bump("major")

    def __str__(self) -> str:
        core = f"{self.major}.{self.minor}.{self.patch}"
        return core + ("-" + ".".join(self.prerelease) if self.prerelease else "")


# A pre-release identifier: no leading zero in a numeric one (SemVer 2.0.0, item 9).
_PRE_ID = r"(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)"
# One comparator's version: partial (`1`, `1.2`), wildcards (`x`, `X`, `*`), and
# a pre-release after any part (`>=0-0`, `*-0`, `~1.1-alpha`), as Masterminds reads it.
_PARTIAL = re.compile(
    r"v?(?P<major>0|[1-9]\d*|[xX*])"
    r"(?:\.(?P<minor>0|[1-9]\d*|[xX*])(?:\.(?P<patch>0|[1-9]\d*|[xX*]))?)?"
    r"(?:-(?P<pre>" + _PRE_ID + r"(?:\." + _PRE_ID + r")*))?"
    r"(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?"
)
_COMPARATOR = re.compile(r"\s*(?P<op>\^|~>|~|>=|=>|<=|=<|!=|>|<|=)?\s*(?P<ver>[^\s,|]+)\s*")
# "A - B" (spaces required: "1.1-3" is 1.1 with pre-release 3) means ">=A <=B".
_HYPHEN = re.compile(r"(?P<low>[^\s,|]+)\s+-\s+(?P<high>[^\s,|]+)")
_OPS = {"": "=", "=>": ">=", "=<": "<=", "~>": "~"}


def _wild(part: str | None) -> bool:
    return part is None or part in ("x", "X", "*")


@dataclass(frozen=True)
class _Comparator:
    """One comparator, checked as Masterminds semver v3.5 (Helm 3.21, Helm 4) checks it.

    A partial or wildcard version is "dirty": `con` holds it with zeros for
    the missing parts, and the flags say which parts were missing.
    """

    op: str  # = != > < >= <= ~ ^
    con: Version
    dirty: bool = False
    minor_dirty: bool = False
    patch_dirty: bool = False

    @classmethod
    def parse(cls, op: str, text: str) -> _Comparator:
        match = _PARTIAL.fullmatch(text)
        if match is None:
            raise ValueError(f"{text!r} is not a version")
        major, minor, patch = match.group("major"), match.group("minor"), match.group("patch")
        pre = tuple(match.group("pre").split(".")) if match.group("pre") else ()
        op = _OPS.get(op, op)
        if _wild(major):
            return cls(op, Version(0, 0, 0, pre), dirty=True)
        if _wild(minor):
            return cls(op, Version(int(major), 0, 0, pre), dirty=True, minor_dirty=True)
        if _wild(patch):
            return cls(op, Version(int(major), int(str(minor)), 0, pre), dirty=True,
                       patch_dirty=True)
        return cls(op, Version(int(major), int(str(minor)), int(str(patch)), pre))

    def check(self, v: Version, include_pre: bool) -> bool:
        if v.prerelease and not include_pre:
            return False  # a pre-release only meets a range that asks for pre-releases
        c = self.con
        op = self.op
        if op == "=":
            return self._tilde(v) if self.dirty else v == c
        if op == "!=":
            return self._not_equal(v)
        if op == ">":
            if not self.dirty:
                return v > c
            if v.major != c.major:
                return v.major > c.major
            if self.minor_dirty:
                return False  # >11 means 12.0.0 and above
            if self.patch_dirty:
                return v.minor > c.minor  # >11.1 means 11.2.0 and above
            return v > c
        if op == "<":
            return v < c
        if op == ">=":
            return v >= c
        if op == "<=":
            if not self.dirty:
                return v <= c
            if v.major != c.major:
                return v.major < c.major
            return self.minor_dirty or v.minor <= c.minor  # <=11 is 11.x.x, <=1.1 is 1.1.x
        if op == "~":
            return self._tilde(v)
        return self._caret(v)

    def _tilde(self, v: Version) -> bool:
        c = self.con
        if v < c:
            return False
        if (c.major, c.minor, c.patch) == (0, 0, 0) and not (self.minor_dirty
                                                                or self.patch_dirty):
            return True  # ~0.0.0 and ~* are >=0.0.0
        return v.major == c.major and (self.minor_dirty or v.minor == c.minor)

    def _caret(self, v: Version) -> bool:
        c = self.con
        if v < c:
            return False
        if c.major > 0 or self.minor_dirty:
            return v.major == c.major
        if v.major > 0:
            return False
        if c.minor > 0 or self.patch_dirty:
            return v.minor == c.minor
        return v.minor == 0 and v.patch == c.patch

    def _not_equal(self, v: Version) -> bool:
        c = self.con
        if self.dirty:
            if c.major != v.major:
                return True
            if self.minor_dirty:
                return False
            if c.minor != v.minor:
                return True
            if self.patch_dirty:
                return v.prerelease != c.prerelease
            if c.patch != v.patch:
                return True
        return v != c


@dataclass(frozen=True)
class Range:
    """A parsed range: alternatives (`||`) of comparators that must all hold (AND)."""

    text: str
    alternatives: tuple[tuple[_Comparator, ...], ...]

    def allows(self, version: Version) -> bool:
        """Whether `version` satisfies the range, as Helm decides it.

        Pre-releases follow Masterminds semver v3 (what Helm uses), not npm:
        an alternative that names a pre-release anywhere (`>=1.2.3-alpha`,
        `>=0.0.0-0 <2.0.0`) admits pre-releases of any version it covers,
        and one that names none admits no pre-release at all.
        """
        for comparators in self.alternatives:
            include_pre = any(c.con.prerelease for c in comparators)
            if all(c.check(version, include_pre) for c in comparators):
                return True
        return False


def parse_range(text: str) -> Range:
    """Parse a Helm-style range; ValueError with a reason when it is not one.

    Unlike Masterminds, an empty range is an error: a blueprint that means
    "any version" says `*`.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError("empty range")
    alternatives: list[tuple[_Comparator, ...]] = []
    for raw_alt in text.split("||"):
        alt = raw_alt.strip()
        if not alt:
            raise ValueError(f"empty alternative in {text!r}")
        alt = _HYPHEN.sub(lambda m: f">={m.group('low')} <={m.group('high')}", alt)
        comparators: list[_Comparator] = []
        pos = 0
        alt_norm = alt.replace(",", " ")
        while pos < len(alt_norm):
            if alt_norm[pos].isspace():
                pos += 1
                continue
            match = _COMPARATOR.match(alt_norm, pos)
            if match is None or match.end() == pos:
                raise ValueError(f"cannot read {alt_norm[pos:]!r}")
            comparators.append(_Comparator.parse(match.group("op") or "", match.group("ver")))
            pos = match.end()
        alternatives.append(tuple(comparators))
    return Range(text, tuple(alternatives))
