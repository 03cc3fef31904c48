from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def monorepo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A clean monorepo with platform/flux and platform/cert-manager, as cwd."""
    from tests.helpers.blueprints import write_tree

    root = tmp_path / "repo"
    root.mkdir()
    (root / ".git").mkdir()  # marks the repository root for discovery (not a real repo)
    write_tree(root)
    monkeypatch.chdir(root)
    for var in ("GITHUB_ACTIONS", "NO_COLOR", "FORCE_COLOR", "SOURCE_DATE_EPOCH",
                "BPKIT_REGISTRY", "BPKIT_REGISTRY_USERNAME", "BPKIT_REGISTRY_PASSWORD"):
        monkeypatch.delenv(var, raising=False)
    yield root


@pytest.fixture(autouse=True)
def _no_user_git_config(monkeypatch: pytest.MonkeyPatch,
                        tmp_path_factory: pytest.TempPathFactory) -> None:
    """Git in tests never reads the developer's config, and commits are pinned."""
    home = tmp_path_factory.getbasetemp() / "home"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for key, value in {
        "GIT_AUTHOR_NAME": "Test Author", "GIT_AUTHOR_EMAIL": "author@example.com",
        "GIT_COMMITTER_NAME": "Test Committer", "GIT_COMMITTER_EMAIL": "committer@example.com",
        "GIT_AUTHOR_DATE": "2024-01-02T03:04:05Z", "GIT_COMMITTER_DATE": "2024-01-02T03:04:05Z",
    }.items():
        monkeypatch.setenv(key, value)
