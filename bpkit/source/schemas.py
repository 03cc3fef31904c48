"""The bundled JSON Schemas (2020-12), and validation errors as positions.

The schemas live in the repository's top-level `schemas/` folder and are
shipped inside the wheel as `bpkit/_schemas`, so an installed bpkit finds
them too. jsonschema is imported on first use only (~75 ms).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bpkit.errors import UsageError

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

NAMES = ("blueprint", "chart", "upstream", "upstream-lock", "values")


def schema_dir() -> Path:
    package = Path(__file__).resolve().parent.parent  # bpkit/
    bundled = package / "_schemas"
    if bundled.is_dir():
        return bundled
    return package.parent / "schemas"  # a source checkout


def _file_text(name: str) -> str:
    if name not in NAMES:
        raise UsageError(f"unknown schema {name!r} (choose from {', '.join(NAMES)})")
    return (schema_dir() / f"{name}.schema.json").read_text(encoding="utf-8")


def schema_text(name: str) -> str:
    """The schema as `bpkit schema` prints it: with what it references in its `$defs`.

    The files refer to each other by relative `$ref` (`upstream.schema.json`),
    which resolves against a `$id` nobody serves; printed on its own, a
    schema must carry what it references, so the refs become local
    (`#/$defs/upstream`) and the result works in any validator or editor.
    """
    root = json.loads(_file_text(name))
    defs: dict[str, Any] = {}

    def rewrite(node: Any, prefix: str) -> Any:
        if isinstance(node, dict):
            out = {k: rewrite(v, prefix) for k, v in node.items()}
            ref = node.get("$ref")
            if isinstance(ref, str):
                out["$ref"] = local(ref, prefix)
            return out
        if isinstance(node, list):
            return [rewrite(v, prefix) for v in node]
        return node

    def local(ref: str, prefix: str) -> str:
        if ref.startswith("#"):
            return prefix + ref[1:]
        target, _, fragment = ref.partition("#")
        other = target.rsplit("/", 1)[-1].removesuffix(".schema.json")
        if other not in NAMES:
            raise ValueError(f"{name}.schema.json: $ref {ref!r} names no bundled schema")
        if other == name:
            return "#" + fragment
        if other not in defs:
            defs[other] = {}  # placeholder: stops reference cycles
            embedded = {k: v for k, v in json.loads(_file_text(other)).items()
                        if k not in ("$schema", "$id")}
            defs[other] = rewrite(embedded, f"#/$defs/{other}")
        return f"#/$defs/{other}{fragment}"

    result = rewrite(root, "#")
    if defs:
        result.setdefault("$defs", {}).update(defs)
    return json.dumps(result, indent=2) + "\n"


@cache
def schema(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_file_text(name))
    return data


@cache
def validator(name: str) -> Validator:
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    resources = [(schema(n)["$id"], Resource.from_contents(schema(n))) for n in NAMES]
    registry: Registry[Any] = Registry().with_resources(resources)
    return Draft202012Validator(schema(name), registry=registry)


@cache
def _flat_metaschema_validator() -> Validator:
    """The 2020-12 meta-schema with its vocabularies merged into one document.

    Validating a schema against the official meta-schema resolves a
    `$dynamicRef` at every level, which made checking each blueprint's
    `configSchema` the slowest part of a lint run. The vocabularies'
    keywords are disjoint, so merging them and turning `$dynamicRef: "#meta"`
    into `$ref: "#"` accepts exactly the same schemas, four times faster.
    """
    from jsonschema import Draft202012Validator
    from jsonschema_specifications import REGISTRY

    root = Draft202012Validator.META_SCHEMA
    base = str(root["$id"]).rsplit("/", 1)[0] + "/"

    def local(node: Any) -> Any:
        if isinstance(node, dict):
            if node == {"$dynamicRef": "#meta"}:
                return {"$ref": "#"}
            out = {k: local(v) for k, v in node.items()}
            ref = out.get("$ref")
            if isinstance(ref, str) and re.fullmatch(r"meta/[a-z-]+#/\$defs/.+", ref):
                out["$ref"] = "#" + ref.partition("#")[2]  # the vocabularies' $defs are merged
            return out
        if isinstance(node, list):
            return [local(v) for v in node]
        return node

    flat: dict[str, Any] = {"$schema": root["$schema"], "$id": "urn:bpkit:meta-2020-12-flat",
                            "type": ["object", "boolean"], "properties": {}, "$defs": {}}
    for part in root["allOf"]:
        vocabulary = REGISTRY.contents(base + part["$ref"])
        flat["properties"].update(local(vocabulary.get("properties", {})))
        flat["$defs"].update(local(vocabulary.get("$defs", {})))
    flat["properties"].update(local(root.get("properties", {})))
    return Draft202012Validator(flat, format_checker=Draft202012Validator.FORMAT_CHECKER)


def unknown_keys(
    name: str, instance: Any,
) -> Iterator[tuple[tuple[str | int, ...], str, tuple[str, ...]]]:
    """(path of the key, key, the keys allowed there) for each key the schema does not know.

    Walks the schema beside the document instead of validating, so it needs
    no jsonschema import and reports each key itself rather than its parent.
    Only objects with `additionalProperties: false` are closed.
    """
    root = schema(name)

    def resolve(node: Any) -> Any:
        while isinstance(node, dict) and isinstance(node.get("$ref"), str) \
                and node["$ref"].startswith("#/"):
            for part in node["$ref"][2:].split("/"):
                node = node[part]
        return node

    def walk(node: Any, value: Any, path: tuple[str | int, ...]) -> Iterator[
            tuple[tuple[str | int, ...], str, tuple[str, ...]]]:
        node = resolve(node)
        if not isinstance(node, dict):
            return
        if isinstance(value, dict):
            props = node.get("properties", {})
            closed = node.get("additionalProperties") is False
            for key, child in value.items():
                if key in props:
                    yield from walk(props[key], child, (*path, key))
                elif closed:
                    yield (*path, key), str(key), tuple(props)
        elif isinstance(value, list) and "items" in node:
            for index, child in enumerate(value):
                yield from walk(node["items"], child, (*path, index))

    yield from walk(root, instance, ())


def schema_errors(instance: Any) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Why `instance` is not a valid JSON Schema (2020-12), if it is not."""
    try:
        if is_plain_schema(instance):
            return
    except RecursionError:
        pass
    for error in sorted(_flat_metaschema_validator().iter_errors(instance),
                        key=lambda e: list(e.absolute_path)):
        yield tuple(error.absolute_path), " ".join(error.message.split())


def errors(name: str, instance: Any) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """(path inside the instance, one-line message) per violation, most specific first.

    A document the fast path finds certainly valid has none, without jsonschema.
    """
    if is_clean(name, instance):
        return
    found = sorted(validator(name).iter_errors(instance), key=lambda e: list(e.absolute_path))
    for error in found:
        path = tuple(error.absolute_path)
        yield path, _message(error, path)


def _message(error: Any, path: tuple[str | int, ...]) -> str:
    where = ".".join(str(p) for p in path) or "document"
    kind = error.validator
    if kind == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return f"{where}: missing required key {missing!r}"
    if kind == "additionalProperties":
        return f"{where}: {error.message}"
    if kind == "const":
        return f"{where} must be {json.dumps(error.validator_value)}, not {_short(error.instance)}"
    if kind == "enum":
        choices = " | ".join(str(v) for v in error.validator_value)
        return f"{where} must be one of {choices}, not {_short(error.instance)}"
    if kind == "type":
        return f"{where} must be of type {error.validator_value}, not {_type_name(error.instance)}"
    if kind == "pattern":
        hint = error.schema.get("description")
        return f"{where}: {_short(error.instance)} is not valid" + (f" ({hint})" if hint else "")
    if kind == "not" and path and error.validator_value == {}:
        return f"{where} is not allowed"
    return f"{where}: {' '.join(error.message.split())}"


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "object", list: "array", str: "string", bool: "boolean",
            int: "integer", float: "number"}.get(type(value), type(value).__name__)


# --------------------------------------------------------------------------
# The fast path for clean documents
#
# Most documents are valid, and jsonschema spends most of its time on them
# building the machinery to report errors that never come. `_fast(name)` is
# the schema compiled into plain Python checks for the few keywords the
# bundled schemas use; it answers True only when the document is certainly
# valid, and False ("not sure") for anything else, including any keyword it
# does not know. Only then does jsonschema run, so the verdicts and messages
# are jsonschema's own.

_Check = Callable[[Any], bool]
_ANNOTATIONS = frozenset({"$schema", "$id", "$comment", "title", "description", "examples",
                          "default", "deprecated", "readOnly", "writeOnly", "$defs"})


def _never(_: Any) -> bool:
    return False


def _always(_: Any) -> bool:
    return True


_TYPES: dict[str, _Check] = {
    "object": lambda v: type(v) is dict,
    "array": lambda v: type(v) is list,
    "string": lambda v: type(v) is str,
    "boolean": lambda v: type(v) is bool,
    "null": lambda v: v is None,
    "integer": lambda v: type(v) is int,  # 1.0 is an integer to jsonschema: not sure
    "number": lambda v: type(v) is int or type(v) is float,
}


def _plain_equal(a: Any, b: Any) -> bool:
    """Certainly equal as JSON Schema compares (scalars of one exact type only)."""
    return type(a) is type(b) and type(a) in (str, int, bool, type(None)) and a == b


def _compile(node: Any, resolve: Callable[[str], Any], depth: int = 0) -> _Check:
    if node is True:
        return _always
    if node is False or not isinstance(node, dict) or depth > 50:
        return _never
    checks: list[_Check] = []
    for key, value in node.items():
        if key in _ANNOTATIONS:
            continue
        if key == "type":
            names = value if isinstance(value, list) else [value]
            if not all(isinstance(n, str) and n in _TYPES for n in names):
                return _never
            tests = [_TYPES[n] for n in names]
            checks.append(lambda v, t=tests: any(test(v) for test in t))  # type: ignore[misc]
        elif key == "const":
            checks.append(lambda v, c=value: _plain_equal(v, c))  # type: ignore[misc]
        elif key == "enum" and isinstance(value, list):
            checks.append(lambda v, e=value: any(_plain_equal(v, c) for c in e))  # type: ignore[misc]
        elif key == "pattern" and isinstance(value, str):
            try:
                compiled = re.compile(value)
            except re.error:
                return _never
            checks.append(lambda v, p=compiled: type(v) is not str  # type: ignore[misc]
                          or p.search(v) is not None)
        elif key in ("minLength", "maxLength", "minItems", "maxItems") and type(value) is int:
            kind = str if key.endswith("Length") else list
            low = key.startswith("min")
            checks.append(lambda v, k=kind, n=value, lo=low: type(v) is not k  # type: ignore[misc]
                          or (len(v) >= n if lo else len(v) <= n))
        elif key == "minimum" and type(value) in (int, float):
            checks.append(lambda v, n=value: type(v) not in (int, float)  # type: ignore[misc]
                          or v >= n)
        elif key == "required" and isinstance(value, list) and all(
                isinstance(k, str) for k in value):
            checks.append(lambda v, r=tuple(value): type(v) is not dict  # type: ignore[misc]
                          or all(k in v for k in r))
        elif key == "properties" and isinstance(value, dict):
            props = {k: _compile(s, resolve, depth + 1) for k, s in value.items()}
            extra = node.get("additionalProperties", True)
            rest = _compile(extra, resolve, depth + 1)
            checks.append(lambda v, p=props, r=rest: type(v) is not dict or all(  # type: ignore[misc]
                (p[k](x) if k in p else r(x)) for k, x in v.items()))
        elif key == "additionalProperties":
            if "properties" in node:
                continue  # checked with the properties
            rest = _compile(value, resolve, depth + 1)
            checks.append(lambda v, r=rest: type(v) is not dict  # type: ignore[misc]
                          or all(r(x) for x in v.values()))
        elif key == "items" and "prefixItems" not in node:
            each = _compile(value, resolve, depth + 1)
            checks.append(lambda v, e=each: type(v) is not list  # type: ignore[misc]
                          or all(e(x) for x in v))
        elif key == "$ref" and isinstance(value, str):
            target = resolve(value)
            if target is None:
                return _never
            checks.append(_deferred(target, resolve, depth + 1))
        else:
            return _never  # a keyword the fast path does not know: ask jsonschema
    return lambda v: all(check(v) for check in checks)


def _deferred(target: Any, resolve: Callable[[str], Any], depth: int) -> _Check:
    """A referenced schema, compiled on first use (references may be cyclic)."""
    compiled: list[_Check] = []

    def check(value: Any) -> bool:
        if not compiled:
            compiled.append(_compile(target, resolve, depth))
        return compiled[0](value)

    return check


@cache
def _fast(name: str) -> _Check:
    by_id = {schema(n)["$id"]: n for n in NAMES}

    def resolve(ref: str) -> Any:
        target, _, fragment = ref.partition("#")
        if fragment:
            return None  # only whole-file references are used
        base = schema(name)["$id"].rsplit("/", 1)[0] + "/"
        other = by_id.get(target if "://" in target else base + target)
        return schema(other) if other is not None else None

    return _compile(schema(name), resolve)


def is_clean(name: str, instance: Any) -> bool:
    """True when `instance` certainly satisfies schema `name` (no jsonschema import)."""
    try:
        return _fast(name)(instance)
    except (RecursionError, TypeError):
        return False


_SIMPLE_TYPES = frozenset({"array", "boolean", "integer", "null", "number", "object", "string"})


def _non_negative_int(value: Any) -> bool:
    return type(value) is int and value >= 0


def _number(value: Any) -> bool:
    return type(value) in (int, float) and math.isfinite(value)


def _strings_unique(value: Any) -> bool:
    return (type(value) is list and all(type(v) is str for v in value)
            and len(set(value)) == len(value))


def _regex(value: Any) -> bool:
    """What jsonschema's "regex" format check accepts: whatever `re.compile` compiles."""
    if type(value) is not str:
        return False
    try:
        re.compile(value)
    except Exception:  # anything but success is "not sure"
        return False
    return True


#: How the 2020-12 meta-schema constrains the keywords of plain schemas.
_META_CHECKS: dict[str, Callable[[Any], bool]] = {
    "title": lambda v: type(v) is str,
    "description": lambda v: type(v) is str,
    "$comment": lambda v: type(v) is str,
    "format": lambda v: type(v) is str,
    "pattern": _regex,  # {"type": "string", "format": "regex"}, formats checked
    "default": _always,
    "const": _always,
    "examples": lambda v: type(v) is list,
    "enum": lambda v: type(v) is list,
    "deprecated": lambda v: type(v) is bool,
    "readOnly": lambda v: type(v) is bool,
    "writeOnly": lambda v: type(v) is bool,
    "uniqueItems": lambda v: type(v) is bool,
    "minimum": _number, "maximum": _number,
    "exclusiveMinimum": _number, "exclusiveMaximum": _number,
    "minLength": _non_negative_int, "maxLength": _non_negative_int,
    "minItems": _non_negative_int, "maxItems": _non_negative_int,
    "minProperties": _non_negative_int, "maxProperties": _non_negative_int,
    "required": _strings_unique,
    "type": lambda v: (type(v) is str and v in _SIMPLE_TYPES) or (
        type(v) is list and len(v) > 0 and all(type(t) is str and t in _SIMPLE_TYPES for t in v)
        and len(set(v)) == len(v)),
}


def is_plain_schema(node: Any, depth: int = 0) -> bool:
    """True when `node` is certainly a valid 2020-12 schema, built from plain keywords only.

    The fast path before the meta-schema: keywords whose meta-schema checks
    are simple types or a regular expression (no `$ref` or combinators);
    anything else answers False (not sure).
    """
    if type(node) is bool:
        return True
    if type(node) is not dict or depth > 50:
        return False
    for key, value in node.items():
        check = _META_CHECKS.get(key)
        if check is not None:
            if not check(value):
                return False
        elif key in ("properties", "$defs"):
            if type(value) is not dict or not all(
                    is_plain_schema(v, depth + 1) for v in value.values()):
                return False
        elif key in ("items", "additionalProperties", "not"):
            if not is_plain_schema(value, depth + 1):
                return False
        else:
            return False
    return True
