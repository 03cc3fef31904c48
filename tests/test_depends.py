"""Dependencies between blueprints: targets, ranges, cycles, siblings."""

from __future__ import annotations

from pathlib import Path

from bpkit.lint.engine import lint_paths
from bpkit.settings import Settings
from tests.helpers.blueprints import write_blueprint


def dep(name: str, rng: str = "^1.0") -> str:
    return f"    - blueprint: bp-{name}\n      version: \"{rng}\"\n"


def lint(root: Path, *paths: str) -> list[tuple[str, str, int]]:
    result = lint_paths([str(root / p) for p in paths], Settings(root=root))
    return [(p.rule, p.message, p.line) for p in result.problems]


def test_three_blueprint_cycle_is_named_whole_and_once(tmp_path: Path) -> None:
    write_blueprint(tmp_path, "a", depends=dep("b"))
    write_blueprint(tmp_path, "b", depends=dep("c"))
    write_blueprint(tmp_path, "c", depends=dep("a"))
    write_blueprint(tmp_path, "d", depends=dep("a"))  # depends on the cycle, not in it
    problems = lint(tmp_path, "platform")
    cycles = [p for p in problems if p[0] == "depends-cycle"]
    assert cycles == [("depends-cycle", "dependency cycle: bp-a -> bp-b -> bp-c -> bp-a", 13)]


def test_dependency_outside_the_linted_set_resolves_through_siblings(tmp_path: Path) -> None:
    write_blueprint(tmp_path, "cert-manager", version="1.4.0")
    write_blueprint(tmp_path, "shop", group="products", depends=dep("cert-manager", "~1.4"))
    # As pre-commit does: only the changed blueprint's file is passed.
    assert lint(tmp_path, "products/shop/blueprint.yaml") == []
    write_blueprint(tmp_path, "shop", group="products", depends=dep("cert-manager", "^2.0"))
    assert lint(tmp_path, "products/shop/blueprint.yaml") == [
        ("depends-version", "bp-cert-manager is at 1.4.0, outside the range '^2.0'", 14)]


def test_cycle_through_a_sibling_is_reported_in_the_linted_blueprint(tmp_path: Path) -> None:
    write_blueprint(tmp_path, "a", depends=dep("b"))
    write_blueprint(tmp_path, "b", depends=dep("a"))
    problems = lint(tmp_path, "platform/b")
    assert [(r, m) for r, m, _ in problems] == [("depends-cycle",
                                                "dependency cycle: bp-b -> bp-a -> bp-b")]


def test_unknown_target_suggests_the_bp_prefix(tmp_path: Path) -> None:
    write_blueprint(tmp_path, "cert-manager")
    bare = "    - blueprint: cert-manager\n      version: ^1.0\n"
    write_blueprint(tmp_path, "flux", depends=bare)
    problems = lint(tmp_path, "platform")
    assert problems[0][0] == "depends-target"
    assert "did you mean bp-cert-manager?" in problems[0][1]


def test_invalid_ranges(tmp_path: Path) -> None:
    write_blueprint(tmp_path, "cert-manager")
    write_blueprint(tmp_path, "flux", depends=dep("cert-manager", ">=1.0 <"))
    problems = lint(tmp_path, "platform")
    assert [p[0] for p in problems] == ["depends-version"]
    assert "not valid" in problems[0][1]


def test_self_dependency(tmp_path: Path) -> None:
    write_blueprint(tmp_path, "flux", depends=dep("flux"))
    problems = lint(tmp_path, "platform")
    assert ("depends-target", "bp-flux depends on itself", 13) in problems


def test_raising_a_version_checks_the_dependents_that_were_not_given(tmp_path: Path) -> None:
    write_blueprint(tmp_path, "cert-manager")
    for name in ("flux", "gitea", "harbor"):
        write_blueprint(tmp_path, name, depends=dep("cert-manager", "^1.0"))
    write_blueprint(tmp_path, "shop", group="products", depends=dep("cert-manager", ">=1.0"))
    write_blueprint(tmp_path, "cilium")  # depends on nothing: not checked
    assert lint(tmp_path, "platform/cert-manager/chart/Chart.yaml") == []
    write_blueprint(tmp_path, "cert-manager", version="2.0.0")
    # As pre-commit passes them: only cert-manager's own files.
    result = lint_paths([str(tmp_path / "platform/cert-manager/chart/Chart.yaml"),
                         str(tmp_path / "platform/cert-manager/blueprint.yaml")],
                        Settings(root=tmp_path))
    assert [(Path(p.path).parts[-2], p.rule, p.message, p.line) for p in result.problems] == [
        (name, "depends-version", "bp-cert-manager is at 2.0.0, outside the range '^1.0'", 14)
        for name in ("flux", "gitea", "harbor")]
    assert [bp.name for bp in result.blueprints] == ["cert-manager"]
    assert sorted(bp.name for bp in result.dependents) == ["flux", "gitea", "harbor", "shop"]


def test_dependents_get_only_the_dependency_rules(tmp_path: Path) -> None:
    write_blueprint(tmp_path, "cert-manager", version="2.0.0")
    flux = write_blueprint(tmp_path, "flux", depends=dep("cert-manager", "^1.0"))
    (flux / "chart" / "Chart.yaml").write_text("apiVersion: v1\nname: wrong\nversion: 1.0\n")
    rules = {rule for rule, _, _ in lint(tmp_path, "platform/cert-manager/blueprint.yaml")}
    assert rules == {"depends-version"}  # flux's own problems are for when flux is linted


def test_a_deleted_blueprint_fails_its_dependents(tmp_path: Path) -> None:
    import shutil

    write_blueprint(tmp_path, "cert-manager")
    write_blueprint(tmp_path, "flux", depends=dep("cert-manager"))
    write_blueprint(tmp_path, "cilium")
    shutil.rmtree(tmp_path / "platform/cert-manager")
    # As `bpkit lint $(git diff --name-only ...)` passes a deletion: paths that are gone.
    assert lint(tmp_path, "platform/cert-manager/blueprint.yaml",
                "platform/cert-manager/chart/values.yaml") == [
        ("depends-target", "depends on bp-cert-manager, which is not a blueprint of this "
                           "monorepo", 13)]


def test_a_file_deleted_from_a_remaining_blueprint_lints_that_blueprint(tmp_path: Path) -> None:
    flux = write_blueprint(tmp_path, "flux")
    (flux / "chart" / "values.yaml").unlink()
    problems = lint(tmp_path, "platform/flux/chart/values.yaml")
    assert [rule for rule, _, _ in problems] == ["file-missing"]


def test_a_missing_path_outside_the_roots_is_still_a_usage_error(tmp_path: Path) -> None:
    import pytest

    from bpkit.errors import UsageError

    write_blueprint(tmp_path, "flux")
    with pytest.raises(UsageError, match="no such file or folder"):
        lint(tmp_path, "docs/nope.yaml")


def test_a_prerelease_target_meets_only_a_range_asking_for_prereleases(tmp_path: Path) -> None:
    # As Helm (Masterminds semver) decides it, not npm: the pre-release need
    # not share MAJOR.MINOR.PATCH with the one the range names.
    write_blueprint(tmp_path, "cert-manager", version="1.5.0-rc.1")
    write_blueprint(tmp_path, "shop", group="products",
                    depends=dep("cert-manager", ">=1.2.3-alpha <2.0.0"))
    assert lint(tmp_path, "products/shop/blueprint.yaml") == []
    write_blueprint(tmp_path, "shop", group="products", depends=dep("cert-manager", ">=1.2.3"))
    assert lint(tmp_path, "products/shop/blueprint.yaml") == [
        ("depends-version", "bp-cert-manager is at 1.5.0-rc.1, outside the range '>=1.2.3'", 14)]
