"""chart-files names every offending file with its own path; packaging still stops at the first."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bpkit.errors import PackageError
from bpkit.helm.chartfiles import collect, scan
from bpkit.limits import HELM_MAX_FILE_BYTES as MAX_FILE_SIZE
from bpkit.lint.engine import lint_paths
from bpkit.settings import Settings
from tests.helpers.blueprints import write_blueprint


def hostile_chart(root: Path, outside: Path) -> Path:
    folder = write_blueprint(root, "flux")
    chart = folder / "chart"
    (chart / "templates").mkdir()
    (chart / "templates" / "ok.yaml").write_text("kind: ConfigMap\n")
    (chart / "templates" / "leak.yaml").symlink_to(outside)
    (chart / "files").mkdir()
    os.mkfifo(chart / "files" / "pipe")
    (chart / "files" / "gone.txt").symlink_to(root / "nowhere")
    (chart / "..x").write_text("a: 1\n")
    with (chart / "files" / "big.bin").open("wb") as fh:
        fh.truncate(MAX_FILE_SIZE + 1)
    (chart / ".helmignore").write_text("ignored/\n")
    (chart / "ignored").mkdir()
    os.mkfifo(chart / "ignored" / "pipe")  # left out by .helmignore: not an offence
    return chart


EXPECTED = [
    ("..x", "Helm refuses names starting with '..'"),
    ("files/big.bin", f"{MAX_FILE_SIZE + 1} bytes, larger than Helm's limit of {MAX_FILE_SIZE}"),
    ("files/gone.txt", "dangling symlink; cannot package it"),
    ("files/pipe", "named pipe (fifo) cannot be packaged"),
    ("templates/leak.yaml", "symlink points outside the chart folder; refusing to package it"),
]


def test_scan_collects_every_offence(tmp_path: Path) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_text("top secret\n")
    chart = hostile_chart(tmp_path / "repo", outside)
    entries, offences = scan(chart)
    assert sorted((o.path, o.reason) for o in offences) == EXPECTED
    assert "templates/ok.yaml" in [e.path for e in entries]
    assert b"top secret" not in b"".join(e.data for e in entries)
    with pytest.raises(PackageError) as first:
        collect(chart)  # packaging: one line, the first offence
    assert str(first.value) in {f"{p}: {r}" for p, r in EXPECTED}


def test_lint_names_each_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "repo"
    outside = tmp_path / "secret.txt"
    outside.write_text("top secret\n")
    hostile_chart(root, outside)
    monkeypatch.chdir(root)
    result = lint_paths(["platform/flux"], Settings(root=root))
    found = [(p.path, p.message) for p in result.problems if p.rule == "chart-files"]
    assert found == [(f"platform/flux/chart/{path}", reason) for path, reason in EXPECTED]


def test_a_non_utf8_name_is_shown_escaped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "repo"
    chart = write_blueprint(root, "flux") / "chart"
    (chart / os.fsdecode(b"bad\xff.yaml")).write_text("a: 1\n")
    monkeypatch.chdir(root)
    result = lint_paths(["platform/flux"], Settings(root=root))
    found = [(p.path, p.message) for p in result.problems if p.rule == "chart-files"]
    assert found == [("platform/flux/chart/bad\\udcff.yaml", "file name is not valid UTF-8")]
