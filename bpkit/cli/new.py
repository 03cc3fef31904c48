"""`bpkit new`: scaffold a blueprint that lints clean at once."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bpkit.errors import EXIT_OK, EXIT_PROBLEMS

if TYPE_CHECKING:
    from bpkit.settings import Settings


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
@click.option("--lock/--no-lock", default=True, show_default=True,
              help="Resolve the upstream chart and write upstream.lock (needs the repository).")
@click.option("--ca-file", type=click.Path(dir_okay=False), default=None,
              help="CA bundle for a repository with a private CA (for --lock).")
def new(name: str, upstream: str, repo: str, mode: str | None, group: str | None,
        title: str | None, lock: bool, ca_file: str | None) -> None:
    """Create ROOT/NAME/ with blueprint.yaml, chart/Chart.yaml, chart/values.yaml, README.md.

    The upstream block and the values shape follow the release mode; the
    upstream chart is resolved and pinned in upstream.lock when the
    repository answers (else lint warns that the lock is missing), and the
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
    if lock:
        _lock(folder, settings, ca_file)
    result = lint_paths([folder], settings)
    print_problems(result.problems)
    sys.exit(EXIT_PROBLEMS if result.failed() else EXIT_OK)


def _lock(folder: Path, settings: Settings, ca_file: str | None) -> None:
    """Pin the upstream by digest, as `bpkit upstream lock` would; a failure is one note."""
    from bpkit.errors import BpkitError
    from bpkit.source.lock import write_lock
    from bpkit.source.model import load_blueprint
    from bpkit.text import printable
    from bpkit.upstream.cache import ChartCache
    from bpkit.upstream.resolve import Resolver, upstream_of

    up = upstream_of(load_blueprint(folder))
    if up is None:
        return
    try:
        with Resolver(ChartCache(), mirrors=settings.mirrors, ca_file=ca_file,
                      retry_budget=settings.retry_budget) as resolver:
            resolved = resolver.resolve(up)
    except BpkitError as exc:
        click.echo(printable(f"bpkit: note: no upstream.lock written: {exc.message}; "
                             f"run bpkit upstream lock {folder.relative_to(settings.root)} "
                             "when the repository answers"), err=True)
        return
    write_lock(folder / "upstream.lock", resolved.lock)
    click.echo(printable(f"locked {resolved.lock.chart} {resolved.lock.version} "
                         f"{resolved.lock.digest}"))
