"""The default publish target: an OCI image layout folder (`dist/oci/`).

With no registry configured, bpkit still publishes: into a local folder in
the OCI image layout format (image-spec `image-layout.md`), which skopeo,
oras and crane read, so a later step can copy the exact same bytes, and so
the same digests, to any registry:

    skopeo copy oci:dist/oci:bp-flux:1.0.0 docker://registry.example/charts/bp-flux:1.0.0

Layout:

    dist/oci/oci-layout          {"imageLayoutVersion":"1.0.0"}
    dist/oci/index.json          every published chart, one manifest descriptor each
    dist/oci/blobs/sha256/<hex>  manifests, configs and chart archives
    dist/oci/.bpkit.lock         lock file; holds no data

Many charts share one layout, so each index entry is named
`org.opencontainers.image.ref.name = "<chart name>:<tag>"` (e.g.
`bp-flux:1.0.0`, or `bp-flux:1.0.0_build.1` for version 1.0.0+build.1),
which is also what skopeo's `oci:PATH:REF` transport takes as REF.

A release is immutable as in a registry: the same name:tag with the same
digest is left alone ("already published"); with another digest it is
refused unless forced, except when that manifest is this release with the
chart compressed by another zlib (`bpkit.oci.artifact.same_release`: the
same uncompressed tar), which is left alone too. A replaced manifest's blobs stay in `blobs/` (the
layout has no garbage collection; unreferenced blobs are allowed).

Writes are atomic (temporary file in the same folder, fsync, rename) and
ordered blobs first, index.json last, so a reader never sees an index entry
whose blobs are missing. index.json is rewritten under an exclusive
`flock` on the lock file, so parallel bpkit runs publishing into one
layout do not lose each other's entries.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bpkit.errors import ImmutableReleaseError, PackageError, RegistryError
from bpkit.limits import LAYOUT_INDEX_MAX_BYTES, OCI_MAX_BLOB_BYTES, OCI_MAX_MANIFEST_BYTES
from bpkit.oci.artifact import MANIFEST_MEDIA_TYPE, Artifact, same_release, sha256_digest

INDEX_MEDIA_TYPE = "application/vnd.oci.image.index.v1+json"
LAYOUT_VERSION = "1.0.0"
REF_NAME = "org.opencontainers.image.ref.name"
LOCK_NAME = ".bpkit.lock"
_LAYOUT_FILE = "oci-layout"
_INDEX_FILE = "index.json"
_TMP_PREFIX = ".tmp-"


def ref_name(name: str, tag: str) -> str:
    """The index entry name of one chart release: "bp-flux:1.0.0"."""
    return f"{name}:{tag}"


def _hex_of(digest: str) -> str:
    algo, _, hexpart = digest.partition(":")
    if algo != "sha256" or len(hexpart) != 64 or not all(c in "0123456789abcdef" for c in hexpart):
        raise RegistryError(f"unsupported or malformed digest {digest!r}")
    return hexpart


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _atomic_write(path: Path, data: bytes) -> None:
    """Write, fsync and rename into place; the file's mode follows the umask."""
    tmp = path.with_name(f"{_TMP_PREFIX}{os.getpid()}-{secrets.token_hex(6)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)


class LayoutTarget:
    """One OCI image layout folder holding many charts' releases."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"LayoutTarget({str(self.root)!r})"

    # -- paths ---------------------------------------------------------------

    @property
    def index_path(self) -> Path:
        return self.root / _INDEX_FILE

    def blob_path(self, digest: str) -> Path:
        return self.root / "blobs" / "sha256" / _hex_of(digest)

    # -- reading -------------------------------------------------------------

    @staticmethod
    def _read(path: Path, cap: int) -> bytes:
        """A regular file's bytes, at most `cap` of them: never a link, fifo or device.

        FileNotFoundError passes through; anything else is a one-line RegistryError.
        """
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(path, flags)
        except FileNotFoundError:
            raise
        except OSError as exc:
            why = "a symlink" if exc.errno == errno.ELOOP else exc.strerror
            raise RegistryError(f"{path}: cannot read: {why}") from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise RegistryError(f"{path}: not a regular file")
            if st.st_size > cap:
                raise RegistryError(f"{path}: {st.st_size} bytes, over the {cap} byte limit")
            data = os.read(fd, cap + 1)
            while len(data) <= cap and (chunk := os.read(fd, cap + 1 - len(data))):
                data += chunk
        except OSError as exc:
            raise RegistryError(f"{path}: cannot read: {exc.strerror}") from None
        finally:
            os.close(fd)
        if len(data) > cap:
            raise RegistryError(f"{path}: over the {cap} byte limit")
        return data

    def _load_index(self) -> dict[str, Any] | None:
        """index.json, checked enough to be safe to update; None if absent."""
        path = self.index_path
        try:
            raw = self._read(path, LAYOUT_INDEX_MAX_BYTES)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise RegistryError(f"{path}: cannot read: {exc.strerror}") from exc
        try:
            index = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            reason = str(exc).splitlines()[0]
            raise RegistryError(f"{path}: not valid JSON ({reason})") from exc
        if not isinstance(index, dict) or not isinstance(index.get("manifests", []), list):
            raise RegistryError(f"{path}: not an OCI image index (no manifests list)")
        if index.get("schemaVersion") != 2:
            raise RegistryError(f"{path}: not an OCI image index (schemaVersion is not 2)")
        for i, desc in enumerate(index.get("manifests", [])):
            if not (
                isinstance(desc, dict)
                and isinstance(desc.get("digest"), str)
                and isinstance(desc.get("mediaType"), str)
                and isinstance(desc.get("size"), int)
                and isinstance(desc.get("annotations", {}), dict)
            ):
                raise RegistryError(f"{path}: manifests[{i}] is not a valid descriptor")
        return index

    @staticmethod
    def _lookup(index: dict[str, Any] | None, ref: str) -> str | None:
        if index is None:
            return None
        found = None
        for desc in index.get("manifests", []):
            if desc.get("annotations", {}).get(REF_NAME) == ref:
                found = desc["digest"]
        return found if isinstance(found, str) else None

    def refs(self) -> dict[str, str]:
        """ref.name -> manifest digest for every named entry."""
        index = self._load_index()
        out: dict[str, str] = {}
        for desc in (index or {}).get("manifests", []):
            name = desc.get("annotations", {}).get(REF_NAME)
            if isinstance(name, str):
                out[name] = desc["digest"]
        return dict(sorted(out.items()))

    def existing_digest(self, artifact: Artifact) -> str | None:
        """The digest this layout already holds under the artifact's name:tag."""
        return self._lookup(self._load_index(), ref_name(artifact.name, artifact.tag))

    def read_blob(self, digest: str) -> bytes:
        """A blob's bytes, checked against its digest."""
        path = self.blob_path(digest)
        try:
            data = self._read(path, OCI_MAX_BLOB_BYTES)
        except FileNotFoundError as exc:
            raise RegistryError(f"{self.root}: blob {digest} is missing") from exc
        except OSError as exc:
            raise RegistryError(f"{path}: cannot read: {exc.strerror}") from exc
        if sha256_digest(data) != digest:
            raise RegistryError(f"{path}: content does not match its digest {digest}")
        return data

    def read_manifest(self, name: str, tag: str) -> bytes:
        """The manifest bytes published as name:tag."""
        ref = ref_name(name, tag)
        digest = self._lookup(self._load_index(), ref)
        if digest is None:
            raise RegistryError(f"{self.root}: {ref} is not in {_INDEX_FILE}")
        return self.read_blob(digest)

    def same_release(self, artifact: Artifact) -> str | None:
        """The digest name:tag holds if it is this release compressed differently, else None."""
        current = self.existing_digest(artifact)
        if current is None or current == artifact.digest:
            return None
        return current if self._holds_same_release(artifact, current) else None

    def _holds_same_release(self, artifact: Artifact, current: str) -> bool:
        if artifact.content_digest is None:
            return False
        try:
            if self.blob_path(current).stat().st_size > OCI_MAX_MANIFEST_BYTES:
                return False
            served = self.read_blob(current)
        except (OSError, RegistryError):
            return False  # a missing or damaged manifest is not ours
        return same_release(artifact, served)

    # -- writing -------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fh = open(self.root / LOCK_NAME, "a")  # noqa: SIM115 (held across yield)
        except OSError as exc:
            raise RegistryError(f"{self.root}: cannot create the layout: {exc.strerror}") from exc
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            yield
        finally:
            fh.close()  # closing releases the lock

    def _ensure_layout(self) -> None:
        marker = self.root / _LAYOUT_FILE
        try:
            raw = self._read(marker, 4096)
        except FileNotFoundError:
            others = {p.name for p in self.root.iterdir()} - {LOCK_NAME, "blobs"}
            others = {n for n in others if not n.startswith(_TMP_PREFIX)}
            if others:
                raise RegistryError(
                    f"{self.root}: not an OCI image layout (no {_LAYOUT_FILE}) and not empty"
                ) from None
            (self.root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
            _atomic_write(marker, json.dumps({"imageLayoutVersion": LAYOUT_VERSION}).encode())
            return
        try:
            version = json.loads(raw).get("imageLayoutVersion")
        except (ValueError, AttributeError):
            version = None
        if version != LAYOUT_VERSION:
            raise RegistryError(
                f"{marker}: unsupported image layout (want version {LAYOUT_VERSION})"
            )
        (self.root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)

    def _write_blob(self, digest: str, data: bytes) -> None:
        """Store a blob unless an intact copy is there; verify before writing."""
        if sha256_digest(data) != digest:
            raise PackageError(f"blob {digest}: content does not match its digest")
        path = self.blob_path(digest)
        try:
            if path.stat().st_size == len(data) and path.read_bytes() == data:
                return
        except FileNotFoundError:
            pass
        _atomic_write(path, data)

    @staticmethod
    def _check_artifact(artifact: Artifact) -> dict[str, Any]:
        """The artifact's manifest, checked to reference exactly its own blobs."""
        where = f"artifact {ref_name(artifact.name, artifact.tag)}"
        if sha256_digest(artifact.manifest) != artifact.digest:
            raise PackageError(f"{where}: manifest does not match digest {artifact.digest}")
        try:
            manifest = json.loads(artifact.manifest)
            config = manifest["config"]["digest"]
            layers = [d["digest"] for d in manifest["layers"]]
            media_type = manifest.get("mediaType") or MANIFEST_MEDIA_TYPE
        except (ValueError, KeyError, TypeError) as exc:
            raise PackageError(f"{where}: manifest is not an OCI image manifest") from exc
        if config != artifact.config_digest or layers != [artifact.layer_digest]:
            raise PackageError(f"{where}: manifest does not reference the artifact's blobs")
        return {"mediaType": media_type}

    def push(self, artifact: Artifact, *, force: bool = False) -> bool:
        """Publish; True if written, False if this exact release was already there.

        Raises ImmutableReleaseError if name:tag holds another digest and
        force is False.
        """
        facts = self._check_artifact(artifact)
        ref = ref_name(artifact.name, artifact.tag)
        try:
            with self._locked():
                self._ensure_layout()
                index = self._load_index()
                current = self._lookup(index, ref)
                if current is not None and current != artifact.digest and not force:
                    if self._holds_same_release(artifact, current):
                        return False
                    raise ImmutableReleaseError(
                        f"{self.root}: {ref} is already published as {current}; "
                        f"refusing to replace it with {artifact.digest} (use --force)"
                    )
                for digest, data in artifact.blobs:
                    self._write_blob(digest, data)
                self._write_blob(artifact.digest, artifact.manifest)
                if current == artifact.digest:
                    return False
                entry = {
                    "mediaType": facts["mediaType"],
                    "digest": artifact.digest,
                    "size": len(artifact.manifest),
                    "annotations": {REF_NAME: ref},
                }
                self._write_index(index, ref, entry)
                return True
        except OSError as exc:
            where = exc.filename2 or exc.filename or self.root
            reason = exc.strerror or errno.errorcode.get(exc.errno or 0, str(exc))
            raise RegistryError(f"{where}: cannot write: {reason}") from exc

    def _write_index(self, index: dict[str, Any] | None, ref: str, entry: dict[str, Any]) -> None:
        old = (index or {}).get("manifests", [])
        kept = [d for d in old if d.get("annotations", {}).get(REF_NAME) != ref]
        manifests = sorted(
            [*kept, entry],
            key=lambda d: (str(d.get("annotations", {}).get(REF_NAME, "")), d["digest"]),
        )
        extra = {
            k: v
            for k, v in (index or {}).items()
            if k not in ("schemaVersion", "mediaType", "manifests")
        }
        new = {
            "schemaVersion": 2,
            "mediaType": INDEX_MEDIA_TYPE,
            "manifests": manifests,
            **dict(sorted(extra.items())),
        }
        data = json.dumps(new, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        _atomic_write(self.index_path, data)
