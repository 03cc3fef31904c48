"""`bpkit upstream outdated` and `bpkit upstream bump` (attached to the `upstream` group)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bpkit.errors import EXIT_OK, EXIT_PROBLEMS, BpkitError, UpstreamError, UsageError

if TYPE_CHECKING:
    from bpkit.settings import Settings
    from bpkit.upstream.index import Offer
    from bpkit.upstream.outdated import OfferSource

_CA_HELP = "CA bundle to verify HTTPS repositories and registries (else SSL_CERT_FILE, " \
           "REQUESTS_CA_BUNDLE, the system store)."
_BUDGET_HELP = "Seconds of retries per repository (default 30, or [tool.bpkit] retry-budget)."


def _offer_source(settings: Settings, ca_file: str | None,
                  retry_budget: float | None) -> OfferSource:
    from bpkit.upstream.cache import ChartCache
    from bpkit.upstream.outdated import OfferSource

    budget = settings.retry_budget if retry_budget is None else retry_budget
    return OfferSource(mirrors=settings.mirrors, ca_file=ca_file, retry_budget=budget,
                       cache_dir=ChartCache().index_dir())


def _selected(paths: tuple[str, ...]) -> tuple[Settings, list[Path]]:
    from bpkit.cli._common import settings_here
    from bpkit.source.discover import select

    settings = settings_here()
    return settings, select(list(paths), settings.root, settings.roots, all_=not paths)


@click.command()
@click.argument("paths", nargs=-1)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.option("--ca-file", type=click.Path(dir_okay=False, exists=True), help=_CA_HELP)
@click.option("--retry-budget", type=click.FloatRange(min=0), default=None, metavar="SECONDS",
              help=_BUDGET_HELP)
def outdated(paths: tuple[str, ...], fmt: str, ca_file: str | None,
             retry_budget: float | None) -> None:
    """Show each pin beside the newest patch, minor and major its repository offers.

    Each repository is asked once. Exit 0 when every repository answered
    (however far behind the pins are), 1 when one could not be read.
    """
    from bpkit.source.model import load_blueprint
    from bpkit.upstream.outdated import outdated as find_outdated
    from bpkit.upstream.outdated import text_table

    settings, chosen = _selected(paths)
    with _offer_source(settings, ca_file, retry_budget) as source:
        rows = find_outdated((load_blueprint(p) for p in chosen), source)
    if fmt == "json":
        click.echo(json.dumps({"version": 1, "blueprints": [r.as_json() for r in rows]},
                              indent=2))
    elif rows:
        click.echo(text_table(rows))
    behind = sum(1 for r in rows if r.behind)
    failed = sum(1 for r in rows if r.error is not None)
    click.echo(f"{len(rows)} pinned upstream(s): {behind} behind, {failed} not checked",
               err=True)
    sys.exit(EXIT_PROBLEMS if failed else EXIT_OK)


def _not_offered(chart: str, version: str, source: str, available: list[Offer]) -> str:
    from bpkit.text import printable, redact
    from bpkit.upstream.index import nearest

    same_app = [o.version for o in available if o.app_version in (version, f"v{version}")]
    if same_app:
        return (f"{redact(source)}: {printable(chart)} {printable(version)} is an appVersion, "
                "not a chart version; "
                f"chart versions with appVersion {printable(version)}: {', '.join(same_app)}")
    close = ", ".join(nearest(available, version))
    return (f"{redact(source)}: {printable(chart)} has no version {printable(version)}"
            + (f" (nearest: {close})" if close else ""))


@click.command()
@click.argument("path")
@click.option("--to", "to", metavar="VERSION",
              help="The upstream version to move to (default: the newest stable one).")
@click.option("--dry-run", is_flag=True, help="Print the diff; change nothing.")
@click.option("--ca-file", type=click.Path(dir_okay=False, exists=True), help=_CA_HELP)
@click.option("--retry-budget", type=click.FloatRange(min=0), default=None, metavar="SECONDS",
              help=_BUDGET_HELP)
def bump(path: str, to: str | None, dry_run: bool, ca_file: str | None,
         retry_budget: float | None) -> None:
    """Move one blueprint to another upstream version, as a release of the wrapper.

    Edits the upstream version in values.yaml in place (comments, quoting
    and layout kept), raises Chart.yaml version and blueprint.yaml
    spec.version by the part the upstream moved (patch, minor, major),
    rewrites upstream.lock, and prints the diff.
    """
    from bpkit.source.lock import dump_lock, write_lock
    from bpkit.source.model import load_blueprint
    from bpkit.text import printable
    from bpkit.upstream.bump import FileChange, plan_bump, write_plan
    from bpkit.upstream.index import find, newest_stable
    from bpkit.upstream.outdated import pin_of
    from bpkit.versions import Version
    from bpkit.yamlio.load import display_path

    settings, chosen = _selected((path,))
    if len(chosen) != 1:
        raise UsageError(f"{path}: names {len(chosen)} blueprints; bump one at a time")
    bp = load_blueprint(chosen[0])
    pin = pin_of(bp)
    if pin is None:
        raise UsageError(f"{bp.display}: no catalystBlueprint.upstream with chart, version and "
                         "repo to bump")
    chart, current, repo = pin
    with _offer_source(settings, ca_file, retry_budget) as source:
        available = source.offers(chart, repo)
        if to is None:
            best = newest_stable(available)
            if best is None:
                raise UpstreamError(f"{source.source_for(repo)}: {chart} has no stable version")
            try:
                if Version.parse(best.version) <= Version.parse(current):
                    click.echo(f"{bp.display}: {chart} {current} is the newest stable version; "
                               "nothing to bump", err=True)
                    sys.exit(EXIT_OK)
            except ValueError:
                pass  # a pin that is no version: plan_bump says so
            target = best.version
        else:
            target = to
            if find(available, target) is None:
                raise UpstreamError(_not_offered(chart, target, source.source_for(repo),
                                                 available))
        plan = plan_bump(bp, target, available)
        lock_change: list[FileChange] = []
        new_lock = None
        if not dry_run:
            from bpkit.upstream.cache import ChartCache
            from bpkit.upstream.resolve import Resolver, Upstream

            client = source.helm_client() if not source.source_for(repo).startswith(
                "oci://") else None
            resolver = Resolver(ChartCache(), mirrors=settings.mirrors, ca_file=ca_file,
                                retry_budget=source.retry_budget,
                                helm_client=(lambda: client) if client is not None else None)
            with resolver:
                new_lock = resolver.resolve(Upstream(chart, target, repo)).lock
            old = bp.lock_path.read_bytes() if bp.lock_path.is_file() else b""
            lock_change = [FileChange(bp.lock_path, old, dump_lock(new_lock))]
    diff = plan.diff() + "".join(
        line for c in lock_change for line in _lock_diff(c, display_path(c.path)))
    click.echo(printable_diff(diff), nl=False)
    summary = (f"{bp.display}: {chart} {current} -> {target} ({plan.kind}); wrapper "
               f"{plan.wrapper_from} -> {plan.wrapper_to}")
    if dry_run:
        click.echo(f"{summary}; dry run, nothing written ({display_path(bp.lock_path)} would "
                   "be re-resolved)", err=True)
        sys.exit(EXIT_OK)
    write_plan(plan)
    assert new_lock is not None
    write_lock(bp.lock_path, new_lock)
    click.echo(printable(summary), err=True)
    _lint_after(bp.path, settings)


def _lock_diff(change: object, shown: str) -> list[str]:
    import difflib

    from bpkit.upstream.bump import FileChange

    assert isinstance(change, FileChange)
    return list(difflib.unified_diff(
        change.old.decode("utf-8", "replace").splitlines(keepends=True),
        change.new.decode("utf-8", "replace").splitlines(keepends=True),
        fromfile=f"a/{shown}" if change.old else "/dev/null", tofile=f"b/{shown}"))


def printable_diff(diff: str) -> str:
    """Each line escaped for the terminal (files may hold control characters)."""
    from bpkit.text import printable

    return "".join(printable(line.rstrip("\n")) + "\n" for line in diff.splitlines())


def _lint_after(path: Path, settings: Settings) -> None:
    """Say so when the bumped blueprint does not lint clean (the bump stays written)."""
    from bpkit.lint.engine import lint_paths

    result = lint_paths([path], settings)
    if result.errors:
        from bpkit.text import printable

        for p in result.problems:
            click.echo(printable(f"{p.path}:{p.line}:{p.col}: {p.level.value} {p.rule} "
                                 f"{p.message}"), err=True)
        raise BpkitError("the bumped blueprint has lint errors (see above)",
                         exit_code=EXIT_PROBLEMS)
