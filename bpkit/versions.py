"""Strict versions and version ranges, as Helm (Masterminds semver) reads them.

Wrapper and upstream versions must be one exact SemVer 2.0.0 version;
`spec.depends[].version` and `spec.upgrades.from` take ranges. Kept
dependency-free so `bpkit lint` stays quick to start.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache, total_ordering

#: Semantic Versioning 2.0.0, the regular expression from semver.org: the one
#: definition of a strict version (Chart.yaml, upstream pins, release tags).
SEMVER_RE = re.compile(
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?"
)

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

    def __str__(self) -> str:
        core = f"{self.major}.{self.minor}.{self.patch}"
        return core + ("-" + ".".join(self.prerelease) if self.prerelease else "")


_PARTIAL = re.compile(
    r"v?(?P<major>0|[1-9]\d*|[xX*])"
    r"(?:\.(?P<minor>0|[1-9]\d*|[xX*])"
    r"(?:\.(?P<patch>0|[1-9]\d*|[xX*])"
    r"(?:-(?P<pre>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
    r"(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?)?)?"
)
_COMPARATOR = re.compile(r"\s*(?P<op>\^|~>|~|>=|=>|<=|=<|!=|>|<|=)?\s*(?P<ver>[^\s,|]+)\s*")


@dataclass(frozen=True)
class _Bound:
    op: str  # one of > >= < <= = !=
    version: Version


def _wild(part: str | None) -> bool:
    return part is None or part in ("x", "X", "*")


def _comparators(op: str, text: str) -> list[_Bound]:
    """Expand one comparator (partial versions, ^, ~, wildcards) into plain bounds."""
    match = _PARTIAL.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a version")
    major, minor, patch = match.group("major"), match.group("minor"), match.group("patch")
    pre = tuple(match.group("pre").split(".")) if match.group("pre") else ()
    if _wild(major):
        if op in ("", "=", ">=", "<=", "^", "~", "~>"):
            return []  # "*": anything
        return [_Bound("<", Version(0, 0, 0))]  # "<*", "!=*": nothing
    ma = int(major)
    if _wild(minor):
        low, high = Version(ma, 0, 0), Version(ma + 1, 0, 0, ("0",))
        precision = 1
    elif _wild(patch):
        mi = int(str(minor))
        low, high = Version(ma, mi, 0), Version(ma, mi + 1, 0, ("0",))
        precision = 2
    else:
        low = Version(ma, int(str(minor)), int(str(patch)), pre)
        high = low
        precision = 3
    if op == "^":
        if low.major > 0 or precision == 1:
            upper = Version(low.major + 1, 0, 0, ("0",))
        elif low.minor > 0 or precision == 2:
            upper = Version(0, low.minor + 1, 0, ("0",))
        else:
            upper = Version(0, 0, low.patch + 1, ("0",))
        return [_Bound(">=", low), _Bound("<", upper)]
    if op in ("~", "~>"):
        upper = (Version(low.major + 1, 0, 0, ("0",)) if precision == 1
                 else Version(low.major, low.minor + 1, 0, ("0",)))
        return [_Bound(">=", low), _Bound("<", upper)]
    if precision == 3:
        return [_Bound(op or "=", low)]
    # A partial version stands for the whole span it covers.
    if op in ("", "="):
        return [_Bound(">=", low), _Bound("<", high)]
    if op == "!=":
        return [_Bound("!<>", low), _Bound("!<>", high)]
    if op == ">":
        return [_Bound(">=", high)]
    if op == ">=":
        return [_Bound(">=", low)]
    if op == "<":
        return [_Bound("<", low)]
    return [_Bound("<", high)]  # "<="


def _holds(bound: _Bound, v: Version) -> bool:
    op, b = bound.op, bound.version
    if op == "=":
        return v == b
    if op == "!=":
        return v != b
    if op == ">":
        return v > b
    if op == ">=":
        return v >= b
    if op == "<":
        return v < b
    return v <= b


@dataclass(frozen=True)
class Range:
    """A parsed range: alternatives (`||`) of comparator sets (AND)."""

    text: str
    alternatives: tuple[tuple[_Bound, ...], ...]

    def allows(self, version: Version) -> bool:
        for bounds in self.alternatives:
            ok = True
            plain = [b for b in bounds if b.op != "!<>"]
            excluded = [b for b in bounds if b.op == "!<>"]
            for bound in plain:
                if not _holds(bound, version):
                    ok = False
                    break
            if ok and excluded:
                low, high = excluded[0].version, excluded[1].version
                if low <= version < high:
                    ok = False
            # Pre-releases only match a range that names a pre-release itself.
            if ok and version.prerelease and not any(
                b.version.prerelease and b.version.prerelease != ("0",)
                and (b.version.major, b.version.minor, b.version.patch)
                == (version.major, version.minor, version.patch)
                for b in bounds
            ):
                ok = False
            if ok:
                return True
        return False


def parse_range(text: str) -> Range:
    """Parse a Helm-style range; ValueError with a reason when it is not one."""
    if isinstance(text, str):
        return _parse_range_cached(text)  # ranges repeat across a monorepo
    return _parse_range(text)


def _parse_range(text: str) -> Range:
    if not isinstance(text, str) or not text.strip():
        raise ValueError("empty range")
    alternatives: list[tuple[_Bound, ...]] = []
    for raw_alt in text.split("||"):
        alt = raw_alt.strip()
        if not alt:
            raise ValueError(f"empty alternative in {text!r}")
        bounds: list[_Bound] = []
        hyphen = re.fullmatch(r"(\S+)\s+-\s+(\S+)", alt)
        if hyphen:
            low = _comparators(">=", hyphen.group(1))
            high = _comparators("<=", hyphen.group(2))
            bounds.extend(low + high)
        else:
            pos = 0
            alt_norm = alt.replace(",", " ")
            while pos < len(alt_norm):
                if alt_norm[pos].isspace():
                    pos += 1
                    continue
                match = _COMPARATOR.match(alt_norm, pos)
                if match is None or match.end() == pos:
                    raise ValueError(f"cannot read {alt_norm[pos:]!r}")
                op = match.group("op") or ""
                op = {"=>": ">=", "=<": "<="}.get(op, op)
                bounds.extend(_comparators(op, match.group("ver")))
                pos = match.end()
        alternatives.append(tuple(bounds))
    return Range(text, tuple(alternatives))


_parse_range_cached = lru_cache(maxsize=4096)(_parse_range)
