"""`bpkit lint --fix`: umbrella charts become wrappers where that is mechanical."""

from __future__ import annotations

from pathlib import Path

from bpkit.lint.fix import fix_path
from tests.helpers.cli import bpkit

UMBRELLA_CHART = """\
apiVersion: v2
name: bp-flux
version: 1.0.0
type: application
description: Catalyst wrapper for flux.

# Pulled in as a subchart by helm dependency build.
dependencies:
  - name: flux2   # the upstream
    version: "2.13.0"
    repository: "https://fluxcd-community.github.io/helm-charts"

# keywords stay, with their comment
keywords: [catalyst]
"""


def write(monorepo: Path, chart: str, values: str | None = None) -> Path:
    folder = monorepo / "platform" / "flux" / "chart"
    (folder / "Chart.yaml").write_text(chart)
    if values is not None:
        (folder / "values.yaml").write_text(values)
    return folder


def test_agreeing_dependency_is_removed_keeping_every_other_byte(monorepo: Path) -> None:
    folder = write(monorepo, UMBRELLA_CHART)
    (folder / "Chart.lock").write_text("dependencies: []\n")
    values_before = (folder / "values.yaml").read_bytes()
    done = fix_path(monorepo / "platform" / "flux")
    assert (folder / "Chart.yaml").read_text() == UMBRELLA_CHART.replace(
        'dependencies:\n  - name: flux2   # the upstream\n    version: "2.13.0"\n'
        '    repository: "https://fluxcd-community.github.io/helm-charts"\n', "")
    assert not (folder / "Chart.lock").exists()
    assert (folder / "values.yaml").read_bytes() == values_before
    assert len(done.fixed) == 2 and done.left == []
    r = bpkit("lint", "platform/flux", cwd=monorepo)
    assert r.code == 0, r.out


def test_missing_upstream_block_is_created_from_the_entry(monorepo: Path) -> None:
    folder = write(monorepo, UMBRELLA_CHART, "# Overlay for flux.\n\nflux2:\n  x: 1\n")
    done = fix_path(monorepo / "platform" / "flux")
    assert (folder / "values.yaml").read_text() == (
        '# Overlay for flux.\n\ncatalystBlueprint:\n  upstream: { chart: flux2, version: '
        '"2.13.0", repo: "https://fluxcd-community.github.io/helm-charts" }\n\nflux2:\n  x: 1\n')
    assert any("added catalystBlueprint.upstream" in line for line in done.fixed)
    assert bpkit("lint", "platform/flux", cwd=monorepo).code == 0


def test_what_is_not_mechanical_is_left_and_said(monorepo: Path) -> None:
    cases = {
        "disagrees": UMBRELLA_CHART.replace('"2.13.0"', '"2.14.0"'),
        "alias": UMBRELLA_CHART.replace("    version:", "    alias: f\n    version:"),
        "two": UMBRELLA_CHART.replace("\n# keywords", "  - name: common\n    version: 1.0.0\n"
                                                     "    repository: https://x.example\n\n"
                                                     "# keywords"),
    }
    for case, text in cases.items():
        folder = write(monorepo, text)
        done = fix_path(monorepo / "platform" / "flux")
        assert done.fixed == [], case
        assert len(done.left) == 1, case
        assert (folder / "Chart.yaml").read_text() == text, case
    range_version = UMBRELLA_CHART.replace('"2.13.0"', '"^2.13"')
    write(monorepo, range_version, "flux2: {}\n")
    done = fix_path(monorepo / "platform" / "flux")
    assert done.fixed == [] and "cannot be an upstream block" in done.left[0]


def test_cli_fix_then_lint(monorepo: Path) -> None:
    write(monorepo, UMBRELLA_CHART)
    before = bpkit("lint", "platform/flux", cwd=monorepo)
    assert before.code == 1 and "chart-dependencies" in before.out
    r = bpkit("lint", "--fix", "platform/flux", cwd=monorepo)
    assert r.code == 0, r.out + r.err
    assert "fixed: platform/flux/chart/Chart.yaml: removed the dependencies: block" in r.err
    again = bpkit("lint", "--fix", "platform/flux", cwd=monorepo)
    assert again.code == 0 and "fixed" not in again.err  # nothing left to do


UPSTREAM = ("catalystBlueprint:\n  upstream: { chart: flux2, version: \"2.13.0\", "
            "repo: \"https://fluxcd-community.github.io/helm-charts\" }\n")
NESTED = UPSTREAM + """\

# Values for the upstream chart.
flux2:  # the subchart key
  # CRDs come with the chart
  installCRDs: true
  policies:
    enabled: false   # off by default
"""
FLAT = UPSTREAM + """\

# Values for the upstream chart.
# the subchart key
# CRDs come with the chart
installCRDs: true
policies:
  enabled: false   # off by default
"""


def test_values_move_between_the_two_shapes_keeping_comments(monorepo: Path) -> None:
    folder = write(monorepo, UMBRELLA_CHART, NESTED)
    done = fix_path(monorepo / "platform" / "flux", "overlay")
    assert (folder / "values.yaml").read_text() == FLAT
    assert done.fixed[-1].endswith("un-nested flux2: to the top level (overlay mode: values go "
                                   "to flux2 itself)")
    back = fix_path(monorepo / "platform" / "flux", "bundle")
    assert (folder / "values.yaml").read_text() == (
        FLAT.split("# Values", maxsplit=1)[0] + "flux2:\n" + "".join(
            "  " + line if line.strip() else line
            for line in ("# Values" + FLAT.split("# Values")[1]).splitlines(keepends=True)))
    assert "nested the overlay under flux2:" in back.fixed[0]
    assert fix_path(monorepo / "platform" / "flux", "bundle").fixed == []  # in shape: no-op


def test_values_shape_is_left_when_the_wrapper_has_templates(monorepo: Path) -> None:
    folder = write(monorepo, UMBRELLA_CHART.replace("dependencies:", "x-deps:"), NESTED)
    (folder / "templates").mkdir()
    (folder / "templates" / "cm.yaml").write_text("kind: ConfigMap\n")
    done = fix_path(monorepo / "platform" / "flux", "overlay")
    assert (folder / "values.yaml").read_text() == NESTED
    assert "templates of its own" in done.left[0]


def test_cli_fix_follows_the_upstream_mode_setting(monorepo: Path) -> None:
    folder = write(monorepo, UMBRELLA_CHART, NESTED)
    (monorepo / "pyproject.toml").write_text('[tool.bpkit]\nupstream-mode = "bundle"\n')
    r = bpkit("lint", "--fix", "platform/flux", cwd=monorepo)
    assert r.code == 0, r.out + r.err
    assert (folder / "values.yaml").read_text() == NESTED  # bundle shape already
    (monorepo / "pyproject.toml").write_text('[tool.bpkit]\nupstream-mode = "overlay"\n')
    r = bpkit("lint", "--fix", "platform/flux", cwd=monorepo)
    assert r.code == 0 and (folder / "values.yaml").read_text() == FLAT
