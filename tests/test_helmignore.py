"""Helm's own pkg/ignore tests, ported, plus Go filepath.Match cases."""

from __future__ import annotations

import pytest

from bpkit.errors import PackageError
from bpkit.helm.helmignore import DEFAULT_RULES, HelmIgnore, HelmIgnoreSyntaxError, go_match

# The fixture tree of Helm's pkg/ignore/testdata: which names are directories.
_DIRS = {"cargo", "cargo/", "mast", "mast/", ".", "./"}


def test_parse_skips_comments_and_blank_lines() -> None:
    rules = "#ignore\n\n\t#ignore\nfoo\nbar/*\nbaz/bar/foo.txt\n\none/more\n"
    r = HelmIgnore.parse(rules)
    assert r.patterns == ("foo", "bar/*", "baz/bar/foo.txt", "one/more")


@pytest.mark.parametrize("rule", ["foo/**/bar", "[z-"])
def test_parse_fail(rule: str) -> None:
    with pytest.raises(HelmIgnoreSyntaxError) as info:
        HelmIgnore.parse(f"ok\n{rule}\n")
    assert isinstance(info.value, PackageError)
    assert info.value.line == 2
    assert str(info.value).startswith(".helmignore:2: ")


def test_parse_file_fixture() -> None:
    # pkg/ignore/testdata/.helmignore
    assert len(HelmIgnore.parse(b"mast/a.txt\n.DS_Store\n.git\n").rules) == 3


@pytest.mark.parametrize(
    ("pattern", "name", "expect"),
    [
        # Glob tests
        ("helm.txt", "helm.txt", True),
        ("helm.*", "helm.txt", True),
        ("helm.*", "rudder.txt", False),
        ("*.txt", "tiller.txt", True),
        ("*.txt", "cargo/a.txt", True),
        ("cargo/*.txt", "cargo/a.txt", True),
        ("cargo/*.*", "cargo/a.txt", True),
        ("cargo/*.txt", "mast/a.txt", False),
        ("ru[c-e]?er.txt", "rudder.txt", True),
        ("templates/.?*", "templates/.dotfile", True),
        # "." should never get ignored. https://github.com/helm/helm/issues/1776
        (".*", ".", False),
        (".*", "./", False),
        (".*", ".joonix", True),
        (".*", "helm.txt", False),
        (".*", "", False),
        # Directory tests
        ("cargo/", "cargo", True),
        ("cargo/", "cargo/", True),
        ("cargo/", "mast/", False),
        ("helm.txt/", "helm.txt", False),
        # Negation tests
        ("!helm.txt", "helm.txt", False),
        ("!helm.txt", "tiller.txt", True),
        ("!*.txt", "cargo", True),
        ("!cargo/", "mast/", True),
        # Absolute path tests
        ("/a.txt", "a.txt", True),
        ("/a.txt", "cargo/a.txt", False),
        ("/cargo/a.txt", "cargo/a.txt", True),
    ],
)
def test_ignore_helm_table(pattern: str, name: str, expect: bool) -> None:
    r = HelmIgnore.parse(pattern)
    assert r.ignored(name, name in _DIRS) is expect


def test_add_defaults() -> None:
    r = HelmIgnore().with_defaults()
    assert r.patterns == DEFAULT_RULES == ("templates/.?*",)
    assert r.ignored("templates/.hidden.yaml", False)
    assert not r.ignored("templates/a.yaml", False)
    assert not r.ignored(".hidden", False)  # only under templates/


def test_a_matching_negative_rule_does_not_rescue() -> None:
    # A matching negative rule only moves on to the next rule, so the
    # default rule (appended last) still ignores the dotfile.
    r = HelmIgnore.parse("!templates/.keep").with_defaults()
    assert r.ignored("templates/.keep", False)
    assert r.ignored("templates/x.yaml", False)  # fails the negative rule
    assert not HelmIgnore.parse("!templates/.keep").ignored("templates/.keep", False)


def test_negation_is_helms_not_gits() -> None:
    # The documented "gitignore style" idiom ignores everything but the
    # first name, because a non-matching negative rule ignores at once.
    r = HelmIgnore.parse("!Chart.yaml\n!values.yaml\n*\n")
    assert r.ignored("values.yaml", False)
    assert r.ignored("Chart.yaml", False)  # passes rule 1, fails rule 2
    assert r.ignored("templates", True)


def test_negative_dir_rule_ignores_every_file() -> None:
    r = HelmIgnore.parse("!docs/")
    assert r.ignored("README.md", False)
    assert not r.ignored("docs", True)


def test_first_match_wins() -> None:
    r = HelmIgnore.parse("*.md\n!README.md\n")
    assert r.ignored("README.md", False)


def test_dir_only_rule_skips_files() -> None:
    r = HelmIgnore.parse("build/")
    assert r.ignored("build", True)
    assert r.ignored("sub/build", True)  # no slash left: base name match
    assert not r.ignored("build", False)


def test_pattern_with_slash_matches_whole_path_only() -> None:
    r = HelmIgnore.parse("docs/*.md")
    assert r.ignored("docs/a.md", False)
    assert not r.ignored("x/docs/a.md", False)
    assert not r.ignored("docs/sub/a.md", False)  # * does not cross /


def test_whitespace_and_crlf() -> None:
    r = HelmIgnore.parse("  a.txt \r\n\tb.txt\t\r\n# c.txt\r\n")
    assert r.patterns == ("a.txt", "b.txt")
    assert r.ignored("a.txt", False)
    assert r.ignored("b.txt", False)
    assert not r.ignored("c.txt", False)


def test_inline_comment_is_part_of_the_pattern() -> None:
    r = HelmIgnore.parse("foo* # any foo")
    assert r.patterns == ("foo* # any foo",)
    assert not r.ignored("foo", False)


def test_go_space_not_python_space() -> None:
    # U+001F is space for Python's str.strip() but not for Go's TrimSpace.
    r = HelmIgnore.parse("\x1fa.txt")
    assert r.patterns == ("\x1fa.txt",)
    r2 = HelmIgnore.parse("\u3000a.txt\u00a0")
    assert r2.patterns == ("a.txt",)


def test_bang_alone_ignores_everything() -> None:
    r = HelmIgnore.parse("!")
    assert r.ignored("Chart.yaml", False)


def test_overlong_line_is_an_error() -> None:
    with pytest.raises(HelmIgnoreSyntaxError, match="longer than"):
        HelmIgnore.parse("a" * (64 * 1024 + 1))


@pytest.mark.parametrize(
    ("pattern", "name", "expect"),
    [
        # From Go's path/filepath match_test.go
        ("abc", "abc", True),
        ("*", "abc", True),
        ("*c", "abc", True),
        ("a*", "a", True),
        ("a*", "abc", True),
        ("a*", "ab/c", False),
        ("a*/b", "abc/b", True),
        ("a*/b", "a/c/b", False),
        ("a*b*c*d*e*/f", "axbxcxdxe/f", True),
        ("a*b*c*d*e*/f", "axbxcxdxexxx/f", True),
        ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", False),
        ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", False),
        ("a*b?c*x", "abxbbxdbxebxczzx", True),
        ("a*b?c*x", "abxbbxdbxebxczzy", False),
        ("ab[c]", "abc", True),
        ("ab[b-d]", "abc", True),
        ("ab[e-g]", "abc", False),
        ("ab[^c]", "abc", False),
        ("ab[^b-d]", "abc", False),
        ("ab[^e-g]", "abc", True),
        ("a\\*b", "a*b", True),
        ("a\\*b", "ab", False),
        ("a?b", "a☺b", True),
        ("a[^a]b", "a☺b", True),
        ("a???b", "a☺b", False),
        ("a[^a][^a][^a]b", "a☺b", False),
        ("[a-ζ]*", "α", True),
        ("*[a-ζ]", "A", False),
        ("a?b", "a/b", False),
        ("a*b", "a/b", False),
        ("[\\]a]", "]", True),
        ("[\\-]", "-", True),
        ("[x\\-]", "x", True),
        ("[x\\-]", "-", True),
        ("[x\\-]", "z", False),
        ("[\\-x]", "x", True),
        ("[\\-x]", "-", True),
        ("[\\-x]", "a", False),
        ("*x", "xxx", True),
        # Go decodes an invalid byte as U+FFFD of width 1 after a star skip
        # into the middle of a rune: "*[^é]" matches "é". fnmatch says no.
        ("*[^é]", "é", True),
    ],
)
def test_go_match(pattern: str, name: str, expect: bool) -> None:
    assert go_match(pattern, name) is expect


@pytest.mark.parametrize(
    "pattern",
    ["[]a]", "[-]", "[x-]", "[-x]", "\\", "[a-b-c]", "[", "[^", "[^bc", "a[", "*x\\", "a*[", "[]"],
)
def test_go_match_bad_pattern(pattern: str) -> None:
    with pytest.raises(ValueError, match="syntax error"):
        go_match(pattern, "x")


@pytest.mark.parametrize("pattern", ["[]a]", "[-]", "a[", "*x\\"])
def test_bad_pattern_rejected_on_parse(pattern: str) -> None:
    with pytest.raises(HelmIgnoreSyntaxError):
        HelmIgnore.parse(pattern)


def test_go_match_differs_from_fnmatch() -> None:
    import fnmatch

    # fnmatch's * crosses "/", uses "!" for negation, and is case-folded on
    # some platforms; Go's does none of that.
    assert fnmatch.fnmatchcase("a/b", "*")
    assert not go_match("*", "a/b")
    assert fnmatch.fnmatchcase("b", "[!a]")
    assert not go_match("[!a]", "b")
    assert go_match("[^a]", "b")


def test_utf8_bom_before_the_first_rule_is_dropped() -> None:
    # Helm 4 leaves secret.txt out of a chart whose .helmignore starts with a BOM
    # (checked with helm-sdkpy's Package); the first rule must still apply.
    r = HelmIgnore.parse(b"\xef\xbb\xbfsecret.txt\nother.txt\n")
    assert r.patterns == ("secret.txt", "other.txt")
    assert r.ignored("secret.txt", False)
    assert HelmIgnore.parse("\ufeffsecret.txt").ignored("secret.txt", False)
    # Only at the very start: a BOM later on is part of the pattern.
    assert HelmIgnore.parse("a\n\ufeffb\n").patterns == ("a", "\ufeffb")


def test_star_patterns_match_in_linear_time() -> None:
    # Exponential (backtracking) matching would never finish on these; Go's
    # algorithm retries each chunk once per position only.
    from bpkit.helm.helmignore import MATCH_STEPS_PER_BYTE, _bounded_match, _compile

    name = b"a" * 4000
    chunks = _compile(b"*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b")
    # The budget is the proof of linearity: a budget of a few steps per byte suffices.
    assert _bounded_match(chunks, name, 4 * len(name)) is False
    assert HelmIgnore.parse("*a*a*a*a*a*a*a*a*b").ignored("a" * 200 + "b", False)
    assert MATCH_STEPS_PER_BYTE <= 64


def test_a_pattern_too_costly_to_match_is_refused_with_its_line() -> None:
    from bpkit.helm.helmignore import HelmIgnoreTooCostly

    # A long chunk that fails late costs len(chunk) steps at every position.
    r = HelmIgnore.parse("ok.txt\n*" + "?" * 5000 + "b\n")
    with pytest.raises(HelmIgnoreTooCostly) as info:
        r.ignored("a" * 6000, False)
    message = str(info.value)
    assert message.startswith(".helmignore:2: pattern '*???")
    assert "\n" not in message and len(message) < 300
    assert isinstance(info.value, PackageError)
    # The same rule is fine on a short name (it fails at once: too short).
    assert not r.ignored("abc", False)
