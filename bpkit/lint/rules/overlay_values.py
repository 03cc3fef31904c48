"""Every overlay value is one the locked upstream chart defines, with a type it can take.

The overlay (every key of values.yaml except `catalystBlueprint`) goes to
the upstream chart unchanged, and Helm silently ignores a key the chart
never reads: a typo (`replicaCont`), or values under the wrong key, reach
nothing. This rule reads the upstream chart that `upstream.lock` pins from
the local cache (`bpkit upstream fetch` fills it; the network is never
used) and checks each key path against the chart's default values.yaml
and values.schema.json:

- a key the upstream does not define is a warning, with did-you-mean and
  the key's line:col. A key the schema declares counts as defined, as do
  `global` and the names of the upstream's own subcharts. Maps whose
  default is empty (`podAnnotations: {}`) accept any key, as do maps the
  schema leaves open (`additionalProperties: true` or a schema,
  `patternProperties`); a schema that merely omits `additionalProperties`
  does not open a map whose defaults list its keys;
- a type that cannot be right is an error: a mapping where the upstream
  has a string, list or number (or the reverse), a scalar where it has a
  list, and whatever the schema refuses once the overlay is merged over
  the defaults as Helm merges them (an error the defaults alone already
  have is the upstream's, not reported).

In `upstream-mode = "bundle"` the upstream is a subchart, so the overlay
is the subtree under the upstream chart's name. Without a lock this rule
says nothing (upstream-lock warns); with a stale lock neither (upstream-lock
errs); when the cache lacks the locked chart it gives one warning per
blueprint. Where it checks, it replaces overlay-subchart-key's guess.

The examples run against a cached flux2 2.13.0 whose defaults are
`installCRDs: false`, `podAnnotations: {}` and `resources: {limits: {}}`
(tests/test_lock_rules.py).

Passing::

    # file: chart/values.yaml
    catalystBlueprint:
      upstream: { chart: flux2, version: "2.13.0", repo: "https://fluxcd-community.github.io/helm-charts" }
    installCRDs: true
    podAnnotations:
      example.com/anything: "goes"

Failing::

    # file: chart/values.yaml
    catalystBlueprint:
      upstream: { chart: flux2, version: "2.13.0", repo: "https://fluxcd-community.github.io/helm-charts" }
    installCRD: true
    resources: "100m"
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping
from typing import Any

from bpkit.lint.context import Context
from bpkit.lint.rules._common import describe_type
from bpkit.lint.upstream_facts import UpstreamDefaults, current_lock, defaults_for, error_key
from bpkit.problem import Level, Problem
from bpkit.source.model import Blueprint
from bpkit.text import one_line
from bpkit.yamlio.load import Document

ID = "overlay-values"
LEVEL = Level.WARNING  # unknown keys; impossible types are errors
_BLOCK = "catalystBlueprint"
_MAX_REF_DEPTH = 32
_MAX_SCHEMA_ERRORS = 50

Path_ = tuple[str, ...]


def check(bp: Blueprint, ctx: Context) -> Iterator[Problem]:
    lock = current_lock(bp, ctx)
    if lock is None or bp.values is None or not isinstance(bp.values.data, dict):
        return
    defaults = defaults_for(lock, inputs=ctx.inputs)
    where = f"{lock.chart} {lock.version}"
    if defaults is None or defaults.unreadable is not None:
        why = (f"the cache does not hold {where} ({lock.digest[:19]}...)" if defaults is None
               else f"the cached chart cannot be read: {defaults.unreadable}")
        yield bp.values.problem(
            (_BLOCK, "upstream"), ID,
            f"overlay not checked: {why}; run `bpkit upstream fetch {bp.display}`",
            key=True, level=Level.WARNING)
        return
    data: dict[Any, Any] = bp.values.data
    settings = ctx.settings
    prefix: Path_ = ()
    if settings is not None and settings.mode_for(bp.path) == "bundle":
        sub = data.get(lock.chart)
        if not isinstance(sub, dict):
            return
        overlay, prefix = sub, (lock.chart,)
    else:
        overlay = {k: v for k, v in data.items() if k != _BLOCK}
    yield from _Checker(bp.values, defaults, where, prefix).run(overlay)


class _Checker:
    def __init__(self, doc: Document, defaults: UpstreamDefaults, where: str,
                 prefix: Path_) -> None:
        self.doc = doc
        self.defaults = defaults
        self.where = where
        self.prefix = prefix
        self.schema_paths: set[Path_] = set()

    def run(self, overlay: dict[Any, Any]) -> Iterator[Problem]:
        schema = self.defaults.schema
        if schema is not None and self.defaults.regex_safe:
            yield from self._schema_errors(overlay, schema)
        yield from self._walk((), overlay, self.defaults.values, schema, top=True)

    # --- unknown keys and impossible types --------------------------------------------
    def _walk(self, path: Path_, overlay: dict[Any, Any], default: Any,
              schema: dict[str, Any] | None, *, top: bool) -> Iterator[Problem]:
        known = default if isinstance(default, dict) else {}
        view = _SchemaView(self.defaults.schema, schema, self.defaults.regex_safe)
        for key, value in overlay.items():
            if not isinstance(key, str):
                continue
            here = (*path, key)
            if top and (key == "global" or key in self.defaults.subcharts):
                continue
            sub, declared = view.child(key)
            if key not in known and not declared:
                if view.open or (not known and not view.properties):
                    continue  # an empty default map or an open schema accepts any key
                if here in self.schema_paths:
                    continue  # already an error: the schema refuses it
                yield self._unknown(here, key, [*known, *view.properties])
                continue
            upstream = known.get(key)
            mismatch = _mismatch(upstream, value)
            if mismatch is not None:
                yield self._problem(
                    here, f"{_dotted(here)} is {describe_type(value)} here, but "
                    f"{describe_type(upstream)} in {self.where}'s defaults{mismatch}",
                    Level.ERROR, key=True)
                continue
            if isinstance(value, dict):
                subview = _SchemaView(self.defaults.schema, sub, self.defaults.regex_safe)
                if (isinstance(upstream, dict) and upstream) or subview.properties:
                    yield from self._walk(here, value, upstream, sub, top=False)

    def _unknown(self, path: Path_, key: str, candidates: list[str]) -> Problem:
        close = difflib.get_close_matches(key, candidates, n=1, cutoff=0.6)
        if not close:
            lowered = {c.lower(): c for c in candidates}
            close = [lowered[m] for m in difflib.get_close_matches(key.lower(), lowered, n=1)]
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        if len(path) == 1 and key == self.where.split(" ")[0] and not self.prefix:
            hint += (": it is named after the upstream chart, whose values go at the top "
                     "level, not under its name")
        parent = f" under {_dotted(path[:-1])!r}" if len(path) > 1 else ""
        return self._problem(
            path, f"{key!r}{parent} is not a value {self.where} defines{hint}; Helm ignores it",
            Level.WARNING, key=True)

    # --- what the schema refuses ---------------------------------------------------------
    def _schema_errors(self, overlay: dict[Any, Any], schema: dict[str, Any]) -> Iterator[Problem]:
        import jsonschema

        try:
            cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
            validator = cls(schema)
            base = self.defaults.values if isinstance(self.defaults.values, dict) else {}
            before = self.defaults.default_errors
            merged = _coalesce(base, overlay)
            found = []
            for error in validator.iter_errors(merged):
                if error_key(error) not in before:
                    found.append(error)
                    if len(found) >= _MAX_SCHEMA_ERRORS:
                        break
        except Exception:  # a broken or unresolvable upstream schema is the upstream's
            return          # problem; the key checks still run
        for error in found:
            path = tuple(str(p) for p in error.absolute_path)
            if error.validator == "additionalProperties" and isinstance(error.instance, dict):
                sub = _get(overlay, path)
                allowed = _allowed_keys(error.schema)  # patterns known safe here
                for key in sub if isinstance(sub, dict) else ():
                    if isinstance(key, str) and key not in allowed[0] and not any(
                            re.search(p, key) for p in allowed[1]):
                        here = (*path, key)
                        self.schema_paths.add(here)
                        close = difflib.get_close_matches(key, allowed[0], n=1, cutoff=0.6)
                        hint = f" (did you mean {close[0]!r}?)" if close else ""
                        yield self._problem(
                            here, f"{_dotted(here)} is refused by {self.where}'s "
                            f"values.schema.json (no other keys allowed there){hint}",
                            Level.ERROR, key=True)
                continue
            self.schema_paths.add(path)
            shown = _dotted(path) if path else "the values"
            yield self._problem(
                path, f"{shown}: {one_line(error.message, 160)} "
                f"({self.where}'s values.schema.json)", Level.ERROR)

    def _problem(self, path: Path_, message: str, level: Level, *, key: bool = False) -> Problem:
        return self.doc.problem((*self.prefix, *path), ID, message, key=key, level=level)


class _SchemaView:
    """The keys a (sub)schema declares, following local $refs and allOf/anyOf/oneOf."""

    def __init__(self, root: dict[str, Any] | None, schema: dict[str, Any] | None,
                 regex_safe: bool = True) -> None:
        self.regex_safe = regex_safe
        self.properties: dict[str, Any] = {}
        self.patterns: list[tuple[str, Any]] = []
        self.additional: Any = None
        self.open = False
        if root is not None and schema is not None:
            self._add(root, schema, 0)

    def _add(self, root: dict[str, Any], schema: Any, depth: int) -> None:
        if not isinstance(schema, dict) or depth > _MAX_REF_DEPTH:
            return
        ref = schema.get("$ref")
        if isinstance(ref, str):
            target = _resolve(root, ref)
            if target is None:
                self.open = True  # a remote or broken $ref: no way to know its keys
            else:
                self._add(root, target, depth + 1)
        props = schema.get("properties")
        if isinstance(props, dict):
            for name, sub in props.items():
                self.properties.setdefault(name, sub)
        patterns = schema.get("patternProperties")
        if isinstance(patterns, dict) and patterns:
            self.patterns.extend(patterns.items())
            self.open = True
        extra = schema.get("additionalProperties")
        if extra is True or isinstance(extra, dict):
            self.additional = extra
            self.open = True
        for word in ("allOf", "anyOf", "oneOf"):
            branches = schema.get(word)
            for branch in branches if isinstance(branches, list) else ():
                self._add(root, branch, depth + 1)

    def child(self, key: str) -> tuple[dict[str, Any] | None, bool]:
        """(the key's subschema, whether the schema declares the key)."""
        if key in self.properties:
            sub = self.properties[key]
            return (sub if isinstance(sub, dict) else None), True
        for pattern, sub in self.patterns:
            if not self.regex_safe:
                return None, True  # a pattern that might never finish: taken to match
            try:
                if re.search(pattern, key):
                    return (sub if isinstance(sub, dict) else None), True
            except re.error:
                continue
        if isinstance(self.additional, dict):
            return self.additional, True
        return None, False


def _resolve(root: dict[str, Any], ref: str) -> Any:
    if not ref.startswith("#"):
        return None
    node: Any = root
    for part in ref[1:].split("/")[1:] if ref != "#" else ():
        part = part.replace("~1", "/").replace("~0", "~")  # noqa: PLW2901
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def _allowed_keys(schema: Any) -> tuple[list[str], list[str]]:
    if not isinstance(schema, dict):
        return [], []
    props = schema.get("properties")
    patterns = schema.get("patternProperties")
    return (list(props) if isinstance(props, dict) else [],
            list(patterns) if isinstance(patterns, dict) else [])


def _mismatch(upstream: Any, value: Any) -> str | None:
    """A reason when `value` cannot stand where the upstream default is `upstream`."""
    if upstream is None or value is None:
        return None  # no default to compare with; null deletes a default in Helm
    if isinstance(upstream, dict) != isinstance(value, dict):
        return ""
    if isinstance(upstream, list) and not isinstance(value, list):
        return ""
    return None


def _coalesce(base: Mapping[Any, Any], overlay: Mapping[Any, Any]) -> dict[Any, Any]:
    """Overlay over defaults as Helm merges values: maps merge, null deletes, else replace."""
    out = dict(base)
    for key, value in overlay.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _coalesce(out[key], value)
        else:
            out[key] = value
    return out


def _get(data: Any, path: Path_) -> Any:
    for part in path:
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def _dotted(path: Path_) -> str:
    return ".".join(path)
