"""Plain scalars as ruamel.yaml's safe loader resolves and builds them, without importing it.

The fast path (bpkit.yamlio.fast) reads most files without ruamel.yaml, so
a small lint (the pre-commit hook's) need not import it (about 25 ms). The
implicit resolvers below are ruamel's own, pattern for pattern; a test
(tests/test_yaml_fast.py) compares them with the installed ruamel.yaml,
so an upgrade that changes one fails there rather than changing a verdict.
Strings, booleans, nulls and plain decimal numbers are built here; any
other tag (timestamps, hex, octal, exponents, `.inf`, ...) is left to
ruamel's constructor (`NotHere`).
"""

from __future__ import annotations

import re
from typing import Any

STR = "tag:yaml.org,2002:str"
_T = "tag:yaml.org,2002:"

# (tag, first characters, pattern): ruamel.yaml.resolver's implicit resolvers
# (YAML 1.2); those of several lines are compiled with re.X, as ruamel does.
RESOLVERS: tuple[tuple[str, str, str], ...] = (
    (_T + "bool", "TtFf", "^(?:true|True|TRUE|false|False|FALSE)$"),
    (_T + "float", "-+0123456789.", """^(?:
         [-+]?(?:[0-9][0-9_]*)\\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |[-+]?\\.[0-9_]+(?:[eE][-+][0-9]+)?
        |[-+]?\\.(?:inf|Inf|INF)
        |\\.(?:nan|NaN|NAN))$"""),
    (_T + "int", "-+0123456789", """^(?:[-+]?0b[0-1_]+
        |[-+]?0o?[0-7_]+
        |[-+]?[0-9_]+
        |[-+]?0x[0-9a-fA-F_]+)$"""),
    (_T + "merge", "<", "^(?:<<)$"),
    (_T + "null", "~nN\0", """^(?: ~
        |null|Null|NULL
        | )$"""),
    (_T + "timestamp", "0123456789", """^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
        |[0-9][0-9][0-9][0-9] -[0-9][0-9]? -[0-9][0-9]?
        (?:[Tt]|[ \\t]+)[0-9][0-9]?
        :[0-9][0-9] :[0-9][0-9] (?:\\.[0-9]*)?
        (?:[ \\t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$"""),
    (_T + "value", "=", "^(?:=)$"),
    (_T + "yaml", "!&*", "^(?:!|&|\\*)$"),
)

_VERBOSE = ("bool", "float", "int", "null", "timestamp")

#: First character -> [(tag, regex)], in ruamel's order of registration per
#: character ("\0" stands for the empty scalar's key, "").
IMPLICIT: dict[str, list[tuple[str, re.Pattern[str]]]] = {}
for _tag, _first, _pattern in RESOLVERS:
    _regex = re.compile(_pattern, re.X if _tag.rsplit(":", 1)[1] in _VERBOSE else 0)
    for _char in _first:
        IMPLICIT.setdefault("" if _char == "\0" else _char, []).append((_tag, _regex))

_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
_FLOAT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)\.[0-9]+")


class NotHere(Exception):
    """A tag built by ruamel's constructor, not here."""


def resolve(value: str) -> str:
    """The tag of a plain scalar."""
    for tag, regex in IMPLICIT.get(value[:1], ()):
        if regex.match(value):
            return tag
    return STR


def build(tag: str, value: str) -> Any:
    """The value of a plain scalar of `tag`, as ruamel's SafeConstructor builds it."""
    if tag == STR:
        return value
    if tag == _T + "bool":
        return value.lower() == "true"
    if tag == _T + "null":
        return None
    if tag == _T + "int" and _INT.fullmatch(value):
        return int(value)
    if tag == _T + "float" and _FLOAT.fullmatch(value):
        return float(value)
    raise NotHere(tag)
