from __future__ import annotations

from pathlib import Path

from bpkit.yamlio.load import MAX_FILE_BYTES, load, parse


def p(text: str):  # type: ignore[no-untyped-def]
    return parse(text, Path("f.yaml"), "f.yaml")


def test_positions_of_keys_and_values() -> None:
    doc, problems = p("a:\n  b: [1, {c: 2}]\n")
    assert problems == [] and doc is not None
    assert doc.at(("a", "b")) == (2, 6)
    assert doc.at(("a", "b"), key=True) == (2, 3)
    assert doc.at(("a", "b", 1, "c")) == (2, 14)
    assert doc.at(("a", "missing")) == (2, 3)  # deepest existing part


def test_duplicate_keys_are_reported_and_loading_goes_on() -> None:
    doc, problems = p("a: 1\nb: 2\na: 3\n")
    assert doc is not None and doc.data["b"] == 2
    assert [(x.rule, x.line, x.col) for x in problems] == [("yaml-duplicate-key", 3, 1)]
    assert "first defined at line 1" in problems[0].message


def test_duplicates_inside_an_anchored_mapping_are_reported_once() -> None:
    _, problems = p("x: &m {a: 1, a: 2}\nq: *m\nz: *m\n")
    assert len(problems) == 1


def test_merge_keys_are_not_duplicates() -> None:
    doc, problems = p("base: &b {x: 1}\nc:\n  <<: *b\n  w: 2\n")
    assert problems == [] and doc is not None and doc.data["c"] == {"x": 1, "w": 2}


def test_multiple_documents_are_a_syntax_error() -> None:
    doc, problems = p("a: 1\n---\nb: 2\n")
    assert doc is None and problems[0].rule == "yaml-syntax" and problems[0].line == 2


def test_empty_file_is_a_document_without_data() -> None:
    doc, problems = p("# only a comment\n")
    assert problems == [] and doc is not None and doc.data is None


def test_deep_nesting_does_not_crash() -> None:
    doc, problems = p("[" * 5000 + "]" * 5000)
    assert doc is None or problems == []
    assert all(x.rule in ("yaml-limits", "yaml-syntax") for x in problems)


def test_file_over_the_limit_is_not_read(tmp_path: Path) -> None:
    big = tmp_path / "values.yaml"
    with big.open("wb") as fh:
        fh.truncate(MAX_FILE_BYTES + 1)
    doc, problems = load(big)
    assert doc is None and problems[0].rule == "yaml-limits"


def test_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    f = tmp_path / "a.yaml"
    f.write_bytes(b"\xef\xbb\xbfa: 1\n")
    doc, problems = load(f)
    assert problems == [] and doc is not None and doc.data == {"a": 1}


def test_folder_instead_of_file(tmp_path: Path) -> None:
    (tmp_path / "Chart.yaml").mkdir()
    doc, problems = load(tmp_path / "Chart.yaml")
    assert doc is None and problems[0].rule == "file-unreadable"


def test_values_helm_reads_differently_are_warned_about() -> None:
    doc, problems = p("on: 1\nmode: 0755\nat: 12:30\ncountry: NO\nlist: [yes, 'no', \"on\"]\n"
                      "fine: [true, 0, 10, 1.5, 0o17, yesterday]\nimage: nginx:1.2\n")
    assert doc is not None and doc.data["country"] == "NO"  # bpkit reads YAML 1.2
    found = {(x.line, x.col): x.message for x in problems}
    assert all(x.rule == "yaml-ambiguous-scalar" and x.level.value == "warning" for x in problems)
    assert sorted(found) == [(1, 1), (2, 7), (3, 5), (4, 10), (5, 8)]
    assert "boolean true" in found[(1, 1)]
    assert "octal (493)" in found[(2, 7)] and "decimal (755)" in found[(2, 7)]
    assert "base-60" in found[(3, 5)]
    assert "boolean false" in found[(4, 10)]
