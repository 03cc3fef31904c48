"""The `bpkit` command: a thin click layer over the library.

Subcommands are imported only when run, so `bpkit --version` and the
pre-commit hook do not pay for oras, requests or gitpython. The plainest
and most frequent command, `bpkit lint [PATHS]` with at most --format,
--strict, --quiet and --no-cache (what the pre-commit hook runs), does not
import click either (bpkit.cli.lint_run): click takes a third of a warm
lint's 0.1 s. Anything else goes through click (bpkit.cli.group).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from typing import Any

from bpkit.errors import EXIT_INTERRUPTED, EXIT_USAGE, BpkitError, Interrupted
from bpkit.limits import INTERRUPT_GRACE_SECONDS
from bpkit.text import outside, printable

__all__ = ["cli", "main"]


def __getattr__(name: str) -> Any:
    """`bpkit.cli.cli`, the click group, imported when asked for."""
    if name == "cli":
        from bpkit.cli.group import cli

        return cli
    raise AttributeError(name)


def main(argv: list[str] | None = None) -> Any:
    """Entry point: maps every failure to a one-line message and an exit code."""
    restore = _install_sigint(whole_process=argv is None)
    try:
        from bpkit.cli.lint_run import plain_lint

        plain = plain_lint(sys.argv[1:] if argv is None else argv)
        if plain is not None:
            from bpkit.cli.lint_run import lint_run

            sys.exit(lint_run(**plain))
        return _with_click(argv)
    except (KeyboardInterrupt, Interrupted):
        _exit_interrupted(whole_process=argv is None)
    except BpkitError as exc:
        _err(f"bpkit: error: {printable(exc.message)}")
        sys.exit(exc.exit_code)
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(1)
    except Exception as exc:
        if os.environ.get("BPKIT_DEBUG"):
            raise
        detail = outside(str(exc), limit=500)
        _err(f"bpkit: internal error: {type(exc).__name__}: {detail} "
             "(set BPKIT_DEBUG=1 for a traceback, and please report it)")
        sys.exit(EXIT_USAGE)
    finally:
        restore()


def _with_click(argv: list[str] | None) -> Any:
    """Every other command line, through click; its own exits become ours."""
    import click

    from bpkit.cli.group import cli

    try:
        return cli.main(args=argv, prog_name="bpkit", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_USAGE if exc.exit_code == 2 else exc.exit_code)
    except click.exceptions.Abort:
        raise KeyboardInterrupt from None


def _err(line: str) -> None:
    """One line on stderr (already escaped by the caller)."""
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def _install_sigint(*, whole_process: bool = False) -> Any:
    """Ctrl-C raises KeyboardInterrupt once; a second Ctrl-C exits at once (no traceback).

    For the whole process, a Ctrl-C after the command is done (while the
    interpreter shuts down) exits 130 at once: with Python's own handler
    back, it would end the process by the signal itself, or with a
    traceback.
    """
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

    def late(signum: int, frame: Any) -> None:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        os._exit(EXIT_INTERRUPTED)

    def restore() -> None:
        if whole_process:
            signal.signal(signal.SIGINT, late)
        elif not seen:  # after a Ctrl-C, a second one during shutdown still exits at once
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
        _err("bpkit: interrupted")
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
