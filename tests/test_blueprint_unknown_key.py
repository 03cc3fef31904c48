"""Unknown keys in blueprint.yaml: each at its own position, with did-you-mean."""

from __future__ import annotations

from pathlib import Path

from bpkit.lint.engine import lint_paths
from bpkit.settings import Settings
from tests.helpers.blueprints import write_blueprint

HEAD = ("apiVersion: catalyst.openova.io/v1alpha1\nkind: Blueprint\n"
        "metadata:\n  name: bp-flux\n")


def problems(root: Path, text: str) -> list[tuple[str, int, int, str]]:
    write_blueprint(root, "cert-manager")
    folder = write_blueprint(root, "flux")
    (folder / "blueprint.yaml").write_text(text)
    result = lint_paths([str(folder)], Settings(root=root))
    return [(p.rule, p.line, p.col, p.message) for p in result.problems]


SPEC = ("spec:\n  version: 1.0.0\n  card:\n    title: Flux\n  visibility: unlisted\n"
        "  manifests:\n    chart: ./chart\n")


def test_dependson_is_named_at_its_key_with_did_you_mean(tmp_path: Path) -> None:
    text = HEAD + SPEC + "  dependson:\n    - { blueprint: bp-cert-manager, version: ^1.0 }\n"
    assert problems(tmp_path, text) == [
        ("blueprint-unknown-key", 12, 3,
         "unknown key 'dependson' in spec (did you mean 'depends'?)")]


def test_every_unknown_key_at_every_level(tmp_path: Path) -> None:
    text = (HEAD + "  lables: { a: b }\n" + SPEC.replace("    title: Flux\n",
                                                          "    title: Flux\n    sumary: x\n")
            + "  depends:\n    - blueprint: bp-cert-manager\n      version: ^1.0\n"
              "      alais: certs\n"
            + "  upgrades:\n    from: ['0.x']\n    blocked: ['0.1.x']\n"
            + "  zzz: 1\n"
            + "nonsense: true\n")
    found = problems(tmp_path, text)
    assert [(line, col, msg) for rule, line, col, msg in found
            if rule == "blueprint-unknown-key"] == [
        (5, 3, "unknown key 'lables' in metadata (did you mean 'labels'?)"),
        (10, 5, "unknown key 'sumary' in spec.card (did you mean 'summary'?)"),
        (17, 7, "unknown key 'alais' in spec.depends.0 (did you mean 'alias'?)"),
        (20, 5, "unknown key 'blocked' in spec.upgrades (did you mean 'blocks'?)"),
        (21, 3, "unknown key 'zzz' in spec (known keys: version, card, visibility, owner, "
                "configSchema, placementSchema, depends, manifests, upgrades, rotation, "
                "observability, outputs)"),
        (22, 1, "unknown key 'nonsense' in the document (known keys: apiVersion, kind, "
                "metadata, spec)"),
    ]
    # blueprint-schema no longer repeats them as "Additional properties" on the parent.
    assert not [f for f in found if f[0] == "blueprint-schema"]


def test_case_slip_still_finds_its_key(tmp_path: Path) -> None:
    text = HEAD + SPEC + "  ConfigSchema: { type: object }\n"
    assert problems(tmp_path, text)[0][3] == (
        "unknown key 'ConfigSchema' in spec (did you mean 'configSchema'?)")


def test_the_shape_real_blueprints_use_is_known(tmp_path: Path) -> None:
    text = HEAD + "  labels: { catalyst.openova.io/section: x }\n  annotations: { a: b }\n" + (
        SPEC.replace("    title: Flux\n", "    title: Flux\n    summary: s\n    description: d\n"
                     "    icon: i\n    category: c\n    family: f\n    tags: [a]\n"
                     "    docs: u\n    documentation: u\n    license: Apache-2.0\n")
        + "  owner: { team: platform, contact: a@example.com }\n"
          "  configSchema: { type: object }\n"
          "  placementSchema: { modes: [single-region], default: single-region,"
          " minRegions: 1, maxRegions: 3 }\n"
          "  depends:\n    - blueprint: bp-cert-manager\n      version: ^1.0\n"
          "      alias: certs\n      when: tls.enabled\n      values: { a: 1 }\n"
          "  upgrades: { from: ['0.x'], blocks: ['0.1.x'] }\n"
          "  rotation: { certificates: 90d }\n"
          "  observability: { logs: true, metrics: true }\n"
          "  outputs: { issuerName: x, anything: z }\n")
    assert problems(tmp_path, text) == []
