"""What `bpkit verify` can be pointed at, and how each is read.

* `oci://HOST[:PORT]/NAMESPACE/bp-x:1.2.3` or `...bp-x@sha256:<hex>`: a registry
  (credentials as for publish: environment, docker/helm/containers files);
* `oci:DIR:bp-x:1.2.3`: an entry of an OCI image layout (skopeo's syntax);
* a path to a chart `.tgz`.

A reference that cannot be parsed is a UsageError (exit 2); one that cannot
be read is a finding in its report (exit 1), so several references are
all checked.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bpkit.errors import BpkitError, UsageError
from bpkit.limits import HELM_MAX_CHART_BYTES, OCI_MAX_BLOB_BYTES
from bpkit.oci.reference import DIGEST_RE, NAME_COMPONENT_RE, TAG_RE, parse_registry
from bpkit.text import printable, redact
from bpkit.verify.check import Report, verify_archive, verify_manifest

__all__ = ["Target", "parse_ref", "verify_ref"]


@dataclass(frozen=True)
class Target:
    kind: str  # "registry" | "layout" | "archive"
    text: str  # as given
    location: str  # registry "oci://HOST/NS", layout folder, or file path
    name: str = ""
    reference: str = ""  # tag or digest


def parse_ref(text: str) -> Target:
    """Parse one REF argument; UsageError naming it when it is none of the three forms."""
    shown = printable(redact(text))
    if text.startswith("oci://"):
        rest = text[len("oci://"):]
        if "@" in rest:
            path, _, reference = rest.rpartition("@")
            if not DIGEST_RE.fullmatch(reference):
                raise UsageError(f"{shown}: the digest must be sha256:<64 hex>")
        else:
            path, sep, reference = rest.rpartition(":")
            if not sep or "/" in reference or not TAG_RE.fullmatch(reference):
                raise UsageError(f"{shown}: expected oci://HOST/NAMESPACE/NAME:TAG "
                                 "or NAME@sha256:...")
        location, _, name = path.rpartition("/")
        if not name or not NAME_COMPONENT_RE.fullmatch(name):
            raise UsageError(f"{shown}: no chart name before the tag")
        registry = parse_registry("oci://" + location)  # validates host and namespace
        return Target("registry", text, registry.url, name, reference)
    if text.startswith("oci:"):
        parts = text[len("oci:"):].rsplit(":", 2)
        if len(parts) != 3 or not all(parts):
            raise UsageError(f"{shown}: expected oci:DIR:NAME:TAG")
        folder, name, tag = parts
        if not TAG_RE.fullmatch(tag):
            raise UsageError(f"{shown}: {printable(tag)!r} is not a tag")
        return Target("layout", text, folder, name, tag)
    if text.endswith(".tgz") or Path(text).is_file():
        return Target("archive", text, text)
    raise UsageError(f"{shown}: expected oci://HOST/NAMESPACE/NAME:TAG, oci:DIR:NAME:TAG "
                     "or a chart .tgz")


def verify_ref(target: Target, *, plain_http: bool | None = None, ca_file: str | None = None,
               env: Mapping[str, str] = os.environ) -> Report:
    """Read what `target` names and check it; read failures become findings."""
    try:
        if target.kind == "archive":
            return verify_archive(target.text, _read_file(Path(target.location)))
        if target.kind == "layout":
            return _verify_layout(target)
        return _verify_registry(target, plain_http=plain_http, ca_file=ca_file, env=env)
    except UsageError:
        raise
    except BpkitError as exc:
        report = Report(ref=target.text)
        report.add("read", exc.message)
        return report


def _read_file(path: Path) -> bytes:
    try:
        with path.open("rb") as fh:
            data = fh.read(HELM_MAX_CHART_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"{printable(str(path))}: cannot read: {exc.strerror}") from None
    if len(data) > HELM_MAX_CHART_BYTES:
        raise UsageError(f"{printable(str(path))}: larger than Helm's chart limit")
    return data


def _verify_layout(target: Target) -> Report:
    from bpkit.oci.layout import LayoutTarget

    folder = Path(target.location)
    if not (folder / "index.json").is_file():
        raise UsageError(f"{printable(target.location)}: not an OCI image layout "
                         "(no index.json)")
    layout = LayoutTarget(folder)
    manifest = layout.read_manifest(target.name, target.reference)

    def read(digest: str, size: int) -> bytes:
        return layout.read_blob(digest)

    return verify_manifest(target.text, manifest, read)


def _verify_registry(target: Target, *, plain_http: bool | None, ca_file: str | None,
                     env: Mapping[str, str]) -> Report:
    from bpkit.net.credentials import resolve
    from bpkit.net.registry import RegistryTarget

    ref = parse_registry(target.location)
    credentials: Any = resolve(ref.host, env=env)
    with RegistryTarget(ref, credentials=credentials, plain_http=plain_http,
                        ca_file=ca_file) as registry:
        manifest = registry.get_manifest(target.name, target.reference)

        def read(digest: str, size: int) -> bytes:
            return registry.get_blob(target.name, digest, limit=min(size, OCI_MAX_BLOB_BYTES))

        expected = target.reference if target.reference.startswith("sha256:") else None
        return verify_manifest(target.text, manifest, read, expected_digest=expected)
