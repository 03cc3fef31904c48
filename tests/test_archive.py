"""bpkit.helm.chartfiles and .tgz: reproducible, Helm-shaped chart archives, a strict reader."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import shutil
import socket
import stat
import subprocess
import sys
import tarfile
import time
import tracemalloc
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from bpkit.errors import GitError, PackageError, UsageError
from bpkit.helm import chartfiles
from bpkit.helm.chartfiles import Entry, collect
from bpkit.helm.helmignore import HelmIgnoreSyntaxError
from bpkit.helm.tgz import archive_name, build, inspect, pack
from bpkit.history.epoch import DEFAULT_EPOCH, source_date
from bpkit.limits import HELM_MAX_CHART_BYTES as MAX_CHART_SIZE
from bpkit.limits import HELM_MAX_FILE_BYTES as MAX_FILE_SIZE
from tests.helpers.git import git

MTIME = 1_700_000_000

CHART: dict[str, bytes] = {
    "Chart.yaml": b"apiVersion: v2\nname: bp-demo\n# wraps the upstream chart\nversion: 1.2.3\n",
    "values.yaml": (
        b"catalystBlueprint:\n  upstream:\n    chart: demo\n    version: 1.0.0\n"
        b"    repo: https://charts.example.com\n"
    ),
    "values.schema.json": b'{"type": "object"}\n',
    "templates/configmap.yaml": (
        b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n"
    ),
    "templates/_helpers.tpl": b'{{- define "demo.name" -}}demo{{- end -}}\n',
    "templates/.hidden.yaml": b"left out by Helm's default rule\n",
    ".helmignore": b"# build junk\n*.bak\nnotes/\n",
    "README.md": b"\xef\xbb\xbf# demo\n",  # the BOM goes, as in Helm
    "notes/todo.txt": b"ignored folder\n",
    "old.bak": b"ignored file\n",
    "a/b.txt": b"nested\n",
    "a-b.txt": b"dash\n",
    "charts/.gitkeep": b"",
}

# Helm's order: Chart.yaml, values.yaml, values.schema.json, templates, then
# the rest as sympath.Walk meets them (each folder sorted, depth first, so
# "a/b.txt" comes before "a-b.txt" although "-" sorts before "/").
ORDER = [
    "Chart.yaml",
    "values.yaml",
    "values.schema.json",
    "templates/_helpers.tpl",
    "templates/configmap.yaml",
    ".helmignore",
    "README.md",
    "a/b.txt",
    "a-b.txt",
]

# sha256 of the uncompressed tar stream of CHART at MTIME: pins the layout.
GOLDEN_TAR_SHA256 = "398a0d4ef378501a4732dd0c403127260d29328c703d1979c8a516d583a4ba9c"

HELM_GZIP_HEADER = (
    b"\x1f\x8b\x08\x14\x00\x00\x00\x00\x00\xff,\x00"
    b"rr(\x00aHR0cHM6Ly95b3V0dS5iZS96OVV6MWljandyTQo=Helm\x00"
)


def write_chart(root: Path, files: dict[str, bytes], *, reverse: bool = False) -> Path:
    names = sorted(files, reverse=reverse)
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(files[name])
    return root


@pytest.fixture
def chart(tmp_path: Path) -> Path:
    return write_chart(tmp_path / "chart", CHART)


def members(data: bytes) -> list[tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return tar.getmembers()


# -- Collect ----------------------------------------------------------------


def test_collect_order_and_ignores(chart: Path) -> None:
    entries = collect(chart)
    assert [e.path for e in entries] == ORDER
    by_path = {e.path: e.data for e in entries}
    assert by_path["README.md"] == b"# demo\n"
    assert by_path["Chart.yaml"] == CHART["Chart.yaml"]  # comments kept


def test_build_names_and_content(chart: Path) -> None:
    data = build(chart, name="bp-demo", version="1.2.3", mtime=MTIME)
    infos = members(data)
    assert [m.name for m in infos] == [f"bp-demo/{p}" for p in ORDER]
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        f = tar.extractfile("bp-demo/values.yaml")
        assert f is not None
        assert f.read() == CHART["values.yaml"]


def test_tar_headers_are_gos(chart: Path) -> None:
    data = build(chart, name="bp-demo", version="1.2.3", mtime=MTIME)
    raw = gzip.decompress(data)
    for m in members(data):
        assert m.type == tarfile.REGTYPE
        assert m.mode == 0o644
        assert (m.uid, m.gid, m.uname, m.gname) == (0, 0, "", "")
        assert m.mtime == MTIME
        assert m.pax_headers == {}
    first = raw[:512]
    assert first[100:108] == b"0000644\x00"
    assert first[108:124] == b"0000000\x000000000\x00"
    assert first[136:148] == b"%011o\x00" % MTIME
    assert first[156:157] == b"0"
    assert first[257:265] == b"ustar\x0000"
    assert first[265:329] == bytes(64)  # empty uname, gname
    assert first[329:345] == b"0000000\x000000000\x00"
    # Go ends with two zero blocks and no padding to a 10 KiB record.
    assert raw.endswith(bytes(1024))
    assert len(raw) == sum(512 + -(-m.size // 512) * 512 for m in members(data)) + 1024


def test_gzip_header_is_helms(chart: Path) -> None:
    data = build(chart, name="bp-demo", version="1.2.3", mtime=MTIME)
    assert data.startswith(HELM_GZIP_HEADER)
    with gzip.GzipFile(fileobj=io.BytesIO(data)) as gz:
        gz.read()
        assert gz.mtime == 0


def test_golden_tar_stream(chart: Path) -> None:
    data = build(chart, name="bp-demo", version="1.2.3", mtime=MTIME)
    assert hashlib.sha256(gzip.decompress(data)).hexdigest() == GOLDEN_TAR_SHA256


# sha256 of the whole .tgz: also pins zlib's deflate output (zlib 1.2.x/1.3.x).
GOLDEN_TGZ_SHA256 = "c8abf3d5310870addfe06794af20e6baf97ae7ddfaba47d42e9145ed2e6e5f36"


@pytest.mark.skipif(
    "ng" in zlib.ZLIB_RUNTIME_VERSION, reason="zlib-ng deflates to other bytes"
)
def test_golden_tgz(chart: Path) -> None:
    # If this fails while test_golden_tar_stream passes, this Python's zlib
    # compresses differently: archives (and OCI digests) made here will not
    # match those made elsewhere.
    data = build(chart, name="bp-demo", version="1.2.3", mtime=MTIME)
    assert hashlib.sha256(data).hexdigest() == GOLDEN_TGZ_SHA256, zlib.ZLIB_RUNTIME_VERSION


def test_mtime_is_the_argument(chart: Path) -> None:
    a = build(chart, name="bp-demo", version="1.2.3", mtime=0)
    b = build(chart, name="bp-demo", version="1.2.3", mtime=1)
    assert a != b
    assert {m.mtime for m in members(a)} == {0}


def test_reproducible_across_checkouts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = write_chart(tmp_path / "one" / "chart", CHART)
    reference = build(first, name="bp-demo", version="1.2.3", mtime=MTIME)

    # A second checkout: elsewhere, files made in the other order under
    # another umask, other permissions and mtimes, another TZ and locale.
    old_umask = os.umask(0o077)
    try:
        second = write_chart(tmp_path / "x" / "deeper" / "other-name", CHART, reverse=True)
    finally:
        os.umask(old_umask)
    for i, path in enumerate(sorted(second.rglob("*"))):
        if path.is_file():
            path.chmod(0o600 if i % 2 else 0o755)
        os.utime(path, (1_000_000 + i * 7919, 1_000_000 + i * 7919))
    monkeypatch.setenv("TZ", "Asia/Kathmandu")
    monkeypatch.setenv("LC_ALL", "C")
    monkeypatch.chdir(second.parent)
    time.tzset()
    try:
        again = build(Path("other-name"), name="bp-demo", version="1.2.3", mtime=MTIME)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert again == reference


def test_pack_long_and_unicode_names() -> None:
    long_dir = "d" * 60
    entries = [
        Entry("Chart.yaml", b"name: x\n"),
        Entry(f"{long_dir}/{long_dir}/file.txt", b"ustar prefix\n"),
        Entry("docs/" + "m" * 120, b"pax\n"),
        Entry("docs/ünïcödé.md", b"pax too\n"),
    ]
    data = pack(entries, name="bp-x", mtime=MTIME)
    infos = members(data)
    assert [m.name for m in infos] == [f"bp-x/{e.path}" for e in entries]
    raw = gzip.decompress(data)
    # The 130-byte ASCII name is split over USTAR's prefix field, no PAX.
    assert infos[1].pax_headers == {}
    # Go's PAX entry name: ".../PaxHeaders.0/<base>", cut to the 100-byte field.
    assert b"bp-x/docs/PaxHeaders.0/" + b"m" * 77 + b"0000000\x00" in raw
    assert b"bp-x/docs/PaxHeaders.0/ncd.md\x00" in raw  # Go's toASCII of the name
    assert infos[3].pax_headers == {"path": "bp-x/docs/ünïcödé.md"}
    assert [m.path for m in inspect(data)] == [e.path for e in entries]


def test_pack_rejects_duplicates_and_bad_names() -> None:
    with pytest.raises(PackageError, match="twice"):
        pack([Entry("a", b""), Entry("a", b"")], name="x", mtime=0)
    for path in ("../a", "/a", "a//b", "a/./b", "a\\b", ""):
        with pytest.raises(PackageError, match="not a clean relative path"):
            pack([Entry(path, b"")], name="x", mtime=0)
    for bad in ("", "..", "a/b", "a\\b"):
        with pytest.raises(PackageError, match="cannot be a file name"):
            pack([Entry("Chart.yaml", b"")], name=bad, mtime=0)
    for mtime in (-1, 8**11):
        with pytest.raises(PackageError, match="timestamp"):
            pack([Entry("Chart.yaml", b"")], name="x", mtime=mtime)


def test_archive_name() -> None:
    assert archive_name("bp-flux", "1.2.3+build.1") == "bp-flux-1.2.3+build.1.tgz"
    with pytest.raises(PackageError):
        archive_name("bp-flux", "../1")


# -- What goes in, what is refused ------------------------------------------


class _Opens:
    """Every path the process opens or lists while `active`."""

    active = False
    seen: list[str] = []  # noqa: RUF012

    @classmethod
    def hook(cls, event: str, args: tuple[object, ...]) -> None:
        if cls.active and event in ("open", "os.listdir", "os.scandir") and args:
            path = args[0]
            if isinstance(path, bytes):
                path = os.fsdecode(path)
            if isinstance(path, str):
                cls.seen.append(os.path.abspath(path))


sys.addaudithook(_Opens.hook)


def opened_during(fn: object, *args: object) -> tuple[list[str], BaseException | None]:
    _Opens.seen = []
    _Opens.active = True
    error: BaseException | None = None
    try:
        fn(*args)  # type: ignore[operator]
    except PackageError as exc:
        error = exc
    finally:
        _Opens.active = False
    return list(_Opens.seen), error


def minimal(root: Path) -> Path:
    return write_chart(root, {"Chart.yaml": b"apiVersion: v2\nname: x\nversion: 1.0.0\n"})


def test_symlink_escaping_is_refused_and_target_never_read(tmp_path: Path) -> None:
    outside = tmp_path / "secret"
    outside.mkdir()
    (outside / "key").write_text("TOP SECRET")
    c = minimal(tmp_path / "c")
    (c / "templates").mkdir()
    (c / "templates" / "leak.yaml").symlink_to(outside / "key")
    (c / "zdir").symlink_to(outside)
    opened, error = opened_during(collect, c)
    assert any(p.endswith("/c/Chart.yaml") for p in opened)  # the hook does see reads
    assert isinstance(error, PackageError)
    assert str(error) == (
        "templates/leak.yaml: symlink points outside the chart folder; refusing to package it"
    )
    assert not [p for p in opened if p.startswith(str(outside))]
    (c / "templates" / "leak.yaml").unlink()
    opened, error = opened_during(collect, c)
    assert error is not None
    assert str(error).startswith("zdir: symlink points outside")
    assert not [p for p in opened if p.startswith(str(outside))]


def test_ignored_files_and_folders_are_never_read(tmp_path: Path) -> None:
    outside = tmp_path / "secret"
    outside.mkdir()
    c = minimal(tmp_path / "c")
    (c / ".helmignore").write_text("escape\nvendor/\n")
    (c / "escape").symlink_to(outside)
    (c / "vendor").mkdir()
    (c / "vendor" / "big").write_bytes(b"x")
    os.mkfifo(c / "vendor" / "pipe")
    opened, error = opened_during(collect, c)
    assert error is None
    assert any(p.endswith("/c/.helmignore") for p in opened)
    assert not [p for p in opened if p.startswith((str(outside), str(c / "vendor")))]
    assert [e.path for e in collect(c)] == ["Chart.yaml", ".helmignore"]


def test_symlinks_inside_are_followed_under_their_own_name(tmp_path: Path) -> None:
    c = minimal(tmp_path / "c")
    (c / "files").mkdir()
    (c / "files" / "a.txt").write_bytes(b"A\n")
    (c / "link.txt").symlink_to("files/a.txt")
    (c / "linkdir").symlink_to("files")
    entries = {e.path: e.data for e in collect(c)}
    assert entries == {
        "Chart.yaml": b"apiVersion: v2\nname: x\nversion: 1.0.0\n",
        "files/a.txt": b"A\n",
        "link.txt": b"A\n",
        "linkdir/a.txt": b"A\n",
    }
    data = build(c, name="x", version="1.0.0", mtime=0)
    assert all(m.type == tarfile.REGTYPE for m in members(data))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda c: (c / "dangling").symlink_to("nowhere"), "dangling: dangling symlink"),
        (
            lambda c: ((c / "l1").symlink_to("l2"), (c / "l2").symlink_to("l1")),
            "l1: symlink loop",
        ),
        (lambda c: (c / "self").symlink_to("."), "self: symlink loop (points to a parent folder)"),
        (
            lambda c: ((c / "d").mkdir(), (c / "d" / "up").symlink_to("..")),
            "d/up: symlink loop (points to a parent folder)",
        ),
        (lambda c: os.mkfifo(c / "pipe"), "pipe: named pipe (fifo) cannot be packaged"),
        (lambda c: (c / "a\\b").write_text("x"), "a\\b: file name holds a backslash"),
        (lambda c: (c / "..odd").write_text("x"), "..odd: Helm refuses names starting"),
        (lambda c: (c / "Chart.lock").write_text("x"), "Chart.lock: wrapper charts have no"),
        (
            lambda c: ((c / "requirements.yaml").write_text("dependencies: []")),
            "requirements.yaml: wrapper charts have no",
        ),
        (
            lambda c: ((c / "charts" / "sub").mkdir(parents=True), (c / "charts/sub/x").touch()),
            "charts/sub/x: wrapper charts have no subcharts",
        ),
        (lambda c: (c / "Chart.yaml").unlink(), "Chart.yaml: missing"),
        (
            lambda c: (c / "values.schema.json").write_text("{nope"),
            "values.schema.json: not valid JSON",
        ),
        (
            lambda c: (c / "values.schema.json").write_text('{"a": NaN}'),
            "values.schema.json: not valid JSON",
        ),
        (
            lambda c: (c / ".helmignore").write_text("ok\nfoo/**/bar\n"),
            ".helmignore:2: double-star",
        ),
    ],
)
def test_refused(tmp_path: Path, make: object, message: str) -> None:
    c = minimal(tmp_path / "c")
    make(c)  # type: ignore[operator]
    with pytest.raises(PackageError) as info:
        collect(c)
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_helmignore_error_is_typed(tmp_path: Path) -> None:
    c = minimal(tmp_path / "c")
    (c / ".helmignore").write_text("[z-\n")
    with pytest.raises(HelmIgnoreSyntaxError) as info:
        collect(c)
    assert info.value.line == 1


def test_socket_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    c = minimal(tmp_path / "c")
    monkeypatch.chdir(c)  # AF_UNIX paths are limited to ~108 bytes
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind("sock")
        with pytest.raises(PackageError, match=r"^sock: socket cannot be packaged$"):
            collect(c)


def test_device_is_refused(tmp_path: Path) -> None:
    c = minimal(tmp_path / "c")
    try:
        os.mknod(c / "null", stat.S_IFCHR | 0o600, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("mknod needs privileges")
    with pytest.raises(PackageError, match=r"^null: device file cannot be packaged$"):
        collect(c)


def test_unreadable_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Stubbed: chmod 0 does not stop root, and CI runs as root.
    c = minimal(tmp_path / "c")
    (c / "locked").write_text("x")
    real_open = os.open

    def deny(path: str | bytes, flags: int, mode: int = 0o777) -> int:
        if os.fsdecode(path).endswith("/locked"):
            raise PermissionError(13, "Permission denied")
        return real_open(path, flags, mode)

    monkeypatch.setattr(os, "open", deny)
    with pytest.raises(PackageError, match=r"^locked: cannot read: Permission denied$"):
        collect(c)


def test_special_files_pass_when_ignored(tmp_path: Path) -> None:
    c = minimal(tmp_path / "c")
    (c / ".helmignore").write_text("pipe\ndangling\n")
    os.mkfifo(c / "pipe")
    (c / "dangling").symlink_to("nowhere")
    assert [e.path for e in collect(c)] == ["Chart.yaml", ".helmignore"]


def test_non_utf8_name(tmp_path: Path) -> None:
    c = minimal(tmp_path / "c")
    with open(os.path.join(os.fsencode(c), b"bad-\xff.txt"), "wb") as f:
        f.write(b"x")
    with pytest.raises(PackageError, match=r"^bad-\\udcff.txt: file name is not valid UTF-8$"):
        collect(c)
    (c / ".helmignore").write_text("*.txt\n")
    assert [e.path for e in collect(c)] == ["Chart.yaml", ".helmignore"]


def test_file_size_limit(tmp_path: Path) -> None:
    c = minimal(tmp_path / "c")
    with open(c / "edge.bin", "wb") as f:
        f.truncate(MAX_FILE_SIZE)  # exactly the limit: fine
    assert [e.path for e in collect(c)][-1] == "edge.bin"
    with open(c / "huge.bin", "wb") as f:
        f.truncate(MAX_FILE_SIZE + 1)
    with pytest.raises(PackageError, match=r"^huge.bin: 5242881 bytes, larger than Helm's limit"):
        collect(c)


_TOTAL_CHECK = """
import sys
from pathlib import Path
from bpkit.helm.chartfiles import collect
from bpkit.errors import PackageError
try:
    print(sum(len(e.data) for e in collect(Path(sys.argv[1]))))
except PackageError as exc:
    print(exc)
"""


def collect_in_child(chart: Path) -> str:
    # collect() holds the files in memory: 100 MiB here. A child keeps that
    # out of this process, whose peak RSS Linux hands on to every later
    # child (tests elsewhere measure their children's peak memory).
    env = {**os.environ, "PYTHONPATH": str(Path(chartfiles.__file__).parents[2])}
    return subprocess.run(
        [sys.executable, "-c", _TOTAL_CHECK, str(chart)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def test_total_size_limit(tmp_path: Path) -> None:
    # Helm fails once its remaining budget reaches 0: exactly MAX_CHART_SIZE
    # in total is too much, one byte less is fine.
    c = minimal(tmp_path / "c")
    chart_yaml = (c / "Chart.yaml").stat().st_size
    for i in range(MAX_CHART_SIZE // MAX_FILE_SIZE):
        with open(c / f"part{i:02}.bin", "wb") as f:
            f.truncate(MAX_FILE_SIZE - (chart_yaml + 1 if i == 0 else 0))
    assert collect_in_child(c) == str(MAX_CHART_SIZE - 1)
    with open(c / "one-more.bin", "wb") as f:
        f.write(b"x")
    message = collect_in_child(c)
    assert message.endswith(": chart files add up to 104857600 bytes or more, Helm's limit")


def test_chart_dir_missing(tmp_path: Path) -> None:
    with pytest.raises(PackageError, match="chart folder not found"):
        collect(tmp_path / "nope")


def test_helmignore_symlink_outside_is_refused(tmp_path: Path) -> None:
    (tmp_path / "rules").write_text("*\n")
    c = minimal(tmp_path / "c")
    (c / ".helmignore").symlink_to(tmp_path / "rules")
    with pytest.raises(PackageError, match=r"^\.helmignore: symlink points outside"):
        collect(c)


def test_charts_provenance_file_is_kept(tmp_path: Path) -> None:
    c = minimal(tmp_path / "c")
    (c / "charts").mkdir()
    (c / "charts" / "x-1.0.0.tgz.prov").write_text("sig")
    (c / "charts" / "_notes").write_text("dropped")
    assert [e.path for e in collect(c)] == ["Chart.yaml", "charts/x-1.0.0.tgz.prov"]


# -- source_date --------------------------------------------------------------


@pytest.fixture
def no_sde(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)


def test_source_date_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1234567890")
    assert source_date(tmp_path) == (1234567890, "SOURCE_DATE_EPOCH")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    assert source_date(tmp_path) == (0, "SOURCE_DATE_EPOCH")


@pytest.mark.parametrize(
    "value", ["abc", "-1", "1.5", " 1", "+1", "1e9", "١", str(8**11), "9" * 5000]
)
def test_source_date_env_invalid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", value)
    with pytest.raises(UsageError, match="SOURCE_DATE_EPOCH="):
        source_date(tmp_path)


@pytest.mark.usefixtures("no_sde")
def test_source_date_default_outside_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    assert source_date(tmp_path) == (DEFAULT_EPOCH, "default (1980-01-01T00:00:00Z)")
    assert DEFAULT_EPOCH == 315532800  # 1980-01-01T00:00:00Z


def _git_env(tmp_path: Path) -> dict[str, str]:
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "A",
        "GIT_AUTHOR_EMAIL": "a@example.com",
        "GIT_COMMITTER_NAME": "C",
        "GIT_COMMITTER_EMAIL": "c@example.com",
    }


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, dict[str, str]]]:
    if shutil.which("git") is None:
        pytest.skip("git not installed")
    env = _git_env(tmp_path)
    for key in ("GIT_CONFIG_GLOBAL", "GIT_CONFIG_NOSYSTEM", "HOME"):
        monkeypatch.setenv(key, env[key])
    r = tmp_path / "repo"
    r.mkdir()
    git(r, "init", "-q", "-b", "main", env=env)
    yield r, env


@pytest.mark.usefixtures("no_sde")
def test_source_date_from_git(repo: tuple[Path, dict[str, str]]) -> None:
    r, env = repo
    write_chart(r / "platform" / "flux", {"blueprint.yaml": b"a: 1\n"})
    write_chart(r / "platform" / "other", {"blueprint.yaml": b"a: 1\n"})
    git(r, "add", ".", env=env)
    git(r, "commit", "-q", "-m", "one", date=1_600_000_000, env=env)
    (r / "platform" / "other" / "blueprint.yaml").write_text("a: 2\n")
    git(r, "commit", "-q", "-am", "two", date=1_650_000_000, env=env)
    first = git(r, "rev-parse", "HEAD~1", env=env).strip()
    assert source_date(r / "platform" / "flux") == (1_600_000_000, f"git commit {first[:12]}")
    assert source_date(r / "platform" / "other")[0] == 1_650_000_000
    assert source_date(r)[0] == 1_650_000_000
    # A folder no commit touched falls through to the default.
    (r / "platform" / "new").mkdir()
    assert source_date(r / "platform" / "new")[0] == DEFAULT_EPOCH
    # Uncommitted edits do not move the date.
    (r / "platform" / "flux" / "blueprint.yaml").write_text("a: 9\n")
    assert source_date(r / "platform" / "flux")[0] == 1_600_000_000


@pytest.mark.usefixtures("no_sde")
def test_source_date_repo_without_commits(repo: tuple[Path, dict[str, str]]) -> None:
    r, _ = repo
    (r / "platform").mkdir()
    assert source_date(r / "platform")[0] == DEFAULT_EPOCH


@pytest.mark.usefixtures("no_sde")
def test_source_date_special_characters_in_path(repo: tuple[Path, dict[str, str]]) -> None:
    r, env = repo
    write_chart(r / "platform" / "*", {"blueprint.yaml": b"a: 1\n"})
    write_chart(r / "platform" / "x", {"blueprint.yaml": b"a: 1\n"})
    git(r, "add", "--", ":(literal)platform/*", env=env)
    git(r, "commit", "-q", "-m", "star", date=1_600_000_000, env=env)
    git(r, "add", "platform/x", env=env)
    git(r, "commit", "-q", "-m", "x", date=1_700_000_000, env=env)
    # A literal pathspec: "*" must not match platform/x.
    assert source_date(r / "platform" / "*")[0] == 1_600_000_000


@pytest.mark.usefixtures("no_sde")
def test_source_date_shallow_clone(tmp_path: Path, repo: tuple[Path, dict[str, str]]) -> None:
    r, env = repo
    write_chart(r / "platform" / "flux", {"blueprint.yaml": b"a: 1\n"})
    git(r, "add", ".", env=env)
    git(r, "commit", "-q", "-m", "one", date=1_600_000_000, env=env)
    (r / "README").write_text("x\n")
    git(r, "add", ".", env=env)
    git(r, "commit", "-q", "-m", "two", date=1_650_000_000, env=env)
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{r}", str(clone), env=env)
    with pytest.raises(GitError, match="shallow clone"):
        source_date(clone / "platform" / "flux")
    # With SOURCE_DATE_EPOCH set, git is not asked.
    os.environ["SOURCE_DATE_EPOCH"] = "5"
    try:
        assert source_date(clone / "platform" / "flux") == (5, "SOURCE_DATE_EPOCH")
    finally:
        del os.environ["SOURCE_DATE_EPOCH"]


def test_source_date_without_git_executable(tmp_path: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from bpkit.history.epoch import source_date;"
        "print(source_date(Path(sys.argv[1]))[0])"
    )
    env = {
        "PATH": str(tmp_path),  # no git here
        "PYTHONPATH": str(Path(chartfiles.__file__).parents[2]),
        "HOME": str(tmp_path),
    }
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert out.strip() == str(DEFAULT_EPOCH)


# -- inspect --------------------------------------------------------------------


def tgz(*infos: tuple[tarfile.TarInfo, bytes], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    # Streamed through gzip, so a 100 MiB test archive never sits in memory.
    buf = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=1, mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w", format=fmt) as tar,
    ):
        for info, data in infos:
            info.size = len(data) if info.type in (tarfile.REGTYPE, tarfile.AREGTYPE) else 0
            tar.addfile(info, io.BytesIO(data) if info.size else None)
    return buf.getvalue()


def member(name: str, type_: bytes = tarfile.REGTYPE, **kw: object) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = type_
    for key, value in kw.items():
        setattr(info, key, value)
    return info


CHART_YAML = (member("c/Chart.yaml"), b"name: c\n")


def test_inspect_roundtrip(chart: Path) -> None:
    data = build(chart, name="bp-demo", version="1.2.3", mtime=MTIME)
    got = inspect(data)
    want = collect(chart)
    assert [(m.name, m.path, m.size, m.sha256) for m in got] == [
        (f"bp-demo/{e.path}", e.path, len(e.data), hashlib.sha256(e.data).hexdigest())
        for e in want
    ]
    assert {(m.mode, m.mtime) for m in got} == {(0o644, MTIME)}


def test_inspect_accepts_ordinary_tars() -> None:
    # Python's tarfile: directory entries, GNU format, 10 KiB padding.
    data = tgz(
        (member("c", tarfile.DIRTYPE), b""),
        (member("c/templates", tarfile.DIRTYPE), b""),
        CHART_YAML,
        (member("c/templates/x.yaml"), b"x: 1\n"),
        (member("c/docs/" + "n" * 150), b"GNU long name\n"),
        fmt=tarfile.GNU_FORMAT,
    )
    assert [m.path for m in inspect(data)] == [
        "Chart.yaml",
        "templates/x.yaml",
        "docs/" + "n" * 150,
    ]


@pytest.mark.parametrize(
    ("infos", "message"),
    [
        ([CHART_YAML, (member("../x"), b"x")], "'.' or '..' component"),
        ([(member("../x"), b"x"), CHART_YAML], "'.' or '..' component"),
        ([CHART_YAML, (member("/etc/passwd"), b"x")], "absolute or empty name"),
        ([CHART_YAML, (member("c/../../x"), b"x")], "'.' or '..' component"),
        ([CHART_YAML, (member("c/./x"), b"x")], "'.' or '..' component"),
        ([CHART_YAML, (member("c/a\\b"), b"x")], "backslash"),
        ([CHART_YAML, (member("c/l", tarfile.SYMTYPE, linkname="/etc"), b"")], "is a symlink"),
        (
            [CHART_YAML, (member("c/h", tarfile.LNKTYPE, linkname="c/Chart.yaml"), b"")],
            "is a hard link",
        ),
        (
            [CHART_YAML, (member("c/dev", tarfile.CHRTYPE, devmajor=1, devminor=3), b"")],
            "is a character device",
        ),
        ([CHART_YAML, (member("c/blk", tarfile.BLKTYPE), b"")], "is a block device"),
        ([CHART_YAML, (member("c/p", tarfile.FIFOTYPE), b"")], "is a fifo"),
        ([CHART_YAML, (member("d/x"), b"x")], "outside the top folder 'c'"),
        ([CHART_YAML, (member("Chart.yaml"), b"x")], "outside the top folder"),
        ([(member("Chart.yaml"), b"x")], "is not inside a folder"),
        ([CHART_YAML, CHART_YAML], "appears twice"),
        ([(member("c/values.yaml"), b"x")], "c/Chart.yaml is missing"),
        ([CHART_YAML, (member("c/..x"), b"x")], "a name Helm refuses"),
        ([CHART_YAML, (member("c/C:/x"), b"x")], "a name Helm refuses"),
    ],
)
def test_inspect_refuses(infos: list[tuple[tarfile.TarInfo, bytes]], message: str) -> None:
    with pytest.raises(PackageError, match=message.replace("\\", "\\\\").replace(".", r"\.")):
        inspect(tgz(*infos))


def test_inspect_refuses_non_utf8_names() -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT, encoding="latin-1") as tar:
        for name, data in (("c/Chart.yaml", b"x"), ("c/caf\xe9", b"x")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with pytest.raises(PackageError, match="not valid UTF-8"):
        inspect(gzip.compress(buf.getvalue()))


def test_inspect_size_limits() -> None:
    with pytest.raises(PackageError, match="5242881 bytes, over Helm's limit"):
        inspect(tgz(CHART_YAML, (member("c/big"), bytes(MAX_FILE_SIZE + 1))))
    # Exactly MAX_CHART_SIZE in total is refused, one byte less is not.
    five = bytes(MAX_FILE_SIZE)
    parts = [(member(f"c/p{i:02}"), five) for i in range(19)]
    rest = MAX_CHART_SIZE - 19 * MAX_FILE_SIZE - len(CHART_YAML[1])
    with pytest.raises(PackageError, match="add up to 104857600 bytes or more"):
        inspect(tgz(CHART_YAML, *parts, (member("c/last"), bytes(rest))))
    assert len(inspect(tgz(CHART_YAML, *parts, (member("c/last"), bytes(rest - 1))))) == 21


def _zeros_gzip(size: int) -> bytes:
    z = zlib.compressobj(1, zlib.DEFLATED, 31)
    chunk = bytes(1 << 20)
    out = [z.compress(chunk) for _ in range(size >> 20)]
    out.append(z.flush())
    return b"".join(out)


def test_inspect_gzip_bomb_is_bounded() -> None:
    bomb = _zeros_gzip(300 << 20)  # 300 MiB of zeros, about 1.4 MB compressed
    assert len(bomb) < 2 << 20
    tracemalloc.start()
    try:
        with pytest.raises(PackageError, match="decompresses to more than"):
            inspect(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20


def test_inspect_refuses_damaged_streams(chart: Path) -> None:
    data = build(chart, name="bp-demo", version="1.2.3", mtime=MTIME)
    with pytest.raises(PackageError, match="data after the end of the gzip stream"):
        inspect(data + data)
    with pytest.raises(PackageError, match="truncated"):
        inspect(data[:-20])
    broken = data[:-8] + bytes([data[-8] ^ 1]) + data[-7:]  # CRC
    with pytest.raises(PackageError, match="not a valid gzip stream"):
        inspect(broken)
    with pytest.raises(PackageError, match="not a valid gzip stream"):
        inspect(b"apiVersion: v2\n")
    raw = bytearray(gzip.decompress(data))
    raw[0] ^= 1  # header checksum no longer matches
    with pytest.raises(PackageError, match="checksum mismatch"):
        inspect(gzip.compress(bytes(raw)))
    hidden = gzip.decompress(data) + b"hidden" + bytes(506)
    with pytest.raises(PackageError, match="data after the end of the tar stream"):
        inspect(gzip.compress(hidden))
