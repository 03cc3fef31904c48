"""CI-native output: `publish` and `lint` under GitHub Actions, progress, retries, -q/-v.

The registry is the fake from tests/test_publish_unit.py (it calls the
retry and request hooks the real RegistryTarget calls); the runner's files
($GITHUB_OUTPUT, $GITHUB_STEP_SUMMARY) are temporary files.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bpkit.errors import RegistryError
from bpkit.text import seconds
from tests.helpers.cli import Run, invoke
from tests.test_publish_unit import URL, FakeRegistry, fake  # noqa: F401 - the fixture

GITHUB = {"GITHUB_ACTIONS": "true"}


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "no-docker"))
    for var in ("BPKIT_REGISTRY_USERNAME", "BPKIT_REGISTRY_PASSWORD", "GITHUB_TOKEN",
                "REGISTRY_AUTH_FILE", "HELM_REGISTRY_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    out, summary = tmp_path / "github-output", tmp_path / "step-summary"
    out.write_text("")
    return {**GITHUB, "GITHUB_OUTPUT": str(out), "GITHUB_STEP_SUMMARY": str(summary)}


def outputs(env: dict[str, str]) -> dict[str, str]:
    text = Path(env["GITHUB_OUTPUT"]).read_text()
    return dict(line.split("=", 1) for line in text.splitlines())


def publish(*args: str, env: dict[str, str]) -> Run:
    return invoke("publish", "--registry", URL, *args, env=env)


# --------------------------------------------------------------------------- seconds()


@pytest.mark.parametrize(("value", "shown"), [
    (9.65111, "9.7 s"), (30, "30 s"), (30.4, "30 s"), (0.5, "0.5 s"), (0.25, "0.25 s"),
    (2, "2 s"), (1.04, "1 s"), (0, "0 s"), (-1, "0 s"), (120.6, "121 s"), (0.123456, "0.12 s"),
])
def test_seconds_as_a_person_reads_them(value: float, shown: str) -> None:
    assert seconds(value) == shown


def test_no_raw_float_durations_in_net_messages() -> None:
    """Every duration in a network message goes through seconds()."""
    net = Path(__file__).resolve().parent.parent / "bpkit" / "net"
    for path in net.glob("*.py"):
        assert ":g} s" not in path.read_text(), path


# --------------------------------------------------------------------------- $GITHUB_OUTPUT


def test_one_blueprint_asked_for_gives_scalars_and_a_list(
        monorepo: Path, fake: FakeRegistry, runner: dict[str, str]) -> None:  # noqa: F811
    r = publish("flux", env=runner)
    assert r.code == 0, r.err
    values = outputs(runner)
    assert list(values) == ["results", "ref", "digest", "version"]
    [row] = json.loads(values["results"])
    assert set(row) == {"blueprint", "name", "version", "reference", "digest", "status", "ok"}
    assert values["ref"] == row["reference"] == "registry.example/openova-io/bp-flux:1.0.0"
    assert values["digest"] == row["digest"] == fake.tags["bp-flux"]
    assert values["version"] == "1.0.0"


def test_all_gives_only_the_list_even_for_one_blueprint(
        monorepo: Path, fake: FakeRegistry, runner: dict[str, str]) -> None:  # noqa: F811
    import shutil

    shutil.rmtree(monorepo / "platform" / "cert-manager")
    r = publish("--all", env=runner)
    assert r.code == 0, r.err
    values = outputs(runner)
    assert list(values) == ["results"]
    assert [row["name"] for row in json.loads(values["results"])] == ["bp-flux"]
    # A folder of blueprints is several too, whatever it holds today.
    Path(runner["GITHUB_OUTPUT"]).write_text("")
    assert publish("platform", env=runner).code == 0
    assert list(outputs(runner)) == ["results"]


# --------------------------------------------------------------------------- the Actions log


def test_groups_and_annotations_under_actions(
        monorepo: Path, fake: FakeRegistry, runner: dict[str, str]) -> None:  # noqa: F811
    chart = monorepo / "platform" / "flux" / "chart" / "Chart.yaml"
    chart.write_text(chart.read_text().replace("type: application", "type: nonsense"))
    fake.tags["bp-cert-manager"] = "sha256:" + "1" * 64  # someone else's content: refused
    fake.retries["bp-cert-manager"] = ["HTTP 503 Service Unavailable\n::endgroup::"]
    r = publish("--all", "--format", "json", env=runner)
    assert r.code == 1
    json.loads(r.out)  # stdout stays the JSON document
    err = r.err.splitlines()
    # Each blueprint's lines in one group, its problems and failures as annotations.
    starts = [i for i, line in enumerate(err) if line.startswith("::group::")]
    ends = [i for i, line in enumerate(err) if line == "::endgroup::"]
    assert len(starts) == len(ends) == 2
    groups = {err[s]: err[s + 1:e] for s, e in zip(starts, ends, strict=True)}
    flux = groups["::group::bp-flux:1.0.0 lint failed"]
    assert any(line.startswith("::error file=platform/flux/chart/Chart.yaml,line=")
               and "title=chart-type::" in line for line in flux), flux
    assert flux[-1] == "  !! bp-flux:1.0.0 lint failed"
    cert = groups["::group::bp-cert-manager:1.0.0 refused"]
    assert cert[0] == ("  registry.example: checking the tag: retrying in 2 s after "
                       "HTTP 503 Service Unavailable\\n::endgroup::")
    assert cert[1].startswith("::error file=platform/cert-manager/chart/Chart.yaml,"
                              "title=bpkit publish%3A bp-cert-manager%3A1.0.0 refused::")
    assert "already holds sha256:1111" in cert[1]
    # Outside text never starts a workflow command of its own.
    assert sum(line == "::endgroup::" for line in err) == 2


def test_quiet_under_actions_keeps_only_the_annotations(
        monorepo: Path, fake: FakeRegistry, runner: dict[str, str]) -> None:  # noqa: F811
    fake.fail["bp-flux"] = RegistryError("registry.example: uploading a blob failed: HTTP 500")
    r = publish("--all", "-q", env=runner)
    assert r.code == 1
    assert r.err.splitlines() == [
        "::error title=bpkit publish%3A bp-flux%3A1.0.0 failed::registry.example: uploading a "
        "blob failed: HTTP 500"]
    assert r.lines[-1] == f"1 of 2 published to {URL}"


# --------------------------------------------------------------------------- a plain CI log


def test_retries_and_requests_in_a_plain_log(
        monorepo: Path, fake: FakeRegistry, runner: dict[str, str]) -> None:  # noqa: F811
    env = {"GITHUB_ACTIONS": "", "GITHUB_OUTPUT": "", "GITHUB_STEP_SUMMARY": ""}
    fake.retries["bp-flux"] = ["HTTP 503 Service Unavailable"]
    r = publish("flux", env=env)
    assert r.code == 0, r.err
    assert r.err.splitlines() == [
        "  registry.example: checking the tag: retrying in 2 s after HTTP 503 Service "
        "Unavailable",
        "  ok bp-flux:1.0.0 published"]
    verbose = publish("flux", "-v", "--force", env=env)
    assert verbose.code == 0, verbose.err
    assert "  HEAD /v2/openova-io/bp-flux/manifests/1.0.0 -> 200" in verbose.err.splitlines()
    quiet = publish("flux", "-q", env=env)
    assert quiet.code == 0 and quiet.err == ""
    both = publish("flux", "-q", "-v", env=env)
    assert both.code == 2 and "choose one" in both.err


# --------------------------------------------------------------------------- lint


def test_lint_quiet_prints_only_problems(monorepo: Path) -> None:
    clean = invoke("lint", "-q")
    assert clean.code == 0 and clean.out == ""
    chart = monorepo / "platform" / "flux" / "chart" / "Chart.yaml"
    chart.write_text(chart.read_text().replace("type: application", "type: nonsense"))
    r = invoke("lint", "-q")
    assert r.code == 1
    assert r.lines and all("chart-type" in line or "Chart.yaml" in line for line in r.lines)
    assert "blueprint" not in r.lines[-1].split(":")[-1]  # no "... in 1 of 2 blueprints"
    full = invoke("lint")
    assert full.lines[:-1] == r.lines and "of 2 blueprints" in full.lines[-1]


def test_lint_writes_a_step_summary_under_actions(monorepo: Path, tmp_path: Path) -> None:
    chart = monorepo / "platform" / "flux" / "chart" / "Chart.yaml"
    chart.write_text(chart.read_text().replace("type: application", "type: nonsense|<b>"))
    summary = tmp_path / "summary.md"
    summary.write_text("earlier\n")
    r = invoke("lint", env={**GITHUB, "GITHUB_STEP_SUMMARY": str(summary)})
    assert r.code == 1
    assert r.out.startswith("::error file=platform/flux/chart/Chart.yaml")
    lines = summary.read_text().splitlines()
    assert lines[:4] == ["earlier", "### bpkit lint", "", "1 error in 1 of 2 blueprints"]
    assert lines[5:7] == ["| File | Line | Level | Rule | Message |", "|---|---|---|---|---|"]
    [row] = lines[7:]
    assert row.startswith("| platform/flux/chart/Chart.yaml | ")
    assert "| error | chart-type |" in row
    assert "<b>" not in row and row.count(" | ") == 4  # escaped: no HTML, no extra cell
    # Not under Actions: nothing written.
    summary.write_text("")
    invoke("lint", env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert summary.read_text() == ""


def test_lint_step_summary_is_capped() -> None:
    from bpkit.problem import Level, Problem
    from bpkit.report.lint import Summary, markdown_summary

    problems = [Problem(f"platform/a/f{i}.yaml", i + 1, 0, "r", Level.ERROR, "m")
                for i in range(60)]
    text = markdown_summary(problems, Summary(1, 60, 1), limit=50)
    rows = [line for line in text.splitlines() if line.startswith("| platform/")]
    assert len(rows) == 50
    assert text.rstrip().endswith("... and 10 more (see the annotations and the log)")


# --------------------------------------------------------------------------- the real target's hook


def test_registry_target_tells_on_retry_before_each_pause() -> None:
    from tests.test_registry_unit import FakeSession, FakeTime, artifact, status, target

    session, clock = FakeSession(), FakeTime()
    session.faults += [("HEAD", "/manifests/", status(503)),
                       ("POST", "/blobs/uploads/", status(429, **{"Retry-After": "2"}))]
    heard: list[tuple[str, str, float, str]] = []
    target(session, clock, on_retry=lambda *a: heard.append(a)).push(artifact())
    assert [(h, d, r) for h, d, _, r in heard] == [
        ("reg.example", "checking the tag", "HTTP 503"),
        ("reg.example", "uploading the config blob", "HTTP 429")]
    # The pause it then takes (the read-back pause after the push is not a retry).
    assert [delay for _, _, delay, _ in heard] == clock.sleeps[:len(heard)]
    assert heard[1][2] == 2.0


def test_a_shortened_budget_is_shown_rounded() -> None:
    """push_settled gives a second attempt what is left of the budget, e.g. 9.65111 s."""
    from tests.test_registry_unit import FakeSession, FakeTime, artifact, status, target

    session, clock = FakeSession(), FakeTime()
    session.handlers.append(lambda m, u, h, d: status(503) if m == "HEAD" else None)
    with pytest.raises(RegistryError) as err:
        target(session, clock, retry_budget=9.65111).push(artifact())
    assert "within the 9.7 s retry budget: HTTP 503" in str(err.value)
