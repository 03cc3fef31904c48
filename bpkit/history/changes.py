"""Which blueprints changed between two commits: release fan-out and the version gate.

A blueprint is `<root>/<name>/` for each configured root (`platform`,
`products`) holding `blueprint.yaml` or `chart/`. It changed when a file
that ends up in its release changed:

- `blueprint.yaml`, and `upstream.lock` (a new upstream digest changes what
  a release installs, so a lock-only change is a release);
- a file under `chart/` that `helm package` would archive: files the
  chart's `.helmignore` (plus Helm's default rule) leaves out do not count,
  judged with the `.helmignore` of the side where the file exists (for an
  edited file, either side); nor do `charts/_*` and `charts/.*`, which Helm
  drops;
- an edit to `chart/.helmignore` itself always counts: Helm archives it, and
  it decides what else is archived;
- README files (`README`, `README.md`, ... in any case, anywhere in the
  blueprint) never count: a README-only edit does not force a release, and
  ships with the blueprint's next version.

Files elsewhere in the blueprint folder (docs, tests) do not count either.
A blueprint present only on the head side is `added`; one whose files git
sees moving from a blueprint that no longer exists is `renamed` (it counts
under its new name); one gone from the head side is `deleted` and is not a
publish target.

Pull-request semantics (no `head`): compare the merge base of BASE and HEAD
with HEAD (or, for the version gate, with the working tree, since lint reads
the working tree). Push semantics (`head` given): compare the two commits
as they are, which also covers merge commits pushed to main.

git runs as a plain subprocess through `bpkit.history.git.Repo`, with a
deadline and batched reads: `bpkit lint` without `--base` never runs it.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from bpkit.errors import GitError, UsageError
from bpkit.fsio import read_capped
from bpkit.history.git import Repo, first_line
from bpkit.limits import HELM_MAX_FILE_BYTES
from bpkit.settings import DEFAULT_ROOTS
from bpkit.source.discover import BLUEPRINT_FILE, CHART_DIR, blueprints_under, is_blueprint_dir
from bpkit.source.lock import LOCK_FILE

if TYPE_CHECKING:
    from bpkit.helm.helmignore import HelmIgnore

__all__ = [
    "ADDED",
    "CHANGED",
    "DELETED",
    "FETCH_HINT",
    "RENAMED",
    "BlueprintChange",
    "ChangeSet",
    "UnknownHistoryError",
    "changed_blueprints",
    "counts_as_change",
]

CHANGED = "changed"
ADDED = "added"
RENAMED = "renamed"
DELETED = "deleted"

#: What to tell people whose clone lacks the history a comparison needs.
FETCH_HINT = ("fetch the full history (actions/checkout with `fetch-depth: 0`, "
              "or `git fetch --unshallow`)")

_NULL_SHA = re.compile(r"0{40}(?:0{24})?")  # GitHub's `before` when a push creates a branch
_README = re.compile(r"readme(?:\.[^/]*)?", re.IGNORECASE)
_ANCESTRY = re.compile(r"(?P<stem>.+?)(?:[~^][0-9]*)+")
_CHART_FILE = "Chart.yaml"
_SYMLINK_MODE = 0o120000
_RULES_UNKNOWN = None  # a .helmignore Helm refuses: count every file


class UnknownHistoryError(GitError):
    """The clone cannot say what changed: shallow, missing base, first commit."""


@dataclass(frozen=True)
class BlueprintChange:
    """One blueprint that changed; `path` is relative to the repository root."""

    path: str  # "platform/flux"
    status: str  # CHANGED, ADDED, RENAMED or DELETED
    files: tuple[str, ...] = ()  # files that count, relative to the blueprint folder
    renamed_from: str | None = None  # "platform/old-name" for RENAMED

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def publish(self) -> bool:
        """Deleted blueprints are not publish targets."""
        return self.status != DELETED

    def as_dict(self) -> dict[str, Any]:
        return {"blueprint": self.name, "path": self.path, "status": self.status,
                "publish": self.publish, "renamed_from": self.renamed_from,
                "files": list(self.files)}


@dataclass(frozen=True)
class ChangeSet:
    """The answer of `changed_blueprints`.

    `base` is the commit compared from (the merge base, in pull-request
    semantics), None when the history was unknown and `warning` says so
    (every blueprint is then listed as changed); `head` is the commit
    compared to, None for the working tree.
    """

    base_ref: str
    base: str | None
    head: str | None
    changes: tuple[BlueprintChange, ...] = ()
    warning: str | None = None

    @property
    def complete(self) -> bool:
        return self.warning is None

    @property
    def targets(self) -> tuple[BlueprintChange, ...]:
        return tuple(c for c in self.changes if c.publish)

    @property
    def deleted(self) -> tuple[BlueprintChange, ...]:
        return tuple(c for c in self.changes if not c.publish)

    def find(self, path: str) -> BlueprintChange | None:
        for change in self.changes:
            if change.path == path:
                return change
        return None

    def as_dict(self) -> dict[str, Any]:
        return {"version": 1, "base_ref": self.base_ref, "base": self.base, "head": self.head,
                "complete": self.complete, "warning": self.warning,
                "blueprints": [c.as_dict() for c in self.changes]}


# --------------------------------------------------------------------------
# git access
# --------------------------------------------------------------------------


class _Side(Protocol):
    """One end of a comparison: a commit, or the working tree."""

    def exists(self, blueprint: str) -> bool: ...

    def read(self, path: str) -> bytes | None: ...

    def blueprints(self, roots: Sequence[str]) -> list[str]: ...


class CommitSide:
    """A commit, read through a few batched `git cat-file` commands.

    Paths are resolved one folder level at a time, every tree of a level in
    one `cat-file --batch` by object id (never by path, so no name can break
    the line protocol), so a diff touching 1,000 blueprints costs a handful
    of git processes whatever its size, and time linear in what is looked up.
    """

    def __init__(self, repo: Repo, sha: str) -> None:
        self._repo = repo
        self._sha = sha
        self._prefix = repo.prefix
        self._trees: dict[str, dict[bytes, _TreeEntry]] = {}  # tree id -> entries by name
        self._root: str | None = None
        self._entries: dict[str, _TreeEntry | None] = {}  # path (no prefix) -> entry
        self._blobs: dict[str, bytes | None] = {}  # path -> bytes (None: not a readable file)

    def _load_trees(self, oids: Iterable[str]) -> None:
        todo = [o for o in dict.fromkeys(oids) if o not in self._trees]
        if not todo:
            return
        out = self._repo.feed(("cat-file", "--batch"), "".join(f"{o}\n" for o in todo).encode())
        for oid, kind, data in _batch_objects(out):
            self._trees[oid] = _parse_tree(data, len(oid) // 2) if kind == "tree" else {}
        for oid in todo:
            self._trees.setdefault(oid, {})

    def _lookup(self, paths: Iterable[str]) -> None:
        """Fill `_entries` for `paths`, walking down from the commit's tree level by level."""
        todo = [p for p in dict.fromkeys(paths) if p not in self._entries]
        if not todo:
            return
        if self._root is None:
            out = self._repo.feed(("cat-file", "--batch-check"), f"{self._sha}^{{tree}}\n".encode())
            self._root = out.split(b" ", 1)[0].decode("ascii")
        walks = {p: (f"{self._prefix}{p}".encode("utf-8", "surrogateescape").split(b"/"),
                     _TreeEntry(0o040000, "tree", self._root)) for p in todo}
        depth = 0
        while walks:
            self._load_trees(e.oid for _, e in walks.values())
            going: dict[str, tuple[list[bytes], _TreeEntry]] = {}
            for path, (parts, entry) in walks.items():
                found = self._trees[entry.oid].get(parts[depth])
                if found is None or depth + 1 == len(parts):
                    self._entries[path] = found
                elif found.kind != "tree":
                    self._entries[path] = None
                else:
                    going[path] = (parts, found)
            walks = going
            depth += 1

    def prefetch(self, blueprints: Sequence[str], files: Sequence[str] = ()) -> None:
        """Look up, in a few git commands, the blueprints and files later asked about."""
        self._lookup(f"{bp}/{name}" for bp in blueprints for name in (BLUEPRINT_FILE, CHART_DIR))
        self.prefetch_files([*(f"{bp}/{CHART_DIR}/.helmignore" for bp in blueprints), *files])

    def prefetch_files(self, paths: Sequence[str]) -> None:
        """Read the regular files `paths` (up to Helm's file limit) in one `cat-file`."""
        todo = [p for p in dict.fromkeys(paths) if p not in self._blobs]
        self._lookup(todo)
        wanted: dict[str, list[str]] = {}
        for path in todo:
            self._blobs[path] = None
            entry = self._entries[path]
            if entry is not None and entry.kind == "blob" and entry.mode != _SYMLINK_MODE:
                wanted.setdefault(entry.oid, []).append(path)
        if not wanted:
            return
        sizes = self._repo.feed(("cat-file", "--batch-check"),
                                "".join(f"{oid}\n" for oid in wanted).encode())
        small = []
        for line in sizes.splitlines():
            fields = line.split()
            if len(fields) == 3 and fields[2].isdigit() and int(fields[2]) <= HELM_MAX_FILE_BYTES:
                small.append(fields[0].decode("ascii"))
        if not small:
            return
        out = self._repo.feed(("cat-file", "--batch"), "".join(f"{o}\n" for o in small).encode())
        for oid, _, data in _batch_objects(out):
            for path in wanted.get(oid, ()):
                self._blobs[path] = data

    def exists(self, blueprint: str) -> bool:
        self._lookup([f"{blueprint}/{BLUEPRINT_FILE}", f"{blueprint}/{CHART_DIR}"])
        manifest = self._entries[f"{blueprint}/{BLUEPRINT_FILE}"]
        chart = self._entries[f"{blueprint}/{CHART_DIR}"]
        return ((manifest is not None and manifest.kind == "blob")
                or (chart is not None and chart.kind == "tree"))

    def read(self, path: str) -> bytes | None:
        if path not in self._blobs:
            self.prefetch_files([path])
        return self._blobs[path]

    def blueprints(self, roots: Sequence[str]) -> list[str]:
        self._lookup(roots)
        folders = [(root, e) for root in roots
                   if (e := self._entries[root]) is not None and e.kind == "tree"]
        self._load_trees(e.oid for _, e in folders)
        candidates = [f"{root}/{name.decode('utf-8', 'surrogateescape')}"
                      for root, e in folders for name, sub in self._trees[e.oid].items()
                      if sub.kind == "tree" and not name.startswith(b".")]
        self.prefetch(candidates)
        return sorted(c for c in candidates if self.exists(c))


@dataclass(frozen=True)
class _TreeEntry:
    mode: int
    kind: str  # "blob", "tree", "commit" (a submodule)
    oid: str


def _parse_tree(data: bytes, id_bytes: int) -> dict[bytes, _TreeEntry]:
    """A raw git tree object: entries `<octal mode> <name>\\0<binary object id>`."""
    entries: dict[bytes, _TreeEntry] = {}
    pos = 0
    while pos < len(data):
        space = data.find(b" ", pos)
        nul = data.find(b"\0", space + 1)
        if space < 0 or nul < 0 or nul + 1 + id_bytes > len(data):
            raise GitError("git cat-file: malformed tree object")
        mode_text = data[pos:space]
        if not mode_text.isdigit() or b"8" in mode_text or b"9" in mode_text:
            raise GitError("git cat-file: malformed tree object")
        mode = int(mode_text, 8)
        kind = "tree" if mode == 0o040000 else "commit" if mode == 0o160000 else "blob"
        oid = data[nul + 1:nul + 1 + id_bytes].hex()
        entries[data[space + 1:nul]] = _TreeEntry(mode, kind, oid)
        pos = nul + 1 + id_bytes
    return entries


def _batch_objects(out: bytes) -> Iterator[tuple[str, str, bytes]]:
    """`git cat-file --batch` output as (object id, type, contents); missing ones skipped."""
    pos = 0
    while pos < len(out):
        end = out.find(b"\n", pos)
        if end < 0:
            raise GitError("git cat-file: truncated answer")
        header = out[pos:end].split()
        pos = end + 1
        if len(header) != 3 or not header[2].isdigit():  # "<oid> missing" and the like
            continue
        oid, kind, size_text = header
        size = int(size_text)
        data = out[pos:pos + size]
        if len(data) != size:
            raise GitError("git cat-file: truncated answer")
        pos += size + 1  # the contents end with a newline of their own
        yield oid.decode("ascii", "replace"), kind.decode("ascii", "replace"), data


class _WorktreeSide:
    def __init__(self, root: Path) -> None:
        self._root = root

    def exists(self, blueprint: str) -> bool:
        return is_blueprint_dir(self._root / blueprint)

    def read(self, path: str) -> bytes | None:
        """A regular file's bytes (not through a link, up to Helm's file limit), else None."""
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        try:
            fd = os.open(self._root / path, flags)
        except OSError:
            return None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or st.st_size > HELM_MAX_FILE_BYTES:
                return None
            with os.fdopen(os.dup(fd), "rb") as fh:
                data = read_capped(fh, HELM_MAX_FILE_BYTES, st.st_size)
            return data if len(data) <= HELM_MAX_FILE_BYTES else None
        except OSError:
            return None
        finally:
            os.close(fd)

    def blueprints(self, roots: Sequence[str]) -> list[str]:
        found: list[str] = []
        for root in roots:
            folder = self._root / root
            if folder.is_dir():
                found.extend(f"{root}/{p.name}" for p in blueprints_under(folder, depth=1))
        return sorted(found)


# --------------------------------------------------------------------------
# What counts as a change
# --------------------------------------------------------------------------


def _packaged(chart_rel: str, rules: HelmIgnore | None) -> bool:
    """Whether Helm's walk reaches and keeps `chart_rel` (folders are checked first)."""
    if rules is _RULES_UNKNOWN:
        return True
    parts = chart_rel.split("/")
    for i in range(1, len(parts)):
        if rules.ignored("/".join(parts[:i]), True):
            return False
    return not rules.ignored(chart_rel, False)


def counts_as_change(rel: str, rules: Iterable[HelmIgnore | None]) -> bool:
    """Whether a changed file `rel` (relative to the blueprint folder) changes the release.

    `rules` are the chart's .helmignore rule sets (with Helm's defaults) of
    the sides where the file exists; None stands for a .helmignore Helm
    refuses, under which every file counts.
    """
    if rel in (BLUEPRINT_FILE, LOCK_FILE):
        return True
    prefix = CHART_DIR + "/"
    if not rel.startswith(prefix):
        return False
    chart_rel = rel[len(prefix):]
    if chart_rel == ".helmignore":
        return True
    if _README.fullmatch(chart_rel.rsplit("/", 1)[-1]):
        return False
    parts = chart_rel.split("/")
    if parts[0] == "charts" and len(parts) > 1 and parts[1][:1] in ("_", "."):
        return False  # Helm drops these from the chart
    return any(_packaged(chart_rel, r) for r in rules)


class _Rules:
    """Each side's .helmignore per blueprint, read once."""

    def __init__(self) -> None:
        self._cache: dict[tuple[int, str], HelmIgnore | None] = {}

    def get(self, side: _Side, blueprint: str) -> HelmIgnore | None:
        key = (id(side), blueprint)
        if key not in self._cache:
            from bpkit.helm.helmignore import HelmIgnore, HelmIgnoreSyntaxError

            text = side.read(f"{blueprint}/{CHART_DIR}/.helmignore")
            try:
                rules: HelmIgnore | None = (HelmIgnore.parse(text) if text is not None
                                            else HelmIgnore()).with_defaults()
            except HelmIgnoreSyntaxError:
                rules = _RULES_UNKNOWN
            self._cache[key] = rules
        return self._cache[key]


def _split(path: str, prefix: str, roots: Sequence[str]) -> tuple[str, str] | None:
    """("platform/flux", "chart/values.yaml") for a repository path, None outside blueprints."""
    if not path.startswith(prefix):
        return None
    rel = path[len(prefix):]
    for root in roots:
        if rel.startswith(root + "/"):
            name, _, rest = rel[len(root) + 1:].partition("/")
            if name and rest:
                return f"{root}/{name}", rest
    return None


def _name_status(out: str) -> list[tuple[str, str | None, str | None]]:
    """`git diff -z --name-status` as (status letter, old path, new path)."""
    fields = out.split("\0")
    entries: list[tuple[str, str | None, str | None]] = []
    i = 0
    while i < len(fields) and fields[i]:
        status = fields[i][0]
        if status in "RC":
            old, new = fields[i + 1], fields[i + 2]
            i += 3
            entries.append((status, old if status == "R" else None, new))
        else:
            path = fields[i + 1]
            i += 2
            entries.append((status, None if status == "A" else path,
                            None if status == "D" else path))
    return entries


# --------------------------------------------------------------------------
# The comparison
# --------------------------------------------------------------------------


def _resolve_head(repo: Repo, head: str | None) -> str:
    ref = head or "HEAD"
    sha = repo.commit(ref)
    if sha is not None:
        return sha
    if head is None:
        raise GitError(f"{repo.top}: HEAD names no commit (no commits yet?)")
    if head.startswith("-"):
        raise GitError(f"head {head!r} is not a revision")
    if repo.shallow():
        raise GitError(f"head {head} is not in this shallow clone; {FETCH_HINT}")
    raise GitError(f"head {head}: no such commit in this clone")


def _resolve_base(repo: Repo, base: str) -> str:
    if _NULL_SHA.fullmatch(base):
        raise UnknownHistoryError(
            f"base {base[:12]}... is the all-zero commit id (the push created the branch): "
            "there is no earlier commit to compare with")
    if base.startswith("-"):
        raise GitError(f"base {base!r} is not a revision")
    sha = repo.commit(base)
    if sha is not None:
        return sha
    if repo.shallow():
        raise UnknownHistoryError(f"base {base} is not in this shallow clone; {FETCH_HINT}")
    match = _ANCESTRY.fullmatch(base)
    if match is not None and repo.commit(match.group("stem")) is not None:
        raise UnknownHistoryError(
            f"base {base} lies before the repository's first commit: there is nothing to "
            "compare with")
    raise UnknownHistoryError(
        f"base {base}: no such commit in this clone; fetch it (e.g. `git fetch origin main`) "
        f"or {FETCH_HINT}")


def _merge_base(repo: Repo, base: str, base_sha: str, head_sha: str) -> str:
    status, out, err = repo.run("merge-base", base_sha, head_sha)
    sha = out.strip()
    if status == 0 and sha:
        return sha
    if status != 1:
        raise GitError(f"git merge-base failed in {repo.top}: {first_line(err)}")
    if repo.shallow():
        raise UnknownHistoryError(
            f"no merge base of {base} and HEAD in this shallow clone; {FETCH_HINT}")
    raise UnknownHistoryError(f"{base} and HEAD share no history (no merge base)")


@dataclass
class _Touched:
    files: dict[str, list[_Side]] = field(default_factory=dict)  # rest -> sides it exists on


def compare(repo: Repo, base: str, head: str | None, roots: Sequence[str],
             all_if_unknown: bool, worktree: bool) -> ChangeSet:
    head_sha = _resolve_head(repo, head)
    head_side: _Side = (_WorktreeSide(repo.top / repo.prefix) if worktree
                        else CommitSide(repo, head_sha))
    shown_head = None if worktree else head_sha
    try:
        base_sha = _resolve_base(repo, base)
        if head is None:
            base_sha = _merge_base(repo, base, base_sha, head_sha)
    except UnknownHistoryError as exc:
        if not all_if_unknown:
            raise
        every = head_side.blueprints(roots)
        return ChangeSet(base_ref=base, base=None, head=shown_head,
                         changes=tuple(BlueprintChange(p, CHANGED) for p in every),
                         warning=f"{exc.message}; listing all {len(every)} blueprints as changed")
    base_side = CommitSide(repo, base_sha)

    specs = [f"{repo.prefix}{r}" for r in roots]
    diff = ["diff", "-z", "--name-status", "-M", "--no-ext-diff", "--no-textconv",
            "--no-relative", base_sha]
    if not worktree:
        diff.append(head_sha)
    entries = _name_status(repo.check(*diff, "--", *specs))
    if worktree:
        untracked = repo.check("ls-files", "-z", "--others", "--exclude-standard", "--", *specs)
        entries += [("A", None, path) for path in untracked.split("\0") if path]

    touched: dict[str, _Touched] = {}
    renames: list[tuple[str, str]] = []

    def touch(path: str | None, sides: list[_Side]) -> str | None:
        if path is None:
            return None
        where = _split(path, repo.prefix, roots)
        if where is None:
            return None
        bp, rest = where
        seen = touched.setdefault(bp, _Touched()).files.setdefault(rest, [])
        seen.extend(s for s in sides if s not in seen)
        return bp

    for status, old, new in entries:
        if old is not None and new is not None and old == new:
            touch(old, [base_side, head_side])
            continue
        old_bp = touch(old, [base_side])
        new_bp = touch(new, [head_side])
        if status == "R" and old_bp and new_bp and old_bp != new_bp:
            renames.append((old_bp, new_bp))

    for side in (base_side, head_side):
        if isinstance(side, CommitSide):
            side.prefetch(sorted(touched))
    rules = _Rules()
    found: dict[str, BlueprintChange] = {}
    for bp in sorted(touched):
        before, after = base_side.exists(bp), head_side.exists(bp)
        files = tuple(sorted(
            rest for rest, sides in touched[bp].files.items()
            if counts_as_change(rest, [rules.get(side, bp) for side in sides])))
        if after and not before:
            found[bp] = BlueprintChange(bp, ADDED, files)
        elif before and not after:
            found[bp] = BlueprintChange(bp, DELETED, files)
        elif before and after and files:
            found[bp] = BlueprintChange(bp, CHANGED, files)
    for old_bp, new_bp in renames:
        old_change, new_change = found.get(old_bp), found.get(new_bp)
        if (old_change is not None and old_change.status == DELETED
                and new_change is not None and new_change.status == ADDED):
            found[new_bp] = BlueprintChange(new_bp, RENAMED, new_change.files, old_bp)
            del found[old_bp]
    return ChangeSet(base_ref=base, base=base_sha, head=shown_head,
                     changes=tuple(found[bp] for bp in sorted(found)))


def changed_blueprints(root: Path, base: str, head: str | None = None, *,
                       roots: Iterable[str] = DEFAULT_ROOTS, all_if_unknown: bool = False,
                       worktree: bool = False) -> ChangeSet:
    """The blueprints under `root` whose release content changed.

    Without `head`: between the merge base of `base` and HEAD, and HEAD (a
    pull request's changes), or the working tree with `worktree=True`
    (tracked edits and untracked files git does not ignore). With `head`:
    between the commits `base` and `head` (a push). Raises GitError (exit 2)
    when git cannot answer; UnknownHistoryError, naming the fetch depth
    needed, when the clone lacks the base (shallow, first commit, the
    all-zero `before` of a new branch), unless `all_if_unknown`, which lists
    every blueprint of the head side and sets `warning`.
    """
    if worktree and head is not None:
        raise UsageError("compare with a head commit or with the working tree, not both")
    if not base:
        raise UsageError("the base revision is empty")
    roots = tuple(r.strip("/") for r in roots if r.strip("/"))
    repo = Repo(root)
    try:
        return compare(repo, base, head, roots, all_if_unknown, worktree)
    finally:
        repo.close()
