"""The rule registry: every rule module, in the order `bpkit rules` lists them.

A rule module has `ID` (stable, kebab-case), `LEVEL` (its default), a
docstring that is its user documentation (first line: the summary; then
why it matters, and `Passing::`/`Failing::` examples that the tests run),
and `check(blueprint, context)` or `check_tree(blueprints, context)`
yielding Problems. Rules never print. Rules without a check function
(yaml-*, file-*) document problems the loader produces.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from types import ModuleType
from typing import Any

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
from bpkit.lint.rules.base import RuleInfo

MODULES: tuple[ModuleType, ...] = (
    yaml_syntax,
    yaml_encoding,
    yaml_duplicate_key,
    yaml_limits,
    yaml_ambiguous_scalar,
    file_missing,
    file_unreadable,
    chart_schema,
    chart_api_version,
    chart_name,
    chart_version,
    chart_type,
    chart_dependencies,
    chart_vendored,
    chart_files,
    upstream_block,
    upstream_chart,
    upstream_version,
    upstream_repo,
    upstream_opt_out,
    upstream_lock,
    overlay_subchart_key,
    overlay_values,
    blueprint_schema,
    blueprint_unknown_key,
    blueprint_name,
    blueprint_version,
    blueprint_chart_path,
    depends_target,
    depends_version,
    depends_cycle,
    version_bump,
)

RULES: dict[str, RuleInfo] = {
    m.ID: RuleInfo(id=m.ID, level=m.LEVEL, doc=m.__doc__ or "") for m in MODULES
}
assert len(RULES) == len(MODULES), "duplicate rule id"

BlueprintCheck = Callable[[Any, Any], Iterator[Any]]
TreeCheck = Callable[[Sequence[Any], Any], Iterator[Any]]

BLUEPRINT_CHECKS: tuple[tuple[str, BlueprintCheck], ...] = tuple(
    (m.ID, m.check) for m in MODULES if hasattr(m, "check")
)
TREE_CHECKS: tuple[tuple[str, TreeCheck], ...] = tuple(
    (m.ID, m.check_tree) for m in MODULES if hasattr(m, "check_tree")
)
