"""What every rule module provides, typed, and what formatters know of a rule.

A rule is a module, not a class (one file per rule, its docstring the
user documentation), so its interface is a Protocol that modules satisfy
structurally, as pre-commit types its language modules: mypy checks each
module listed in the rules package against it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from bpkit.problem import Level, Problem

if TYPE_CHECKING:
    from bpkit.lint.context import Context
    from bpkit.source.model import Blueprint


class Rule(Protocol):
    """Every rule module: a stable kebab-case `ID` and its default `LEVEL`.

    Rules without a check (yaml-*, file-*) document problems the loader finds.
    """

    ID: str
    LEVEL: Level


class BlueprintRule(Rule, Protocol):
    """A rule that looks at one blueprint at a time."""

    def check(self, bp: Blueprint, ctx: Context, /) -> Iterator[Problem]: ...


class TreeRule(Rule, Protocol):
    """A rule that needs every linted blueprint at once (e.g. dependency cycles)."""

    def check_tree(self, linted: Sequence[Blueprint], ctx: Context, /) -> Iterator[Problem]: ...


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
