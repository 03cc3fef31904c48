"""YAML loading that turns every kind of bad input into a Problem.

Parsing goes through ruamel.yaml's C parser (`compose`) and its safe
constructor, which is about five times faster than round-trip loading.
The composed node graph is kept so positions are looked up only for the
few paths a rule complains about. Before anything is constructed the node
graph is walked once to find duplicate keys, recursive aliases and alias
bombs, none of which may reach the rules (or a traceback).

Guards before the C parser: it composes recursively in C (a few ten
thousand levels of `[[[...` kill the process) and its scanner is quadratic
in flow depth, so nesting is bounded first (MAX_DEPTH): a cheap upper bound
from bracket counts and line prefixes, and only when that bound is over the
limit an exact count from the parser's event stream, which is iterative.

When the C parser refuses a `:` inside a plain scalar of a flow collection
(`{URL: http://x}`, `[--x=https://y]`), which Helm's go-yaml and YAML 1.2
accept, the pure-Python parser is asked too; only what both refuse is a
syntax error.

Several documents (`---`) are read as Helm reads that file: values.yaml
documents are merged (Helm 4's `loader.LoadValues`, later documents win,
mappings merged key by key), Chart.yaml is its first document
(sigs.k8s.io/yaml reads no further), anything else must be one document.
"""

from __future__ import annotations

import errno
import gc
import os
import re
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any

from bpkit.fsio import read_capped
from bpkit.limits import (
    HELM_MAX_FILE_BYTES,
    YAML_MAX_DEPTH,
    YAML_MAX_EXPANDED_NODES,
    YAML_MAX_NODES,
)
from bpkit.problem import Level, Problem
from bpkit.yamlio import scalars
from bpkit.yamlio.fast import Bail, fast_parse

if TYPE_CHECKING:  # ruamel.yaml is imported only when a file needs the full loader
    from ruamel.yaml.error import MarkedYAMLError, YAMLError
    from ruamel.yaml.nodes import MappingNode, Node, ScalarNode

# The bounds (and where each number comes from) live in bpkit.limits.
MAX_FILE_BYTES = HELM_MAX_FILE_BYTES
MAX_EXPANDED_NODES = YAML_MAX_EXPANDED_NODES
MAX_DEPTH = YAML_MAX_DEPTH
MAX_NODES = YAML_MAX_NODES

RULE_SYNTAX = "yaml-syntax"
RULE_ENCODING = "yaml-encoding"
RULE_DUPLICATE = "yaml-duplicate-key"
RULE_LIMITS = "yaml-limits"
RULE_FILE = "file-unreadable"
RULE_AMBIGUOUS = "yaml-ambiguous-scalar"

# Plain scalars that Helm's go-yaml (YAML 1.1) reads differently from YAML 1.2
# tools (and from bpkit): 1.1-only booleans, leading-zero octals, base-60 numbers.
_YAML11_FIRST = frozenset("yYnNoO0123456789+-")
_YAML11_BOOL = {**dict.fromkeys(("y", "Y", "yes", "Yes", "YES", "on", "On", "ON"), True),
                **dict.fromkeys(("n", "N", "no", "No", "NO", "off", "Off", "OFF"), False)}
_YAML11_OCTAL = re.compile(r"[-+]?0[0-7_]+")
_YAML11_BASE60 = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?")

_MERGE_TAG = "tag:yaml.org,2002:merge"

KeyPath = Sequence[str | int]


def display_path(path: Path) -> str:
    """A path as the user would type it: relative to cwd when under it.

    An absolute path without `..` under the working directory is cut by
    string (what relpath computes, at a tenth of its cost: three calls per
    blueprint).
    """
    text = str(path)
    if isinstance(path, PurePath) and text.startswith("/") and "/.." not in text:
        cwd = os.getcwd()
        if text == cwd:
            return "."
        prefix = cwd if cwd.endswith("/") else cwd + "/"
        if text.startswith(prefix):
            return text[len(prefix):]
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)
    return str(path) if rel.startswith("..") else rel


@dataclass
class Document:
    """A parsed YAML file plus what is needed to point into it."""

    path: Path
    display: str
    data: Any
    root: Node | None = field(repr=False, default=None)
    text: str = field(repr=False, default="")

    def node(self, keypath: KeyPath) -> tuple[Node | None, Node | None]:
        """(key node, value node) of the deepest existing prefix of keypath."""
        from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

        key_node: Node | None = None
        cur = self.root
        for part in keypath:
            if isinstance(cur, MappingNode):
                found = None
                for k, v in cur.value:
                    if isinstance(k, ScalarNode) and k.value == str(part):
                        found = (k, v)
                if found is None:
                    break
                key_node, cur = found
            elif isinstance(cur, SequenceNode) and isinstance(part, int):
                if not 0 <= part < len(cur.value):
                    break
                key_node, cur = None, cur.value[part]
            else:
                break
        return key_node, cur

    def at(self, keypath: KeyPath = (), *, key: bool = False) -> tuple[int, int]:
        """1-based (line, col) of a value, or of its key when `key`."""
        key_node, value_node = self.node(keypath)
        target = key_node if key and key_node is not None else value_node
        if target is None:
            return (1, 1)
        mark = target.start_mark
        return (mark.line + 1, mark.column + 1)

    def problem(
        self, keypath: KeyPath, rule: str, message: str, *,
        key: bool = False, level: Level = Level.ERROR,
    ) -> Problem:
        line, col = self.at(keypath, key=key)
        return Problem(self.display, line, col, rule, level, message)


class LazyDocument(Document):
    """A document the fast path read (bpkit.yamlio.fast): its node graph is
    composed from `text` by the full loader when first asked for, which only
    a problem's position or an edit does."""

    def __init__(self, path: Path, display: str, data: Any, text: str) -> None:
        self.path, self.display, self.data, self.text = path, display, data, text
        self._root: Node | None = None
        self._composed = False

    @property
    def root(self) -> Node | None:
        if not self._composed:
            self._composed = True
            full, _ = _parse_one(self.text, self.path, self.display,
                                 (MAX_EXPANDED_NODES, MAX_NODES), fast=False)
            self._root = full.root if full is not None else None
        return self._root

    @root.setter
    def root(self, value: Node | None) -> None:
        self._root, self._composed = value, True


_STR = scalars.STR
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"


def _loader_class() -> Any:
    """ruamel's C-accelerated safe loader (else its pure-Python one), made faster.

    The old-style loader classes are used directly: `YAML().compose()` builds
    a new class per call and its versioned resolver looks the YAML version up
    per scalar, which together cost more than the parsing itself. Plain
    scalars whose first character no implicit type can start with are
    strings without trying any regular expression.
    """
    import warnings

    from ruamel.yaml.error import MantissaNoDotYAML1_1Warning
    from ruamel.yaml.nodes import MappingNode, ScalarNode
    from ruamel.yaml.resolver import Resolver
    from ruamel.yaml.tag import Tag

    # ruamel warns, over ten lines of stderr, of a float like 1e3 (YAML 1.1
    # wants a dot). Helm's go-yaml reads it as the same float, so there is
    # nothing to tell; and the text of a file must not reach the terminal
    # unescaped.
    warnings.filterwarnings("ignore", category=MantissaNoDotYAML1_1Warning)

    try:
        from ruamel.yaml.cyaml import CParser  # type: ignore[attr-defined]

        def init_parser(self: Any, stream: str) -> None:
            CParser.__init__(self, stream)
            self._parser = self._composer = self

        base: Any = CParser
    except ImportError:  # no ruamel.yaml.clib on this platform
        from ruamel.yaml.loader import SafeLoader

        def init_parser(self: Any, stream: str) -> None:
            SafeLoader.__init__(self, stream)

        base = SafeLoader
    from ruamel.yaml.constructor import SafeConstructor

    def compiled(regexp: Any) -> Any:  # ruamel wraps each pattern in a slow lazy proxy
        lazy = getattr(regexp, "lazy_self", None)
        return lazy() if callable(lazy) else regexp

    implicit = {key: [(Tag(suffix=tag), compiled(regexp)) for tag, regexp in value]
                for key, value in Resolver.yaml_implicit_resolvers.items()}
    str_tag, map_tag, seq_tag = Tag(suffix=_STR), Tag(suffix=_MAP), Tag(suffix=_SEQ)

    class FastLoader(base, SafeConstructor, Resolver):  # type: ignore[misc]
        def __init__(self, stream: str) -> None:
            init_parser(self, stream)
            SafeConstructor.__init__(self, loader=self)
            Resolver.__init__(self, loadumper=self)

        def resolve(self, kind: Any, value: Any, implicit_flags: Any) -> Any:
            if kind is ScalarNode:
                if implicit_flags[0]:
                    for tag, regexp in implicit.get(value[:1] if value else "", ()):
                        if regexp.match(value):
                            return tag
                return str_tag
            return map_tag if kind is MappingNode else seq_tag

    FastLoader.shared_tags = (str_tag, map_tag, seq_tag)
    return FastLoader


_LOADER_CLASS: Any = None


def _new_loader(text: str) -> Any:
    global _LOADER_CLASS  # noqa: PLW0603 - built once per process
    if _LOADER_CLASS is None:
        _LOADER_CLASS = _loader_class()
    loader = _LOADER_CLASS(text)
    loader.allow_duplicate_keys = True  # reported by our own walk, with both lines
    return loader


def _construct(root: Node, fallback: Any) -> Any:
    """Python data from the node graph: plain maps, lists and strings directly,
    anything else (numbers, booleans, merge keys, explicit tags) through
    ruamel's safe constructor. Shared (aliased) nodes give shared objects."""
    from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

    memo: dict[int, Any] = {}
    # Implicitly resolved nodes carry the loader's shared Tag objects.
    str_tag, map_tag, seq_tag = getattr(fallback, "shared_tags", (None, None, None))

    def build(node: Node) -> Any:
        cls = type(node)
        ctag = node.ctag
        if cls is ScalarNode:
            if ctag is str_tag or str(ctag) == _STR:
                return node.value
            return fallback.construct_object(node, deep=True)
        ident = id(node)
        if ident in memo:
            return memo[ident]
        tag = _MAP if ctag is map_tag else _SEQ if ctag is seq_tag else str(ctag)
        if cls is MappingNode and tag == _MAP:
            if any(k.value == "<<" and str(k.ctag) == _MERGE_TAG for k, _ in node.value):
                result = fallback.construct_object(node, deep=True)
            else:
                result = {}
                memo[ident] = result
                for k, v in node.value:
                    key = build(k)
                    if isinstance(key, (list, dict)):
                        key = fallback.construct_object(k, deep=True)  # raises: unhashable
                    if key not in result:  # the first of duplicate keys, as ruamel does
                        result[key] = build(v)
        elif cls is SequenceNode and tag == _SEQ:
            result = []
            memo[ident] = result
            for child in node.value:
                result.append(build(child))
        else:
            result = fallback.construct_object(node, deep=True)
        memo[ident] = result
        return result

    return build(root)


def _file_problem(display: str, rule: str, message: str, line: int = 0, col: int = 0) -> Problem:
    return Problem(display, line, col, rule, Level.ERROR, message)


def read_text(path: Path, display: str | None = None) -> tuple[str | None, list[Problem]]:
    """Read a file as UTF-8 within the size limit, or say why not."""
    shown = display if display is not None else display_path(path)
    try:
        # O_NONBLOCK: a FIFO swapped in must not block the open; fstat of the
        # opened file (not a stat before) decides what is read.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        return None, [_file_problem(shown, RULE_FILE, _os_message(exc))]
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        return None, [_file_problem(shown, RULE_FILE, "not a regular file")]
    with os.fdopen(fd, "rb") as fh:
        try:
            if st.st_size > MAX_FILE_BYTES:
                return None, [_file_problem(
                    shown, RULE_LIMITS,
                    f"file is {st.st_size / 1048576:.1f} MiB, over the "
                    f"{MAX_FILE_BYTES // 1048576} MiB Helm accepts for one chart file; not read",
                )]
            raw = read_capped(fh, MAX_FILE_BYTES, st.st_size)
        except OSError as exc:
            return None, [_file_problem(shown, RULE_FILE, _os_message(exc))]
    if len(raw) > MAX_FILE_BYTES:  # grew between fstat and read
        return None, [_file_problem(shown, RULE_LIMITS, "file is over the size limit; not read")]
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8"), []
    except UnicodeDecodeError as exc:
        line, col = _byte_position(raw, exc.start)
        return None, [_file_problem(
            shown, RULE_ENCODING,
            f"not UTF-8: byte 0x{raw[exc.start]:02x} cannot be decoded", line, col,
        )]


def _os_message(exc: OSError) -> str:
    if exc.errno == errno.ENOENT:
        return "file is missing"
    if exc.errno == errno.ELOOP:
        return "symlink loop"
    if exc.errno == errno.EACCES:
        return "permission denied"
    return exc.strerror or str(exc)


def _byte_position(raw: bytes, offset: int) -> tuple[int, int]:
    line = raw.count(b"\n", 0, offset) + 1
    start = raw.rfind(b"\n", 0, offset) + 1
    col = len(raw[start:offset].decode("utf-8", errors="replace")) + 1
    return line, col


def load(path: Path, display: str | None = None) -> tuple[Document | None, list[Problem]]:
    """Parse one YAML file. The Document is None when nothing usable was read.

    Duplicate keys are reported but the document is still returned (with
    the first value), so the other rules can run.
    """
    shown = display if display is not None else display_path(path)
    text, problems = read_text(path, shown)
    if text is None:
        return None, problems
    return parse(text, path, shown)


# How the documents of a multi-document file are read, by file name (as Helm does).
SINGLE, FIRST, MERGE = "single", "first", "merge"
_DOCUMENTS_BY_NAME = {"values.yaml": MERGE, "Chart.yaml": FIRST}
# k8s.io/apimachinery's YAMLReader (what Helm 4 splits values.yaml with):
# a line starting with "---"; only white space or a comment may follow.
_SEPARATOR = re.compile(r"^---(.*)$", re.MULTILINE)


def parse(text: str, path: Path, display: str, documents: str | None = None, *,
          max_nodes: int | None = None, fast: bool = True) -> tuple[Document | None, list[Problem]]:
    """Parse YAML text; `documents` (SINGLE, FIRST, MERGE) defaults by file name.

    `max_nodes` bounds what aliases may expand a document by, and how many
    nodes it may hold (raised for repository indexes, which are big and
    honest); None is MAX_EXPANDED_NODES and MAX_NODES. `fast=False` skips
    the fast path (bpkit.yamlio.fast), for the tests that compare the two.
    """
    bounds = ((MAX_EXPANDED_NODES, MAX_NODES) if max_nodes is None
              else (max_nodes, max_nodes))
    mode = documents or _DOCUMENTS_BY_NAME.get(path.name, SINGLE)
    if mode == SINGLE or not (text.startswith("---") or "\n---" in text):
        return _parse_one(text, path, display, bounds, fast=fast)
    chunks, problems = _split_documents(text, display)
    if problems:
        return None, problems
    if mode == FIRST:
        first = next((c for c in chunks if _has_content(c[1])), chunks[0])
        doc, problems = _parse_one(_at_line(*first), path, display, bounds, fast=False)
        if doc is not None:
            doc.text = text
        return doc, problems
    return _merge_documents(chunks, text, path, display, bounds)


def _split_documents(text: str, display: str) -> tuple[list[tuple[int, str]], list[Problem]]:
    """(first line index, text) of each document, split the way Helm 4 splits values.yaml."""
    chunks: list[tuple[int, str]] = []
    start, line = 0, 0
    for match in _SEPARATOR.finditer(text):
        rest = match.group(1).strip(" \t\r")
        sep_line = text.count("\n", start, match.start()) + line
        if rest and not rest.startswith("#"):
            return [], [_file_problem(
                display, RULE_SYNTAX,
                "only white space or a comment may follow a --- document separator "
                "(Helm splits this file's documents there)", sep_line + 1, 4)]
        body = text[start:match.start()]
        if body.strip():
            chunks.append((line, body))
        start, line = match.end(), sep_line
    chunks.append((line, text[start:]))
    return chunks, []


def _has_content(body: str) -> bool:
    """Whether a document holds more than blank lines and comments."""
    return any(ln.strip() and not ln.lstrip().startswith("#") for ln in body.splitlines())


def _at_line(line: int, body: str) -> str:
    """The document's text with blank lines before it, so marks are the file's lines."""
    return "\n" * line + body


def _merge_documents(chunks: list[tuple[int, str]], text: str, path: Path, display: str,
                     bounds: tuple[int, int]) -> tuple[Document | None, list[Problem]]:
    """Helm 4's LoadValues: each document a mapping (or empty), merged in order."""
    from ruamel.yaml.nodes import MappingNode

    problems: list[Problem] = []
    data: dict[Any, Any] = {}
    root: MappingNode | None = None
    for line, body in chunks:
        doc, found = _parse_one(_at_line(line, body), path, display, bounds, fast=False)
        problems.extend(found)
        if doc is None:
            return None, problems
        if doc.data is None:
            continue
        if not isinstance(doc.data, dict) or not isinstance(doc.root, MappingNode):
            where = doc.at()
            return None, [*problems, _file_problem(
                display, RULE_SYNTAX,
                "every document of this file must be a mapping: Helm merges them "
                "and refuses the chart otherwise", *where)]
        data = _merge_maps(data, doc.data)
        root = doc.root if root is None else _merge_nodes(root, doc.root)
    return Document(path, display, data or None, root, text), problems


def _merge_maps(a: dict[Any, Any], b: dict[Any, Any]) -> dict[Any, Any]:
    """Helm's loader.MergeMaps: b wins, mappings merged key by key."""
    out = dict(a)
    for key, value in b.items():
        old = out.get(key)
        out[key] = (_merge_maps(old, value)
                    if isinstance(value, dict) and isinstance(old, dict) else value)
    return out


def _merge_nodes(a: MappingNode, b: MappingNode) -> MappingNode:
    """The node graph of _merge_maps(a, b), so positions point at the winning document."""
    from ruamel.yaml.nodes import MappingNode, ScalarNode

    pairs: dict[Any, tuple[Node, Node]] = {}
    for k, v in [*a.value, *b.value]:
        key = k.value if isinstance(k, ScalarNode) else id(k)
        old = pairs.get(key)
        if (old is not None and isinstance(v, MappingNode) and isinstance(old[1], MappingNode)
                and old[1] is not v):
            v = _merge_nodes(old[1], v)  # noqa: PLW2901
        pairs[key] = (k, v)
    return MappingNode(a.tag, list(pairs.values()), a.start_mark, a.end_mark)


# Above this size the cyclic garbage collector is paused while parsing: a
# large document allocates millions of nodes, none of them garbage, and the
# collector's full passes over them cost as much as the parsing.
_PAUSE_GC_BYTES = 256 * 1024


def _parse_one(text: str, path: Path, display: str, bounds: tuple[int, int], *,
               fast: bool = True) -> tuple[Document | None, list[Problem]]:
    if fast and 2 * len(text) + 2 <= min(bounds):  # no node bound reachable (see _too_many)
        quick = _fast(text, path, display)
        if quick is not None:
            return quick
    if len(text) < _PAUSE_GC_BYTES or not gc.isenabled():
        return _parse_guarded(text, path, display, bounds)
    gc.disable()
    try:
        return _parse_guarded(text, path, display, bounds)
    finally:
        gc.enable()


def _fast(text: str, path: Path, display: str) -> tuple[Document, list[Problem]] | None:
    """The fast path's reading (bpkit.yamlio.fast), or None when it leaves the text to us."""
    read = fast_parse(text, _fast_plain, _SIMPLE)
    if read is None:
        return None
    data, dupes, ambiguous = read
    problems = [_duplicate_problem(display, value, first + 1, line + 1, col + 1)
                for value, first, line, col in dupes]
    problems.extend(Problem(display, line + 1, col + 1, RULE_AMBIGUOUS, Level.WARNING, why)
                    for line, col, why in ambiguous)
    if data is None:
        return Document(path, display, None, None, text), problems
    return LazyDocument(path, display, data, text), problems


#: First characters of plain scalars that are strings to both YAML 1.1 and 1.2.
_SIMPLE = frozenset(chr(c) for c in range(0x21, 0x7f)
                    if chr(c) not in scalars.IMPLICIT and chr(c) not in _YAML11_FIRST)
#: Tags of plain scalars the fast path builds (bpkit.yamlio.scalars, else
#: ruamel's constructor; memoised by text); any other (merge keys, `=`) it
#: leaves to the full loader.
_FAST_TAGS = frozenset(f"tag:yaml.org,2002:{name}"
                       for name in ("null", "bool", "int", "float", "timestamp"))
_PLAINS: dict[str, tuple[str, Any, str | None]] = {}
_PLAINS_MAX = 4096
_CONSTRUCTOR: Any = None


def _fast_plain(value: str) -> tuple[str, Any, str | None]:
    """(tag, value, YAML 1.1 difference) of a plain scalar, as the full loader reads it."""
    hit = _PLAINS.get(value)
    if hit is not None:
        return hit
    why = _yaml11_difference(value) if value[0] in _YAML11_FIRST else None
    tag = scalars.resolve(value)
    if tag not in _FAST_TAGS and tag != _STR:
        raise Bail
    try:
        built = scalars.build(tag, value)
    except scalars.NotHere:
        built = _ruamel_scalar(tag, value)
    hit = (tag, built, why)
    if len(_PLAINS) >= _PLAINS_MAX:
        _PLAINS.clear()
    _PLAINS[value] = hit
    return hit


def _ruamel_scalar(tag: str, value: str) -> Any:
    """A plain scalar built by ruamel's safe constructor (a timestamp, a hex int, ...)."""
    global _CONSTRUCTOR  # noqa: PLW0603 - built once per process
    from ruamel.yaml.error import StreamMark, YAMLError
    from ruamel.yaml.nodes import ScalarNode
    from ruamel.yaml.tag import Tag

    if _CONSTRUCTOR is None:
        _CONSTRUCTOR = _new_loader("")
    mark = StreamMark("", 0, 0, 0)  # a warning's text reads the node's mark
    try:
        node = ScalarNode(Tag(suffix=tag), value, start_mark=mark, end_mark=mark)
        return _CONSTRUCTOR.construct_object(node, deep=True)
    except (YAMLError, ValueError, TypeError, OverflowError):
        raise Bail from None
    finally:
        _CONSTRUCTOR.constructed_objects.clear()


def _parse_guarded(text: str, path: Path, display: str,
                   bounds: tuple[int, int]) -> tuple[Document | None, list[Problem]]:
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    max_nodes, max_held = bounds
    too_deep = _too_deep(text)
    if too_deep is not None:
        return None, [_file_problem(
            display, RULE_LIMITS,
            f"collections nest deeper than {MAX_DEPTH} levels here; not loaded", *too_deep)]
    too_many = _too_many(text, max_held)
    if too_many is not None:
        return None, [_file_problem(
            display, RULE_LIMITS,
            f"more than {max_held:,} values (scalars, lists and maps) by here, no alias "
            "involved: bpkit keeps the position of each, so it reads no more in one document "
            "(no chart needs as many); not loaded", *too_many)]
    loader = _new_loader(text)
    try:
        try:
            root = loader.get_single_node()
        except MarkedYAMLError as exc:
            pure = _pure_compose(text) if _libyaml_only(exc, text) else None
            if pure is None:
                return None, [_syntax_problem(display, exc)]
            root = pure
        except YAMLError as exc:
            return None, [_reader_problem(display, exc, text)]
        if root is None:
            return Document(path, display, None, None, text), []
        problems = list(_walk_problems(root, display, max_nodes))
        if any(p.rule == RULE_LIMITS for p in problems):
            return None, problems
        try:
            data = _construct(root, loader)
        except MarkedYAMLError as exc:
            return None, [*problems, _syntax_problem(display, exc)]
        except (YAMLError, ValueError, TypeError) as exc:
            return None, [*problems, _file_problem(display, RULE_SYNTAX, _one_line(str(exc)), 1, 1)]
        except RecursionError:
            return None, [*problems, _file_problem(display, RULE_LIMITS,
                                                   "nesting too deep to load", 1, 1)]
        return Document(path, display, data, root, text), problems
    finally:
        loader.__dict__.clear()  # it refers to itself: free it without the cyclic collector


# The pure parser is ~10 times slower: asked only about the error libyaml
# alone makes (a ':' inside a plain scalar of a flow collection), and only
# for files of a size it parses in well under a second.
_PURE_MAX_BYTES = 512 * 1024


def _libyaml_only(exc: MarkedYAMLError, text: str) -> bool:
    """Whether this C parser error may be one the pure parser does not make."""
    return (len(text) <= _PURE_MAX_BYTES and exc.context == "while scanning a plain scalar"
            and exc.problem == "found unexpected ':'")


def _pure_compose(text: str) -> Node | None:
    """The node graph from ruamel's pure-Python parser, or None if it refuses too."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        node: Node | None = YAML(typ="safe", pure=True).compose(text)
    except (YAMLError, RecursionError):
        return None
    return node


# Upper bounds of nesting, cheap to compute: a `{` opens one level, a `[`
# at most two (an entry `k: v` of a flow sequence is a mapping of its own),
# an empty `[]` or `{}` one at most, at the bottom; a block collection needs
# one more column per two levels, and its column is at most the run of
# spaces and indicators that starts its line.
_LINE_PREFIX = r"^[ \t?:-]{%d}"


_COMMENT = re.compile(r"(?:^|(?<=[ \t]))#[^\n]*", re.MULTILINE)
_BRACKET = re.compile(r"[\[\]{}]")


def _too_deep(text: str) -> tuple[int, int] | None:
    """The 1-based (line, col) where nesting passes MAX_DEPTH, or None if it does not."""
    flow = 2 * (text.count("[") - text.count("[]")) + text.count("{") - text.count("{}") + 1
    if flow > MAX_DEPTH:
        flow = _flow_bound(text)
    room = (MAX_DEPTH - flow) // 2 - 1
    if flow <= MAX_DEPTH and (room > 0 and re.search(_LINE_PREFIX % room, text, re.M) is None):
        return None
    return _exact_depth(text)


def _flow_bound(text: str) -> int:
    """An upper bound of flow depth for text without quotes or tags, else MAX_DEPTH + 1.

    Without quoted scalars and tags, every closing bracket inside a flow
    collection is structure (a plain scalar ends at one), and outside one the
    true depth is 0; comments are then all that can hide a bracket. So the
    running count of brackets outside comments (a `[` counting two, for the
    mapping an entry `k: v` makes), never below 0, is never below the true
    depth. A large honest flow list costs one regex pass
    instead of the exact count.
    """
    if '"' in text or "'" in text or "!" in text:
        return MAX_DEPTH + 1
    step = {"[": 2, "{": 1, "]": -2, "}": -1}
    depth = deepest = 0
    for bracket in _BRACKET.findall(_COMMENT.sub("", text)):
        depth = max(depth + step[bracket], 0)
        deepest = max(deepest, depth)
    return deepest


# Every node but the root starts after one of these (or after a separator
# of two characters): a count of them bounds the nodes a document can hold.
_NODE_STARTS = (",", "[", "{", ":", "-", "?", "\n")


def _too_many(text: str, limit: int) -> tuple[int, int] | None:
    """The 1-based (line, col) of the node past `limit`, or None when there are not so many.

    A cheap bound first (no document holds more than twice as many nodes as
    it has separators, plus the root); only past it the C parser's events
    are counted, stopping at the limit, so the refusal costs no node graph.
    """
    from ruamel.yaml.error import YAMLError

    if 2 * len(text) + 2 <= limit or 2 * sum(map(text.count, _NODE_STARTS)) + 2 <= limit:
        return None
    from ruamel.yaml.events import AliasEvent, CollectionStartEvent, ScalarEvent

    parser = _new_loader(text)
    nodes = 0
    try:
        while True:
            event = parser.get_event()
            if event is None or type(event).__name__ == "StreamEndEvent":
                return None
            if isinstance(event, (ScalarEvent, CollectionStartEvent, AliasEvent)):
                nodes += 1
                if nodes > limit:
                    mark = event.start_mark
                    return int(mark.line) + 1, int(mark.column) + 1
    except YAMLError:
        return None  # the composer reports it, with its position
    finally:
        parser.__dict__.clear()


def _exact_depth(text: str) -> tuple[int, int] | None:
    """Nesting counted from the C parser's events (iterative, unlike its composer)."""
    from ruamel.yaml.error import YAMLError
    from ruamel.yaml.events import CollectionEndEvent, CollectionStartEvent

    parser = _new_loader(text)
    depth = 0
    try:
        while True:
            event = parser.get_event()
            if event is None:
                return None
            if isinstance(event, CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    mark = event.start_mark
                    return int(mark.line) + 1, int(mark.column) + 1
            elif isinstance(event, CollectionEndEvent):
                depth -= 1
            elif type(event).__name__ == "StreamEndEvent":
                return None
    except YAMLError:
        return None  # the composer reports it, with its position
    finally:
        parser.__dict__.clear()


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _reader_problem(display: str, exc: YAMLError, text: str) -> Problem:
    """A character YAML does not allow, at its line and column.

    ruamel's ReaderError says `in "<unicode string>", position N`, N a byte
    offset into the UTF-8 text (the C parser's): no help to find it.
    """
    from ruamel.yaml.reader import ReaderError

    if (isinstance(exc, ReaderError) and type(exc.character) is int
            and type(exc.position) is int):
        raw = text.encode("utf-8", "surrogatepass")
        if 0 <= exc.position < len(raw):
            line, col = _byte_position(raw, exc.position)
            code = exc.character
            return _file_problem(
                display, RULE_SYNTAX,
                f"character U+{code:04X} is not allowed in YAML (nor by Helm): write it as "
                f"\\u{code:04x} inside a double-quoted string, or remove it", line, col)
    return _file_problem(display, RULE_SYNTAX, _one_line(str(exc)), 1, 1)


def _syntax_problem(display: str, exc: MarkedYAMLError) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    what = exc.problem or exc.context or "invalid YAML"
    if exc.context and exc.problem:
        what = f"{exc.problem} ({exc.context})"
    return _file_problem(display, RULE_SYNTAX, _one_line(f"syntax error: {what}"), line, col)


def _walk_problems(root: Node, display: str, max_nodes: int) -> Iterator[Problem]:
    """Duplicate keys, recursive aliases, alias bombs and YAML 1.1 look-alikes, in one pass.

    Sizes are memoised per node, so a graph of shared (aliased) nodes is
    walked once however many times it is referenced. Each reuse of a node
    (an alias) adds its expanded size to `expansion`, which alone is bounded.
    """
    from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

    sizes: dict[int, int] = {}
    expansion = 0
    active: set[int] = set()
    dupes: list[tuple[Node, Node]] = []
    ambiguous: list[tuple[Node, str]] = []

    def check_scalar(node: ScalarNode) -> None:
        value = node.value
        if not node.style and value and value[0] in _YAML11_FIRST:  # plain: '' or None
            why = _yaml11_difference(value)
            if why is not None:
                ambiguous.append((node, why))

    def size(node: Node) -> int:
        nonlocal expansion
        ident = id(node)
        cached = sizes.get(ident)
        if cached is not None:  # seen before: an alias
            expansion += cached
            if expansion > max_nodes:
                raise _TooBig(node)
            return cached
        if ident in active:
            raise _Recursive(node)
        total = 1
        cls = type(node)
        if cls is MappingNode:
            active.add(ident)
            first: dict[str, Node] = {}
            for k, v in node.value:
                if type(k) is ScalarNode:
                    check_scalar(k)
                    key = k.value
                    if key in first:
                        if key != "<<" or k.tag != _MERGE_TAG:
                            dupes.append((first[key], k))
                    else:
                        first[key] = k
                    total += 1
                else:
                    total += size(k)
                if type(v) is ScalarNode:
                    check_scalar(v)
                    total += 1
                else:
                    total += size(v)
            active.discard(ident)
        elif cls is SequenceNode:
            active.add(ident)
            for child in node.value:
                if type(child) is ScalarNode:
                    check_scalar(child)
                    total += 1
                else:
                    total += size(child)
            active.discard(ident)
        sizes[ident] = total
        return total

    try:
        size(root)
    except _Recursive as exc:
        mark = exc.node.start_mark
        yield _file_problem(display, RULE_LIMITS, "recursive alias: an anchor refers to itself",
                            mark.line + 1, mark.column + 1)
        return
    except _TooBig as exc:
        mark = exc.node.start_mark
        yield _file_problem(
            display, RULE_LIMITS,
            f"aliases expand this document by more than {max_nodes:,} nodes "
            "(an alias bomb?); not loaded", mark.line + 1, mark.column + 1)
        return
    except RecursionError:
        yield _file_problem(display, RULE_LIMITS, "nesting too deep to load", 1, 1)
        return
    for original, again in dupes:
        if original.tag != again.tag:
            continue  # 1 and "1" are different keys
        yield _duplicate_problem(display, again.value, original.start_mark.line + 1,
                                 again.start_mark.line + 1, again.start_mark.column + 1)
    for node, why in ambiguous:
        mark = node.start_mark
        yield Problem(display, mark.line + 1, mark.column + 1, RULE_AMBIGUOUS, Level.WARNING,
                      why)


def _duplicate_problem(display: str, key: str, first: int, line: int, col: int) -> Problem:
    return _file_problem(display, RULE_DUPLICATE,
                         f'duplicate key "{key}" (first defined at line {first}); '
                         "only one of the values takes effect", line, col)


def _yaml11_difference(value: str) -> str | None:
    """How Helm's YAML 1.1 reading of a plain scalar differs from YAML 1.2's, if it does."""
    if value in _YAML11_BOOL:
        meaning = "true" if _YAML11_BOOL[value] else "false"
        return (f"{value} is the boolean {meaning} to Helm (YAML 1.1) but the string "
                f'"{value}" to YAML 1.2 tools: write {meaning}, or quote it to keep the text')
    if _YAML11_OCTAL.fullmatch(value):
        digits = value.replace("_", "")
        octal = int(digits, 8)
        return (f"{value} is octal ({octal}) to Helm (YAML 1.1) but decimal "
                f"({int(digits)}) to YAML 1.2 tools: quote it, or drop the leading 0")
    if _YAML11_BASE60.fullmatch(value):
        return (f"{value} is a base-60 number to Helm (YAML 1.1) but the string "
                f'"{value}" to YAML 1.2 tools: quote it')
    return None


class _Recursive(Exception):
    def __init__(self, node: Node) -> None:
        self.node = node


class _TooBig(Exception):
    def __init__(self, node: Node) -> None:
        self.node = node
