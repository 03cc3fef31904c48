"""The `bpkit` command: a thin click layer over the library.

Subcommands are imported only when run, so `bpkit --version` and the
pre-commit hook do not pay for oras, requests or gitpython.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
import sys
import threading
import time
from typing import Any

import click

from bpkit import __version__
from bpkit.errors import EXIT_INTERRUPTED, EXIT_USAGE, BpkitError, Interrupted
from bpkit.limits import INTERRUPT_GRACE_SECONDS
from bpkit.text import outside, printable

_COMMANDS = {
    "lint": ("bpkit.cli.lint", "lint", "Check blueprints against every rule."),
    "rules": ("bpkit.cli.info", "rules", "List the lint rules, or explain one."),
    "schema": ("bpkit.cli.info", "schema", "Print one of the bundled JSON Schemas."),
    "package": ("bpkit.cli.package", "package", "Build reproducible chart archives."),
    "publish": ("bpkit.cli.publish", "publish", "Lint, package and push charts to a registry."),
    "verify": ("bpkit.cli.verify", "verify", "Check published charts: digests, mode, not hollow."),
    "changed": ("bpkit.cli.changed", "changed", "List blueprints changed between two commits."),
    "render": ("bpkit.cli.render", "render", "Write Flux manifests that install blueprints."),
    "new": ("bpkit.cli.new", "new", "Scaffold a blueprint that lints clean at once."),
    "upstream": ("bpkit.cli.upstream", "upstream", "Lock, fetch, check and bump upstream charts."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = _COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module = importlib.import_module(entry[0])
        command: click.Command = getattr(module, entry[1])
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, help_) for name, (_, _, help_) in _COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


EPILOG = """\b
Exit codes: 0 clean or published; 1 problems found, or a publish refused
or failed; 2 usage or environment error."""


@click.group(cls=LazyGroup, epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bpkit")
def cli() -> None:
    """Lint, package and publish Catalyst Blueprint wrapper charts."""


def main(argv: list[str] | None = None) -> Any:
    """Entry point: maps every failure to a one-line message and an exit code."""
    restore = _install_sigint()
    try:
        return cli.main(args=argv, prog_name="bpkit", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_USAGE if exc.exit_code == 2 else exc.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt, Interrupted):
        _exit_interrupted(whole_process=argv is None)
    except BpkitError as exc:
        click.echo(f"bpkit: error: {printable(exc.message)}", err=True)
        sys.exit(exc.exit_code)
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(1)
    except Exception as exc:
        if os.environ.get("BPKIT_DEBUG"):
            raise
        detail = outside(str(exc), limit=500)
        click.echo(f"bpkit: internal error: {type(exc).__name__}: {detail} "
                   "(set BPKIT_DEBUG=1 for a traceback, and please report it)", err=True)
        sys.exit(EXIT_USAGE)
    finally:
        restore()


def _install_sigint() -> Any:
    """Ctrl-C raises KeyboardInterrupt once; a second Ctrl-C exits at once (no traceback)."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        return lambda: None
    seen: list[int] = []

    def on_sigint(signum: int, frame: Any) -> None:
        if seen:
            os._exit(EXIT_INTERRUPTED)
        seen.append(signum)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_sigint)

    def restore() -> None:
        if not seen:  # after a Ctrl-C, a second one during shutdown still exits at once
            signal.signal(signal.SIGINT, signal.default_int_handler)

    return restore


def _exit_interrupted(*, whole_process: bool) -> None:
    """Exit 130 within INTERRUPT_GRACE_SECONDS, without a traceback, however often Ctrl-C comes.

    Worker threads stop within milliseconds once aborted; they get the grace
    period to finish, then the process ends with os._exit, skipping an
    interpreter shutdown that would wait for a thread stuck in, say, a DNS
    lookup, and during which another Ctrl-C would kill it by signal.
    `whole_process` is False when main() was called with arguments (tests,
    embedding): then it only raises SystemExit.
    """
    if whole_process:
        with contextlib.suppress(ValueError, OSError):
            signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(Exception):
        click.echo("bpkit: interrupted", err=True)
    if not whole_process:
        sys.exit(EXIT_INTERRUPTED)
    deadline = time.monotonic() + INTERRUPT_GRACE_SECONDS
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join(max(0.0, deadline - time.monotonic()))
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    os._exit(EXIT_INTERRUPTED)
