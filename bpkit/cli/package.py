"""`bpkit package`: Helm-compatible, byte-reproducible chart archives, without helm."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from bpkit.errors import EXIT_OK, EXIT_PROBLEMS


@click.command()
@click.argument("blueprints", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Every blueprint under platform/ and products/.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Folder for the archives (default: dist/ under the repository root).")
def package(blueprints: tuple[str, ...], all_: bool, out_dir: str | None) -> None:
    """Build NAME-VERSION.tgz for each blueprint (a name like flux, or a path).

    Blueprints with lint errors are not packaged. Timestamps come from
    SOURCE_DATE_EPOCH, else the last commit touching the blueprint, else
    1980-01-01, so the same sources always give the same bytes.
    """
    from bpkit.cli._common import lint_selected, print_problems, settings_here
    from bpkit.package.build import check_out_dir, write_archive
    from bpkit.publish.pipeline import prepare

    settings = settings_here()
    selected, problems = lint_selected(settings, blueprints, all_)
    out = Path(out_dir) if out_dir else settings.root / "dist"
    check_out_dir(out, selected)
    packages, failed = prepare(selected, problems, root=settings.root)
    print_problems(problems)
    for pkg in packages:
        path = write_archive(pkg, out)
        click.echo(f"{path}  sha256:{pkg.sha256}")
    for outcome in failed:
        click.echo(f"bpkit: {outcome.message}", err=True)
    sys.exit(EXIT_PROBLEMS if failed else EXIT_OK)
