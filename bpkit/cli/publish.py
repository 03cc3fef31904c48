"""`bpkit publish`: lint, package, push `bp-<name>:<version>`, verify."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import click

from bpkit.errors import EXIT_OK, EXIT_PROBLEMS

if TYPE_CHECKING:
    from bpkit.publish.pipeline import Outcome


@click.command()
@click.argument("blueprints", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Every blueprint under platform/ and products/.")
@click.option("--tag", "release_tag", metavar="TAG",
              help="Publish the blueprint a release tag names, e.g. platform/flux/v1.2.3; "
                   "refused when the tag's version differs from Chart.yaml's.")
@click.option("--registry", metavar="oci://HOST[:PORT]/NAMESPACE",
              help="Registry to push to. Default: $BPKIT_REGISTRY, else [tool.bpkit] registry, "
                   "else the local OCI image layout dist/oci.")
@click.option("--layout", "layout_dir", type=click.Path(file_okay=False),
              help="OCI image layout folder used when no registry is configured "
                   "(default: dist/oci under the repository root).")
@click.option("--username", help="Registry user name (with --password-stdin).")
@click.option("--password-stdin", is_flag=True, help="Read the registry password from stdin.")
@click.option("--plain-http", is_flag=True,
              help="Talk plain HTTP to the registry (always the case for 127.0.0.1/localhost).")
@click.option("--ca-file", type=click.Path(dir_okay=False, exists=True),
              help="CA bundle to verify the registry's TLS certificate.")
@click.option("--force", is_flag=True,
              help="Replace a published version that holds different content (never needed "
                   "for an unchanged re-publish).")
@click.option("--dry-run", is_flag=True, help="Lint, package and check the registry; push nothing.")
@click.option("--retry-budget", type=click.FloatRange(min=0), default=None, metavar="SECONDS",
              help="Time allowed for retries per blueprint (default 30, or [tool.bpkit] "
                   "retry-budget).")
@click.option("--jobs", "-j", type=click.IntRange(min=1, max=32), default=4, show_default=True,
              help="Blueprints pushed in parallel.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Output for people, or JSON for scripts.")
@click.option("--mode", type=click.Choice(["overlay", "bundle"]), default=None,
              help="Release mode: overlay (values only, with an install guard) or bundle "
                   "(the locked upstream chart inside). Default: [tool.bpkit] upstream-mode.")
def publish(blueprints: tuple[str, ...], all_: bool, release_tag: str | None,
            registry: str | None, layout_dir: str | None, username: str | None,
            password_stdin: bool, plain_http: bool, ca_file: str | None, force: bool,
            dry_run: bool, retry_budget: float | None, jobs: int, fmt: str,
            mode: str | None) -> None:
    """Publish blueprints (names like flux, paths, or --all) as bp-NAME:VERSION.

    Each is linted, packaged reproducibly and pushed in Helm's exact OCI
    format, then read back by tag to check its digest. Releases are
    immutable: the same version with other content is refused (exit 1)
    unless --force; an unchanged re-publish does nothing.
    """
    from bpkit.cli._common import print_problems, settings_here
    from bpkit.publish.options import PublishOptions
    from bpkit.publish.run import publish as run_publish
    from bpkit.report import publish as report

    options = PublishOptions(
        blueprints=blueprints, all=all_, release_tag=release_tag, registry=registry,
        layout=layout_dir, username=username, password_stdin=password_stdin,
        plain_http=plain_http, ca_file=ca_file, force=force, dry_run=dry_run,
        retry_budget=retry_budget, jobs=jobs, mode=mode)
    interactive = fmt == "text" and sys.stderr.isatty()

    def progress(outcome: Outcome) -> None:
        if interactive:
            click.echo(report.progress_line(outcome), err=True)

    run = run_publish(settings_here(), options, on_lint=print_problems, on_done=progress)
    for line in report.note_lines(run.outcomes):
        click.echo(line, err=True)
    where = run.destination.describe()
    if fmt == "json":
        click.echo(report.document(run.outcomes, where))
    else:
        click.echo(report.table(run.outcomes, where, dry_run))
    report.write_github(run.outcomes, os.environ)
    sys.exit(EXIT_OK if run.ok else EXIT_PROBLEMS)
