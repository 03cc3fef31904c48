"""Pieces several subcommands share."""

from __future__ import annotations

from pathlib import Path

from bpkit.discover import find_repo_root
from bpkit.settings import Settings, load_settings


def settings_here() -> Settings:
    from bpkit.rules import RULES

    root = find_repo_root(Path.cwd())
    return load_settings(root, known_rules=frozenset(RULES))
