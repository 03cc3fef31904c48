"""`bpkit package` as users run it, on the two-blueprint `monorepo` fixture (no network).

The fixture's `.git` is only a marker, not a repository, so timestamps come
from SOURCE_DATE_EPOCH or the documented default epoch.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tarfile
from pathlib import Path

import pytest

from tests.helpers.cli import Run, bpkit, invoke

DEFAULT_EPOCH = 315532800  # 1980-01-01T00:00:00Z
LINE = re.compile(r"^(?P<path>\S+\.tgz)  sha256:(?P<hex>[0-9a-f]{64})$")


def members(path: Path) -> list[tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(path.read_bytes()), mode="r:gz") as tar:
        return tar.getmembers()


def printed(r: Run) -> dict[Path, str]:
    out = {}
    for line in r.lines:
        match = LINE.match(line)
        assert match is not None, line
        out[Path(match["path"])] = match["hex"]
    return out


def test_default_out_dir_path_and_sha256(monorepo: Path) -> None:
    r = invoke("package", "flux", cwd=monorepo)
    assert r.code == 0, r.err
    assert r.err == ""
    archive = monorepo / "dist" / "bp-flux-1.0.0.tgz"
    assert printed(r) == {archive: hashlib.sha256(archive.read_bytes()).hexdigest()}
    names = [m.name for m in members(archive)]
    assert names == ["bp-flux/Chart.yaml", "bp-flux/values.yaml",
                     "bp-flux/templates/catalyst-overlay-guard.yaml"]  # overlay mode
    for m in members(archive):
        assert m.mtime == DEFAULT_EPOCH and m.mode == 0o644 and m.isreg()
        assert (m.uid, m.gid, m.uname, m.gname) == (0, 0, "", "")


def test_all_and_paths_and_out_dir(monorepo: Path, tmp_path: Path) -> None:
    out = tmp_path / "made" / "here"
    r = invoke("package", "--all", "--out", str(out), cwd=monorepo)
    assert r.code == 0, r.err
    paths = printed(r)
    assert sorted(p.name for p in paths) == ["bp-cert-manager-1.0.0.tgz", "bp-flux-1.0.0.tgz"]
    assert all(p.parent == out for p in paths)
    by_path = invoke("package", "platform/flux", "--out", str(out), cwd=monorepo)
    assert by_path.code == 0
    assert printed(by_path) == {out / "bp-flux-1.0.0.tgz": paths[out / "bp-flux-1.0.0.tgz"]}
    inside = invoke("package", ".", "--out", str(out), cwd=monorepo / "platform" / "flux" / "chart")
    assert inside.code == 0, inside.err
    assert printed(inside) == printed(by_path)


def test_identical_archive_is_not_rewritten(monorepo: Path) -> None:
    assert invoke("package", "flux", cwd=monorepo).code == 0
    archive = monorepo / "dist" / "bp-flux-1.0.0.tgz"
    os.utime(archive, (1, 1))
    assert invoke("package", "flux", cwd=monorepo).code == 0
    assert archive.stat().st_mtime == 1
    assert sorted(os.listdir(monorepo / "dist")) == ["bp-flux-1.0.0.tgz"]  # no temp files


def test_source_date_epoch(monorepo: Path) -> None:
    r = invoke("package", "flux", cwd=monorepo, env={"SOURCE_DATE_EPOCH": "1700000000"})
    assert r.code == 0, r.err
    assert {m.mtime for m in members(monorepo / "dist" / "bp-flux-1.0.0.tgz")} == {1700000000}
    bad = invoke("package", "flux", cwd=monorepo, env={"SOURCE_DATE_EPOCH": "-5"})
    assert bad.code == 2
    assert bad.err.startswith("bpkit: error: SOURCE_DATE_EPOCH='-5'")


def test_helmignore_is_honoured(monorepo: Path) -> None:
    chart = monorepo / "platform" / "flux" / "chart"
    (chart / ".helmignore").write_text("*.md\nscratch/\n")
    (chart / "NOTES.md").write_text("not shipped\n")
    (chart / "scratch").mkdir()
    (chart / "scratch" / "x.yaml").write_text("a: 1\n")
    (chart / "templates").mkdir()
    (chart / "templates" / "cm.yaml").write_text("kind: ConfigMap\n")
    r = invoke("package", "flux", cwd=monorepo)
    assert r.code == 0, r.err
    names = [m.name for m in members(monorepo / "dist" / "bp-flux-1.0.0.tgz")]
    assert names == ["bp-flux/Chart.yaml", "bp-flux/values.yaml",
                     "bp-flux/templates/catalyst-overlay-guard.yaml",  # overlay mode, walk order
                     "bp-flux/templates/cm.yaml", "bp-flux/.helmignore"]


def test_lint_errors_stop_only_that_blueprint(monorepo: Path) -> None:
    chart = monorepo / "platform" / "flux" / "chart" / "Chart.yaml"
    chart.write_text(chart.read_text().replace("name: bp-flux", "name: flux"))
    r = invoke("package", "--all", cwd=monorepo)
    assert r.code == 1
    assert "platform/flux/chart/Chart.yaml" in r.err and "error" in r.err
    assert "bpkit: platform/flux: not packaged, lint found" in r.err
    assert sorted(os.listdir(monorepo / "dist")) == ["bp-cert-manager-1.0.0.tgz"]
    assert [p.name for p in printed(r)] == ["bp-cert-manager-1.0.0.tgz"]


def test_warnings_are_shown_but_do_not_stop(monorepo: Path) -> None:
    (monorepo / "pyproject.toml").write_text(
        '[tool.bpkit.rules]\nchart-name = "warning"\nblueprint-name = "warning"\n')
    chart = monorepo / "platform" / "flux" / "chart" / "Chart.yaml"
    chart.write_text(chart.read_text().replace("name: bp-flux", "name: flux"))
    r = invoke("package", "flux", cwd=monorepo)
    assert r.code == 0, r.err
    assert "warning chart-name" in r.err
    assert (monorepo / "dist" / "flux-1.0.0.tgz").is_file()


@pytest.mark.parametrize("kind", ["symlink-out", "dotdot", "fifo", "dangling"])
def test_hostile_chart_is_refused_naming_the_path(monorepo: Path, tmp_path: Path,
                                                  kind: str) -> None:
    chart = monorepo / "platform" / "flux" / "chart"
    outside = tmp_path / "secret.txt"
    outside.write_text("top secret\n")
    if kind == "symlink-out":
        (chart / "leak.yaml").symlink_to(outside)
        shown = "leak.yaml: symlink points outside the chart folder"
    elif kind == "dotdot":
        (chart / "..x").write_text("a: 1\n")
        shown = "..x: Helm refuses names starting with '..'"
    elif kind == "fifo":
        os.mkfifo(chart / "pipe")
        shown = "pipe: named pipe (fifo) cannot be packaged"
    else:
        (chart / "gone.yaml").symlink_to(tmp_path / "missing")
        shown = "gone.yaml: dangling symlink"
    r = bpkit("package", "flux", cwd=monorepo, timeout=20)  # a hang must not stop the suite
    assert r.code == 1
    name, reason = shown.split(": ", 1)
    lines = [line for line in r.err.splitlines() if reason in line]
    assert len(lines) == 1, r.err
    assert lines[0].startswith(f"platform/flux/chart/{name}: error chart-files ")
    assert "Traceback" not in r.err
    assert not (monorepo / "dist").exists()


def test_hostile_chart_refused_even_with_the_lint_rule_off(monorepo: Path,
                                                           tmp_path: Path) -> None:
    """Packaging checks again on its own; its message says which chart."""
    (monorepo / "pyproject.toml").write_text('[tool.bpkit.rules]\nchart-files = "off"\n')
    outside = tmp_path / "secret.txt"
    outside.write_text("top secret\n")
    (monorepo / "platform" / "flux" / "chart" / "leak.yaml").symlink_to(outside)
    r = invoke("package", "--all", cwd=monorepo)
    assert r.code == 1
    assert ("bpkit: platform/flux/chart: leak.yaml: symlink points outside the chart folder; "
            "refusing to package it") in r.err.splitlines()
    assert sorted(os.listdir(monorepo / "dist")) == ["bp-cert-manager-1.0.0.tgz"]


def test_unknown_blueprint_is_a_usage_error(monorepo: Path) -> None:
    r = invoke("package", "nope", cwd=monorepo)
    assert r.code == 2
    assert r.err.startswith("bpkit: error: ")
    assert "nope" in r.err
    assert not (monorepo / "dist").exists()


def test_out_must_be_a_folder(monorepo: Path, tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    r = invoke("package", "flux", "--out", str(target), cwd=monorepo)
    assert r.code == 2
    assert "file" in r.err
    assert target.read_text() == "x"


def test_a_shallow_clone_that_cannot_date_the_archive_is_exit_2(tmp_path: Path) -> None:
    from tests.helpers.git import append, commit, git, make_monorepo

    origin = make_monorepo(tmp_path / "origin")
    append(origin / "README.md", "later\n")
    commit(origin, "a commit that does not touch platform/flux")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{origin}", str(clone))
    for command in ("package", "publish"):
        run = bpkit(command, "flux", cwd=clone,
                    env={"SOURCE_DATE_EPOCH": "", "BPKIT_REGISTRY": ""})
        assert run.code == 2, (command, run.out, run.err)
        assert "shallow clone" in run.err and "SOURCE_DATE_EPOCH" in run.err
        assert "Traceback" not in run.err
