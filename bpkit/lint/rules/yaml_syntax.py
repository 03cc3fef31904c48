"""Every YAML file parses, as Helm reads it.

A file that does not parse cannot be packaged or installed; the problem
points at the line and column where the parser gave up. Produced while
loading, for blueprint.yaml, Chart.yaml and values.yaml alike. What only
the fast C parser refuses (`{URL: http://x}`) but YAML 1.2 and Helm accept
is not an error. Several documents: values.yaml's are merged as Helm 4 does
(each must be a mapping, a `---` line holds nothing else), Chart.yaml is its
first document, blueprint.yaml must be a single document.

Passing::

    # file: chart/values.yaml
    catalystBlueprint:
      upstream: { chart: flux2, version: "2.13.0", repo: "https://fluxcd-community.github.io/helm-charts" }
    installCRDs: true

Failing::

    # file: chart/values.yaml
    catalystBlueprint:
      upstream: { chart: flux2, version: "2.13.0", repo: "https://fluxcd-community.github.io/helm-charts"
    installCRDs: true
"""

from bpkit.problem import Level
from bpkit.yamlio.load import RULE_SYNTAX

ID = RULE_SYNTAX
LEVEL = Level.ERROR
