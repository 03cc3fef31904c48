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
            if self.seen > CHART_MAX_WALK_ENTRIES:
                raise Offence(rel or ".", f"more than {CHART_MAX_WALK_ENTRIES} files", fatal=True)
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
        if self.total >= HELM_MAX_CHART_BYTES:
            raise Offence(rel, f"chart files add up to {HELM_MAX_CHART_BYTES} bytes or more, "
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


def _read_regular(path: bytes, st: os.stat_result, rel: str) -> bytes:
    """Read a regular file, refusing a swap for a link or special file."""
    if st.st_size > HELM_MAX_FILE_BYTES:
        raise Offence(rel, f"{st.st_size} bytes, larger than Helm's limit of {HELM_MAX_FILE_BYTES}")
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
            if size > HELM_MAX_FILE_BYTES:
                raise Offence(rel, f"larger than Helm's limit of {HELM_MAX_FILE_BYTES} bytes")
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
