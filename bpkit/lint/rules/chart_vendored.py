"""The chart has no `charts/` folder, `Chart.lock` or `requirements.yaml`.

These are vendored or legacy dependencies: `charts/` holds subcharts that
would be packaged into the release, `Chart.lock` pins a `dependencies:`
block, and `requirements.yaml`/`requirements.lock` are Helm 2's way to
declare one. A wrapper has none of them; the upstream chart is named in
values.yaml's `catalystBlueprint.upstream`.

Passing::

    # file: chart/templates/networkpolicy.yaml
    kind: NetworkPolicy

Failing::

    # file: chart/Chart.lock
    dependencies: []
    digest: sha256:0000000000000000000000000000000000000000000000000000000000000000
"""

from collections.abc import Iterator

from bpkit.helm.chartfiles import VENDORED_FILES as _WHY
from bpkit.lint.context import Context
from bpkit.problem import Level, Problem
from bpkit.source.model import Blueprint
from bpkit.yamlio.load import display_path

ID = "chart-vendored"
LEVEL = Level.ERROR


def check(bp: Blueprint, ctx: Context) -> Iterator[Problem]:
    for name, why in _WHY.items():
        if bp.chart_has(name):
            path = bp.chart_dir / name
            yield Problem(display_path(path), 0, 0, ID, LEVEL,
                          f"{why}; remove it and name the upstream in values.yaml's "
                          "catalystBlueprint.upstream")
