"""Chart.yaml's version is one strict semantic version.

The version becomes the OCI tag `bp-<name>:<version>` and is compared by
the installer and by the release job's version gate, so it must be
MAJOR.MINOR.PATCH with optional pre-release and build parts: no leading
`v`, no leading zeros, no two-part versions like `1.0`.

Passing::

    # file: chart/Chart.yaml
    apiVersion: v2
    name: bp-flux
    version: 1.0.0-rc.1
    type: application
    # file: blueprint.yaml
    apiVersion: catalyst.openova.io/v1alpha1
    kind: Blueprint
    metadata: { name: bp-flux }
    spec: { version: 1.0.0-rc.1, card: { title: Flux }, visibility: unlisted, manifests: { chart: ./chart } }

Failing::

    # file: chart/Chart.yaml
    apiVersion: v2
    name: bp-flux
    version: v1.0.0
    type: application
"""

from collections.abc import Iterator

from bpkit.lint.context import Context
from bpkit.lint.rules._common import mapping
from bpkit.problem import Level, Problem
from bpkit.source.model import Blueprint
from bpkit.versions import version_problem

ID = "chart-version"
LEVEL = Level.ERROR


def check(bp: Blueprint, ctx: Context) -> Iterator[Problem]:
    data = mapping(bp.chart)
    if data is None or bp.chart is None:
        return
    if "version" not in data:
        yield bp.chart.problem((), ID, "version is missing: add `version: 1.0.0`")
        return
    why = version_problem(data["version"])
    if why is not None:
        yield bp.chart.problem(("version",), ID, f"chart version {why}")
