"""`bpkit upstream`: resolve, lock and fetch the upstream charts wrappers install."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bpkit.errors import EXIT_OK, EXIT_PROBLEMS, BpkitError

if TYPE_CHECKING:
    from bpkit.settings import Settings
    from bpkit.source.lock import UpstreamLock
    from bpkit.upstream.resolve import Resolver

_CA_HELP = "CA bundle to verify HTTPS repositories and registries (else SSL_CERT_FILE, " \
           "REQUESTS_CA_BUNDLE, the system store)."
_BUDGET_HELP = "Seconds of retries per repository (default 30, or [tool.bpkit] retry-budget)."


#: Subcommands defined in other modules (name -> module, attribute), loaded when
#: run: `outdated` and `bump` edit files and live apart from resolving.
_ELSEWHERE = {
    "outdated": ("bpkit.cli.upstream_edit", "outdated"),
    "bump": ("bpkit.cli.upstream_edit", "bump"),
}


def _present(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


class _Group(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        extra = [name for name, (module, _) in _ELSEWHERE.items() if _present(module)]
        return [*super().list_commands(ctx), *extra]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        entry = _ELSEWHERE.get(cmd_name)
        if command is None and entry is not None and _present(entry[0]):
            import importlib

            found = getattr(importlib.import_module(entry[0]), entry[1], None)
            command = found if isinstance(found, click.Command) else None
        return command


@click.group(cls=_Group)
def upstream() -> None:
    """Resolve, lock and fetch the upstream charts (catalystBlueprint.upstream)."""


@dataclass
class _Run:
    errors: list[str] = field(default_factory=list)

    def error(self, message: str) -> None:
        from bpkit.text import one_line, printable

        self.errors.append(message)
        click.echo(f"bpkit: error: {printable(one_line(message))}", err=True)


def _selected(paths: Sequence[str]) -> tuple[Settings, list[Path]]:
    from bpkit.cli._common import settings_here
    from bpkit.source.discover import select

    settings = settings_here()
    return settings, select(list(paths), settings.root, settings.roots, all_=not paths)


def _resolver(settings: Settings, ca_file: str | None, retry_budget: float | None) -> Resolver:
    from bpkit.upstream.cache import ChartCache
    from bpkit.upstream.resolve import Resolver

    budget = settings.retry_budget if retry_budget is None else retry_budget
    return Resolver(ChartCache(), mirrors=settings.mirrors, ca_file=ca_file, retry_budget=budget)


def _invalid_block(block: object) -> str | None:
    """Why the values.yaml upstream block cannot be resolved (its schema), or None."""
    if block is None:
        return None
    from bpkit.source.schemas import errors

    for _where, message in errors("upstream", block):
        return message
    return None


def _differences(old: UpstreamLock | None, new: UpstreamLock) -> str:
    from dataclasses import fields

    names = [f.name for f in fields(new)]
    changed = [n for n in names if getattr(old, n) != getattr(new, n)]
    return ", ".join(f"{n} {getattr(old, n)} -> {getattr(new, n)}" for n in changed)


@upstream.command()
@click.argument("paths", nargs=-1)
@click.option("--check", is_flag=True,
              help="Write nothing; exit 1 when a lock is missing or would change (for CI).")
@click.option("--ca-file", type=click.Path(dir_okay=False, exists=True), help=_CA_HELP)
@click.option("--retry-budget", type=click.FloatRange(min=0), default=None, metavar="SECONDS",
              help=_BUDGET_HELP)
def lock(paths: tuple[str, ...], check: bool, ca_file: str | None,
         retry_budget: float | None) -> None:
    """Resolve each blueprint's upstream chart and write PATH/upstream.lock.

    PATH is a blueprint (name or folder) or a folder of blueprints; none
    means every blueprint. A lock whose chart, version and repo still match
    values.yaml keeps its digest: the repository must still serve those
    bytes (a re-published version is an error, not a silent update).
    """
    from bpkit.source.lock import dump_lock, read_lock, write_lock
    from bpkit.source.model import load_blueprint
    from bpkit.text import printable
    from bpkit.upstream.resolve import upstream_of
    from bpkit.yamlio.load import display_path

    settings, chosen = _selected(paths)
    run = _Run()
    resolver = _resolver(settings, ca_file, retry_budget)
    counts = {"written": 0, "unchanged": 0, "stale": 0, "skipped": 0}
    with resolver:
        for path in chosen:
            bp = load_blueprint(path)
            shown = display_path(bp.lock_path)
            up = upstream_of(bp)
            invalid = _invalid_block(bp.upstream)
            if up is None or invalid:
                values = display_path(bp.chart_dir / "values.yaml")
                if bp.upstream is not None:
                    run.error(f"{values}: catalystBlueprint.upstream: "
                              f"{invalid or 'unusable'} (bpkit lint says more)")
                elif bp.values is None and not bp.no_upstream:
                    why = next((f"{p.path}:{p.line}: {p.message}" for p in bp.problems
                                if p.is_error), f"{values}: unreadable")
                    run.error(f"{why} (bpkit lint says more)")
                else:
                    counts["skipped"] += 1
                continue
            old, problems = read_lock(bp.lock_path)
            if problems and not check:
                click.echo(f"{shown}: unreadable, rewriting it", err=True)
            try:
                new = resolver.resolve(up, locked=old).lock
            except BpkitError as exc:
                run.error(exc.message)
                continue
            if old is not None and not problems and dump_lock(old) == dump_lock(new) \
                    and bp.lock_path.read_bytes() == dump_lock(new):
                counts["unchanged"] += 1
                continue
            if check:
                counts["stale"] += 1
                why = "missing" if old is None and not problems else (
                    "unreadable" if problems else f"would change: {_differences(old, new)}")
                run.error(f"{shown}: {why} (run bpkit upstream lock)")
                continue
            write_lock(bp.lock_path, new)
            counts["written"] += 1
            click.echo(printable(f"{shown}: {new.chart} {new.version} {new.digest}"))
    summary = ", ".join(f"{n} {k}" for k, n in counts.items() if n)
    click.echo(f"{len(chosen)} blueprint(s): {summary or 'nothing to do'}", err=True)
    sys.exit(EXIT_PROBLEMS if run.errors else EXIT_OK)


@upstream.command()
@click.argument("paths", nargs=-1)
@click.option("--ca-file", type=click.Path(dir_okay=False, exists=True), help=_CA_HELP)
@click.option("--retry-budget", type=click.FloatRange(min=0), default=None, metavar="SECONDS",
              help=_BUDGET_HELP)
def fetch(paths: tuple[str, ...], ca_file: str | None, retry_budget: float | None) -> None:
    """Fill the cache with every locked upstream chart, verifying digests.

    Charts already cached (checked by digest) cost no network, so this
    works offline once the cache is warm. The cache folder is
    $BPKIT_CACHE_DIR, else $XDG_CACHE_HOME/bpkit, else ~/.cache/bpkit.
    """
    from bpkit.source.lock import read_lock
    from bpkit.source.model import load_blueprint
    from bpkit.text import printable
    from bpkit.upstream.resolve import upstream_of
    from bpkit.yamlio.load import display_path

    settings, chosen = _selected(paths)
    run = _Run()
    resolver = _resolver(settings, ca_file, retry_budget)
    counts = {"fetched": 0, "cached": 0, "unlocked": 0}
    with resolver:
        for path in chosen:
            bp = load_blueprint(path, with_values=True)
            shown = display_path(bp.lock_path)
            lock_, problems = read_lock(bp.lock_path)
            if problems:
                first = problems[0]
                run.error(f"{first.path}:{first.line}: {first.message}")
                continue
            if lock_ is None:
                if upstream_of(bp) is not None:
                    counts["unlocked"] += 1
                    click.echo(f"{shown}: missing (run bpkit upstream lock); nothing fetched",
                               err=True)
                continue
            try:
                got = resolver.fetch(lock_)
            except BpkitError as exc:
                run.error(exc.message)
                continue
            counts["fetched" if got.downloaded else "cached"] += 1
            if got.downloaded:
                click.echo(printable(f"{shown}: fetched {lock_.chart} {lock_.version} "
                                     f"{lock_.digest}"))
    summary = ", ".join(f"{n} {k}" for k, n in counts.items() if n)
    click.echo(f"{len(chosen)} blueprint(s): {summary or 'nothing to do'}", err=True)
    sys.exit(EXIT_PROBLEMS if run.errors else EXIT_OK)
