"""`bpkit changed` output: names (one a line, or NUL-separated), JSON, a GitHub matrix.

Blueprint paths are folder names from the repository, outside text: a name
holding a line break or an escape sequence must not forge extra lines (in
GitHub Actions, workflow commands) or move a terminal's cursor. Text output
escapes them with `bpkit.text.printable`; `-z` keeps the exact bytes,
NUL-separated, for scripts (`xargs -0`); JSON escapes them by itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from bpkit.errors import UsageError
from bpkit.history.changes import RENAMED, ChangeSet
from bpkit.report.matrix import matrix as build_matrix
from bpkit.text import printable

_SHELL_SAFE = re.compile(r"[A-Za-z0-9._/-]+")

__all__ = ["as_json", "as_matrix", "names_nul", "names_text", "notes", "shown"]


def shown(path: str) -> str:
    """A repository path fit for one line: undecodable bytes and controls escaped visibly."""
    return printable(path.encode("utf-8", "backslashreplace").decode("utf-8"))


def names_text(result: ChangeSet) -> str:
    """One publish target a line, escaped; empty when there is none."""
    return "".join(f"{shown(c.path)}\n" for c in result.targets)


def names_nul(result: ChangeSet) -> bytes:
    """The publish targets' exact path bytes, each ended by NUL (`-z`)."""
    return b"".join(c.path.encode("utf-8", "surrogateescape") + b"\0" for c in result.targets)


def as_json(result: ChangeSet) -> str:
    """The versioned JSON shape (ASCII only: every odd character escaped)."""
    return json.dumps(result.as_dict(), indent=2, ensure_ascii=True)


def as_matrix(result: ChangeSet, per_job: int = 1) -> str:
    """A GitHub Actions matrix as one line of compact JSON (safe in $GITHUB_OUTPUT).

    Above one blueprint a job, paths are joined with spaces for a shell to
    split (`bpkit publish $BLUEPRINTS`): a name a shell would split or
    expand (spaces, `*`, quotes) is refused rather than published wrongly.
    """
    targets = [(c.name, c.path) for c in result.targets]
    if per_job > 1:
        for _, path in targets:
            if not _SHELL_SAFE.fullmatch(path):
                raise UsageError(f"{shown(path)}: a folder name with characters other than "
                                 "letters, digits, '.', '_', '-' cannot go in a space-separated "
                                 "--per-job list; rename it or use --per-job 1")
    return json.dumps(build_matrix(targets, per_job), separators=(",", ":"), ensure_ascii=True)


def notes(result: ChangeSet) -> Iterator[str]:
    """Lines for stderr: deleted and renamed blueprints, escaped."""
    for change in result.changes:
        if not change.publish:
            yield f"{shown(change.path)}: deleted; not a publish target"
        elif change.status == RENAMED:
            yield f"{shown(change.path)}: renamed from {shown(change.renamed_from or '')}"
