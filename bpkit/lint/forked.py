"""Map a function over many items in forked processes, the calling one included.

`bpkit lint` on a large tree is pure-Python CPU work per blueprint, so
threads would not help. A process pool (concurrent.futures) left the
calling process idle but for unpickling, sent results back one chunk at a
time through a management thread, and cost its import and start-up: on two
cores it gave 1.3-1.5x. Here the calling process works too, beside each
forked child, and a child sends all it did back at the end, in one write
to a pipe of its own: as marshalled plain values where the caller gives a
codec (bpkit.lint.wire: pickling objects cost both sides about as much as
a tenth of the loading), else pickled.

Work is handed out as it is done, not in fixed shares: the item numbers
wait in a pipe written before the fork, and each process reads the next
one when it is free (a read from a pipe takes whole 4-byte numbers, so no
item is taken twice). A child is slower per item than the caller (its
first writes copy pages, and it pickles its answer), so fixed equal shares
left the caller waiting for it.

Children ignore Ctrl-C (the caller handles it, and kills them); a child
that dies, or whose answer is cut short, is an error naming the remedy,
never a hang; each leaves with os._exit, so nothing of the caller
(buffered output, atexit hooks, pytest) runs twice.
"""

from __future__ import annotations

import marshal
import os
import pickle
import signal
import struct
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_TOKEN = struct.Struct("=I")
#: At most this many tokens: 4 KiB, which any Linux pipe holds without blocking
#: its writer (one page, even for a user over pipe-user-pages-soft); more
#: items share a token.
_MAX_TOKENS = 1024


class WorkerFailed(Exception):
    """A child died or failed; `why` says how."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def forked_map(func: Callable[[T], R], items: Sequence[T], workers: int, *,
               encode: Callable[[R], Any] | None = None,
               decode: Callable[[Any], R] | None = None) -> Iterator[R]:
    """func(item) for each item, in order; computed by `workers` processes.

    `encode`, `decode`: a child sends encode(result) through marshal, and
    this process rebuilds it with decode, when encode gives something
    other than None and marshal can write it; other results are pickled.
    """
    per_token = max(1, -(-len(items) // _MAX_TOKENS))
    tokens = -(-len(items) // per_token)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()  # else a child's exit could write the caller's buffered output twice
    take, give = os.pipe()
    os.write(give, b"".join(_TOKEN.pack(t) for t in range(tokens)))
    os.close(give)
    os.set_blocking(take, False)
    pending: dict[int, int] = {}  # pid: read end of its answer, not yet collected
    done: dict[int, R] = {}
    try:
        for _ in range(workers - 1):
            read_end, write_end = os.pipe()
            pid = os.fork()
            if pid == 0:  # pragma: no cover - runs in the child, which leaves by os._exit
                os.close(read_end)
                _child(func, items, per_token, take, write_end, encode)
            os.close(write_end)
            pending[pid] = read_end
        for index in _taken(take, per_token, len(items)):
            done[index] = func(items[index])
        for pid, read_end in list(pending.items()):
            data = _read_all(read_end)
            del pending[pid]
            os.close(read_end)
            _, status = os.waitpid(pid, 0)
            done.update(_answer(data, status, decode))
        if len(done) != len(items):
            raise WorkerFailed(f"answers for {len(done)} of {len(items)} items")
        for index in range(len(items)):
            yield done.pop(index)
    finally:
        os.close(take)
        for pid, read_end in pending.items():  # stopped early: end the rest
            os.close(read_end)
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except OSError:
                pass


def _taken(take: int, per_token: int, count: int) -> Iterator[int]:
    """The item numbers this process takes, one token at a time, until none is left."""
    while True:
        try:
            token = os.read(take, _TOKEN.size)
        except BlockingIOError:
            return
        if len(token) != _TOKEN.size:
            return  # cannot happen with whole tokens: taken as the end
        first = _TOKEN.unpack(token)[0] * per_token
        yield from range(first, min(first + per_token, count))


def _child(func: Callable[[T], R], items: Sequence[T], per_token: int, take: int,
           write_end: int,
           encode: Callable[[R], Any] | None) -> None:  # pragma: no cover - in the child
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        plain: list[tuple[int, bytes]] = []  # marshalled encodings
        raw: list[tuple[int, R]] = []  # the rest, pickled
        for index in _taken(take, per_token, len(items)):
            result = func(items[index])
            encoded = encode(result) if encode is not None else None
            if encoded is not None:
                try:
                    plain.append((index, marshal.dumps(encoded)))
                    continue
                except ValueError:  # a type marshal does not write, or nested too deep
                    pass
            raw.append((index, result))
        payload = pickle.dumps(("ok", plain, raw), protocol=pickle.HIGHEST_PROTOCOL)
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


def _answer(data: bytes, status: int,
            decode: Callable[[Any], R] | None) -> list[tuple[int, R]]:
    if os.WIFSIGNALED(status):
        raise WorkerFailed(f"killed by signal {os.WTERMSIG(status)}")
    try:
        kind, *value = pickle.loads(data)  # noqa: S301 - our own child's answer
    except Exception:
        raise WorkerFailed("its answer was cut short (exit status "
                           f"{os.waitstatus_to_exitcode(status)})") from None
    if kind != "ok":
        raise WorkerFailed(str(value[0]))
    plain, raw = value
    answers: list[tuple[int, R]] = list(raw)
    if plain:
        if decode is None:
            raise WorkerFailed("encoded answers without a decoder")
        answers.extend((index, decode(marshal.loads(blob)))  # noqa: S302 - as above
                       for index, blob in plain)
    return answers
