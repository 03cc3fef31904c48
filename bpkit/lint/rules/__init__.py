"""The rule registry: every rule module, in the order `bpkit rules` lists them.

A rule module has `ID` (stable, kebab-case), `LEVEL` (its default), a
docstring that is its user documentation (first line: the summary; then
why it matters, and `Passing::`/`Failing::` examples that the tests run),
and `check(blueprint, context)` or `check_tree(blueprints, context)`
yielding Problems (the Protocols in base.py; mypy checks every module
listed here against them). Rules never print. Rules without a check function
(yaml-*, file-*) document problems the loader produces.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from bpkit.lint.rules import (
    blueprint_chart_path,
    blueprint_name,
    blueprint_schema,
    blueprint_unknown_key,
    blueprint_version,
    chart_api_version,
    chart_dependencies,
    chart_files,
    chart_name,
    chart_schema,
    chart_type,
    chart_vendored,
    chart_version,
    depends_cycle,
    depends_target,
    depends_version,
    file_missing,
    file_unreadable,
    overlay_subchart_key,
    overlay_values,
    upstream_block,
    upstream_chart,
    upstream_lock,
    upstream_opt_out,
    upstream_repo,
    upstream_version,
    version_bump,
    yaml_ambiguous_scalar,
    yaml_duplicate_key,
    yaml_encoding,
    yaml_limits,
    yaml_syntax,
)
from bpkit.lint.rules.base import BlueprintRule, Rule, RuleInfo, TreeRule
from bpkit.problem import Problem

if TYPE_CHECKING:
    from bpkit.lint.context import Context
    from bpkit.source.model import Blueprint

BlueprintCheck = Callable[["Blueprint", "Context"], Iterator[Problem]]
TreeCheck = Callable[[Sequence["Blueprint"], "Context"], Iterator[Problem]]

_blueprint_checks: list[tuple[str, BlueprintCheck]] = []
_tree_checks: list[tuple[str, TreeCheck]] = []


def _each(rule: BlueprintRule) -> Rule:
    """Register a per-blueprint rule (mypy checks the module against BlueprintRule)."""
    _blueprint_checks.append((rule.ID, rule.check))
    return rule


def _tree(rule: TreeRule) -> Rule:
    """Register a whole-tree rule (mypy checks the module against TreeRule)."""
    _tree_checks.append((rule.ID, rule.check_tree))
    return rule


# Plain entries only document what the loader reports (yaml-*, file-*).
MODULES: tuple[Rule, ...] = (
    yaml_syntax,
    yaml_encoding,
    yaml_duplicate_key,
    yaml_limits,
    yaml_ambiguous_scalar,
    file_missing,
    file_unreadable,
    _each(chart_schema),
    _each(chart_api_version),
    _each(chart_name),
    _each(chart_version),
    _each(chart_type),
    _each(chart_dependencies),
    _each(chart_vendored),
    _each(chart_files),
    _each(upstream_block),
    _each(upstream_chart),
    _each(upstream_version),
    _each(upstream_repo),
    _each(upstream_opt_out),
    _each(upstream_lock),
    _each(overlay_subchart_key),
    _each(overlay_values),
    _each(blueprint_schema),
    _each(blueprint_unknown_key),
    _each(blueprint_name),
    _each(blueprint_version),
    _each(blueprint_chart_path),
    _each(depends_target),
    _each(depends_version),
    _tree(depends_cycle),
    _each(version_bump),
)

RULES: dict[str, RuleInfo] = {
    m.ID: RuleInfo(id=m.ID, level=m.LEVEL, doc=m.__doc__ or "") for m in MODULES
}
assert len(RULES) == len(MODULES), "duplicate rule id"

BLUEPRINT_CHECKS: tuple[tuple[str, BlueprintCheck], ...] = tuple(_blueprint_checks)
#: What rules remember within one run (e.g. repository roots), forgotten as each run starts.
RESETS: tuple[Callable[[], None], ...] = tuple(
    m.reset for m in MODULES if callable(getattr(m, "reset", None)))  # type: ignore[attr-defined]
TREE_CHECKS: tuple[tuple[str, TreeCheck], ...] = tuple(_tree_checks)
