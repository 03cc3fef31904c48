"""What a forked loader sends back (bpkit.lint.wire) is what it loaded, field for field."""

from __future__ import annotations

import dataclasses
import datetime
import marshal
import os
import time
from pathlib import Path
from typing import Any

import pytest

from bpkit.lint import engine, wire
from bpkit.lint.cache import Reloading
from bpkit.lint.forked import forked_map
from bpkit.problem import Problem
from bpkit.settings import load_settings
from bpkit.source.discover import discover
from bpkit.source.model import Blueprint
from bpkit.yamlio.load import Document
from tests.helpers.cli import REPO
from tests.helpers.corpus import corpus_dir


def _doc(doc: Document | None) -> Any:
    if doc is None:
        return None
    return (type(doc), doc.path, doc.display, repr(doc.data), doc.root, doc.text)


def _shape(loaded: engine.Loaded) -> Any:
    """Everything a Loaded holds, types included, to compare two of them."""
    bp = loaded.blueprint
    fields = {f.name: getattr(bp, f.name) for f in dataclasses.fields(bp)}
    for name in ("blueprint", "chart", "values"):
        fields[name] = _doc(fields[name])
    return (type(bp), fields, list(loaded.rules.items()), loaded.inputs)


def _sent(loaded: engine.Loaded) -> engine.Loaded:
    encoded = wire.encode(loaded)
    assert encoded is not None
    return wire.decode(marshal.loads(marshal.dumps(encoded)))


def _loaded_of(root: Path) -> list[engine.Loaded]:
    settings = load_settings(root)
    return [engine.load_checked(path, settings)
            for path in discover([], settings.root, settings.roots).blueprints]


def test_the_fields_carried_are_all_the_fields() -> None:
    # A field added to one of these classes must be carried by wire.encode too.
    assert [f.name for f in dataclasses.fields(Blueprint)] == [
        "path", "blueprint", "chart", "values", "chart_dir", "problems", "_chart_names"]
    assert engine.Loaded._fields == ("blueprint", "rules", "inputs")
    assert [f.name for f in dataclasses.fields(Problem)] == [
        "path", "line", "col", "rule", "level", "message"]
    doc = Reloading(Path("/x"), "x", data={})
    assert set(vars(doc)) == {"path", "display", "root", "text", "_encoded", "data", "_parsed"}


def test_the_projects_blueprints_arrive_as_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    loaded = _loaded_of(REPO)
    assert len(loaded) >= 10
    for one in loaded:
        assert _shape(_sent(one)) == _shape(one)


def test_the_corpus_arrives_as_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    head = corpus_dir()
    monkeypatch.chdir(head)
    loaded = _loaded_of(head)
    with_problems = 0
    for one in loaded:
        if wire.encode(one) is None:
            continue  # pickled instead; forked_map's tests cover that path
        assert _shape(_sent(one)) == _shape(one)
        with_problems += bool(one.blueprint.problems or any(one.rules.values()))
    assert with_problems >= 20  # problems, not only clean folders, made the trip


def test_what_wire_cannot_carry_exactly_is_left_to_pickle(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    one = _loaded_of(REPO)[0]
    assert wire.encode(one) is not None

    class Special(Blueprint):
        pass

    special = Special(**{f.name: getattr(one.blueprint, f.name)
                         for f in dataclasses.fields(Blueprint)})
    assert wire.encode(one._replace(blueprint=special)) is None
    fresh = dataclasses.replace(one.blueprint, chart=Document(Path("/c"), "c", {"a": 1}))
    assert wire.encode(one._replace(blueprint=fresh)) is None  # not a released document
    parsed = Reloading(Path("/c"), "c", data={})
    parsed._parsed = True
    assert wire.encode(one._replace(blueprint=dataclasses.replace(
        one.blueprint, chart=parsed))) is None


def _tagged(item: int) -> tuple[str, int, Any]:
    # A datetime, as the full YAML loader gives for a timestamp: marshal refuses it.
    time.sleep(0.001)  # long enough for both processes to take some
    value: Any = datetime.date(2026, 1, 1) if item % 7 == 0 else item
    return ("plain", os.getpid(), value)


def _decoded(plain: Any) -> tuple[str, int, Any]:
    return ("decoded", plain[1], plain[2])


def test_forked_map_marshals_what_it_can_and_pickles_the_rest() -> None:
    results = list(forked_map(_tagged, list(range(300)), 2, encode=lambda r: r, decode=_decoded))
    assert [r[2] for r in results] == [datetime.date(2026, 1, 1) if i % 7 == 0 else i
                                       for i in range(300)]
    child = [r for r in results if r[1] != os.getpid()]
    assert child, "the child took no item"
    # From the child: marshalled then decoded, except the dates, which were pickled.
    assert {r[0] for r in child if not isinstance(r[2], datetime.date)} == {"decoded"}
    assert {r[0] for r in child if isinstance(r[2], datetime.date)} <= {"plain"}
    # This process's own results are never encoded.
    assert {r[0] for r in results if r[1] == os.getpid()} == {"plain"}
