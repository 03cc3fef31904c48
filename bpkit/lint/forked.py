"""Map a function over many items in forked processes, the calling one included.

`bpkit lint` on a large tree is pure-Python CPU work per blueprint, so
threads would not help. A process pool (concurrent.futures) left the
calling process idle but for unpickling, sent results back one chunk at a
time through a management thread, and cost its import and start-up: on two
cores it gave 1.3-1.5x. Here the calling process takes the first share
itself, each forked child one of the others, and a child sends its whole
share back at the end, pickled once, through a pipe of its own.

Children ignore Ctrl-C (the caller handles it, and kills them); a child
that dies, or whose answer is cut short, is an error naming the remedy,
never a hang; each leaves with os._exit, so nothing of the caller
(buffered output, atexit hooks, pytest) runs twice.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


class WorkerFailed(Exception):
    """A child died or failed; `why` says how."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def shares(count: int, workers: int, own: float) -> list[tuple[int, int]]:
    """[start, end) of each process's share; the first, the caller's, is `own` of an equal one.

    Equal by default: the caller unpickles the children's answers while a
    child pickles its own, and measured on two cores (1,000 blueprints, own
    0.8 to 1.1) nothing else told the shares apart beyond the noise.
    """
    weights = [own] + [1.0] * (workers - 1)
    total = sum(weights)
    bounds, start, acc = [], 0, 0.0
    for weight in weights:
        acc += weight
        end = round(count * acc / total)
        bounds.append((start, end))
        start = end
    return bounds


def forked_map(func: Callable[[T], R], items: Sequence[T], workers: int, *,
               own: float = 1.0) -> Iterator[R]:
    """func(item) for each item, in order; computed by `workers` processes."""
    bounds = shares(len(items), workers, own)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()  # else a child's exit could write the caller's buffered output twice
    pending: dict[int, tuple[int, int]] = {}  # pid: (read end, items), not yet collected
    try:
        for start, end in bounds[1:]:
            read_end, write_end = os.pipe()
            pid = os.fork()
            if pid == 0:  # pragma: no cover - runs in the child, which leaves by os._exit
                os.close(read_end)
                _child(func, items[start:end], write_end)
            os.close(write_end)
            pending[pid] = (read_end, end - start)
        start, end = bounds[0]
        for item in items[start:end]:
            yield func(item)
        for pid, (read_end, count) in list(pending.items()):
            data = _read_all(read_end)
            del pending[pid]
            os.close(read_end)
            _, status = os.waitpid(pid, 0)
            yield from _answer(data, status, count)
    finally:
        for pid, (read_end, _count) in pending.items():  # stopped early: end the rest
            os.close(read_end)
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except OSError:
                pass


def _child(func: Callable[[T], R], items: Sequence[T],
           write_end: int) -> None:  # pragma: no cover - runs in the child
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        payload = pickle.dumps(("ok", [func(item) for item in items]),
                               protocol=pickle.HIGHEST_PROTOCOL)
    except BaseException as exc:
        payload = pickle.dumps(("failed", f"{type(exc).__name__}: {exc}"))
    try:
        with os.fdopen(write_end, "wb") as out:
            out.write(payload)
    except BaseException:
        code = 1
    os._exit(code)


def _read_all(fd: int) -> bytes:
    parts: list[bytes] = []
    while True:
        part = os.read(fd, 1 << 20)
        if not part:
            return b"".join(parts)
        parts.append(part)


def _answer(data: bytes, status: int, count: int) -> list[R]:
    if os.WIFSIGNALED(status):
        raise WorkerFailed(f"killed by signal {os.WTERMSIG(status)}")
    try:
        kind, value = pickle.loads(data)  # noqa: S301 - our own child's answer
    except Exception:
        raise WorkerFailed("its answer was cut short (exit status "
                           f"{os.waitstatus_to_exitcode(status)})") from None
    if kind != "ok":
        raise WorkerFailed(str(value))
    if len(value) != count:
        raise WorkerFailed(f"it answered {len(value)} of {count}")
    return list(value)
