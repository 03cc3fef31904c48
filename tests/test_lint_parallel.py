"""Parallel loading: the same problems as one process, and a dead worker never hangs a run."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

from bpkit.errors import UsageError
from bpkit.lint import engine
from bpkit.problem import Problem
from bpkit.settings import Settings, load_settings
from tests.helpers.cli import REPO

sys.path.insert(0, str(REPO / "bench"))
from gen_blueprints import generate


@pytest.fixture
def big(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """engine.PARALLEL_MIN blueprints, cached upstreams, and problems of every kind."""
    monkeypatch.setenv("BPKIT_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "repo"
    generate(root, engine.PARALLEL_MIN, tmp_path / "cache")
    (root / ".git").mkdir()
    folders = sorted((root / "platform").iterdir())
    (folders[3] / "chart" / "values.yaml").write_text("a: 1\na: 2\n")  # loader problems
    (folders[5] / "blueprint.yaml").write_text("kind: [unclosed\n")
    chart = folders[7] / "chart" / "Chart.yaml"
    chart.write_text(chart.read_text().replace("type: application", "type: weird"))
    values = folders[9] / "chart" / "values.yaml"  # an overlay the upstream does not take
    values.write_text(values.read_text() + "notAKnownKey: 1\n")
    text = (folders[11] / "blueprint.yaml").read_text()
    (folders[11] / "blueprint.yaml").write_text(text.replace("bp-bp0010", "bp-nowhere"))
    return root


_REAL_LOAD = engine.load_checked


def noting_load(path: Path, settings: Settings | None = None) -> engine.Loaded:
    """load_checked, leaving the loading process's pid in $PIDS (module level: pickled by name)."""
    (Path(os.environ["PIDS"]) / str(os.getpid())).touch()
    return _REAL_LOAD(path, settings)


def dying_load(path: Path, settings: Settings | None = None) -> engine.Loaded:
    """load_checked, but a forked loader is killed at the first blueprint it takes."""
    if os.getpid() != int(os.environ["PARENT"]):
        os.kill(os.getpid(), signal.SIGKILL)
    return _REAL_LOAD(path, settings)


def run(root: Path, monkeypatch: pytest.MonkeyPatch, workers: str) -> list[Problem]:
    monkeypatch.setenv("BPKIT_LINT_WORKERS", workers)
    monkeypatch.chdir(root)
    settings = load_settings(root)
    return list(engine.lint_paths([], settings).problems)


def test_workers_find_what_one_process_finds(big: Path, monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    one = run(big, monkeypatch, "1")
    assert {p.rule for p in one} >= {"yaml-duplicate-key", "yaml-syntax", "chart-type",
                                     "overlay-values", "depends-target"}
    pids = tmp_path / "pids"
    pids.mkdir()
    monkeypatch.setenv("PIDS", str(pids))
    monkeypatch.setattr(engine, "load_checked", noting_load)
    two = run(big, monkeypatch, "2")
    assert two == one
    workers = {int(p.name) for p in pids.iterdir()}
    assert len(workers) == 2 and os.getpid() in workers  # this process loads a share too


def test_a_dead_worker_is_an_error_not_a_hang(big: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARENT", str(os.getpid()))
    monkeypatch.setattr(engine, "load_checked", dying_load)
    with pytest.raises(UsageError, match=r"worker process died.*BPKIT_LINT_WORKERS=1"):
        run(big, monkeypatch, "2")


@pytest.mark.parametrize(("env", "count", "expected"), [
    ("", engine.PARALLEL_MIN - 1, 1), ("2", engine.PARALLEL_MIN - 1, 1), ("1", 10_000, 1),
    ("many", 10_000, 1), ("2", 10_000, 2), ("8", engine.PARALLEL_MIN, 2),
])
def test_how_many_workers(monkeypatch: pytest.MonkeyPatch, env: str, count: int,
                          expected: int) -> None:
    monkeypatch.setenv("BPKIT_LINT_WORKERS", env)
    assert engine._workers(count) == expected


@pytest.mark.parametrize("value", ["abc", "-2", "1.5", "\x1b[2J"])
def test_a_workers_setting_that_is_no_number_gets_a_note(monorepo: Path, value: str) -> None:
    from tests.helpers.cli import invoke

    run = invoke("lint", "--no-cache", cwd=monorepo, env={"BPKIT_LINT_WORKERS": value})
    notes = [line for line in run.err.splitlines() if "BPKIT_LINT_WORKERS" in line]
    assert len(notes) == 1 and notes[0].startswith("bpkit: note: BPKIT_LINT_WORKERS=")
    assert "\x1b" not in run.err
    assert run.code in (0, 1) and "Traceback" not in run.err


def test_a_number_of_workers_gets_no_note(monorepo: Path) -> None:
    from tests.helpers.cli import invoke

    for value in ("1", "2", "0", ""):
        run = invoke("lint", "--no-cache", cwd=monorepo, env={"BPKIT_LINT_WORKERS": value})
        assert "BPKIT_LINT_WORKERS" not in run.err


def test_forked_loaders_fill_the_lint_cache(big: Path, monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    """Results loaded in forked processes go into the lint cache, and serve the next run."""
    from bpkit.lint import stamps
    from bpkit.lint.cache import LintCache

    monkeypatch.setattr(stamps, "RACY_NS", -(10**18))  # trust stat data at once
    one = run(big, monkeypatch, "1")
    pids = tmp_path / "pids"
    pids.mkdir()
    monkeypatch.setenv("PIDS", str(pids))
    monkeypatch.setattr(engine, "load_checked", noting_load)
    monkeypatch.setenv("BPKIT_LINT_WORKERS", "2")
    settings = load_settings(big)
    counts = []
    for _ in range(2):
        cache = LintCache(tmp_path / "lint-cache", settings)
        assert list(engine.lint_paths([], settings, cache=cache).problems) == one
        cache.save()
        counts.append((cache.hits, len(cache.inputs.folders)))
    total = engine.PARALLEL_MIN
    assert counts[0] == (0, total)  # every folder noted for the run record
    assert counts[1][0] == total  # every entry serves
    assert len({int(p.name) for p in pids.iterdir()}) == 2
