"""`bpkit render flux`: the Flux objects that install each blueprint."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from bpkit.errors import EXIT_OK, EXIT_PROBLEMS, UsageError


@click.group()
def render() -> None:
    """Write what an installer needs to install blueprints (today: Flux)."""


@render.command("flux")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--registry", metavar="oci://HOST[:PORT]/NAMESPACE",
              help="Where the bp-NAME artifacts are published (bundle mode). Default: "
                   "$BPKIT_REGISTRY, else [tool.bpkit] registry.")
@click.option("--flux", "flux_version", type=click.Choice(["2.4", "2.9"]), default="2.9",
              show_default=True, help="Flux release whose API versions to write.")
@click.option("--mode", type=click.Choice(["overlay", "bundle"]), default=None,
              help="Upstream mode for every blueprint. Default: [tool.bpkit] upstream-mode "
                   "and its per-path settings, else overlay.")
@click.option("--namespace", default="flux-system", show_default=True,
              help="Namespace of the sources and HelmReleases.")
@click.option("--target-namespace", default=None,
              help="Namespace the Helm releases install into (created if missing). "
                   "Default: the HelmRelease's namespace.")
@click.option("--secret-ref", default=None, metavar="NAME",
              help="Secret with pull credentials for the bp-NAME artifacts (bundle mode).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Write DIR/NAME.yaml per blueprint instead of printing.")
@click.option("--check", "check_dir", type=click.Path(file_okay=False), default=None,
              help="Compare with the manifests in DIR; exit 1 on any difference.")
def flux(paths: tuple[str, ...], registry: str | None, flux_version: str, mode: str | None,
         namespace: str, target_namespace: str | None, secret_ref: str | None,
         out_dir: str | None, check_dir: str | None) -> None:
    """Render a source and a HelmRelease per blueprint in PATHS.

    overlay mode: the upstream chart at its pinned version, from its own
    repository, with the wrapper's values. bundle mode: the published
    bp-NAME artifact (the upstream inside). dependsOn follows
    blueprint.yaml spec.depends. With no PATHS: platform/ and products/.
    """
    from bpkit.cli._common import print_problems, settings_here
    from bpkit.render.flux import FluxOptions, check_manifests, render_paths, write_manifests

    if out_dir and check_dir:
        raise UsageError("give --out or --check, not both")
    if check_dir and not Path(check_dir).is_dir():
        raise UsageError(f"--check {check_dir}: no such folder")
    settings = settings_here()
    options = FluxOptions(
        flux=flux_version, mode=mode, namespace=namespace, target_namespace=target_namespace,
        secret_ref=secret_ref,
        registry=registry or os.environ.get("BPKIT_REGISTRY") or settings.registry)
    result = render_paths(paths, settings, options)
    print_problems(result.problems)
    for bp in result.refused:
        click.echo(f"bpkit: {bp.display}: not rendered: fix the lint errors first", err=True)
    failed = result.failed
    if check_dir:
        drift = check_manifests(result.rendered, Path(check_dir))
        for item in drift:
            if item.diff:
                click.echo(_printable(item.diff), nl=False)
            click.echo(f"{item.path}: {_printable(item.message)}", err=True)
        ok = len(result.rendered) - len(drift)
        click.echo(f"{ok} of {len(result.rendered)} manifests up to date in {check_dir}",
                   err=True)
        failed = failed or bool(drift)
    elif out_dir:
        for path in write_manifests(result.rendered, Path(out_dir)):
            click.echo(str(path))
    else:
        click.echo("".join(item.text for item in result.rendered), nl=False)
    sys.exit(EXIT_PROBLEMS if failed else EXIT_OK)


def _printable(text: str) -> str:
    """Committed files may hold anything: keep escape sequences off the terminal."""
    return "".join(c if c.isprintable() or c in "\n\t" else f"\\u{ord(c):04x}" for c in text)
