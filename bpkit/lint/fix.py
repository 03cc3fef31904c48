"""`bpkit lint --fix`: the mechanical part of turning an umbrella chart into a wrapper.

An umbrella chart names its upstream in a Chart.yaml `dependencies:` block
and `helm dependency build` vendors it; a wrapper names it in values.yaml's
`catalystBlueprint.upstream` and bpkit bundles it at package time (bundle
mode) or leaves it to the installer (overlay mode). What is mechanical:

* a `dependencies:` block whose single entry agrees with the upstream block
  (same chart, version, repo) is removed from Chart.yaml, by deleting its
  lines (every other byte, comments included, stays; so do the comments
  above and below the block);
* when values.yaml has no `catalystBlueprint` key yet, the block is created
  from that entry (an exact version only, no ranges);
* a `Chart.lock` that pinned the removed block is deleted.

Then values.yaml is moved to the release mode's shape (`upstream-mode` for
the blueprint's path), when the wrapper has no templates of its own (so
every key but `catalystBlueprint` is the upstream's):

* bundle: Helm's umbrella convention, the upstream's values under its
  chart name: the keys after the `catalystBlueprint` block are indented
  under a new `<chart>:` key;
* overlay: the installer passes the values to the upstream chart itself,
  so a lone `<chart>:` block is un-nested to the top level.

Lines move as they are, comments included. What is not mechanical is
reported and left alone: several dependencies, an alias, condition, tags
or import-values, a version range, an entry that disagrees with the
upstream block, a flow-style Chart.yaml or values block, wrapper templates.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

from bpkit.source.model import Blueprint
from bpkit.yamlio.load import Document, display_path, parse

__all__ = ["FixResult", "fix_blueprint"]

_EXACT_VERSION = re.compile(r"v?[0-9]+\.[0-9]+\.[0-9]+(?:[-+][0-9A-Za-z.+-]+)?")
_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9._-]*")


@dataclass
class FixResult:
    """What `--fix` changed in one blueprint, and what it left for a person."""

    fixed: list[str]
    left: list[str]


def _top_level(doc: Document, key: str) -> tuple[Any, Any] | None:
    root = doc.root
    if not isinstance(root, MappingNode) or root.flow_style:
        return None
    for k, v in root.value:
        if isinstance(k, ScalarNode) and k.value == key:
            return k, v
    return None


def _block_lines(doc: Document, key: str) -> tuple[int, int] | None:
    """[start, end) line numbers of a top-level key and its value, trailing comments kept."""
    root = doc.root
    found = _top_level(doc, key)
    if found is None or not isinstance(root, MappingNode):
        return None
    k, v = found
    if k.start_mark.column != 0:
        return None
    lines = doc.text.splitlines(keepends=True)
    keys = [kk for kk, _ in root.value]
    after = [kk.start_mark.line for kk in keys if kk.start_mark.line > k.start_mark.line]
    end = min(after) if after else len(lines)
    while end > k.start_mark.line + 1 and (not lines[end - 1].strip()
                                           or lines[end - 1].lstrip().startswith("#")):
        end -= 1  # comments and blank lines before the next key belong to it
    if not isinstance(v, SequenceNode) or (v.flow_style and v.end_mark.line >= end):
        return None
    return k.start_mark.line, end


def _scalar(value: str) -> str:
    return value if _PLAIN.fullmatch(value) and value not in ("true", "false", "null",
                                                              "yes", "no", "on", "off") \
        else json.dumps(value)


def fix_blueprint(bp: Blueprint, mode: str | None = None) -> FixResult:
    """Apply the mechanical fixes to one blueprint's files, in place.

    `mode` ("overlay" or "bundle") moves values.yaml to that shape; None
    leaves the values alone.
    """
    result = _fix_dependencies(bp)
    if mode is not None and not result.left:
        from bpkit.source.model import load_blueprint

        _fix_values_shape(load_blueprint(bp.path), mode, result)
    return result


def _own_templates(bp: Blueprint) -> bool:
    folder = bp.chart_dir / "templates"
    return folder.is_dir() and any(
        p.is_file() and not p.name.startswith("_") and p.name != "NOTES.txt"
        for p in folder.rglob("*"))


def _fix_values_shape(bp: Blueprint, mode: str, result: FixResult) -> None:
    values, upstream = bp.values, bp.upstream
    if values is None or not isinstance(values.data, dict) or upstream is None:
        return
    chart = upstream.get("chart")
    root = values.root
    if not isinstance(chart, str) or not chart or not isinstance(root, MappingNode) or \
            root.flow_style:
        return
    keys = [k for k, _ in root.value if isinstance(k, ScalarNode)]
    overlay = [k for k in keys if k.value != "catalystBlueprint"]
    nested = any(k.value == chart for k in overlay)
    if not overlay or (mode == "bundle") == nested:
        return  # nothing to move, or already in shape (a bundle may have keys of its own)
    if mode != "bundle" and len(overlay) > 1:
        result.left.append(f"{display_path(values.path)}: {chart}: sits beside other keys; "
                           "which are the wrapper's own is not mechanical")
        return
    shown = display_path(values.path)
    if _own_templates(bp):
        result.left.append(f"{shown}: the wrapper has templates of its own, so which keys "
                           f"are {chart}'s is not mechanical; move them by hand ({mode} shape)")
        return
    lines = values.text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    if mode == "bundle":
        if keys[0].value != "catalystBlueprint" or any(k.start_mark.column != 0
                                                        for k in overlay):
            result.left.append(f"{shown}: catalystBlueprint must come first to nest the "
                               f"overlay under {chart}:")
            return
        start = _block_start(lines, overlay[0].start_mark.line)
        moved = [("  " + line) if line.strip() else line for line in lines[start:]]
        lines[start:] = [f"{_scalar(chart)}:\n", *moved]
        what = f"nested the overlay under {chart}: (bundle mode: Helm's umbrella convention)"
    else:
        (key,) = overlay
        value = next(v for k, v in root.value if k is key)
        if not isinstance(value, MappingNode) or value.flow_style or not value.value or \
                key.start_mark.column != 0:
            result.left.append(f"{shown}: {chart}: is not a block mapping; un-nest it by hand")
            return
        indent = value.value[0][0].start_mark.column
        begin = key.start_mark.line
        after = [k.start_mark.line for k in keys if k.start_mark.line > begin]
        end = min(after) if after else len(lines)
        body = lines[begin + 1:end]
        if key.end_mark.line != begin or lines[begin].split(":", 1)[1].split("#", 1)[0].strip() \
                or any(line.strip() and not line.startswith(" " * indent) and
                       not line.lstrip().startswith("#") for line in body):
            result.left.append(f"{shown}: {chart}: is not a plain block; un-nest it by hand")
            return
        comment = lines[begin].split("#", 1)[1] if "#" in lines[begin] else None
        lines[begin:end] = ([f"#{comment}"] if comment else []) + [
            line[indent:] if line.startswith(" " * indent) else line for line in body]
        what = f"un-nested {chart}: to the top level (overlay mode: values go to {chart} itself)"
    data = values.data
    want = ({"catalystBlueprint": data["catalystBlueprint"],
             chart: {k: v for k, v in data.items() if k != "catalystBlueprint"}}
            if mode == "bundle" else
            {"catalystBlueprint": data["catalystBlueprint"], **data[chart]})
    text = "".join(lines)
    doc, problems = parse(text, values.path, shown)
    if doc is None or problems or doc.data != want or (
            mode != "bundle" and set(data[chart]) & {"catalystBlueprint"}):
        result.left.append(f"{shown}: moving the values to the {mode} shape would change what "
                           "they mean (block scalars, anchors); move them by hand")
        return
    values.path.write_text(text, encoding="utf-8")
    result.fixed.append(f"{shown}: {what}")


def _block_start(lines: list[str], line: int) -> int:
    """The first line of a key's block: the key, or the comments right above it."""
    while line > 0 and lines[line - 1].lstrip().startswith("#") and lines[line - 1].strip():
        line -= 1
    return line


def _fix_dependencies(bp: Blueprint) -> FixResult:
    result = FixResult([], [])
    chart = bp.chart
    if chart is None or not isinstance(chart.data, dict) or "dependencies" not in chart.data:
        return result
    shown = display_path(chart.path)
    deps = chart.data["dependencies"]
    if not isinstance(deps, list) or len(deps) != 1 or not isinstance(deps[0], dict):
        count = len(deps) if isinstance(deps, list) else "no list of"
        result.left.append(f"{shown}: dependencies: holds {count} entries; only a single "
                           "one can become the upstream block")
        return result
    dep = deps[0]
    extra = sorted(set(dep) - {"name", "version", "repository"})
    if extra:
        result.left.append(f"{shown}: the dependency has {', '.join(extra)}; a wrapper's "
                           "upstream has only chart, version and repo")
        return result
    name, version, repo = (str(dep.get(k, "")) for k in ("name", "version", "repository"))
    upstream = bp.upstream
    values = bp.values
    if upstream is not None:
        want = (str(upstream.get("chart")), str(upstream.get("version")),
                str(upstream.get("repo")))
        if (name, version, repo.rstrip("/")) != (want[0], want[1], want[2].rstrip("/")):
            result.left.append(f"{shown}: the dependency ({name} {version} from {repo}) does "
                               f"not agree with catalystBlueprint.upstream ({' '.join(want)})")
            return result
    else:
        if values is None or not isinstance(values.data, dict | type(None)) or (
                isinstance(values.data, dict) and "catalystBlueprint" in values.data):
            result.left.append(f"{shown}: values.yaml has a catalystBlueprint block without "
                               "upstream (or does not load); add the upstream by hand")
            return result
        if not _EXACT_VERSION.fullmatch(version) or not repo.startswith(("https://", "oci://")):
            result.left.append(f"{shown}: the dependency's version {version!r} or repository "
                               f"{repo!r} cannot be an upstream block (exact version, "
                               "https:// or oci://)")
            return result
    span = _block_lines(chart, "dependencies")
    if span is None:
        result.left.append(f"{shown}: dependencies: is not a top-level block key; remove it "
                           "by hand")
        return result
    if upstream is None:
        assert values is not None
        block = (f"catalystBlueprint:\n  upstream: {{ chart: {_scalar(name)}, "
                 f"version: {json.dumps(version)}, repo: {json.dumps(repo)} }}\n")
        lines = values.text.splitlines(keepends=True)
        at = 0
        while at < len(lines) and (not lines[at].strip() or lines[at].startswith("#")):
            at += 1
        if at and lines[at - 1].strip():
            block = "\n" + block
        if at < len(lines):
            block += "\n"
        lines.insert(at, block)
        values.path.write_text("".join(lines), encoding="utf-8")
        result.fixed.append(f"{display_path(values.path)}: added catalystBlueprint.upstream "
                            f"({name} {version} from {repo})")
    lines = chart.text.splitlines(keepends=True)
    del lines[span[0]:span[1]]
    chart.path.write_text("".join(lines), encoding="utf-8")
    result.fixed.append(f"{shown}: removed the dependencies: block ({name} {version}); "
                        "bpkit bundles the upstream at package time (--mode bundle)")
    lock = bp.chart_dir / "Chart.lock"
    if lock.is_file() and not lock.is_symlink():
        lock.unlink()
        result.fixed.append(f"{display_path(lock)}: deleted (it pinned the removed block)")
    if (bp.chart_dir / "charts").exists():
        result.left.append(f"{display_path(bp.chart_dir / 'charts')}: vendored subcharts; "
                           "delete the folder (bundle mode adds the locked upstream itself)")
    return result


def fix_path(path: Path, mode: str | None = None) -> FixResult:
    """Load and fix the blueprint folder at `path` (values moved to `mode`'s shape)."""
    from bpkit.source.model import load_blueprint

    return fix_blueprint(load_blueprint(path), mode)
