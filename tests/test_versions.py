"""Versions and ranges: our own fast parser, held to semver and to Masterminds semver.

bpkit parses and orders versions itself (quick to import for `bpkit lint`)
and reads ranges as Helm does, which is Masterminds semver v3 (v3.5.0 in
Helm 3.21 and Helm 4). The MASTERMINDS_* cases are Masterminds' own
(constraints_test.go, TestConstraintCheck and TestConstraintsCheck, at
github.com/Masterminds/semver commit 71f2b39), with two changes: versions
Masterminds completes (`1`, `1.4`) are written out in full, since bpkit
only checks strict versions against ranges, and the empty constraint is
left out (bpkit refuses an empty range; `*` says "any").
"""

from __future__ import annotations

import itertools

import pytest
import semver

from bpkit.versions import Version, parse_range, version_problem

MASTERMINDS_CONSTRAINT_CHECK = [
    ('=2.0.0', '1.2.3', False), ('=2.0.0', '2.0.0', True), ('=2.0', '1.2.3', False),
    ('=2.0', '2.0.0', True), ('=2.0', '2.0.1', True), ('4.1', '4.1.0', True),
    ('!=4.1.0', '4.1.0', False), ('!=4.1.0', '4.1.1', True), ('!=4.1', '4.1.0', False),
    ('!=4.1', '4.1.1', False), ('!=4.1', '5.1.0-alpha.1', False),
    ('!=4.1.0', '5.1.0-alpha.1', False), ('!=4.1-alpha', '4.1.0', True), ('!=4.1', '5.1.0', True),
    ('<11', '0.1.0', True), ('<11', '11.1.0', False), ('<1.1', '0.1.0', True),
    ('<1.1', '1.1.0', False), ('<1.1', '1.1.1', False), ('<=11', '1.2.3', True),
    ('<=11', '12.2.3', False), ('<=11', '11.2.3', True), ('<=1.1', '1.2.3', False),
    ('<=1.1', '0.1.0', True), ('<=1.1', '1.1.0', True), ('<=1.1', '1.1.1', True),
    ('>1.1', '4.1.0', True), ('>1.1', '1.1.0', False), ('>0', '0.0.0', False),
    ('>0', '1.0.0', True), ('>0', '0.0.1-alpha', False), ('>0.0', '0.0.1-alpha', False),
    ('>0-0', '0.0.1-alpha', False), ('>0.0-0', '0.0.1-alpha', False), ('>0', '0.0.0-alpha', False),
    ('>0-0', '0.0.0-alpha', False), ('>0.0.0-0', '0.0.0-alpha', True),
    ('>1.2.3-alpha.1', '1.2.3-alpha.2', True), ('>1.2.3-alpha.1', '1.3.3-alpha.2', True),
    ('>11', '11.1.0', False), ('>11.1', '11.1.0', False), ('>11.1', '11.1.1', False),
    ('>11.1', '11.2.1', True), ('>=11', '11.1.2', True), ('>=11.1', '11.1.2', True),
    ('>=11.1', '11.0.2', False), ('>=1.1', '4.1.0', True), ('>=1.1', '1.1.0', True),
    ('>=1.1', '0.0.9', False), ('>=0', '0.0.1-alpha', False), ('>=0.0', '0.0.1-alpha', False),
    ('>=0-0', '0.0.1-alpha', True), ('>=0.0-0', '0.0.1-alpha', True),
    ('>=0', '0.0.0-alpha', False), ('>=0-0', '0.0.0-alpha', True),
    ('>=0.0.0-0', '0.0.0-alpha', True), ('>=0.0.0-0', '1.2.3', True),
    ('>=0.0.0-0', '3.4.5-beta.1', True), ('<0', '0.0.0-alpha', False),
    ('<0-z', '0.0.0-alpha', True), ('>=0', '0.0.0', True), ('=0', '1.0.0', False),
    ('*', '1.0.0', True), ('*', '4.5.6', True), ('*', '1.2.3-alpha.1', False),
    ('*-0', '1.2.3-alpha.1', True), ('2.*', '1.0.0', False), ('2.*', '3.4.5', False),
    ('2.*', '2.1.1', True), ('2.1.*', '2.1.1', True), ('2.1.*', '2.2.1', False),
    ('2', '1.0.0', False), ('2', '3.4.5', False), ('2', '2.1.1', True), ('2.1', '2.1.1', True),
    ('2.1', '2.2.1', False), ('~1.2.3', '1.2.4', True), ('~1.2.3', '1.3.4', False),
    ('~1.2', '1.2.4', True), ('~1.2', '1.3.4', False), ('~1', '1.2.4', True),
    ('~1', '2.3.4', False), ('~0.2.3', '0.2.5', True), ('~0.2.3', '0.3.5', False),
    ('~1.2.3-beta.2', '1.2.3-beta.4', True), ('~1.2.3-beta.2', '1.2.4-beta.2', True),
    ('~1.2.3-beta.2', '1.3.4-beta.2', False), ('^1.2.3', '1.8.9', True),
    ('^1.2.3', '2.8.9', False), ('^1.2.3', '1.2.1', False), ('^1.1.0', '2.1.0', False),
    ('^1.2.0', '2.2.1', False), ('^1.2.0', '1.2.1-alpha.1', False),
    ('^1.2.0-alpha.0', '1.2.1-alpha.1', True), ('^1.2.0-alpha.0', '1.2.1-alpha.0', True),
    ('^1.2.0-alpha.2', '1.2.0-alpha.1', False), ('^1.2', '1.8.9', True), ('^1.2', '2.8.9', False),
    ('^1', '1.8.9', True), ('^1', '2.8.9', False), ('^0.2.3', '0.2.5', True),
    ('^0.2.3', '0.5.6', False), ('^0.2', '0.2.5', True), ('^0.2', '0.5.6', False),
    ('^0.0.3', '0.0.3', True), ('^0.0.3', '0.0.4', False), ('^0.0', '0.0.3', True),
    ('^0.0', '0.1.4', False), ('^0.0', '1.0.4', False), ('^0', '0.2.3', True),
    ('^0', '1.1.4', False), ('^0.2.3-beta.2', '0.2.3-beta.4', True),
    ('^0.2.3-beta.2', '0.2.4-beta.2', True), ('^0.2.3-beta.2', '0.3.4-beta.2', False),
    ('^0.2.3-beta.2', '0.2.3-beta.2', True),
]
MASTERMINDS_CONSTRAINTS_CHECK = [
    ('*', '1.2.3', True), ('~0.0.0', '1.2.3', True), ('0.x.x', '1.2.3', False),
    ('0.0.x', '1.2.3', False), ('0.0.0', '1.2.3', False), ('*', '1.2.3', True),
    ('^0.0.0', '1.2.3', False), ('= 2.0', '1.2.3', False), ('= 2.0', '2.0.0', True),
    ('4.1', '4.1.0', True), ('4.1.x', '4.1.3', True), ('1.x', '1.4.0', True),
    ('!=4.1', '4.1.0', False), ('!=4.1-alpha', '4.1.0-alpha', False),
    ('!=4.1-alpha', '4.1.1-alpha', False), ('!=4.1-alpha', '4.1.0', True),
    ('!=4.1', '5.1.0', True), ('!=4.x', '5.1.0', True), ('!=4.x', '4.1.0', False),
    ('!=4.1.x', '4.2.0', True), ('!=4.2.x', '4.2.3', False), ('>1.1', '4.1.0', True),
    ('>1.1', '1.1.0', False), ('<1.1', '0.1.0', True), ('<1.1', '1.1.0', False),
    ('<1.1', '1.1.1', False), ('<1.x', '1.1.1', False), ('<1.x', '0.1.1', True),
    ('<1.x', '2.0.0', False), ('<1.1.x', '1.2.1', False), ('<1.1.x', '1.1.500', False),
    ('<1.1.x', '1.0.500', True), ('<1.2.x', '1.1.1', True), ('>=1.1', '4.1.0', True),
    ('>=1.1', '4.1.0-beta', False), ('>=1.1', '1.1.0', True), ('>=1.1', '0.0.9', False),
    ('<=1.1', '0.1.0', True), ('<=1.1', '0.1.0-alpha', False), ('<=1.1-a', '0.1.0-alpha', True),
    ('<=1.1', '1.1.0', True), ('<=1.x', '1.1.0', True), ('<=2.x', '3.0.0', False),
    ('<=1.1', '1.1.1', True), ('<=1.1.x', '1.2.500', False), ('<=4.5', '3.4.0', True),
    ('<=4.5', '3.7.0', True), ('<=4.5', '4.6.3', False), ('>1.1, <2', '1.1.1', False),
    ('>1.1, <2', '1.2.1', True), ('>1.1, <3', '4.3.2', False),
    ('>=1.1, <2, !=1.2.3', '1.2.3', False), ('>1.1 <2', '1.1.1', False),
    ('>1.1 <2', '1.2.1', True), ('>1.1    <3', '4.3.2', False),
    ('>=1.1    <2    !=1.2.3', '1.2.3', False), ('>=1.1, <2, !=1.2.3 || > 3', '4.1.2', True),
    ('>=1.1, <2, !=1.2.3 || > 3', '3.1.2', False), ('>=1.1, <2, !=1.2.3 || >= 3', '3.0.0', True),
    ('>=1.1, <2, !=1.2.3 || > 3', '3.0.0', False), ('>=1.1, <2, !=1.2.3 || > 3', '1.2.3', False),
    ('>=1.1 <2 !=1.2.3', '1.2.3', False), ('>=1.1 <2 !=1.2.3 || > 3', '4.1.2', True),
    ('>=1.1 <2 !=1.2.3 || > 3', '3.1.2', False), ('>=1.1 <2 !=1.2.3 || >= 3', '3.0.0', True),
    ('>=1.1 <2 !=1.2.3 || > 3', '3.0.0', False), ('>=1.1 <2 !=1.2.3 || > 3', '1.2.3', False),
    ('> 1.1, <     2', '1.1.1', False), ('>   1.1, <2', '1.2.1', True),
    ('>1.1, <  3', '4.3.2', False), ('>= 1.1, <     2, !=1.2.3', '1.2.3', False),
    ('> 1.1 < 2', '1.1.1', False), ('>1.1 < 2', '1.2.1', True), ('> 1.1    <3', '4.3.2', False),
    ('>=1.1    < 2    != 1.2.3', '1.2.3', False), ('>= 1.1, <2, !=1.2.3 || > 3', '4.1.2', True),
    ('>= 1.1, <2, != 1.2.3 || > 3', '3.1.2', False),
    ('>= 1.1, <2, != 1.2.3 || >= 3', '3.0.0', True),
    ('>= 1.1, <2, !=1.2.3 || > 3', '3.0.0', False), ('>= 1.1, <2, !=1.2.3 || > 3', '1.2.3', False),
    ('>= 1.1 <2 != 1.2.3', '1.2.3', False), ('>= 1.1 <2 != 1.2.3 || > 3', '4.1.2', True),
    ('>= 1.1 <2 != 1.2.3 || > 3', '3.1.2', False), ('>= 1.1 <2 != 1.2.3 || >= 3', '3.0.0', True),
    ('>= 1.1 < 2 !=1.2.3 || > 3', '3.0.0', False), ('>=1.1 < 2 !=1.2.3 || > 3', '1.2.3', False),
    ('>= 1.0.0  <= 2.0.0-beta', '1.0.1-beta', True), ('>= 1.0.0  <= 2.0.0-beta', '1.0.1', True),
    ('>= 1.0.0  <= 2.0.0-beta', '3.0.0', False),
    ('>= 1.0.0  <= 2.0.0-beta || > 3', '1.0.1-beta', True),
    ('>= 1.0.0  <= 2.0.0-beta || > 3', '3.0.1-beta', False),
    ('>= 1.0.0  <= 2.0.0-beta != 1.0.1 || > 3', '1.0.1-beta', True),
    ('>= 1.0.0  <= 2.0.0-beta != 1.0.1-beta || > 3', '1.0.1-beta', False),
    ('>= 1.0.0-0  <= 2.0.0', '1.0.1-beta', True), ('1.1 - 2', '1.1.1', True),
    ('1.5.0 - 4.5', '3.7.0', True), ('1.1-3', '4.3.2', False), ('^1.1', '1.1.1', True),
    ('^1.1', '4.3.2', False), ('^1.x', '1.1.1', True), ('^2.x', '1.1.1', False),
    ('^1.x', '2.1.1', False), ('^1.x', '1.1.1-beta1', False),
    ('^1.1.2-alpha', '1.2.1-beta1', True), ('^1.2.x-alpha', '1.1.1-beta1', False),
    ('^0.0.1', '0.0.1', True), ('^0.0.1', '0.3.1', False), ('~*', '2.1.1', True),
    ('~1', '2.1.1', False), ('~1', '1.3.5', True), ('~1', '1.4.0', True), ('~1.x', '2.1.1', False),
    ('~1.x', '1.3.5', True), ('~1.x', '1.4.0', True), ('~1.1', '1.1.1', True),
    ('~1.1', '1.1.1-alpha', False), ('~1.1-alpha', '1.1.1-beta', True),
    ('~1.1.1-beta', '1.1.1-alpha', False), ('~1.1.1-beta', '1.1.1', True),
    ('~1.2.3', '1.2.5', True), ('~1.2.3', '1.2.2', False), ('~1.2.3', '1.3.2', False),
    ('~1.1', '1.2.3', False), ('~1.3', '2.4.5', False), ('1.0.0 - 2.0.0 <=2.0.0', '1.5.0', True),
    ('1.0.0 - 2.0.0, <=2.0.0', '1.5.0', True),
]


@pytest.mark.parametrize(("rng", "version", "allowed"), MASTERMINDS_CONSTRAINT_CHECK)
def test_masterminds_single_constraints(rng: str, version: str, allowed: bool) -> None:
    assert parse_range(rng).allows(Version.parse(version)) is allowed


@pytest.mark.parametrize(("rng", "version", "allowed"), MASTERMINDS_CONSTRAINTS_CHECK)
def test_masterminds_constraints(rng: str, version: str, allowed: bool) -> None:
    assert parse_range(rng).allows(Version.parse(version)) is allowed


@pytest.mark.parametrize(("rng", "version", "allowed"), [
    # A range that names a pre-release admits pre-releases of any version it
    # covers (Masterminds), not only of the same MAJOR.MINOR.PATCH (npm).
    (">=1.2.3-alpha", "1.5.0-beta", True),
    (">=1.2.3-alpha", "1.2.3-alpha.1", True),
    (">=1.2.3-alpha", "1.2.2", False),
    # ... for the whole AND group, not just the comparator that names it.
    (">=1.2.3-alpha <2.0.0", "1.5.0-beta", True),
    (">=1.2.3-alpha <2.0.0", "2.0.0-rc.1", True),
    (">=1.2.3-alpha <2.0.0", "2.0.0", False),
    # An alternative without one still refuses them.
    (">=1.2.3-alpha || >=3.0.0", "3.1.0-rc.1", True),
    ("<1.0.0 || >=3.0.0", "3.1.0-rc.1", False),
    ("^1.0", "1.5.0-rc.1", False),
    ("^1.0.0-0", "1.5.0-rc.1", True),
    ("~1.2.0-0", "1.2.9-rc.1", True),
    ("~1.2.0-0", "1.3.0-rc.1", False),
])
def test_prerelease_ranges(rng: str, version: str, allowed: bool) -> None:
    assert parse_range(rng).allows(Version.parse(version)) is allowed


@pytest.mark.parametrize(("rng", "alternatives", "comparators"), [
    # Masterminds' TestNewConstraint (the ones that parse).
    (">= 1.1", 1, 1), (">40.50.60, < 50.70", 1, 2), ("2.0", 1, 1),
    ("v2.3.5-20161202202307-sha.e8fc5e5", 1, 1), ("v1.2.3-0abc", 1, 1),
    (">= 1.2.3 < 2.0", 1, 2), (">= 1.2.3 < 2.0 || => 3.0 < 4", 2, 2),
    (">= 1.2.3, < 2.0", 1, 2), (">= 1.2.3, < 2.0 || => 3.0, < 4", 2, 2),
    ("3 - 4 || => 3.0, < 4", 2, 2), ("12.3.34 ~1.2.3", 1, 2), ("1.0.0 - 2.0.0, <=2.0.0", 1, 3),
])
def test_masterminds_parsing(rng: str, alternatives: int, comparators: int) -> None:
    parsed = parse_range(rng)
    assert (len(parsed.alternatives), len(parsed.alternatives[0])) == (alternatives, comparators)


@pytest.mark.parametrize("bad", [
    # Masterminds' TestNewConstraint errors.
    "v1.2.3-beta.01", ">= bar", "BAR >= 1.2.3", "12.3.4.1234", "12.23.4.1234", "12.3.34~ 1.2.3",
])
def test_masterminds_parse_errors(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_range(bad)



@pytest.mark.parametrize(("rng", "version", "allowed"), [
    ("^1.0", "1.0.0", True), ("^1.0", "1.9.9", True), ("^1.0", "2.0.0", False),
    ("^1.0", "0.9.0", False), ("~1.2.3", "1.2.9", True), ("~1.2.3", "1.3.0", False),
    ("~1", "1.9.0", True), ("1.x", "1.5.0", True), ("1.x", "2.0.0", False),
    (">=1.0.0 <2.0.0", "1.5.0", True), (">=1.0.0, <2.0.0", "2.0.0", False),
    ("^0.2.3", "0.2.9", True), ("^0.2.3", "0.3.0", False), ("^0.0.3", "0.0.4", False),
    ("*", "3.0.0", True), ("1.0 - 2.0", "2.0.5", True), ("1.0 - 2.0", "2.1.0", False),
    (">1.2", "1.2.5", False), (">1.2", "1.3.0", True), ("<=1.2", "1.2.9", True),
    ("^1.0", "1.2.0-rc.1", False), ("^1.2.0-rc.0", "1.2.0-rc.1", True),
    ("<1.0 || >=2.0", "1.5.0", False), ("<1.0 || >=2.0", "2.5.0", True),
    ("0.x", "0.5.0", True), ("=1.2.3", "1.2.3", True), ("!=1.2.3", "1.2.3", False),
    ("!=1.2.3", "1.2.4", True), ("1.2", "1.2.7", True), ("v1.2.3", "1.2.3", True),
])
def test_ranges(rng: str, version: str, allowed: bool) -> None:
    assert parse_range(rng).allows(Version.parse(version)) is allowed


@pytest.mark.parametrize("bad", ["", "abc", "^", ">=1.0 <", "1.0.0.0", "^1.0 ||", ">>1"])
def test_invalid_ranges(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_range(bad)


@pytest.mark.parametrize(("value", "hint"), [
    ("1.0", "three numbers"), ("v1.0.0", "leading 'v'"), ("01.2.3", "leading zero"),
    ("^1.2", "range"), ("~1", "range"), ("1.x", "range"), (">=1", "range"),
    (1.0, "quote it"), (None, "must be a string"), ("", "empty"), ("1.0.0.0", "three numbers"),
])
def test_version_problems(value: object, hint: str) -> None:
    problem = version_problem(value)
    assert problem is not None and hint in problem


@pytest.mark.parametrize("good", ["1.0.0", "0.0.1", "1.2.3-rc.1", "1.2.3+build.5", "10.20.30"])
def test_good_versions(good: str) -> None:
    assert version_problem(good) is None


def test_precedence() -> None:
    ordered = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
               "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.1.0", "2.0.0"]
    parsed = [Version.parse(v) for v in ordered]
    assert sorted(reversed(parsed)) == parsed


# Versions for the ordering cross-check: every pre-release shape SemVer 2.0.0
# orders (numeric vs alphanumeric identifiers, more identifiers, numbers
# compared as numbers), around every part of the core.
ORDERING_SAMPLE = [
    "0.0.0", "0.0.1", "0.1.0", "1.0.0", "1.0.1", "1.1.0", "1.10.0", "1.2.10", "2.0.0", "10.0.0",
    "1.0.0-0", "1.0.0-1", "1.0.0-2", "1.0.0-10", "1.0.0-00a", "1.0.0-a", "1.0.0-A", "1.0.0--",
    "1.0.0-alpha", "1.0.0-alpha.0", "1.0.0-alpha.1", "1.0.0-alpha.10", "1.0.0-alpha.2",
    "1.0.0-alpha.beta", "1.0.0-alpha.1.1", "1.0.0-alpha-1", "1.0.0-beta", "1.0.0-beta.2",
    "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0-rc.1.0", "1.0.0-0.3.7", "1.0.0-x.7.z.92",
    "1.0.0-x-y-z.--", "0.0.0-0", "2.0.0-rc.1", "1.1.0-rc.1", "1.0.1-0",
    "1.0.0+build.1", "1.0.0-alpha+001", "1.0.0+20130313144700",
]


def test_ordering_matches_the_semver_package() -> None:
    mismatches = []
    for a, b in itertools.product(ORDERING_SAMPLE, repeat=2):
        ours = Version.parse(a).compare(Version.parse(b))
        theirs = semver.Version.parse(a).compare(b)
        if ours != theirs:
            mismatches.append((a, b, ours, theirs))
        assert (Version.parse(a) < Version.parse(b)) is (ours < 0)
    assert mismatches == []


@pytest.mark.parametrize(("version", "patch", "minor", "major"), [
    ("1.2.3", "1.2.4", "1.3.0", "2.0.0"),
    ("0.0.0", "0.0.1", "0.1.0", "1.0.0"),
    ("0.9.19", "0.9.20", "0.10.0", "1.0.0"),
    ("1.2.3-rc.1", "1.2.4", "1.3.0", "2.0.0"),  # python-semver drops the pre-release
    ("1.2.3+build.5", "1.2.4", "1.3.0", "2.0.0"),
])
def test_bumps(version: str, patch: str, minor: str, major: str) -> None:
    current = Version.parse(version)
    assert [str(current.next_patch()), str(current.next_minor()),
            str(current.next_major())] == [patch, minor, major]
    assert str(current.bump("patch")) == patch
    for bumped in (current.next_patch(), current.next_minor(), current.next_major()):
        assert bumped > current
        assert str(bumped) == str(semver.Version.parse(str(bumped)))


def test_an_unknown_bump_is_refused() -> None:
    with pytest.raises(ValueError, match="major, minor or patch"):
        Version.parse("1.0.0").bump("micro")  # type: ignore[arg-type]
