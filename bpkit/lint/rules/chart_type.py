"""Chart.yaml says `type: application`.

A `library` chart cannot be installed, which is the only thing a wrapper is
for. Helm assumes application when `type` is absent, but the wrapper states
it so that nothing depends on that default.

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
    type: library
"""

from collections.abc import Iterator

from bpkit.lint.context import Context
from bpkit.lint.rules._common import mapping
from bpkit.problem import Level, Problem
from bpkit.source.model import Blueprint

ID = "chart-type"
LEVEL = Level.ERROR


def check(bp: Blueprint, ctx: Context) -> Iterator[Problem]:
    data = mapping(bp.chart)
    if data is None or bp.chart is None:
        return
    if "type" not in data:
        yield bp.chart.problem((), ID, "type is missing: add `type: application`")
    elif data["type"] != "application":
        yield bp.chart.problem(("type",), ID,
                               f"type is {data['type']!r}; a wrapper is an application chart")
