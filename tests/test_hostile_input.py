"""Hostile and broken input: a one-line error naming the file (and line), exit 1,
no traceback, bounded time and memory. Each runs the real command."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.helpers.cli import Run, bpkit

FLUX = Path("platform/flux")


def assert_clean_failure(run: Run, file: str, line: int | None = None) -> str:
    assert run.code == 1, (run.out, run.err)
    assert "Traceback" not in run.out + run.err
    hits = [ln for ln in run.lines if ln.startswith(file)]
    assert hits, run.out
    if line is not None:
        assert any(ln.startswith(f"{file}:{line}:") for ln in hits), hits
    return hits[0]


def test_malformed_yaml(monorepo: Path) -> None:
    (monorepo / FLUX / "chart/values.yaml").write_text("a: [1, 2\nb: 3\n")
    run = bpkit("lint", cwd=monorepo)
    hit = assert_clean_failure(run, "platform/flux/chart/values.yaml", line=2)
    assert "yaml-syntax" in hit


def test_alias_bomb_is_refused_quickly(monorepo: Path) -> None:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 12):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{','.join([prev] * 10)}]")
    (monorepo / FLUX / "chart/values.yaml").write_text("\n".join(lines) + "\n")
    start = time.monotonic()
    run = bpkit("lint", cwd=monorepo)
    assert time.monotonic() - start < 20
    hit = assert_clean_failure(run, "platform/flux/chart/values.yaml")
    assert "yaml-limits" in hit and "alias" in hit
    assert run.peak_rss_mb < 200


def test_recursive_alias(monorepo: Path) -> None:
    (monorepo / FLUX / "chart/values.yaml").write_text("a: &x\n  b: *x\n")
    hit = assert_clean_failure(bpkit("lint", cwd=monorepo), "platform/flux/chart/values.yaml", 1)
    assert "recursive alias" in hit


def test_fifty_megabyte_values_file(monorepo: Path) -> None:
    big = monorepo / FLUX / "chart/values.yaml"
    chunk = ("key: " + "x" * 1000 + "\n").encode()
    with big.open("wb") as fh:
        for i in range(52 * 1024):
            fh.write(f"k{i}".encode() + chunk[1:])
    assert big.stat().st_size > 50 * 1024 * 1024
    start = time.monotonic()
    run = bpkit("lint", cwd=monorepo)
    assert time.monotonic() - start < 20
    hit = assert_clean_failure(run, "platform/flux/chart/values.yaml")
    assert "MiB" in hit and "yaml-limits" in hit
    assert run.peak_rss_mb < 150


def test_bytes_that_are_not_utf8(monorepo: Path) -> None:
    (monorepo / FLUX / "chart/values.yaml").write_bytes(
        b'catalystBlueprint:\n  upstream: {chart: flux2}\nname: caf\xe9\n')
    hit = assert_clean_failure(bpkit("lint", cwd=monorepo), "platform/flux/chart/values.yaml:3:10")
    assert "not UTF-8" in hit and "0xe9" in hit


@pytest.mark.parametrize(("content", "what"), [("- a\n- b\n", "a list"),
                                               ("just a string\n", "a string")])
def test_chart_yaml_of_the_wrong_type(monorepo: Path, content: str, what: str) -> None:
    (monorepo / FLUX / "chart/Chart.yaml").write_text(content)
    hit = assert_clean_failure(bpkit("lint", cwd=monorepo), "platform/flux/chart/Chart.yaml", 1)
    assert f"must be a mapping of chart metadata, not {what}" in hit


@pytest.mark.parametrize("name", ["Chart.yaml", "values.yaml"])
def test_missing_chart_file(monorepo: Path, name: str) -> None:
    (monorepo / FLUX / "chart" / name).unlink()
    hit = assert_clean_failure(bpkit("lint", cwd=monorepo), f"platform/flux/chart/{name}")
    assert f"{name} is missing" in hit


def test_symlink_loop_in_blueprint_folder(monorepo: Path) -> None:
    chart = monorepo / FLUX / "chart"
    (chart / "templates").mkdir()
    os.symlink("loop", chart / "templates" / "loop")  # a file link to itself
    os.symlink("..", chart / "templates" / "up")  # a folder link back up: a walk loop
    start = time.monotonic()
    run = bpkit("lint", cwd=monorepo)
    assert time.monotonic() - start < 20
    hit = assert_clean_failure(run, "platform/flux/chart")
    assert "chart-files" in hit


def test_values_yaml_as_a_symlink_loop(monorepo: Path) -> None:
    values = monorepo / FLUX / "chart/values.yaml"
    values.unlink()
    os.symlink("values.yaml", values)
    hit = assert_clean_failure(bpkit("lint", cwd=monorepo), "platform/flux/chart/values.yaml")
    assert "symlink loop" in hit


@pytest.mark.parametrize(("version", "hint"), [("1.0", "three numbers"),
                                               ("v1.0.0", "leading 'v'"),
                                               ("01.2.3", "leading zero")])
def test_bad_versions(monorepo: Path, version: str, hint: str) -> None:
    chart = monorepo / FLUX / "chart/Chart.yaml"
    chart.write_text(chart.read_text().replace("version: 1.0.0", f'version: "{version}"'))
    hit = assert_clean_failure(bpkit("lint", cwd=monorepo), "platform/flux/chart/Chart.yaml", 3)
    assert "chart-version" in hit and hint in hit


def test_upstream_repo_with_a_password_is_not_echoed(monorepo: Path) -> None:
    secret = "s3cr3t-Pa55w0rd"
    values = monorepo / FLUX / "chart/values.yaml"
    values.write_text(values.read_text().replace(
        "https://fluxcd-community.github.io", f"https://deploy:{secret}@fluxcd-community.github.io"))
    for fmt in ("text", "json", "github", "sarif"):
        run = bpkit("lint", "--format", fmt, cwd=monorepo)
        assert run.code == 1
        assert secret not in run.out + run.err
        assert "deploy" not in run.out + run.err
    run = bpkit("lint", cwd=monorepo)
    hit = assert_clean_failure(run, "platform/flux/chart/values.yaml", 2)
    assert "credentials" in hit


@pytest.mark.parametrize("body", ["a: " + "[" * 100_000, "a: " + "{a: " * 100_000,
                                  "- " * 500_000 + "x"])
def test_deep_nesting_is_one_line_not_a_segfault(monorepo: Path, body: str) -> None:
    # These killed the process (SIGSEGV in the C parser) before the nesting guard.
    (monorepo / FLUX / "chart/values.yaml").write_text(body + "\n")
    start = time.monotonic()
    run = bpkit("lint", cwd=monorepo)
    assert time.monotonic() - start < 20
    hit = assert_clean_failure(run, "platform/flux/chart/values.yaml", line=1)
    assert "yaml-limits" in hit and "nest deeper than" in hit


def test_a_large_honest_flow_list_is_refused_for_its_size_not_as_a_bomb(monorepo: Path) -> None:
    """1.5 million nodes and no alias: the old count called this a bomb, then 580 MB went
    on positions. Now: counted from the parser's events, refused as large, cheaply."""
    values = monorepo / FLUX / "chart/values.yaml"
    items = ",".join("{a: 1, b: 2}" for _ in range(300_000))
    values.write_text(values.read_text() + f"extra: [{items}]\n")
    start = time.monotonic()
    run = bpkit("lint", cwd=monorepo, timeout=120)
    elapsed = time.monotonic() - start
    hit = assert_clean_failure(run, "platform/flux/chart/values.yaml", line=4)
    assert "yaml-limits" in hit and "250,000 values" in hit and "no alias involved" in hit
    assert "aliases expand" not in run.out
    assert run.peak_rss_mb < 120, f"peak RSS {run.peak_rss_mb:.0f} MB"
    assert elapsed < 20


def test_a_document_just_under_the_node_limit_loads() -> None:
    from bpkit.yamlio.load import MAX_NODES, parse

    pairs = (MAX_NODES - 2) // 3  # a sequence, and per item a mapping, its key and its value
    text = "big: [" + ", ".join(f"{{a: {i}}}" for i in range(pairs)) + "]\n"
    doc, problems = parse(text, Path("values.yaml"), "values.yaml")
    assert problems == [] and doc is not None and len(doc.data["big"]) == pairs
    over = text.replace("]\n", ", {a: x}, {a: y}]\n")
    doc, problems = parse(over, Path("values.yaml"), "values.yaml")
    assert doc is None and [p.rule for p in problems] == ["yaml-limits"]


@pytest.mark.parametrize("kind", ["fifo", "zero", "big", "latin1"])
def test_pyproject_that_is_not_a_small_text_file(monorepo: Path, kind: str) -> None:
    settings = monorepo / "pyproject.toml"
    settings.unlink(missing_ok=True)
    if kind == "fifo":
        os.mkfifo(settings)
    elif kind == "zero":
        settings.symlink_to("/dev/zero")
    elif kind == "big":
        settings.write_text("[tool.bpkit]\n" + "# filler\n" * 200_000)
    else:
        settings.write_bytes(b"[tool.bpkit]\nregistry = \"caf\xe9\"\n")
    run = bpkit("lint", cwd=monorepo, timeout=20)
    assert run.code == 2, (run.out, run.err)
    lines = run.err.strip().splitlines()
    assert len(lines) == 1 and "pyproject.toml" in lines[0], run.err
    assert {"fifo": "not a regular file", "zero": "not a regular file",
            "big": "larger than", "latin1": "not UTF-8"}[kind] in lines[0]


def test_a_chart_folder_linked_out_of_the_blueprint_is_not_read(monorepo: Path,
                                                                tmp_path: Path) -> None:
    """chart/ a symlink to someone's folder: lint says so and shows none of its content."""
    private = tmp_path / "private-chart"
    private.mkdir()
    (private / "Chart.yaml").write_text("apiVersion: v2\nname: bp-flux\nversion: 1.0.0\n")
    (private / "values.yaml").write_text("password: [hunter2-private\n")  # a syntax error
    chart = monorepo / FLUX / "chart"
    for path in sorted(chart.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    chart.rmdir()
    chart.symlink_to(private, target_is_directory=True)
    run = bpkit("lint", "--no-cache", cwd=monorepo)
    hit = assert_clean_failure(run, "platform/flux/chart")
    assert "file-unreadable" in hit and "symlink out of the blueprint folder" in hit
    assert "hunter2" not in run.out + run.err
    assert "yaml-syntax" not in run.out
    packaged = bpkit("package", "flux", "--out", str(tmp_path / "out"), cwd=monorepo)
    assert packaged.code != 0 and "hunter2" not in packaged.out + packaged.err
    assert not list((tmp_path / "out").glob("*.tgz")) if (tmp_path / "out").exists() else True
