"""The content digest: the uncompressed tar's sha256 in the manifest, and `same_release`.

Registry and layout behaviour: tests/integration/test_content_digest.py.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from bpkit.helm import tgz
from bpkit.helm.chartfiles import Entry
from bpkit.oci.artifact import (
    CONTENT_DIGEST,
    Artifact,
    build_artifact,
    content_digest_of,
    same_release,
    sha256_digest,
)

META = {"apiVersion": "v2", "name": "bp-x", "version": "1.0.0", "type": "application"}
ENTRIES = [Entry("Chart.yaml", b"apiVersion: v2\nname: bp-x\nversion: 1.0.0\n"),
           Entry("values.yaml", b"a: 1\n" * 200)]


def artifact(level: int = 9, *, epoch: int = 1_700_000_000, content: bool = True,
             entries: list[Entry] = ENTRIES) -> Artifact:
    data, tar = tgz.pack_both(entries, name="bp-x", mtime=epoch, level=level)
    return build_artifact(META, data, created_epoch=epoch,
                          upstream={"chart": "x", "version": "1.0.0", "repo": "https://e.x"},
                          content=tar if content else None)


def encoded(manifest: object) -> bytes:
    return json.dumps(manifest, separators=(",", ":")).encode()


def test_the_annotation_is_the_tar_digest() -> None:
    data, tar = tgz.pack_both(ENTRIES, name="bp-x", mtime=0)
    assert data == tgz.pack(ENTRIES, name="bp-x", mtime=0)
    art = build_artifact(META, data, created_epoch=0, content=tar)
    assert json.loads(art.manifest)["annotations"][CONTENT_DIGEST] == sha256_digest(tar)
    assert art.content_digest == content_digest_of(art.manifest) == sha256_digest(tar)
    # Without the tar, the manifest is Helm's own shape: no such annotation.
    plain = build_artifact(META, data, created_epoch=0)
    assert CONTENT_DIGEST not in json.loads(plain.manifest)["annotations"]
    assert plain.content_digest is None


def test_another_zlib_level_is_the_same_release() -> None:
    ours, theirs = artifact(9), artifact(1)
    assert ours.layer != theirs.layer and ours.digest != theirs.digest
    assert same_release(ours, theirs.manifest)
    assert same_release(theirs, ours.manifest)
    assert same_release(ours, ours.manifest)


@pytest.mark.parametrize("case", ["other tar", "other time", "no content digest",
                                  "forged annotation", "two layers", "other media type"])
def test_what_is_not_the_same_release(case: str) -> None:
    ours = artifact(9)
    theirs = artifact(1)
    manifest = json.loads(theirs.manifest)
    if case == "other tar":
        served = artifact(1, entries=[*ENTRIES, Entry("extra.txt", b"x")]).manifest
    elif case == "other time":
        served = artifact(1, epoch=1_700_000_001).manifest
    elif case == "no content digest":
        served = artifact(1, content=False).manifest
    elif case == "forged annotation":  # our content digest on another release's manifest
        manifest["annotations"]["org.opencontainers.image.description"] = "not ours"
        served = encoded(manifest)
    elif case == "two layers":
        manifest["layers"].append(dict(manifest["layers"][0]))
        served = encoded(manifest)
    else:
        manifest["layers"][0]["mediaType"] = "application/octet-stream"
        served = encoded(manifest)
    assert not same_release(ours, served)


@pytest.mark.parametrize("served", [b"", b"not json", b"[]", b'{"annotations": []}',
                                    b'{"annotations": {"io.openova.catalyst.content.digest": 1}}',
                                    b"[" * 100_000])
def test_garbage_read_back_is_not_ours(served: bytes) -> None:
    assert content_digest_of(served) is None
    assert not same_release(artifact(), served)


def test_an_artifact_without_content_digest_matches_nothing() -> None:
    ours = dataclasses.replace(artifact(9), content_digest=None)
    assert not same_release(ours, artifact(1).manifest)
