"""Overlay values do not all sit under one key named after the upstream chart (warning).

With the old subchart design, values for the upstream chart lived under a
key named after it (`cilium:`). The installer now installs the upstream
chart directly with the wrapper's values, so such values reach nothing:
the upstream chart sees one unknown top-level key. Move them to the top
level. Where the upstream is locked and its chart is in the cache,
and that chart lists its values, overlay-values checks every key against
them instead, and this guess stays quiet. Some charts do have a top-level key of their own name, so this is a
warning; silence it for one path in pyproject.toml:

    [tool.bpkit.per-path."platform/cilium"]
    overlay-subchart-key = "off"

Passing::

    # file: chart/values.yaml
    catalystBlueprint:
      upstream: { chart: flux2, version: "2.13.0", repo: "https://fluxcd-community.github.io/helm-charts" }
    installCRDs: true

Failing::

    # file: chart/values.yaml
    catalystBlueprint:
      upstream: { chart: flux2, version: "2.13.0", repo: "https://fluxcd-community.github.io/helm-charts" }
    flux2:
      installCRDs: true
"""

from collections.abc import Iterator

from bpkit.lint.context import Context
from bpkit.lint.upstream_facts import known_upstream
from bpkit.problem import Level, Problem
from bpkit.source.model import Blueprint

ID = "overlay-subchart-key"
LEVEL = Level.WARNING


def _answered(bp: Blueprint, ctx: Context) -> bool:
    """Whether overlay-values checks this overlay against the upstream's real keys."""
    known = known_upstream(bp, ctx)
    return known is not None and known[1].defines_keys


def check(bp: Blueprint, ctx: Context) -> Iterator[Problem]:
    upstream = bp.upstream
    if upstream is None or bp.values is None or not isinstance(bp.values.data, dict):
        return
    chart = upstream.get("chart")
    overlay = [k for k in bp.values.data if k != "catalystBlueprint"]
    if isinstance(chart, str) and overlay == [chart] and not _answered(bp, ctx):
        yield bp.values.problem(
            (chart,), ID,
            f"all overlay values sit under {chart!r}, named after the upstream chart; the "
            "installer passes values to that chart directly, so they reach nothing: move them "
            "to the top level", key=True, level=LEVEL)
