"""Find blueprint folders, and map the paths users (or pre-commit) give to them.

A blueprint folder is one holding `blueprint.yaml` or a `chart/` folder.
Nothing here parses YAML: discovery must stay cheap for the pre-commit hook.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bpkit.errors import UsageError

BLUEPRINT_FILE = "blueprint.yaml"
CHART_DIR = "chart"
# How deep below a given folder to look for blueprints: enough for the
# repository root (root/platform/<name>) without walking a whole monorepo.
MAX_DEPTH = 3
_SKIP_DIRS = {".git", "node_modules", ".tox", ".venv", "venv", "__pycache__", "dist", "build"}


def find_repo_root(start: Path | None = None) -> Path:
    """The nearest folder holding `.git`, else `start` itself (cwd by default)."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / ".git").exists():
            return candidate
    return here


def is_blueprint_dir(path: Path) -> bool:
    try:
        return (path / BLUEPRINT_FILE).is_file() or (path / CHART_DIR).is_dir()
    except OSError:
        return False


@dataclass
class Discovery:
    """What the given paths resolved to."""

    blueprints: list[Path] = field(default_factory=list)  # absolute, resolved, unique, sorted
    outside: list[str] = field(default_factory=list)  # paths that belong to no blueprint


#: One folder's entries that are folders: (name, path, resolved target of a
#: symlink or None, whether it is a blueprint folder).
Entries = list[tuple[str, str, "Path | None", bool]]
Listings = dict[str, Entries]


def _entries(folder: Path, known: Collection[str], memo: Listings | None) -> Entries:
    """The folder's sub-folders, classified; once per folder when `memo` is given."""
    key = str(folder)
    if memo is not None and key in memo:
        return memo[key]
    try:
        listed = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        listed = []
    isfile, isdir = os.path.isfile, os.path.isdir
    out: Entries = []
    for entry in listed:
        name = entry.name
        if name.startswith(".") or name in _SKIP_DIRS:
            continue
        path = entry.path
        if memo is None and path in known and not entry.is_symlink():
            continue
        try:
            if not entry.is_dir(follow_symlinks=True):
                continue
            real = Path(path).resolve() if entry.is_symlink() else None
        except OSError:
            continue
        where = str(real) if real is not None else path
        try:
            blueprint = isfile(where + "/" + BLUEPRINT_FILE) or isdir(where + "/" + CHART_DIR)
        except (OSError, ValueError):
            blueprint = False
        out.append((name, path, real, blueprint))
    if memo is not None:
        memo[key] = out
    return out


def _scan(folder: Path, depth: int, seen: set[Path], found: list[Path],
          known: Collection[str] = (), memo: Listings | None = None) -> None:
    """`folder` is already resolved, so only symlinked entries need resolving.

    Plain strings and os.path for the entries: a Path per entry made
    listing 1,000 blueprints cost 40 ms, a warm lint's largest part.
    """
    for name, path, real, blueprint in _entries(folder, known, memo):
        if path in known and real is None:
            continue
        if real is not None:
            if real in seen:  # symlink loops and duplicate links
                continue
            seen.add(real)
        if blueprint:
            found.append(real if real is not None else folder / name)
        elif depth > 1:
            inner = real if real is not None else folder / name
            if real is None and inner in seen:
                continue
            seen.add(inner)
            _scan(inner, depth - 1, seen, found, known, memo)


def blueprints_under(folder: Path, depth: int = MAX_DEPTH,
                     known: Collection[str] = (), memo: Listings | None = None) -> list[Path]:
    """Blueprint folders under `folder`, resolved and sorted by name.

    `known`: absolute paths (as strings) of folders to leave out without
    looking at them, e.g. blueprints already loaded. `memo`: listings shared
    by several searches of one moment (each folder is listed once).
    """
    found: list[Path] = []
    resolved = folder.resolve()
    _scan(resolved, depth, {resolved}, found, known, memo)
    return list(dict.fromkeys(found))  # a folder and a symlink to it are one blueprint


def owning_blueprint(path: Path, stop: Path | None = None) -> Path | None:
    """The blueprint folder a file or folder belongs to, if any."""
    current = path.resolve() if path.exists() else path.absolute()
    for candidate in (current, *current.parents):
        if candidate.is_dir() and is_blueprint_dir(candidate):
            return candidate
        if stop is not None and candidate == stop:
            break
    return None


def discover(paths: Sequence[str | Path], root: Path, default_roots: Iterable[str],
             memo: Listings | None = None) -> Discovery:
    """Resolve PATH arguments: folders of blueprints, blueprint folders, or files inside one.

    With no paths, the configured roots (`platform/`, `products/`) under the
    repository root. Each blueprint appears once, whatever the number of its
    files given. `memo`: as for `blueprints_under`.
    """
    result = Discovery()
    found: list[Path] = []
    if not paths:
        roots = [root / r for r in default_roots]
        existing = [r for r in roots if r.is_dir()]
        if not existing:
            names = ", ".join(f"{r}/" for r in default_roots)
            raise UsageError(f"no {names} under {root}; pass a path to lint")
        for folder in existing:
            found.extend(blueprints_under(folder, depth=1, memo=memo))
    for raw in paths:
        path = Path(raw)
        if not path.exists() and not path.is_symlink():
            raise UsageError(f"{raw}: no such file or folder")
        if path.is_dir() and is_blueprint_dir(path):
            found.append(path.resolve())
            continue
        owner = owning_blueprint(path, stop=root if _is_within(path, root) else None)
        if owner is not None:
            found.append(owner)
        elif path.is_dir():
            below = blueprints_under(path, memo=memo)
            if not below:
                raise UsageError(f"{raw}: no blueprints found (a blueprint folder holds "
                                 f"{BLUEPRINT_FILE} or {CHART_DIR}/)")
            found.extend(below)
        else:
            result.outside.append(str(raw))
    unique: dict[Path, None] = dict.fromkeys(found)
    result.blueprints = sorted(unique)
    return result


def _is_within(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root)
    except ValueError:
        return False
    return True


def select(args: Sequence[str], root: Path, roots: Iterable[str], *,
           all_: bool = False) -> list[Path]:
    """Blueprints named on the command line of `package` and `publish`.

    An argument is a path (a blueprint folder, a file in one, a folder of
    blueprints) or a blueprint's name: its folder name (`flux`) or chart
    name (`bp-flux`) under one of the roots.
    """
    roots = tuple(roots)
    if all_:
        if args:
            raise UsageError("give blueprint names or --all, not both")
        return discover([], root, roots).blueprints
    if not args:
        raise UsageError("name the blueprints (e.g. flux, platform/flux) or pass --all")
    found: list[Path] = []
    for arg in args:
        if Path(arg).exists():
            found.extend(discover([arg], root, roots).blueprints)
            continue
        candidates = [arg, arg.removeprefix("bp-")] if arg.startswith("bp-") else [arg]
        matches = [root / r / name for name in dict.fromkeys(candidates) for r in roots
                   if "/" not in name and is_blueprint_dir(root / r / name)]
        if not matches:
            places = ", ".join(f"{r}/" for r in roots)
            raise UsageError(f"{arg}: no such path, and no blueprint of that name under "
                             f"{places} in {root}")
        if len(matches) > 1:
            options = " or ".join(str(m.relative_to(root)) for m in matches)
            raise UsageError(f"{arg}: ambiguous, give the path: {options}")
        found.append(matches[0].resolve())
    return sorted(dict.fromkeys(found))
