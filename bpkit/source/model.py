"""A blueprint folder as the rules see it: three parsed files and where they are.

Loading never raises for bad content: everything wrong with a file becomes
a Problem, and the Document is None when nothing usable was read, so rules
simply skip what they cannot see.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bpkit.problem import Level, Problem
from bpkit.source.discover import BLUEPRINT_FILE, CHART_DIR
from bpkit.yamlio.load import RULE_FILE, Document, display_path, load

CHART_FILE = "Chart.yaml"
VALUES_FILE = "values.yaml"
RULE_MISSING = "file-missing"
NO_UPSTREAM_ANNOTATION = "catalyst.openova.io/no-upstream"

@dataclass
class Blueprint:
    """One `platform/<name>/` or `products/<name>/` folder."""

    path: Path  # absolute folder
    blueprint: Document | None = None
    chart: Document | None = None
    values: Document | None = None
    chart_dir: Path = field(default_factory=Path)
    problems: list[Problem] = field(default_factory=list)  # from loading

    _chart_names: frozenset[str] | None = field(default=None, repr=False)

    def chart_has(self, name: str) -> bool:
        """Whether the chart folder holds an entry `name` (one listing per blueprint)."""
        if self._chart_names is None:
            try:
                self._chart_names = frozenset(os.listdir(self.chart_dir))
            except OSError:
                self._chart_names = frozenset()
        return name in self._chart_names

    @property
    def name(self) -> str:
        """The folder name; the chart must be called `bp-<name>`."""
        return self.path.name

    @property
    def group(self) -> str:
        """The folder holding it (`platform`, `products`), used in release tags."""
        return self.path.parent.name

    @property
    def display(self) -> str:
        return display_path(self.path)

    @property
    def lock_path(self) -> Path:
        """Where `bpkit upstream lock` pins the upstream (beside blueprint.yaml, not packaged)."""
        return self.path / "upstream.lock"

    @property
    def expected_chart_name(self) -> str:
        return f"bp-{self.name}"

    # Typed views, None when absent or of the wrong type (the rules report why).
    def chart_field(self, key: str) -> Any:
        data = self.chart.data if self.chart is not None else None
        return data.get(key) if isinstance(data, dict) else None

    @property
    def chart_name(self) -> str | None:
        value = self.chart_field("name")
        return value if isinstance(value, str) else None

    @property
    def chart_version(self) -> str | None:
        value = self.chart_field("version")
        return value if isinstance(value, str) else None

    @property
    def metadata_name(self) -> str | None:
        data = self.blueprint.data if self.blueprint is not None else None
        if isinstance(data, dict) and isinstance(data.get("metadata"), dict):
            name = data["metadata"].get("name")
            return name if isinstance(name, str) else None
        return None

    @property
    def spec(self) -> dict[str, Any]:
        data = self.blueprint.data if self.blueprint is not None else None
        spec = data.get("spec") if isinstance(data, dict) else None
        return spec if isinstance(spec, dict) else {}

    def depends_entries(self) -> Iterator[tuple[int, dict[str, object]]]:
        """(index, entry) of each `spec.depends[]` mapping; the schema reports other shapes."""
        depends = self.spec.get("depends")
        if isinstance(depends, list):
            for index, entry in enumerate(depends):
                if isinstance(entry, dict):
                    yield index, entry

    @property
    def release_name(self) -> str | None:
        """The name other blueprints depend on: metadata.name, else the chart name."""
        return self.metadata_name or self.chart_name

    @property
    def version(self) -> str | None:
        """The releasable version: the chart's."""
        return self.chart_version

    @property
    def no_upstream(self) -> bool:
        annotations = self.chart_field("annotations")
        if not isinstance(annotations, dict):
            return False
        return str(annotations.get(NO_UPSTREAM_ANNOTATION, "")).lower() == "true"

    @property
    def upstream(self) -> dict[str, Any] | None:
        data = self.values.data if self.values is not None else None
        block = data.get("catalystBlueprint") if isinstance(data, dict) else None
        upstream = block.get("upstream") if isinstance(block, dict) else None
        return upstream if isinstance(upstream, dict) else None


def _chart_dir(path: Path, blueprint: Document | None) -> Path:
    """`spec.manifests.chart` when it names a folder inside the blueprint, else `chart/`."""
    data = blueprint.data if blueprint is not None else None
    try:
        ref = data["spec"]["manifests"]["chart"]  # type: ignore[index]
    except (TypeError, KeyError):
        ref = None
    if ref in ("./chart", "chart", "./chart/", "chart/"):
        return path / CHART_DIR
    if isinstance(ref, str) and ref and not ref.startswith(("/", "oci://")):
        candidate = (path / ref).resolve()
        if candidate.is_dir() and candidate.is_relative_to(path):
            return candidate
    return path / CHART_DIR


def load_blueprint(path: Path, *, with_values: bool = True) -> Blueprint:
    """Load a blueprint folder; `with_values=False` for dependency lookups only."""
    bp = Blueprint(path=path)
    bp_file = path / BLUEPRINT_FILE
    if bp_file.exists() or bp_file.is_symlink():
        bp.blueprint, problems = load(bp_file)
        bp.problems.extend(problems)
    else:
        bp.problems.append(_missing(bp_file, "every blueprint needs a Blueprint manifest"))
    bp.chart_dir = _chart_dir(path, bp.blueprint)
    if _leaves(bp.chart_dir, path):
        # chart/ itself a symlink out of the blueprint: its files are someone
        # else's (and could reach a CI log through a problem message).
        bp.problems.append(Problem(display_path(bp.chart_dir), 0, 0, RULE_FILE, Level.ERROR,
                                   "the chart folder is a symlink out of the blueprint "
                                   "folder; its files are not read"))
        return bp
    for name in (CHART_FILE, VALUES_FILE) if with_values else (CHART_FILE,):
        file = bp.chart_dir / name
        if not (file.exists() or file.is_symlink()):
            why = "a chart needs one" if name == CHART_FILE else (
                "it carries the upstream reference and the values overlay")
            bp.problems.append(_missing(file, why))
            continue
        doc, problems = load(file)
        bp.problems.extend(problems)
        if name == CHART_FILE:
            bp.chart = doc
        else:
            bp.values = doc
    return bp


def _leaves(chart_dir: Path, folder: Path) -> bool:
    """Whether `chart_dir` resolves outside the blueprint folder (through a symlink).

    The usual `chart/`, a folder (not a link) right in the blueprint folder,
    takes one lstat instead of two realpaths (an lstat per path component).
    """
    if chart_dir.parent == folder:
        try:
            if stat.S_ISDIR(os.lstat(chart_dir).st_mode):
                return False
        except (OSError, ValueError):
            pass
    try:
        real, inside = os.path.realpath(chart_dir), os.path.realpath(folder)
    except (OSError, ValueError):
        return True
    return real != inside and not real.startswith(inside.rstrip("/") + "/")


def _missing(file: Path, why: str) -> Problem:
    return Problem(display_path(file), 0, 0, RULE_MISSING, Level.ERROR,
                   f"{file.name} is missing: {why}")
