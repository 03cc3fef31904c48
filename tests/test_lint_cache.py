"""The lint cache: the same problems with and without it, and never a stale or foreign entry.

Whole `bpkit lint` runs compare JSON output without the cache, with a cold
cache and with a warm one, on the benchmark's generated tree (with
problems added) and on a copy of the real corpus. In-process tests then
change the tree in the ways a cache could miss and break the cache file.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bpkit.lint import stamps as stamps_mod
from bpkit.lint.cache import LOCAL_RULES, LintCache, cache_dir
from bpkit.lint.engine import lint_paths
from bpkit.lint.rules import MODULES, RULES
from bpkit.problem import Problem
from bpkit.settings import load_settings
from tests.helpers.blueprints import write_blueprint, write_tree
from tests.helpers.cli import REPO, bpkit
from tests.helpers.corpus import corpus_dir

sys.path.insert(0, str(REPO / "bench"))
from gen_blueprints import generate


def age(root: Path, seconds: float = 3.0) -> None:
    """Wait until every file under root is older than the cache's clock-tick guard."""
    newest = max(p.lstat().st_ctime for p in [root, *root.rglob("*")])
    time.sleep(max(0.0, newest + seconds - time.time()))


def three_runs(root: Path, *args: str) -> list[str]:
    """JSON output of lint without the cache, with a cold cache, and with the warm cache."""
    env = {"BPKIT_CACHE_DIR": ""}
    shutil.rmtree(root / ".bpkit_cache", ignore_errors=True)
    plain = bpkit("lint", "--no-cache", "--format", "json", *args, cwd=root, env=env)
    assert not (root / ".bpkit_cache").exists()  # --no-cache writes nothing
    cold = bpkit("lint", "--format", "json", *args, cwd=root, env=env)
    packs = list((root / ".bpkit_cache" / "lint").glob("*.json"))
    assert len(packs) == 1
    assert (root / ".bpkit_cache" / ".gitignore").read_text().splitlines()[-1] == "*"
    written = packs[0].stat().st_mtime_ns
    warm = bpkit("lint", "--format", "json", *args, cwd=root, env=env)
    # Every blueprint came from the cache: nothing new to write.
    assert packs[0].stat().st_mtime_ns == written
    assert plain.code == cold.code == warm.code
    assert plain.err == cold.err == warm.err
    return [plain.out, cold.out, warm.out]


def add_problems(root: Path) -> None:
    """Per-file, cross-blueprint and loader problems, so each kind goes through the cache."""
    bp = sorted((root / "platform").iterdir())
    text = (bp[0] / "blueprint.yaml").read_text()
    assert "  depends:\n    []\n" in text
    (bp[0] / "blueprint.yaml").write_text(text.replace(
        "  depends:\n    []\n", "  depends:\n    - { blueprint: bp-nowhere, version: ^1.0 }\n"))
    chart = bp[1] / "chart" / "Chart.yaml"
    chart.write_text(chart.read_text().replace("type: application", "type: weird"))
    (bp[2] / "chart" / "values.yaml").write_text("a: 1\na: 2\n")
    (bp[3] / "chart" / "Chart.lock").write_text("x: 1\n")
    (bp[4] / "blueprint.yaml").write_text("kind: [unclosed\n")
    (bp[5] / "chart" / "values.yaml").write_bytes(b"\xff\xfe not utf-8\n")


# --------------------------------------------------------------------------- whole runs


def test_same_output_on_the_bench_tree(tmp_path: Path) -> None:
    root = tmp_path / "bench"
    generate(root, 40)
    (root / ".git").mkdir()
    add_problems(root)
    age(root)
    plain, cold, warm = three_runs(root, "platform/")
    assert plain == cold == warm
    report = json.loads(plain)
    rules = {p["rule"] for p in report["problems"]}
    assert {"depends-target", "chart-type", "yaml-duplicate-key", "chart-vendored",
            "yaml-syntax", "yaml-encoding"} <= rules
    assert report["summary"]["blueprints"] == 40


def test_same_output_on_the_corpus(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    shutil.copytree(corpus_dir(), root, symlinks=True)
    (root / ".git").mkdir(exist_ok=True)
    age(root)
    plain, cold, warm = three_runs(root)
    assert plain == cold == warm
    assert json.loads(plain)["summary"]["blueprints"] >= 40
    # File arguments, as pre-commit passes them (dependents are checked too).
    files = [str(p.relative_to(root)) for p in sorted(root.glob("platform/*/blueprint.yaml"))[:5]]
    plain, cold, warm = three_runs(root, *files)
    assert plain == cold == warm


def test_parallel_runs_share_one_cache(tmp_path: Path) -> None:
    root = tmp_path / "bench"
    generate(root, 30)
    (root / ".git").mkdir()
    add_problems(root)
    expected = bpkit("lint", "--no-cache", "--format", "json", "platform/", cwd=root).out
    env = {**os.environ, "PYTHONPATH": str(REPO), "BPKIT_CACHE_DIR": str(tmp_path / "c")}
    env.pop("GITHUB_ACTIONS", None)
    for _ in range(2):
        procs = [subprocess.Popen([sys.executable, "-m", "bpkit", "lint", "--format", "json",
                                   "platform/"], cwd=root, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(4)]
        outs = [p.communicate(timeout=120)[0] for p in procs]
        assert outs == [expected] * 4
    left = sorted(p.name for p in (tmp_path / "c" / "lint").iterdir())
    packs = [n for n in left if n.endswith(".json")]
    runs = [n for n in left if n.startswith("run-") and n.endswith(".rec")]
    assert len(packs) == 1 and len(runs) <= 1 and left == sorted(packs + runs)  # no temp files
    assert not (root / ".bpkit_cache").exists()  # $BPKIT_CACHE_DIR wins


# --------------------------------------------------------------------------- in process


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    root = tmp_path / "repo"
    root.mkdir()
    (root / ".git").mkdir()
    write_tree(root)
    write_blueprint(root, "app", depends="    - blueprint: bp-flux\n      version: ^1.0.0\n")
    monkeypatch.chdir(root)
    # The lint cache goes to .bpkit_cache/ (`run` passes no environment); the
    # session's chart cache in $BPKIT_CACHE_DIR keeps the locked upstreams the
    # lock rules read, so the tree lints clean.
    # Trust stat data at once (no clock-tick guard), so the fast path is what runs.
    monkeypatch.setattr(stamps_mod, "RACY_NS", -(10**18))
    yield root


def run(root: Path, paths: tuple[str, ...] = ()) -> tuple[list[Problem], int]:
    settings = load_settings(root, known_rules=frozenset(RULES))
    cache = LintCache(cache_dir(root, env={}), settings)
    result = lint_paths(list(paths), settings, cache=cache)
    cache.save()
    return result.problems, cache.hits


def fresh(root: Path, paths: tuple[str, ...] = ()) -> list[Problem]:
    return lint_paths(list(paths), load_settings(root, known_rules=frozenset(RULES))).problems


def test_warm_run_hits_every_blueprint(tree: Path) -> None:
    first, hits = run(tree)
    assert hits == 0
    second, hits = run(tree)
    assert hits == 3
    assert first == second == fresh(tree)


@pytest.mark.parametrize("change", [
    "same-size-edit", "new-chart-file", "vendored-folder", "removed-file", "chart-path"])
def test_changes_are_seen(tree: Path, change: str) -> None:
    run(tree)
    flux = tree / "platform" / "flux"
    if change == "same-size-edit":  # same size, same mtime: the ctime and content still tell
        path = flux / "chart" / "Chart.yaml"
        st = path.stat()
        text = path.read_text()
        path.write_text(text.replace("version: 1.0.0", "version: 1.0.x"))
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    elif change == "new-chart-file":
        (flux / "chart" / "values.schema.json").write_text("{not json")
    elif change == "vendored-folder":
        (flux / "chart" / "charts").mkdir()
    elif change == "removed-file":
        (flux / "chart" / "values.yaml").unlink()
    else:
        (flux / "blueprint.yaml").write_text(
            (flux / "blueprint.yaml").read_text().replace("./chart", "./elsewhere"))
    after, hits = run(tree)
    assert hits == 2
    assert after == fresh(tree)
    assert any(p.path.startswith("platform/flux") for p in after)
    again, hits = run(tree)
    assert hits == 3
    assert again == after


def test_cross_blueprint_rules_see_cached_blueprints(tree: Path) -> None:
    run(tree)
    flux = tree / "platform" / "flux"
    for name in ("blueprint.yaml", "chart/Chart.yaml"):
        path = flux / name
        path.write_text(path.read_text().replace("1.0.0", "2.0.0"))
    after, hits = run(tree)
    assert hits == 2  # app is cached, but its pin is checked against the new flux
    bad = [p for p in after if p.rule == "depends-version"]
    assert len(bad) == 1 and bad[0].path == "platform/app/blueprint.yaml"
    assert (bad[0].line, bad[0].col) == (14, 16)  # positions parsed on demand
    assert after == fresh(tree)


def test_pre_commit_style_paths(tree: Path) -> None:
    paths = ("platform/flux/blueprint.yaml",)
    run(tree, paths)
    second, hits = run(tree, paths)
    assert hits == 3  # flux, and the two siblings loaded to resolve pins (partial entries)
    assert second == fresh(tree, paths)


def pack(root: Path) -> Path:
    found = list((root / ".bpkit_cache" / "lint").glob("*.json"))
    assert len(found) == 1
    return found[0]


def rewrite(path: Path, entries: object) -> None:
    """A pack with a valid header and checksum around the given body."""
    header = json.loads(path.read_bytes().partition(b"\n")[0])
    body = json.dumps(entries).encode()
    header["sha256"] = hashlib.sha256(body).hexdigest()
    path.write_bytes(json.dumps(header).encode() + b"\n" + body)


@pytest.mark.parametrize("damage", [
    "truncated", "flipped", "not-json", "foreign-key", "empty", "entries-not-dict",
    "bad-problem", "bad-level", "bad-docs", "escaping-chart-dir", "bad-stats", "wrong-types"])
def test_damaged_or_foreign_cache_is_ignored(tree: Path, damage: str) -> None:
    expected, _ = run(tree)
    path = pack(tree)
    raw = path.read_bytes()
    header, _, body = raw.partition(b"\n")
    entries = json.loads(body)
    flux = next(k for k in entries if k.endswith("/flux"))
    if damage == "truncated":
        path.write_bytes(raw[: len(raw) // 2])
    elif damage == "flipped":
        at = len(header) + len(body) // 2
        path.write_bytes(raw[:at] + bytes([raw[at] ^ 1]) + raw[at + 1:])
    elif damage == "not-json":
        path.write_bytes(b"\x80\x04garbage")
    elif damage == "foreign-key":
        other = json.loads(header)
        other["key"] = "0" * 64
        path.write_bytes(json.dumps(other).encode() + b"\n" + body)
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "entries-not-dict":
        rewrite(path, [1, 2])
    else:
        entry = entries[flux]
        if damage == "bad-problem":
            entry["problems"] = {"chart-type": [["x", "1", 0, "chart-type", "error", "m"]]}
        elif damage == "bad-level":
            entry["problems"] = {"chart-type": [["x", 1, 0, "chart-type", "fatal", "m"]]}
        elif damage == "bad-docs":
            entry["docs"] = {"blueprint": [1, 2]}
        elif damage == "escaping-chart-dir":
            entry["chart_dir"] = "../app/chart"
        elif damage == "bad-stats":
            entry["stats"] = [[None]]
            entry["fingerprint"] = "forged"
        else:
            entry["problems"] = "everything is fine"
        rewrite(path, entries)
    after, hits = run(tree)
    assert after == expected
    assert hits <= 2
    again, hits = run(tree)  # rewritten in good order
    assert again == expected and hits == 3


def test_unwritable_cache_still_lints(tree: Path, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("BPKIT_CACHE_DIR", str(blocker))
    first, hits = run(tree)
    assert hits == 0 and first == fresh(tree)
    assert blocker.read_text() == "not a folder"


def test_symlinks_and_big_folders_are_not_cached(tree: Path) -> None:
    flux = tree / "platform" / "flux"
    (flux / "chart" / "link.yaml").symlink_to(flux / "chart" / "values.yaml")
    big = tree / "platform" / "cert-manager" / "docs.bin"
    with big.open("wb") as fh:
        fh.truncate(stamps_mod.MAX_FOLDER_BYTES + 1)
    run(tree)
    entries = json.loads(pack(tree).read_bytes().partition(b"\n")[2])
    assert sorted(Path(k).name for k in entries) == ["app"]
    second, hits = run(tree)
    assert hits == 1 and second == fresh(tree)


def test_new_settings_or_working_directory_use_another_pack(
        tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run(tree)
    (tree / "pyproject.toml").write_text('[tool.bpkit.rules]\nchart-type = "off"\n')
    _, hits = run(tree)
    assert hits == 0
    monkeypatch.chdir(tree / "platform")
    _, hits = run(tree)
    assert hits == 0
    assert len(list((tree / ".bpkit_cache" / "lint").glob("*.json"))) == 3


def test_local_rules_use_nothing_but_the_blueprint() -> None:
    """A rule in LOCAL_RULES must not consult the Context (other blueprints, git)."""
    by_id = {m.ID: m for m in MODULES}
    assert set(by_id) >= LOCAL_RULES
    for rule in LOCAL_RULES:
        source = inspect.getsource(by_id[rule])
        assert "ctx." not in source and "context." not in source, rule
        assert hasattr(by_id[rule], "check"), rule
    # The rules left out are the ones that look beyond the blueprint.
    assert {"depends-target", "depends-version", "version-bump"} <= {
        m.ID for m in MODULES if hasattr(m, "check")} - LOCAL_RULES


def test_folder_names_that_are_not_utf8(tree: Path) -> None:
    platform = os.fsencode(tree / "platform")
    os.rename(platform + b"/flux", platform + b"/fl\xffux")
    first, _ = run(tree)
    assert any("fl\udcffux" in p.path for p in first)  # chart-name, blueprint-name
    second, hits = run(tree)
    assert hits == 3
    assert second == first == fresh(tree)


def test_recent_files_are_hashed_then_trusted_once_old(tree: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stamps_mod, "RACY_NS", 10**18)  # everything counts as just written
    run(tree)
    entries = json.loads(pack(tree).read_bytes().partition(b"\n")[2])
    assert all(e["stats"] is None for e in entries.values())
    _, hits = run(tree)  # read and hashed: a hit all the same
    assert hits == 3
    monkeypatch.setattr(stamps_mod, "RACY_NS", -(10**18))
    _, hits = run(tree)  # now old enough: the stat data is recorded
    assert hits == 3
    entries = json.loads(pack(tree).read_bytes().partition(b"\n")[2])
    assert all(e["stats"] for e in entries.values())
    reads: list[str] = []
    real_open = os.open

    def spy(path: str, *args: int, **kwargs: int) -> int:
        # A name opened relative to a folder descriptor is a chart file walk.
        name = os.fsdecode(path)
        reads.append(os.path.join(tree / "platform", name) if "dir_fd" in kwargs else name)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", spy)
    second, hits = run(tree)
    # No blueprint file read: stat data vouched for every one (the settings
    # file, pyproject.toml, is read on every run and is not a cached file),
    # but for upstream.lock: overlay-values, which also reads the chart
    # cache and so runs every time, reads the lock it checks against.
    blueprint_reads = [r for r in reads if os.fspath(r).startswith(os.fspath(tree / "platform"))
                       and not r.endswith("/upstream.lock")]
    assert hits == 3 and blueprint_reads == []
    assert second == fresh(tree)
