"""Helm-compatible, byte-reproducible chart archives, without helm.

`build` writes what `helm package` writes (Helm 4's pkg/chart/v2/util/save.go
on top of its directory loader) with three deliberate differences, all so
that the same sources always give the same bytes and the same OCI digest:

- every tar entry gets the `mtime` given (see `source_date`), not the file's
  modification time;
- Chart.yaml keeps its original bytes (Helm re-marshals it; Helm loads both
  the same way, and comments survive);
- the deflate stream comes from zlib at level 9 (Go's compressor gives
  other bytes; any gzip reader reads both).

Everything else follows Helm: the file set (.helmignore plus Helm's default
rule, symlinks followed, `charts/.*` and `charts/_*` dropped), the order
(Chart.yaml, values.yaml, values.schema.json, templates in walk order, then
the other files in walk order), a leading UTF-8 BOM removed from each file,
Go archive/tar's header layout (USTAR, a PAX header only for names USTAR
cannot hold, mode 0644, uid/gid 0, no user/group names, no directory
entries, no padding after the end blocks) and Helm's gzip header (mtime 0,
an Extra field, comment "Helm").

`collect` refuses what is unsafe to publish (a symlink leaving the chart,
dangling or looping; fifos, sockets, devices; unreadable files; file names
that are not UTF-8) or that Helm would refuse or mangle; `inspect` is a
bounded, strict reader for .tgz files, used to verify what is published.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import stat
import struct
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from bpkit.errors import GitError, PackageError, UsageError
from bpkit.helmignore import HelmIgnore

__all__ = [
    "DEFAULT_EPOCH",
    "MAX_CHART_SIZE",
    "MAX_FILE_SIZE",
    "ArchiveMember",
    "Entry",
    "Offence",
    "archive_name",
    "build",
    "collect",
    "inspect",
    "pack",
    "scan",
    "source_date",
]

#: Helm's loader limits (pkg/chart/loader/archive DefaultChartLoadOptions):
#: a file may hold at most MAX_FILE_SIZE bytes; all files together must stay
#: *below* MAX_CHART_SIZE (Helm fails when the remaining budget reaches 0).
MAX_FILE_SIZE = 5 * 1024 * 1024
MAX_CHART_SIZE = 100 * 1024 * 1024

#: The timestamp used when neither SOURCE_DATE_EPOCH nor git can give one:
#: 1980-01-01T00:00:00Z, the earliest time a zip file can hold, the usual
#: choice of reproducible-build tools.
DEFAULT_EPOCH = 315532800

# Largest mtime a USTAR header holds in 11 octal digits (year 2242).
_MAX_MTIME = 8**11 - 1
# Bound on walked files and folders: stops symlink fan-out from running away.
_MAX_WALK_ENTRIES = 20_000
# Bound on the decompressed tar stream in `inspect`: the data limit plus room
# for headers; a gzip bomb stops here.
_MAX_TAR_STREAM = MAX_CHART_SIZE + 16 * 1024 * 1024
# Go's archive/tar limit for PAX and GNU long-name records.
_MAX_SPECIAL = 1024 * 1024
_CHUNK = 64 * 1024

_BOM = b"\xef\xbb\xbf"
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
_DRIVE = re.compile(r"[A-Za-z]:\Z")


@dataclass(frozen=True)
class Entry:
    """One file of the chart: `path` relative to the chart folder, `/`-separated.

    `data` is what goes in the archive: the file's bytes less a leading UTF-8
    BOM (Helm's loader drops it too).
    """

    path: str
    data: bytes


@dataclass(frozen=True)
class ArchiveMember:
    """One regular file found by `inspect`."""

    name: str  # full member name, e.g. "bp-flux/templates/x.yaml"
    path: str  # the same without the top folder, e.g. "templates/x.yaml"
    size: int
    sha256: str  # hex
    mode: int
    mtime: int


def archive_name(name: str, version: str) -> str:
    """The file name Helm gives a packaged chart."""
    _check_component(name, "chart name")
    _check_component(version, "chart version")
    return f"{name}-{version}.tgz"


# --------------------------------------------------------------------------
# Collecting the files
# --------------------------------------------------------------------------


def _show(path: str) -> str:
    """A path fit for a one-line message."""
    shown = path.encode("utf-8", "backslashreplace").decode("utf-8")
    if shown.isprintable():
        return shown
    return repr(shown)[1:-1]


class Offence(PackageError):
    """One file of the chart that cannot be packaged, and why.

    `path` is relative to the chart folder; `fatal` when the walk cannot go
    on after it (a limit reached, an unreadable .helmignore).
    """

    def __init__(self, path: str, reason: str, *, fatal: bool = False) -> None:
        super().__init__(f"{_show(path)}: {reason}")
        self.path = path
        self.reason = reason
        self.fatal = fatal


class _Walker:
    """Helm's sympath.Walk + loader.LoadDir, refusing what is unsafe.

    With `offences` a list, each refused file is added to it and the walk
    goes on; without, the first one raises.
    """

    def __init__(self, root: bytes, rules: HelmIgnore,
                 offences: list[Offence] | None = None) -> None:
        self.root = root
        self.rules = rules
        self.offences = offences
        self.files: list[Entry] = []
        self.total = 0
        self.seen = 0

    def inside(self, real: bytes) -> bool:
        return real == self.root or real.startswith(self.root.rstrip(b"/") + b"/")

    def walk(self, real_dir: bytes, rel: str, ancestors: frozenset[bytes]) -> None:
        try:
            names = sorted(os.listdir(real_dir))
        except OSError as exc:
            raise Offence(rel or ".", f"cannot list folder: {exc.strerror}") from None
        for bname in names:
            self.seen += 1
            if self.seen > _MAX_WALK_ENTRIES:
                raise Offence(rel or ".", f"more than {_MAX_WALK_ENTRIES} files", fatal=True)
            name = bname.decode("utf-8", "surrogateescape")
            relpath = f"{rel}/{name}" if rel else name
            try:
                self.visit(os.path.join(real_dir, bname), relpath, ancestors)
            except Offence as exc:
                if self.offences is None or exc.fatal:
                    raise
                self.offences.append(exc)

    def visit(self, path: bytes, rel: str, ancestors: frozenset[bytes]) -> None:
        try:
            st = os.lstat(path)
        except OSError as exc:
            raise Offence(rel, f"cannot stat: {exc.strerror}") from None
        real = path
        if stat.S_ISLNK(st.st_mode):
            try:
                real = os.path.realpath(path, strict=True)
            except OSError as exc:
                # Dangling or looping: Helm fails too, unless it is ignored.
                if self.rules.ignored(rel, False):
                    return
                what = "symlink loop" if exc.errno == errno.ELOOP else "dangling symlink"
                raise Offence(rel, f"{what}; cannot package it") from None
            try:
                st = os.stat(real)
            except OSError as exc:
                raise Offence(rel, f"cannot stat link target: {exc.strerror}") from None
            if self.rules.ignored(rel, stat.S_ISDIR(st.st_mode)):
                return
            if not self.inside(real):
                raise Offence(rel, "symlink points outside the chart folder; "
                              "refusing to package it")
        elif self.rules.ignored(rel, stat.S_ISDIR(st.st_mode)):
            return
        self.check_name(rel)
        if stat.S_ISDIR(st.st_mode):
            if real in ancestors:
                raise Offence(rel, "symlink loop (points to a parent folder)")
            self.walk(real, rel, ancestors | {real})
            return
        if not stat.S_ISREG(st.st_mode):
            raise Offence(rel, f"{_kind(st.st_mode)} cannot be packaged")
        data = _read_regular(real, st, rel)
        if data.startswith(_BOM):
            data = data[len(_BOM) :]
        self.total += len(data)
        if self.total >= MAX_CHART_SIZE:
            raise Offence(rel, f"chart files add up to {MAX_CHART_SIZE} bytes or more, "
                          "Helm's limit", fatal=True)
        self.files.append(Entry(rel, data))

    def check_name(self, rel: str) -> None:
        try:
            rel.encode("utf-8")
        except UnicodeEncodeError:
            raise Offence(rel, "file name is not valid UTF-8") from None
        if "\\" in rel:
            raise Offence(rel, "file name holds a backslash, which Helm reads as a separator")
        first = rel.split("/", 1)[0]
        if first.startswith(".."):
            raise Offence(rel, "Helm refuses names starting with '..'")
        if _DRIVE.match(first):
            raise Offence(rel, "Helm refuses a folder named like a drive")


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "named pipe (fifo)"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device file"
    return "special file"


def _read_regular(path: bytes, st: os.stat_result, rel: str) -> bytes:
    """Read a regular file, refusing a swap for a link or special file."""
    if st.st_size > MAX_FILE_SIZE:
        raise Offence(rel, f"{st.st_size} bytes, larger than Helm's limit of {MAX_FILE_SIZE}")
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise Offence(rel, f"cannot read: {exc.strerror}") from None
    try:
        now = os.fstat(fd)
        if not stat.S_ISREG(now.st_mode) or (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino):
            raise Offence(rel, "changed while packaging")
        parts: list[bytes] = []
        size = 0
        while True:
            chunk = os.read(fd, _CHUNK)
            if not chunk:
                break
            size += len(chunk)
            if size > MAX_FILE_SIZE:
                raise Offence(rel, f"larger than Helm's limit of {MAX_FILE_SIZE} bytes")
            parts.append(chunk)
    except OSError as exc:
        raise Offence(rel, f"cannot read: {exc.strerror}") from None
    finally:
        os.close(fd)
    return b"".join(parts)


def _load_rules(root: bytes) -> HelmIgnore:
    path = os.path.join(root, b".helmignore")
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return HelmIgnore().with_defaults()
    except OSError as exc:
        raise Offence(".helmignore", f"cannot stat: {exc.strerror}", fatal=True) from None
    real = path
    if stat.S_ISLNK(st.st_mode):
        try:
            real = os.path.realpath(path, strict=True)
        except OSError:
            raise Offence(".helmignore", "symlink is dangling or loops", fatal=True) from None
        root_prefix = root.rstrip(b"/") + b"/"
        if not real.startswith(root_prefix):
            raise Offence(".helmignore", "symlink points outside the chart folder", fatal=True)
        st = os.stat(real)
    if not stat.S_ISREG(st.st_mode):
        raise Offence(".helmignore", "not a regular file", fatal=True)
    return HelmIgnore.parse(_read_regular(real, st, ".helmignore")).with_defaults()


def collect(chart_dir: Path) -> list[Entry]:
    """The files `helm package` would put in the archive, in Helm's order.

    Raises PackageError (one line, naming the path relative to the chart
    folder) at the first thing unsafe or that Helm would refuse.
    """
    return _run(chart_dir, None)


def scan(chart_dir: Path) -> tuple[list[Entry], list[Offence]]:
    """What `collect` returns, plus every offence instead of only the first.

    For lint, which names each offending file. The entries then leave out
    the offending files, so they are not what packaging would produce.
    Still raises PackageError when the chart folder itself is unusable.
    """
    offences: list[Offence] = []
    entries = _run(chart_dir, offences)
    return entries, offences


def _run(chart_dir: Path, offences: list[Offence] | None) -> list[Entry]:
    try:
        root = os.path.realpath(os.fsencode(chart_dir), strict=True)
    except OSError:
        raise PackageError(f"{chart_dir}: chart folder not found") from None
    if not os.path.isdir(root):
        raise PackageError(f"{chart_dir}: not a folder")
    try:
        walker = _Walker(root, _load_rules(root), offences)
        walker.walk(root, "", frozenset({root}))
    except Offence as exc:  # fatal: nothing sensible can follow
        if offences is None:
            raise
        offences.append(exc)
        return []
    return _helm_order(walker.files, offences)


def _helm_order(files: Sequence[Entry], offences: list[Offence] | None = None) -> list[Entry]:
    """Sort into save.go's order, after loader.LoadFiles' sorting into parts."""

    def refuse(offence: Offence) -> None:
        if offences is None:
            raise offence
        offences.append(offence)

    chart: Entry | None = None
    values: Entry | None = None
    schema: Entry | None = None
    templates: list[Entry] = []
    others: list[Entry] = []
    for entry in files:
        p = entry.path
        if p == "Chart.yaml":
            chart = entry
        elif p in ("Chart.lock", "requirements.yaml", "requirements.lock"):
            refuse(Offence(p, "wrapper charts have no dependencies; "
                              "delete it or add it to .helmignore"))
        elif p == "values.yaml":
            values = entry
        elif p == "values.schema.json":
            schema = entry
        elif p.startswith("templates/"):
            templates.append(entry)
        elif p.startswith("charts/"):
            if p.endswith(".prov"):  # Helm keeps provenance files as plain files
                others.append(entry)
            elif p.split("/", 2)[1][:1] in ("_", "."):
                continue  # Helm skips these (e.g. charts/.gitkeep) and drops them
            else:
                refuse(Offence(p, "wrapper charts have no subcharts; "
                                  "delete it or add it to .helmignore"))
        else:
            others.append(entry)
    if chart is None:
        refuse(Offence("Chart.yaml", "missing (or left out by .helmignore)"))
    if schema is not None:
        try:
            _check_json(schema)
        except Offence as exc:
            refuse(exc)
            schema = None
    head = [e for e in (chart, values, schema) if e is not None]
    return head + templates + others


def _check_json(entry: Entry) -> None:
    def bad_constant(name: str) -> object:
        raise ValueError(name)

    try:
        json.loads(entry.data.decode("utf-8"), parse_constant=bad_constant)
    except ValueError:
        raise Offence(entry.path, "not valid JSON; Helm refuses to package it") from None


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
    if isinstance(mtime, bool) or not isinstance(mtime, int) or not 0 <= mtime <= _MAX_MTIME:
        raise PackageError(f"timestamp {mtime!r} is outside 0..{_MAX_MTIME}")


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


def _gzip(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS, 8, zlib.Z_DEFAULT_STRATEGY)
    body = compressor.compress(data) + compressor.flush()
    trailer = struct.pack("<II", zlib.crc32(data) & 0xFFFFFFFF, len(data) & 0xFFFFFFFF)
    return _GZIP_HEADER + body + trailer


def pack(entries: Sequence[Entry], *, name: str, mtime: int) -> bytes:
    """The .tgz bytes for `entries` (in the order given) under folder `name`."""
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
    return _gzip(b"".join(parts))


def build(chart_dir: Path, *, name: str, version: str, mtime: int) -> bytes:
    """The reproducible .tgz of the chart in `chart_dir`.

    `name` is the top folder (Helm uses the chart's name); `version` is
    checked to make a valid file name (see `archive_name`); `mtime` is every
    entry's timestamp, in seconds since the epoch (see `source_date`).
    """
    archive_name(name, version)
    _check_mtime(mtime)
    return pack(collect(chart_dir), name=name, mtime=mtime)


# --------------------------------------------------------------------------
# The reproducible timestamp
# --------------------------------------------------------------------------


def source_date(blueprint_dir: Path) -> tuple[int, str]:
    """The timestamp to stamp on archives, and where it came from.

    In order: the SOURCE_DATE_EPOCH environment variable (when set and not
    empty; UsageError unless it is a whole number of seconds in 0..8**11-1);
    the committer time of the last commit touching `blueprint_dir`; else
    DEFAULT_EPOCH. Git being absent, the folder not being in a repository
    or having no commits fall through to the default; a shallow clone whose
    history is cut before the folder's last change raises GitError, since
    its answer would differ from a full clone's.
    """
    env = os.environ.get("SOURCE_DATE_EPOCH", "")
    if env:
        if not re.fullmatch(r"[0-9]{1,12}", env) or int(env) > _MAX_MTIME:
            raise UsageError(
                f"SOURCE_DATE_EPOCH={env!r} is not a whole number of seconds "
                f"between 0 and {_MAX_MTIME}"
            )
        return int(env), "SOURCE_DATE_EPOCH"
    found = _git_date(Path(blueprint_dir))
    if found is not None:
        return found
    return DEFAULT_EPOCH, "default (1980-01-01T00:00:00Z)"


def _git_date(folder: Path) -> tuple[int, str] | None:
    try:
        import git
    except ImportError:  # gitpython absent, or no git executable
        return None
    try:
        repo = git.Repo(folder, search_parent_directories=True)
    except (git.exc.InvalidGitRepositoryError, git.exc.NoSuchPathError, OSError):
        return None
    try:
        worktree = repo.working_tree_dir
        if worktree is None:
            return None
        top = os.path.realpath(worktree)
        here = os.path.realpath(folder)
        rel = os.path.relpath(here, top)
        if rel == ".." or rel.startswith("../"):
            return None
        spec = "." if rel == "." else f":(literal){rel}"
        out = repo.git.log("-1", "--format=%H %ct", "--", spec)
        if not out.strip():
            return None
        sha, _, stamp = out.strip().partition(" ")
        if _is_shallow_boundary(repo, sha):
            raise GitError(
                f"{folder}: the shallow clone's history ends at {sha[:12]}, so the last change "
                "to this folder is unknown; fetch full history or set SOURCE_DATE_EPOCH"
            )
        return int(stamp), f"git commit {sha[:12]}"
    except (git.exc.GitCommandError, git.exc.GitCommandNotFound, ValueError, OSError):
        return None  # e.g. no commits yet
    finally:
        repo.close()


def _is_shallow_boundary(repo: object, sha: str) -> bool:
    git_dir = getattr(repo, "common_dir", None) or getattr(repo, "git_dir", "")
    shallow = Path(str(git_dir)) / "shallow"
    try:
        return sha in shallow.read_text().split()
    except OSError:
        return False


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
        if self.total > _MAX_TAR_STREAM:
            raise PackageError(
                f"archive: decompresses to more than {_MAX_TAR_STREAM} bytes; refusing it"
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
    if rest.startswith("..") or _DRIVE.match(parts[1] if len(parts) > 1 else ""):
        raise PackageError(f"archive: member {shown!r} has a name Helm refuses")
    return name, rest


def inspect(data: bytes) -> list[ArchiveMember]:
    """Read a chart .tgz strictly; return its regular files in archive order.

    Refuses (PackageError, one line) what Helm would refuse or what could
    harm whoever unpacks it: absolute names, `..`, links, devices, fifos,
    more than one top folder, files outside it, duplicate names, files over
    MAX_FILE_SIZE, MAX_CHART_SIZE or more in total, non-UTF-8 names, a
    missing Chart.yaml, data after the end, and anything that decompresses
    to more than MAX_CHART_SIZE + 16 MiB. Memory stays bounded.
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
            if size > _MAX_SPECIAL:
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
        if size > MAX_FILE_SIZE:
            raise PackageError(
                f"archive: member {_show(name)!r} is {size} bytes, over Helm's limit of "
                f"{MAX_FILE_SIZE}"
            )
        total += size
        if total >= MAX_CHART_SIZE:
            raise PackageError(f"archive: files add up to {MAX_CHART_SIZE} bytes or more")
        digest = hashlib.sha256()
        for piece in stream.chunks(size):
            digest.update(piece)
        _skip(stream, -size % _BLOCK)
        members.append(
            ArchiveMember(
                name=name,
                path=rest,
                size=size,
                sha256=digest.hexdigest(),
                mode=_parse_number(block[100:108]),
                mtime=_parse_number(block[136:148]),
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

