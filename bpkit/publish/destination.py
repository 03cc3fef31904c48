"""Where releases go, and which setting wins.

Precedence: `--registry`, then `$BPKIT_REGISTRY`, then `[tool.bpkit]
registry`; with none of them, the local OCI image layout `dist/oci` under
the repository root (or `--layout`). Credentials only make sense for a
registry, so asking for them without one is a usage error rather than a
silent no-op.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bpkit.errors import UsageError
from bpkit.publish.options import PublishOptions
from bpkit.settings import Settings
from bpkit.text import decoded

if TYPE_CHECKING:
    from bpkit.net.credentials import Credentials


@dataclass(frozen=True)
class Destination:
    """Where releases go: a registry namespace, or a local OCI image layout."""

    registry: str | None = None  # "oci://HOST[:PORT]/NAMESPACE"
    layout: Path | None = None
    plain_http: bool | None = None
    ca_file: str | None = None
    credentials: Credentials | None = None  # never printed (Credentials hides the password)
    retry_budget: float = 30.0

    def describe(self) -> str:
        if self.registry is not None:
            return self.registry
        return f"OCI layout {self.layout}"

    def secrets(self) -> tuple[str, ...]:
        """What must never appear in output about this destination."""
        return self.credentials.secrets() if self.credentials is not None else ()


def read_password(stream: TextIO | None) -> str:
    """The password piped to stdin: bounded, strict UTF-8, trailing line break dropped."""
    from bpkit.limits import PASSWORD_STDIN_MAX_BYTES

    if stream is None:
        raise UsageError("--password-stdin: there is no stdin to read the password from")
    buffer = getattr(stream, "buffer", None)
    raw = (buffer or stream).read(PASSWORD_STDIN_MAX_BYTES + 1)
    if isinstance(raw, str):  # a text stream without bytes underneath (tests, embedding)
        raw = raw.encode("utf-8", "surrogateescape")
    if len(raw) > PASSWORD_STDIN_MAX_BYTES:
        raise UsageError(f"--password-stdin: stdin holds more than {PASSWORD_STDIN_MAX_BYTES} "
                         "bytes; pipe only the password or token")
    try:
        text = bytes(raw).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"--password-stdin: stdin is not valid UTF-8 (byte {exc.start + 1} "
                         "of what was read)") from None
    return text.rstrip("\r\n")


def resolve_destination(settings: Settings, options: PublishOptions, *,
                        env: Mapping[str, str] | None = None,
                        stdin: TextIO | None = None) -> Destination:
    """The destination `options` and the environment name (see the module docstring).

    With `options.password_stdin` the password is read from `stdin`
    (default: sys.stdin): at most PASSWORD_STDIN_MAX_BYTES, strict UTF-8,
    trailing CR/LF dropped.
    """
    env = os.environ if env is None else env
    budget = options.retry_budget if options.retry_budget is not None else settings.retry_budget
    env_url = env.get("BPKIT_REGISTRY")
    if env_url is not None:
        decoded(env_url, "environment variable BPKIT_REGISTRY")
    if options.registry is not None:
        decoded(options.registry, "--registry")
    url = options.registry or env_url or settings.registry
    if url is None:
        if options.username or options.password_stdin or options.ca_file:
            raise UsageError("credentials and --ca-file need a registry (--registry or "
                             "BPKIT_REGISTRY); the default destination is a local folder")
        layout = Path(options.layout) if options.layout else settings.root / "dist" / "oci"
        return Destination(layout=layout, retry_budget=budget)
    if options.layout:
        raise UsageError("--layout is for publishing without a registry; drop one of the two")
    from bpkit.net.credentials import resolve
    from bpkit.oci.reference import parse_registry

    ref = parse_registry(url)
    password = None
    if options.password_stdin:
        if not options.username:
            raise UsageError("--password-stdin needs --username")
        password = read_password(stdin or sys.stdin)
        if not password:
            raise UsageError("--password-stdin: nothing was read from stdin")
    elif options.username:
        raise UsageError("--username needs --password-stdin (passwords are never taken "
                         "on the command line)")
    credentials = resolve(ref.host, username=options.username, password=password, env=env)
    return Destination(registry=url, plain_http=True if options.plain_http else None,
                       ca_file=options.ca_file, credentials=credentials, retry_budget=budget)
