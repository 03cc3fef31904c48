"""upstream-lock and overlay-values against real locks and a real chart cache.

The upstream charts are synthetic archives made here (tests/blueprints.py)
and put in the test session's cache, as `bpkit upstream fetch` would.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bpkit.lint import upstream_facts
from bpkit.lint.engine import lint_paths
from bpkit.problem import Level, Problem
from bpkit.settings import Settings, load_settings
from bpkit.source.lock import LOCK_FILE
from tests.helpers.blueprints import (
    lock_blueprint,
    relock,
    upstream_chart,
    values_yaml,
    write_blueprint,
)
from tests.helpers.cli import bpkit
from tests.test_rule_examples import apply_example, examples

FLUX = ("flux2", "2.13.0", "https://fluxcd-community.github.io/helm-charts")
FLUX_DEFAULTS = "installCRDs: false\npodAnnotations: {}\nresources:\n  limits: {}\n"


def lint(root: Path, *paths: str, settings: Settings | None = None) -> list[Problem]:
    return lint_paths(list(paths) or ["platform"], settings or Settings(root=root)).problems


def of(problems: list[Problem], rule: str) -> list[Problem]:
    return [p for p in problems if p.rule == rule]


def set_upstream(root: Path, *, values: str | None = "", schema: dict[str, Any] | None = None,
                 overlay: str = "", name: str = "flux", extra_chart_yaml: str = "") -> Path:
    """Lock platform/<name> to a flux2 2.13.0 with these defaults, cached; write the overlay."""
    folder = root / "platform" / name
    (folder / "chart" / "values.yaml").write_text(values_yaml(*FLUX, overlay=overlay))
    data = upstream_chart(FLUX[0], FLUX[1], values=values, schema=schema,
                          extra_chart_yaml=extra_chart_yaml)
    lock_blueprint(folder, *FLUX, data=data)
    return folder


# --- the documented examples, with the upstream they describe -----------------------

@pytest.mark.parametrize(("kind", "body"), examples("overlay-values"))
def test_overlay_values_examples(kind: str, body: str, monorepo: Path) -> None:
    folder = set_upstream(monorepo, values=FLUX_DEFAULTS)
    apply_example(folder, body)
    problems = lint(monorepo)
    if kind == "Passing":
        assert problems == []
    else:
        fired = of(problems, "overlay-values")
        assert {p.level for p in fired} == {Level.WARNING, Level.ERROR}
        assert "did you mean 'installCRDs'" in fired[0].message


# --- upstream-lock ----------------------------------------------------------------

def test_the_fixture_is_locked_and_clean(monorepo: Path) -> None:
    assert (monorepo / "platform/flux" / LOCK_FILE).is_file()
    assert lint(monorepo) == []


def test_a_missing_lock_is_one_warning_at_the_upstream_block(monorepo: Path) -> None:
    (monorepo / "platform/flux" / LOCK_FILE).unlink()
    found = of(lint(monorepo), "upstream-lock")
    assert [(p.path, p.line, p.col, p.level) for p in found] == [
        ("platform/flux/chart/values.yaml", 2, 3, Level.WARNING)]
    assert "bpkit upstream lock platform/flux" in found[0].message
    assert of(lint(monorepo), "overlay-values") == []  # nothing to check against: quiet


def test_a_stale_lock_names_every_difference_at_the_lock_line(monorepo: Path) -> None:
    values = monorepo / "platform/flux/chart/values.yaml"
    values.write_text(values.read_text().replace('"2.13.0"', '"2.14.1"').replace(
        "https://fluxcd-community.github.io/helm-charts", "oci://ghcr.io/fluxcd-community/charts"))
    found = of(lint(monorepo), "upstream-lock")
    assert len(found) == 1
    problem = found[0]
    assert (problem.path, problem.line, problem.level) == (
        "platform/flux/upstream.lock", 5, Level.ERROR)  # the `version:` line
    assert "version '2.13.0' in the lock, '2.14.1' in values.yaml" in problem.message
    assert "oci://ghcr.io/fluxcd-community/charts" in problem.message
    assert "chart" not in problem.message.split("(")[1].split(")")[0].split(";")[0][:6]


def test_a_stale_lock_turns_overlay_values_off(monorepo: Path) -> None:
    folder = set_upstream(monorepo, values=FLUX_DEFAULTS, overlay="typoKey: 1\n")
    assert of(lint(monorepo), "overlay-values")
    values = folder / "chart/values.yaml"
    values.write_text(values.read_text().replace('"2.13.0"', '"2.13.1"'))
    problems = lint(monorepo)
    assert of(problems, "overlay-values") == []
    assert [p.level for p in of(problems, "upstream-lock")] == [Level.ERROR]


def test_an_opt_out_blueprint_needs_no_lock(monorepo: Path) -> None:
    folder = monorepo / "platform/flux"
    chart = folder / "chart/Chart.yaml"
    chart.write_text(chart.read_text()
                     + 'annotations:\n  catalyst.openova.io/no-upstream: "true"\n')
    (folder / "chart/values.yaml").write_text("replicaCount: 1\n")
    (folder / LOCK_FILE).unlink()
    assert lint(monorepo) == []
    lock_blueprint(folder, *FLUX)
    found = of(lint(monorepo), "upstream-lock")
    assert [(p.path, p.level) for p in found] == [("platform/flux/upstream.lock", Level.WARNING)]
    assert "left over" in found[0].message


def test_a_broken_lock_is_an_upstream_lock_problem_not_a_crash(monorepo: Path) -> None:
    (monorepo / "platform/flux" / LOCK_FILE).write_text("chart: flux2\nversion: [1]\n")
    problems = lint(monorepo)
    assert all(p.rule != "internal-error" for p in problems)
    found = of(problems, "upstream-lock")
    assert found and all(p.path == "platform/flux/upstream.lock" for p in found)
    assert any(p.line == 2 and "version" in p.message for p in found)


def test_the_projects_own_platform_lints_clean_through_its_settings() -> None:
    root = Path(__file__).resolve().parent.parent
    settings = load_settings(root)
    assert settings.rule_levels["upstream-lock"] is Level.OFF
    text = (root / "pyproject.toml").read_text()
    assert "no\n# route to those repositories" in text  # the reason is written down
    # The rule itself is not weakened: without the setting every wrapper is unlocked.
    unlocked = lint_paths(["platform"], Settings(root=root)).problems
    assert {p.rule for p in unlocked} == {"upstream-lock"}
    assert len(unlocked) == 10
    assert lint_paths(["platform"], settings).problems == []


# --- overlay-values -----------------------------------------------------------------

def test_unknown_keys_are_warnings_at_their_line_with_did_you_mean(monorepo: Path) -> None:
    set_upstream(monorepo,
                 values="replicaCount: 1\nwebhook:\n  timeoutSeconds: 10\n  hostNetwork: false\n",
                 overlay="replicaCont: 2\nwebhook:\n  timeoutSecond: 5\n  hostNetwork: true\n")
    found = of(lint(monorepo), "overlay-values")
    assert [(p.line, p.col, p.level) for p in found] == [
        (3, 1, Level.WARNING), (5, 3, Level.WARNING)]
    assert "'replicaCont' is not a value flux2 2.13.0 defines (did you mean 'replicaCount'?)" \
        in found[0].message
    assert "'timeoutSecond' under 'webhook'" in found[1].message
    assert "did you mean 'timeoutSeconds'" in found[1].message


def test_a_key_named_after_the_chart_says_why(monorepo: Path) -> None:
    set_upstream(monorepo, values="installCRDs: false\n", overlay="flux2:\n  installCRDs: true\n")
    problems = lint(monorepo)
    found = of(problems, "overlay-values")
    assert len(found) == 1 and "named after the upstream chart" in found[0].message
    # The exact answer replaces overlay-subchart-key's guess.
    assert of(problems, "overlay-subchart-key") == []


def test_subchart_key_guess_stays_when_the_upstream_is_not_cached(monorepo: Path) -> None:
    folder = set_upstream(monorepo, values="installCRDs: false\n",
                          overlay="flux2:\n  installCRDs: true\n")
    cache = Path(__import__("os").environ["BPKIT_CACHE_DIR"])
    lock = (folder / LOCK_FILE).read_text()
    digest = next(line.split(": ")[1] for line in lock.splitlines() if line.startswith("digest"))
    (cache / "charts/sha256" / f"{digest.split(':')[1]}.tgz").unlink()
    upstream_facts._DEFAULTS.clear()
    problems = lint(monorepo)
    assert sorted(p.rule for p in problems) == ["overlay-subchart-key", "overlay-values"]
    not_checked = of(problems, "overlay-values")[0]
    assert not_checked.level is Level.WARNING
    assert "overlay not checked" in not_checked.message
    assert "bpkit upstream fetch platform/flux" in not_checked.message


def test_a_missing_cache_is_one_warning_per_blueprint_not_per_key(monorepo: Path) -> None:
    folder = monorepo / "platform/flux"
    data = upstream_chart(*FLUX[:2], values="a: 1\n")
    lock_blueprint(folder, *FLUX, data=data, cache=monorepo / "elsewhere")
    (folder / "chart/values.yaml").write_text(values_yaml(*FLUX, overlay="x: 1\ny: 2\nz: 3\n"))
    found = of(lint(monorepo), "overlay-values")
    assert len(found) == 1 and found[0].line == 2


def test_empty_default_maps_and_global_and_subcharts_accept_any_key(monorepo: Path) -> None:
    set_upstream(
        monorepo, values="podAnnotations: {}\nnodeSelector: {}\npostgresql:\n  enabled: true\n",
        extra_chart_yaml="dependencies:\n  - name: postgresql\n    version: 1.0.0\n"
                         "  - name: common\n    alias: helpers\n    version: 1.0.0\n",
        overlay="podAnnotations:\n  a: b\nnodeSelector:\n  kubernetes.io/os: linux\n"
                "global:\n  imageRegistry: harbor.internal\npostgresql:\n  anything: 1\n"
                "helpers:\n  x: 1\n")
    assert lint(monorepo) == []


def test_impossible_types_are_errors(monorepo: Path) -> None:
    set_upstream(monorepo,
                 values="image:\n  repository: x\n  tag: v1\nargs: [--a]\nname: foo\n",
                 overlay="image: nginx:1.25\nargs: --b\nname:\n  first: x\n")
    found = of(lint(monorepo), "overlay-values")
    assert [(p.line, p.level) for p in found] == [(3, Level.ERROR), (4, Level.ERROR),
                                                  (5, Level.ERROR)]
    assert "image is a string here, but a mapping in flux2 2.13.0's defaults" in found[0].message
    assert "args is a string here, but a list" in found[1].message
    assert "name is a mapping here, but a string" in found[2].message


def test_null_removes_a_default_and_is_never_a_type_error(monorepo: Path) -> None:
    set_upstream(monorepo, values="image:\n  tag: v1\nresources: {}\n",
                 overlay="image: null\nresources: ~\n")
    assert lint(monorepo) == []


SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "properties": {
        "replicas": {"type": "integer", "minimum": 1},
        "extraEnv": {"type": "object", "additionalProperties": {"type": "string"}},
        "labels": {"type": "object", "patternProperties": {"^[a-z./-]+$": {"type": "string"}}},
        "strict": {"$ref": "#/definitions/strict"},
        "declaredOnly": {"type": "boolean"},
    },
    "definitions": {
        "strict": {"type": "object", "additionalProperties": False,
                   "properties": {"enabled": {"type": "boolean"}, "mode": {"type": "string"}}},
    },
}


def test_schema_declared_and_open_keys_pass(monorepo: Path) -> None:
    set_upstream(monorepo,
                 values="replicas: 1\nextraEnv: {FOO: bar}\nlabels: {}\n"
                        "strict:\n  enabled: false\n",
                 schema=SCHEMA,
                 overlay="replicas: 3\ndeclaredOnly: true\nextraEnv:\n  ANY_NAME: x\n"
                         "labels:\n  team.example.com: a\nstrict:\n  mode: fast\n")
    assert lint(monorepo) == []


def test_what_the_schema_refuses_is_an_error_at_the_value(monorepo: Path) -> None:
    set_upstream(monorepo, values="replicas: 1\nstrict:\n  enabled: false\n", schema=SCHEMA,
                 overlay='replicas: "3"\nstrict:\n  enabld: true\n')
    found = of(lint(monorepo), "overlay-values")
    assert [(p.line, p.col, p.level) for p in found] == [(3, 11, Level.ERROR), (5, 3, Level.ERROR)]
    assert "replicas: '3' is not of type 'integer'" in found[0].message
    assert "values.schema.json" in found[0].message
    assert "strict.enabld is refused" in found[1].message
    assert "did you mean 'enabled'" in found[1].message


def test_errors_the_defaults_already_have_are_the_upstreams(monorepo: Path) -> None:
    set_upstream(monorepo, values="replicas: 0\n", schema=SCHEMA, overlay="declaredOnly: true\n")
    assert lint(monorepo) == []


def test_a_broken_upstream_schema_leaves_the_key_checks(monorepo: Path) -> None:
    set_upstream(monorepo, values="a: 1\n", schema={"type": 12, "properties": {"$ref": 5}},
                 overlay="b: 1\n")
    found = of(lint(monorepo), "overlay-values")
    assert [p.level for p in found] == [Level.WARNING]
    assert all(p.rule != "internal-error" for p in lint(monorepo))


def test_a_schema_regex_that_could_backtrack_for_ever_is_not_run(monorepo: Path) -> None:
    import time

    evil = {"type": "object", "properties": {
        "labels": {"type": "object", "patternProperties": {"^(a+)+$": {"type": "string"}},
                   "additionalProperties": False},
        "replicas": {"type": "integer"}}}
    set_upstream(monorepo, values="labels: {}\nreplicas: 1\n", schema=evil,
                 overlay=f"labels:\n  {'a' * 28}!: x\nreplicas: 2\nreplicaz: 3\n")
    start = time.monotonic()
    found = of(lint(monorepo), "overlay-values")
    assert time.monotonic() - start < 2  # (a+)+$ on 28 a's and a "!" takes minutes in re
    # The schema still names the keys; its patterns are taken to match, nothing is refused.
    assert [(p.line, p.level) for p in found] == [(6, Level.WARNING)]
    assert "did you mean 'replicas'" in found[0].message


def test_bundle_mode_checks_the_subtree_under_the_chart_name(monorepo: Path) -> None:
    set_upstream(monorepo, values="installCRDs: false\n",
                 overlay="flux2:\n  installCRD: true\nglobal: {}\n")
    bundle = Settings(root=monorepo, per_path_modes=(("platform/flux", "bundle"),))
    found = of(lint(monorepo, settings=bundle), "overlay-values")
    assert [(p.line, p.col) for p in found] == [(4, 3)]
    assert "did you mean 'installCRDs'" in found[0].message
    overlay = of(lint(monorepo), "overlay-values")  # overlay mode: flux2 itself is unknown
    assert [(p.line, p.col) for p in overlay] == [(3, 1)]


def test_parsed_defaults_are_kept_per_digest_and_on_disk(
        monorepo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "fresh-cache"
    monkeypatch.setenv("BPKIT_CACHE_DIR", str(cache))
    for name in ("flux", "cert-manager"):
        relock(monorepo / "platform" / name)
    data = upstream_chart(*FLUX[:2], values=FLUX_DEFAULTS)
    for index in range(5):
        folder = write_blueprint(monorepo, f"f{index}", upstream=FLUX)
        lock_blueprint(folder, *FLUX, data=data)
        (folder / "chart/values.yaml").write_text(values_yaml(*FLUX, overlay="installCRD: 1\n"))
    upstream_facts._DEFAULTS.clear()
    calls: list[str] = []
    real = upstream_facts._parse

    def counting(blob: bytes, lock: Any) -> Any:
        calls.append(lock.digest)
        return real(blob, lock)

    monkeypatch.setattr(upstream_facts, "_parse", counting)
    first = lint(monorepo)
    assert len(calls) == 3  # flux2 x5 share one; the fixture's flux and cert-manager
    summaries = sorted((cache / "values/sha256").glob("*.json"))
    assert len(summaries) == 3
    upstream_facts._DEFAULTS.clear()  # as a new process would start
    assert lint(monorepo) == first and len(calls) == 3  # read from the summaries
    assert len(of(first, "overlay-values")) == 5
    # A summary that does not read back is rebuilt from the chart.
    for path in summaries:
        path.write_text("{not json")
    upstream_facts._DEFAULTS.clear()
    assert lint(monorepo) == first and len(calls) == 6
    # So is one of another chart (a file copied under the wrong name).
    texts = [path.read_bytes() for path in summaries]
    for path, text in zip(summaries, [*texts[1:], texts[0]], strict=True):
        path.write_bytes(text)
    upstream_facts._DEFAULTS.clear()
    assert lint(monorepo) == first and len(calls) == 9
    # A cache that cannot be written still lints.
    for path in summaries:
        path.unlink()
    (cache / "values/sha256").chmod(0o500)
    try:
        upstream_facts._DEFAULTS.clear()
        assert lint(monorepo) == first
    finally:
        (cache / "values/sha256").chmod(0o700)


def test_hostile_cached_archive_is_one_warning(monorepo: Path) -> None:
    import hashlib

    folder = monorepo / "platform/flux"
    evil = b"\x1f\x8b" + b"not really gzip" * 10
    digest = lock_blueprint(folder, *FLUX, data=upstream_chart(*FLUX[:2]))  # any lock...
    text = digest.read_text()
    from bpkit.upstream.cache import ChartCache

    bad = ChartCache().put(evil)
    assert bad == "sha256:" + hashlib.sha256(evil).hexdigest()
    old = next(line for line in text.splitlines() if line.startswith("digest:"))
    digest.write_text(text.replace(old, f"digest: {bad}"))
    found = of(lint(monorepo), "overlay-values")
    assert len(found) == 1 and "cannot be read" in found[0].message


def test_lint_cli_reports_overlay_values_in_json(monorepo: Path) -> None:
    set_upstream(monorepo, values=FLUX_DEFAULTS, overlay="installCRD: true\n")
    run = bpkit("lint", "--format", "json", cwd=monorepo)
    assert run.code == 0  # a warning
    found = [p for p in json.loads(run.out)["problems"] if p["rule"] == "overlay-values"]
    assert [(p["line"], p["col"], p["level"]) for p in found] == [(3, 1, "warning")]


LOCK_VARIANTS = [
    dict(),
    dict(app_version="v1.2.3"), dict(app_version="2.1: beta"), dict(app_version="yes"),
    dict(app_version='quo"te'), dict(values_digest=None), dict(schema_digest=None),
    dict(type="library"), dict(type="bogus"), dict(version="1.0"), dict(version="v1.0.0"),
    dict(version="1.0.0-rc.1+b.2"), dict(chart=".."), dict(chart="a/b"),
    dict(repo="https://u:p@x.example.com"), dict(repo="oci://ghcr.io/org/charts"),
    dict(repo="http://x.example.com"), dict(digest="sha256:" + "A" * 64),
    dict(values_digest="sha256:123"), dict(chart="on"), dict(chart="-x"),
]


@pytest.mark.parametrize("change", LOCK_VARIANTS, ids=[str(v) for v in LOCK_VARIANTS])
def test_the_fast_lock_reader_accepts_exactly_what_read_lock_accepts(
        change: dict[str, Any], tmp_path: Path) -> None:
    from dataclasses import replace

    from bpkit.source.lock import UpstreamLock, dump_lock, read_lock

    base = UpstreamLock(chart="flux2", version="2.13.0", repo=FLUX[2], digest="sha256:" + "a" * 64,
                        app_version="2.3.0", type="application",
                        values_digest="sha256:" + "b" * 64, schema_digest="sha256:" + "c" * 64)
    lock = replace(base, **change)
    raw = dump_lock(lock)
    path = tmp_path / "upstream.lock"
    path.write_bytes(raw)
    slow, problems = read_lock(path)
    fast = upstream_facts.canonical_lock(raw)
    assert fast == (slow if not problems else None)
    # An edited lock (here: a comment) always takes the slow path.
    assert upstream_facts.canonical_lock(raw + b"# edited\n") is None
