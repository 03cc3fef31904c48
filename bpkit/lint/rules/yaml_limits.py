"""YAML files stay within the limits Helm and the installer can handle.

A chart file over 5 MiB (Helm's per-file limit) is not read at all; a
document whose aliases add more than a million nodes when expanded (a
"billion laughs" alias bomb) or refer to themselves is not loaded, nor one
whose collections nest more than 200 levels deep (checked before parsing:
such nesting crashes the C YAML parser), nor one holding more than 250,000
values without any alias (counted before parsing: bpkit keeps every value's
position, and 2.5 million of them took 815 MB; a wrapper's values hold a
few hundred, a big upstream chart's tens of thousands). Each would make Helm, the installer or bpkit itself
run out of memory or time; the message says which limit it was.

Passing::

    # file: chart/values.yaml
    catalystBlueprint:
      upstream: { chart: flux2, version: "2.13.0", repo: "https://fluxcd-community.github.io/helm-charts" }
    defaults: &res { requests: { cpu: 50m } }
    sourceController: { resources: *res }

Failing::

    # file: chart/values.yaml
    a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]
    b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]
    c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]
    d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]
    e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]
    f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]
    g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]
"""

from bpkit.problem import Level
from bpkit.yamlio.load import RULE_LIMITS

ID = RULE_LIMITS
LEVEL = Level.ERROR
