"""With `--base REF`, a changed blueprint raises its version above the base's.

A release is immutable: pushing changed content under an existing version
is refused by `bpkit publish`, so a change that does not raise
Chart.yaml's version cannot be released. With `bpkit lint --base REF`
(pull requests), every blueprint whose blueprint.yaml or packaged chart
files changed since the merge base with REF must have a Chart.yaml version
greater than the base's (`spec.version` follows it, see
blueprint-version). New blueprints pass. Without `--base` this rule does
nothing.
"""

from collections.abc import Iterator

from bpkit.model import Blueprint
from bpkit.problem import Level, Problem
from bpkit.rules._context import Context

ID = "version-bump"
LEVEL = Level.ERROR


def check(bp: Blueprint, ctx: Context) -> Iterator[Problem]:
    gate = ctx.version_gate
    if gate is None:
        return
    yield from gate(bp)
