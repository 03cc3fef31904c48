"""What one `bpkit publish` run is asked to do, as one value the CLI builds.

The command line, a script or a test builds a PublishOptions and hands it
to `bpkit.publish.run.publish`; nothing below the CLI reads click.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_JOBS = 4


@dataclass(frozen=True)
class PublishOptions:
    """Selection, destination and behaviour of a publish run (defaults as the CLI's)."""

    blueprints: tuple[str, ...] = ()  # names or paths
    all: bool = False
    release_tag: str | None = None  # "platform/flux/v1.2.3": selects one blueprint
    registry: str | None = None  # "oci://HOST[:PORT]/NAMESPACE"; None: see destination.py
    layout: str | None = None  # OCI layout folder when no registry is configured
    username: str | None = None
    password_stdin: bool = False  # read the password from stdin (never from argv)
    plain_http: bool = False
    ca_file: str | None = None
    force: bool = False
    dry_run: bool = False
    retry_budget: float | None = None  # None: [tool.bpkit] retry-budget (default 30 s)
    jobs: int = DEFAULT_JOBS
    mode: str | None = None  # "overlay" | "bundle"; None: [tool.bpkit] upstream-mode
