"""Property-based checks of the parsers that take outside input: the YAML
loader's guards and .helmignore matching. Bounded (max_examples, deadline)
so the whole file runs in a few seconds."""

from __future__ import annotations

import os
import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bpkit.helm.helmignore import (
    HelmIgnore,
    HelmIgnoreTooCostly,
    _bounded_match,
    _compile,
    _go_match,
)
from bpkit.yamlio.load import Document, parse

# BPKIT_HYPOTHESIS_EXAMPLES=3000 for a longer hunt (passes, in about 2.5 min).
_EXAMPLES = int(os.environ.get("BPKIT_HYPOTHESIS_EXAMPLES", "300"))
_FAST = settings(max_examples=_EXAMPLES, deadline=2000,
                 suppress_health_check=[HealthCheck.too_slow])

# Pieces of YAML that stress the pre-scan: brackets, quotes, comments,
# block indicators, document markers, anchors and aliases.
_PIECES = st.sampled_from([
    "[", "]", "{", "}", ",", ":", ": ", "- ", "? ", "#", " #", "'", '"', "\\", "''",
    "\n", "\n  ", "\n    ", "|\n", ">-\n", "---\n", "...\n", "&a ", "*a", "a", "1", "x: ",
    "http://h:1", "!!str ", "\t", "\ufeff",
])


@settings(_FAST, max_examples=max(_EXAMPLES // 2, 1))
@given(st.lists(_PIECES, max_size=80), st.integers(min_value=0, max_value=400),
       st.sampled_from(["values.yaml", "Chart.yaml", "blueprint.yaml"]))
def test_loader_never_crashes(pieces: list[str], depth: int, name: str) -> None:
    text = "[" * depth + "".join(pieces) + "]" * (depth // 2)
    doc, problems = parse(text, Path(name), name)
    assert doc is None or isinstance(doc, Document)
    assert doc is not None or problems, "no document and no problem"
    for problem in problems:
        assert problem.path == name and "\n" not in problem.message
        assert problem.rule.startswith("yaml-")


_NAME_CHARS = st.sampled_from([*"ab.-_/x", "é"])
_PATTERN_ATOMS = st.sampled_from(
    ["a", "b", ".", "x", "*", "?", "[ab]", "[^a]", "[a-c]", "é", "\\*"])


def _reference(pattern: str, name: str) -> bool:
    """Go's Match for this subset, as a regex with atomic groups: no backtracking."""
    out = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            end = pattern.index("]", i)
            body = pattern[i + 1:end]
            out.append("[^" + body[1:] + "]" if body.startswith("^") else "[" + body + "]")
            i = end
        elif ch == "\\":
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(ch))
        i += 1
    return re.fullmatch("".join(out), name, re.DOTALL) is not None


@_FAST
@given(st.lists(_PATTERN_ATOMS, min_size=1, max_size=10), st.text(_NAME_CHARS, max_size=24))
def test_matching_agrees_with_go_and_a_reference(atoms: list[str], name: str) -> None:
    pattern = "".join(atoms)
    raw_p, raw_n = pattern.encode(), name.encode()
    fast = _bounded_match(_compile(raw_p), raw_n, 10**9)
    assert fast is _go_match(raw_p, raw_n)
    assert fast is _reference(pattern, name)


@settings(max_examples=60, deadline=2000)
@given(st.lists(_PATTERN_ATOMS, min_size=1, max_size=40), st.integers(1, 3000))
def test_matching_is_never_slow(atoms: list[str], size: int) -> None:
    # Long names against star-heavy patterns: done within the step budget, or
    # refused with a one-line error; never minutes of work.
    rules = HelmIgnore.parse(re.sub(r"\*+", "*", "".join(atoms)))
    try:
        rules.ignored("a" * size, False)
    except HelmIgnoreTooCostly as exc:
        assert "\n" not in str(exc)


@_FAST
@given(st.lists(st.sampled_from(["[", "]", "{", "}", ", ", "a", ": ", " #", "#", "\n", "\n  ",
                                 "- ", "[]", "{}", "|\n", "x: "]), max_size=60))
def test_the_cheap_nesting_bound_never_misses_deep_nesting(pieces: list[str]) -> None:
    # With a small limit, whatever the exact count (the parser's events) finds
    # too deep, the pre-scan must find too deep as well: it may only err high.
    from unittest import mock

    from bpkit.yamlio import load

    text = "".join(pieces)
    with mock.patch.object(load, "MAX_DEPTH", 3):
        if load._exact_depth(text) is not None:
            assert load._too_deep(text) is not None
        assert load._flow_bound(text) >= _true_flow_depth(text)


def _true_flow_depth(text: str) -> int:
    """Deepest flow nesting by the parser's events (0 where it gives up)."""
    from ruamel.yaml.error import YAMLError
    from ruamel.yaml.events import CollectionEndEvent, CollectionStartEvent

    from bpkit.yamlio.load import _new_loader

    parser = _new_loader(text)
    depth = deepest = 0
    flows: list[bool] = []
    try:
        while (event := parser.get_event()) is not None:
            if isinstance(event, CollectionStartEvent):
                flows.append(bool(event.flow_style))
                depth += flows[-1]
                deepest = max(deepest, depth)
            elif isinstance(event, CollectionEndEvent):
                depth -= flows.pop()
            if type(event).__name__ == "StreamEndEvent":
                break
    except YAMLError:  # a syntax error ends the count
        pass
    return deepest
