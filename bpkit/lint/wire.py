"""A loaded blueprint as plain tuples, for the trip from a forked loader back to bpkit.

Pickling a `Loaded` writes every dataclass, Path and Problem as an object
to rebuild by calling its class: for 500 blueprints a child spent about
60 ms pickling and bpkit's own process 45-60 ms unpickling, while the
documents' data alone is plain dicts, lists and strings. As tuples of such
values the same answer goes through `marshal` (about 7 ms each way), and
only the few objects around the data are rebuilt here.

`encode` answers None for anything it cannot carry exactly (a document
that is not a released `Reloading`, a Blueprint subclass); forked_map then
pickles that item as before. Data that marshal cannot write (a YAML
timestamp, a float subclass) falls back the same way, so what arrives is
always what was loaded. tests/test_lint_wire.py keeps the field lists here
in step with the classes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bpkit.lint.cache import Reloading
from bpkit.lint.engine import Loaded
from bpkit.problem import Level, Problem
from bpkit.source.model import Blueprint

_LEVELS = {level.value: level for level in Level}
_DOCS = ("blueprint", "chart", "values")


def encode(loaded: Loaded) -> tuple[Any, ...] | None:
    """`loaded` as plain values, or None when it holds something else."""
    bp = loaded.blueprint
    if type(bp) is not Blueprint:
        return None
    docs: list[tuple[str, str, Any] | None] = []
    for doc in (bp.blueprint, bp.chart, bp.values):
        if doc is None:
            docs.append(None)
            continue
        state = doc.__dict__
        if (type(doc) is not Reloading or state.get("_encoded") is not None
                or state.get("_parsed") or doc.root is not None or doc.text):
            return None
        docs.append((str(doc.path), doc.display, doc.data))
    return (str(bp.path), str(bp.chart_dir), tuple(docs), _rows(bp.problems),
            bp._chart_names,
            tuple((rule, _rows(found)) for rule, found in loaded.rules.items()),
            loaded.inputs)


def decode(plain: tuple[Any, ...]) -> Loaded:
    """The `Loaded` that `encode` was given, rebuilt."""
    path, chart_dir, docs, problems, chart_names, rules, inputs = plain
    built = [None if doc is None else Reloading(Path(doc[0]), doc[1], data=doc[2])
             for doc in docs]
    bp = Blueprint(path=Path(path), blueprint=built[0], chart=built[1], values=built[2],
                   chart_dir=Path(chart_dir), problems=_problems(problems),
                   _chart_names=chart_names)
    return Loaded(bp, {rule: _problems(rows) for rule, rows in rules}, inputs)


def _rows(problems: list[Problem]) -> tuple[tuple[Any, ...], ...]:
    return tuple((p.path, p.line, p.col, p.rule, p.level.value, p.message) for p in problems)


def _problems(rows: tuple[tuple[Any, ...], ...]) -> list[Problem]:
    return [Problem(path, line, col, rule, _LEVELS[level], message)
            for path, line, col, rule, level, message in rows]
