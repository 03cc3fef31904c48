"""Running `bpkit publish` the way the registry tests do: own HOME, no secrets shown."""

from __future__ import annotations

import base64
from pathlib import Path

from tests.helpers.cli import Run, bpkit

TAG = "1.0.0"  # the version of every wrapper in platform/


def run(repo: Path, *args: str, env: dict[str, str] | None = None, stdin: str | None = None,
        timeout: float = 60) -> Run:
    """bpkit in `repo`, with a HOME and docker config of its own (never the developer's)."""
    home = repo.parent / "home"
    home.mkdir(exist_ok=True)
    full = {"HOME": str(home), "DOCKER_CONFIG": str(home / ".docker")}
    full.update(env or {})
    return bpkit(*args, cwd=repo, env=full, stdin=stdin, timeout=timeout)


def no_secret(r: Run, secret: str) -> None:
    """Neither the secret nor its base64 form reached stdout or stderr."""
    assert secret not in r.out and secret not in r.err
    encoded = base64.b64encode(secret.encode()).decode()
    assert encoded not in r.out and encoded not in r.err
