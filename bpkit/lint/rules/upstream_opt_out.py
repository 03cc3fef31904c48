"""A blueprint marked `catalyst.openova.io/no-upstream: "true"` has no upstream block.

Some blueprints install only their own templates (CRD claims, policies)
and no upstream chart. They say so with a Chart.yaml annotation, and then
values.yaml must not name an upstream chart in `catalystBlueprint.upstream`
(an explicit `upstream: null` is fine), because the installer would
install that chart anyway. Only the strings "true" and
"false" are accepted as the annotation's value.

Passing::

    # file: chart/Chart.yaml
    apiVersion: v2
    name: bp-flux
    version: 1.0.0
    type: application
    annotations:
      catalyst.openova.io/no-upstream: "true"
    # file: chart/values.yaml
    replicas: 1

Failing::

    # file: chart/Chart.yaml
    apiVersion: v2
    name: bp-flux
    version: 1.0.0
    type: application
    annotations:
      catalyst.openova.io/no-upstream: "true"
    # file: chart/values.yaml
    catalystBlueprint:
      upstream: { chart: flux2, version: "2.13.0", repo: "https://fluxcd-community.github.io/helm-charts" }
"""

from collections.abc import Iterator

from bpkit.lint.context import Context
from bpkit.problem import Level, Problem
from bpkit.source.model import NO_UPSTREAM_ANNOTATION, Blueprint

ID = "upstream-opt-out"
LEVEL = Level.ERROR


def check(bp: Blueprint, ctx: Context) -> Iterator[Problem]:
    annotations = bp.chart_field("annotations")
    if not isinstance(annotations, dict) or NO_UPSTREAM_ANNOTATION not in annotations:
        return
    value = annotations[NO_UPSTREAM_ANNOTATION]
    if bp.chart is not None and value not in ("true", "false"):
        yield bp.chart.problem(("annotations", NO_UPSTREAM_ANNOTATION), ID,
                               f'{NO_UPSTREAM_ANNOTATION} must be the string "true" or "false", '
                               f"not {value!r}")
        return
    if bp.no_upstream and bp.values is not None and isinstance(bp.values.data, dict):
        block = bp.values.data.get("catalystBlueprint")
        if isinstance(block, dict) and block.get("upstream") is not None:
            yield bp.values.problem(
                ("catalystBlueprint", "upstream"), ID,
                f'Chart.yaml says {NO_UPSTREAM_ANNOTATION}: "true" but values.yaml names an '
                "upstream chart; remove one of the two", key=True)
