"""`bpkit lint` without click (the plain command line) says and exits exactly as with click."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from bpkit.cli import lint_run
from bpkit.cli.lint_run import PLAIN_FLAGS, PLAIN_FORMAT, plain_lint
from bpkit.report.lint import FORMATS
from tests.helpers.cli import Run, invoke
from tests.test_cli_lint import break_flux

PLAIN = [
    [],
    ["platform/"],
    ["--strict", "platform/"],
    ["-q"],
    ["--quiet", "platform/flux"],
    ["--format", "json"],
    ["--format=github", "platform/"],
    ["--format", "sarif"],
    ["--no-cache", "--strict"],
    ["--", "platform/flux/chart/Chart.yaml"],
    ["platform/flux/blueprint.yaml", "platform/cert-manager/chart/values.yaml"],
    ["platform/nope"],  # a usage error: exit 2
    ["README.md"],  # belongs to no blueprint
]


def through_click(monkeypatch: pytest.MonkeyPatch, *args: str, cwd: Path,
                  env: dict[str, str]) -> Run:
    with monkeypatch.context() as m:
        m.setattr(lint_run, "plain_lint", lambda argv: None)
        return invoke("lint", *args, cwd=cwd, env=env)


@pytest.mark.parametrize("args", PLAIN, ids=lambda a: " ".join(a) or "(none)")
def test_plain_command_lines_match_click(args: list[str], monorepo: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    break_flux(monorepo)
    (monorepo / "README.md").write_text("# a monorepo\n")
    assert plain_lint(["lint", *args]) is not None
    runs = []
    for name, how in (("plain", "plain"), ("click", "click"), ("plain-warm", "plain")):
        # Cold with a cache of its own, then warm from the first run's cache.
        cache = tmp_path / ("plain" if name == "plain-warm" else name)
        env = {"BPKIT_CACHE_DIR": str(cache)}
        runs.append(invoke("lint", *args, cwd=monorepo, env=env) if how == "plain"
                    else through_click(monkeypatch, *args, cwd=monorepo, env=env))
    plain, clicked, warm = runs
    assert (plain.code, plain.out, plain.err) == (clicked.code, clicked.out, clicked.err)
    assert (warm.code, warm.out, warm.err) == (plain.code, plain.out, plain.err)
    assert plain.code in (0, 1, 2)
    if args != ["README.md"]:
        assert plain.out or plain.err


@pytest.mark.parametrize("argv", [
    ["lint", "--help"], ["lint", "-h"], ["lint", "--base", "main"], ["lint", "--fix"],
    ["lint", "--sarif-file", "x.sarif"], ["lint", "--format"], ["lint", "--format", "xml"],
    ["lint", "--format=yaml"], ["lint", "--strictest"], ["lint", "-qq"], ["rules"],
    ["--version"], [], ["publish", "--all"],
])
def test_everything_else_goes_through_click(argv: list[str]) -> None:
    assert plain_lint(argv) is None


def test_plain_options_are_the_click_command_s() -> None:
    """The plain parser knows only options the click command has, of the same kind."""
    from bpkit.cli.lint import lint

    options = {name: param for param in lint.params if isinstance(param, click.Option)
               for name in param.opts}
    for flag in PLAIN_FLAGS:
        assert options[flag].is_flag, flag
        assert options[flag].name == PLAIN_FLAGS[flag]
    fmt = options[PLAIN_FORMAT]
    assert not fmt.is_flag
    assert isinstance(fmt.type, click.Choice) and tuple(fmt.type.choices) == FORMATS


def test_dash_dash_and_a_lone_dash_are_paths() -> None:
    found = plain_lint(["lint", "--", "--strict", "-q"])
    assert found is not None and found["paths"] == ["--strict", "-q"] and not found["strict"]
    found = plain_lint(["lint", "-"])
    assert found is not None and found["paths"] == ["-"]
