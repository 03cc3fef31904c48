"""Properties of the readers of git's batch output (bpkit.history.changes).

`git cat-file --batch` answers are framed by sizes, and tree objects are
binary records, so names with line breaks, spaces or any byte but NUL and
`/` must come back exactly; a truncated or garbled answer must be a
GitError (a one-line message), never another exception.
"""

from __future__ import annotations

import contextlib
import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bpkit.errors import GitError
from bpkit.history.changes import _batch_objects, _parse_tree

names = st.binary(min_size=1, max_size=40).filter(lambda b: b"\0" not in b and b"/" not in b)
modes = st.sampled_from([0o100644, 0o100755, 0o120000, 0o040000, 0o160000])
oids = st.binary(min_size=20, max_size=20)
entries = st.dictionaries(names, st.tuples(modes, oids), max_size=30)


def tree_bytes(items: dict[bytes, tuple[int, bytes]]) -> bytes:
    return b"".join(f"{mode:o} ".encode() + name + b"\0" + oid
                    for name, (mode, oid) in items.items())


@settings(max_examples=200, deadline=None)
@given(entries)
def test_tree_objects_round_trip(items: dict[bytes, tuple[int, bytes]]) -> None:
    parsed = _parse_tree(tree_bytes(items), 20)
    assert set(parsed) == set(items)
    for name, (mode, oid) in items.items():
        entry = parsed[name]
        assert (entry.mode, entry.oid) == (mode, oid.hex())
        assert entry.kind == {0o040000: "tree", 0o160000: "commit"}.get(mode, "blob")


@settings(max_examples=200, deadline=None)
@given(entries, st.integers(min_value=1, max_value=200))
def test_truncated_trees_are_git_errors(items: dict[bytes, tuple[int, bytes]],
                                        cut: int) -> None:
    data = tree_bytes(items)
    if not data:
        return
    with contextlib.suppress(GitError):  # the only way it may fail
        _parse_tree(data[: max(0, len(data) - cut)], 20)


contents = st.lists(st.binary(max_size=300), max_size=10)


def batch(blobs: list[bytes]) -> tuple[bytes, list[str]]:
    out, ids = b"", []
    for data in blobs:
        oid = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        ids.append(oid)
        out += f"{oid} blob {len(data)}\n".encode() + data + b"\n"
    return out, ids


@settings(max_examples=200, deadline=None)
@given(contents)
def test_batch_answers_round_trip(blobs: list[bytes]) -> None:
    out, ids = batch(blobs)
    missing = b"0" * 40 + b" missing\n"
    got = list(_batch_objects(missing + out + missing))
    assert [(oid, kind, data) for oid, kind, data in got] == [
        (oid, "blob", data) for oid, data in zip(ids, blobs, strict=True)]


@settings(max_examples=200, deadline=None)
@given(contents.filter(bool), st.integers(min_value=1, max_value=400))
def test_truncated_batch_answers_are_git_errors(blobs: list[bytes], cut: int) -> None:
    out, _ = batch(blobs)
    with contextlib.suppress(GitError):
        list(_batch_objects(out[: max(0, len(out) - cut)]))


def test_odd_header_bytes_are_not_a_crash() -> None:
    assert list(_batch_objects(b"\xff\xfe blob 1\nx\n")) == [("\ufffd\ufffd", "blob", b"x")]
    with pytest.raises(GitError):
        _parse_tree(b"1z0644 name\0" + bytes(20), 20)


def test_a_malformed_tree_names_git() -> None:
    with pytest.raises(GitError, match="malformed tree object"):
        _parse_tree(b"100644 name-without-nul", 20)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_parse_or_are_git_errors(data: bytes) -> None:
    with contextlib.suppress(GitError):
        _parse_tree(data, 20)
    with contextlib.suppress(GitError):
        list(_batch_objects(data))
