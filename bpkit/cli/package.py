"""`bpkit package`: Helm-compatible, byte-reproducible chart archives, without helm."""

from __future__ import annotations

import sys

import click

from bpkit.errors import EXIT_OK, EXIT_PROBLEMS


@click.command()
@click.argument("blueprints", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Every blueprint under platform/ and products/.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Folder for the archives (default: dist/ under the repository root).")
@click.option("--mode", type=click.Choice(["overlay", "bundle"]), default=None,
              help="Release mode: overlay (values only, with an install guard) or bundle "
                   "(the locked upstream chart inside). Default: [tool.bpkit] upstream-mode.")
def package(blueprints: tuple[str, ...], all_: bool, out_dir: str | None,
            mode: str | None) -> None:
    """Build NAME-VERSION.tgz for each blueprint (a name like flux, or a path).

    Blueprints with lint errors are not packaged. Timestamps come from
    SOURCE_DATE_EPOCH, else the last commit touching the blueprint, else
    1980-01-01, so the same sources always give the same bytes. A bundle
    needs upstream.lock and the cached upstream chart (bpkit upstream lock,
    bpkit upstream fetch).
    """
    from bpkit.cli._common import print_problems, settings_here
    from bpkit.package.run import PackageOptions
    from bpkit.package.run import package as run_package

    options = PackageOptions(blueprints=blueprints, all=all_, out=out_dir, mode=mode)
    run = run_package(settings_here(), options, on_lint=print_problems)
    for path, pkg in run.written:
        click.echo(f"{path}  sha256:{pkg.sha256}")
    for failure in run.failed:
        click.echo(f"bpkit: {failure.error.message}", err=True)
    sys.exit(EXIT_OK if run.ok else EXIT_PROBLEMS)
