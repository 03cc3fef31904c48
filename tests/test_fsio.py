"""Bounded reads: the cap holds whatever the file does, and only regular files are read."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bpkit.fsio import read_bytes_capped, read_capped


class Growing(io.RawIOBase):
    """A file that is `real` bytes long although fstat said less (it grew meanwhile)."""

    def __init__(self, real: int) -> None:
        self.left = real

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        n = min(len(buffer), self.left)
        buffer[:n] = b"x" * n
        self.left -= n
        return n


@settings(max_examples=200, deadline=None)
@given(real=st.integers(0, 5000), told=st.integers(0, 5000), cap=st.integers(0, 3000))
def test_never_more_than_cap_plus_one_and_whole_when_within(real: int, told: int,
                                                            cap: int) -> None:
    data = read_capped(io.BufferedReader(Growing(real)), cap, told)
    assert len(data) == min(real, cap + 1)


def test_regular_files_only(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert read_bytes_capped(fifo, 100) is None  # no hang: opened without blocking
    assert read_bytes_capped(Path("/dev/zero"), 100) is None
    assert read_bytes_capped(tmp_path, 100) is None
    assert read_bytes_capped(tmp_path / "missing", 100) is None


def test_over_the_cap_is_none_and_symlinks_are_followed_only_when_asked(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.write_bytes(b"a" * 10)
    link = tmp_path / "link"
    link.symlink_to(target)
    assert read_bytes_capped(target, 10) == b"a" * 10
    assert read_bytes_capped(target, 9) is None
    assert read_bytes_capped(link, 10) == b"a" * 10
    assert read_bytes_capped(link, 10, follow=False) is None


@pytest.mark.parametrize("size", [0, 1, 4096, 70_000])
def test_exact_bytes_back(tmp_path: Path, size: int) -> None:
    path = tmp_path / "f"
    path.write_bytes(os.urandom(size))
    assert read_bytes_capped(path, 1 << 20) == path.read_bytes()


@pytest.mark.parametrize("rel", ["a", "a/b.yaml", "x y/ü", "."])
def test_display_path_is_relpath_under_the_working_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rel: str) -> None:
    from bpkit.yamlio.load import display_path

    monkeypatch.chdir(tmp_path)
    for path in (tmp_path / rel, tmp_path.parent / "elsewhere" / rel, tmp_path / ".." / rel,
                 Path(rel)):
        expected = os.path.relpath(path)
        assert display_path(path) == (str(path) if expected.startswith("..") else expected)
