"""`bpkit schema NAME` prints a schema that works on its own, checked by check-jsonschema."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bpkit.source.schemas import NAMES
from tests.helpers.cli import invoke

# The one installed beside this Python (a test dependency), else on PATH.
_BESIDE = Path(sys.executable).parent / "check-jsonschema"
CHECK_JSONSCHEMA = str(_BESIDE) if _BESIDE.exists() else shutil.which("check-jsonschema") or ""

UPSTREAM = 'upstream: { chart: flux2, version: "2.13.0", repo: "https://charts.example.com" }\n'
FILES = {
    "values": ("catalystBlueprint:\n  " + UPSTREAM + "replicaCount: 1\n",
               "catalystBlueprint:\n  upstream: { chart: flux2, version: 2.13.0 }\n"),
    "upstream": (UPSTREAM.removeprefix("upstream: "), "{ chart: flux2 }\n"),
    "upstream-lock": ("apiVersion: bpkit.openova.io/v1\nkind: UpstreamLock\nchart: flux2\n"
                      "version: 2.13.0\nrepo: https://charts.example.com\n"
                      "digest: sha256:" + "a" * 64 + "\ntype: application\n",
                      "apiVersion: bpkit.openova.io/v1\nkind: UpstreamLock\nchart: flux2\n"
                      "version: 2.13.0\nrepo: https://charts.example.com\n"
                      "digest: sha256:abc\ntype: application\n"),
    "chart": ("apiVersion: v2\nname: bp-flux\nversion: 1.0.0\ntype: application\n",
              "apiVersion: v2\nname: bp-flux\nversion: [1]\n"),
    "blueprint": ("apiVersion: catalyst.openova.io/v1alpha1\nkind: Blueprint\n"
                  "metadata: { name: bp-flux }\nspec:\n  version: 1.0.0\n"
                  "  card: { title: Flux }\n  visibility: unlisted\n"
                  "  manifests: { chart: ./chart }\n",
                  "apiVersion: catalyst.openova.io/v1alpha1\nkind: Blueprint\n"
                  "metadata: { name: bp-flux }\nspec:\n  version: 1.0.0\n"
                  "  card: { title: Flux }\n  visibility: unlisted\n"
                  "  manifests: { chart: ./chart }\n  dependson: []\n"),
}


def check(schema: Path, instance: Path) -> subprocess.CompletedProcess[str]:
    # A dead loopback proxy: should a $ref still point at the network, the
    # check fails at once instead of leaving the machine.
    env = {**os.environ, "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9",
           "NO_PROXY": ""}
    return subprocess.run([CHECK_JSONSCHEMA, "--schemafile", str(schema), str(instance)],
                          capture_output=True, text=True, timeout=120, env=env, check=False)


@pytest.mark.parametrize("name", NAMES)
def test_printed_schema_validates_without_base_uri(name: str, tmp_path: Path) -> None:
    run = invoke("schema", name, cwd=tmp_path)
    assert run.code == 0, run.err
    data = json.loads(run.out)
    refs = _values(data, "$ref")
    assert all(ref.startswith("#") for ref in refs), refs  # nothing left to fetch
    schema = tmp_path / f"{name}.schema.json"
    schema.write_text(run.out)
    good, bad = FILES[name]
    (tmp_path / "good.yaml").write_text(good)
    (tmp_path / "bad.yaml").write_text(bad)
    ok = check(schema, tmp_path / "good.yaml")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    failed = check(schema, tmp_path / "bad.yaml")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "Schema validation errors" in failed.stdout


def test_values_schema_carries_the_upstream_schema(tmp_path: Path) -> None:
    data = json.loads(invoke("schema", "values", cwd=tmp_path).out)
    upstream = json.loads(invoke("schema", "upstream", cwd=tmp_path).out)
    assert data["properties"]["catalystBlueprint"]["properties"]["upstream"] == {
        "$ref": "#/$defs/upstream"}
    embedded = data["$defs"]["upstream"]
    assert embedded == {k: v for k, v in upstream.items() if k not in ("$id", "$schema")}


def _values(node: object, key: str) -> list[str]:
    if isinstance(node, dict):
        found = [node[key]] if isinstance(node.get(key), str) else []
        return found + [v for child in node.values() for v in _values(child, key)]
    if isinstance(node, list):
        return [v for child in node for v in _values(child, key)]
    return []
