from __future__ import annotations

import pytest

from bpkit.versions import Version, parse_range, version_problem


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
