"""`bpkit rules` and `bpkit schema`: the documentation that ships with the tool."""

from __future__ import annotations

import inspect

import click

from bpkit.errors import UsageError


@click.command()
@click.argument("rule_id", required=False)
def rules(rule_id: str | None) -> None:
    """List the lint rules, or explain RULE_ID."""
    from bpkit.cli._common import settings_here
    from bpkit.lint.rules import RULES

    settings = settings_here()
    if rule_id is None:
        width = max(len(r) for r in RULES)
        for rule in RULES.values():
            level = settings.rule_levels.get(rule.id, rule.level).value
            click.echo(f"{rule.id:<{width}}  {level:<7}  {rule.summary}")
        return
    info = RULES.get(rule_id)
    if info is None:
        raise UsageError(f"unknown rule {rule_id!r}; `bpkit rules` lists them")
    level = settings.rule_levels.get(info.id, info.level).value
    click.echo(f"{info.id} (default level: {info.level.value}; here: {level})\n")
    click.echo(inspect.cleandoc(info.doc))


@click.command()
@click.argument("name", type=click.Choice(
    ["blueprint", "chart", "upstream", "upstream-lock", "values"]))
def schema(name: str) -> None:
    """Print the JSON Schema NAME (for editors: yaml-language-server, VS Code)."""
    from bpkit.source.schemas import schema_text

    click.echo(schema_text(name), nl=False)
