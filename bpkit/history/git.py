"""Git as small functions: the one place bpkit runs git.

gitpython is imported inside `Repo()`: `bpkit lint` without `--base` and
every command that does not compare commits never pay for the import.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bpkit.errors import GitError

__all__ = ["Repo", "first_line"]


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
