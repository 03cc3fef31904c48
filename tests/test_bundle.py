"""Release modes at package time: bundle contents, the overlay guard, the hollow check.

No network: the upstream chart is synthetic (tests/bundles.py), its lock and
cache real files in temporary folders.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bpkit.errors import PackageError
from bpkit.helm import tgz
from bpkit.helm.chartfiles import Entry
from bpkit.lint.engine import lint_blueprints
from bpkit.oci.artifact import MODE, UPSTREAM_DIGEST, sha256_digest
from bpkit.package.build import Package, build_package
from bpkit.package.bundle import (
    GUARD_TEMPLATE,
    append_dependency,
    chart_lock,
    hash_req,
    with_guard,
)
from bpkit.publish.pipeline import prepare
from bpkit.settings import load_settings
from bpkit.source.lock import LOCK_FILE
from bpkit.source.model import load_blueprint
from tests.helpers.bundles import upstream_chart, write_bundle_blueprint
from tests.helpers.cli import bpkit

DEFAULT_EPOCH = 315532800


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("BPKIT_CACHE_DIR", str(folder))
    return folder


def package(root: Path, name: str, mode: str) -> Package:
    bp = load_blueprint(root / "platform" / name)
    settings = load_settings(root)
    return build_package(bp, lint_blueprints([bp], settings), mode=mode)


def members(data: bytes) -> dict[str, bytes | None]:
    return {m.path: m.data for m in tgz.inspect(data, keep=lambda p: True)}


def test_bundle_holds_the_locked_upstream_unchanged(monorepo: Path, cache: Path) -> None:
    upstream = upstream_chart()
    folder = write_bundle_blueprint(monorepo, cache, data=upstream)
    source_chart = (folder / "chart" / "Chart.yaml").read_bytes()
    pkg = package(monorepo, "demo", "bundle")
    files = members(pkg.archive)
    # save.go's order: Chart.yaml, Chart.lock, values.yaml, templates, others, dependencies
    assert list(files) == ["Chart.yaml", "Chart.lock", "values.yaml", "templates/NOTES.txt",
                           "charts/demo-1.2.3.tgz"]
    assert files["charts/demo-1.2.3.tgz"] == upstream
    chart = files["Chart.yaml"]
    assert chart is not None and chart.startswith(source_chart)  # the source's bytes, then:
    assert chart[len(source_chart):] == (b"dependencies:\n  - name: demo\n    version: 1.2.3\n"
                                         b"    repository: https://charts.example.com\n")
    assert files["values.yaml"] == (folder / "chart" / "values.yaml").read_bytes()
    dep = {"name": "demo", "version": "1.2.3", "repository": "https://charts.example.com"}
    assert files["Chart.lock"] == chart_lock([dep], DEFAULT_EPOCH)
    manifest = json.loads(pkg.artifact.manifest)
    assert manifest["annotations"][MODE] == "bundle"
    assert manifest["annotations"][UPSTREAM_DIGEST] == sha256_digest(upstream)
    assert json.loads(pkg.artifact.config)["dependencies"] == [dep]
    assert GUARD_TEMPLATE not in files
    # the source is untouched: no dependencies, charts/ or Chart.lock appear in it
    assert sorted(p.name for p in (folder / "chart").iterdir()) == [
        "Chart.yaml", "templates", "values.yaml"]


def test_chart_lock_is_helms_format_and_digest() -> None:
    # internal/resolver/resolver_test.go TestHashReq: Helm's own expected digest
    alpine = [{"name": "alpine", "version": "0.1.0", "repository": "http://localhost:8879/charts"}]
    assert hash_req(alpine, alpine) == (
        "sha256:fb239e836325c5fa14b29d1540a13b7d3ba13151b67fe719f820e0ef6d66aaaf")
    assert chart_lock(alpine, DEFAULT_EPOCH).decode() == (
        "dependencies:\n- name: alpine\n  repository: http://localhost:8879/charts\n"
        "  version: 0.1.0\n"
        "digest: sha256:fb239e836325c5fa14b29d1540a13b7d3ba13151b67fe719f820e0ef6d66aaaf\n"
        'generated: "1980-01-01T00:00:00Z"\n')


def test_append_keeps_comments_and_refuses_what_it_cannot_extend() -> None:
    dep = {"name": "demo", "version": "1.2.3", "repository": "https://charts.example.com"}
    text = b"# keep me\napiVersion: v2\nname: bp-x  # and me\nversion: 1.0.0"  # no final newline
    data, meta = append_dependency(text, {"apiVersion": "v2", "name": "bp-x",
                                          "version": "1.0.0"}, dep)
    assert data.startswith(text + b"\ndependencies:\n")
    assert meta["dependencies"] == [dep]
    with pytest.raises(PackageError, match="cannot append"):
        append_dependency(b"apiVersion: v2\nname: bp-x\nversion: 1.0.0\n...\n",
                          {"apiVersion": "v2", "name": "bp-x", "version": "1.0.0"}, dep)
    with pytest.raises(PackageError, match="cannot append"):
        append_dependency(b"{apiVersion: v2, name: bp-x,\n version: 1.0.0}\n",
                          {"apiVersion": "v2", "name": "bp-x", "version": "1.0.0"}, dep)


@pytest.mark.parametrize(("lock", "cached", "message"), [
    (False, True, "upstream.lock is missing.*run bpkit upstream lock"),
    (True, False, "not in the chart cache.*run bpkit upstream fetch"),
])
def test_bundle_refuses_without_lock_or_cached_bytes(monorepo: Path, cache: Path, lock: bool,
                                                     cached: bool, message: str) -> None:
    write_bundle_blueprint(monorepo, cache, lock=lock, cached=cached)
    with pytest.raises(PackageError, match=message):
        package(monorepo, "demo", "bundle")


def test_bundle_refuses_a_stale_lock_and_a_corrupt_cache(monorepo: Path, cache: Path) -> None:
    folder = write_bundle_blueprint(monorepo, cache)
    lock = folder / LOCK_FILE
    lock.write_text(lock.read_text().replace("version: 1.2.3", "version: 1.2.4"))
    with pytest.raises(PackageError, match=r"pins demo 1.2.4 .* values.yaml names demo 1.2.3"):
        package(monorepo, "demo", "bundle")
    folder = write_bundle_blueprint(monorepo, cache)  # a good lock again
    for path in cache.rglob("*.tgz"):
        path.write_bytes(path.read_bytes()[:-10])  # truncated in the cache
    with pytest.raises(PackageError, match="run bpkit upstream fetch"):
        package(monorepo, "demo", "bundle")


def test_bundle_bytes_do_not_depend_on_the_cache_or_mtimes(monorepo: Path, cache: Path,
                                                           tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    folder = write_bundle_blueprint(monorepo, cache)
    first = package(monorepo, "demo", "bundle")
    monkeypatch.setenv("BPKIT_CACHE_DIR", str(tmp_path / "other-cache"))
    write_bundle_blueprint(monorepo, tmp_path / "other-cache")
    for path in folder.rglob("*"):
        path.touch()
    second = package(monorepo, "demo", "bundle")
    assert second.archive == first.archive and second.artifact.digest == first.artifact.digest


def test_overlay_guard_sits_among_the_templates_in_walk_order() -> None:
    entries = [Entry("Chart.yaml", b""), Entry("values.yaml", b""),
               Entry("templates/a/x.yaml", b""), Entry("templates/catalyst.yaml", b""),
               Entry("templates/cb/y.yaml", b""), Entry("README.md", b"")]
    paths = [e.path for e in with_guard(entries, b"g")]
    assert paths == ["Chart.yaml", "values.yaml", "templates/a/x.yaml",
                     "templates/catalyst-overlay-guard.yaml", "templates/catalyst.yaml",
                     "templates/cb/y.yaml", "README.md"]
    bare = [e.path for e in with_guard([Entry("Chart.yaml", b""), Entry("README.md", b"")],
                                       b"g")]
    assert bare == ["Chart.yaml", GUARD_TEMPLATE, "README.md"]
    with pytest.raises(PackageError, match="reserved"):
        with_guard([Entry(GUARD_TEMPLATE, b"mine")], b"g")


def test_overlay_carries_guard_mode_and_lock_digest(monorepo: Path, cache: Path) -> None:
    upstream = upstream_chart()
    write_bundle_blueprint(monorepo, cache, data=upstream)
    pkg = package(monorepo, "demo", "overlay")
    files = members(pkg.archive)
    guard = files[GUARD_TEMPLATE]
    assert guard is not None
    text = guard.decode()
    assert "if or .Release.IsInstall .Release.IsUpgrade" in text
    assert "bp-demo 1.0.0 is a Catalyst overlay: values for demo 1.2.3" in text
    assert "bpkit render flux" in text and "--mode bundle" in text
    assert not any(p.startswith("charts/") for p in files) and "Chart.lock" not in files
    annotations = json.loads(pkg.artifact.manifest)["annotations"]
    assert annotations[MODE] == "overlay"
    assert annotations[UPSTREAM_DIGEST] == sha256_digest(upstream)  # the lock is there
    plain = package(monorepo, "flux", "overlay")  # no lock: no digest annotation
    assert UPSTREAM_DIGEST not in json.loads(plain.artifact.manifest)["annotations"]


def _prepare(root: Path, name: str, mode: str) -> list[str]:
    bp = load_blueprint(root / "platform" / name)
    _packages, failed = prepare([bp], lint_blueprints([bp], load_settings(root)),
                               lambda path: mode)
    return [o.message for o in failed] if failed else []


def test_a_library_upstream_is_a_hollow_bundle(monorepo: Path, cache: Path) -> None:
    common = upstream_chart("common", "2.0.0", kind="library",
                            templates={"templates/_helpers.tpl": "{{- define \"x\" }}{{ end }}"})
    write_bundle_blueprint(monorepo, cache, "common", data=common,
                           upstream=("common", "2.0.0", "https://charts.example.com"))
    (messages,) = [_prepare(monorepo, "common", "bundle")]
    assert len(messages) == 1
    assert "refusing to release bp-common:1.0.0 (bundle)" in messages[0]
    assert "charts/common-2.0.0.tgz is a library chart" in messages[0]


def test_an_application_upstream_without_rendered_templates_is_hollow(monorepo: Path,
                                                                      cache: Path) -> None:
    empty = upstream_chart(templates={"templates/_helpers.tpl": "", "templates/NOTES.txt": "x"})
    write_bundle_blueprint(monorepo, cache, data=empty)
    (message,) = _prepare(monorepo, "demo", "bundle")
    assert "has no templates Helm would render" in message
    write_bundle_blueprint(monorepo, cache)  # the real one
    assert _prepare(monorepo, "demo", "bundle") == []


def test_no_upstream_opt_out_needs_templates_of_its_own(monorepo: Path) -> None:
    chart = monorepo / "platform" / "flux" / "chart"
    text = (chart / "Chart.yaml").read_text()
    (chart / "Chart.yaml").write_text(
        text + 'annotations:\n  catalyst.openova.io/no-upstream: "true"\n')
    (chart / "values.yaml").write_text("replicaCount: 1\n")
    for mode in ("overlay", "bundle"):  # the opt-out decides, whatever the mode
        (message,) = _prepare(monorepo, "flux", mode)
        assert "(standalone)" in message and "no templates of its own" in message
    (chart / "templates").mkdir()
    (chart / "templates" / "NOTES.txt").write_text("notes are not an install\n")
    assert _prepare(monorepo, "flux", "overlay") != []
    (chart / "templates" / "deployment.yaml").write_text("kind: Deployment\n")
    assert _prepare(monorepo, "flux", "bundle") == []
    pkg = package(monorepo, "flux", "bundle")
    assert json.loads(pkg.artifact.manifest)["annotations"][MODE] == "standalone"
    assert GUARD_TEMPLATE not in members(pkg.archive)


def test_package_cli_mode_option_and_setting(monorepo: Path, cache: Path) -> None:
    write_bundle_blueprint(monorepo, cache)
    env = {"BPKIT_CACHE_DIR": str(cache)}
    r = bpkit("package", "demo", "--mode", "bundle", cwd=monorepo, env=env)
    assert r.code == 0, r.err
    names = set(members((monorepo / "dist" / "bp-demo-1.0.0.tgz").read_bytes()))
    assert "charts/demo-1.2.3.tgz" in names
    (monorepo / "pyproject.toml").write_text(
        '[tool.bpkit]\nupstream-mode = "overlay"\n'
        '[tool.bpkit.per-path."platform/demo"]\nupstream-mode = "bundle"\n')
    r = bpkit("package", "demo", "flux", "--out", "setting", cwd=monorepo, env=env)
    assert r.code == 0, r.err
    assert "charts/demo-1.2.3.tgz" in members(
        (monorepo / "setting" / "bp-demo-1.0.0.tgz").read_bytes())
    assert GUARD_TEMPLATE in members((monorepo / "setting" / "bp-flux-1.0.0.tgz").read_bytes())
    r = bpkit("package", "demo", "--mode", "bundle", cwd=monorepo,
              env={"BPKIT_CACHE_DIR": str(cache / "empty")})
    assert r.code == 1
    assert "run bpkit upstream fetch" in r.err and "Traceback" not in r.err
    assert bpkit("package", "demo", "--mode", "sideways", cwd=monorepo).code == 2

