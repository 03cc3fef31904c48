"""The click group: subcommands imported only when run."""

from __future__ import annotations

import importlib

import click

from bpkit import __version__

_COMMANDS = {
    "lint": ("bpkit.cli.lint", "lint", "Check blueprints against every rule."),
    "rules": ("bpkit.cli.info", "rules", "List the lint rules, or explain one."),
    "schema": ("bpkit.cli.info", "schema", "Print one of the bundled JSON Schemas."),
    "package": ("bpkit.cli.package", "package", "Build reproducible chart archives."),
    "publish": ("bpkit.cli.publish", "publish", "Lint, package and push charts to a registry."),
    "verify": ("bpkit.cli.verify", "verify", "Check published charts: digests, mode, not hollow."),
    "changed": ("bpkit.cli.changed", "changed", "List blueprints changed between two commits."),
    "render": ("bpkit.cli.render", "render", "Write Flux manifests that install blueprints."),
    "new": ("bpkit.cli.new", "new", "Scaffold a blueprint that lints clean at once."),
    "upstream": ("bpkit.cli.upstream", "upstream", "Lock, fetch, check and bump upstream charts."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = _COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module = importlib.import_module(entry[0])
        command: click.Command = getattr(module, entry[1])
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, help_) for name, (_, _, help_) in _COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


EPILOG = """\b
Exit codes: 0 clean or published; 1 problems found, or a publish refused
or failed; 2 usage or environment error."""


@click.group(cls=LazyGroup, epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bpkit")
def cli() -> None:
    """Lint, package and publish Catalyst Blueprint wrapper charts."""
