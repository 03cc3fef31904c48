"""Builders for blueprint trees in temporary folders (the tests' own fixtures)."""

from __future__ import annotations

from pathlib import Path

UPSTREAMS = {
    "flux": ("flux2", "2.13.0", "https://fluxcd-community.github.io/helm-charts"),
    "cert-manager": ("cert-manager", "1.16.2", "https://charts.jetstack.io"),
}


def chart_yaml(name: str, version: str = "1.0.0", extra: str = "") -> str:
    return (f"apiVersion: v2\nname: bp-{name}\nversion: {version}\ntype: application\n"
            f"description: Catalyst wrapper for {name}.\n{extra}")


def values_yaml(chart: str, version: str, repo: str, overlay: str = "replicaCount: 1\n") -> str:
    return (f'catalystBlueprint:\n  upstream: {{ chart: {chart}, version: "{version}", '
            f'repo: "{repo}" }}\n{overlay}')


def blueprint_yaml(name: str, version: str = "1.0.0", depends: str = "") -> str:
    text = (f"apiVersion: catalyst.openova.io/v1alpha1\nkind: Blueprint\n"
            f"metadata:\n  name: bp-{name}\nspec:\n  version: {version}\n"
            f"  card:\n    title: {name}\n  visibility: unlisted\n"
            f"  manifests:\n    chart: ./chart\n")
    if depends:
        text += "  depends:\n" + depends
    return text


def write_blueprint(root: Path, name: str, *, version: str = "1.0.0",
                    upstream: tuple[str, str, str] | None = None, depends: str = "",
                    group: str = "platform") -> Path:
    folder = root / group / name
    (folder / "chart").mkdir(parents=True, exist_ok=True)
    chart, up_version, repo = upstream or UPSTREAMS.get(name, (name, "1.0.0", "https://charts.example.com"))
    (folder / "blueprint.yaml").write_text(blueprint_yaml(name, version, depends))
    (folder / "chart" / "Chart.yaml").write_text(chart_yaml(name, version))
    (folder / "chart" / "values.yaml").write_text(values_yaml(chart, up_version, repo))
    return folder


def write_tree(root: Path) -> Path:
    """A clean two-blueprint monorepo: platform/flux and platform/cert-manager."""
    write_blueprint(root, "cert-manager")
    write_blueprint(root, "flux")
    return root
