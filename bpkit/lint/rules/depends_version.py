"""Each dependency's `version` is a valid range that the target's current version satisfies.

Ranges use Helm's syntax: `^1.0`, `~1.2.3`, `>=1.0.0 <2.0.0`, `1.x`, `*`,
alternatives with `||`, read exactly as Helm reads them (Masterminds
semver v3). A pre-release version such as 2.0.0-rc.1 satisfies only a
range that names a pre-release itself (`>=2.0.0-0`, `^2.0.0-rc.0`): then
any pre-release the range covers does. A range that the depended-on
blueprint's current version does not satisfy means the two cannot be
installed together from this commit. `spec.upgrades.from` entries must be
valid ranges too.

Passing::

    # file: blueprint.yaml
    apiVersion: catalyst.openova.io/v1alpha1
    kind: Blueprint
    metadata: { name: bp-flux }
    spec:
      version: 1.0.0
      card: { title: Flux }
      visibility: unlisted
      manifests: { chart: ./chart }
      depends:
        - { blueprint: bp-cert-manager, version: ">=1.0.0 <2.0.0" }
      upgrades: { from: ["0.x"] }

Failing::

    # file: blueprint.yaml
    apiVersion: catalyst.openova.io/v1alpha1
    kind: Blueprint
    metadata: { name: bp-flux }
    spec:
      version: 1.0.0
      card: { title: Flux }
      visibility: unlisted
      manifests: { chart: ./chart }
      depends:
        - { blueprint: bp-cert-manager, version: ^2.0 }
"""

from collections.abc import Iterator

from bpkit.lint.context import Context
from bpkit.problem import Level, Problem
from bpkit.source.model import Blueprint
from bpkit.versions import Version, parse_range

ID = "depends-version"
LEVEL = Level.ERROR


def check(bp: Blueprint, ctx: Context) -> Iterator[Problem]:
    doc = bp.blueprint
    if doc is None:
        return
    for index, entry in bp.depends_entries():
        text = entry.get("version")
        if not isinstance(text, str):
            continue
        where = ("spec", "depends", index, "version")
        try:
            wanted = parse_range(text)
        except ValueError as exc:
            yield doc.problem(where, ID, f"version range {text!r} is not valid: {exc}")
            continue
        name = entry.get("blueprint")
        target = ctx.lookup(name) if isinstance(name, str) else None
        current = target.version if target is not None else None
        if current is None:
            continue
        try:
            version = Version.parse(current)
        except ValueError:
            continue  # chart-version reports it on the target
        if not wanted.allows(version):
            yield doc.problem(where, ID, f"{name} is at {current}, outside the range {text!r}")
    upgrades = bp.spec.get("upgrades")
    sources = upgrades.get("from") if isinstance(upgrades, dict) else None
    if isinstance(sources, list):
        for index, text in enumerate(sources):
            if not isinstance(text, str):
                continue
            try:
                parse_range(text)
            except ValueError as exc:
                yield doc.problem(("spec", "upgrades", "from", index), ID,
                                  f"upgrade range {text!r} is not valid: {exc}")
