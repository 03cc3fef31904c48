from __future__ import annotations

from pathlib import Path

import pytest

from bpkit.errors import ConfigError
from bpkit.lint.engine import lint_paths
from bpkit.lint.rules import RULES
from bpkit.problem import Level
from bpkit.settings import load_settings

KNOWN = frozenset(RULES)


def write(root: Path, text: str) -> None:
    (root / "pyproject.toml").write_text(text)


def test_defaults_without_pyproject(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, KNOWN)
    assert settings.roots == ("platform", "products") and settings.registry is None


def test_rules_and_per_path(tmp_path: Path) -> None:
    write(tmp_path, """
[tool.bpkit]
registry = "oci://ghcr.io/openova-io"
[tool.bpkit.rules]
chart-type = "warning"
[tool.bpkit.per-path."platform/cilium"]
overlay-subchart-key = "off"
""")
    s = load_settings(tmp_path, KNOWN)
    assert s.registry == "oci://ghcr.io/openova-io"
    chart = tmp_path / "platform/x/chart/Chart.yaml"
    assert s.level_for("chart-type", Level.ERROR, chart) is Level.WARNING
    cilium = tmp_path / "platform/cilium/chart/values.yaml"
    assert s.level_for("overlay-subchart-key", Level.WARNING, cilium) is Level.OFF
    other = tmp_path / "platform/flux/chart/values.yaml"
    assert s.level_for("overlay-subchart-key", Level.WARNING, other) is Level.WARNING


@pytest.mark.parametrize(("text", "message"), [
    ("[tool.bpkit\n", "invalid TOML"),
    ("[tool.bpkit]\nrots = []\n", "unknown key"),
    ("[tool.bpkit.rules]\nchart-typo = 'off'\n", "unknown rule 'chart-typo'"),
    ("[tool.bpkit.rules]\nchart-type = 'loud'\n", "unknown level"),
    ("[tool.bpkit]\nregistry = 5\n", "registry must be a string"),
    ("[tool.bpkit]\nretry-budget = -1\n", "retry-budget"),
    ("[tool.bpkit]\nupstream-mode = 'umbrella'\n", "upstream-mode must be \"overlay\" or"),
    ("[tool.bpkit]\nupstream-mode = 1\n", "not a int"),
    ("[tool.bpkit.per-path.'platform/x']\nupstream-mode = 'Bundle'\n",
     r"per-path\.\"platform/x\": upstream-mode"),
    ("[tool.bpkit.rules]\nupstream-mode = 'bundle'\n", "unknown rule 'upstream-mode'"),
])
def test_bad_settings_name_the_file(tmp_path: Path, text: str, message: str) -> None:
    write(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as info:
        load_settings(tmp_path, KNOWN)
    assert "pyproject.toml" in str(info.value)


def test_settings_relevel_problems(monorepo: Path) -> None:
    chart = monorepo / "platform/flux/chart/Chart.yaml"
    chart.write_text(chart.read_text().replace("type: application\n", ""))
    write(monorepo, "[tool.bpkit.rules]\nchart-type = 'warning'\n")
    result = lint_paths([], load_settings(monorepo, KNOWN))
    assert [(p.rule, p.level) for p in result.problems] == [("chart-type", Level.WARNING)]
    assert not result.failed() and result.failed(strict=True)
    write(monorepo, "[tool.bpkit.per-path.'platform/flux/**']\nchart-type = 'off'\n")
    assert lint_paths([], load_settings(monorepo, KNOWN)).problems == []


def test_a_rule_switched_off_everywhere_is_not_run(monorepo: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Its problems would be dropped anyway; not running it spares their positions."""
    from bpkit.lint import engine

    chart = monorepo / "platform/flux/chart/Chart.yaml"
    chart.write_text(chart.read_text().replace("type: application\n", ""))
    called: list[str] = []

    def spy(rule_id: str, bp: object, run: object) -> list[object]:
        called.append(rule_id)
        return real(rule_id, bp, run)  # type: ignore[arg-type]

    real = engine._guarded
    monkeypatch.setattr(engine, "_guarded", spy)
    write(monorepo, "[tool.bpkit.rules]\nchart-type = 'off'\n")
    settings = load_settings(monorepo, KNOWN)
    assert engine.switched_off(settings) == {"chart-type"}
    assert lint_paths([], settings).problems == []
    assert "chart-type" not in called and "chart-name" in called
    # Switched on again for one path: it runs, and finds what it finds there.
    write(monorepo, "[tool.bpkit.rules]\nchart-type = 'off'\n"
                    "[tool.bpkit.per-path.'platform/flux/**']\nchart-type = 'error'\n")
    settings = load_settings(monorepo, KNOWN)
    assert engine.switched_off(settings) == frozenset()
    assert [p.rule for p in lint_paths([], settings).problems] == ["chart-type"]


def test_upstream_mode_default_global_and_per_path(tmp_path: Path) -> None:
    assert load_settings(tmp_path, KNOWN).mode_for(tmp_path / "platform/flux") == "overlay"
    write(tmp_path, """
[tool.bpkit]
upstream-mode = "bundle"
[tool.bpkit.per-path."platform/cilium"]
upstream-mode = "overlay"
overlay-subchart-key = "off"
[tool.bpkit.per-path."products/**"]
upstream-mode = "overlay"
[tool.bpkit.per-path."products/special"]
upstream-mode = "bundle"
[tool.bpkit.per-path."platform/openbao/**"]
upstream-mode = "overlay"
""")
    s = load_settings(tmp_path, KNOWN)
    assert s.upstream_mode == "bundle"
    assert s.mode_for(tmp_path / "platform/flux") == "bundle"
    assert s.mode_for(tmp_path / "platform/cilium") == "overlay"
    assert s.mode_for(tmp_path / "products/shop") == "overlay"  # a ** pattern covers the folder
    assert s.mode_for(tmp_path / "products/special") == "bundle"  # later settings win
    assert s.mode_for(tmp_path / "platform/openbao") == "overlay"  # what is inside it
    assert s.mode_for(tmp_path / "platform/openbao-x") == "bundle"
    assert s.mode_for(None) == "bundle"
    # The mode sits beside rule levels without being taken for a rule.
    values = tmp_path / "platform/cilium/chart/values.yaml"
    assert s.level_for("overlay-subchart-key", Level.WARNING, values) is Level.OFF
    assert "upstream-mode" not in dict(s.per_path)["platform/cilium"]
