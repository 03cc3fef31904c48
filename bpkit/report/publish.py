"""`bpkit publish` output: a table for people, a JSON document for scripts, GitHub outputs.

JSON (stable, versioned; `version` changes only when a key is removed or
changes meaning)::

    {"version": 1, "destination": "oci://ghcr.io/openova-io",
     "results": [{"blueprint": "platform/flux", "name": "bp-flux", "version": "1.0.0",
                  "reference": "ghcr.io/openova-io/bp-flux:1.0.0", "digest": "sha256:...",
                  "status": "published", "ok": true, "message": ""}]}

Under GitHub Actions, step outputs `ref`, `digest` and `version`: plain
values for one blueprint, JSON lists of the successes for several.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from bpkit.publish.pipeline import Outcome
from bpkit.report.github import write_outputs, write_summary

JSON_VERSION = 1


def as_dict(outcome: Outcome) -> dict[str, Any]:
    return {"blueprint": outcome.blueprint, "name": outcome.name, "version": outcome.version,
            "reference": outcome.reference, "digest": outcome.digest,
            "status": outcome.status, "ok": outcome.ok, "message": outcome.message}


def document(outcomes: Sequence[Outcome], where: str) -> str:
    """The JSON document (indented, keys in the order above)."""
    return json.dumps({"version": JSON_VERSION, "destination": where,
                       "results": [as_dict(o) for o in outcomes]}, indent=2)


def table(outcomes: Sequence[Outcome], where: str, dry_run: bool) -> str:
    """Aligned columns, the failures' messages, then one summary line."""
    rows = [("BLUEPRINT", "VERSION", "STATUS", "DIGEST")]
    for o in outcomes:
        rows.append((o.name, o.version, o.status, o.digest or "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r[:3], widths, strict=True)) + "  " + r[3]
             for r in rows]
    for o in outcomes:
        if o.message and (not o.ok or o.message.startswith("unchanged (compressed")):
            lines.append(f"{o.name}: {o.message}")
    ok = sum(o.ok for o in outcomes)
    verb = "checked against" if dry_run else "published to"
    lines.append(f"{ok} of {len(outcomes)} {verb} {where}")
    return "\n".join(lines)


def progress_line(outcome: Outcome) -> str:
    """One finished blueprint, for a terminal's progress display."""
    mark = "ok" if outcome.ok else "!!"
    return f"  {mark} {outcome.name}:{outcome.version} {outcome.status}"


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
        lines.append(f"| `{o.name}` | {o.version} | {status} | `{o.digest or '-'}` |")
    failed = [o for o in outcomes if not o.ok]
    if failed:
        lines += ["", *[f"- `{o.name}`: {o.message}" for o in failed]]
    return "\n".join(lines)
