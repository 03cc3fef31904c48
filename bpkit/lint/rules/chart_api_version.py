"""Chart.yaml declares `apiVersion: v2`.

Wrappers are Helm 3+ charts; `v1` charts (Helm 2) keep dependencies in
requirements.yaml and are read differently by the installer.

Passing::

    # file: chart/Chart.yaml
    apiVersion: v2
    name: bp-flux
    version: 1.0.0
    type: application

Failing::

    # file: chart/Chart.yaml
    apiVersion: v1
    name: bp-flux
    version: 1.0.0
    type: application
"""

from collections.abc import Iterator

from bpkit.lint.context import Context
from bpkit.lint.rules._common import mapping
from bpkit.problem import Level, Problem
from bpkit.source.model import Blueprint

ID = "chart-api-version"
LEVEL = Level.ERROR


def check(bp: Blueprint, ctx: Context) -> Iterator[Problem]:
    data = mapping(bp.chart)
    if data is None or bp.chart is None:
        return
    if "apiVersion" not in data:
        yield bp.chart.problem((), ID, "apiVersion is missing: add `apiVersion: v2`")
    elif data["apiVersion"] != "v2":
        yield bp.chart.problem(("apiVersion",), ID,
                               f"apiVersion is {data['apiVersion']!r}; wrappers are Helm chart API v2")
