"""What the engine gives every rule besides the blueprint itself."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bpkit.source.model import Blueprint

if TYPE_CHECKING:
    from bpkit.history.gate import GateFacts
    from bpkit.settings import Settings


@dataclass
class Context:
    """Shared, lazily built facts about the tree being linted.

    `universe` holds the linted blueprints plus their siblings in the same
    monorepo (`platform/`, `products/`), so a dependency on a blueprint that
    was not passed on the command line (as with pre-commit) still resolves.
    """

    linted: Sequence[Blueprint]
    load_siblings: Callable[[], Sequence[Blueprint]] = field(default=lambda: ())
    # Set by `lint --base`: what changed since the merge base (see version-bump).
    version_gate: GateFacts | None = None
    settings: Settings | None = None  # for per-path facts such as the upstream mode
    _universe: dict[str, Blueprint] | None = None
    # Facts several rules need once per run (a blueprint's lock, its upstream's defaults).
    memo: dict[Any, Any] = field(default_factory=dict)
    # Files outside the blueprint folders that a verdict depended on (the cached
    # upstream charts): the lint cache's run record is valid only while they stay.
    inputs: set[str] = field(default_factory=set)

    def universe(self) -> dict[str, Blueprint]:
        """Blueprints by the name dependencies use (metadata.name, else chart name)."""
        if self._universe is None:
            index: dict[str, Blueprint] = {}
            seen: set[Path] = set()
            for bp in [*self.linted, *self.load_siblings()]:
                if bp.path in seen:
                    continue
                seen.add(bp.path)
                for name in _names(bp):
                    index.setdefault(name, bp)
            self._universe = index
        return self._universe

    def lookup(self, name: str) -> Blueprint | None:
        return self.universe().get(name)


def _names(bp: Blueprint) -> Iterator[str]:
    for name in (bp.metadata_name, bp.chart_name, bp.expected_chart_name):
        if name:
            yield name
