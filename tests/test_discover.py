from __future__ import annotations

from pathlib import Path

import pytest

from bpkit.errors import UsageError
from bpkit.source.discover import discover

ROOTS = ("platform", "products")


def names(paths: list[Path]) -> list[str]:
    return [p.name for p in paths]


def test_default_is_platform_and_products(monorepo: Path) -> None:
    (monorepo / "products" / "shop" / "chart").mkdir(parents=True)
    found = discover([], monorepo, ROOTS)
    assert names(found.blueprints) == ["cert-manager", "flux", "shop"]


def test_files_map_to_their_blueprint_once(monorepo: Path) -> None:
    (monorepo / "README.md").write_text("# monorepo\n")
    found = discover(["platform/flux/chart/values.yaml", "platform/flux/blueprint.yaml",
                      "platform/flux/chart/Chart.yaml", "README.md"], monorepo, ROOTS)
    assert names(found.blueprints) == ["flux"]
    assert found.outside == ["README.md"]


def test_a_blueprint_folder_and_a_folder_of_blueprints(monorepo: Path) -> None:
    assert names(discover(["platform/flux"], monorepo, ROOTS).blueprints) == ["flux"]
    assert names(discover(["platform"], monorepo, ROOTS).blueprints) == ["cert-manager", "flux"]
    assert names(discover(["."], monorepo, ROOTS).blueprints) == ["cert-manager", "flux"]


def test_a_file_deep_inside_a_chart(monorepo: Path) -> None:
    tpl = monorepo / "platform/flux/chart/templates/np.yaml"
    tpl.parent.mkdir()
    tpl.write_text("kind: NetworkPolicy\n")
    assert names(discover([str(tpl)], monorepo, ROOTS).blueprints) == ["flux"]


def test_missing_path_is_a_usage_error(monorepo: Path) -> None:
    with pytest.raises(UsageError, match="plaform: no such file"):
        discover(["plaform"], monorepo, ROOTS)


def test_folder_without_blueprints_is_a_usage_error(monorepo: Path) -> None:
    (monorepo / "docs").mkdir()
    with pytest.raises(UsageError, match="no blueprints found"):
        discover(["docs"], monorepo, ROOTS)


def test_no_roots_at_all(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="pass a path"):
        discover([], tmp_path, ROOTS)


def test_symlinked_folder_loops_terminate(monorepo: Path) -> None:
    (monorepo / "platform" / "again").symlink_to(monorepo / "platform")
    found = discover(["."], monorepo, ROOTS)
    assert names(found.blueprints) == ["cert-manager", "flux"]
