"""`spec.manifests.chart` points at the blueprint's chart folder.

The path is relative to blueprint.yaml (normally `./chart`), must stay
inside the blueprint's folder, and must name a folder holding Chart.yaml.

Passing::

    # file: blueprint.yaml
    apiVersion: catalyst.openova.io/v1alpha1
    kind: Blueprint
    metadata: { name: bp-flux }
    spec: { version: 1.0.0, card: { title: Flux }, visibility: unlisted, manifests: { chart: ./chart } }

Failing::

    # file: blueprint.yaml
    apiVersion: catalyst.openova.io/v1alpha1
    kind: Blueprint
    metadata: { name: bp-flux }
    spec: { version: 1.0.0, card: { title: Flux }, visibility: unlisted, manifests: { chart: ./charts/flux } }
"""

from collections.abc import Iterator

from bpkit.lint.context import Context
from bpkit.problem import Level, Problem
from bpkit.source.model import Blueprint

ID = "blueprint-chart-path"
LEVEL = Level.ERROR


def check(bp: Blueprint, ctx: Context) -> Iterator[Problem]:
    doc = bp.blueprint
    manifests = bp.spec.get("manifests")
    if doc is None or not isinstance(manifests, dict):
        return
    ref = manifests.get("chart")
    if not isinstance(ref, str) or not ref:
        return  # the schema reports a missing or mistyped path
    where = ("spec", "manifests", "chart")
    if ref in ("./chart", "chart") and bp.chart_has("Chart.yaml"):
        return  # the usual case, without resolving paths
    if ref.startswith("/"):
        yield doc.problem(where, ID, f"chart path {ref!r} must be relative to blueprint.yaml")
        return
    target = (bp.path / ref).resolve()
    if not target.is_relative_to(bp.path.resolve()):
        yield doc.problem(where, ID, f"chart path {ref!r} leaves the blueprint folder")
    elif not target.is_dir():
        yield doc.problem(where, ID, f"chart path {ref!r} is not a folder")
    elif not (target / "Chart.yaml").is_file():
        yield doc.problem(where, ID, f"chart path {ref!r} holds no Chart.yaml")
