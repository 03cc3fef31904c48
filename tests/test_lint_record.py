"""The lint cache's run record: a warm run answered whole, and never once an input changed.

Each test lints a tree through the real command (in-process), lints it again
(answered from the record), then changes one input the record depends on and
checks that the third run sees the change, with the same output as a run
without any cache. The clock-tick guard is turned off (every file counts as
old), so the tests need not wait; one subprocess test waits it out for real
and checks that the answering run imports neither the YAML parser nor a rule.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bpkit.lint import record as record_mod
from bpkit.lint import stamps, upstream_facts
from bpkit.upstream.cache import ChartCache
from tests.helpers.blueprints import lock_blueprint, upstream_chart, write_blueprint, write_tree
from tests.helpers.cli import REPO, bpkit, invoke


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private $BPKIT_CACHE_DIR, and no clock-tick guard."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("BPKIT_CACHE_DIR", str(folder))
    monkeypatch.setattr(stamps, "RACY_NS", -(10**18))
    yield folder


@pytest.fixture
def tree(tmp_path: Path, cache: Path) -> Path:
    """Three locked blueprints, their upstream charts in `cache`; app depends on flux."""
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    write_tree(root)
    write_blueprint(root, "app", depends="    - { blueprint: bp-flux, version: ^1.0 }\n")
    return root


def records(cache: Path) -> list[Path]:
    return sorted((cache / "lint").glob("run-*.rec"))


def lint(root: Path, *args: str) -> tuple[int, str]:
    run = invoke("lint", "--format", "json", *args, cwd=root)
    return run.code, run.out


def fresh(root: Path, *args: str) -> tuple[int, str]:
    run = invoke("lint", "--no-cache", "--format", "json", *args, cwd=root)
    return run.code, run.out


def answered(root: Path, cache: Path, monkeypatch: pytest.MonkeyPatch,
             *args: str) -> tuple[int, str]:
    """Lint, failing the test unless the run record answered (no rule ran)."""
    import bpkit.lint.engine as engine

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("the run record should have answered")

    with monkeypatch.context() as patch:
        patch.setattr(engine, "lint_paths", refuse)
        return lint(root, *args)


def rules_of(out: str) -> list[str]:
    return [p["rule"] for p in json.loads(out)["problems"]]


def test_second_run_is_answered_by_the_record(tree: Path, cache: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    first = lint(tree)
    assert len(records(cache)) == 1
    assert answered(tree, cache, monkeypatch) == first == fresh(tree)
    assert json.loads(first[1])["summary"]["blueprints"] == 3


def test_no_cache_and_fix_write_no_record(tree: Path, cache: Path) -> None:
    fresh(tree)
    invoke("lint", "--fix", cwd=tree)
    assert records(cache) == []


@pytest.mark.parametrize("change", [
    "values-edited", "blueprint-added", "dependency-deleted", "settings", "lock-edited",
    "chart-cache-filled", "chart-cache-emptied", "subfolder-becomes-blueprint",
])
def test_a_changed_input_is_seen(tree: Path, cache: Path, monkeypatch: pytest.MonkeyPatch,
                                 change: str) -> None:
    upstream_facts._DEFAULTS.clear()  # in-process runs share what one process has read
    data = upstream_chart("flux2", "2.13.0", values="replicaCount: 1\n")
    if change == "chart-cache-filled":
        # flux's upstream chart is locked but not (yet) in the cache: a warning.
        lock_blueprint(tree / "platform" / "flux", "flux2", "2.13.0",
                       "https://fluxcd-community.github.io/helm-charts", data=data,
                       cache=tree.parent / "elsewhere")
    if change == "settings":
        (tree / "platform" / "flux" / "upstream.lock").unlink()  # a warning, for now
    before = lint(tree)
    assert answered(tree, cache, monkeypatch) == before
    flux = tree / "platform" / "flux"
    if change == "values-edited":
        values = flux / "chart" / "values.yaml"
        values.write_text(values.read_text() + "replicaCount: 2\n")  # a duplicate key
    elif change == "blueprint-added":
        write_blueprint(tree, "extra")
    elif change == "dependency-deleted":
        for path in sorted(flux.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        flux.rmdir()
    elif change == "settings":
        (tree / "pyproject.toml").write_text('[tool.bpkit.rules]\nupstream-lock = "off"\n')
    elif change == "lock-edited":
        lock = flux / "upstream.lock"
        lock.write_text(lock.read_text().replace("version: 2.13.0", "version: 2.13.1"))
    elif change == "chart-cache-filled":
        ChartCache(cache).put(data)  # as `bpkit upstream fetch` would
    elif change == "chart-cache-emptied":
        for archive in (cache / "charts" / "sha256").glob("*.tgz"):
            archive.unlink()
        upstream_facts._DEFAULTS.clear()
    elif change == "subfolder-becomes-blueprint":
        (tree / "platform" / "notes").mkdir()
        before = lint(tree)
        write_blueprint(tree, "notes")
    after = lint(tree)
    assert after == fresh(tree), "the record answered over a changed input"
    assert after != before, f"{change}: the change should show in the result"


def test_changed_dependency_reaches_a_linted_dependent(tree: Path, cache: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Only platform/app is linted; flux, loaded to resolve its pin, changes."""
    args = ("platform/app",)
    before = lint(tree, *args)
    assert answered(tree, cache, monkeypatch, *args) == before
    for name in ("blueprint.yaml", "chart/Chart.yaml"):  # a new major version, past ^1.0
        path = tree / "platform" / "flux" / name
        path.write_text(path.read_text().replace("version: 1.0.0", "version: 2.0.0"))
    after = lint(tree, *args)
    assert after == fresh(tree, *args)
    assert "depends-version" in rules_of(after[1]) and "depends-version" not in rules_of(before[1])


def test_a_damaged_or_foreign_record_is_ignored(tree: Path, cache: Path) -> None:
    expected = lint(tree)
    (rec,) = records(cache)
    header, _, body = rec.read_bytes().partition(b"\n")
    forged = json.loads(body)
    forged["report"]["problems"] = [["x", 1, 1, "chart-name", "error", "forged"]]
    rec.write_bytes(header + b"\n" + json.dumps(forged).encode())  # checksum no longer matches
    assert lint(tree) == expected
    rec.write_bytes(b"\x00" * 64)
    assert lint(tree) == expected
    rec.unlink()
    os.mkfifo(rec)  # never opened for a blocking read
    assert lint(tree) == expected


def test_symlinked_file_means_no_record(tree: Path, cache: Path) -> None:
    (tree / "platform" / "flux" / "notes.md").symlink_to(tree / "platform" / "flux" /
                                                         "blueprint.yaml")
    lint(tree)
    assert records(cache) == []


def test_records_are_pruned(tree: Path, cache: Path) -> None:
    for n in range(record_mod.KEEP_RECORDS + 4):
        lint(tree, "platform/flux/" + "/" * n)  # each spelling its own record
    assert len(records(cache)) == record_mod.KEEP_RECORDS


def test_answering_run_imports_no_parser_and_no_rule(tree: Path, cache: Path) -> None:
    """A real warm run, after the two-second guard: same output, lighter imports (no click:
    a plain command line, bpkit.cli.lint_run)."""
    env = {"BPKIT_CACHE_DIR": str(cache)}
    first = bpkit("lint", "--format", "json", cwd=tree, env=env)
    newest = max(p.lstat().st_ctime for p in [tree, *tree.rglob("*")])
    time.sleep(max(0.0, newest + 2.5 - time.time()))  # the guard: RACY_NS, two seconds
    bpkit("lint", "--format", "json", cwd=tree, env=env)  # the files are old now: recorded
    probe = ("import runpy, sys\nsys.argv = ['bpkit', 'lint', '--format', 'json']\n"
             "try:\n    runpy.run_module('bpkit', run_name='__main__')\n"
             "finally:\n    heavy = sorted(m for m in sys.modules if m.startswith("
             "('ruamel', 'bpkit.lint.rules', 'bpkit.lint.engine', 'jsonschema', 'click')))\n"
             "    print('HEAVY', heavy, file=sys.stderr)\n")
    proc = subprocess.run([sys.executable, "-c", probe], cwd=tree, capture_output=True,
                          text=True, timeout=60, check=False,
                          env={**os.environ, **env, "PYTHONPATH": str(REPO)})
    assert proc.stdout == first.out
    assert "HEAVY []" in proc.stderr, proc.stderr


def test_siblings_of_a_precommit_run_come_from_the_cache(tree: Path, cache: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Pre-commit lints one blueprint; the others, loaded to resolve pins, are kept partially."""
    import bpkit.lint.engine as engine

    app = tree / "platform" / "app" / "blueprint.yaml"
    loads: list[tuple[str, bool]] = []
    real = engine.load_blueprint

    def counting(path: Path, with_values: bool = True) -> object:
        loads.append((path.name, with_values))
        return real(path, with_values=with_values)

    monkeypatch.setattr(engine, "load_blueprint", counting)
    first = lint(tree, "platform/app/blueprint.yaml")
    assert sorted(loads) == [("app", True), ("cert-manager", False), ("flux", False)]
    loads.clear()
    app.write_text(app.read_text() + "# edited\n")  # the next commit: the record cannot answer
    second = lint(tree, "platform/app/blueprint.yaml")
    assert loads == [("app", True)], "siblings should have come from the lint cache"
    assert second == first == fresh(tree, "platform/app/blueprint.yaml")
    # A partial entry never stands in for a blueprint that is linted itself.
    assert lint(tree) == fresh(tree)
    flux = tree / "platform" / "flux" / "chart" / "values.yaml"
    flux.write_text(flux.read_text() + "replicaCount: 3\n")  # a duplicate key
    assert lint(tree) == fresh(tree)
    assert "yaml-duplicate-key" in rules_of(lint(tree)[1])
