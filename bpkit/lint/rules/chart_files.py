"""Everything in the chart folder can be packaged safely.

Packaging takes only regular files from inside the chart folder. A symlink
that points outside it (it could pull `/etc/passwd` or a CI secret into a
published artifact), a dangling symlink, a symlink loop, a named pipe,
socket or device, or a file over Helm's 5 MiB limit makes `bpkit package`
refuse the chart; this rule reports each of them at lint time, every one
with its own path. Files that `.helmignore` leaves out are not checked.
The chart folder itself must resolve inside the repository: a `chart/`
that is a symlink to a folder elsewhere would publish that folder.

Passing::

    # file: chart/templates/configmap.yaml
    kind: ConfigMap
    # symlink: chart/templates/alias.yaml -> configmap.yaml

Failing::

    # symlink: chart/secrets.yaml -> ../../../../etc/hostname
"""

from collections.abc import Iterator
from pathlib import Path

from bpkit.errors import PackageError
from bpkit.helm.chartfiles import VENDORED_FILES
from bpkit.lint.context import Context
from bpkit.problem import Level, Problem
from bpkit.source.discover import find_repo_root
from bpkit.source.model import Blueprint
from bpkit.yamlio.load import display_path

ID = "chart-files"
LEVEL = Level.ERROR
_LOADER_RULES = ("yaml-limits", "file-unreadable")


_ROOTS: dict[str, Path] = {}  # parent folder -> repository root, for one lint run


def reset() -> None:
    """Forget the repository roots found (the engine calls this as each run starts)."""
    _ROOTS.clear()


def _repo_root(folder: Path) -> Path:
    """find_repo_root(folder), asked of the folder's parent once per run.

    1,000 blueprints under one platform/ would each walk up to the same root.
    """
    if (folder / ".git").exists():
        return folder
    parent = str(folder.parent)
    root = _ROOTS.get(parent)
    if root is None:
        root = _ROOTS[parent] = find_repo_root(folder.parent)
    return root


def check(bp: Blueprint, ctx: Context) -> Iterator[Problem]:
    if not bp.chart_dir.is_dir() or bp.chart is None:
        return
    if any(bp.chart_has(name) for name in VENDORED_FILES):
        return  # chart-vendored reports those; packaging would stop at them first
    from bpkit.helm import chartfiles

    try:
        _, offences = chartfiles.scan(bp.chart_dir, within=_repo_root(bp.path))
    except PackageError as exc:
        yield Problem(display_path(bp.chart_dir), 0, 0, ID, LEVEL, str(exc))
        return
    # The loader already said why it could not read Chart.yaml or values.yaml.
    unread = {p.path for p in bp.problems if p.rule in _LOADER_RULES}
    for offence in offences:
        # A name that is not UTF-8 keeps its bytes visible, as \xNN.
        name = offence.path.encode("utf-8", "backslashreplace").decode("utf-8")
        where = display_path(bp.chart_dir / name)
        if where in unread:
            continue
        yield Problem(where, 0, 0, ID, LEVEL, offence.reason)
