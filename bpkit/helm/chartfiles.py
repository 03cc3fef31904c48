"""The files `helm package` would archive, collected safely and in Helm's order.

`collect` follows Helm 4 (pkg/chart/v2/loader's directory loader and
save.go): the file set (.helmignore plus Helm's default rule, symlinks
followed, `charts/.*` and `charts/_*` dropped), the order (Chart.yaml,
values.yaml, values.schema.json, templates in walk order, then the other
files in walk order) and a leading UTF-8 BOM removed from each file.

It refuses what is unsafe to publish (a symlink leaving the chart,
dangling or looping; fifos, sockets, devices; unreadable files; file names
that are not UTF-8) or that Helm would refuse or mangle, naming the path
relative to the chart folder. Writing the archive is `bpkit.helm.tgz`.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bpkit.errors import PackageError
from bpkit.helm.helmignore import HelmIgnore
from bpkit.limits import CHART_MAX_WALK_ENTRIES, HELM_MAX_CHART_BYTES, HELM_MAX_FILE_BYTES
from bpkit.text import show_path as _show

__all__ = ["DRIVE_NAME", "VENDORED_FILES", "Entry", "Offence", "collect", "scan"]

#: What vendors dependencies into a chart, and why a wrapper must not have it.
VENDORED_FILES = {
    "charts": "a charts/ folder vendors subcharts into the package",
    "Chart.lock": "Chart.lock pins a dependencies: block a wrapper must not have",
    "requirements.yaml": "requirements.yaml declares Helm 2 dependencies",
    "requirements.lock": "requirements.lock pins Helm 2 dependencies",
}

_CHUNK = 64 * 1024
_BOM = b"\xef\xbb\xbf"
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIR_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_DIRECTORY | _CLOEXEC
# O_NONBLOCK: a fifo swapped in after the stat must not hang the open.
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | _CLOEXEC
#: A first path part Helm refuses (it reads it as a Windows drive).
DRIVE_NAME = re.compile(r"[A-Za-z]:\Z")


@dataclass(frozen=True)
class Entry:
    """One file of the chart: `path` relative to the chart folder, `/`-separated.

    `data` is what goes in the archive: the file's bytes less a leading UTF-8
    BOM (Helm's loader drops it too).
    """

    path: str
    data: bytes


# --------------------------------------------------------------------------
# Collecting the files
# --------------------------------------------------------------------------


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

    Everything is opened relative to directory descriptors beneath the
    chart folder's own descriptor, never by path and never following a
    symlink the walk did not resolve and check itself: a folder swapped
    for a link while packaging makes an open fail, so the archive holds
    chart bytes or nothing. With `offences` a list, each refused file is
    added to it and the walk goes on; without, the first one raises.
    """

    def __init__(self, root: bytes, root_fd: int, rules: HelmIgnore,
                 offences: list[Offence] | None = None) -> None:
        self.root = root  # real path of the chart folder, when the walk began
        self.root_fd = root_fd
        self.rules = rules
        self.offences = offences
        self.files: list[Entry] = []
        self.total = 0
        self.seen = 0

    def inside(self, real: bytes) -> bool:
        return real == self.root or real.startswith(self.root.rstrip(b"/") + b"/")

    def walk(self, dir_fd: int, real_dir: bytes, rel: str,
             ancestors: frozenset[tuple[int, int]]) -> None:
        try:
            names = sorted(os.fsencode(n) for n in os.listdir(dir_fd))
        except OSError as exc:
            raise Offence(rel or ".", f"cannot list folder: {exc.strerror}") from None
        for bname in names:
            self.seen += 1
            if self.seen > CHART_MAX_WALK_ENTRIES:
                raise Offence(rel or ".", f"more than {CHART_MAX_WALK_ENTRIES} files", fatal=True)
            name = bname.decode("utf-8", "surrogateescape")
            relpath = f"{rel}/{name}" if rel else name
            try:
                self.visit(dir_fd, bname, real_dir, relpath, ancestors)
            except Offence as exc:
                if self.offences is None or exc.fatal:
                    raise
                self.offences.append(exc)

    def visit(self, dir_fd: int, bname: bytes, real_dir: bytes, rel: str,
              ancestors: frozenset[tuple[int, int]]) -> None:
        try:
            st = os.stat(bname, dir_fd=dir_fd, follow_symlinks=False)
        except OSError as exc:
            raise Offence(rel, f"cannot stat: {exc.strerror}") from None
        parent_fd, leaf, real = dir_fd, bname, os.path.join(real_dir, bname)
        owned: int | None = None  # a descriptor opened here for a link's target folder
        try:
            if stat.S_ISLNK(st.st_mode):
                try:
                    real = os.path.realpath(real, strict=True)
                except OSError as exc:
                    # Dangling or looping: Helm fails too, unless it is ignored.
                    if self.rules.ignored(rel, False):
                        return
                    what = "symlink loop" if exc.errno == errno.ELOOP else "dangling symlink"
                    raise Offence(rel, f"{what}; cannot package it") from None
                if not self.inside(real):
                    try:
                        is_dir = stat.S_ISDIR(os.stat(real).st_mode)
                    except OSError:
                        is_dir = False
                    if self.rules.ignored(rel, is_dir):
                        return
                    raise Offence(rel, "symlink points outside the chart folder; "
                                  "refusing to package it")
                # The target, reached again from the chart folder's descriptor.
                owned, leaf = self.beneath(real, rel)
                parent_fd = owned if owned is not None else self.root_fd
                try:
                    st = os.stat(leaf, dir_fd=parent_fd, follow_symlinks=False)
                except OSError as exc:
                    raise Offence(rel, f"cannot stat link target: {exc.strerror}") from None
                if stat.S_ISLNK(st.st_mode):
                    raise Offence(rel, "changed while packaging")
                if self.rules.ignored(rel, stat.S_ISDIR(st.st_mode)):
                    return
            elif self.rules.ignored(rel, stat.S_ISDIR(st.st_mode)):
                return
            self.check_name(rel)
            if stat.S_ISDIR(st.st_mode):
                ident = (st.st_dev, st.st_ino)
                if ident in ancestors:
                    raise Offence(rel, "symlink loop (points to a parent folder)")
                fd = _open_dir(parent_fd, leaf, st, rel)
                try:
                    self.walk(fd, real, rel, ancestors | {ident})
                finally:
                    os.close(fd)
                return
            if not stat.S_ISREG(st.st_mode):
                raise Offence(rel, f"{_kind(st.st_mode)} cannot be packaged")
            data = _read_regular(parent_fd, leaf, st, rel)
        finally:
            if owned is not None and owned != self.root_fd:
                os.close(owned)
        if data.startswith(_BOM):
            data = data[len(_BOM) :]
        self.total += len(data)
        if self.total >= HELM_MAX_CHART_BYTES:
            raise Offence(rel, f"chart files add up to {HELM_MAX_CHART_BYTES} bytes or more, "
                          "Helm's limit", fatal=True)
        self.files.append(Entry(rel, data))

    def beneath(self, real: bytes, rel: str) -> tuple[int | None, bytes]:
        """A descriptor of the folder holding `real` (None: the chart folder), and its name.

        Each folder on the way is opened with O_NOFOLLOW from the one above,
        so a folder replaced by a link since `realpath` looked fails here.
        """
        parts = os.path.relpath(real, self.root).split(b"/")  # [b"."]: the chart itself
        fd: int | None = None
        try:
            for part in parts[:-1]:
                at = fd if fd is not None else self.root_fd
                try:
                    new = os.open(part, _DIR_FLAGS, dir_fd=at)
                except OSError:
                    raise Offence(rel, "changed while packaging") from None
                if fd is not None:
                    os.close(fd)
                fd = new
        except BaseException:
            if fd is not None:
                os.close(fd)
            raise
        return fd, parts[-1]

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
        if DRIVE_NAME.match(first):
            raise Offence(rel, "Helm refuses a folder named like a drive")


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "named pipe (fifo)"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device file"
    return "special file"


def _same(opened: os.stat_result, st: os.stat_result) -> bool:
    return (opened.st_dev, opened.st_ino) == (st.st_dev, st.st_ino)


def _open_dir(dir_fd: int, name: bytes, st: os.stat_result, rel: str) -> int:
    """Open a sub-folder without following a link, and check it is the one looked at."""
    try:
        fd = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise Offence(rel, "changed while packaging") from None
        raise Offence(rel, f"cannot list folder: {exc.strerror}") from None
    if not _same(os.fstat(fd), st):
        os.close(fd)
        raise Offence(rel, "changed while packaging")
    return fd


def _read_regular(dir_fd: int, name: bytes, st: os.stat_result, rel: str) -> bytes:
    """Read a regular file, refusing a swap for a link, another file or a special file."""
    if st.st_size > HELM_MAX_FILE_BYTES:
        raise Offence(rel, f"{st.st_size} bytes, larger than Helm's limit of {HELM_MAX_FILE_BYTES}")
    try:
        fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise Offence(rel, "changed while packaging") from None
        raise Offence(rel, f"cannot read: {exc.strerror}") from None
    try:
        now = os.fstat(fd)
        if not stat.S_ISREG(now.st_mode) or not _same(now, st):
            raise Offence(rel, "changed while packaging")
        parts: list[bytes] = []
        size = 0
        while True:
            chunk = os.read(fd, _CHUNK)
            if not chunk:
                break
            size += len(chunk)
            if size > HELM_MAX_FILE_BYTES:
                raise Offence(rel, f"larger than Helm's limit of {HELM_MAX_FILE_BYTES} bytes")
            parts.append(chunk)
    except OSError as exc:
        raise Offence(rel, f"cannot read: {exc.strerror}") from None
    finally:
        os.close(fd)
    return b"".join(parts)


def _load_rules(walker: _Walker) -> HelmIgnore:
    name = b".helmignore"
    try:
        st = os.stat(name, dir_fd=walker.root_fd, follow_symlinks=False)
    except FileNotFoundError:
        return HelmIgnore().with_defaults()
    except OSError as exc:
        raise Offence(".helmignore", f"cannot stat: {exc.strerror}", fatal=True) from None
    parent_fd, leaf, owned = walker.root_fd, name, None
    try:
        if stat.S_ISLNK(st.st_mode):
            try:
                real = os.path.realpath(os.path.join(walker.root, name), strict=True)
            except OSError:
                raise Offence(".helmignore", "symlink is dangling or loops", fatal=True) from None
            if not real.startswith(walker.root.rstrip(b"/") + b"/"):
                raise Offence(".helmignore", "symlink points outside the chart folder",
                              fatal=True)
            try:
                owned, leaf = walker.beneath(real, ".helmignore")
                parent_fd = owned if owned is not None else walker.root_fd
                st = os.stat(leaf, dir_fd=parent_fd, follow_symlinks=False)
            except (Offence, OSError):
                raise Offence(".helmignore", "changed while packaging", fatal=True) from None
        if not stat.S_ISREG(st.st_mode):
            raise Offence(".helmignore", "not a regular file", fatal=True)
        try:
            data = _read_regular(parent_fd, leaf, st, ".helmignore")
        except Offence as exc:
            raise Offence(exc.path, exc.reason, fatal=True) from None
    finally:
        if owned is not None:
            os.close(owned)
    return HelmIgnore.parse(data).with_defaults()


def collect(chart_dir: Path, *, within: Path | None = None) -> list[Entry]:
    """The files `helm package` would put in the archive, in Helm's order.

    With `within` (the repository), the chart folder must resolve inside
    it. Raises PackageError (one line, naming the path relative to the
    chart folder) at the first thing unsafe or that Helm would refuse.
    """
    return _run(chart_dir, None, within)


def scan(chart_dir: Path, *, within: Path | None = None) -> tuple[list[Entry], list[Offence]]:
    """What `collect` returns, plus every offence instead of only the first.

    For lint, which names each offending file. The entries then leave out
    the offending files, so they are not what packaging would produce.
    Still raises PackageError when the chart folder itself is unusable.
    """
    offences: list[Offence] = []
    entries = _run(chart_dir, offences, within)
    return entries, offences


def _open_root(chart_dir: Path, within: Path | None) -> tuple[bytes, int]:
    """The chart folder's real path and a descriptor of it.

    With `within`, the descriptor is reached from the repository's one
    folder at a time with O_NOFOLLOW, so it cannot be a folder outside.
    """
    try:
        root = os.path.realpath(os.fsencode(chart_dir), strict=True)
    except OSError:
        raise PackageError(f"{chart_dir}: chart folder not found") from None
    if not os.path.isdir(root):
        raise PackageError(f"{chart_dir}: not a folder")
    if within is None:
        try:
            fd = os.open(root, _DIR_FLAGS)
        except OSError as exc:
            raise PackageError(f"{chart_dir}: cannot open the chart folder: {exc.strerror}"
                               ) from None
        return root, fd
    try:
        top = os.path.realpath(os.fsencode(within), strict=True)
    except OSError:
        raise PackageError(f"{within}: repository folder not found") from None
    prefix = top.rstrip(b"/") + b"/"
    if root != top and not root.startswith(prefix):
        raise PackageError(f"the chart folder resolves to {_show(os.fsdecode(root))}, "
                           "outside the repository; refusing to package it")
    try:
        fd = os.open(top, _DIR_FLAGS & ~os.O_NOFOLLOW)
    except OSError as exc:
        raise PackageError(f"{within}: cannot open the repository folder: {exc.strerror}"
                           ) from None
    for part in os.path.relpath(root, top).split(b"/"):
        if part == b".":
            continue
        try:
            new = os.open(part, _DIR_FLAGS, dir_fd=fd)
        except OSError:
            os.close(fd)
            raise PackageError("the chart folder changed while packaging") from None
        os.close(fd)
        fd = new
    return root, fd


def _run(chart_dir: Path, offences: list[Offence] | None,
         within: Path | None = None) -> list[Entry]:
    root, fd = _open_root(chart_dir, within)
    try:
        walker = _Walker(root, fd, HelmIgnore(), offences)
        walker.rules = _load_rules(walker)
        walker.walk(fd, root, "", frozenset({_ident(fd)}))
    except Offence as exc:  # fatal: nothing sensible can follow
        if offences is None:
            raise
        offences.append(exc)
        return []
    finally:
        os.close(fd)
    return _helm_order(walker.files, offences)


def _ident(fd: int) -> tuple[int, int]:
    st = os.fstat(fd)
    return st.st_dev, st.st_ino


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
