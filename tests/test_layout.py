"""bpkit.oci.layout: the OCI image layout target (no services needed).

skopeo reading and copying these layouts is in
tests/integration/test_layout_skopeo.py.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
from pathlib import Path
from typing import Any

import pytest

from bpkit.errors import ImmutableReleaseError, PackageError, RegistryError
from bpkit.oci import artifact as artifact_mod
from bpkit.oci.layout import LOCK_NAME, REF_NAME, LayoutTarget, ref_name


def make(
    name: str = "bp-demo", version: str = "1.0.0", payload: bytes = b"tgz"
) -> artifact_mod.Artifact:
    meta = {"apiVersion": "v2", "name": name, "version": version, "description": "demo"}
    return artifact_mod.build_artifact(meta, payload + name.encode(), created_epoch=1714564800)


def blob_file(root: Path, digest: str) -> Path:
    return root / "blobs" / "sha256" / digest.removeprefix("sha256:")


def index_of(root: Path) -> dict[str, Any]:
    index: dict[str, Any] = json.loads((root / "index.json").read_bytes())
    return index


def test_first_push_creates_layout(tmp_path: Path) -> None:
    root = tmp_path / "dist" / "oci"
    art = make()
    assert LayoutTarget(root).push(art) is True
    assert (root / "oci-layout").read_bytes() == b'{"imageLayoutVersion": "1.0.0"}'
    expected = (
        '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",'
        '"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json",'
        f'"digest":"{art.digest}","size":{len(art.manifest)},'
        '"annotations":{"org.opencontainers.image.ref.name":"bp-demo:1.0.0"}}]}'
    )
    assert (root / "index.json").read_text() == expected
    for digest, data in (*art.blobs, (art.digest, art.manifest)):
        assert blob_file(root, digest).read_bytes() == data
    assert sorted(p.name for p in root.iterdir()) == [
        LOCK_NAME,
        "blobs",
        "index.json",
        "oci-layout",
    ]
    assert sorted(p.name for p in (root / "blobs" / "sha256").iterdir()) == sorted(
        d.removeprefix("sha256:") for d in (art.digest, art.config_digest, art.layer_digest)
    )


def test_same_release_again_writes_nothing(tmp_path: Path) -> None:
    target = LayoutTarget(tmp_path)
    art = make()
    target.push(art)
    index = tmp_path / "index.json"
    before = (index.read_bytes(), index.stat().st_mtime_ns, index.stat().st_ino)
    assert target.push(art) is False
    assert target.push(make(), force=True) is False
    assert (index.read_bytes(), index.stat().st_mtime_ns, index.stat().st_ino) == before


def test_other_digest_same_ref_is_refused(tmp_path: Path) -> None:
    target = LayoutTarget(tmp_path)
    first, second = make(payload=b"one"), make(payload=b"two")
    target.push(first)
    before = (tmp_path / "index.json").read_bytes()
    with pytest.raises(ImmutableReleaseError) as err:
        target.push(second)
    message = str(err.value)
    assert first.digest in message and second.digest in message
    assert "bp-demo:1.0.0" in message and "\n" not in message
    assert (tmp_path / "index.json").read_bytes() == before
    assert not blob_file(tmp_path, second.digest).exists()
    assert target.existing_digest(second) == first.digest


def test_force_replaces_and_keeps_old_blobs(tmp_path: Path) -> None:
    target = LayoutTarget(tmp_path)
    first, second = make(payload=b"one"), make(payload=b"two")
    target.push(first)
    assert target.push(second, force=True) is True
    assert target.refs() == {"bp-demo:1.0.0": second.digest}
    assert target.read_manifest("bp-demo", "1.0.0") == second.manifest
    assert blob_file(tmp_path, first.digest).exists()  # unreferenced, allowed


def test_many_charts_sorted_and_readable(tmp_path: Path) -> None:
    target = LayoutTarget(tmp_path)
    arts = [make("bp-zeta"), make("bp-alpha", "2.0.0"), make("bp-alpha", "1.0.0+build.7")]
    for art in arts:
        target.push(art)
    names = [d["annotations"][REF_NAME] for d in index_of(tmp_path)["manifests"]]
    assert names == ["bp-alpha:1.0.0_build.7", "bp-alpha:2.0.0", "bp-zeta:1.0.0"]
    for art in arts:
        assert target.existing_digest(art) == art.digest
        assert target.read_manifest(art.name, art.tag) == art.manifest
        assert target.read_blob(art.layer_digest) == art.layer


def test_index_is_deterministic_whatever_the_order(tmp_path: Path) -> None:
    arts = [make(f"bp-{i}") for i in "cab"]
    for order, sub in ((arts, "a"), (arts[::-1], "b")):
        target = LayoutTarget(tmp_path / sub)
        for art in order:
            target.push(art)
    assert (tmp_path / "a" / "index.json").read_bytes() == (
        tmp_path / "b" / "index.json"
    ).read_bytes()


def test_missing_layout_reads_as_empty(tmp_path: Path) -> None:
    target = LayoutTarget(tmp_path / "nothing")
    assert target.existing_digest(make()) is None
    assert target.refs() == {}
    with pytest.raises(RegistryError, match=r"bp-demo:1\.0\.0 is not in index\.json"):
        target.read_manifest("bp-demo", "1.0.0")
    assert not (tmp_path / "nothing").exists()


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (b"", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[]", "no manifests list"),
        (b'{"schemaVersion":2,"manifests":{}}', "no manifests list"),
        (b'{"schemaVersion":1,"manifests":[]}', "schemaVersion is not 2"),
        (b'{"schemaVersion":2,"manifests":[{"digest":"sha256:00"}]}', r"manifests\[0\]"),
    ],
)
def test_corrupt_index_is_a_one_line_error(tmp_path: Path, content: bytes, reason: str) -> None:
    target = LayoutTarget(tmp_path)
    target.push(make())
    (tmp_path / "index.json").write_bytes(content)
    for action in (lambda: target.existing_digest(make()), lambda: target.push(make("bp-other"))):
        with pytest.raises(RegistryError, match=reason) as err:
            action()
        assert str(err.value).startswith(f"{tmp_path / 'index.json'}: ")
        assert "\n" not in str(err.value)
    assert (tmp_path / "index.json").read_bytes() == content  # left for a human to look at


def test_foreign_entries_and_fields_are_kept(tmp_path: Path) -> None:
    blobs = tmp_path / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    (tmp_path / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    foreign = {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": "sha256:" + "a" * 64,
        "size": 7,
        "platform": {"os": "linux", "architecture": "amd64"},
    }
    (tmp_path / "index.json").write_text(
        json.dumps({"schemaVersion": 2, "manifests": [foreign], "annotations": {"x": "y"}})
    )
    art = make()
    LayoutTarget(tmp_path).push(art)
    index = index_of(tmp_path)
    assert index["annotations"] == {"x": "y"}
    assert foreign in index["manifests"]
    assert index["manifests"][0] == foreign  # no ref.name sorts first
    assert index["manifests"][1]["digest"] == art.digest


def test_refuses_a_folder_that_is_not_a_layout(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(RegistryError, match="not an OCI image layout"):
        LayoutTarget(tmp_path).push(make())
    assert not (tmp_path / "index.json").exists()


def test_refuses_another_layout_version(tmp_path: Path) -> None:
    (tmp_path / "oci-layout").write_text('{"imageLayoutVersion":"2.0.0"}')
    with pytest.raises(RegistryError, match="unsupported image layout"):
        LayoutTarget(tmp_path).push(make())


def test_corrupt_blob_on_disk_is_repaired_and_detected(tmp_path: Path) -> None:
    target = LayoutTarget(tmp_path)
    art = make()
    target.push(art)
    layer = blob_file(tmp_path, art.layer_digest)
    layer.write_bytes(b"bitrot")
    with pytest.raises(RegistryError, match="does not match its digest"):
        target.read_blob(art.layer_digest)
    assert target.push(art) is False  # same release: index untouched...
    assert layer.read_bytes() == art.layer  # ...but the blob is whole again


def test_inconsistent_artifact_refused_before_writing(tmp_path: Path) -> None:
    art = make()
    bad = artifact_mod.Artifact(
        name=art.name,
        tag=art.tag,
        config=art.config,
        layer=b"other bytes",
        manifest=art.manifest,
        digest=art.digest,
    )
    with pytest.raises(PackageError, match="does not reference the artifact's blobs"):
        LayoutTarget(tmp_path).push(bad)
    wrong_digest = artifact_mod.Artifact(
        name=art.name,
        tag=art.tag,
        config=art.config,
        layer=art.layer,
        manifest=art.manifest,
        digest="sha256:" + hashlib.sha256(b"x").hexdigest(),
    )
    with pytest.raises(PackageError, match="does not match digest"):
        LayoutTarget(tmp_path).push(wrong_digest)
    assert list(tmp_path.iterdir()) == []


def test_uncreatable_layout_is_a_registry_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("in the way")
    with pytest.raises(RegistryError, match=r"file/oci: cannot create the layout"):
        LayoutTarget(tmp_path / "file" / "oci").push(make())


def test_write_failure_names_the_path(tmp_path: Path) -> None:
    target = LayoutTarget(tmp_path)
    target.push(make())
    # Something in the way of a blob (works for root too, unlike permissions).
    blocked = blob_file(tmp_path, make("bp-two").config_digest)
    blocked.mkdir()
    with pytest.raises(RegistryError, match=r"cannot write") as err:
        target.push(make("bp-two"))
    assert str(tmp_path) in str(err.value)
    assert target.refs() == {"bp-demo:1.0.0": make().digest}


def test_no_temporary_files_left(tmp_path: Path) -> None:
    target = LayoutTarget(tmp_path)
    for i in range(3):
        target.push(make(f"bp-{i}"))
    leftovers = [p for p in tmp_path.rglob(".tmp-*")]
    assert leftovers == []


def test_ref_name_scheme() -> None:
    assert ref_name("bp-flux", "1.0.0_build.1") == "bp-flux:1.0.0_build.1"


# --- two processes at once ---------------------------------------------------


def _publish_many(root: str, prefix: str, count: int) -> None:
    target = LayoutTarget(Path(root))
    for i in range(count):
        target.push(make(f"bp-{prefix}{i}"))
        target.push(make("bp-shared"))  # every process also publishes the same release


def test_parallel_processes_lose_nothing(tmp_path: Path) -> None:
    procs = [
        multiprocessing.Process(target=_publish_many, args=(str(tmp_path), p, 8))
        for p in ("a", "b", "c", "d")
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == 0
    refs = LayoutTarget(tmp_path).refs()
    expected = {f"bp-{p}{i}:1.0.0" for p in "abcd" for i in range(8)} | {"bp-shared:1.0.0"}
    assert set(refs) == expected
    index = index_of(tmp_path)
    assert len(index["manifests"]) == len(expected)
    for ref, digest in refs.items():
        name, tag = ref.split(":")
        assert LayoutTarget(tmp_path).read_manifest(name, tag) == make(name).manifest
        assert digest == make(name).digest


@pytest.mark.parametrize("kind", ["fifo", "zero", "big", "link"])
def test_hostile_layout_files_are_refused_in_one_line(tmp_path: Path, kind: str) -> None:
    # index.json that would hang (a fifo), never end (/dev/zero), eat memory,
    # or lead elsewhere (a symlink): a one-line error naming the file, at once.
    root = tmp_path / "oci"
    target = LayoutTarget(root)
    target.push(make())
    index = root / "index.json"
    index.unlink()
    if kind == "fifo":
        os.mkfifo(index)
    elif kind == "zero":
        index.symlink_to("/dev/zero")
    elif kind == "big":
        with index.open("wb") as fh:
            fh.truncate(16 * 1024 * 1024 + 1)
    else:
        (tmp_path / "elsewhere.json").write_text('{"schemaVersion": 2, "manifests": []}')
        index.symlink_to(tmp_path / "elsewhere.json")
    with pytest.raises(RegistryError) as err:
        target.existing_digest(make())
    message = str(err.value)
    assert str(index) in message and "\n" not in message
    assert any(word in message for word in ("regular file", "limit", "symlink"))
