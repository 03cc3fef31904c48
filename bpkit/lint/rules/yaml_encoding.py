r"""Every YAML file is UTF-8 text.

Helm reads chart files as UTF-8; other encodings (Latin-1 from an old
editor, UTF-16 from a Windows tool) break rendering in ways that are hard
to trace. The problem names the line and column of the first byte that is
not UTF-8. A UTF-8 byte-order mark is accepted.

Passing::

    # file: chart/values.yaml
    catalystBlueprint:
      upstream: { chart: flux2, version: "2.13.0", repo: "https://fluxcd-community.github.io/helm-charts" }
    greeting: "grüß dich"

Failing::

    # bytes: chart/values.yaml = b'catalystBlueprint:\n  upstream: { chart: flux2, version: "2.13.0", repo: "https://fluxcd-community.github.io/helm-charts" }\ngreeting: "gr\xfc\xdf dich"\n'
"""

from bpkit.problem import Level
from bpkit.yamlio.load import RULE_ENCODING

ID = RULE_ENCODING
LEVEL = Level.ERROR
