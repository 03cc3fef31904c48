"""`bpkit publish`: lint, package, push `bp-<name>:<version>`, verify."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import click

from bpkit.errors import EXIT_OK, EXIT_PROBLEMS, UsageError


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
def publish(blueprints: tuple[str, ...], all_: bool, release_tag: str | None,
            registry: str | None, layout_dir: str | None, username: str | None,
            password_stdin: bool, plain_http: bool, ca_file: str | None, force: bool,
            dry_run: bool, retry_budget: float | None, jobs: int, fmt: str) -> None:
    """Publish blueprints (names like flux, paths, or --all) as bp-NAME:VERSION.

    Each is linted, packaged reproducibly and pushed in Helm's exact OCI
    format, then read back by tag to check its digest. Releases are
    immutable: the same version with other content is refused (exit 1)
    unless --force; an unchanged re-publish does nothing.
    """
    from bpkit.cli._common import lint_selected, print_problems, settings_here
    from bpkit.publish.pipeline import prepare, push_all

    settings = settings_here()
    paths = None
    tag = None
    if release_tag is not None:
        if blueprints or all_:
            raise UsageError("--tag names the blueprint itself: give no names and no --all")
        from bpkit.publish.tags import parse_tag

        tag = parse_tag(release_tag, settings.root, settings.roots)
        paths = [(settings.root / tag.folder).resolve()]
    selected, problems = lint_selected(settings, blueprints, all_, paths)
    if tag is not None:
        version = selected[0].version
        if version != tag.version:
            found = f"says {version}" if version else "has no usable version"
            raise UsageError(f"release tag {release_tag} says {tag.version} but "
                             f"{tag.folder}/chart/Chart.yaml {found}", exit_code=1)
    dest = _destination(settings, registry, layout_dir, username, password_stdin, plain_http,
                        ca_file, retry_budget)
    packages, outcomes = prepare(selected, problems)
    print_problems(problems)
    progress = _progress(fmt)
    for outcome in outcomes:
        progress(outcome)
    outcomes += push_all(packages, dest, force=force, dry_run=dry_run, jobs=jobs,
                         on_done=progress)
    order = {str(bp.path): i for i, bp in enumerate(selected)}
    outcomes.sort(key=lambda o: order.get(str(settings.root / o.blueprint), 0))
    from bpkit.text import outside, redact

    secrets = dest.credentials.secrets() if dest.credentials is not None else ()
    for outcome in outcomes:
        outcome.message = redact(outcome.message, secrets)
    for outcome in outcomes:
        for note in outcome.notes:
            click.echo(f"bpkit: note: {_cell(outcome.name)}: {outside(note, limit=None)}",
                       err=True)
    if fmt == "json":
        click.echo(json.dumps({"version": 1, "destination": dest.describe(),
                               "results": [_as_dict(o) for o in outcomes]}, indent=2))
    else:
        click.echo(_table(outcomes, dest.describe(), dry_run))
    _github(outcomes, os.environ)
    sys.exit(EXIT_OK if all(o.ok for o in outcomes) else EXIT_PROBLEMS)


def _destination(settings: Any, registry: str | None, layout_dir: str | None,
                 username: str | None, password_stdin: bool, plain_http: bool,
                 ca_file: str | None, retry_budget: float | None) -> Any:
    from bpkit.publish.pipeline import Destination
    from bpkit.text import decoded

    budget = retry_budget if retry_budget is not None else settings.retry_budget
    env_url = os.environ.get("BPKIT_REGISTRY")
    if env_url is not None:
        decoded(env_url, "environment variable BPKIT_REGISTRY")
    if registry is not None:
        decoded(registry, "--registry")
    url = registry or env_url or settings.registry
    if url is None:
        if username or password_stdin or ca_file:
            raise UsageError("credentials and --ca-file need a registry (--registry or "
                             "BPKIT_REGISTRY); the default destination is a local folder")
        layout = Path(layout_dir) if layout_dir else settings.root / "dist" / "oci"
        return Destination(layout=layout, retry_budget=budget)
    if layout_dir:
        raise UsageError("--layout is for publishing without a registry; drop one of the two")
    from bpkit.net.credentials import resolve
    from bpkit.oci.reference import parse_registry

    ref = parse_registry(url)
    password = None
    if password_stdin:
        if not username:
            raise UsageError("--password-stdin needs --username")
        password = _read_password_stdin()
        if not password:
            raise UsageError("--password-stdin: nothing was read from stdin")
    elif username:
        raise UsageError("--username needs --password-stdin (passwords are never taken "
                         "on the command line)")
    credentials = resolve(ref.host, username=username, password=password, env=os.environ)
    return Destination(registry=url, plain_http=True if plain_http else None, ca_file=ca_file,
                       credentials=credentials, retry_budget=budget)


def _read_password_stdin() -> str:
    """The password piped to stdin: bounded, strict UTF-8, trailing line break dropped."""
    from bpkit.limits import PASSWORD_STDIN_MAX_BYTES

    stream = sys.stdin
    if stream is None:
        raise UsageError("--password-stdin: there is no stdin to read the password from")
    buffer = getattr(stream, "buffer", None)
    raw = (buffer or stream).read(PASSWORD_STDIN_MAX_BYTES + 1)
    if isinstance(raw, str):  # a text stream without bytes underneath (tests, embedding)
        raw = raw.encode("utf-8", "surrogateescape")
    if len(raw) > PASSWORD_STDIN_MAX_BYTES:
        raise UsageError(f"--password-stdin: stdin holds more than {PASSWORD_STDIN_MAX_BYTES} "
                         "bytes; pipe only the password or token")
    try:
        text = bytes(raw).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"--password-stdin: stdin is not valid UTF-8 (byte {exc.start + 1} "
                         "of what was read)") from None
    return text.rstrip("\r\n")


def _progress(fmt: str) -> Any:
    """One line per finished blueprint on stderr, only on a terminal."""
    interactive = fmt == "text" and sys.stderr.isatty()

    def show(outcome: Any) -> None:
        if interactive:
            mark = "ok" if outcome.ok else "!!"
            click.echo(f"  {mark} {_cell(outcome.name)}:{_cell(outcome.version)} "
                       f"{outcome.status}", err=True)

    return show


def _as_dict(outcome: Any) -> dict[str, Any]:
    return {"blueprint": outcome.blueprint, "name": outcome.name, "version": outcome.version,
            "reference": outcome.reference, "digest": outcome.digest,
            "status": outcome.status, "ok": outcome.ok, "message": outcome.message,
            "notes": list(outcome.notes)}


def _cell(text: str) -> str:
    """Outside text (a chart name, a version from Chart.yaml) for one table cell or line."""
    from bpkit.text import outside

    return outside(text, limit=None) or "-"


def _table(outcomes: Sequence[Any], where: str, dry_run: bool) -> str:
    from bpkit.text import outside

    rows = [("BLUEPRINT", "VERSION", "STATUS", "DIGEST")]
    for o in outcomes:
        rows.append((_cell(o.name), _cell(o.version), o.status, _cell(o.digest or "-")))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r[:3], widths, strict=True)) + "  " + r[3]
             for r in rows]
    for o in outcomes:
        if o.message and not o.ok:
            lines.append(f"{_cell(o.name)}: {outside(o.message, limit=None)}")
    ok = sum(o.ok for o in outcomes)
    verb = "checked against" if dry_run else "published to"
    lines.append(f"{ok} of {len(outcomes)} {verb} {outside(where, limit=None)}")
    return "\n".join(lines)


def _md(text: str) -> str:
    """Outside text for the Markdown job summary: one line, no table or code-span breaks."""
    return (_cell(text).replace("`", "'").replace("|", "\\|")
            .replace("<", "&lt;").replace(">", "&gt;"))


def _github(outcomes: Sequence[Any], env: Mapping[str, str]) -> None:
    """Step outputs and a job summary when running in GitHub Actions."""
    done = [o for o in outcomes if o.ok and o.digest]
    out_file = env.get("GITHUB_OUTPUT")
    if out_file:
        if len(outcomes) == 1 and done:
            values = {"ref": done[0].reference, "digest": done[0].digest,
                      "version": done[0].version}
        else:
            values = {"ref": json.dumps([o.reference for o in done]),
                      "digest": json.dumps([o.digest for o in done]),
                      "version": json.dumps([o.version for o in done])}
        with open(out_file, "a", encoding="utf-8") as fh:
            for key, value in values.items():
                # One line per output: a value can never start another one.
                fh.write(f"{key}={_cell(value)}\n")
    summary_file = env.get("GITHUB_STEP_SUMMARY")
    if summary_file:
        lines = ["### bpkit publish", "", "| Blueprint | Version | Status | Digest |",
                 "|---|---|---|---|"]
        for o in outcomes:
            status = o.status if o.ok else f"**{o.status}**"
            lines.append(f"| `{_md(o.name)}` | {_md(o.version)} | {status} | "
                         f"`{_md(o.digest or '-')}` |")
        failed = [o for o in outcomes if not o.ok]
        if failed:
            lines += ["", *[f"- `{_md(o.name)}`: {_md(o.message)}" for o in failed]]
        with open(summary_file, "a", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")
