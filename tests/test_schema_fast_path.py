"""The schema fast path never calls a document clean that jsonschema would not.

`is_clean` and `is_plain_schema` may only answer True for documents and
schemas that jsonschema finds valid; everything else goes to jsonschema.
Checked on the corpus, the generated bench tree, the rule examples' shapes
and thousands of seeded mutations of them.
"""

from __future__ import annotations

import copy
import random
import sys
from pathlib import Path
from typing import Any

import pytest

from bpkit.source import schemas
from bpkit.yamlio.load import load
from tests.helpers.cli import REPO
from tests.helpers.corpus import corpus_dir

sys.path.insert(0, str(REPO / "bench"))
from gen_blueprints import generate

ODD_VALUES: list[Any] = [None, True, False, 0, 1, -1, 1.0, 2.5, float("nan"), "", "x", "v2",
                         "application", "library", "1.0.0", "bp-x", "-bad", [], [1], ["a", "a"],
                         {}, {"a": 1}, {"name": "x", "version": "1.0.0"}, "(", "[a-z]+$",
                         "a{2,1}", r"\p{L}", {"pattern": "("}, {"pattern": "^x"}]


def documents(tmp_path: Path) -> dict[str, list[Any]]:
    bench = tmp_path / "bench"
    generate(bench, 30)
    found: dict[str, list[Any]] = {"blueprint": [], "chart": []}
    for root in (corpus_dir().parent, bench, REPO / "platform"):
        for name, pattern in (("blueprint", "blueprint.yaml"), ("chart", "Chart.yaml")):
            for path in sorted(root.rglob(pattern)):
                doc, _ = load(path)
                if doc is not None:
                    found[name].append(doc.data)
    return found


def mutations(doc: Any, rnd: random.Random, count: int) -> list[Any]:
    """Seeded random edits: a value replaced, a key added or removed, at any depth."""
    out = []
    for _ in range(count):
        new = copy.deepcopy(doc)
        node = new
        for _ in range(rnd.randint(0, 3)):
            if isinstance(node, dict) and node:
                child = node[rnd.choice(list(node))]
                if isinstance(child, (dict, list)) and child:
                    node = child
            elif isinstance(node, list) and node:
                child = rnd.choice(node)
                if isinstance(child, (dict, list)) and child:
                    node = child
        if isinstance(node, dict) and node:
            action = rnd.random()
            key = rnd.choice(list(node))
            if action < 0.5:
                node[key] = copy.deepcopy(rnd.choice(ODD_VALUES))
            elif action < 0.75:
                del node[key]
            else:
                node[rnd.choice(["extra", "dependencies", "type", key + "x"])] = rnd.choice(
                    ODD_VALUES)
        elif isinstance(node, list) and node:
            node[rnd.randrange(len(node))] = copy.deepcopy(rnd.choice(ODD_VALUES))
        out.append(new)
    return out


def slow_errors(name: str, instance: Any) -> list[tuple[tuple[str | int, ...], str]]:
    found = sorted(schemas.validator(name).iter_errors(instance),
                   key=lambda e: list(e.absolute_path))
    return [(tuple(e.absolute_path), schemas._message(e, tuple(e.absolute_path)))
            for e in found]


def test_documents_fast_path_agrees_with_jsonschema(tmp_path: Path) -> None:
    rnd = random.Random(12)
    clean = total = 0
    for name, docs in documents(tmp_path).items():
        assert len(docs) > 30
        for doc in [*docs, *(m for d in docs[::3] for m in mutations(d, rnd, 12))]:
            total += 1
            expected = slow_errors(name, doc)
            if schemas.is_clean(name, doc):
                clean += 1
                assert expected == [], doc
            assert list(schemas.errors(name, doc)) == expected
    assert clean > 200  # the fast path does answer, for valid documents
    assert clean < total  # and the mutations found invalid ones


def test_config_schema_fast_path_agrees_with_the_meta_schema(tmp_path: Path) -> None:
    rnd = random.Random(7)
    configs = [d["spec"]["configSchema"] for d in documents(tmp_path)["blueprint"]
               if isinstance(d, dict) and isinstance(d.get("spec"), dict)
               and isinstance(d["spec"].get("configSchema"), dict)]
    assert len(configs) > 20
    meta = schemas._flat_metaschema_validator()
    plain = 0
    for config in [*configs, *(m for c in configs for m in mutations(c, rnd, 10))]:
        valid = not list(meta.iter_errors(config))
        if schemas.is_plain_schema(config):
            plain += 1
            assert valid, config
    assert plain > len(configs) // 2


@pytest.mark.parametrize(("schema", "value", "clean"), [
    ("chart", {"apiVersion": "v2", "name": "bp-x", "version": "1.0.0", "type": "application"},
     True),
    ("chart", {"apiVersion": "v2", "name": "bp-x", "version": "1.0.0", "dependencies": []},
     False),  # `not: {}`: the fast path never proves a `not`
    ("chart", {"apiVersion": True, "name": "bp-x", "version": "1.0.0"}, False),
])
def test_fast_path_cases(schema: str, value: Any, clean: bool) -> None:
    assert schemas.is_clean(schema, value) is clean
    if clean:
        assert slow_errors(schema, value) == []


def test_meta_schema_cross_vocabulary_reference_resolves() -> None:
    """`dependencies` (deprecated) refers to meta/validation's stringArray: no crash."""
    found = list(schemas.schema_errors({"dependencies": {"a": "x"}}))
    assert found and found[0][0] == ("dependencies", "a")
    assert list(schemas.schema_errors({"dependencies": {"a": ["b"]}})) == []
