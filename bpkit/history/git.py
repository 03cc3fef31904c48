"""Git as small functions: the one place bpkit runs git for comparing commits.

`Repo` runs the git executable directly (no gitpython objects): every call
has a deadline, reads of trees and files are batched (`cat-file --batch`,
see bpkit.history.changes), and `bpkit changed` does not pay gitpython's
import.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from bpkit.errors import GitError
from bpkit.limits import GIT_SECONDS

__all__ = ["Repo", "first_line"]


def first_line(text: str) -> str:
    for raw in text.splitlines():
        line = raw.strip()
        if line:
            return line.removeprefix("fatal: ").removeprefix("error: ")
    return "no message"


def _env() -> dict[str, str]:
    # Messages in English, whatever the locale (they are matched below), and
    # never a prompt for credentials or an editor.
    return {**os.environ, "LC_ALL": "C", "LANGUAGE": "C", "GIT_TERMINAL_PROMPT": "0"}


class Repo:
    """A work tree's git repository plus the path from its top to the bpkit root."""

    def __init__(self, root: Path) -> None:
        self.top = Path(root)
        if not Path(root).is_dir():
            raise GitError(f"{root}: not inside a git repository; comparing commits needs "
                           "one (a clone with history)")
        status, out, err, _ = self._exec(
            ("rev-parse", "--is-inside-work-tree", "--show-toplevel"), cwd=Path(root))
        lines = out.splitlines()
        if status != 0 or len(lines) != 2 or lines[0] != "true":
            if "not a git repository" in err:
                raise GitError(f"{root}: not inside a git repository; comparing commits needs "
                               "one (a clone with history)")
            if "work tree" in err or lines[:1] == ["false"]:
                raise GitError(f"{root}: a bare repository has no working tree")
            raise GitError(f"git rev-parse failed in {root}: {first_line(err)}")
        self.top = Path(lines[1]).resolve()
        try:
            rel = Path(root).resolve().relative_to(self.top)
        except ValueError:
            raise GitError(f"{root}: outside the git repository at {self.top}") from None
        self.prefix = "" if rel == Path() else rel.as_posix() + "/"
        self._shallow: bool | None = None

    def close(self) -> None:
        """Nothing stays open between calls; kept so callers need not know."""

    def _exec(self, args: tuple[str, ...], *, cwd: Path | None = None,
              data: bytes | None = None) -> tuple[int, str, str, bytes]:
        try:
            proc = subprocess.run(["git", *args], cwd=cwd or self.top, input=data,
                                  capture_output=True, timeout=GIT_SECONDS, env=_env(),
                                  check=False)
        except FileNotFoundError:
            raise GitError("git is not installed; comparing commits needs it") from None
        except subprocess.TimeoutExpired:
            raise GitError(f"git {args[0]} took more than {GIT_SECONDS:g} s in "
                           f"{cwd or self.top}") from None
        err = proc.stderr.decode("utf-8", "replace")
        return proc.returncode, proc.stdout.decode("utf-8", "surrogateescape"), err, proc.stdout

    def run(self, *args: str) -> tuple[int, str, str]:
        """Exit status, stdout (undecodable bytes as surrogate escapes) and stderr."""
        status, out, err, _ = self._exec(args)
        return status, out, err

    def check(self, *args: str) -> str:
        status, out, err = self.run(*args)
        if status != 0:
            raise GitError(f"git {args[0]} failed in {self.top}: {first_line(err)}")
        return out

    def feed(self, args: tuple[str, ...], data: bytes) -> bytes:
        """Run git with `data` on stdin; its stdout as bytes (for `cat-file --batch`)."""
        status, _, err, raw = self._exec(args, data=data)
        if status != 0:
            raise GitError(f"git {args[0]} failed in {self.top}: {first_line(err)}")
        return raw

    def commit(self, ref: str) -> str | None:
        """The commit `ref` names, or None when the clone has no such commit."""
        if ref.startswith("-"):  # never an option to git
            return None
        status, out, _ = self.run("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
        sha = out.strip()
        return sha if status == 0 and sha else None

    def shallow(self) -> bool:
        if self._shallow is None:
            out = self.check("rev-parse", "--is-shallow-repository")
            self._shallow = out.strip() == "true"
        return self._shallow
