"""What a folder looks like on disk: stat data that tells it unchanged, and its content hash.

Shared by the lint cache (an entry per blueprint folder) and its run record
(a whole run's result, valid while every input it read looks the same).
Standard library (and bpkit.fsio) only: a warm `bpkit lint` answers from these before it
imports the YAML parser or a rule.
"""

from __future__ import annotations

import hashlib
import os
import stat
import time
from pathlib import Path
from typing import Any

from bpkit.fsio import read_bytes_capped

#: A folder with more entries or bytes than this is linted afresh every time
#: (the cache must not read what the loader would refuse to).
MAX_FOLDER_ENTRIES = 2000
MAX_FOLDER_BYTES = 8 * 1024 * 1024
RACY_NS = 2_000_000_000  # files changed this recently are always hashed

Listing = list[tuple[str, str, os.stat_result]]
Rows = list[list[Any]]


def scan(real: str) -> Listing | None:
    """(relative name, path, lstat) of `real` itself ("") and everything under it, sorted.

    None when the folder is not to be cached: a symlink, a special file, an
    unreadable folder, more than MAX_FOLDER_ENTRIES entries.
    """
    try:
        out: Listing = [("", real, os.stat(real))]
    except OSError:
        return None
    todo = [(real, "")]
    while todo:
        path, rel = todo.pop()
        try:
            with os.scandir(path) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            return None
        for entry in entries:
            name = f"{rel}/{entry.name}" if rel else entry.name
            try:
                if entry.is_symlink():
                    return None
                if entry.is_dir(follow_symlinks=False):
                    todo.append((entry.path, name))
                elif not entry.is_file(follow_symlinks=False):
                    return None  # fifo, socket, device
                out.append((name, entry.path, entry.stat(follow_symlinks=False)))
            except OSError:
                return None
            if len(out) > MAX_FOLDER_ENTRIES:
                return None
    return out


def row(name: str, st: os.stat_result) -> list[Any]:
    return [name, st.st_mode, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]


def stats_of(listing: Listing) -> Rows | None:
    """The stat data that tells the folder unchanged, or None when it is too new to tell.

    What git's index trusts: mode, size, mtime, ctime (which no tool can set
    back), inode, device, of every file and folder (a folder's mtime moves
    when an entry is added, removed or renamed). A file written in the same
    clock tick as it was hashed would look unchanged, so a folder with
    anything changed in the last two seconds is read and hashed next time.
    """
    recent = time.time_ns() - RACY_NS
    out = []
    for name, _, st in listing:
        if st.st_mtime_ns > recent or st.st_ctime_ns > recent:
            return None
        out.append(row(name, st))
    return out


def unchanged(real: str, stats: Any) -> bool:
    """Whether every file and folder in `stats` still has the same stat data."""
    if not isinstance(stats, list) or not stats:
        return False
    try:
        for kept in stats:
            name = kept[0]
            if not isinstance(name, str):
                return False
            st = os.lstat(os.path.join(real, name)) if name else os.stat(real)
            if row(name, st) != kept:
                return False
    except (OSError, TypeError, IndexError, ValueError):
        return False
    return True


def seal(rows: Rows) -> tuple[list[str], str]:
    """(the names, one digest of all their stat data): a folder's rows as a run record keeps them.

    Checking a sealed folder stats the same files but compares one string,
    and a record of 1,000 folders reads in a few milliseconds instead of
    decoding 6,000 rows.
    """
    return [kept[0] for kept in rows], _sealed([value for kept in rows for value in kept[1:]])


def _sealed(values: list[Any]) -> str:
    """One digest of the stat values of a folder's rows, in order (names aside)."""
    return hashlib.blake2b(repr(values).encode("ascii"), digest_size=16).hexdigest()


def sealed_unchanged(real: str, names: Any, digest: Any) -> bool:
    """Whether the files and folders `names` under `real` still have the sealed stat data.

    A flat list of the numbers, built in one loop: the run record checks
    every blueprint folder this way, 6,000 stat calls for 1,000 blueprints,
    and a list per row cost a quarter more than the calls themselves.
    """
    if not isinstance(names, list) or not names or not isinstance(digest, str):
        return False
    prefix = real + "/"
    lstat = os.lstat
    values: list[Any] = []
    try:
        for name in names:
            st = lstat(prefix + name) if name else os.stat(real)
            values += (st.st_mode, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino,
                       st.st_dev)
    except (OSError, TypeError, ValueError):
        return False
    return _sealed(values) == digest


def file_row(path: str) -> list[Any] | None:
    """The stat row of one file outside the folders (None: absent or unreadable)."""
    try:
        return row("", os.stat(path))
    except OSError:
        return None


def fingerprint(real: str, listing: Listing) -> str | None:
    """sha256 over every name, kind and file content; None when a file cannot be read."""
    digest = hashlib.sha256(real.encode("utf-8", "surrogateescape") + b"\0")
    budget = MAX_FOLDER_BYTES
    for name, path, st in listing:
        encoded = name.encode("utf-8", "surrogateescape")
        if stat.S_ISDIR(st.st_mode):
            digest.update(b"d\0" + encoded + b"\0")
            continue
        if st.st_size > budget:
            return None  # never read what the loader would refuse to
        data = read_bytes_capped(Path(path), budget, follow=False)
        if data is None:
            return None  # a symlink or special file swapped in, unreadable, or over budget
        budget -= len(data)
        digest.update(b"f\0" + encoded + b"\0" + hashlib.sha256(data).digest())
    return digest.hexdigest()


def code_fingerprint() -> str:
    """bpkit's modules and bundled schemas, by name, size and mtime (not read)."""
    from bpkit.source.schemas import schema_dir

    package = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for top in dict.fromkeys((package, schema_dir())):
        for folder, dirs, files in os.walk(top):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(files):
                if name.endswith((".py", ".json")):
                    try:
                        st = os.stat(os.path.join(folder, name))
                    except OSError:
                        continue
                    digest.update(f"{folder}/{name}\0{st.st_size}\0{st.st_mtime_ns}\0".encode(
                        "utf-8", "surrogateescape"))
    return digest.hexdigest()
