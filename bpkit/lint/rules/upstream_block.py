"""values.yaml holds `catalystBlueprint.upstream` with exactly chart, version and repo.

The bootstrap-kit installer reads this block to learn which chart to
install; the rest of values.yaml is passed to that chart as values. Each
of the three keys is a string (quote the version: YAML reads an unquoted
`2.10` as the number 2.1). Unknown keys are refused so that a typo like
`repository:` is caught here, not at install time. Blueprints that ship
only their own resources opt out with the Chart.yaml annotation
`catalyst.openova.io/no-upstream: "true"` (see upstream-opt-out).

Passing::

    # file: chart/values.yaml
    catalystBlueprint:
      upstream: { chart: flux2, version: "2.13.0", repo: "https://fluxcd-community.github.io/helm-charts" }

Failing::

    # file: chart/values.yaml
    catalystBlueprint:
      upstream: { chart: flux2, version: 2.13, repository: "https://fluxcd-community.github.io/helm-charts" }
"""

from collections.abc import Iterator

from bpkit.lint.context import Context
from bpkit.lint.rules._common import describe_type
from bpkit.problem import Level, Problem
from bpkit.source.model import Blueprint

ID = "upstream-block"
LEVEL = Level.ERROR
KEYS = ("chart", "version", "repo")
_EXAMPLE = ('catalystBlueprint: {upstream: {chart: NAME, version: "X.Y.Z", repo: URL}} '
            '(or annotate Chart.yaml with catalyst.openova.io/no-upstream: "true")')


def check(bp: Blueprint, ctx: Context) -> Iterator[Problem]:
    doc = bp.values
    if doc is None or bp.no_upstream:
        return
    data = doc.data
    if data is None:
        yield doc.problem((), ID, f"values.yaml is empty; it needs {_EXAMPLE}")
        return
    if not isinstance(data, dict):
        yield doc.problem((), ID, f"values.yaml must be a mapping, not {describe_type(data)}")
        return
    block = data.get("catalystBlueprint")
    if "catalystBlueprint" not in data:
        yield doc.problem((), ID, f"no catalystBlueprint.upstream block: add {_EXAMPLE}")
        return
    if not isinstance(block, dict):
        yield doc.problem(("catalystBlueprint",), ID,
                          f"catalystBlueprint must be a mapping, not {describe_type(block)}")
        return
    if "upstream" not in block:
        yield doc.problem(("catalystBlueprint",), ID,
                          "catalystBlueprint has no upstream: add "
                          'upstream: {chart: NAME, version: "X.Y.Z", repo: URL}', key=True)
        return
    upstream = block["upstream"]
    where = ("catalystBlueprint", "upstream")
    if not isinstance(upstream, dict):
        yield doc.problem(where, ID,
                          f"catalystBlueprint.upstream must be a mapping, not {describe_type(upstream)}")
        return
    missing = [k for k in KEYS if k not in upstream]
    if missing:
        yield doc.problem(where, ID, "catalystBlueprint.upstream is missing "
                          + ", ".join(missing) + " (it needs exactly chart, version, repo)")
    for key in upstream:
        if key not in KEYS:
            hint = " (did you mean repo?)" if key in ("repository", "url") else ""
            yield doc.problem((*where, key), ID,
                              f"catalystBlueprint.upstream has unknown key {key!r}{hint}; "
                              "it takes exactly chart, version, repo", key=True)
    for key in KEYS:
        if key in upstream and not isinstance(upstream[key], str):
            value = upstream[key]
            quote = (f'; quote it: "{value}"'
                     if isinstance(value, (int, float)) and not isinstance(value, bool) else "")
            yield doc.problem((*where, key), ID,
                              f"catalystBlueprint.upstream.{key} must be a string, "
                              f"not {describe_type(value)}{quote}")
