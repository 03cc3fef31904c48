"""One grammar for OCI names, tags and digests, and registry URLs.

Used by packaging (is the chart name a valid repository name, the version a
valid tag?), publishing (where does `oci://HOST/NAMESPACE` point?) and
reading references back (`verify`, upstream charts in OCI registries), so
the three agree on what a valid reference is. The grammar is the OCI
distribution spec's (and distribution's reference package).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bpkit.errors import UsageError
from bpkit.text import redact

if TYPE_CHECKING:
    from bpkit.oci.artifact import Artifact

__all__ = [
    "DIGEST_RE",
    "NAME_COMPONENT_RE",
    "TAG_RE",
    "RegistryRef",
    "is_loopback_host",
    "parse_registry",
]

#: One path component of a repository name: lower case, single separators.
NAME_COMPONENT_RE = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
#: A tag: at most 128 characters, not starting with `.` or `-`.
TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
#: The only digest algorithm bpkit writes or accepts.
DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}")
_HOSTNAME_RE = re.compile(
    r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*"
)


@dataclass(frozen=True)
class RegistryRef:
    """Where artifacts go: `oci://HOST[:PORT]/NAMESPACE`; repository = NAMESPACE/<name>."""

    host: str  # "ghcr.io", "127.0.0.1:5000", "[::1]:5000" (lower case)
    namespace: str  # "openova-io" or "openova-io/charts"

    @property
    def hostname(self) -> str:
        """The host without port or IPv6 brackets."""
        if self.host.startswith("["):
            return self.host[1 : self.host.index("]")]
        return self.host.rsplit(":", 1)[0] if ":" in self.host else self.host

    @property
    def port(self) -> int | None:
        tail = self.host.rsplit("]", 1)[-1]
        return int(tail.rsplit(":", 1)[1]) if ":" in tail else None

    @property
    def is_loopback(self) -> bool:
        return is_loopback_host(self.hostname)

    @property
    def url(self) -> str:
        return f"oci://{self.host}/{self.namespace}"

    def repository(self, name: str) -> str:
        """The repository path for chart `name`, checked against OCI's grammar."""
        if not NAME_COMPONENT_RE.fullmatch(name):
            raise UsageError(f"{self.url}: '{name}' is not a valid OCI repository name")
        repo = f"{self.namespace}/{name}"
        if len(repo) > 255:
            raise UsageError(f"{self.url}: repository '{repo}' is longer than 255 characters")
        return repo

    def reference(self, artifact: Artifact) -> str:
        """`HOST/REPO:TAG`, the form skopeo and humans read."""
        return f"{self.host}/{self.repository(artifact.name)}:{artifact.tag}"

    def __str__(self) -> str:
        return self.url


def is_loopback_host(hostname: str) -> bool:
    """True for localhost, 127.0.0.0/8 and ::1: the only hosts spoken to in plain HTTP unasked."""
    name = hostname.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def parse_registry(url: str) -> RegistryRef:
    """Parse and validate `oci://HOST[:PORT]/NAMESPACE[/...]` (the `oci://` is optional)."""
    text = url.strip()
    shown = redact(text)
    if not text:
        raise UsageError("registry URL is empty: expected oci://HOST/NAMESPACE")
    if "://" in text:
        scheme, _, rest = text.partition("://")
        if scheme.lower() != "oci":
            raise UsageError(
                f"registry URL '{shown}' must start with oci:// (as in oci://ghcr.io/my-org)"
            )
    else:
        rest = text
    if "@" in rest:
        raise UsageError(
            f"registry URL '{shown}' must not contain credentials or a digest: "
            "pass credentials with --username/--password-stdin or the environment"
        )
    if any(c in rest for c in "?#\\ \t"):
        raise UsageError(f"registry URL '{shown}' must not contain a query, fragment or spaces")
    host, _, path = rest.partition("/")
    host = host.lower()
    _check_host(host, shown)
    namespace = path.strip("/")
    if not namespace:
        raise UsageError(
            f"registry URL '{shown}' has no namespace: expected oci://{host or 'HOST'}/NAMESPACE"
        )
    for part in namespace.split("/"):
        if ":" in part:
            raise UsageError(
                f"registry URL '{shown}' must not carry a tag: the tag is the chart version"
            )
        if not NAME_COMPONENT_RE.fullmatch(part):
            raise UsageError(
                f"registry URL '{shown}': namespace part '{part}' must be lower-case letters, "
                "digits and single separators (. _ __ -)"
            )
    return RegistryRef(host=host, namespace=namespace)


def _check_host(host: str, shown: str) -> None:
    if host.startswith("["):
        inner, _, tail = host[1:].partition("]")
        try:
            ipaddress.IPv6Address(inner)
        except ValueError:
            raise UsageError(f"registry URL '{shown}': '{host}' is not a valid IPv6 host") from None
        port = tail[1:] if tail.startswith(":") else None
        if tail and port is None:
            raise UsageError(f"registry URL '{shown}': bad text after the IPv6 address")
    else:
        name, sep, port_text = host.partition(":")
        port = port_text if sep else None
        if not name or not _HOSTNAME_RE.fullmatch(name) or len(name) > 253:
            raise UsageError(f"registry URL '{shown}': '{host}' is not a valid registry host")
    if port is not None and not (port.isdigit() and 0 < int(port) < 65536):
        raise UsageError(f"registry URL '{shown}': port '{port}' must be a number from 1 to 65535")
