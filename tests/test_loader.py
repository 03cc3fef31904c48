from __future__ import annotations

import os
from pathlib import Path

import pytest

from bpkit.yamlio.load import MAX_DEPTH, MAX_FILE_BYTES, load, parse


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
    # Outside values.yaml and Chart.yaml (blueprint.yaml: one document).
    doc, problems = p("a: 1\n---\nb: 2\n")
    assert doc is None and problems[0].rule == "yaml-syntax" and problems[0].line == 2
    doc, problems = parse("a: 1\n---\nb: 2\n", Path("blueprint.yaml"), "blueprint.yaml")
    assert doc is None and problems[0].rule == "yaml-syntax"


def v(text: str):  # type: ignore[no-untyped-def]
    return parse(text, Path("chart/values.yaml"), "values.yaml")


def test_values_documents_are_merged_as_helm_4_does() -> None:
    doc, problems = v("a: 1\nb: {p: 1, q: 2}\nl: [1]\n---\na: 2\nb: {q: 3}\nc: second\n---\n")
    assert problems == [] and doc is not None
    assert doc.data == {"a": 2, "b": {"p": 1, "q": 3}, "l": [1], "c": "second"}
    # Positions point into the document whose value won.
    assert doc.at(("b", "q")) == (6, 8)
    assert doc.at(("b", "p")) == (2, 8)
    assert doc.at(("c",)) == (7, 4)


def test_values_documents_must_be_mappings_and_separators_bare() -> None:
    doc, problems = v("a: 1\n---\n- x\n")
    assert doc is None and [(x.rule, x.line) for x in problems] == [("yaml-syntax", 3)]
    doc, problems = v("a: 1\n--- {b: 2}\n")
    assert doc is None and [(x.rule, x.line) for x in problems] == [("yaml-syntax", 2)]
    doc, problems = v("a: 1\n--- # a comment\nb: 2\n")
    assert doc is not None and doc.data == {"a": 1, "b": 2}
    doc, problems = v("a: 1\n---\nb: [1, 2\n")  # the error's line is the file's line
    assert doc is None and problems[0].rule == "yaml-syntax" and problems[0].line == 4


def test_chart_yaml_is_its_first_document() -> None:
    # sigs.k8s.io/yaml reads the first document and never looks at the rest.
    texts = ("apiVersion: v2\nname: c\n---\n[not yaml\n", "# c\n---\napiVersion: v2\nname: c\n")
    for text in texts:
        doc, problems = parse(text, Path("Chart.yaml"), "Chart.yaml")
        assert problems == [] and doc is not None
        assert doc.data == {"apiVersion": "v2", "name": "c"}


@pytest.mark.parametrize("shape", ["flow", "map", "unclosed", "dashes", "block", "indentless"])
def test_deep_nesting_is_refused_before_the_c_parser(shape: str) -> None:
    # 100,000 levels of these kill the process with a segfault in the C parser.
    n = 100_000
    text = {
        "flow": "a: " + "[" * n + "]" * n,
        "map": "a: " + "{a: " * n + "1" + "}" * n,
        "unclosed": "x: 1\nb: " + "[" * n,
        "dashes": "- " * n + "x",
        "block": "".join(" " * i + "a:\n" for i in range(2000)),
        "indentless": "".join(" " * i + "a:\n" + " " * i + "-\n" for i in range(1000)),
    }[shape]
    doc, problems = v(text)
    assert doc is None
    assert [x.rule for x in problems] == ["yaml-limits"]
    assert f"deeper than {MAX_DEPTH} levels" in problems[0].message
    assert problems[0].line == (2 if shape == "unclosed" else 201 if shape in (
        "block", "indentless") else 1)


def test_nesting_up_to_the_limit_loads() -> None:
    depth = MAX_DEPTH - 1  # plus the top-level mapping
    doc, problems = v("a: " + "[" * depth + "1" + "]" * depth)
    assert problems == [] and doc is not None
    inner = doc.data["a"]
    for _ in range(depth - 1):
        inner = inner[0]
    assert inner == [1]
    block = "".join(" " * i + "a:\n" for i in range(MAX_DEPTH - 1)) + " " * MAX_DEPTH + "b\n"
    doc, problems = v(block)
    assert problems == [] and doc is not None


def test_many_brackets_that_do_not_nest_take_the_exact_path() -> None:
    # More brackets than MAX_DEPTH, but flat: counted exactly, not refused.
    doc, problems = v("a: [" + ", ".join("[1]" for _ in range(3 * MAX_DEPTH)) + "]\n")
    assert problems == [] and doc is not None and len(doc.data["a"]) == 3 * MAX_DEPTH
    doc, problems = v("".join(f"k{i}: '{'[' * 5}'\n" for i in range(MAX_DEPTH)))
    assert problems == [] and doc is not None


def test_only_alias_expansion_counts_towards_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    import bpkit.yamlio.load

    monkeypatch.setattr(bpkit.yamlio.load, "MAX_EXPANDED_NODES", 1000)
    honest = "a: [" + ", ".join(f"{{id: {i}, v: x}}" for i in range(3000)) + "]\n"
    doc, problems = v(honest)  # 12,000 nodes, no alias
    assert problems == [] and doc is not None and len(doc.data["a"]) == 3000
    bomb = "x: &x [" + ", ".join(["1"] * 100) + "]\ny: [" + ", ".join(["*x"] * 20) + "]\n"
    doc, problems = v(bomb)  # 20 aliases of 101 nodes each
    assert doc is None and problems[0].rule == "yaml-limits" and "alias" in problems[0].message


@pytest.mark.parametrize(
    ("text", "data"),
    [
        ("env: {URL: http://x}\n", {"env": {"URL": "http://x"}}),
        ("args: [--x=https://y]\n", {"args": ["--x=https://y"]}),
        ("a: {url: http://h:80/p, b: [c:d]}\n", {"a": {"url": "http://h:80/p", "b": ["c:d"]}}),
    ],
)
def test_plain_scalars_libyaml_refuses_but_helm_reads(text: str, data: object) -> None:
    doc, problems = v(text)
    assert problems == [] and doc is not None and doc.data == data


def test_what_both_parsers_refuse_is_a_syntax_error_at_the_c_parsers_position() -> None:
    doc, problems = v("a: {b: c\nd: 1\n")
    assert doc is None and [(x.rule, x.line) for x in problems] == [("yaml-syntax", 2)]


def test_a_fifo_or_a_device_is_not_read(tmp_path: Path) -> None:
    fifo = tmp_path / "values.yaml"
    os.mkfifo(fifo)  # opening it for reading would block without O_NONBLOCK
    doc, problems = load(fifo)
    assert doc is None and [(x.rule, x.message) for x in problems] == [
        ("file-unreadable", "not a regular file")]
    link = tmp_path / "Chart.yaml"
    link.symlink_to("/dev/zero")
    doc, problems = load(link)
    assert doc is None and problems[0].message == "not a regular file"


def test_bytes_that_are_not_utf8_name_file_and_line(tmp_path: Path) -> None:
    f = tmp_path / "values.yaml"
    f.write_bytes(b"a: 1\nb: caf\xe9\n")
    doc, problems = load(f, "values.yaml")
    assert doc is None
    assert [(x.path, x.rule, x.line, x.col) for x in problems] == [
        ("values.yaml", "yaml-encoding", 2, 7)]
    assert "0xe9" in problems[0].message


@pytest.mark.parametrize(("text", "line", "col"), [
    ("a: 1\nb: x\x1by\n", 2, 5),
    ('a: "\u00e9\u00e9\u00e9"\nb: x\u00e9\x1by\n', 2, 6),  # two bytes each before it
    ('a: "\U0001f600"\nb: x\x1by\n', 2, 5),  # four bytes
    ("a: 1\r\nb: x\x1by\n", 2, 5),
    ("a: 1\nb: |\n  x\x07y\n", 3, 4),
    ("\x07", 1, 1),
    ("a: 1\n---\nb: \x1b\n", 3, 4),  # a later document of values.yaml
])
def test_a_control_character_is_named_at_its_line_and_column(text: str, line: int,
                                                             col: int) -> None:
    # The C parser's ReaderError gives a byte offset in "<unicode string>".
    doc, problems = parse(text, Path("values.yaml"), "values.yaml")
    assert doc is None
    assert [(x.path, x.rule, x.line, x.col) for x in problems] == [
        ("values.yaml", "yaml-syntax", line, col)]
    code = ord(next(c for c in text if c in "\x07\x1b"))
    assert problems[0].message.startswith(f"character U+{code:04X} is not allowed in YAML")
    assert "position" not in problems[0].message and "unicode string" not in problems[0].message


@pytest.mark.helm
def test_helm_refuses_the_control_character_too(tmp_path: Path) -> None:
    try:
        from tests.integration import helmcheck
    except ImportError:  # pragma: no cover
        import helmcheck  # type: ignore[import-not-found,no-redef]
    helmcheck.require_helm()
    chart = tmp_path / "c"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 1.0.0\n")
    for text, refused in (("a: 1\nb: xy\n", False), ("a: 1\nb: x\x1by\n", True)):
        (chart / "values.yaml").write_text(text)
        result = helmcheck.lint(chart)
        assert bool(result["Errors"]) is refused, result
        assert bool(p(text)[1]) is refused


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


@pytest.mark.helm
@pytest.mark.parametrize(("const_a", "helm_ok"), [(2, True), (1, False)])
def test_multi_document_files_read_as_real_helm_reads_them(
        tmp_path: Path, const_a: int, helm_ok: bool) -> None:
    """Helm 4 merges values.yaml's documents and reads Chart.yaml's first one.

    The template renders valid YAML only when the values Helm loaded are the
    expected merge; the failing variant shows the check bites. (Helm's lint
    checks values.schema.json against the first document only, while
    rendering and install use the merge: bpkit follows the merge.)
    """
    try:
        from tests.integration import helmcheck
    except ImportError:  # pragma: no cover
        import helmcheck  # type: ignore[import-not-found,no-redef]
    helmcheck.require_helm()
    chart = tmp_path / "c"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 1.0.0\n---\n[not yaml\n")
    values = "a: 1\nb: {p: first, q: 1}\n---\na: 2\nb: {q: 2}\nc: second\n"
    (chart / "values.yaml").write_text(values)
    merged = (f'and (eq (int .Values.a) {const_a}) (eq .Values.b.p "first") '
              '(eq (int .Values.b.q) 2) (eq .Values.c "second")')
    (chart / "templates" / "cm.yaml").write_text(
        f"{{{{ if {merged} }}}}apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: x}}\n"
        "{{ else }}a: [not: yaml\n{{ end }}\n")
    result = helmcheck.lint(chart)
    assert (not result["Errors"]) is helm_ok, result
    doc, problems = v(values)
    assert problems == [] and doc is not None
    assert doc.data == {"a": 2, "b": {"p": "first", "q": 2}, "c": "second"}
    chart_doc, problems = parse((chart / "Chart.yaml").read_text(), chart / "Chart.yaml", "C")
    assert problems == [] and chart_doc is not None and chart_doc.data["name"] == "c"
