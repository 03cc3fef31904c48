"""The upstream `version` is one exact, quoted semantic version.

The installer installs exactly this chart version, so releases are
repeatable: a range (`^1.2`, `~1`, `1.x`, `>=1`) would install whatever is
newest on the day. A leading `v`, a two-part `1.0` or a leading zero is not
a chart version Helm repositories use.

Passing::

    # file: chart/values.yaml
    catalystBlueprint:
      upstream: { chart: flux2, version: "2.13.0", repo: "https://fluxcd-community.github.io/helm-charts" }

Failing::

    # file: chart/values.yaml
    catalystBlueprint:
      upstream: { chart: flux2, version: "^2.13", repo: "https://fluxcd-community.github.io/helm-charts" }
"""

from collections.abc import Iterator

from bpkit.lint.context import Context
from bpkit.problem import Level, Problem
from bpkit.source.model import Blueprint
from bpkit.versions import version_problem

ID = "upstream-version"
LEVEL = Level.ERROR


def check(bp: Blueprint, ctx: Context) -> Iterator[Problem]:
    upstream = bp.upstream
    if upstream is None or bp.values is None or bp.no_upstream:
        return
    version = upstream.get("version")
    if not isinstance(version, str):
        return  # upstream-block reports the type
    why = version_problem(version)
    if why is not None:
        yield bp.values.problem(("catalystBlueprint", "upstream", "version"), ID,
                                f"upstream version {why}")
