"""The manifest emitter: every value reads back the same under YAML 1.2 and YAML 1.1."""

from __future__ import annotations

import warnings
from datetime import date
from typing import Any

import pytest
from ruamel.yaml import YAML

from bpkit.render._yaml import EmitError, dump_documents

TRICKY_STRINGS = [
    "", " ", "~", "null", "Null", "true", "False", "on", "Off", "yes", "NO", "y", "N",
    "0755", "0x1F", "1_000", "1:30", "190:20:30", "1e3", "1.0", ".5", ".inf", "-.Inf", ".NaN",
    "2024-01-02", "2001-12-14t21:59:43.10-05:00", "=", "<<", "-", "- x", "? x", ": x", "a: b",
    "a:", "#x", "a #b", "x#y", "@at", "`tick`", "!tag", "&anchor", "*alias", "|", ">", "%p",
    "'single'", '"double"', "{a: 1}", "[1]", "a,b", "tab\there", "back\\slash",
    "multi\nline", "multi\nline\n", "multi\nline\n\n", "\nleading", "trailing \nspace",
    "  indented\nsecond", "uni ✓ 漢字 🚀", "bidi \u202e override", "nul\x00", "esc\x1b[31m",
    "bom\ufeff", "cr\r\nlf", "https://charts.example.com/x?y=1", "oci://ghcr.io/a/b",
    "app.kubernetes.io/name", "CreateReplace", "--- not a doc", "...",
    "10m", "1h", "20Gi", "0xFF", "0o17", "0b1", "0m", "1e", "1E5", "1e+5", "12e", "1_0m",
]


def load(text: str, version: tuple[int, int] | None) -> list[Any]:
    y = YAML(typ="safe", pure=True)
    if version is not None:
        y.version = version
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return list(y.load_all(text))


@pytest.mark.parametrize("version", [None, (1, 1)], ids=["yaml-1.2", "yaml-1.1"])
def test_strings_round_trip(version: tuple[int, int] | None) -> None:
    doc = {"values": {f"k{i}": s for i, s in enumerate(TRICKY_STRINGS)},
           "keys": {s: i for i, s in enumerate(TRICKY_STRINGS) if s},
           "list": list(TRICKY_STRINGS)}
    assert load(dump_documents([doc]), version) == [doc]


@pytest.mark.parametrize("version", [None, (1, 1)], ids=["yaml-1.2", "yaml-1.1"])
def test_other_scalars_and_nesting(version: tuple[int, int] | None) -> None:
    doc = {
        "ints": [0, -1, 10**20], "floats": [0.5, -2.0, 1e16, 1e-05, 3.14],
        "bools": [True, False], "none": None, "empty_map": {}, "empty_list": [],
        "list_of_maps": [{"a": 1, "b": [1, 2]}, {"c": {"d": "e"}}],
        "list_of_lists": [[1, [2, 3]], [], [{}]],
        "nested": {"deep": {"deeper": {"text": "multi\nline\n"}}},
    }
    assert load(dump_documents([doc, {"second": 1}]), version) == [doc, {"second": 1}]


def test_non_finite_floats() -> None:
    [doc] = load(dump_documents([{"a": float("inf"), "b": float("-inf"), "c": float("nan")}]),
                 (1, 1))
    assert doc["a"] == float("inf") and doc["b"] == float("-inf") and doc["c"] != doc["c"]


def test_keys_that_are_no_strings_become_the_strings_helm_sees() -> None:
    text = dump_documents([{1: "a", None: "c"}, {True: "b", 2.5: "d"}])
    assert load(text, None) == [{"1": "a", "null": "c"}, {"true": "b", "2.5": "d"}]
    with pytest.raises(EmitError, match="two keys"):
        dump_documents([{1: "a", "1": "b"}])


def test_dates_are_strings() -> None:
    assert load(dump_documents([{"d": date(2024, 1, 2)}]), (1, 1)) == [{"d": "2024-01-02"}]


def test_output_is_stable_and_readable() -> None:
    doc = {"apiVersion": "v1", "kind": "X", "spec": {"url": "https://a.example",
                                                     "version": "1.2.3", "items": ["a", "on"]}}
    text = dump_documents([doc], header="# head\n")
    assert text == dump_documents([doc], header="# head\n")
    assert text == ("# head\n---\napiVersion: v1\nkind: X\nspec:\n  url: https://a.example\n"
                    '  version: "1.2.3"\n  items:\n    - a\n    - "on"\n')
    assert "\x1b" not in dump_documents([{"a": "esc\x1b[31m"}])
    assert dump_documents([{"i": "10m", "h": "0xFF"}]) == '---\ni: 10m\nh: "0xFF"\n'


@pytest.mark.parametrize("value", [b"bytes", {1, 2}, object()])
def test_values_yaml_for_kubernetes_cannot_carry(value: Any) -> None:
    with pytest.raises(EmitError):
        dump_documents([{"a": value}])
