"""The upstream `repo` is an https:// Helm repository or an oci:// registry path.

The installer fetches the chart from here on every install, so it must be
safe to publish and to fetch: `https://` (never plain `http://`, which
anyone on the path can tamper with) or `oci://HOST/PATH`; no user name or
password in the URL (the message never repeats one: rotate it, it is in
git history now); no `?query` or `#fragment`, which Helm would silently
mangle into the index URL.

Passing::

    # file: chart/values.yaml
    catalystBlueprint:
      upstream: { chart: flux2, version: "2.13.0", repo: "oci://ghcr.io/fluxcd-community/charts" }

Failing::

    # file: chart/values.yaml
    catalystBlueprint:
      upstream: { chart: flux2, version: "2.13.0", repo: "http://fluxcd-community.github.io/helm-charts" }
"""

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

from bpkit.lint.context import Context
from bpkit.problem import Level, Problem
from bpkit.source.model import Blueprint
from bpkit.text import redact

ID = "upstream-repo"
LEVEL = Level.ERROR
_SPACE = re.compile(r"\s")


class _Shown:
    """The repo as a message shows it (redacted), worked out only for a message."""

    def __init__(self, repo: str) -> None:
        self.repo = repo

    def __repr__(self) -> str:
        return repr(redact(self.repo))


def repo_problem(repo: str) -> str | None:
    """Why `repo` is not acceptable, never echoing credentials; None when fine."""
    shown = _Shown(repo)
    if _SPACE.search(repo) is not None:
        return f"repo {shown!r} contains whitespace"
    try:
        parts = urlsplit(repo)
        port = parts.port
    except ValueError:
        return f"repo {shown!r} is not a valid URL"
    del port
    if parts.scheme not in ("https", "oci", "http"):
        return f"repo {shown!r} must start with https:// (a Helm repository) or oci:// (a registry)"
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        return ("repo contains credentials; remove them from the URL (and rotate them: they are "
                "in git history) and give the installer credentials another way")
    if parts.scheme == "http":
        return (f"repo {shown!r} uses plain http://; use https:// so the chart cannot be "
                "tampered with in transit")
    if not parts.hostname:
        return f"repo {shown!r} has no host"
    if parts.query or repo.endswith("?"):
        return f"repo {shown!r} has a query string; Helm repository URLs take none"
    if parts.fragment or "#" in repo:
        return f"repo {shown!r} has a #fragment; Helm repository URLs take none"
    if parts.scheme == "oci" and parts.path.strip("/") == "":
        return f"repo {shown!r} needs a path after the registry host (oci://HOST/PATH)"
    return None


def check(bp: Blueprint, ctx: Context) -> Iterator[Problem]:
    upstream = bp.upstream
    if upstream is None or bp.values is None or bp.no_upstream:
        return
    repo = upstream.get("repo")
    if not isinstance(repo, str):
        return
    why = repo_problem(repo)
    if why is not None:
        yield bp.values.problem(("catalystBlueprint", "upstream", "repo"), ID, why)
