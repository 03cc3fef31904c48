"""The hollow check: would installing this chart install anything of its upstream?

A wrapper published as its values alone installs nothing of the chart it
names when something installs it as a chart (a Flux HelmRelease of
`bp-cert-manager`), while looking like a proper release. This module reads
a packaged chart (the .tgz bytes, through the strict reader) and says why it
is hollow, if it is:

* **bundle**: `charts/<chart>-<version>.tgz` must be inside, be the chart
  the annotations and `dependencies:` name (same digest, name and version),
  of `type: application`, with at least one template Helm renders (a
  library chart such as `common` as the only subchart is hollow);
* **overlay**: bpkit's guard template must be there (so an install fails
  loudly) and the upstream annotations must name what values.yaml names;
* **standalone**: only with `catalyst.openova.io/no-upstream: "true"` in
  Chart.yaml, and then the wrapper needs templates of its own.

Shared by `bpkit publish` (before anything is pushed) and `bpkit verify`.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bpkit.errors import PackageError
from bpkit.helm import tgz
from bpkit.oci.artifact import (
    MODE,
    MODE_BUNDLE,
    MODE_OVERLAY,
    MODE_STANDALONE,
    MODES,
    UPSTREAM_ANNOTATIONS,
    UPSTREAM_DIGEST,
    sha256_digest,
)
from bpkit.package.bundle import CHART_LOCK, GUARD_TEMPLATE, hash_req, subchart_path
from bpkit.source.model import NO_UPSTREAM_ANNOTATION
from bpkit.text import one_line, printable
from bpkit.yamlio.load import parse

__all__ = ["ChartContents", "Finding", "hollow_findings", "infer_mode", "read_chart"]

_MAX_DEPTH = 3  # subcharts of subcharts read to find templates
_GUARD_RE = re.compile(
    r"\.Release\.IsInstall.*\.Release\.IsUpgrade.*\bfail\b", re.DOTALL)


@dataclass(frozen=True)
class Finding:
    """One reason an artifact is not sound; `check` groups them (digest, hollow, ...)."""

    check: str
    message: str


@dataclass
class ChartContents:
    """A chart archive as the checks see it: its files and what its YAML loads as."""

    members: list[tgz.ArchiveMember]
    files: dict[str, bytes]  # kept members: Chart.yaml, values.yaml, Chart.lock, charts/*.tgz
    chart: dict[str, Any] | None
    values: dict[str, Any] | None
    findings: list[Finding] = field(default_factory=list)  # what did not load

    @property
    def paths(self) -> set[str]:
        return {m.path for m in self.members}

    def annotations(self) -> dict[str, Any]:
        raw = (self.chart or {}).get("annotations")
        return raw if isinstance(raw, dict) else {}

    @property
    def no_upstream(self) -> bool:
        return str(self.annotations().get(NO_UPSTREAM_ANNOTATION, "")).lower() == "true"

    def upstream(self) -> dict[str, Any] | None:
        block = (self.values or {}).get("catalystBlueprint")
        up = block.get("upstream") if isinstance(block, dict) else None
        return up if isinstance(up, dict) else None

    def rendered_templates(self) -> list[str]:
        """Templates Helm renders into manifests: not `_`-prefixed, not NOTES.txt."""
        return [p for p in sorted(self.paths)
                if p.startswith("templates/") and not posixpath.basename(p).startswith("_")
                and posixpath.basename(p) != "NOTES.txt"]


def _keep(path: str) -> bool:
    return path in ("Chart.yaml", "values.yaml", CHART_LOCK, GUARD_TEMPLATE) or (
        path.startswith("charts/") and path.count("/") == 1 and path.endswith(".tgz"))


def _load_yaml(data: bytes | None, name: str, where: str, findings: list[Finding],
               *, required: bool) -> dict[str, Any] | None:
    if data is None:
        if required:
            findings.append(Finding("chart", f"{where}{name} is missing"))
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        findings.append(Finding("chart", f"{where}{name} is not UTF-8"))
        return None
    doc, problems = parse(text, Path(name), f"{where}{name}")
    errors = [p for p in problems if p.is_error]
    if doc is None or errors:
        first = errors[0] if errors else None
        detail = f":{first.line}: {first.message}" if first else ": does not load"
        findings.append(Finding("chart", one_line(f"{where}{name}{detail}", 300)))
        return None
    if doc.data is None:
        return {}
    if not isinstance(doc.data, dict):
        findings.append(Finding("chart", f"{where}{name} is not a mapping"))
        return None
    return doc.data


def read_chart(data: bytes, where: str = "") -> ChartContents:
    """Read a chart archive strictly; PackageError when it is not a readable chart at all."""
    members = tgz.inspect(data, keep=_keep)
    files = {m.path: m.data for m in members if m.data is not None}
    findings: list[Finding] = []
    chart = _load_yaml(files.get("Chart.yaml"), "Chart.yaml", where, findings, required=True)
    values = _load_yaml(files.get("values.yaml"), "values.yaml", where, findings,
                        required=False)
    return ChartContents(members, files, chart, values, findings)


def infer_mode(contents: ChartContents) -> str | None:
    """The mode a chart's contents show, for a bare .tgz without annotations."""
    if contents.no_upstream:
        return MODE_STANDALONE
    if (contents.chart or {}).get("dependencies"):
        return MODE_BUNDLE
    if GUARD_TEMPLATE in contents.paths:
        return MODE_OVERLAY
    return None


def _shown(value: object) -> str:
    return printable(one_line(str(value), 200))


def hollow_findings(contents: ChartContents,
                    annotations: Mapping[str, str] | None = None) -> list[Finding]:
    """Why installing this chart would install nothing of its upstream; [] when it would.

    `annotations` are the manifest's (None for a bare .tgz: the mode is then
    read from the contents).
    """
    out: list[Finding] = []
    if annotations is not None:
        mode = annotations.get(MODE)
        if mode is None:
            out.append(Finding("mode", f"no {MODE} annotation: an artifact published before "
                                       "release modes, or not by bpkit"))
            mode = infer_mode(contents)
        elif mode not in MODES:
            out.append(Finding("mode", f"{MODE} is {_shown(mode)!r}, not one of "
                                       f"{', '.join(MODES)}"))
            return out
    else:
        mode = infer_mode(contents)
    upstream = contents.upstream()
    if contents.no_upstream:
        if mode != MODE_STANDALONE:
            out.append(Finding("mode", f"Chart.yaml opts out of an upstream "
                                       f"({NO_UPSTREAM_ANNOTATION}) but the mode is {mode}"))
        if not contents.rendered_templates():
            out.append(Finding("hollow", f"{NO_UPSTREAM_ANNOTATION} is set but the chart has "
                                         "no templates of its own: it installs nothing"))
        return out
    if mode == MODE_STANDALONE:
        out.append(Finding("hollow", f"mode standalone without {NO_UPSTREAM_ANNOTATION}: "
                                     "true in Chart.yaml"))
        return out
    if upstream is None:
        out.append(Finding("hollow", "values.yaml names no catalystBlueprint.upstream and "
                                     f"Chart.yaml does not opt out ({NO_UPSTREAM_ANNOTATION})"))
        return out
    if annotations is not None:
        out += _upstream_annotations(upstream, annotations)
    if mode == MODE_BUNDLE:
        out += _bundle_findings(contents, upstream, annotations)
    elif mode == MODE_OVERLAY:
        guard = contents.files.get(GUARD_TEMPLATE)
        if guard is None:
            out.append(Finding("hollow", f"overlay without {GUARD_TEMPLATE}: installing it as a "
                                         "chart would quietly install nothing"))
        elif not _GUARD_RE.search(guard.decode("utf-8", "replace")):
            out.append(Finding("hollow", f"{GUARD_TEMPLATE} does not fail an install or "
                                         "upgrade"))
    else:
        out.append(Finding("hollow", "neither a bundle (no dependencies: and subchart) nor a "
                                     "guarded overlay: installing it would install nothing "
                                     f"of {_shown(upstream.get('chart'))}"))
    return out


def _upstream_annotations(upstream: Mapping[str, Any],
                          annotations: Mapping[str, str]) -> list[Finding]:
    out = []
    for key, name in UPSTREAM_ANNOTATIONS.items():
        got, want = annotations.get(name), upstream.get(key)
        if got is None:
            out.append(Finding("annotations", f"{name} is missing"))
        elif got != want:
            out.append(Finding("annotations", f"{name} is {_shown(got)!r} but values.yaml "
                                              f"says {_shown(want)!r}"))
    digest = annotations.get(UPSTREAM_DIGEST)
    if digest is not None and not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
        out.append(Finding("annotations", f"{UPSTREAM_DIGEST} is not sha256:<hex>"))
    return out


def _bundle_findings(contents: ChartContents, upstream: Mapping[str, Any],
                     annotations: Mapping[str, str] | None) -> list[Finding]:
    chart, version, repo = (str(upstream.get(k)) for k in ("chart", "version", "repo"))
    out: list[Finding] = []
    deps = (contents.chart or {}).get("dependencies")
    want_dep = {"name": chart, "version": version, "repository": repo}
    if not isinstance(deps, list) or not any(isinstance(d, dict) and {
            k: d.get(k) for k in want_dep} == want_dep for d in deps):
        out.append(Finding("hollow", f"Chart.yaml dependencies: has no entry for {_shown(chart)} "
                                     f"{_shown(version)} from {_shown(repo)}"))
    lock = contents.files.get(CHART_LOCK)
    if lock is None:
        out.append(Finding("chart", f"{CHART_LOCK} is missing"))
    elif isinstance(deps, list):
        out += _lock_findings(lock, deps)
    try:
        sub = subchart_path(chart, version)
    except PackageError as exc:
        return [*out, Finding("hollow", exc.message)]
    data = contents.files.get(sub)
    if data is None:
        return [*out, Finding("hollow", f"{sub} is missing: the bundle does not hold its "
                                        "upstream chart")]
    digest = sha256_digest(data)
    if annotations is not None:
        want = annotations.get(UPSTREAM_DIGEST)
        if want is None:
            out.append(Finding("annotations", f"{UPSTREAM_DIGEST} is missing"))
        elif want != digest:
            out.append(Finding("digest", f"{sub} is {digest}, not the annotated {want}"))
    out += _subchart_findings(data, sub, chart, version, 1)
    return out


def _lock_findings(lock: bytes, deps: list[Any]) -> list[Finding]:
    findings: list[Finding] = []
    data = _load_yaml(lock, CHART_LOCK, "", findings, required=True)
    if data is None:
        return findings
    locked = data.get("dependencies")
    req = [{k: str(d.get(k, "")) for k in ("name", "version", "repository")}
           for d in deps if isinstance(d, dict)]
    if not isinstance(locked, list):
        return [Finding("chart", f"{CHART_LOCK} has no dependencies list")]
    got = [{k: str(d.get(k, "")) for k in ("name", "version", "repository")}
           for d in locked if isinstance(d, dict)]
    if got != req:
        return [Finding("chart", f"{CHART_LOCK} does not pin what Chart.yaml depends on")]
    if data.get("digest") != hash_req(req, got):
        return [Finding("chart", f"{CHART_LOCK} digest is not Helm's for these dependencies "
                                 "(helm dependency build would call it out of sync)")]
    return []


def _subchart_findings(data: bytes, where: str, chart: str, version: str,
                       depth: int) -> list[Finding]:
    try:
        inner = read_chart(data, f"{where}: ")
    except PackageError as exc:
        return [Finding("hollow", f"{where}: {exc.message}")]
    out = [Finding("hollow", f.message) for f in inner.findings]
    meta = inner.chart or {}
    if meta.get("name") != chart or str(meta.get("version")) != version:
        out.append(Finding("hollow", f"{where} holds {_shown(meta.get('name'))} "
                                     f"{_shown(meta.get('version'))}, not {_shown(chart)} "
                                     f"{_shown(version)}"))
    kind = meta.get("type") or "application"
    if kind != "application":
        out.append(Finding("hollow", f"{where} is a {_shown(kind)} chart: it installs nothing "
                                     "by itself"))
    elif not _renders_something(inner, depth):
        out.append(Finding("hollow", f"{where} has no templates Helm would render: it installs "
                                     "nothing"))
    return out


def _renders_something(contents: ChartContents, depth: int) -> bool:
    """Templates of its own, or an application subchart that has some (bounded depth)."""
    if contents.rendered_templates():
        return True
    if depth >= _MAX_DEPTH:
        return False
    for path, data in contents.files.items():
        if not path.startswith("charts/"):
            continue
        try:
            inner = read_chart(data)
        except PackageError:
            continue
        if (inner.chart or {}).get("type", "application") in ("application", "", None) and \
                _renders_something(inner, depth + 1):
            return True
    return False
