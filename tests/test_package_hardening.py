"""Packaging reads only the chart: folders swapped mid-walk, a chart folder
outside the repository, `--out` inside the chart, links at temporary names.

Swaps are made deterministic by doing them from inside the walk (a wrapper
around `os.stat` that swaps right after the walk looked at a name), which
is the window a real attacker races for.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from bpkit.errors import PackageError
from bpkit.helm import chartfiles
from bpkit.helm.chartfiles import collect, scan
from bpkit.package.build import Package, build_package, write_archive
from bpkit.source.model import load_blueprint
from bpkit.yamlio.load import load
from tests.helpers.cli import bpkit

CHART = b"apiVersion: v2\nname: x\nversion: 1.0.0\n"
SECRET = b"TOP SECRET, never in an archive\n"


def chart(root: Path) -> Path:
    (root / "templates").mkdir(parents=True)
    (root / "Chart.yaml").write_bytes(CHART)
    (root / "values.yaml").write_bytes(b"a: 1\n")
    (root / "templates" / "cm.yaml").write_bytes(b"kind: ConfigMap\n")
    return root


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    folder = tmp_path / "private"
    folder.mkdir()
    (folder / "cm.yaml").write_bytes(SECRET)
    (folder / "values.yaml").write_bytes(SECRET)
    (folder / "Chart.yaml").write_bytes(CHART)
    return folder


def swap_after_stat(monkeypatch: pytest.MonkeyPatch, name: str,
                    swap: Callable[[], None]) -> list[bool]:
    """Run `swap` once, right after the walk lstat()s an entry called `name`."""
    real_stat = os.stat
    done: list[bool] = []

    def stat(path: object, *args: object, **kwargs: object) -> os.stat_result:
        result = real_stat(path, *args, **kwargs)  # type: ignore[call-overload]
        if not done and os.fsdecode(path) == name and kwargs.get("follow_symlinks") is False:  # type: ignore[call-overload]
            done.append(True)
            swap()
        return result  # type: ignore[no-any-return]

    monkeypatch.setattr(chartfiles.os, "stat", stat)
    return done


def no_secret(entries: list[chartfiles.Entry]) -> None:
    assert all(SECRET not in e.data for e in entries)


def test_folder_swapped_for_a_link_fails(tmp_path: Path, secret: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    c = chart(tmp_path / "c")

    def swap() -> None:
        os.rename(c / "templates", tmp_path / "old")
        (c / "templates").symlink_to(secret)

    done = swap_after_stat(monkeypatch, "templates", swap)
    with pytest.raises(PackageError, match=r"^templates: changed while packaging$"):
        collect(c)
    assert done


def test_file_swapped_for_a_link_fails(tmp_path: Path, secret: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    c = chart(tmp_path / "c")

    def swap() -> None:
        (c / "values.yaml").unlink()
        (c / "values.yaml").symlink_to(secret / "values.yaml")

    swap_after_stat(monkeypatch, "values.yaml", swap)
    with pytest.raises(PackageError, match=r"^values.yaml: changed while packaging$"):
        collect(c)


def test_file_swapped_for_another_file_fails(tmp_path: Path, secret: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    c = chart(tmp_path / "c")

    def swap() -> None:  # same name, other inode (a hard link would be another way in)
        shutil.copy(secret / "values.yaml", tmp_path / "planted")
        os.replace(tmp_path / "planted", c / "values.yaml")

    swap_after_stat(monkeypatch, "values.yaml", swap)
    with pytest.raises(PackageError, match=r"^values.yaml: changed while packaging$"):
        collect(c)


def test_lint_scan_names_the_swap_and_goes_on(tmp_path: Path, secret: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    c = chart(tmp_path / "c")

    def swap() -> None:
        os.rename(c / "templates", tmp_path / "old")
        (c / "templates").symlink_to(secret)

    swap_after_stat(monkeypatch, "templates", swap)
    entries, offences = scan(c)
    assert [(o.path, o.reason) for o in offences] == [("templates", "changed while packaging")]
    assert [e.path for e in entries] == ["Chart.yaml", "values.yaml"]
    no_secret(entries)


def test_link_target_folder_swapped_reads_only_the_chart(
        tmp_path: Path, secret: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A symlink inside the chart to a folder inside it: its target is
    # reached again from the chart's own descriptor, with O_NOFOLLOW.
    c = chart(tmp_path / "c")
    (c / "files" / "sub").mkdir(parents=True)
    (c / "files" / "sub" / "cm.yaml").write_bytes(b"mine\n")
    (c / "alias").symlink_to("files/sub")

    real_realpath = os.path.realpath

    def realpath(path: object, *args: object, **kwargs: object) -> object:
        out = real_realpath(path, *args, **kwargs)  # type: ignore[call-overload]
        if os.fsdecode(path).endswith("/alias") and not (c / "files.old").exists():
            os.rename(c / "files", c / "files.old")
            (c / "files").symlink_to(secret.parent)  # ".../files/sub" is now outside
            (secret.parent / "sub").mkdir(exist_ok=True)
            (secret.parent / "sub" / "cm.yaml").write_bytes(SECRET)
        return out

    monkeypatch.setattr(chartfiles.os.path, "realpath", realpath)
    entries, offences = scan(c)
    assert ("alias", "changed while packaging") in [(o.path, o.reason) for o in offences]
    no_secret(entries)


def test_chart_folder_renamed_away_mid_walk_reads_only_the_chart(
        tmp_path: Path, secret: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    c = chart(tmp_path / "c")

    def swap() -> None:  # the path now names the private folder; the walk holds the old one
        os.rename(c, tmp_path / "moved")
        c.symlink_to(secret)

    swap_after_stat(monkeypatch, "Chart.yaml", swap)
    entries = collect(c)
    assert {e.path: e.data for e in entries}["templates/cm.yaml"] == b"kind: ConfigMap\n"
    no_secret(entries)


def test_chart_folder_must_resolve_inside_the_repository(tmp_path: Path, secret: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "platform" / "x").mkdir(parents=True)
    (repo / "platform" / "x" / "chart").symlink_to(secret)
    with pytest.raises(PackageError) as info:
        collect(repo / "platform" / "x" / "chart", within=repo)
    assert str(info.value) == (f"the chart folder resolves to {secret}, outside the "
                               "repository; refusing to package it")
    # Inside the repository, through a link, is fine.
    chart(repo / "shared")
    (repo / "platform" / "y").mkdir()
    (repo / "platform" / "y" / "chart").symlink_to("../../shared")
    assert [e.path for e in collect(repo / "platform" / "y" / "chart", within=repo)] == [
        "Chart.yaml", "values.yaml", "templates/cm.yaml"]


def test_lint_and_package_refuse_a_chart_folder_outside(monorepo: Path, secret: Path) -> None:
    flux = monorepo / "platform" / "flux"
    shutil.copytree(flux / "chart", secret, dirs_exist_ok=True)
    shutil.rmtree(flux / "chart")
    (flux / "chart").symlink_to(secret)
    lint = bpkit("lint", "platform/flux", cwd=monorepo)
    assert lint.code == 1
    assert "file-unreadable the chart folder is a symlink out of the blueprint folder" in lint.out
    pkg = bpkit("package", "flux", cwd=monorepo)
    assert pkg.code == 1
    assert "symlink out of the blueprint folder" in pkg.out + pkg.err
    assert not (monorepo / "dist" / "bp-flux-1.0.0.tgz").exists()
    # The loader reads nothing there; build_package checks the folder too, for
    # library callers that build a Blueprint (with its documents) themselves.
    bp = load_blueprint(flux)
    assert bp.chart is None and [p.rule for p in bp.problems] == ["file-unreadable"]
    bp.chart, _ = load(secret / "Chart.yaml")
    bp.values, _ = load(secret / "values.yaml")
    with pytest.raises(PackageError, match=r"platform/flux/chart: the chart folder resolves to"):
        build_package(bp, [])


def test_blueprint_folder_linked_out_of_the_repository_is_refused(
        monorepo: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere" / "evil"
    shutil.copytree(monorepo / "platform" / "flux", elsewhere)
    (elsewhere / "chart" / "templates").mkdir()
    (elsewhere / "chart" / "templates" / "cm.yaml").write_bytes(SECRET)
    (monorepo / "platform" / "evil").symlink_to(elsewhere)
    for name in ("Chart.yaml", "blueprint.yaml"):  # a clean lint: bp-evil
        path = elsewhere / ("chart" if name == "Chart.yaml" else "") / name
        path.write_text(path.read_text().replace("bp-flux", "bp-evil"))
    pkg = bpkit("package", "evil", cwd=monorepo)
    assert pkg.code == 1, pkg.out + pkg.err
    assert "outside the repository" in pkg.err
    assert not any((monorepo / "dist").glob("bp-evil*"))
    pub = bpkit("publish", "evil", "--format", "json", cwd=monorepo)
    assert pub.code == 1
    assert "outside the repository" in pub.out
    assert not (monorepo / "dist" / "oci" / "index.json").exists()


@pytest.mark.parametrize("out", ["platform/flux/chart", "platform/flux/chart/dist", "."])
def test_out_inside_the_chart_folder_is_refused(monorepo: Path, out: str) -> None:
    cwd = monorepo / "platform" / "flux" / "chart" if out == "." else monorepo
    r = bpkit("package", "flux", "--out", out, cwd=cwd)
    assert r.code == 2, r.err
    assert r.out == ""
    assert len(r.err.splitlines()) == 1
    shown = "." if out == "." else "platform/flux/chart"  # relative to where it ran
    assert f"inside the chart folder {shown};" in r.err
    assert not list((monorepo / "platform" / "flux" / "chart").rglob("*.tgz"))


def test_layout_inside_the_chart_folder_is_refused(monorepo: Path) -> None:
    r = bpkit("publish", "flux", "--layout", "platform/flux/chart/oci", cwd=monorepo)
    assert r.code == 2, r.err
    assert "--layout platform/flux/chart/oci: inside the chart folder" in r.err
    assert not (monorepo / "platform" / "flux" / "chart" / "oci").exists()


def test_out_next_to_the_chart_is_fine(monorepo: Path) -> None:
    r = bpkit("package", "flux", "--out", "platform/flux/dist", cwd=monorepo)
    assert r.code == 0, r.err


def package_of(monorepo: Path) -> Package:
    return build_package(load_blueprint(monorepo / "platform" / "flux"), [])


def test_planted_link_at_temp_names_is_not_followed(monorepo: Path, tmp_path: Path) -> None:
    pkg = package_of(monorepo)
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim"
    victim.write_bytes(b"keep me\n")
    # Every name the old writer used, and the target itself, as links.
    for name in (f".{pkg.archive_name}.tmp", f"{pkg.archive_name}.tmp", f".{pkg.archive_name}"):
        (out / name).symlink_to(victim)
    target = write_archive(pkg, out)
    assert victim.read_bytes() == b"keep me\n"
    assert target.read_bytes() == pkg.archive and not target.is_symlink()
    assert sorted(p.name for p in out.iterdir() if not p.is_symlink()) == [pkg.archive_name]


def test_target_link_is_replaced_not_written_through(monorepo: Path, tmp_path: Path) -> None:
    pkg = package_of(monorepo)
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim"
    victim.write_bytes(pkg.archive)  # even with the same bytes, a link is not "ours"
    (out / pkg.archive_name).symlink_to(victim)
    target = write_archive(pkg, out)
    assert not target.is_symlink() and target.read_bytes() == pkg.archive
    victim.write_bytes(b"other")
    (out / pkg.archive_name).unlink()
    (out / pkg.archive_name).symlink_to(victim)
    write_archive(pkg, out)
    assert victim.read_bytes() == b"other"


def test_temp_names_are_unpredictable_and_exclusive(monorepo: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    pkg = package_of(monorepo)
    names: list[str] = []
    real_replace = os.replace

    def replace(src: str, dst: object) -> None:
        names.append(os.path.basename(src))
        real_replace(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", replace)
    for i in range(3):
        write_archive(pkg, tmp_path / f"out{i}")
    assert len(set(names)) == 3
    assert all(n.startswith(f".{pkg.archive_name}.") and n.endswith(".tmp") for n in names)


def test_unwritable_out_is_one_line(monorepo: Path, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("x")
    r = bpkit("package", "flux", "--out", str(tmp_path / "a-file" / "sub"), cwd=monorepo)
    assert r.code == 1, r.err
    assert r.err.splitlines() == [f"bpkit: error: {tmp_path}/a-file/sub: cannot write there: "
                                  "Not a directory"]
    pkg = package_of(monorepo)
    (tmp_path / "out" / pkg.archive_name).mkdir(parents=True)  # a folder at the target name
    with pytest.raises(PackageError, match=r"cannot write it: Is a directory$"):
        write_archive(pkg, tmp_path / "out")
    assert os.listdir(tmp_path / "out") == [pkg.archive_name]  # no temporary file left
