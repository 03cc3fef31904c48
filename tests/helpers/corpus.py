"""Where the real blueprints are: the corpus beside the clone (not committed here)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers.cli import REPO


def corpus_dir() -> Path:
    """The real blueprints: $BPKIT_CORPUS, else shared/corpus beside the clone (or its parent)."""
    override = os.environ.get("BPKIT_CORPUS")
    candidates = ([Path(override)] if override else
                  [REPO.parent / "shared" / "corpus", REPO.parents[1] / "shared" / "corpus"])
    for folder in candidates:
        if (folder / "openova" / "head" / "platform").is_dir():
            return folder / "openova" / "head"
    message = (f"the corpus is not at {' or '.join(map(str, candidates))}: check out "
               "../shared beside the clone (or set BPKIT_CORPUS)")
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message)
    pytest.skip(message)
