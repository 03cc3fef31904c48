"""The chart is named `bp-<folder name>`.

The release job publishes `platform/flux` as the OCI artifact `bp-flux`,
and OCI registries require the repository's last path part to equal the
chart name; a chart called anything else would be pushed under a name
nobody looks for, or refused.

Passing::

    # file: chart/Chart.yaml
    apiVersion: v2
    name: bp-flux
    version: 1.0.0
    type: application

Failing::

    # file: chart/Chart.yaml
    apiVersion: v2
    name: flux
    version: 1.0.0
    type: application
"""

from collections.abc import Iterator

from bpkit.lint.context import Context
from bpkit.lint.rules._common import describe_type, mapping
from bpkit.problem import Level, Problem
from bpkit.source.model import Blueprint

ID = "chart-name"
LEVEL = Level.ERROR


def check(bp: Blueprint, ctx: Context) -> Iterator[Problem]:
    data = mapping(bp.chart)
    if data is None or bp.chart is None:
        return
    want = bp.expected_chart_name
    if "name" not in data:
        yield bp.chart.problem((), ID, f"name is missing: add `name: {want}`")
    elif not isinstance(data["name"], str):
        yield bp.chart.problem(("name",), ID,
                               f"name must be a string, not {describe_type(data['name'])}")
    elif data["name"] != want:
        yield bp.chart.problem(("name",), ID, f"chart name {data['name']!r} must be {want!r} "
                               f"(bp- and the folder name {bp.name!r})")
