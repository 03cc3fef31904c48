"""What the two release modes add to a wrapper's files at package time.

The source of a wrapper never holds `dependencies:`, `charts/` or
`Chart.lock` (the lint rules stand); what a release installs is decided
here, when the archive is built:

* **overlay**: the wrapper's own files plus a guard template that makes an
  install or upgrade of the artifact as a chart fail with one line saying
  what it is and how to install it (`helm lint`, whose release is neither an
  install nor an upgrade, still passes);
* **bundle**: the locked upstream archive, unchanged, as
  `charts/<chart>-<version>.tgz`, the matching `dependencies:` entry
  appended to Chart.yaml's text (its other bytes stay as written) and a
  `Chart.lock` as `helm dependency update` writes it, with the reproducible
  time as `generated`.

File order follows Helm's save.go (pkg/chart/v2/util): Chart.yaml,
Chart.lock, values.yaml, values.schema.json, templates, other files, then
the dependencies.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bpkit.errors import PackageError
from bpkit.helm import tgz
from bpkit.helm.chartfiles import Entry
from bpkit.helm.chartmeta import go_json
from bpkit.oci.artifact import created_rfc3339, sha256_digest
from bpkit.source.lock import LOCK_FILE, UpstreamLock, read_lock
from bpkit.text import one_line
from bpkit.upstream.cache import ChartCache
from bpkit.yamlio.load import display_path, parse

__all__ = [
    "GUARD_TEMPLATE", "Bundle", "append_dependency", "bundle_entries", "chart_lock",
    "guard_template", "hash_req", "load_bundle", "subchart_path", "with_guard",
]

#: The guard's file name: a normal template (Helm never renders `_`-prefixed ones).
GUARD_TEMPLATE = "templates/catalyst-overlay-guard.yaml"
CHART_LOCK = "Chart.lock"

_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9._/:+@~-]*|[0-9]+\.[0-9]+\.[0-9]+[0-9A-Za-z.+-]*")
_YAML_WORDS = frozenset(
    w for word in ("y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf")
    for w in (word, word.upper(), word.capitalize())
)


def _scalar(value: str) -> str:
    """A YAML scalar that reads back as this string in YAML 1.1 (Helm) and 1.2."""
    if value not in _YAML_WORDS and _PLAIN.fullmatch(value) and not value.endswith(":"):
        return value
    return json.dumps(value)  # a JSON string is a YAML double-quoted scalar


def _go_quote(text: str) -> str:
    """A Go template string literal (JSON's escapes are a subset of Go's)."""
    return json.dumps(text, ensure_ascii=True)


# --------------------------------------------------------------------------- overlay


def guard_template(name: str, version: str, upstream: Mapping[str, str]) -> bytes:
    """The template that fails `helm install`/`upgrade`/`template` of an overlay artifact."""
    chart, up_version, repo = (upstream.get(k, "?") for k in ("chart", "version", "repo"))
    message = (
        f"{name} {version} is a Catalyst overlay: values for {chart} {up_version} ({repo}) "
        f"without the chart itself, so installing it would install nothing of {chart}. "
        "Install it with `bpkit render flux` (a HelmRelease of the upstream chart with these "
        "values), or publish it with `--mode bundle`."
    )
    return (
        "{{- /* Added by bpkit at package time (release mode overlay). */ -}}\n"
        "{{- if or .Release.IsInstall .Release.IsUpgrade }}\n"
        f"{{{{- fail {_go_quote(one_line(message, 2000))} }}}}\n"
        "{{- end }}\n"
    ).encode()


def _walk_key(path: str) -> tuple[str, ...]:
    """Where Helm's sorted walk meets a path: component by component."""
    return tuple(path.split("/"))


def with_guard(entries: Sequence[Entry], guard: bytes) -> list[Entry]:
    """The entries with the guard among the templates, where `helm package` would put it."""
    if any(e.path == GUARD_TEMPLATE for e in entries):
        raise PackageError(f"{GUARD_TEMPLATE}: the name is reserved for bpkit's overlay guard; "
                           "rename the file")
    out = list(entries)
    key = _walk_key(GUARD_TEMPLATE)
    at = len(out)
    first_template = None
    for i, entry in enumerate(out):
        if entry.path.startswith("templates/"):
            if first_template is None:
                first_template = i
            if _walk_key(entry.path) > key:
                at = i
                break
        elif first_template is not None:  # past the templates: the others follow
            at = i
            break
    else:
        if first_template is None:  # no templates: after Chart.yaml, values, schema
            at = sum(1 for e in out if e.path in ("Chart.yaml", "values.yaml",
                                                  "values.schema.json"))
    out.insert(at, Entry(GUARD_TEMPLATE, guard))
    return out


# --------------------------------------------------------------------------- bundle


@dataclass(frozen=True)
class Bundle:
    """The locked upstream a bundle carries."""

    lock: UpstreamLock
    data: bytes  # the upstream chart archive, exactly the locked bytes

    @property
    def dependency(self) -> dict[str, str]:
        """The Chart.yaml `dependencies:` entry, in Helm's field order."""
        return {"name": self.lock.chart, "version": self.lock.version,
                "repository": self.lock.repo}


def subchart_path(chart: str, version: str) -> str:
    """Where a bundle holds its upstream: `charts/<chart>-<version>.tgz`."""
    return f"charts/{tgz.archive_name(chart, version)}"


def read_usable_lock(folder: Path, upstream: Mapping[str, Any] | None) -> UpstreamLock | None:
    """The blueprint's lock when it pins what values.yaml names; else None (no raise)."""
    lock, problems = read_lock(folder / LOCK_FILE)
    if lock is None or problems or upstream is None:
        return None
    if (lock.chart, lock.version, lock.repo) != tuple(upstream.get(k) for k in
                                                      ("chart", "version", "repo")):
        return None
    return lock


def load_bundle(folder: Path, upstream: Mapping[str, Any] | None,
                cache: ChartCache | None = None) -> Bundle:
    """The lock and the cached upstream bytes for bundling, or a PackageError saying what to run."""
    where = display_path(folder)
    lock_path = folder / LOCK_FILE
    if upstream is None:
        raise PackageError(f"{where}: bundle mode needs catalystBlueprint.upstream in values.yaml")
    lock, problems = read_lock(lock_path)
    if problems:
        first = problems[0]
        raise PackageError(f"{first.path}:{first.line}: {first.message}")
    if lock is None:
        raise PackageError(f"{display_path(lock_path)} is missing: bundle mode needs the "
                           "upstream pinned by digest (run bpkit upstream lock)")
    named = tuple(str(upstream.get(k)) for k in ("chart", "version", "repo"))
    if (lock.chart, lock.version, lock.repo) != named:
        raise PackageError(
            f"{display_path(lock_path)} pins {lock.chart} {lock.version} from {lock.repo} but "
            f"values.yaml names {named[0]} {named[1]} from {named[2]} (run bpkit upstream lock)")
    cache = cache if cache is not None else ChartCache()
    data = cache.get(lock.digest)
    if data is None:
        raise PackageError(f"{where}: {lock.chart} {lock.version} ({lock.digest}) is not in the "
                           f"chart cache {cache.root} (run bpkit upstream fetch)")
    if sha256_digest(data) != lock.digest:  # the cache checks too; never trust one check
        raise PackageError(f"{where}: cached {lock.chart} {lock.version} does not match "
                           f"{lock.digest} (run bpkit upstream fetch)")
    return Bundle(lock=lock, data=data)


def hash_req(req: Sequence[Mapping[str, str]], locked: Sequence[Mapping[str, str]]) -> str:
    """Helm's Chart.lock digest (internal/resolver HashReq): sha256 of the JSON [req, lock]."""
    return "sha256:" + hashlib.sha256(go_json([list(req), list(locked)])).hexdigest()


def chart_lock(dependencies: Sequence[Mapping[str, str]], epoch: int) -> bytes:
    """Chart.lock as `helm dependency update` writes it (sigs.k8s.io/yaml: keys sorted)."""
    lines = ["dependencies:"]
    for dep in dependencies:
        lines.append(f"- name: {_scalar(dep['name'])}")
        lines.append(f"  repository: {_scalar(dep['repository'])}")
        lines.append(f"  version: {_scalar(dep['version'])}")
    lines.append(f"digest: {hash_req(dependencies, dependencies)}")
    lines.append(f'generated: "{created_rfc3339(epoch)}"')
    return ("\n".join(lines) + "\n").encode("utf-8")


def append_dependency(chart_yaml: bytes, meta: Mapping[str, Any],
                      dependency: Mapping[str, str]) -> tuple[bytes, dict[str, Any]]:
    """Chart.yaml's bytes with a `dependencies:` block appended, and what they now load as.

    A text append, not a YAML round trip: comments, quoting and order stay
    as written. The result is parsed again and must load as the old mapping
    plus the one entry, else PackageError (a document end marker, say).
    """
    if "dependencies" in meta:
        raise PackageError("Chart.yaml: has a dependencies: key already; wrapper charts "
                           "name their upstream in values.yaml")
    text = chart_yaml.decode("utf-8")
    if text and not text.endswith("\n"):
        text += "\n"
    text += "dependencies:\n" + "".join(
        f"{'  - ' if i == 0 else '    '}{key}: {_scalar(value)}\n"
        for i, (key, value) in enumerate(dependency.items()))
    want = {**meta, "dependencies": [dict(dependency)]}
    doc, problems = parse(text, Path("Chart.yaml"), "Chart.yaml")
    if doc is None or problems or doc.data != want:
        raise PackageError("Chart.yaml: cannot append the bundle's dependencies: block to it "
                           "(it must end as a plain block mapping, without '...' or '---')")
    return text.encode("utf-8"), want


def bundle_entries(entries: Sequence[Entry], meta: Mapping[str, Any], bundle: Bundle,
                   epoch: int) -> tuple[list[Entry], dict[str, Any]]:
    """The archive's entries for a bundle, and the Chart.yaml mapping they hold."""
    dep = bundle.dependency
    out: list[Entry] = []
    new_meta: dict[str, Any] = dict(meta)
    sub = subchart_path(bundle.lock.chart, bundle.lock.version)
    for entry in entries:
        if entry.path in (CHART_LOCK, sub):  # collect refuses both; never twice
            raise PackageError(f"{entry.path}: a wrapper's source holds no {entry.path}")
        if entry.path == "Chart.yaml":
            data, new_meta = append_dependency(entry.data, meta, dep)
            out.append(Entry("Chart.yaml", data))
            out.append(Entry(CHART_LOCK, chart_lock([dep], epoch)))
        else:
            out.append(entry)
    out.append(Entry(sub, bundle.data))
    return out, new_meta
