"""Every file bpkit needs can be read.

A symlink loop, a file replaced by a folder or a file without read
permission stops packaging as surely as a missing one; the problem says
which of these it is.

Passing::

    # file: chart/values.yaml
    catalystBlueprint:
      upstream: { chart: flux2, version: "2.13.0", repo: "https://fluxcd-community.github.io/helm-charts" }

Failing::

    # symlink: chart/values.yaml -> values.yaml
"""

from bpkit.problem import Level
from bpkit.yamlio.load import RULE_FILE

ID = RULE_FILE
LEVEL = Level.ERROR
