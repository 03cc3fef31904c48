"""Every rule's documented Passing/Failing examples, run as fixtures.

The examples live in each rule module's docstring (what `bpkit rules ID`
shows), so documentation and behaviour cannot drift apart.
"""

from __future__ import annotations

import ast
import inspect
import os
import re
from pathlib import Path

import pytest

from bpkit.lint.engine import lint_paths
from bpkit.lint.rules import RULES
from bpkit.settings import Settings
from tests.helpers.blueprints import relock

NO_EXAMPLES = {"version-bump"}  # needs git history: tests/test_version_gate.py
# Need an upstream chart of their own in the cache: tests/test_lock_rules.py runs them.
OWN_FIXTURE = {"overlay-values"}
# Judge the lock itself, so the example's values.yaml is not re-locked.
LOCK_EXAMPLES = {"upstream-lock"}

_BLOCK = re.compile(r"^(Passing|Failing)::\n\n((?:(?:    .*)?\n)+)", re.MULTILINE)


def examples(rule_id: str) -> list[tuple[str, str]]:
    doc = inspect.cleandoc(RULES[rule_id].doc) + "\n"
    return [(kind, inspect.cleandoc(body)) for kind, body in _BLOCK.findall(doc)]


def apply_example(folder: Path, body: str) -> None:
    """Write an example into the blueprint folder `folder`."""
    current: Path | None = None
    lines: list[str] = []

    def flush() -> None:
        if current is not None:
            current.parent.mkdir(parents=True, exist_ok=True)
            current.write_text("\n".join(lines) + "\n")

    for line in body.splitlines():
        directive = re.match(r"# (file|symlink|delete|bytes): (.*)$", line)
        if not directive:
            lines.append(line)
            continue
        flush()
        current, lines = None, []
        kind, arg = directive.groups()
        if kind == "file":
            current = folder / arg
        elif kind == "delete":
            (folder / arg).unlink()
        elif kind == "symlink":
            link, target = (s.strip() for s in arg.split("->"))
            path = folder / link
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.exists() or path.is_symlink():
                path.unlink()
            os.symlink(target, path)
        elif kind == "bytes":
            name, literal = (s.strip() for s in arg.split("=", 1))
            (folder / name).write_bytes(ast.literal_eval(literal))
    flush()


CASES = [(rule_id, kind, body) for rule_id in RULES if rule_id not in OWN_FIXTURE
         for kind, body in examples(rule_id)]


def test_every_rule_has_a_passing_and_a_failing_example() -> None:
    for rule_id in RULES:
        if rule_id in NO_EXAMPLES:
            continue
        kinds = {kind for kind, _ in examples(rule_id)}
        assert kinds == {"Passing", "Failing"}, rule_id


@pytest.mark.parametrize(("rule_id", "kind", "body"), CASES,
                         ids=[f"{r}-{k.lower()}" for r, k, _ in CASES])
def test_example(rule_id: str, kind: str, body: str, monorepo: Path) -> None:
    folder = monorepo / "platform" / "flux"
    apply_example(folder, body)
    if rule_id not in LOCK_EXAMPLES:
        relock(folder)  # the fixture is locked and fetched; keep it so after the example
    result = lint_paths(["platform"], Settings(root=monorepo))
    fired = [p for p in result.problems if p.rule == rule_id]
    if kind == "Passing":
        assert result.problems == []
    else:
        assert fired, f"{rule_id} did not fire; got {result.problems}"
        assert all(p.rule != "internal-error" for p in result.problems)


def test_rule_ids_match_the_registry() -> None:
    """bpkit.lint.ids lists the rules without importing them; it must name exactly RULES."""
    from bpkit.lint.ids import RULE_IDS

    assert set(RULES) == RULE_IDS
