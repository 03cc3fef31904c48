"""Generate N synthetic, lint-clean wrapper blueprints for benchmarks.

    python bench/gen_blueprints.py OUT_DIR N

Writes OUT_DIR/platform/bp0000.../ with blueprint.yaml, chart/Chart.yaml and
chart/values.yaml shaped like the real wrappers (comments, a flow-mapping
upstream block, a nested overlay of ~40 lines, a few dependencies).
"""

from __future__ import annotations

import sys
from pathlib import Path

CHART = """\
apiVersion: v2
name: bp-{name}
version: 1.{minor}.0
description: |
  Catalyst-curated Blueprint wrapper for {name}. Carries Catalyst-specific
  values on top of the upstream Helm chart; the bootstrap-kit installer reads
  the upstream chart reference from values.yaml's metadata block.
type: application
keywords: [catalyst, blueprint, {name}]
maintainers:
  - name: OpenOva Catalyst
    email: catalyst@openova.io
"""

VALUES = """\
# Catalyst Blueprint wrapper metadata, read by the bootstrap-kit installer.
catalystBlueprint:
  upstream:
    {{ chart: up-{name}, version: "2.{minor}.1", repo: "https://charts.example.com/{name}" }}

# Overlay passed to the upstream chart.
replicaCount: 2
image:
  pullPolicy: IfNotPresent
resources:
  requests: {{ cpu: 50m, memory: 64Mi }}
  limits: {{ memory: 256Mi }}
controller:
  resources:
    requests: {{ cpu: 50m, memory: 64Mi }}
    limits: {{ memory: 256Mi }}
  podSecurityContext:
    runAsNonRoot: true
    seccompProfile: {{ type: RuntimeDefault }}
metrics:
  enabled: true
  serviceMonitor:
    enabled: false
    interval: 30s
tolerations: []
nodeSelector: {{}}
affinity:
  podAntiAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm:
          topologyKey: kubernetes.io/hostname
          labelSelector:
            matchLabels: {{ app.kubernetes.io/name: {name} }}
"""

BLUEPRINT = """\
apiVersion: catalyst.openova.io/v1alpha1
kind: Blueprint
metadata:
  name: bp-{name}
  labels:
    catalyst.openova.io/section: bench
spec:
  version: 1.{minor}.0
  card:
    title: {name}
    summary: Synthetic blueprint number {index} for benchmarks.
  visibility: listed
  configSchema:
    type: object
    properties:
      replicas: {{ type: integer, minimum: 1, default: 2 }}
  manifests:
    chart: ./chart
  depends:
{depends}  upgrades:
    from: ["0.x"]
"""


def generate(out: Path, count: int) -> list[Path]:
    folders = []
    for index in range(count):
        name = f"bp{index:04d}"
        folder = out / "platform" / name
        (folder / "chart").mkdir(parents=True, exist_ok=True)
        minor = index % 7
        # Each blueprint depends on up to two earlier ones: an acyclic graph.
        deps = "".join(f"    - {{ blueprint: bp-bp{d:04d}, version: ^1.0 }}\n"
                       for d in (index - 1, index // 2) if 0 <= d < index)
        (folder / "chart" / "Chart.yaml").write_text(CHART.format(name=name, minor=minor))
        (folder / "chart" / "values.yaml").write_text(VALUES.format(name=name, minor=minor))
        (folder / "blueprint.yaml").write_text(BLUEPRINT.format(
            name=name, minor=minor, index=index, depends=deps or "    []\n"))
        folders.append(folder)
    return folders


if __name__ == "__main__":
    generate(Path(sys.argv[1]), int(sys.argv[2]))
