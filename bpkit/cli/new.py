"""`bpkit new`: scaffold a blueprint that lints clean at once."""

from __future__ import annotations

import sys

import click

from bpkit.errors import EXIT_OK, EXIT_PROBLEMS


@click.command()
@click.argument("name")
@click.option("--upstream", "upstream", required=True, metavar="CHART@VERSION",
              help="The upstream chart and its exact version, e.g. cert-manager@1.14.4.")
@click.option("--repo", required=True, metavar="URL",
              help="The upstream chart repository (https://... or oci://...).")
@click.option("--mode", type=click.Choice(["overlay", "bundle"]), default=None,
              help="Release mode (default: the upstream-mode setting for the new folder).")
@click.option("--root", "group", default=None, metavar="FOLDER",
              help="Which root of the monorepo to create it in (default: the first of "
                   "[tool.bpkit] roots, normally platform).")
@click.option("--title", default=None, help="The catalogue title (default: from NAME).")
def new(name: str, upstream: str, repo: str, mode: str | None, group: str | None,
        title: str | None) -> None:
    """Create ROOT/NAME/ with blueprint.yaml, chart/Chart.yaml, chart/values.yaml, README.md.

    The upstream block and the values shape follow the release mode; the
    folder is linted at once. An existing folder is never overwritten.
    """
    from bpkit.cli._common import print_problems, settings_here
    from bpkit.lint.engine import lint_paths
    from bpkit.scaffold.new import NewOptions, parse_upstream, scaffold

    settings = settings_here()
    parent = settings.root / (group or settings.roots[0])
    chart, version = parse_upstream(upstream)
    chosen = mode or settings.mode_for(parent / name)
    folder = scaffold(NewOptions(name=name, chart=chart, version=version, repo=repo,
                                 mode=chosen, title=title), parent)
    click.echo(f"created {folder.relative_to(settings.root)} ({chosen} mode)")
    result = lint_paths([folder], settings)
    print_problems(result.problems)
    sys.exit(EXIT_PROBLEMS if result.failed() else EXIT_OK)
