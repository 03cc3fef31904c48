"""`bpkit changed`: the blueprints a release job fans out over."""

from __future__ import annotations

import os
import sys

import click

FORMATS = ("names", "json", "matrix")


@click.command()
@click.option("--base", required=True, metavar="REF",
              help="Compare from the merge base of REF and HEAD (a pull request), or from REF "
                   "itself with --head.")
@click.option("--head", metavar="REF",
              help="Compare the two commits --base and --head as they are (a push: --base is "
                   "the commit before it). Default: HEAD, compared from the merge base.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="names",
              show_default=True,
              help="names: one blueprint path a line; json: every change with its status; "
                   "matrix: a GitHub Actions matrix, also written to $GITHUB_OUTPUT as matrix= "
                   "(with count=N).")
@click.option("--per-job", type=click.IntRange(min=1), default=1, show_default=True,
              metavar="N",
              help="With --format matrix: N blueprints per matrix job (GitHub allows 256 jobs); "
                   "above 1 each entry is {job, blueprints, names}, space-separated.")
@click.option("--all-if-unknown", is_flag=True,
              help="When the clone cannot tell (shallow, missing base, first commit), list "
                   "every blueprint with a warning instead of failing.")
@click.option("-z", "nul", is_flag=True,
              help="With --format names: end each path with NUL instead of a line break, "
                   "bytes unchanged (for xargs -0). Text output escapes control characters.")
def changed(base: str, head: str | None, fmt: str, per_job: int, all_if_unknown: bool,
            nul: bool) -> None:
    """List the blueprints whose blueprint.yaml or packaged chart files changed.

    Files .helmignore leaves out of the package, README files and other files
    in the blueprint folder do not count; an edit to chart/.helmignore does.
    A renamed blueprint is listed under its new name; a deleted one is not a
    publish target (reported on stderr, or as "publish": false in json).
    """
    from bpkit.cli._common import settings_here
    from bpkit.errors import UsageError
    from bpkit.history.changes import UnknownHistoryError, changed_blueprints
    from bpkit.report import changes as report
    from bpkit.text import printable

    if nul and fmt != "names":
        raise UsageError(f"-z goes with --format names, not --format {fmt} "
                         "(JSON escapes odd names itself)")
    settings = settings_here()
    try:
        result = changed_blueprints(settings.root, base, head, roots=settings.roots,
                                    all_if_unknown=all_if_unknown)
    except UnknownHistoryError as exc:
        raise UnknownHistoryError(f"{exc.message} (or pass --all-if-unknown to list every "
                                  "blueprint)") from None
    if result.warning:
        click.echo(f"bpkit: warning: {printable(result.warning)}", err=True)
    if fmt == "json":
        click.echo(report.as_json(result))
        return
    for note in report.notes(result):
        click.echo(f"bpkit: {note}", err=True)
    if fmt == "names":
        if nul:
            sys.stdout.flush()
            sys.stdout.buffer.write(report.names_nul(result))
            sys.stdout.buffer.flush()
        else:
            click.echo(report.names_text(result), nl=False)
        return
    matrix = report.as_matrix(result, per_job)
    click.echo(matrix)
    out_file = os.environ.get("GITHUB_OUTPUT")
    if out_file:
        with open(out_file, "a", encoding="utf-8") as fh:
            fh.write(f"matrix={matrix}\ncount={len(result.targets)}\n")
