"""`bpkit verify REF...`: check published charts before trusting them."""

from __future__ import annotations

import json
import sys

import click

from bpkit.errors import EXIT_OK, EXIT_PROBLEMS, UsageError


@click.command()
@click.argument("refs", nargs=-1)
@click.option("--plain-http", is_flag=True,
              help="Talk plain HTTP to the registry (always the case for 127.0.0.1/localhost).")
@click.option("--ca-file", type=click.Path(dir_okay=False, exists=True),
              help="CA bundle to verify the registry's TLS certificate.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Output for people, or JSON for scripts.")
def verify(refs: tuple[str, ...], plain_http: bool, ca_file: str | None, fmt: str) -> None:
    """Check charts: oci://HOST/NS/NAME:TAG (or @sha256:...), oci:DIR:NAME:TAG, or a .tgz.

    Checks the digests, Helm's media types, the annotations, that Chart.yaml
    and values.yaml load, the release mode, and that installing it would
    install its upstream (a bundle's subchart must match the annotated
    digest; an overlay must carry the install guard). Exit 0 when every
    REF is sound, 1 when one is not, 2 for a bad REF or option.
    """
    from bpkit.verify.refs import parse_ref, verify_ref

    if not refs:
        raise UsageError("verify needs at least one REF (oci://HOST/NS/NAME:TAG, "
                         "oci:DIR:NAME:TAG or a .tgz)")
    targets = [parse_ref(ref) for ref in refs]  # every REF checked before any is read
    reports = [verify_ref(t, plain_http=True if plain_http else None, ca_file=ca_file)
               for t in targets]
    if fmt == "json":
        click.echo(json.dumps({"version": 1, "results": [r.as_dict() for r in reports]},
                              indent=2))
    else:
        from bpkit.text import one_line, printable

        for r in reports:
            what = " ".join(x for x in (r.name and f"{r.name} {r.version}",
                                        r.mode and f"({r.mode})", r.digest) if x)
            line = f"{printable(one_line(r.ref, 300))}  {printable(one_line(what, 300))}"
            if r.ok:
                click.echo(f"ok  {line}")
            else:
                click.echo(f"BAD {line}".rstrip())
                for f in r.findings:
                    click.echo(f"    {f.check}: {f.message}")
        sound = sum(r.ok for r in reports)
        click.echo(f"{sound} of {len(reports)} sound")
    sys.exit(EXIT_OK if all(r.ok for r in reports) else EXIT_PROBLEMS)
