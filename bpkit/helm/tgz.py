"""Helm-compatible, byte-reproducible chart archives (.tgz), and a strict reader.

`pack` writes what `helm package` writes (Helm 4's pkg/chart/v2/util/save.go)
with three deliberate differences, all so that the same sources always give
the same bytes and the same OCI digest:

- every tar entry gets the `mtime` given (see `bpkit.history.epoch`), not
  the file's modification time;
- Chart.yaml keeps its original bytes (Helm re-marshals it; Helm loads both
  the same way, and comments survive);
- the deflate stream comes from zlib at level 9 (Go's compressor gives
  other bytes; any gzip reader reads both).

Everything else follows Helm: Go archive/tar's header layout (USTAR, a PAX
header only for names USTAR cannot hold, mode 0644, uid/gid 0, no
user/group names, no directory entries, no padding after the end blocks)
and Helm's gzip header (mtime 0, an Extra field, comment "Helm").

`inspect` is a bounded, strict reader for .tgz files, used to verify what
is published and to read upstream charts: size caps, no links, no `..`,
one top folder.
"""

from __future__ import annotations

import hashlib
import re
import struct
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from bpkit.errors import PackageError
from bpkit.helm.chartfiles import DRIVE_NAME, Entry, collect
from bpkit.limits import (
    HELM_MAX_CHART_BYTES,
    HELM_MAX_FILE_BYTES,
    TAR_MAX_SPECIAL_RECORD,
    TAR_MAX_STREAM,
)
from bpkit.text import show_path as _show

__all__ = ["MAX_MTIME", "ArchiveMember", "archive_name", "build", "build_both", "inspect",
           "pack", "pack_both", "recompress"]

#: Largest mtime a USTAR header holds in 11 octal digits (year 2242).
MAX_MTIME = 8**11 - 1
_CHUNK = 64 * 1024
_BLOCK = 512
_ZERO_BLOCK = bytes(_BLOCK)
# Helm 4's gzip header: flags FEXTRA|FCOMMENT, mtime 0, XFL 0, OS 255, then
# the Extra field (one "rr" subfield) and the comment "Helm". Read from
# helm.sh/helm/v4 4.3.0 (save.go `headerBytes`) and checked against
# `helm package` output in tests/integration/test_archive_helm.py.
_GZIP_EXTRA = b"rr(\x00aHR0cHM6Ly95b3V0dS5iZS96OVV6MWljandyTQo="
_GZIP_HEADER = (
    b"\x1f\x8b\x08\x14\x00\x00\x00\x00\x00\xff"
    + struct.pack("<H", len(_GZIP_EXTRA))
    + _GZIP_EXTRA
    + b"Helm\x00"
)


@dataclass(frozen=True)
class ArchiveMember:
    """One regular file found by `inspect`."""

    name: str  # full member name, e.g. "bp-flux/templates/x.yaml"
    path: str  # the same without the top folder, e.g. "templates/x.yaml"
    size: int
    sha256: str  # hex
    mode: int
    mtime: int
    data: bytes | None = None  # the bytes, when `inspect` was asked to keep them


def archive_name(name: str, version: str) -> str:
    """The file name Helm gives a packaged chart."""
    _check_component(name, "chart name")
    _check_component(version, "chart version")
    return f"{name}-{version}.tgz"


# --------------------------------------------------------------------------
# Writing the archive
# --------------------------------------------------------------------------


def _check_component(value: str, what: str) -> None:
    if (
        not value
        or value in (".", "..")
        or "/" in value
        or "\\" in value
        or "\x00" in value
        or not value.isprintable()
    ):
        raise PackageError(f"{what} {value!r} cannot be a file name")


def _check_mtime(mtime: int) -> None:
    if isinstance(mtime, bool) or not isinstance(mtime, int) or not 0 <= mtime <= MAX_MTIME:
        raise PackageError(f"timestamp {mtime!r} is outside 0..{MAX_MTIME}")


def _octal(value: int, width: int) -> bytes:
    """Go's formatOctal: zero-padded digits, then a NUL."""
    return b"%0*o\x00" % (width - 1, value)


def _field(value: bytes, width: int) -> bytes:
    """Go's formatString for a field `width` wide (value already fits)."""
    return value[:width].ljust(width, b"\x00")


def _with_checksum(block: bytearray) -> bytes:
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\x00 " % sum(block)
    return bytes(block)


def _ustar_split(name: bytes) -> tuple[bytes, bytes] | None:
    """Go's splitUSTARPath: (prefix, name) or None."""
    length = len(name)
    if length <= 100 or not name.isascii():
        return None
    if length > 156:
        length = 156
    elif name[length - 1 : length] == b"/":
        length -= 1
    i = name.rfind(b"/", 0, length)
    nlen = len(name) - i - 1
    if i <= 0 or nlen > 100 or nlen == 0 or i > 155:
        return None
    return name[:i], name[i + 1 :]


def _header(name: bytes, size: int, mtime: int, typeflag: bytes, prefix: bytes = b"") -> bytes:
    """A header as Go's templateV7Plus + setFormat(USTAR/PAX) lays it out."""
    b = bytearray(_BLOCK)
    b[0:100] = _name_field(name)
    b[100:108] = _octal(0o644, 8)
    b[108:116] = _octal(0, 8)
    b[116:124] = _octal(0, 8)
    b[124:136] = _octal(size, 12)
    b[136:148] = _octal(mtime, 12)
    b[156:157] = typeflag
    b[257:263] = b"ustar\x00"
    b[263:265] = b"00"
    b[329:337] = _octal(0, 8)
    b[337:345] = _octal(0, 8)
    b[345:500] = _field(prefix, 155)
    return _with_checksum(b)


def _name_field(name: bytes) -> bytes:
    field = bytearray(_field(name, 100))
    if len(name) > 100 and field[99:100] == b"/":
        field[len(name[:99].rstrip(b"/"))] = 0
    return bytes(field)


def _pax_record(key: str, value: str) -> bytes:
    """Go's formatPAXRecord: "<len> key=value\\n", len counting itself."""
    body = f" {key}={value}\n".encode()
    size = len(body) + len(str(len(body)))
    if len(str(size)) + len(body) != size:
        size = len(str(size)) + len(body)
    return str(size).encode() + body


def _pax_header(name: str, data: bytes) -> bytes:
    """Go's writeRawFile for the 'x' entry ahead of a long or non-ASCII name."""
    head, _, base = name.rpartition("/")
    pax_name = f"{head}/PaxHeaders.0/{base}" if head else f"PaxHeaders.0/{base}"
    ascii_name = "".join(c for c in pax_name if ord(c) < 0x80).encode()[:100].rstrip(b"/")
    b = bytearray(_BLOCK)
    b[0:100] = _field(ascii_name, 100)
    b[100:108] = _octal(0, 8)
    b[108:116] = _octal(0, 8)
    b[116:124] = _octal(0, 8)
    b[124:136] = _octal(len(data), 12)
    b[136:148] = _octal(0, 12)
    b[156:157] = b"x"
    b[257:263] = b"ustar\x00"
    b[263:265] = b"00"
    return _with_checksum(b) + _pad(data)


def _pad(data: bytes) -> bytes:
    return data + bytes(-len(data) % _BLOCK)


def _tar_member(name: str, data: bytes, mtime: int) -> bytes:
    raw = name.encode("utf-8")
    if len(raw) <= 100 and raw.isascii():
        return _header(raw, len(data), mtime, b"0") + _pad(data)
    split = _ustar_split(raw)
    if split is not None:
        prefix, rest = split
        return _header(rest, len(data), mtime, b"0", prefix) + _pad(data)
    # PAX: the real name in a record; the main header holds an ASCII stand-in.
    ext = _pax_header(name, _pax_record("path", name))
    stand_in = "".join(c for c in name if ord(c) < 0x80).encode()
    return ext + _header(stand_in, len(data), mtime, b"0") + _pad(data)


def _gzip(data: bytes, level: int = 9) -> bytes:
    compressor = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS, 8, zlib.Z_DEFAULT_STRATEGY)
    body = compressor.compress(data) + compressor.flush()
    trailer = struct.pack("<II", zlib.crc32(data) & 0xFFFFFFFF, len(data) & 0xFFFFFFFF)
    return _GZIP_HEADER + body + trailer


def recompress(tar: bytes, level: int) -> bytes:
    """The .tgz of `tar` at another zlib level (tests: a zlib that compresses differently)."""
    return _gzip(tar, level)


def pack(entries: Sequence[Entry], *, name: str, mtime: int) -> bytes:
    """The .tgz bytes for `entries` (in the order given) under folder `name`."""
    return pack_both(entries, name=name, mtime=mtime)[0]


def pack_both(entries: Sequence[Entry], *, name: str, mtime: int,
              level: int = 9) -> tuple[bytes, bytes]:
    """The .tgz bytes and the tar bytes they compress.

    The tar is the same on every machine; the gzip stream depends on the
    zlib build (zlib-ng compresses differently), so the tar's digest is what
    tells "the same release, compressed elsewhere" (see
    `bpkit.oci.artifact.CONTENT_DIGEST`). `level` other than 9 is for tests
    that play such a machine.
    """
    _check_component(name, "chart name")
    _check_mtime(mtime)
    seen: set[str] = set()
    parts: list[bytes] = []
    for entry in entries:
        parts_of_path = entry.path.split("/")
        if any(p in ("", ".", "..") for p in parts_of_path) or "\\" in entry.path:
            raise PackageError(f"{_show(entry.path)}: not a clean relative path")
        if entry.path in seen:
            raise PackageError(f"{_show(entry.path)}: listed twice")
        seen.add(entry.path)
        parts.append(_tar_member(f"{name}/{entry.path}", entry.data, mtime))
    parts.append(_ZERO_BLOCK * 2)
    tar = b"".join(parts)
    return _gzip(tar, level), tar


def build(chart_dir: Path, *, name: str, version: str, mtime: int,
          within: Path | None = None) -> bytes:
    """The reproducible .tgz of the chart in `chart_dir`.

    `name` is the top folder (Helm uses the chart's name); `version` is
    checked to make a valid file name (see `archive_name`); `mtime` is every
    entry's timestamp, in seconds since the epoch (see `source_date`);
    `within`, the repository the chart folder must resolve inside.
    """
    return build_both(chart_dir, name=name, version=version, mtime=mtime, within=within)[0]


def build_both(chart_dir: Path, *, name: str, version: str, mtime: int,
               within: Path | None = None) -> tuple[bytes, bytes]:
    """`build`'s .tgz and the uncompressed tar inside it (see `pack_both`)."""
    archive_name(name, version)
    _check_mtime(mtime)
    return pack_both(collect(chart_dir, within=within), name=name, mtime=mtime)



# --------------------------------------------------------------------------
# Reading an archive back, safely
# --------------------------------------------------------------------------


class _Gunzip:
    """A gzip stream decompressed in bounded steps, with a cap on its size."""

    def __init__(self, data: bytes) -> None:
        self._src = memoryview(data)
        self._pos = 0
        self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._buf = bytearray()
        self.total = 0

    def _fill(self) -> bool:
        if self._z.eof:
            return False
        if self._z.unconsumed_tail:
            chunk = self._z.unconsumed_tail
        elif self._pos < len(self._src):
            chunk = bytes(self._src[self._pos : self._pos + _CHUNK])
            self._pos += len(chunk)
        else:
            raise PackageError("archive: gzip stream is truncated")
        try:
            out = self._z.decompress(chunk, _CHUNK)
        except zlib.error as exc:
            raise PackageError(f"archive: not a valid gzip stream ({exc})") from None
        self.total += len(out)
        if self.total > TAR_MAX_STREAM:
            raise PackageError(
                f"archive: decompresses to more than {TAR_MAX_STREAM} bytes; refusing it"
            )
        self._buf += out
        if self._z.eof and (self._z.unused_data or self._pos < len(self._src)):
            raise PackageError("archive: data after the end of the gzip stream")
        return True

    def read(self, n: int) -> bytes:
        while len(self._buf) < n and self._fill():
            pass
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out

    def chunks(self, n: int) -> Iterator[bytes]:
        """Exactly n bytes, in pieces; PackageError if the stream ends first."""
        while n > 0:
            piece = self.read(min(n, _CHUNK))
            if not piece:
                raise PackageError("archive: tar stream is truncated")
            n -= len(piece)
            yield piece


def _skip(stream: _Gunzip, n: int) -> None:
    for _ in stream.chunks(n):
        pass


def _parse_number(field: bytes) -> int:
    if field[:1] == b"\x80":  # GNU base-256, positive
        return int.from_bytes(field[1:], "big")
    if field[:1] and field[0] & 0x80:
        raise PackageError("archive: negative number in a tar header")
    text = field.replace(b"\x00", b" ").strip()
    if not text:
        return 0
    if not re.fullmatch(rb"[0-7]+", text):
        raise PackageError("archive: corrupt number in a tar header")
    return int(text, 8)


def _check_header(block: bytes) -> None:
    unsigned = sum(block[:148]) + 8 * 0x20 + sum(block[156:])
    signed = (
        sum(b - 256 if b > 127 else b for b in block[:148])
        + 8 * 0x20
        + sum(b - 256 if b > 127 else b for b in block[156:])
    )
    if _parse_number(block[148:156]) not in (unsigned, signed):
        raise PackageError("archive: tar header checksum mismatch")


def _cstring(field: bytes) -> bytes:
    return field.split(b"\x00", 1)[0]


def _parse_pax(data: bytes) -> dict[str, str]:
    records: dict[str, str] = {}
    text = data
    while text:
        length_text, sep, _ = text.partition(b" ")
        if not sep or not length_text.isdigit():
            raise PackageError("archive: corrupt PAX header")
        length = int(length_text)
        if length <= len(length_text) + 1 or length > len(text):
            raise PackageError("archive: corrupt PAX header")
        record, text = text[:length], text[length:]
        if not record.endswith(b"\n") or b"=" not in record:
            raise PackageError("archive: corrupt PAX header")
        key, _, value = record[len(length_text) + 1 : -1].partition(b"=")
        try:
            records[key.decode("utf-8")] = value.decode("utf-8")
        except UnicodeDecodeError:
            raise PackageError("archive: PAX header is not valid UTF-8") from None
    return records


def _member_path(raw: bytes, top: list[str], is_dir: bool) -> tuple[str, str]:
    """(full name, path below the top folder) after every safety check."""
    try:
        name = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise PackageError(
            f"archive: member name {_show(raw.decode('utf-8', 'surrogateescape'))} "
            "is not valid UTF-8"
        ) from None
    shown = _show(name)
    if is_dir and name.endswith("/"):
        name = name[:-1]
    if not name or name.startswith("/"):
        raise PackageError(f"archive: member {shown!r} has an absolute or empty name")
    if "\\" in name:
        raise PackageError(f"archive: member {shown!r} holds a backslash")
    parts = name.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise PackageError(f"archive: member {shown!r} has an empty, '.' or '..' component")
    if not top:
        top.append(parts[0])
    elif parts[0] != top[0]:
        raise PackageError(
            f"archive: member {shown!r} is outside the top folder {_show(top[0])!r}"
        )
    rest = "/".join(parts[1:])
    if not is_dir and not rest:
        raise PackageError(f"archive: member {shown!r} is not inside a folder")
    if rest.startswith("..") or DRIVE_NAME.match(parts[1] if len(parts) > 1 else ""):
        raise PackageError(f"archive: member {shown!r} has a name Helm refuses")
    return name, rest


def inspect(data: bytes, *, keep: Callable[[str], bool] | None = None) -> list[ArchiveMember]:
    """Read a chart .tgz strictly; return its regular files in archive order.

    Refuses (PackageError, one line) what Helm would refuse or what could
    harm whoever unpacks it: absolute names, `..`, links, devices, fifos,
    more than one top folder, files outside it, duplicate names, files over
    HELM_MAX_FILE_BYTES, HELM_MAX_CHART_BYTES or more in total, non-UTF-8 names, a
    missing Chart.yaml, data after the end, and anything that decompresses
    to more than HELM_MAX_CHART_BYTES + 16 MiB. Memory stays bounded.

    `keep(path)` (path without the top folder, e.g. "values.yaml" or
    "charts/x-1.0.0.tgz") says which members' bytes to return in `data`:
    reading an upstream chart's values goes through the same strict reader.
    """
    stream = _Gunzip(data)
    members: list[ArchiveMember] = []
    names: set[str] = set()
    top: list[str] = []
    total = 0
    pax: dict[str, str] = {}
    long_name: bytes | None = None
    while True:
        block = stream.read(_BLOCK)
        if not block:
            break
        if len(block) < _BLOCK:
            raise PackageError("archive: tar stream is truncated")
        if block == _ZERO_BLOCK:
            while piece := stream.read(_CHUNK):
                if piece.count(0) != len(piece):
                    raise PackageError("archive: data after the end of the tar stream")
            break
        _check_header(block)
        typeflag = block[156:157]
        size = _parse_number(block[124:136])
        if typeflag in (b"x", b"g", b"L", b"K"):
            if size > TAR_MAX_SPECIAL_RECORD:
                raise PackageError("archive: oversized PAX or long-name header")
            special = b"".join(stream.chunks(size))
            _skip(stream, -size % _BLOCK)
            if typeflag == b"x":
                pax = _parse_pax(special)
            elif typeflag == b"L":
                long_name = _cstring(special)
            continue
        raw = _cstring(block[0:100])
        if block[257:263] == b"ustar\x00":
            prefix = _cstring(block[345:500])
            if prefix:
                raw = prefix + b"/" + raw
        if long_name is not None:
            raw = long_name
        if "path" in pax:
            raw = pax["path"].encode("utf-8")
        if "size" in pax:
            if not pax["size"].isdigit():
                raise PackageError("archive: corrupt PAX size")
            size = int(pax["size"])
        pax, long_name = {}, None
        if typeflag == b"\x00":
            typeflag = b"5" if raw.endswith(b"/") else b"0"
        is_dir = typeflag == b"5"
        if typeflag not in (b"0", b"5"):
            kind = {
                b"1": "hard link",
                b"2": "symlink",
                b"3": "character device",
                b"4": "block device",
                b"6": "fifo",
            }.get(typeflag, f"entry of type {typeflag!r}")
            shown = _show(raw.decode("utf-8", "surrogateescape"))
            raise PackageError(f"archive: member {shown!r} is a {kind}; only files are allowed")
        name, rest = _member_path(raw, top, is_dir)
        if is_dir:
            if size:
                raise PackageError(f"archive: folder member {_show(name)!r} has data")
            continue
        if name in names:
            raise PackageError(f"archive: member {_show(name)!r} appears twice")
        names.add(name)
        if size > HELM_MAX_FILE_BYTES:
            raise PackageError(
                f"archive: member {_show(name)!r} is {size} bytes, over Helm's limit of "
                f"{HELM_MAX_FILE_BYTES}"
            )
        total += size
        if total >= HELM_MAX_CHART_BYTES:
            raise PackageError(f"archive: files add up to {HELM_MAX_CHART_BYTES} bytes or more")
        digest = hashlib.sha256()
        kept: list[bytes] | None = [] if keep is not None and keep(rest) else None
        for piece in stream.chunks(size):
            digest.update(piece)
            if kept is not None:
                kept.append(bytes(piece))
        _skip(stream, -size % _BLOCK)
        members.append(
            ArchiveMember(
                name=name,
                path=rest,
                size=size,
                sha256=digest.hexdigest(),
                mode=_parse_number(block[100:108]),
                mtime=_parse_number(block[136:148]),
                data=b"".join(kept) if kept is not None else None,
            )
        )
    if not members:
        raise PackageError("archive: no files in the chart archive")
    if "Chart.yaml" not in {m.path for m in members}:
        raise PackageError(f"archive: {_show(top[0])}/Chart.yaml is missing")
    # Read to the end so the gzip CRC and length are checked.
    while stream.read(_CHUNK):
        pass
    return members
