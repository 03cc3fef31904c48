"""A blueprint has blueprint.yaml, chart/Chart.yaml and chart/values.yaml.

blueprint.yaml is the catalogue entry, Chart.yaml makes the folder a Helm
chart, and values.yaml carries the upstream reference the installer reads.
Without any one of them the blueprint cannot be released or installed.

Passing::

    # file: chart/values.yaml
    catalystBlueprint:
      upstream: { chart: flux2, version: "2.13.0", repo: "https://fluxcd-community.github.io/helm-charts" }

Failing::

    # delete: chart/values.yaml
"""

from bpkit.problem import Level
from bpkit.source.model import RULE_MISSING

ID = RULE_MISSING
LEVEL = Level.ERROR
