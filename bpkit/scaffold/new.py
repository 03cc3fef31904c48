"""Scaffold `<root>/<name>/`: blueprint.yaml, chart/Chart.yaml, chart/values.yaml, README.md.

Copying another blueprint by hand is how wrappers drift: a stale name in
Chart.yaml, a version that is not the blueprint's, an overlay in the shape
of the other release mode. The scaffold writes the files bpkit's rules
expect, in the values shape of the blueprint's release mode:

- overlay: the upstream's values sit at the top level of values.yaml;
- bundle: they sit under the upstream chart's name (Helm's umbrella
  convention), and top-level keys are for the wrapper's own templates.

Nothing is overwritten: an existing folder is refused. The inputs are
checked with the same functions the lint rules use, before anything is
written.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from bpkit.errors import UsageError
from bpkit.text import printable, redact
from bpkit.versions import version_problem

__all__ = ["NewOptions", "parse_upstream", "render_files", "scaffold"]

_NAME_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_CHART_RE = re.compile(r"[a-z0-9]([-a-z0-9._]*[a-z0-9])?")
MODES = ("overlay", "bundle")


@dataclass(frozen=True)
class NewOptions:
    """What `bpkit new` was asked for."""

    name: str  # folder name; the chart is bp-<name>
    chart: str  # upstream chart name
    version: str  # upstream chart version (exact)
    repo: str  # upstream repository, https:// or oci://
    mode: str = "overlay"
    version_of_blueprint: str = "1.0.0"
    title: str | None = None


def parse_upstream(text: str) -> tuple[str, str]:
    """`CHART@VERSION` -> (chart, version)."""
    chart, sep, version = text.partition("@")
    if not sep or not chart or not version:
        raise UsageError(f"--upstream {printable(text)!r}: expected CHART@VERSION, "
                         "e.g. cert-manager@1.14.4")
    return chart, version


def _check(opts: NewOptions) -> None:
    from bpkit.lint.rules.upstream_repo import repo_problem

    if len(opts.name) > 60 or not _NAME_RE.fullmatch(opts.name):
        raise UsageError(f"name {printable(opts.name)!r}: lower-case letters, digits and '-', "
                         "starting and ending with a letter or digit (bp-<name> must stay a "
                         "63-character DNS label)")
    if opts.name.startswith("bp-"):
        raise UsageError(f"name {opts.name!r}: give the folder name without 'bp-' "
                         f"(the chart becomes bp-{opts.name.removeprefix('bp-')})")
    if not _CHART_RE.fullmatch(opts.chart):
        raise UsageError(f"upstream chart {printable(opts.chart)!r} is not a chart name")
    why = version_problem(opts.version)
    if why is not None:
        raise UsageError(f"upstream version: {why}")
    why = repo_problem(opts.repo)
    if why is not None:
        raise UsageError(f"--repo: {why}")
    if opts.mode not in MODES:
        raise UsageError(f"mode {printable(opts.mode)!r}: expected overlay or bundle")


def _q(text: str) -> str:
    """A double-quoted YAML scalar."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_files(opts: NewOptions) -> dict[str, str]:
    """The files of the new blueprint, by path relative to its folder."""
    _check(opts)
    chart_name = f"bp-{opts.name}"
    title = opts.title or opts.name.replace("-", " ").title()
    shown_repo = redact(opts.repo)
    blueprint = f"""\
# yaml-language-server: $schema=../../schemas/blueprint.schema.json
apiVersion: catalyst.openova.io/v1alpha1
kind: Blueprint
metadata:
  name: {chart_name}
spec:
  version: {opts.version_of_blueprint}
  card:
    title: {_q(title)}
    summary: {_q(f"{title}, from the upstream chart {opts.chart} {opts.version}.")}
  visibility: listed
  manifests:
    chart: ./chart
  depends: []
"""
    chart = f"""\
apiVersion: v2
name: {chart_name}
description: Catalyst Blueprint wrapper for the upstream chart {opts.chart} {opts.version}.
type: application
version: {opts.version_of_blueprint}
"""
    upstream = (f"catalystBlueprint:\n  upstream: {{ chart: {opts.chart}, "
                f"version: {_q(opts.version)}, repo: {_q(opts.repo)} }}\n")
    if opts.mode == "bundle":
        values = f"""\
# The upstream chart and its exact version. `bpkit upstream lock` pins its
# digest in ../upstream.lock; in bundle mode the release carries the chart.
{upstream}
# Values for the upstream chart sit under its name (Helm's umbrella
# convention); top-level keys are for this wrapper's own templates.
{opts.chart}: {{}}
"""
    else:
        values = f"""\
# The upstream chart and its exact version. `bpkit upstream lock` pins its
# digest in ../upstream.lock. Every other key in this file is the overlay:
# values for the upstream chart itself.
{upstream}
# --- overlay for {opts.chart} {opts.version} ---
"""
    readme = f"""\
# {chart_name}

Catalyst Blueprint wrapper for the upstream chart **{opts.chart}** {opts.version}
from <{shown_repo}>, released in **{opts.mode}** mode.

- `blueprint.yaml`: the Blueprint for the catalogue.
- `chart/Chart.yaml`: the wrapper chart `{chart_name}` (no `dependencies:`).
- `chart/values.yaml`: the upstream block and the values for the upstream chart.
- `upstream.lock`: the upstream chart's digest, written by `bpkit upstream lock`.
"""
    return {"blueprint.yaml": blueprint, "chart/Chart.yaml": chart,
            "chart/values.yaml": values, "README.md": readme}


def scaffold(opts: NewOptions, parent: Path) -> Path:
    """Write the blueprint under `parent` (e.g. the monorepo's platform/); never overwrite."""
    files = render_files(opts)
    folder = parent / opts.name
    if folder.exists() or folder.is_symlink():
        raise UsageError(f"{folder} already exists; bpkit new never overwrites a blueprint")
    parent.mkdir(parents=True, exist_ok=True)
    (folder / "chart").mkdir(parents=True)
    for rel, text in files.items():
        path = folder / rel
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                     0o644)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
    return folder
