"""With `--base REF`, a changed blueprint raises its version above the base's.

A release is immutable: pushing changed content under an existing version
is refused by `bpkit publish`, so a change that does not raise
Chart.yaml's version cannot be released. With `bpkit lint --base REF`
(pull requests), every blueprint that changed between the merge base of
REF and HEAD and the working tree (committed or not, since lint reads the
working tree) must have a Chart.yaml version greater than the base's, in
SemVer order (`spec.version` follows it, see blueprint-version):

- the same version is an error naming it; so is one differing only in
  build metadata, which SemVer order ignores;
- a lower version is an error naming both;
- a higher version passes, and so does a blueprint that is new (no
  Chart.yaml at the merge base) or renamed (a new chart name).

What counts as a change is what `bpkit changed` counts: `blueprint.yaml`,
and files under `chart/` that `helm package` would archive. Files the
chart's `.helmignore` leaves out, README files and other files in the
blueprint folder do not count; an edit to `chart/.helmignore` does (Helm
archives it, and it decides what else is archived). Without `--base` this
rule does nothing. A clone without the merge base (a shallow checkout)
stops the run with exit 2 and says to fetch full history
(`fetch-depth: 0` in actions/checkout).

Example (chart/values.yaml edited; the merge base has version 1.0.0)::

    # file: chart/Chart.yaml
    apiVersion: v2
    name: bp-flux
    version: 1.0.0    # error: unchanged; 1.0.1 passes, 0.9.0 is an error naming both
    type: application
"""

from collections.abc import Iterator

from bpkit.lint.context import Context
from bpkit.problem import Level, Problem
from bpkit.source.model import Blueprint
from bpkit.versions import Version

ID = "version-bump"
LEVEL = Level.ERROR


def _listing(files: tuple[str, ...]) -> str:
    if not files:
        return "its files"
    shown = ", ".join(files[:3])
    return shown + (f" and {len(files) - 3} more" if len(files) > 3 else "")


def check(bp: Blueprint, ctx: Context) -> Iterator[Problem]:
    facts = ctx.version_gate
    if facts is None or bp.chart is None:
        return
    change = facts.lookup(bp.path)
    if change is None:
        return
    old_text, new_text = change.base_version, bp.chart_version
    if old_text is None or new_text is None:
        return  # no chart at the base: new; a bad version is chart-version's problem
    try:
        old, new = Version.parse(old_text), Version.parse(new_text)
    except ValueError:
        return
    if new > old:
        return
    where = f"the merge base with {facts.base_ref} ({facts.base_sha[:12]})"
    files = _listing(change.files)
    bump = f"{old.major}.{old.minor}.{old.patch + 1}"
    if new < old:
        message = (f"version {new_text} is lower than {old_text} at {where}; "
                   f"{change.path} changed ({files}): raise it above {old_text}")
    elif new_text == old_text:
        message = (f"version {new_text} is unchanged since {where}, but {change.path} "
                   f"changed ({files}): raise it (e.g. to {bump}) so the change can be "
                   "released")
    else:
        message = (f"version {new_text} does not raise {old_text} at {where} (build "
                   f"metadata does not count in version order); {change.path} changed "
                   f"({files}): raise it (e.g. to {bump})")
    yield bp.chart.problem(("version",), ID, message)
