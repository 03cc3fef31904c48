"""Each `spec.depends[].blueprint` names another blueprint of the monorepo.

Dependencies are resolved by name (`metadata.name`, e.g. `bp-cert-manager`)
among the blueprints of the same monorepo (`platform/` and `products/`),
whether or not they were passed to this lint run. A misspelt or removed
blueprint would make the installer wait forever for something that never
comes; depending on itself is refused too.

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
        - { blueprint: bp-cert-manager, version: ^1.0 }

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
        - { blueprint: bp-cert-manger, version: ^1.0 }
"""

from collections.abc import Iterator

from bpkit.lint.context import Context
from bpkit.problem import Level, Problem
from bpkit.source.model import Blueprint

ID = "depends-target"
LEVEL = Level.ERROR


def check(bp: Blueprint, ctx: Context) -> Iterator[Problem]:
    if bp.blueprint is None:
        return
    own = {bp.metadata_name, bp.chart_name}
    for index, entry in bp.depends_entries():
        target = entry.get("blueprint")
        if not isinstance(target, str):
            continue
        where = ("spec", "depends", index, "blueprint")
        if target in own:
            yield bp.blueprint.problem(where, ID, f"{target} depends on itself")
        elif ctx.lookup(target) is None:
            hint = ""
            if not target.startswith("bp-") and ctx.lookup(f"bp-{target}") is not None:
                hint = f" (did you mean bp-{target}?)"
            yield bp.blueprint.problem(
                where, ID, f"depends on {target}, which is not a blueprint of this "
                f"monorepo{hint}")
