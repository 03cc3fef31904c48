"""bpkit.lint.forked: the calling process and forked children share a map, in order."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable

import pytest

from bpkit.lint import forked
from bpkit.lint.forked import WorkerFailed, forked_map


def square_and_pid(item: int) -> tuple[int, int]:
    time.sleep(0.001)  # long enough for every process to take some
    return item * item, os.getpid()


def test_results_come_in_order_from_this_process_and_the_children() -> None:
    results = list(forked_map(square_and_pid, list(range(300)), 3))
    assert [value for value, _ in results] == [i * i for i in range(300)]
    pids = {pid for _, pid in results}
    assert os.getpid() in pids and len(pids) == 3


def square(item: int) -> int:
    return item * item


def test_more_items_than_tokens_share_them() -> None:
    count = forked._MAX_TOKENS * 3 + 7
    assert list(forked_map(square, list(range(count)), 2)) == [i * i for i in range(count)]


def slow_in_child_only(item: int) -> int:
    time.sleep(0.02 if os.getpid() != int(os.environ["PARENT"]) else 0.001)
    return os.getpid()


def test_work_goes_to_whoever_is_free(monkeypatch: pytest.MonkeyPatch) -> None:
    """A slower child takes fewer items: they are handed out as they are done."""
    monkeypatch.setenv("PARENT", str(os.getpid()))
    pids = list(forked_map(slow_in_child_only, list(range(200)), 2))
    mine = pids.count(os.getpid())
    assert 0 < len(pids) - mine < mine  # fixed halves would give the child 100


def fail_in_child(item: int) -> int:
    if os.getpid() != int(os.environ["PARENT"]):
        raise ValueError(f"no {item} here")
    time.sleep(0.002)  # the child surely takes an item meanwhile
    return item


def die_in_child(item: int) -> int:
    if os.getpid() != int(os.environ["PARENT"]):
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(0.002)
    return item


@pytest.mark.parametrize(("func", "why"), [
    (fail_in_child, r"ValueError: no [0-9]+ here"),  # reported with its error
    (die_in_child, r"killed by signal 9"),  # reported, not waited for
])
def test_a_child_that_fails_or_dies_is_reported(monkeypatch: pytest.MonkeyPatch,
                                                func: Callable[[int], int], why: str) -> None:
    monkeypatch.setenv("PARENT", str(os.getpid()))
    with pytest.raises(WorkerFailed, match=why):
        list(forked_map(func, list(range(100)), 2))


def slow_in_child_failing_here(item: int) -> int:
    if os.getpid() != int(os.environ["PARENT"]):
        time.sleep(30)
    elif item >= 2:
        time.sleep(0.2)  # the children have started
        raise ValueError("stop")
    return item


def test_stopping_early_ends_the_children(monkeypatch: pytest.MonkeyPatch) -> None:
    """An error in this process's share (or Ctrl-C) must not leave children behind."""
    monkeypatch.setenv("PARENT", str(os.getpid()))
    started = time.monotonic()
    seen: list[int] = []

    def watch(item: int) -> int:
        if not seen:
            seen.extend(int(p) for p in os.listdir("/proc")
                        if p.isdigit() and _parent_of(int(p)) == os.getpid())
        return slow_in_child_failing_here(item)

    with pytest.raises(ValueError, match="stop"):
        list(forked_map(watch, list(range(100)), 2))
    assert time.monotonic() - started < 10
    assert seen  # a child was running
    for pid in seen:
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
