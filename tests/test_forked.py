"""bpkit.lint.forked: the calling process and forked children share a map, in order."""

from __future__ import annotations

import itertools
import os
import signal
import time

import pytest

from bpkit.lint.forked import WorkerFailed, forked_map, shares


def test_shares_cover_every_item_once_and_give_the_caller_less() -> None:
    for count in (0, 1, 7, 150, 1000):
        for workers in (2, 3, 4):
            bounds = shares(count, workers, 0.8)
            assert bounds[0][0] == 0 and bounds[-1][1] == count
            assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))
    own, child = shares(1000, 2, 0.8)
    assert own == (0, 444) and child == (444, 1000)


def square_and_pid(item: int) -> tuple[int, int]:
    return item * item, os.getpid()


def test_results_come_in_order_from_this_process_and_the_children() -> None:
    results = list(forked_map(square_and_pid, list(range(300)), 3))
    assert [value for value, _ in results] == [i * i for i in range(300)]
    pids = [pid for _, pid in results]
    assert pids[0] == os.getpid()
    assert len(set(pids)) == 3


def fail_in_child(item: int) -> int:
    if item == 99 and os.getpid() != int(os.environ["PARENT"]):
        raise ValueError("no 99 here")
    return item


def test_a_child_that_fails_is_reported_with_its_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARENT", str(os.getpid()))
    with pytest.raises(WorkerFailed, match=r"ValueError: no 99 here"):
        list(forked_map(fail_in_child, list(range(100)), 2))


def die_in_child(item: int) -> int:
    if item == 99 and os.getpid() != int(os.environ["PARENT"]):
        os.kill(os.getpid(), signal.SIGKILL)
    return item


def test_a_child_killed_is_reported_not_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARENT", str(os.getpid()))
    with pytest.raises(WorkerFailed, match=r"killed by signal 9"):
        list(forked_map(die_in_child, list(range(100)), 2))


def slow_in_child(item: int) -> int:
    if os.getpid() != int(os.environ["PARENT"]):
        time.sleep(30)
    return item


def test_stopping_early_ends_the_children(monkeypatch: pytest.MonkeyPatch) -> None:
    """An error in this process's share (or Ctrl-C) must not leave children behind."""
    monkeypatch.setenv("PARENT", str(os.getpid()))
    started = time.monotonic()
    results = forked_map(slow_in_child, list(range(100)), 2)
    assert next(results) == 0
    children = [int(p) for p in os.listdir("/proc") if p.isdigit()
                and _parent_of(int(p)) == os.getpid()]
    assert children
    results.close()  # what an exception in the consumer does to the generator
    assert time.monotonic() - started < 10
    for pid in children:
        assert not os.path.exists(f"/proc/{pid}") or _state(pid) == "gone"


def _parent_of(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return int(fh.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return -1


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def test_buffered_output_is_not_written_twice(tmp_path: pytest.TempPathFactory) -> None:
    import subprocess
    import sys

    code = ("import sys; from bpkit.lint.forked import forked_map; "
            "sys.stdout.write('once'); print(sum(forked_map(abs, list(range(200)), 2)))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout == f"once{sum(range(200))}\n"
