"""blueprint.yaml's `spec.version` is a strict semantic version equal to the chart's.

The catalogue shows `spec.version` and installs the chart tag of the same
version; when the two drift, users are offered a version that does not
exist. Bump both together.

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
    spec: { version: 1.1.0, card: { title: Flux }, visibility: unlisted, manifests: { chart: ./chart } }
"""

from collections.abc import Iterator

from bpkit.lint.context import Context
from bpkit.problem import Level, Problem
from bpkit.source.model import Blueprint
from bpkit.versions import version_problem

ID = "blueprint-version"
LEVEL = Level.ERROR


def check(bp: Blueprint, ctx: Context) -> Iterator[Problem]:
    doc = bp.blueprint
    if doc is None or not isinstance(doc.data, dict) or not isinstance(doc.data.get("spec"), dict):
        return
    spec = doc.data["spec"]
    if "version" not in spec:
        yield doc.problem(("spec",), ID, "spec.version is missing: add the chart's version",
                          key=True)
        return
    why = version_problem(spec["version"])
    if why is not None:
        yield doc.problem(("spec", "version"), ID, f"spec.version {why}")
        return
    chart_version = bp.chart_version
    if chart_version is not None and spec["version"] != chart_version:
        yield doc.problem(("spec", "version"), ID, f"spec.version {spec['version']} differs from "
                          f"Chart.yaml's version {chart_version}; bump both together")
