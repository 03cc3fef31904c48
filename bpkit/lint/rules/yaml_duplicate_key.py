"""No mapping has the same key twice.

YAML parsers disagree on duplicate keys: some take the first value, some
the last, some refuse the file. Whichever value was meant, the other
is silently lost. The problem points at the second occurrence and names the
line of the first.

Passing::

    # file: chart/values.yaml
    catalystBlueprint:
      upstream: { chart: flux2, version: "2.13.0", repo: "https://fluxcd-community.github.io/helm-charts" }
    installCRDs: true

Failing::

    # file: chart/values.yaml
    catalystBlueprint:
      upstream: { chart: flux2, version: "2.13.0", repo: "https://fluxcd-community.github.io/helm-charts" }
    installCRDs: true
    installCRDs: false
"""

from bpkit.problem import Level
from bpkit.yamlio.load import RULE_DUPLICATE

ID = RULE_DUPLICATE
LEVEL = Level.ERROR
