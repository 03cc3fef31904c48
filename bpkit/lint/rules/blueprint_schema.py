"""blueprint.yaml is a valid Blueprint manifest, and its configSchema a valid JSON Schema.

Checks blueprint.yaml against the Blueprint CRD schema (`bpkit schema
blueprint`): `apiVersion: catalyst.openova.io/v1alpha1`, `kind: Blueprint`,
`metadata.name`, and a `spec` with `version`, `card.title`, `visibility`
(listed | unlisted | private), `manifests.chart`, and well-formed
`depends`, `placementSchema` and `upgrades` (unknown keys are
`blueprint-unknown-key`). `spec.configSchema` is what
the console renders as the blueprint's settings form, so it must itself be
a valid JSON Schema (2020-12). Equality with the chart's name and version
are separate rules.

Passing::

    # file: blueprint.yaml
    apiVersion: catalyst.openova.io/v1alpha1
    kind: Blueprint
    metadata: { name: bp-flux }
    spec:
      version: 1.0.0
      card: { title: Flux }
      visibility: unlisted
      configSchema: { type: object, properties: { replicas: { type: integer, minimum: 1 } } }
      manifests: { chart: ./chart }

Failing::

    # file: blueprint.yaml
    apiVersion: catalyst.openova.io/v1alpha1
    kind: Blueprint
    metadata: { name: bp-flux }
    spec:
      version: 1.0.0
      card: { title: Flux }
      visibility: public
      configSchema: { type: object, properties: { replicas: { type: int } } }
      manifests: { chart: ./chart }
"""

from collections.abc import Iterator
from typing import Any

from bpkit.lint.context import Context
from bpkit.lint.rules._common import describe_type
from bpkit.problem import Level, Problem
from bpkit.source import schemas
from bpkit.source.model import Blueprint

ID = "blueprint-schema"
LEVEL = Level.ERROR


def check(bp: Blueprint, ctx: Context) -> Iterator[Problem]:
    doc = bp.blueprint
    if doc is None:
        return
    if not isinstance(doc.data, dict):
        yield doc.problem((), ID, f"blueprint.yaml must be a mapping, not {describe_type(doc.data)}")
        return
    for path, message in schemas.errors("blueprint", doc.data):
        if path[:2] == ("spec", "version") or (path == ("spec",) and "'version'" in message):
            continue  # blueprint-version says more
        if "Additional properties are not allowed" in message:
            continue  # blueprint-unknown-key names each key, with did-you-mean
        yield doc.problem(path, ID, message)
    config = doc.data.get("spec", {}).get("configSchema") if isinstance(
        doc.data.get("spec"), dict) else None
    if isinstance(config, dict):
        yield from _config_schema(doc, config)


def _config_schema(doc: Any, config: dict[str, Any]) -> Iterator[Problem]:
    for path, message in schemas.schema_errors(config):
        full = ("spec", "configSchema", *path)
        where = ".".join(str(p) for p in full)
        yield doc.problem(full, ID, f"{where} is not a valid JSON Schema: {message}")
        return  # the first is enough: one broken keyword often yields several errors
