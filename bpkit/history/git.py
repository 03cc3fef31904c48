"""Git as small functions: the one place bpkit runs git.

gitpython is imported inside `Repo()`: `bpkit lint` without `--base` and
every command that does not compare commits never pay for the import.
Archive timestamps need only `git log`, so they use the plain subprocess
functions below (`toplevel`, `log_touching`, `last_commit`) and never
import gitpython at all.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bpkit.errors import GitError

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


class Repo:
    """A gitpython repository plus the path from its top to the bpkit root."""

    def __init__(self, root: Path) -> None:
        try:
            import git  # slow import, only needed here
        except ImportError as exc:  # gitpython absent, or no git executable
            raise GitError(f"git is not available ({first_line(str(exc))}); "
                           "comparing commits needs git") from None
        self._git: Any = git
        try:
            self.repo: Any = git.Repo(root, search_parent_directories=True)
        except (git.exc.InvalidGitRepositoryError, git.exc.NoSuchPathError):
            raise GitError(f"{root}: not inside a git repository; comparing commits needs "
                           "one (a clone with history)") from None
        top = self.repo.working_tree_dir
        if top is None:
            self.repo.close()
            raise GitError(f"{root}: a bare repository has no working tree")
        self.top = Path(top).resolve()
        try:
            rel = Path(root).resolve().relative_to(self.top)
        except ValueError:
            self.repo.close()
            raise GitError(f"{root}: outside the git repository at {self.top}") from None
        self.prefix = "" if rel == Path() else rel.as_posix() + "/"
        self._shallow: bool | None = None

    def close(self) -> None:
        self.repo.close()

    def run(self, *args: str) -> tuple[int, str, str]:
        try:
            status, out, err = self.repo.git.execute(
                ["git", *args], with_extended_output=True, with_exceptions=False,
                strip_newline_in_stdout=False)
        except self._git.exc.GitCommandNotFound:
            raise GitError("git is not installed; comparing commits needs it") from None
        return int(status), str(out), str(err)

    def check(self, *args: str) -> str:
        status, out, err = self.run(*args)
        if status != 0:
            raise GitError(f"git {args[0]} failed in {self.top}: {first_line(err)}")
        return out

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

    def tree(self, sha: str) -> Any:
        return self.repo.commit(sha).tree


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
