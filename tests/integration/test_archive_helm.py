"""bpkit.helm.tgz against real Helm (helm-sdkpy): same files, same tar bytes, Helm reads ours.

Helm's `package` stamps each entry with the file's mtime; the tests set every
file's mtime to the time bpkit is given, so Helm's tar stream and bpkit's can
be compared byte for byte. Only the deflate bytes differ (Go's compressor
versus zlib), and Chart.yaml when it is not already in Helm's own layout
(Helm re-marshals it; bpkit keeps the author's bytes).
"""

from __future__ import annotations

import gzip
import io
import os
import tarfile
from pathlib import Path

import pytest

from bpkit import limits
from bpkit.errors import PackageError
from bpkit.helm import chartfiles
from bpkit.helm import tgz as tgz_mod

try:
    from tests.integration import helmcheck
except ImportError:  # tests/ is not a package: pytest put this folder on sys.path
    import helmcheck  # type: ignore[import-not-found,no-redef]

pytestmark = pytest.mark.helm

MTIME = 1_600_000_000

# Chart.yaml exactly as Helm marshals it (sigs.k8s.io/yaml: keys sorted).
CANONICAL_CHART = (
    b"apiVersion: v2\ndescription: Demo wrapper\nicon: https://example.com/icon.png\n"
    b"name: bp-demo\ntype: application\nversion: 1.2.3\n"
)
COMMENTED_CHART = (
    b"# Wrapper for the demo chart\napiVersion: v2\nname: bp-demo\nversion: 1.2.3\n"
    b"description: Demo wrapper  # shown in catalogues\ntype: application\n"
    b"icon: https://example.com/icon.png\nannotations:\n  catalyst.openova.io/tier: platform\n"
)
LONG = "d" * 60

FILES: dict[str, bytes] = {
    "values.yaml": b"catalystBlueprint:\n  upstream:\n    chart: demo\n    version: 1.0.0\n"
    b"    repo: https://charts.example.com\nreplicas: 2\n",
    "values.schema.json": b'{"type": "object", "properties": {"replicas": {"type": "integer"}}}\n',
    "templates/configmap.yaml": b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
    b"  name: {{ include \"demo.name\" . }}\ndata:\n  replicas: {{ .Values.replicas | quote }}\n",
    "templates/_helpers.tpl": b'{{- define "demo.name" -}}{{ .Release.Name }}-demo{{- end -}}\n',
    "templates/NOTES.txt": b"Installed {{ .Release.Name }}.\n",
    "templates/.hidden.yaml": b"dropped by Helm's default rule\n",
    ".helmignore": b"# local junk\n*.bak\nscratch/\n",
    "old.bak": b"ignored\n",
    "scratch/notes.md": b"ignored folder\n",
    "README.md": b"\xef\xbb\xbf# Demo\n",
    "a/b.txt": b"walk order: before a-b.txt\n",
    "a-b.txt": b"dash\n",
    "charts/.gitkeep": b"",
    f"files/{LONG}/{LONG}/nested.txt": b"ustar prefix field\n",
    "files/" + "m" * 120: b"PAX path record\n",
    "files/ünïcödé.txt": b"PAX for non-ASCII\n",
    "files/real.txt": b"target of two links\n",
}


@pytest.fixture(autouse=True)
def _needs_helm() -> None:
    helmcheck.require_helm()


def write(root: Path, chart_yaml: bytes, files: dict[str, bytes] = FILES) -> Path:
    (root).mkdir(parents=True)
    (root / "Chart.yaml").write_bytes(chart_yaml)
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def add_links(root: Path) -> None:
    (root / "files" / "link.txt").symlink_to("real.txt")
    (root / "linked-dir").symlink_to("files")


def pin_mtimes(root: Path) -> None:
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            os.utime(os.path.join(dirpath, name), (MTIME, MTIME), follow_symlinks=False)


def helm_package(chart: Path, tmp_path: Path) -> bytes:
    out = tmp_path / "helm-out"
    out.mkdir(exist_ok=True)
    return helmcheck.package(chart, out).read_bytes()


def blocks(tar: bytes) -> list[bytes]:
    return [tar[i : i + 512] for i in range(0, len(tar), 512)]


def test_same_tar_bytes_as_helm_package(tmp_path: Path) -> None:
    chart = write(tmp_path / "bp-demo", CANONICAL_CHART)
    add_links(chart)
    pin_mtimes(chart)
    theirs = helm_package(chart, tmp_path)
    ours = tgz_mod.build(chart, name="bp-demo", version="1.2.3", mtime=MTIME)

    # The gzip header up to the deflate data: byte-identical.
    assert theirs[: len(tgz_mod._GZIP_HEADER)] == tgz_mod._GZIP_HEADER
    assert ours[: len(tgz_mod._GZIP_HEADER)] == tgz_mod._GZIP_HEADER
    # The tar stream: byte-identical (order, USTAR/PAX choice, every field).
    assert gzip.decompress(ours) == gzip.decompress(theirs)
    got = [(m.path, m.sha256) for m in tgz_mod.inspect(ours)]
    assert got == [(m.path, m.sha256) for m in tgz_mod.inspect(theirs)]
    assert "linked-dir/link.txt" in dict(got)  # links followed, as Helm does
    assert "README.md" in dict(got) and "templates/.hidden.yaml" not in dict(got)


def test_commented_chart_yaml_loads_the_same(tmp_path: Path) -> None:
    chart = write(tmp_path / "bp-demo", COMMENTED_CHART)
    pin_mtimes(chart)
    theirs_tgz = tmp_path / "helm-out" / "bp-demo-1.2.3.tgz"
    theirs = helm_package(chart, tmp_path)
    ours = tgz_mod.build(chart, name="bp-demo", version="1.2.3", mtime=MTIME)
    ours_tgz = tmp_path / "bp-demo-1.2.3.tgz"
    ours_tgz.write_bytes(ours)

    a, b = tgz_mod.inspect(ours), tgz_mod.inspect(theirs)
    assert [m.path for m in a] == [m.path for m in b]
    differ = [x.path for x, y in zip(a, b, strict=True) if x.sha256 != y.sha256]
    assert differ == ["Chart.yaml"]
    # Every tar block but Chart.yaml's header and data is identical.
    ta, tb = blocks(gzip.decompress(ours)), blocks(gzip.decompress(theirs))
    first_a = -(-a[0].size // 512) + 1
    first_b = -(-b[0].size // 512) + 1
    assert ta[first_a:] == tb[first_b:]
    # Helm's own loader sees the same chart in both.
    assert helmcheck.show_chart(str(ours_tgz)) == helmcheck.show_chart(str(theirs_tgz))
    assert helmcheck.show_values(str(ours_tgz)) == helmcheck.show_values(str(theirs_tgz))
    assert "catalyst.openova.io/tier: platform" in helmcheck.show_chart(str(ours_tgz))


def test_helm_lint_passes_on_our_archive(tmp_path: Path) -> None:
    chart = write(tmp_path / "bp-demo", COMMENTED_CHART)
    add_links(chart)
    tgz = tmp_path / "bp-demo-1.2.3.tgz"
    tgz.write_bytes(tgz_mod.build(chart, name="bp-demo", version="1.2.3", mtime=MTIME))
    result = helmcheck.lint(tgz)
    assert result["TotalChartsLinted"] == 1
    assert not result["Errors"]
    assert [m for m in result["Messages"] or [] if m["Severity"] >= 2] == []


def test_helm_lint_catches_a_broken_archive(tmp_path: Path) -> None:
    # The control for the test above: Helm's lint does fail on our bytes
    # when the chart is wrong.
    entries = [
        chartfiles.Entry("Chart.yaml", COMMENTED_CHART),
        chartfiles.Entry("values.yaml", b"replicas: [\n"),
    ]
    tgz = tmp_path / "bp-demo-1.2.3.tgz"
    tgz.write_bytes(tgz_mod.pack(entries, name="bp-demo", mtime=MTIME))
    result = helmcheck.lint(tgz)
    assert result["Errors"]
    assert any(m["Severity"] >= 3 for m in result["Messages"])


TREE: dict[str, bytes] = {
    "values.yaml": b"a: 1\n",
    "README.md": b"r\n",
    "notes.txt": b"n\n",
    "abc.txt": b"a\n",
    "d.txt": b"d\n",
    "a?.txt": b"q\n",
    ".dotfile": b"dot\n",
    "docs/guide.md": b"g\n",
    "docs/x.txt": b"x\n",
    "sub/README.md": b"s\n",
    "sub/deep/y.txt": b"y\n",
    "templates/cm.yaml": b"kind: ConfigMap\n",
    "templates/_h.tpl": b"{{/* h */}}\n",
    "templates/.keep": b"k\n",
}


@pytest.mark.parametrize(
    "helmignore",
    [
        "*.txt\n",
        "docs/\n",
        "/README.md\n",
        "sub/*.md\n",
        "templates/*.tpl\n",
        "# comment\n\n   *.md   \n",
        "[a-c]*.txt\n",
        "[^a-c]*.txt\n",
        "a\\?.txt\n",
        "?.txt\n",
        ".*\n",
        "*/\n",
        "deep\n",
        "!*.yaml\n",
        "!docs/\n",
        "*.md\n!README.md\n",
        "!Chart.yaml\n!values.yaml\n*\n",
    ],
)
def test_helmignore_selects_what_helm_selects(tmp_path: Path, helmignore: str) -> None:
    files = dict(TREE)
    files[".helmignore"] = helmignore.encode()
    chart = write(tmp_path / "bp-demo", CANONICAL_CHART, files)
    try:
        theirs = sorted(m.path for m in tgz_mod.inspect(helm_package(chart, tmp_path)))
    except helmcheck.HelmFailed as exc:
        assert "Chart.yaml file is missing" in str(exc)
        with pytest.raises(PackageError, match=r"^Chart\.yaml: missing"):
            chartfiles.collect(chart)
        return
    assert sorted(e.path for e in chartfiles.collect(chart)) == theirs



def big_tgz(path: Path, last: int) -> bytes:
    """Chart.yaml, 19 files of 5 MiB and one of `last` bytes, streamed to disk.

    Built with tarfile rather than tgz_mod.pack so that 100 MiB never sits
    in this process's memory (its peak RSS is inherited by later children,
    whose memory other tests measure).
    """
    five = io.BytesIO(bytes(limits.HELM_MAX_FILE_BYTES))
    with (
        gzip.GzipFile(path, mode="wb", compresslevel=1, mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.USTAR_FORMAT) as tar,
    ):
        for name, size in [("Chart.yaml", -1), *[(f"p{i:02}.bin", -2) for i in range(19)]]:
            info = tarfile.TarInfo(f"bp-demo/{name}")
            if size == -1:
                info.size = len(CANONICAL_CHART)
                tar.addfile(info, io.BytesIO(CANONICAL_CHART))
            else:
                info.size = limits.HELM_MAX_FILE_BYTES
                five.seek(0)
                tar.addfile(info, five)
        info = tarfile.TarInfo("bp-demo/last.bin")
        info.size = last
        tar.addfile(info, io.BytesIO(bytes(last)))
    return path.read_bytes()


def test_total_size_limit_matches_helms(tmp_path: Path) -> None:
    # 100 MiB in total is one byte too many for Helm's loader, and for inspect.
    rest = limits.HELM_MAX_CHART_BYTES - 19 * limits.HELM_MAX_FILE_BYTES - len(CANONICAL_CHART)
    fits = tmp_path / "fits.tgz"
    data = big_tgz(fits, rest - 1)
    assert "name: bp-demo" in helmcheck.show_chart(str(fits))
    assert len(tgz_mod.inspect(data)) == 21
    over = tmp_path / "over.tgz"
    data = big_tgz(over, rest)
    with pytest.raises(helmcheck.HelmFailed, match="larger than the maximum size"):
        helmcheck.show_chart(str(over))
    with pytest.raises(PackageError, match="add up to"):
        tgz_mod.inspect(data)
