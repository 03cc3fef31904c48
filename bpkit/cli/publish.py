"""`bpkit publish`: lint, package, push `bp-<name>:<version>`, verify."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bpkit.errors import EXIT_OK, EXIT_PROBLEMS

if TYPE_CHECKING:
    from bpkit.problem import Problem
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
@click.option("-q", "--quiet", is_flag=True,
              help="Only the final table (or JSON) and errors: no progress or retry lines.")
@click.option("-v", "--verbose", is_flag=True,
              help="Also each HTTP request: method, path and status (on stderr).")
def publish(blueprints: tuple[str, ...], all_: bool, release_tag: str | None,
            registry: str | None, layout_dir: str | None, username: str | None,
            password_stdin: bool, plain_http: bool, ca_file: str | None, force: bool,
            dry_run: bool, retry_budget: float | None, jobs: int, fmt: str,
            mode: str | None, quiet: bool, verbose: bool) -> None:
    """Publish blueprints (names like flux, paths, or --all) as bp-NAME:VERSION.

    Each is linted, packaged reproducibly and pushed in Helm's exact OCI
    format, then read back by tag to check its digest. Releases are
    immutable: the same version with other content is refused (exit 1)
    unless --force; an unchanged re-publish does nothing.

    On stderr: lint problems, one line per finished blueprint and each
    retry (-q: none of those but the problems; -v: every HTTP request too).
    Under GitHub Actions each blueprint's lines form a ::group:: and
    problems, refusals and failures are ::error annotations.
    """
    if quiet and verbose:
        raise click.UsageError("-q/--quiet and -v/--verbose: choose one")
    from bpkit.cli._common import settings_here
    from bpkit.publish.options import PublishOptions
    from bpkit.publish.run import publish as run_publish
    from bpkit.report import publish as report

    options = PublishOptions(
        blueprints=blueprints, all=all_, release_tag=release_tag, registry=registry,
        layout=layout_dir, username=username, password_stdin=password_stdin,
        plain_http=plain_http, ca_file=ca_file, force=force, dry_run=dry_run,
        retry_budget=retry_budget, jobs=jobs, mode=mode)
    settings = settings_here()
    log = _Log(settings.root, github=os.environ.get("GITHUB_ACTIONS") == "true", quiet=quiet)
    run = run_publish(settings, options, on_lint=log.lint, on_done=log.done,
                      on_retry=None if quiet else log.retry,
                      on_request=log.request if verbose else None)
    log.finish()
    for line in report.note_lines(run.outcomes):
        click.echo(line, err=True)
    where = run.destination.describe()
    if fmt == "json":
        click.echo(report.document(run.outcomes, where))
    else:
        click.echo(report.table(run.outcomes, where, dry_run))
    report.write_github(run.outcomes, os.environ, single=run.single)
    sys.exit(EXIT_OK if run.ok else EXIT_PROBLEMS)


class _Log:
    """What a person (or a CI log) sees on stderr while publish runs.

    Pushes run in parallel; the pipeline calls the retry and request hooks,
    then `done`, on the thread that pushes a blueprint. On a terminal or a
    plain log lines go out as they happen. Under GitHub Actions they are
    kept per thread and written with the blueprint's outcome as one
    `::group::`, its lint problems and any refusal or failure as `::error`
    annotations (paths from the repository root, where GitHub looks).
    """

    def __init__(self, root: Path, *, github: bool, quiet: bool) -> None:
        self.root = root
        self.github = github
        self.quiet = quiet
        self._lock = threading.Lock()
        self._local = threading.local()
        self._problems: list[Problem] = []

    def _echo(self, lines: Sequence[str]) -> None:
        if lines:
            with self._lock:
                click.echo("\n".join(lines), err=True)

    def _line(self, line: str) -> None:
        if self.github:
            buffer: list[str] | None = getattr(self._local, "lines", None)
            if buffer is None:
                buffer = self._local.lines = []
            buffer.append(line)
        else:
            self._echo([line])

    def lint(self, problems: Sequence[Problem]) -> None:
        if not self.github:
            from bpkit.cli._common import print_problems

            print_problems(problems)
            return
        from bpkit.cli._common import rooted
        from bpkit.problem import Level

        self._problems = [p for p in rooted(problems, self.root) if p.level is not Level.OFF]

    def retry(self, host: str, doing: str, delay: float, reason: str) -> None:
        from bpkit.report.publish import retry_line

        self._line(retry_line(host, doing, delay, reason))

    def request(self, method: str, path: str, status: int | None) -> None:
        from bpkit.report.publish import request_line

        self._line(request_line(method, path, status))

    def done(self, outcome: Outcome) -> None:
        from bpkit.report import publish as report

        if not self.github:
            if not self.quiet:
                self._echo([report.progress_line(outcome)])
            return
        from bpkit.report.lint import github_line

        lines = [github_line(p) for p in self._take(outcome.blueprint)]
        lines += getattr(self._local, "lines", None) or []
        self._local.lines = []
        annotation = report.github_annotation(outcome)
        if annotation is not None:
            lines.append(annotation)
        self._echo(lines if self.quiet else report.group_lines(outcome, lines))

    def _take(self, blueprint: str | None) -> list[Problem]:
        """The lint problems in one blueprint's folder (None: all left), taken out of the list."""
        folder = None if blueprint is None else blueprint.rstrip("/")

        def inside(p: Problem) -> bool:
            return folder is None or p.path == folder or p.path.startswith(folder + "/")

        with self._lock:
            mine = [p for p in self._problems if inside(p)]
            self._problems = [p for p in self._problems if not inside(p)]
        return sorted(mine, key=lambda p: p.sort_key())

    def finish(self) -> None:
        """Problems outside every published blueprint's folder (a dependency's, say)."""
        if self.github:
            from bpkit.report.lint import github_line

            self._echo([github_line(p) for p in self._take(None)])
