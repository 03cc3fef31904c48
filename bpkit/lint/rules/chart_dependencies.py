"""Chart.yaml has no `dependencies:` key at all, not even an empty list.

This is the rule wrappers exist for. With a `dependencies:` block, packaging
the chart pulls the upstream chart from its repository or registry, which
needs network, registry and containerd access that CI runners lack, and
bundles a copy of the upstream chart into every release. A wrapper instead
names its upstream chart in values.yaml, and the installer installs the
upstream chart directly with the wrapper's values:

    catalystBlueprint:
      upstream: { chart: flux2, version: "2.13.0", repo: "https://fluxcd-community.github.io/helm-charts" }

The message suggests that block, built from the first dependency.

Passing::

    # file: chart/Chart.yaml
    apiVersion: v2
    name: bp-flux
    version: 1.0.0
    type: application

Failing::

    # file: chart/Chart.yaml
    apiVersion: v2
    name: bp-flux
    version: 1.0.0
    type: application
    dependencies:
      - name: flux2
        version: "2.13.0"
        repository: https://fluxcd-community.github.io/helm-charts
"""

from collections.abc import Iterator
from typing import Any

from bpkit.lint.context import Context
from bpkit.lint.rules._common import mapping
from bpkit.problem import Level, Problem
from bpkit.source.model import Blueprint
from bpkit.text import redact

ID = "chart-dependencies"
LEVEL = Level.ERROR


def check(bp: Blueprint, ctx: Context) -> Iterator[Problem]:
    data = mapping(bp.chart)
    if data is None or bp.chart is None or "dependencies" not in data:
        return
    yield bp.chart.problem(
        ("dependencies",), ID,
        "Chart.yaml has a dependencies: block; packaging would pull the upstream chart, "
        "which needs registry and containerd access. Remove it and name the upstream in "
        f"values.yaml's catalystBlueprint.upstream{_suggestion(data['dependencies'])}",
        key=True,
    )


def _suggestion(deps: Any) -> str:
    if not isinstance(deps, list) or not deps or not isinstance(deps[0], dict):
        return " { chart, version, repo }"
    first = deps[0]
    chart, version, repo = first.get("name"), first.get("version"), first.get("repository")
    if not all(isinstance(v, str) and v for v in (chart, version, repo)):
        return " { chart, version, repo }"
    return f': {{ chart: {chart}, version: "{version}", repo: "{redact(str(repo))}" }}'
