"""blueprint.yaml holds only keys the Blueprint manifest knows, spelt right.

A misspelt key is not an error to YAML and the installer ignores it, so
the setting is silently lost: `dependson:` instead of `depends:` drops
every dependency, `visiblity:` leaves the default. The known keys are
those of `bpkit schema blueprint`: `apiVersion`, `kind`, `metadata`
(`name`, `labels`, `annotations`) and `spec` with `version`, `card`,
`visibility`, `owner`, `configSchema`, `placementSchema`, `depends[]`
(`blueprint`, `version`, `alias`, `when`, `values`), `manifests`
(`chart`), `upgrades` (`from`, `blocks`), `rotation`, `observability`
and `outputs`. `card`, `placementSchema`, `manifests`, `upgrades` and each
dependency are closed too; `configSchema`, `owner`, `rotation`,
`observability` and `outputs` are free-form. Each unknown key is reported
at its own line and column, with the closest known key when there is one.

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
        - { blueprint: bp-cert-manager, version: ^1.0, alias: certs }

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
      dependson:
        - { blueprint: bp-cert-manager, version: ^1.0 }
"""

import difflib
from collections.abc import Iterator

from bpkit.lint.context import Context
from bpkit.problem import Level, Problem
from bpkit.source import schemas
from bpkit.source.model import Blueprint

ID = "blueprint-unknown-key"
LEVEL = Level.ERROR


def check(bp: Blueprint, ctx: Context) -> Iterator[Problem]:
    doc = bp.blueprint
    if doc is None or not isinstance(doc.data, dict):
        return  # blueprint-schema reports it
    for path, key, known in schemas.unknown_keys("blueprint", doc.data):
        where = ".".join(str(p) for p in path[:-1]) or "the document"
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        if not close:  # case slips (`DependsOn`) score low as they are
            lowered = {k.lower(): k for k in known}
            close = [lowered[m] for m in difflib.get_close_matches(key.lower(), lowered, n=1)]
        hint = f"did you mean {close[0]!r}?" if close else "known keys: " + ", ".join(known)
        yield doc.problem(path, ID, f"unknown key {key!r} in {where} ({hint})", key=True)
