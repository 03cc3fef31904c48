"""The lint cache's files: one header line vouching for a JSON body.

Both the per-folder packs (bpkit.lint.cache) and the run records
(bpkit.lint.record) are written and read here: a header line (magic,
format, key, the body's sha256), then the body. A file whose header or
checksum does not match, that is not a regular file or is too big is
simply absent to its reader; nothing is unpickled. Writes go through
`fsio.atomic_write` (imported only then: a warm lint that reads a record
writes nothing).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bpkit.fsio import read_bytes_capped
from bpkit.problem import Level, Problem

_LEVELS = {level.value: level for level in Level}
_MAX_HEADER = 1024


def dumps(data: Any) -> str:
    # ASCII with \u escapes: lone surrogates (file names that are not UTF-8) survive.
    return json.dumps(data, ensure_ascii=True, allow_nan=False, separators=(",", ":"))


def write(file: Path, body: Any, *, magic: str, fmt: int, key: str, max_bytes: int) -> bool:
    """Write `body` under its header; False (nothing written) when it cannot be."""
    try:
        encoded = dumps(body).encode("ascii")
    except (ValueError, TypeError, RecursionError, UnicodeError):
        return False
    header = {"magic": magic, "format": fmt, "key": key,
              "sha256": hashlib.sha256(encoded).hexdigest()}
    data = dumps(header).encode() + b"\n" + encoded
    if len(data) > max_bytes:
        return False
    from bpkit.fsio import atomic_write

    try:
        atomic_write(file, data)
    except OSError:  # a read-only tree, a full disk: lint worked, the cache did not
        return False
    return True


def read(file: Path, *, magic: str, fmt: int, key: str, max_bytes: int) -> Any:
    """The body of `file` when its header and checksum match, else None."""
    raw = read_bytes_capped(file, max_bytes, follow=False)
    if raw is None:
        return None
    line, _, encoded = raw.partition(b"\n")
    if len(line) > _MAX_HEADER:
        return None
    try:
        header = json.loads(line)
        if not (isinstance(header, dict) and header.get("magic") == magic
                and header.get("format") == fmt and header.get("key") == key
                and header.get("sha256") == hashlib.sha256(encoded).hexdigest()):
            return None
        return json.loads(encoded)
    except (ValueError, RecursionError):
        return None


def prune(directory: Path, pattern: str, keep: int, current: Path) -> None:
    """Keep `current` and the newest `keep - 1` other files matching `pattern`."""
    with contextlib.suppress(OSError):
        others = sorted((p for p in directory.glob(pattern) if p != current),
                        key=lambda p: p.stat().st_mtime, reverse=True)
        for old in others[keep - 1:]:
            old.unlink()


def problem_rows(problems: Sequence[Problem]) -> list[list[Any]]:
    return [[p.path, p.line, p.col, p.rule, p.level.value, p.message] for p in problems]


def problems_from(rows: Any) -> list[Problem]:
    """Problems back from `problem_rows`; ValueError for anything of another shape."""
    if not isinstance(rows, list):
        raise ValueError("problems must be a list")
    out = []
    for row in rows:
        if not (isinstance(row, list) and len(row) == 6):
            raise ValueError("a problem is six fields")
        path, line, col, rule, level, message = row
        if not (isinstance(path, str) and type(line) is int and type(col) is int
                and line >= 0 and col >= 0 and isinstance(rule, str)
                and isinstance(message, str) and level in _LEVELS):
            raise ValueError("a problem field has the wrong type")
        out.append(Problem(path, line, col, rule, _LEVELS[level], message))
    return out
