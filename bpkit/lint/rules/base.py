"""What every rule module provides, and the facts the engine hands rules."""

from __future__ import annotations

from dataclasses import dataclass

from bpkit.problem import Level


@dataclass(frozen=True)
class RuleInfo:
    """A rule's identity and documentation, as formatters and `bpkit rules` see it.

    `doc` is the rule module's docstring: the user documentation, with the
    first line as the one-line summary.
    """

    id: str
    level: Level  # default level before settings
    doc: str

    @property
    def summary(self) -> str:
        return self.doc.strip().splitlines()[0].strip() if self.doc.strip() else self.id
