"""blueprint.yaml's `metadata.name` equals the chart's name.

The catalogue finds a blueprint's chart by this name (`bp-flux` is both
the Blueprint object and the OCI repository `bp-flux`), and other
blueprints depend on it by this name.

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
    metadata: { name: flux }
    spec: { version: 1.0.0, card: { title: Flux }, visibility: unlisted, manifests: { chart: ./chart } }
"""

from collections.abc import Iterator

from bpkit.lint.context import Context
from bpkit.problem import Level, Problem
from bpkit.source.model import Blueprint

ID = "blueprint-name"
LEVEL = Level.ERROR


def check(bp: Blueprint, ctx: Context) -> Iterator[Problem]:
    name, chart = bp.metadata_name, bp.chart_name
    if bp.blueprint is None or name is None or chart is None or name == chart:
        return
    yield bp.blueprint.problem(("metadata", "name"), ID,
                               f"metadata.name {name!r} differs from the chart name {chart!r}")
