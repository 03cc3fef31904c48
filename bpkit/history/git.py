"""Git as small functions: the one place bpkit runs git for comparing commits.

`Repo` runs the git executable directly (no git library): every call has
a deadline, and reads of trees and files are batched (`cat-file --batch`,
see bpkit.history.changes).
Archive timestamps need only `git log`: the plain functions below
(`toplevel`, `log_touching`, `last_commit`) stream it without a Repo.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from pathlib import Path

from bpkit.errors import GitError
from bpkit.limits import GIT_SECONDS

__all__ = ["LogEntry", "Repo", "TopLevel", "first_line", "last_commit", "log_touching",
           "toplevel"]

# Options that keep `git log` output the same whatever the user's config says
# (signatures, rename detection, colour, relative paths are all configurable).
_LOG_OPTIONS = ("--no-show-signature", "--no-color", "--no-renames", "--no-ext-diff",
                "--no-textconv")


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


# --------------------------------------------------------------------------
# Plain subprocess git, for archive timestamps


def _git(cwd: Path | str, *args: str) -> tuple[int, bytes]:
    """(exit status, stdout) of `git ARGS` in `cwd`; status 127 when git is missing."""
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=False)
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return 127, b""
    except OSError:
        return 126, b""
    return proc.returncode, proc.stdout


@dataclass(frozen=True)
class TopLevel:
    """The work tree holding a folder, and the shallow clone's boundary commits."""

    top: Path  # realpath of the work tree's top
    shallow: frozenset[str]  # full SHAs listed in <git common dir>/shallow


def toplevel(folder: Path) -> TopLevel | None:
    """The work tree `folder` lies in, or None (no git, no repository, bare, missing)."""
    status, out = _git(folder, "rev-parse", "--show-toplevel", "--git-common-dir")
    lines = out.decode("utf-8", "surrogateescape").splitlines()
    if status != 0 or len(lines) < 2 or not lines[0]:
        return None
    top = Path(os.path.realpath(lines[0]))
    common = Path(lines[1]) if os.path.isabs(lines[1]) else Path(folder) / lines[1]
    try:
        shallow = frozenset((common / "shallow").read_text().split())
    except (OSError, UnicodeDecodeError):
        shallow = frozenset()
    return TopLevel(top, shallow)


@dataclass(frozen=True)
class LogEntry:
    """One commit of `git log --name-only`: what it changed against its first parent."""

    sha: str
    stamp: int  # committer time, seconds
    parents: int
    files: tuple[str, ...]  # paths relative to the top, `/`-separated


def log_touching(top: Path, pathspecs: Sequence[str]) -> Generator[LogEntry, None, None]:
    """`git log --name-only -- PATHSPECS` in `top`, newest first, streamed.

    The caller may stop early: closing the generator ends the git process.
    Nothing is yielded when git fails (no commits yet, a broken repository).
    """
    argv = ["git", "log", *_LOG_OPTIONS, "-z", "--name-only", "--format=%x01%H %ct %P",
            "--", *pathspecs]
    try:
        proc = subprocess.Popen(argv, cwd=top, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    except OSError:
        return
    assert proc.stdout is not None
    try:
        header: tuple[str, int, int] | None = None
        files: list[str] = []
        first = False  # the token after a header starts with the blank line's "\n"
        rest = b""
        while True:
            chunk = proc.stdout.read(65536)
            tokens = (rest + chunk).split(b"\0")
            rest = tokens.pop() if chunk else b""
            for token in tokens:
                match = _HEADER.fullmatch(token)
                if match is not None:
                    if header is not None:
                        yield LogEntry(*header, tuple(files))
                    header = (match[1].decode(), int(match[2]), len(match[3].split()))
                    files, first = [], True
                    continue
                name = token[1:] if first and token.startswith(b"\n") else token
                first = False
                if name and header is not None:
                    files.append(name.decode("utf-8", "surrogateescape"))
            if not chunk:
                break
        if proc.wait() == 0 and header is not None:
            yield LogEntry(*header, tuple(files))
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
        proc.wait()


_HEADER = re.compile(rb"\x01([0-9a-f]{40}|[0-9a-f]{64}) ([0-9]{1,12}) ?([0-9a-f ]*)")


def last_commit(top: Path, pathspec: str) -> tuple[str, int] | None:
    """(SHA, committer time) of the last commit touching `pathspec`, or None."""
    status, out = _git(top, "log", *_LOG_OPTIONS, "-1", "--format=%H %ct", "--", pathspec)
    sha, _, stamp = out.decode("ascii", "replace").strip().partition(" ")
    if status != 0 or not sha or not stamp.isdigit():
        return None
    return sha, int(stamp)
