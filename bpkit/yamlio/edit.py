"""Edit one scalar of a YAML file in place, keeping everything else byte for byte.

A round-trip dump reformats a file (flow maps turn into blocks, comments
move, quotes change), and a wrapper's values.yaml is documentation as much
as data. So an edit replaces only the text span the parser reports for the
scalar (its start and end marks), in the scalar's own quote style, and
several edits are applied back to front so earlier offsets stay valid (the
idea of pre-commit's `migrate_config`). Line endings and a BOM survive
because the text is never re-serialised.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml.nodes import ScalarNode

from bpkit.errors import BpkitError
from bpkit.yamlio.load import KeyPath, parse

_BOM = "\ufeff"
# Plain scalars that YAML (1.1 for Helm, or 1.2) would read as something other than a string.
_NOT_A_PLAIN_STRING = re.compile(
    r"""(?x)
    ^$ | ^[-?:,\[\]{}\#&*!|>'"%@`\s] | \s$ | :\s | \s\# | :$
    | ^(?:[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?)$      # numbers
    | ^(?:[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$
    | ^(?:0x[0-9a-fA-F_]+|0o?[0-7_]+|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?)$
    | ^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON
          |off|Off|OFF|null|Null|NULL|~)$
    """)


class EditError(BpkitError):
    """The file cannot be edited in place (not parsed, no such scalar, a block scalar)."""


@dataclass(frozen=True)
class Edit:
    """Set the string at `keypath` to `value`."""

    keypath: KeyPath
    value: str


def render_scalar(value: str, style: str | None) -> str:
    """`value` as a YAML string scalar in `style` (None: plain, `'`, `"`)."""
    if style == "'":
        if "\n" in value:
            return json.dumps(value)
        return "'" + value.replace("'", "''") + "'"
    if style == '"':
        return json.dumps(value, ensure_ascii=False)
    if _NOT_A_PLAIN_STRING.search(value) or any(c in value for c in "\n\t\r"):
        return json.dumps(value, ensure_ascii=False)  # a plain scalar would change its meaning
    return value


def apply_edits(text: str, edits: Sequence[Edit], *, display: str = "<yaml>") -> str:
    """`text` with each edit spliced in at its scalar's marks."""
    bom = _BOM if text.startswith(_BOM) else ""
    body = text[len(bom):]
    doc, problems = parse(body, Path(display), display)
    if doc is None or doc.root is None:
        why = problems[0].message if problems else "the file is empty"
        raise EditError(f"{display}: cannot edit: {why}")
    spans: list[tuple[int, int, str]] = []
    for edit in edits:
        shown = ".".join(str(p) for p in edit.keypath)
        key, node = doc.node(edit.keypath)
        if not _exact(doc, edit.keypath):
            raise EditError(f"{display}: {shown} is not set in this file")
        if key is None or not isinstance(node, ScalarNode):
            raise EditError(f"{display}: {shown} is not a scalar")
        if node.style in ("|", ">"):
            raise EditError(f"{display}: {shown} is a block scalar; edit it by hand")
        start, end = node.start_mark.index, node.end_mark.index
        if node.anchor is not None or body[start:start + 1] in ("&", "!"):
            raise EditError(f"{display}: {shown} carries an anchor or a tag; edit it by hand")
        spans.append((start, end, render_scalar(edit.value, node.style or None)))
    spans.sort(reverse=True)
    for later, earlier in itertools.pairwise(spans):
        if earlier[1] > later[0]:
            raise EditError(f"{display}: two edits touch the same text")
    for start, end, new in spans:
        body = body[:start] + new + body[end:]
    out = bom + body
    # The splice must change exactly what was asked: read it back.
    again, _ = parse(out[len(bom):], Path(display), display)
    if again is None:
        raise EditError(f"{display}: the edit would not parse; file left alone")
    for edit in edits:
        _, node = again.node(edit.keypath)
        if not isinstance(node, ScalarNode) or node.value != edit.value:
            raise EditError(f"{display}: the edit did not read back; file left alone")
    return out


def _exact(doc: object, keypath: KeyPath) -> bool:
    """Whether every part of keypath exists (Document.node stops at the deepest prefix)."""
    data = getattr(doc, "data", None)
    for part in keypath:
        in_map = isinstance(data, dict) and part in data
        in_list = isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data)
        if not (in_map or in_list):
            return False
        data = data[part]  # type: ignore[index]
    return True
