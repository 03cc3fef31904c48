"""No plain value that Helm reads differently from YAML 1.2 tools (warning).

Helm parses YAML as 1.1 (go-yaml): `yes`, `no`, `on`, `off`, `y` and `n`
are booleans there, `0755` is octal and `12:30` is a base-60 number. YAML
1.2 tools (bpkit, most editors, yq) read the same text as the strings
"yes" and "12:30" and the decimal 755. A values overlay with
`country: NO` or `schedule: 12:30` therefore reaches the upstream chart
as something else than it says. Write `true`/`false`, or quote the value
to keep the text. Keys count too: an unquoted `on:` key is `true` to Helm.

Passing::

    # file: chart/values.yaml
    catalystBlueprint:
      upstream: { chart: flux2, version: "2.13.0", repo: "https://fluxcd-community.github.io/helm-charts" }
    installCRDs: true
    country: "NO"
    mode: "0755"

Failing::

    # file: chart/values.yaml
    catalystBlueprint:
      upstream: { chart: flux2, version: "2.13.0", repo: "https://fluxcd-community.github.io/helm-charts" }
    installCRDs: yes
"""

from bpkit.problem import Level
from bpkit.yamlio.load import RULE_AMBIGUOUS

ID = RULE_AMBIGUOUS
LEVEL = Level.WARNING
