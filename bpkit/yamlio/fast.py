"""A fast path for the plain YAML that charts and blueprints are written in.

Most chart files are block mappings and sequences of plain or simply
quoted scalars, one-line flow collections and a `|` description. For those,
reading the lines directly is about three times cheaper than the C parser's
node graph plus the constructor (which is most of a cold lint), and the
line and column of every key and plain scalar fall out of it.

It is a fast path, not a second YAML parser: anything it does not know to
the letter (anchors, tags, multi-line plain or quoted scalars, explicit
keys, document markers, tabs, escapes, flow collections over several
lines, indentation it does not expect, ...) raises `Bail`, and the caller
parses the text with the full loader instead. So it needs to be right only
about what it accepts: the same data, the same duplicate keys and the same
YAML 1.1 look-alikes as the full loader, which the differential tests in
tests/test_yaml_fast.py check on the corpus and on generated documents.
Where it accepts, nesting is shallow and nodes are few (`fast_parse` is
given small texts only), so no limit of the full loader can be reached.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from bpkit.yamlio.scalars import STR

#: Texts above this size go to the full loader (its bounds then apply).
FAST_MAX_CHARS = 64 * 1024
#: Deeper nesting goes to the full loader (its depth bound is YAML_MAX_DEPTH).
_MAX_DEPTH = 64



class Bail(Exception):
    """Outside the fast path's subset: the full loader decides."""


#: A plain scalar's (tag, value, how YAML 1.1 reads it otherwise or None), as
#: the full loader resolves and builds it; raises Bail for a tag the fast path
#: leaves to the full loader.
Plain = Callable[[str], "tuple[str, Any, str | None]"]

# (key text, first line, line, col) of a repeated key; 0-based line and col.
Duplicate = tuple[str, int, int, int]
# (line, col, why) of a plain scalar YAML 1.1 reads otherwise; 0-based.
Ambiguous = tuple[int, int, str]

# Characters YAML does not allow in a stream, and line breaks other than \n
# (\r, NEL, LS, PS: libyaml breaks lines there, str.split("\n") does not);
# tabs and a BOM past the start are left to the full loader too. Two small
# classes: one class of everything allowed takes 6 ms to compile.
_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f]")
_REFUSED_WIDE = re.compile("[\x80-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]")
_MARKER = re.compile(r"^(?:---|\.\.\.)", re.MULTILINE)

_PLAIN_KEY = r"[A-Za-z0-9_][A-Za-z0-9_./@+~-]*"
# A mapping entry: a plain or simply quoted key, `:`, then a space or the end.
_ENTRY = re.compile(rf"""(?:({_PLAIN_KEY})|"([^"\\]*)"|'((?:[^']|'')*)')[ ]*:(?:[ ]+|$)""")
# The usual entry, matched at its indentation: a plain key, and a plain value
# without `#`, brackets or braces (or none: a nested block, or null). What
# does not match goes through `entry`, which knows the rest of the subset.
_QUICK_ENTRY = re.compile(
    rf"({_PLAIN_KEY})[ ]*:(?:[ ]+([A-Za-z0-9_./~$^+(=<][^\[\]{{}}#]*?))?[ ]*(?:[ ]#.*)?$")
_BLOCK_HEADER = re.compile(r"([|>])(-?)(?:[ ]+#.*|[ ]*)")
# First characters of a plain scalar the fast path reads (a `-` only before
# a letter, digit or dot); what may follow in block and in flow context.
_PLAIN_FIRST = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./~$^+(=<")
_DASH_NEXT = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.")
_BLOCK_PLAIN_REFUSED = re.compile(r"[\[\]{}]|: |:$")
_FLOW_WORD = r"[A-Za-z0-9_./~$^+()=<-]"
_FLOW_PLAIN = re.compile(rf"{_FLOW_WORD}+(?: +{_FLOW_WORD}+)*")
# The usual one-line flow mapping, `{ cpu: 50m, memory: "64Mi" }`: plain keys,
# plain or simply double-quoted values, matched whole; then pair by pair.
_QUICK_VALUE = (rf"(?:\"([^\"\\]*)\"|((?:[A-Za-z0-9_./~$^+(=<]|-(?=[A-Za-z0-9.])){_FLOW_WORD}*"
                rf"(?: +{_FLOW_WORD}+)*))")
_QUICK_PAIR = rf"({_PLAIN_KEY}): +{_QUICK_VALUE}"
_QUICK_FLOW = re.compile(rf"\{{ *{_QUICK_PAIR}(?: *, *{_QUICK_PAIR})* *\}}")
_QUICK_PAIRS = re.compile(_QUICK_PAIR)


def fast_parse(text: str, plain: Plain, simple: frozenset[str]
               ) -> tuple[Any, list[Duplicate], list[Ambiguous]] | None:
    """(data, duplicate keys, YAML 1.1 look-alikes) of `text`, or None: ask the full loader.

    `simple`: first characters of plain scalars that are strings, read the
    same by YAML 1.1 (no call to `plain` for those).
    """
    if len(text) > FAST_MAX_CHARS or _CONTROL.search(text) is not None \
            or (not text.isascii() and _REFUSED_WIDE.search(text) is not None) \
            or _MARKER.search(text) is not None:
        return None
    parser = _Parser(text, plain, simple)
    try:
        data = parser.document()
    except (Bail, IndexError, RecursionError):
        return None
    return data, parser.dupes, parser.ambiguous


def _is_item(line: str, indent: int) -> bool:
    """Whether the line (its content starting at `indent`) is a block sequence entry."""
    return line.startswith("-", indent) and (len(line) == indent + 1 or line[indent + 1] == " ")


class _Parser:
    def __init__(self, text: str, plain: Plain, simple: frozenset[str]) -> None:
        self.lines = lines = text.split("\n")
        # Each line without its indentation: "" for a blank line, "#..." for a comment.
        self.content = [line.lstrip(" ") for line in lines]
        self.count = len(lines)
        self.i = 0  # where the next significant line is looked for
        self.resolve = plain
        self.simple = simple
        self.dupes: list[Duplicate] = []
        self.ambiguous: list[Ambiguous] = []

    # -- lines -------------------------------------------------------------

    def peek(self) -> tuple[int, int]:
        """(index, indent) of the next line that is not blank or a comment; (-1, -1) at the end."""
        content, i, count = self.content, self.i, self.count
        while i < count:
            text = content[i]
            if text and text[0] != "#":
                self.i = i
                return i, len(self.lines[i]) - len(text)
            i += 1
        self.i = i
        return -1, -1

    def document(self) -> Any:
        i, indent = self.peek()
        if i < 0:
            return None
        if _is_item(self.lines[i], indent):
            data: Any = self.sequence(indent, 1)
        else:
            data = self.mapping(indent, 1, {}, {})
        if self.peek()[0] >= 0:
            raise Bail  # a line nothing above took: an error, or a continuation
        return data

    # -- block collections -------------------------------------------------

    def nested(self, parent: int, indentless: bool, depth: int) -> Any:
        """The value of an indicator with nothing after it on its line: a block, or null."""
        i, indent = self.peek()
        if i < 0:
            return None
        line = self.lines[i]
        if depth > _MAX_DEPTH:
            raise Bail
        if indent > parent:
            if _is_item(line, indent):
                return self.sequence(indent, depth + 1)
            char = line[indent]
            if char in "{[" or (char in "\"'" and _ENTRY.match(line, indent) is None):
                # `upstream:` and on the next line `{ chart: ... }`, as wrappers write it
                return self.value(line, i, indent, parent, depth, indentless=False)
            return self.mapping(indent, depth + 1, {}, {})
        if indent == parent and indentless and _is_item(line, indent):
            return self.sequence(indent, depth + 1)  # `key:` then `- item` at its column
        return None

    def mapping(self, indent: int, depth: int, result: dict[Any, Any],
                first: dict[str, tuple[int, str]]) -> dict[Any, Any]:
        lines, content, count = self.lines, self.content, self.count
        quick, simple = _QUICK_ENTRY.match, self.simple
        while True:
            i = self.i
            while i < count:  # peek(), inline: this loop is most of the work
                text = content[i]
                if text and text[0] != "#":
                    break
                i += 1
            else:
                self.i = i
                return result
            self.i = i
            line = lines[i]
            if len(line) - len(text) != indent or (text[0] == "-" and text[1:2] in ("", " ")):
                return result
            match = quick(line, indent)
            if match is None:
                self.entry(line, i, indent, result, first, depth)
                continue
            # `key: plain value` or `key:` (then a nested block) with a plain key
            raw, value = match.group(1, 2)
            if raw[0] in simple:
                tag, key = STR, raw
            else:
                tag, key = self.plain(raw, i, indent)
            self.note_key(first, raw, tag, i, indent)
            if value is None:
                self.i = i + 1
                value = self.nested(indent, True, depth)
            else:
                if ": " in value or value[-1] == ":":
                    raise Bail
                if value[0] not in simple:
                    value = self.plain(value, i, match.start(2))[1]
                self.i = i + 1
            if key not in result:  # the first of duplicate keys, as the full loader keeps
                result[key] = value

    def entry(self, line: str, i: int, col: int, result: dict[Any, Any],
              first: dict[str, tuple[int, str]], depth: int) -> None:
        """One `key: value` of a block mapping whose keys are at `col`."""
        match = _ENTRY.match(line, col)
        if match is None:
            raise Bail
        plain, double, single = match.group(1, 2, 3)
        if plain is not None:
            raw = plain
            tag, key = self.plain(plain, i, col)
        else:
            raw = double if double is not None else single.replace("''", "'")
            tag, key = STR, raw
        self.note_key(first, raw, tag, i, col)
        value = self.value(line, i, match.end(), col, depth, indentless=True)
        if key not in result:  # the first of duplicate keys, as the full loader keeps
            result[key] = value

    def note_key(self, first: dict[str, tuple[int, str]], raw: str, tag: str, i: int,
                 col: int) -> None:
        """Note a repeated key of one mapping (of the same tag: 1 and "1" differ)."""
        seen = first.get(raw)
        if seen is None:
            first[raw] = (i, tag)
        elif seen[1] == tag:
            self.dupes.append((raw, seen[0], i, col))

    def sequence(self, indent: int, depth: int) -> list[Any]:
        result: list[Any] = []
        lines = self.lines
        while True:
            i, at = self.peek()
            if at != indent:
                return result
            line = lines[i]
            if not _is_item(line, indent):
                return result
            pos = indent + 1
            end = len(line)
            while pos < end and line[pos] == " ":
                pos += 1
            if pos == end or line[pos] == "#":
                self.i = i + 1
                result.append(self.nested(indent, False, depth))
                continue
            if _is_item(line, pos) or line[pos] in "|>?":
                raise Bail  # `- - x`, `- |`, `- ? x`: left to the full loader
            match = _ENTRY.match(line, pos)
            if match is not None:  # `- key: value`: a mapping whose keys are at pos
                mapping: dict[Any, Any] = {}
                first: dict[str, tuple[int, str]] = {}
                self.entry(line, i, pos, mapping, first, depth + 1)
                result.append(self.mapping(pos, depth + 1, mapping, first))
                continue
            result.append(self.value(line, i, pos, indent, depth, indentless=False))

    # -- values ------------------------------------------------------------

    def value(self, line: str, i: int, pos: int, parent: int, depth: int, *,
              indentless: bool) -> Any:
        """The value starting at line[pos] (after an indicator and its spaces)."""
        if pos >= len(line) or line[pos] == "#":
            self.i = i + 1
            return self.nested(parent, indentless, depth)
        char = line[pos]
        if char in "|>":
            return self.block_scalar(line, i, pos, parent)
        if char in "{[":
            value, end = self.flow(line, i, pos, depth + 1)
        elif char in {'"', "'"}:
            value, end = self.quoted(line, pos)
        else:
            value = self.block_plain(line, i, pos)
            self.i = i + 1
            return value
        _trailing(line, end)
        self.i = i + 1
        return value

    def plain(self, text: str, i: int, col: int) -> tuple[str, Any]:
        """Tag and value of a plain scalar, noting it when YAML 1.1 reads it otherwise."""
        tag, value, why = self.resolve(text)
        if why is not None:
            self.ambiguous.append((i, col, why))
        return tag, value

    def block_plain(self, line: str, i: int, pos: int) -> Any:
        char = line[pos]
        if char not in _PLAIN_FIRST and not (char == "-" and line[pos + 1:pos + 2] in _DASH_NEXT):
            raise Bail
        cut = line.find(" #", pos)
        text = (line[pos:cut] if cut >= 0 else line[pos:]).rstrip(" ")
        if _BLOCK_PLAIN_REFUSED.search(text) is not None:
            raise Bail
        return self.plain(text, i, pos)[1]

    def quoted(self, line: str, pos: int) -> tuple[str, int]:
        """A one-line quoted scalar at line[pos]: (value, index after its closing quote)."""
        quote = line[pos]
        if quote == '"':
            end = line.find('"', pos + 1)
            if end < 0:
                raise Bail
            body = line[pos + 1:end]
            if "\\" in body:
                raise Bail
            return body, end + 1
        start = pos + 1
        while True:
            end = line.find("'", start)
            if end < 0:
                raise Bail
            if line.startswith("''", end):
                start = end + 2
                continue
            return line[pos + 1:end].replace("''", "'"), end + 1

    def block_scalar(self, line: str, i: int, pos: int, parent: int) -> str:
        """A `|`, `|-`, `>` or `>-` scalar whose content is indented past `parent`."""
        header = _BLOCK_HEADER.fullmatch(line, pos)
        if header is None:
            raise Bail
        folded, strip = header.group(1) == ">", header.group(2) == "-"
        lines, count = self.lines, self.count
        body: list[str] = []
        indent = -1
        j = i + 1
        while j < count:
            text = lines[j]
            if not text:
                body.append("")
                j += 1
                continue
            content = text.lstrip(" ")
            if not content:
                raise Bail  # a line of spaces only: its meaning depends on its length
            at = len(text) - len(content)
            if indent < 0:
                if at <= parent:
                    break
                indent = at
            elif at < indent:
                break
            elif folded and at > indent:
                raise Bail  # more-indented lines of a folded scalar keep their breaks
            body.append(text[indent:])
            j += 1
        if indent < 0:
            raise Bail  # no content: left to the full loader
        trailing = 0
        while body and body[-1] == "":
            body.pop()
            trailing += 1
        broken = j - trailing < count  # the last content line ends in a line break
        if folded:
            parts: list[str] = []
            breaks, seen = 0, False
            for part in body:
                if not part:
                    breaks += 1
                    continue
                if seen:
                    parts.append("\n" * breaks if breaks else " ")
                else:
                    parts.append("\n" * breaks)
                parts.append(part)
                seen, breaks = True, 0
            value = "".join(parts)
        else:
            value = "\n".join(body)
        if broken and not strip:
            value += "\n"
        self.i = j
        return value

    # -- flow collections on one line --------------------------------------

    def flow(self, line: str, i: int, pos: int, depth: int) -> tuple[Any, int]:
        if depth > _MAX_DEPTH:
            raise Bail
        mapping = line[pos] == "{"
        if mapping:
            quick = _QUICK_FLOW.match(line, pos)
            if quick is not None:
                return self.quick_flow(line, i, pos, quick.end()), quick.end()
        close = "}" if mapping else "]"
        pos = _skip(line, pos + 1)
        result: Any = {} if mapping else []
        first: dict[str, tuple[int, str]] = {}
        if line.startswith(close, pos):
            return result, pos + 1
        while True:
            if mapping:
                col = pos
                char = line[pos]
                if char in {'"', "'"}:
                    raw, pos = self.quoted(line, pos)
                    tag, key = STR, raw
                else:
                    word = _flow_plain(line, pos)
                    raw, pos = word.group(), word.end()
                    tag, key = self.plain(raw, i, col)
                if not line.startswith(": ", pos):
                    raise Bail
                self.note_key(first, raw, tag, i, col)  # before the value's own, as the full loader
                value, pos = self.flow_value(line, i, _skip(line, pos + 2), depth)
                if key not in result:
                    result[key] = value
            else:
                value, pos = self.flow_value(line, i, pos, depth)
                result.append(value)
            pos = _skip(line, pos)
            char = line[pos]
            if char == close:
                return result, pos + 1
            if char != ",":
                raise Bail  # `[a: b]`, a comment, or the collection goes on next line
            pos = _skip(line, pos + 1)
            if line[pos] in ",]}":
                raise Bail  # an empty entry or a trailing comma: left to the full loader

    def quick_flow(self, line: str, i: int, start: int, end: int) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        first: dict[str, tuple[int, str]] = {}
        simple = self.simple
        for pair in _QUICK_PAIRS.finditer(line, start, end):
            raw, quoted, plain = pair.group(1, 2, 3)
            col = pair.start(1)
            if raw[0] in simple:
                tag, key = STR, raw
            else:
                tag, key = self.plain(raw, i, col)
            if quoted is not None:
                value: Any = quoted
            elif plain[0] in simple:
                value = plain
            else:
                value = self.plain(plain, i, pair.start(3))[1]
            self.note_key(first, raw, tag, i, col)
            if key not in result:
                result[key] = value
        return result

    def flow_value(self, line: str, i: int, pos: int, depth: int) -> tuple[Any, int]:
        char = line[pos]
        if char in "{[":
            return self.flow(line, i, pos, depth + 1)
        if char in {'"', "'"}:
            return self.quoted(line, pos)
        word = _flow_plain(line, pos)
        return self.plain(word.group(), i, pos)[1], word.end()


def _flow_plain(line: str, pos: int) -> re.Match[str]:
    """A plain scalar of a flow collection: words of a few safe characters."""
    char = line[pos]
    word = _FLOW_PLAIN.match(line, pos)
    if word is None or not (char in _PLAIN_FIRST
                            or (char == "-" and line[pos + 1:pos + 2] in _DASH_NEXT)):
        raise Bail
    return word


def _skip(line: str, pos: int) -> int:
    end = len(line)
    while pos < end and line[pos] == " ":
        pos += 1
    return pos


def _trailing(line: str, end: int) -> None:
    """After a quoted scalar or a flow collection: only spaces, or a comment after one."""
    rest = line[end:]
    if rest and rest.strip(" ") and not (rest[0] == " " and rest.lstrip(" ")[0] == "#"):
        raise Bail
