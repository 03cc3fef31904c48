"""`bump` plans: in-place edits of the project's own files, versions raised together."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bpkit.errors import BpkitError
from bpkit.lint.engine import lint_paths
from bpkit.settings import Settings
from bpkit.source.model import load_blueprint
from bpkit.upstream.bump import BumpError, plan_bump, raise_version, upstream_kind, write_plan
from bpkit.upstream.index import Offer
from tests.helpers.blueprints import relock

REPO = Path(__file__).resolve().parent.parent
PLATFORM = sorted(p.name for p in (REPO / "platform").iterdir() if (p / "blueprint.yaml").is_file())


def copy_of(name: str, tmp_path: Path) -> Path:
    """A copy of the project's platform/ (dependencies included), every wrapper locked."""
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    shutil.copytree(REPO / "platform", root / "platform")
    for other in PLATFORM:
        relock(root / "platform" / other)  # as if `bpkit upstream lock` had run
    return root / "platform" / name


def one_line_changed(old: bytes, new: bytes, before: str, after: str) -> None:
    """Every byte equal except one line, where only `before` became `after`."""
    old_lines, new_lines = old.splitlines(keepends=True), new.splitlines(keepends=True)
    assert len(old_lines) == len(new_lines)
    changed = [(a, b) for a, b in zip(old_lines, new_lines, strict=True) if a != b]
    assert len(changed) == 1, changed
    a, b = changed[0]
    assert a.count(before.encode()) >= 1
    assert b == a.replace(before.encode(), after.encode(), 1)


def next_patch(version: str) -> str:
    major, minor, patch = version.split("-", maxsplit=1)[0].split(".")
    return f"{major}.{minor}.{int(patch) + 1}"


@pytest.mark.parametrize("name", PLATFORM)
def test_bump_keeps_every_other_byte_of_the_projects_own_files(name: str,
                                                               tmp_path: Path) -> None:
    folder = copy_of(name, tmp_path)
    bp = load_blueprint(folder)
    assert bp.upstream is not None, name
    current = bp.upstream["version"]
    target = next_patch(current)
    plan = plan_bump(bp, target)
    values, chart, blueprint = plan.changes
    assert values.path.name == "values.yaml" and b"#" in values.old  # a commented file
    one_line_changed(values.old, values.new, f'version: "{current}"', f'version: "{target}"')
    wrapper = bp.chart_version
    assert wrapper is not None and plan.wrapper_to == raise_version(wrapper, "patch")
    one_line_changed(chart.old, chart.new, f"version: {wrapper}", f"version: {plan.wrapper_to}")
    one_line_changed(blueprint.old, blueprint.new, f"version: {wrapper}",
                     f"version: {plan.wrapper_to}")
    assert values.path.read_bytes() == values.old  # planning writes nothing

    write_plan(plan)
    relock(folder)  # what bump's resolve does, from the test's synthetic upstream
    result = lint_paths([folder.parent], Settings(root=folder.parent.parent))
    assert result.problems == []
    assert load_blueprint(folder).upstream["version"] == target  # type: ignore[index]


@pytest.mark.parametrize(("old", "new", "kind", "wrapper"), [
    ("1.16.2", "1.16.3", "patch", "1.0.1"),
    ("1.16.2", "1.17.0", "minor", "1.1.0"),
    ("1.16.2", "2.0.0", "major", "2.0.0"),
    ("1.16.2", "1.16.2-rc.1", "patch", "1.0.1"),
    ("2.0.0", "1.9.0", "major", "2.0.0"),  # a move back is a release too
])
def test_the_wrapper_moves_by_the_part_the_upstream_moved(old: str, new: str, kind: str,
                                                          wrapper: str) -> None:
    assert upstream_kind(old, new) == kind
    assert raise_version("1.0.0", kind) == wrapper


def test_raise_version_drops_pre_release_and_build() -> None:
    assert raise_version("1.2.3-rc.1+build.5", "patch") == "1.2.4"
    assert raise_version("0.9.9", "major") == "1.0.0"
    with pytest.raises(BumpError):
        raise_version("1.0", "patch")


def test_a_mirrored_app_version_follows_the_upstream(tmp_path: Path) -> None:
    folder = copy_of("cert-manager", tmp_path)
    bp = load_blueprint(folder)
    chart = folder / "chart/Chart.yaml"
    assert b'appVersion: "v1.16.2"' in chart.read_bytes()
    offered = [Offer("1.16.2", "v1.16.2"), Offer("1.17.1", "v1.17.1")]
    plan = plan_bump(bp, "1.17.1", offered)
    assert plan.kind == "minor" and plan.wrapper_to == "1.1.0"
    new_chart = plan.changes[1].new.decode()
    assert 'appVersion: "v1.17.1"' in new_chart and "version: 1.1.0" in new_chart
    # Without appVersions from the repository, appVersion is left alone.
    assert b'appVersion: "v1.16.2"' in plan_bump(bp, "1.17.1").changes[1].new


def test_nothing_to_do_and_what_cannot_be_bumped(monorepo: Path) -> None:
    bp = load_blueprint(monorepo / "platform/flux")
    with pytest.raises(BpkitError) as same:
        plan_bump(bp, "2.13.0")
    assert same.value.exit_code == 0 and "already at flux2 2.13.0" in same.value.message
    with pytest.raises(BumpError, match="not a semantic version"):
        plan_bump(bp, "^2.14")
    chart = monorepo / "platform/flux/chart/Chart.yaml"
    chart.write_text(chart.read_text().replace("version: 1.0.0", 'version: "1.0"'))
    with pytest.raises(BumpError, match=r"chart version '1\.0'"):
        plan_bump(load_blueprint(monorepo / "platform/flux"), "2.14.0")


def test_a_block_it_cannot_edit_in_place_is_refused_before_anything_is_written(
        monorepo: Path) -> None:
    values = monorepo / "platform/flux/chart/values.yaml"
    values.write_text("catalystBlueprint:\n  upstream:\n    chart: flux2\n    version: &v 2.13.0\n"
                      "    repo: https://fluxcd-community.github.io/helm-charts\nx: *v\n")
    before = {p: p.read_bytes() for p in (monorepo / "platform/flux").rglob("*") if p.is_file()}
    with pytest.raises(BpkitError, match="anchor"):
        plan_bump(load_blueprint(monorepo / "platform/flux"), "2.14.0")
    assert {p: p.read_bytes() for p in before} == before
