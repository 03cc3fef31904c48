"""The upstream `chart` is a valid Helm chart name.

Helm accepts chart names made of letters, digits, `.`, `_` and `-`; a name
with a slash (`fluxcd/flux2`, the `helm repo` alias form) or spaces cannot
be looked up in the repository given in `repo`.

Passing::

    # file: chart/values.yaml
    catalystBlueprint:
      upstream: { chart: flux2, version: "2.13.0", repo: "https://fluxcd-community.github.io/helm-charts" }

Failing::

    # file: chart/values.yaml
    catalystBlueprint:
      upstream: { chart: fluxcd/flux2, version: "2.13.0", repo: "https://fluxcd-community.github.io/helm-charts" }
"""

import re
from collections.abc import Iterator

from bpkit.lint.context import Context
from bpkit.problem import Level, Problem
from bpkit.source.model import Blueprint

ID = "upstream-chart"
LEVEL = Level.ERROR
CHART_NAME_RE = re.compile(r"[a-zA-Z0-9._-]+")


def check(bp: Blueprint, ctx: Context) -> Iterator[Problem]:
    upstream = bp.upstream
    if upstream is None or bp.values is None or bp.no_upstream:
        return
    chart = upstream.get("chart")
    if not isinstance(chart, str):
        return
    where = ("catalystBlueprint", "upstream", "chart")
    if not chart:
        yield bp.values.problem(where, ID, "upstream chart name is empty")
    elif "/" in chart:
        yield bp.values.problem(where, ID, f"upstream chart {chart!r} has a slash: give the "
                                "chart's own name and put the repository in repo")
    elif not CHART_NAME_RE.fullmatch(chart) or chart in (".", ".."):
        yield bp.values.problem(where, ID, f"upstream chart {chart!r} is not a valid Helm chart "
                                "name (letters, digits, '.', '_', '-')")
