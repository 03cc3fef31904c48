"""bpkit.yamlio.edit: one scalar changes, every other byte stays."""

from __future__ import annotations

import pytest

from bpkit.yamlio.edit import Edit, EditError, apply_edits, render_scalar

FLOW = ('# header comment\ncatalystBlueprint:\n'
        '  upstream: { chart: cert-manager, version: "1.16.2", repo: "https://charts.jetstack.io" }'
        '  # pinned\n\n# --- overlay ---\nreplicaCount: 1\n')


def only_difference(before: str, after: str, old: str, new: str) -> None:
    assert after.replace(new, old, 1) == before


def test_a_flow_mapping_keeps_its_quotes_and_comments() -> None:
    out = apply_edits(FLOW, [Edit(("catalystBlueprint", "upstream", "version"), "1.17.0")])
    only_difference(FLOW, out, '"1.16.2"', '"1.17.0"')


@pytest.mark.parametrize(("scalar", "new", "expected"), [
    ("1.0.0", "1.1.0", "1.1.0"),                 # plain stays plain
    ("'1.0.0'", "2.0.0", "'2.0.0'"),             # single quotes stay
    ('"1.0.0"', "2.0.0-rc.1", '"2.0.0-rc.1"'),   # double quotes stay
    ("1.0.0", "1.0", '"1.0"'),                   # plain would turn into a number: quoted
    ("x", "yes", '"yes"'),                       # ... or a YAML 1.1 boolean
    ("'a'", "it's", "'it''s'"),
])
def test_quote_style_is_kept_unless_the_meaning_would_change(scalar: str, new: str,
                                                             expected: str) -> None:
    text = f"a: 1\nversion: {scalar}   # trailing\nb: 2\n"
    out = apply_edits(text, [Edit(("version",), new)])
    assert out == f"a: 1\nversion: {expected}   # trailing\nb: 2\n"


def test_crlf_bom_and_non_ascii_text_before_the_scalar_survive() -> None:
    text = "\ufeff# grüße\r\nspec:\r\n  title: 'Über'\r\n  version: 1.0.0\r\n"
    out = apply_edits(text, [Edit(("spec", "version"), "1.0.1")])
    assert out == "\ufeff# grüße\r\nspec:\r\n  title: 'Über'\r\n  version: 1.0.1\r\n"


def test_several_edits_apply_back_to_front() -> None:
    text = "version: 1.0.0\nspec: {version: 1.0.0, other: x}\n"
    out = apply_edits(text, [Edit(("version",), "10.20.30"), Edit(("spec", "version"), "2.0.0")])
    assert out == "version: 10.20.30\nspec: {version: 2.0.0, other: x}\n"


@pytest.mark.parametrize(("text", "keypath", "why"), [
    ("a: 1\n", ("b",), "not set"),
    ("a:\n  b: 1\n", ("a",), "not a scalar"),
    ("a: |\n  text\n", ("a",), "block scalar"),
    ("a: &x 1\nb: *x\n", ("a",), "anchor"),
    ("a: &x 1\nb: *x\n", ("b",), "anchor"),
    ("a: [1\n", ("a",), "cannot edit"),
    ("", ("a",), "cannot edit"),
])
def test_what_cannot_be_edited_in_place_is_a_one_line_error(text: str, keypath: tuple[str, ...],
                                                            why: str) -> None:
    with pytest.raises(EditError) as info:
        apply_edits(text, [Edit(keypath, "2")], display="values.yaml")
    assert why in info.value.message and "values.yaml" in info.value.message
    assert "\n" not in info.value.message


def test_render_scalar_never_changes_meaning() -> None:
    from pathlib import Path

    from bpkit.yamlio.load import parse

    for value in ("1.2.3", "on", "", " x", "a: b", "#x", "0755", "12:30", "null", "1e3",
                  "v1.2.3", "x\ny", "~"):
        for style in (None, "'", '"'):
            doc, _ = parse(f"k: {render_scalar(value, style)}\n", Path("x"), "x")
            assert doc is not None and doc.data == {"k": value}, (value, style)
