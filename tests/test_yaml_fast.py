"""The YAML fast path (bpkit.yamlio.fast) against the full loader.

The fast path must read what it accepts exactly as the full loader does:
the same data (types and key order included), the same duplicate-key and
YAML 1.1 problems at the same positions, and the same node positions when a
rule asks for one. Everything else it must leave to the full loader. The
comparison runs on every YAML file of the corpus, of platform/ and of the
bench generator, and on thousands of generated documents and mutations of
them, which hit the edges of the subset (indentation, comments, quotes,
block scalars, flow collections, look-alike scalars).
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from bpkit.yamlio import load as L
from bpkit.yamlio.fast import FAST_MAX_CHARS

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus"


def _full(text: str) -> tuple[str, list[object]]:
    doc, problems = L.parse(text, Path("f.yaml"), "f.yaml", fast=False)
    return (repr(doc.data) if doc is not None else "<none>"), problems


def _fast(text: str) -> tuple[str, list[object]] | None:
    read = L._fast(text, Path("f.yaml"), "f.yaml")
    if read is None:
        return None
    doc, problems = read
    return repr(doc.data), problems


def _agree(text: str) -> bool:
    """Whether the fast path took the text (asserting it agrees with the full loader)."""
    quick = _fast(text)
    if quick is None:
        return False
    assert quick == _full(text), text
    return True


def _yaml_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def test_platform_files_take_the_fast_path_and_agree() -> None:
    files = _yaml_files(REPO / "platform")
    assert len(files) >= 30
    taken = [f for f in files if _agree(f.read_text())]
    assert len(taken) == len(files), sorted(set(map(str, files)) - set(map(str, taken)))


def test_generated_bench_blueprints_take_the_fast_path(tmp_path: Path) -> None:
    import sys

    sys.path.insert(0, str(REPO / "bench"))
    try:
        from gen_blueprints import generate
    finally:
        sys.path.remove(str(REPO / "bench"))
    generate(tmp_path, 20)
    files = _yaml_files(tmp_path / "platform")
    assert len(files) == 60
    assert all(_agree(f.read_text()) for f in files)


def test_corpus_files_agree() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"the corpus is looked for at {CORPUS}")
    files = _yaml_files(CORPUS)
    assert len(files) > 100
    taken = sum(_agree(f.read_text(errors="replace")) for f in files)
    assert taken >= 0.9 * len(files)  # the speed-up is real on real files


CASES = [
    # (text, whether the fast path takes it)
    ("a: 1\nb: yes\nc: 010\nd: 1:30\ne: ~\nf: 2024-01-02\ng: 1e3\nh: .inf\n", True),
    ("on: 1\nn: 2\ny: 3\n'on': 4\n", True),
    ("a: 1\na: 2\n'a': 3\n\"a\": 4\n1: x\n'1': y\n1: z\n", True),
    ("k:\n- a\n- b\nj: 1\n", True),
    ("k:\n  - a\n  -\n    x: 1\n  - c: 1\n    d: [1, 'two', \"3\"]\n", True),
    ("d: |\n  one\n    two\n\n  three\n\n\nnext: 1\n", True),
    ("d: |-\n  one\n  two\n", True),
    ("d: >\n  one\n  two\n\n  three\n", True),
    ("d: >-\n  one\n  two", True),
    ("d: |\n  no newline at the end", True),
    ("u:\n  { chart: x, version: \"1.0\", repo: 'https://x/y' }\n", True),
    ("m: { a: { b: [1, 2, { c: d }] }, e: [] , f: {} }  # c\n", True),
    ("m: {a: 1, a: {b: 1, b: 2}}\nn: {a: x, a: \"y\"}\n", True),  # the order of duplicates
    ("a: it's # comment\nb: a#b\nc: a,b\nd: x :y\n", True),
    ("# only a comment\n\n", True),
    ("", True),
    ("- a\n- b: 1\n  c: 2\n-\n- [x]\n", True),
    ("a:\n  b: 1\n c: 2\n", False),  # bad indentation
    ("a: b: c\n", False),
    ("a: &x 1\nb: *x\n", False),
    ("a: !t 1\n", False),
    ("<<: {a: 1}\n", False),
    ("a: 'multi\n  line'\n", False),
    ("a: plain\n  continued\n", False),
    ("a:\tb\n", False),
    ("a: 1\n---\nb: 2\n", False),
    ("? a\n: b\n", False),
    ("a: [1,\n  2]\n", False),
    ("a: \"esc\\n\"\n", False),
    ("a: |2\n   x\n", False),
    ("a: @x\n", False),
    ("a: [a, b, ]\n", False),
    ("a: {b}\n", False),
    ("- - a\n", False),
    ("a: x\r\nb: y\r\n", False),
]


@pytest.mark.parametrize(("text", "taken"), CASES)
def test_cases(text: str, taken: bool) -> None:
    assert _agree(text) is taken


def test_positions_from_a_fast_document_are_the_full_loaders() -> None:
    text = "a:\n  b: [1, {c: d}]\n  e:\n  - f: 1\n    g: 'x'\nh: |\n  t\n"
    quick, _ = L.parse(text, Path("f.yaml"), "f.yaml")
    full, _ = L.parse(text, Path("f.yaml"), "f.yaml", fast=False)
    assert isinstance(quick, L.LazyDocument) and not isinstance(full, L.LazyDocument)
    for keypath in [(), ("a",), ("a", "b"), ("a", "b", 1, "c"), ("a", "e", 0, "g"), ("h",),
                    ("missing",), ("a", "e", 5)]:
        for key in (False, True):
            assert quick.at(keypath, key=key) == full.at(keypath, key=key)


def test_deep_nesting_goes_to_the_full_loader() -> None:
    block = "".join(" " * depth + f"k{depth}:\n" for depth in range(80)) + " " * 80 + "v: 1\n"
    flow = "a: " + "[" * 70 + "]" * 70 + "\n"
    for text in (block, flow):
        assert _fast(text) is None
        assert _full(text)[0].startswith("{")


def test_large_texts_go_to_the_full_loader() -> None:
    text = "a: 1\n" + "# padding\n" * (FAST_MAX_CHARS // 10 + 1)
    assert _fast(text) is None
    assert _full(text)[0] == "{'a': 1}"


# -- generated documents -----------------------------------------------------

_KEYS = ["a", "b", "name", "on", "y", "n", "no", "1", "'1'", '"a"', "'a'", "null", "true",
         "x.y/z", "k-1", "0o7", "010", "'it''s'", "a ", "1.0", "a", "b"]
_ODD_KEYS = ["a b", "-k", "x:y", "<<", "~", "é", "k#", "? k", "[k]", "&a k", "'k"]


def _key(rng: random.Random) -> str:
    return rng.choice(_ODD_KEYS if rng.random() < 0.05 else _KEYS)
_SCALARS = ["v", "yes", "No", "on", "010", "0o17", "0x1F", "1:30", "12", "-3", "+4", "1.5", ".5",
            "1e3", "1_000", "true", "False", "null", "~", "2024-01-02", "2024-01-02 10:00:00",
            "a b", "http://x.y/z", "a#b", "a #b", "a,b", "it's", "-x", "x:y", "é", "\"q\"",
            "'s''t'", "\"a # b\"", "'a: b'", "\"\"", "''", ".inf", ".NaN", "0b101", "1__0",
            "x\\y", "(a)", "^1.0", "$x", "a  b", "a :b", "\"a\" ", "'q' #c"]
_ODD_SCALARS = ["=", "<<", "a: b", "#x", "*a", "&a", "!t", "@x", "`x", "%x", "?x", "[x", "{x",
                "x]", "- x", "-", "a:", "2001-13-45", "\"a\"b", "'a' b", "\"a\\\"b\""]
_FLOW_SCALARS = ["v", "1", "yes", "-1", "'q'", "\"q, r\"", "a b", "x:y", "x.y", "~", "null",
                 "", "{}", "[]", "a#b", "-"]


def _scalar(rng: random.Random) -> str:
    return rng.choice(_ODD_SCALARS if rng.random() < 0.05 else _SCALARS)


def _flow(rng: random.Random, depth: int) -> str:
    if depth > 2 or rng.random() < 0.5:
        return rng.choice(_FLOW_SCALARS)
    items = [_flow(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    sep = rng.choice([", ", ",", " , "])
    if rng.random() < 0.5:
        return "[" + rng.choice(["", " "]) + sep.join(items) + rng.choice(["", " "]) + "]"
    pairs = [f"{_key(rng)}:{rng.choice([' ', '  ', ''])}{item}" for item in items]
    return "{" + rng.choice(["", " "]) + sep.join(pairs) + rng.choice(["", " "]) + "}"


def _comment(rng: random.Random) -> str:
    return rng.choice(["", "", "", " # c", "  #c", "#x", " #"])


def _block(rng: random.Random, indent: int, depth: int, out: list[str]) -> None:
    """Lines of a block mapping or sequence at `indent`."""
    pad = " " * indent
    if rng.random() < 0.3:
        for _ in range(rng.randint(1, 3)):
            _node(rng, pad + "-", indent, depth, out, in_sequence=True)
        return
    for _ in range(rng.randint(1, 4)):
        key = _key(rng)
        _node(rng, f"{pad}{key}:", indent, depth, out, in_sequence=False)


def _node(rng: random.Random, head: str, indent: int, depth: int, out: list[str], *,
          in_sequence: bool) -> None:
    roll = rng.random()
    if rng.random() < 0.1:
        out.append(rng.choice(["", "# note", "   # note", "  "]))
    if depth < 4 and roll < 0.3:
        out.append(head + _comment(rng))
        step = rng.choice([1, 2, 2, 4]) if not (not in_sequence and rng.random() < 0.2) else 0
        _block(rng, indent + step, depth + 1, out)
    elif depth < 4 and roll < 0.4 and in_sequence:
        # `- key: value` and further keys at the column after the dash
        spaces = rng.choice([1, 1, 3])
        first = f"{_key(rng)}: {_scalar(rng)}"
        out.append(head + " " * spaces + first)
        col = len(head) + spaces
        for _ in range(rng.randint(0, 2)):
            out.append(" " * col + f"{_key(rng)}: {_scalar(rng)}")
    elif roll < 0.5:
        out.append(head + " " + _flow(rng, 0) + _comment(rng))
    elif roll < 0.55:
        out.append(head)
        out.append(" " * (indent + 2) + _flow(rng, 0))
    elif roll < 0.65 and not in_sequence:
        out.append(head + " " + rng.choice(["|", "|-", ">", ">-", "|+", "|2"]) + _comment(rng))
        inner = indent + rng.choice([1, 2, 4])
        for _ in range(rng.randint(0, 4)):
            out.append(rng.choice([" " * inner + rng.choice(["text", "# hash", "a: b", "x"]),
                                   "", " " * (inner + 2) + "more", " " * inner + " ",
                                   " " * max(indent - 1, 0) + "less"]))
    elif roll < 0.7:
        out.append(head)  # null
    else:
        out.append(head + rng.choice([" ", "  "]) + _scalar(rng) + _comment(rng))


def _document(rng: random.Random) -> str:
    out: list[str] = []
    _block(rng, rng.choice([0, 0, 0, 2]), 0, out)
    return "\n".join(out) + rng.choice(["\n", "\n", "", "\n\n"])


def _mutate(rng: random.Random, text: str) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 3)):
        if not chars:
            break
        where = rng.randrange(len(chars))
        what = rng.random()
        if what < 0.4:
            del chars[where]
        elif what < 0.8:
            chars.insert(where, rng.choice(" :-#'\"[]{},|>\n\tx1"))
        else:
            chars[where] = rng.choice(" :-#x")
    return "".join(chars)


@pytest.mark.parametrize("block", range(8))
def test_generated_documents_agree(block: int) -> None:
    rng = random.Random(1000 + block)
    taken = total = 0
    for _ in range(500):
        text = _document(rng)
        for candidate in (text, _mutate(rng, text)):
            total += 1
            taken += _agree(candidate)
    assert taken >= total // 8, (taken, total)  # the generator reaches the fast path


def test_a_float_without_a_dot_puts_nothing_on_stderr() -> None:
    """ruamel warns of `1e3` over ten lines of stderr, quoting the file; bpkit silences it."""
    import subprocess
    import sys

    code = ("from pathlib import Path; from bpkit.yamlio.load import parse; "
            "print(parse('g: 1e3\\n', Path('v.yaml'), 'v.yaml', fast=False)[0].data)")
    run = subprocess.run([sys.executable, "-W", "default", "-c", code], capture_output=True,
                         text=True, cwd=REPO, timeout=60, check=False)
    assert run.returncode == 0
    assert run.stdout == "{'g': 1000.0}\n"
    assert run.stderr == ""


def test_the_resolvers_are_ruamels_own() -> None:
    """bpkit.yamlio.scalars copies ruamel's implicit resolvers: same tags, order and patterns."""
    from ruamel.yaml.resolver import Resolver

    from bpkit.yamlio import scalars

    def pattern(regex: object) -> tuple[str, int]:
        lazy = getattr(regex, "lazy_self", None)
        real = lazy() if callable(lazy) else regex
        return real.pattern, real.flags  # type: ignore[attr-defined]

    theirs = {first: [(str(tag), pattern(regex)) for tag, regex in entries]
              for first, entries in Resolver.yaml_implicit_resolvers.items()}
    ours = {first: [(tag, (regex.pattern, regex.flags)) for tag, regex in entries]
            for first, entries in scalars.IMPLICIT.items()}
    assert ours == theirs


@pytest.mark.parametrize("value", [
    "0", "7", "-7", "+7", "010", "0o17", "0x1F", "0b11", "1_000", "12345678901234567890",
    "1.5", "-1.5", "+0.25", "1.", ".5", "1e3", "1.5e3", "1_0.5", ".inf", "-.Inf", ".nan",
    "true", "True", "TRUE", "false", "FALSE", "tRue", "null", "Null", "NULL", "~", "nULL",
    "2024-01-02", "2024-01-02 10:00:00", "2024-1-2T3:04:05Z", "yes", "no", "1.2.3", "-",
    "-x", "+", ".", "0.x", "v1",
])
def test_plain_scalars_are_built_as_ruamel_builds_them(value: str) -> None:
    quick = _fast(f"k: {value}\n")
    full = _full(f"k: {value}\n")
    if quick is not None:
        assert quick == full


def test_a_clean_lint_imports_no_yaml_library(tmp_path: Path) -> None:
    """Every file of a generated tree takes the fast path: ruamel.yaml is not even imported."""
    import os
    import subprocess
    import sys

    sys.path.insert(0, str(REPO / "bench"))
    try:
        from gen_blueprints import generate
    finally:
        sys.path.remove(str(REPO / "bench"))
    generate(tmp_path / "repo", 5, tmp_path / "cache")
    code = ("import sys\nfrom bpkit.cli import main\n"
            "try:\n    main(['lint', '--no-cache', 'platform/'])\n"
            "except SystemExit as e:\n    code = e.code\n"
            "print('YAML', sorted({m for m in sys.modules if m.startswith('ruamel')}), code)\n")
    env = {**os.environ, "PYTHONPATH": str(REPO), "BPKIT_CACHE_DIR": str(tmp_path / "cache")}
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path / "repo", env=env,
                         capture_output=True, text=True, timeout=120, check=False)
    assert "5 blueprints clean" in run.stdout, run.stdout + run.stderr
    assert "YAML [] 0" in run.stdout, run.stdout + run.stderr
