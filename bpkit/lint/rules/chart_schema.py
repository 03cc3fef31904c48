"""Chart.yaml is a mapping that matches the wrapper Chart.yaml schema.

Checks the shape Helm itself enforces when it loads a chart: known keys
only, strings where Helm expects strings (an unquoted `appVersion: 1.10`
is the number 1.1 to YAML), maintainers with a name, annotations whose
values are strings. The fields with rules of their own (apiVersion, name,
version, type, dependencies) are left to those rules. `bpkit schema chart`
prints the schema, which editors can use too.

Passing::

    # file: chart/Chart.yaml
    apiVersion: v2
    name: bp-flux
    version: 1.0.0
    type: application
    appVersion: "2.3.0"

Failing::

    # file: chart/Chart.yaml
    apiVersion: v2
    name: bp-flux
    version: 1.0.0
    type: application
    appVersion: 2.3
    maintainer: OpenOva
"""

from collections.abc import Iterator

from bpkit.lint.context import Context
from bpkit.lint.rules._common import describe_type
from bpkit.problem import Level, Problem
from bpkit.source import schemas
from bpkit.source.model import Blueprint

ID = "chart-schema"
LEVEL = Level.ERROR
_OWNED = {"apiVersion", "name", "version", "type", "dependencies"}


def check(bp: Blueprint, ctx: Context) -> Iterator[Problem]:
    doc = bp.chart
    if doc is None:
        return
    if not isinstance(doc.data, dict):
        yield doc.problem((), ID, "Chart.yaml must be a mapping of chart metadata, "
                          f"not {describe_type(doc.data)}")
        return
    for path, message in schemas.errors("chart", doc.data):
        if path and path[0] in _OWNED:
            continue
        if not path and any(f"'{key}'" in message for key in _OWNED):
            continue
        yield doc.problem(path, ID, message, key=len(path) == 1 and "additional" in message)
