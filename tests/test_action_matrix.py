"""`bpkit changed --per-job N`: several blueprints a matrix job, under GitHub's 256-job cap."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bpkit.errors import UsageError
from bpkit.report.matrix import MAX_JOBS, matrix
from tests.helpers.cli import invoke
from tests.helpers.git import append, commit, make_monorepo

TARGETS = [("a", "platform/a"), ("b", "platform/b"), ("c", "products/c")]


def test_one_a_job_keeps_the_original_shape() -> None:
    assert matrix(TARGETS) == {"include": [{"blueprint": "a", "path": "platform/a"},
                                           {"blueprint": "b", "path": "platform/b"},
                                           {"blueprint": "c", "path": "products/c"}]}
    assert matrix([]) == {"include": []}
    assert matrix([], 5) == {"include": []}


def test_several_a_job_in_order_last_job_shorter() -> None:
    assert matrix(TARGETS, 2) == {"include": [
        {"job": "1", "blueprints": "platform/a platform/b", "names": "a b"},
        {"job": "2", "blueprints": "products/c", "names": "c"}]}
    assert matrix(TARGETS, 10) == {"include": [
        {"job": "1", "blueprints": "platform/a platform/b products/c", "names": "a b c"}]}


def test_the_job_cap() -> None:
    many = [(f"b{i}", f"platform/b{i}") for i in range(1000)]
    assert len(matrix(many, 4)["include"]) == 250
    with pytest.raises(UsageError, match=r"1000 blueprints at 3 a job make 334 jobs, over "
                                         r"GitHub's 256-job matrix cap: pass --per-job 4"):
        matrix(many, 3)
    assert len(matrix(many[:MAX_JOBS])["include"]) == MAX_JOBS
    with pytest.raises(UsageError, match="257 jobs"):
        matrix(many[:MAX_JOBS + 1])
    with pytest.raises(UsageError, match="at least 1"):
        matrix(TARGETS, 0)


def test_cli_per_job_and_the_all_if_unknown_fallback(tmp_path: Path) -> None:
    repo = make_monorepo(tmp_path / "mono")
    before = commit(repo, "before")
    append(repo / "platform/flux/chart/values.yaml", "x: 1\n")
    append(repo / "products/shop/chart/values.yaml", "x: 1\n")
    head = commit(repo, "two changes")
    out = tmp_path / "out"
    run = invoke("changed", "--base", before, "--head", head, "--format", "matrix",
                "--per-job", "2", cwd=repo, env={"GITHUB_OUTPUT": str(out)})
    assert run.code == 0, run.err
    expected = {"include": [{"job": "1", "blueprints": "platform/flux products/shop",
                             "names": "flux shop"}]}
    assert json.loads(run.out) == expected
    assert out.read_text() == f"matrix={json.dumps(expected, separators=(',', ':'))}\ncount=2\n"
    # Every blueprint, when the base is unknown: still a few a job.
    run = invoke("changed", "--base", "0" * 40, "--head", head, "--format", "matrix",
                "--per-job", "2", "--all-if-unknown", cwd=repo)
    assert run.code == 0, run.err
    jobs = json.loads(run.out)["include"]
    assert [j["names"] for j in jobs] == ["cert-manager flux", "shop"]
    assert "warning" in run.err
    run = invoke("changed", "--base", before, "--format", "matrix", "--per-job", "0", cwd=repo)
    assert run.code == 2 and "--per-job" in run.err
