"""`bpkit publish` output: a table for people, a JSON document for scripts, GitHub outputs.

JSON (stable, versioned; `version` changes only when a key is removed or
changes meaning)::

    {"version": 1, "destination": "oci://ghcr.io/openova-io",
     "results": [{"blueprint": "platform/flux", "name": "bp-flux", "version": "1.0.0",
                  "reference": "ghcr.io/openova-io/bp-flux:1.0.0", "digest": "sha256:...",
                  "status": "published", "ok": true, "message": "", "notes": []}]}

`notes` are one-line notes about the registry's answers (a malformed
header treated as absent). Outside text in the table, the progress lines
and the job summary (chart names, versions from Chart.yaml, registry
messages) is escaped: it cannot move the cursor or forge lines.

Under GitHub Actions, step outputs `ref`, `digest` and `version`: plain
values for one blueprint, JSON lists of the successes for several.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from bpkit.publish.pipeline import Outcome
from bpkit.report.github import write_outputs, write_summary
from bpkit.text import outside

JSON_VERSION = 1


def as_dict(outcome: Outcome) -> dict[str, Any]:
    return {"blueprint": outcome.blueprint, "name": outcome.name, "version": outcome.version,
            "reference": outcome.reference, "digest": outcome.digest,
            "status": outcome.status, "ok": outcome.ok, "message": outcome.message,
            "notes": list(outcome.notes)}


def _cell(text: str) -> str:
    """Outside text (a chart name, a version from Chart.yaml) for one cell or line."""
    return outside(text, limit=None) or "-"


def _md(text: str) -> str:
    """Outside text for the Markdown job summary: one line, no table or code-span breaks."""
    return (_cell(text).replace("`", "'").replace("|", "\\|")
            .replace("<", "&lt;").replace(">", "&gt;"))


def note_lines(outcomes: Sequence[Outcome]) -> list[str]:
    """`bpkit: note: ...` lines for stderr, one per note."""
    return [f"bpkit: note: {_cell(o.name)}: {outside(note, limit=None)}"
            for o in outcomes for note in o.notes]


def document(outcomes: Sequence[Outcome], where: str) -> str:
    """The JSON document (indented, keys in the order above)."""
    return json.dumps({"version": JSON_VERSION, "destination": where,
                       "results": [as_dict(o) for o in outcomes]}, indent=2)


def table(outcomes: Sequence[Outcome], where: str, dry_run: bool) -> str:
    """Aligned columns, the failures' messages, then one summary line."""
    rows = [("BLUEPRINT", "VERSION", "STATUS", "DIGEST")]
    for o in outcomes:
        rows.append((_cell(o.name), _cell(o.version), o.status, _cell(o.digest or "-")))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r[:3], widths, strict=True)) + "  " + r[3]
             for r in rows]
    for o in outcomes:
        if o.message and (not o.ok or o.message.startswith("unchanged (compressed")):
            lines.append(f"{_cell(o.name)}: {outside(o.message, limit=None)}")
    ok = sum(o.ok for o in outcomes)
    verb = "checked against" if dry_run else "published to"
    lines.append(f"{ok} of {len(outcomes)} {verb} {outside(where, limit=None)}")
    return "\n".join(lines)


def progress_line(outcome: Outcome) -> str:
    """One finished blueprint, for a terminal's progress display."""
    mark = "ok" if outcome.ok else "!!"
    return f"  {mark} {_cell(outcome.name)}:{_cell(outcome.version)} {outcome.status}"


def write_github(outcomes: Sequence[Outcome], env: Mapping[str, str]) -> None:
    """Step outputs and a job summary when running in GitHub Actions."""
    done = [o for o in outcomes if o.ok and o.digest]
    if len(outcomes) == 1 and done:
        values = {"ref": done[0].reference, "digest": done[0].digest or "",
                  "version": done[0].version}
    else:
        values = {"ref": json.dumps([o.reference for o in done]),
                  "digest": json.dumps([o.digest for o in done]),
                  "version": json.dumps([o.version for o in done])}
    write_outputs(values, env)
    if env.get("GITHUB_STEP_SUMMARY"):
        write_summary(summary(outcomes), env)


def summary(outcomes: Sequence[Outcome]) -> str:
    """The job summary: a Markdown table, then each failure's message."""
    lines = ["### bpkit publish", "", "| Blueprint | Version | Status | Digest |",
             "|---|---|---|---|"]
    for o in outcomes:
        status = o.status if o.ok else f"**{o.status}**"
        lines.append(f"| `{_md(o.name)}` | {_md(o.version)} | {status} | "
                     f"`{_md(o.digest or '-')}` |")
    failed = [o for o in outcomes if not o.ok]
    if failed:
        lines += ["", *[f"- `{_md(o.name)}`: {_md(o.message)}" for o in failed]]
    return "\n".join(lines)
