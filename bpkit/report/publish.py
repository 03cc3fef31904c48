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

Under GitHub Actions, step outputs keep one type whatever the count:
`results` is always a JSON list, one entry per blueprint asked for
(blueprint, name, version, reference, digest, status, ok); `ref`,
`digest` and `version` are plain strings, written only when exactly one
blueprint was asked for (a name or --tag; empty when it did not publish).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from bpkit.publish.pipeline import Outcome
from bpkit.report.github import command, escape_markdown, write_outputs, write_summary
from bpkit.text import outside, printable, seconds

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
    """One finished blueprint, for the progress display (a terminal or a CI log)."""
    mark = "ok" if outcome.ok else "!!"
    return f"  {mark} {_cell(outcome.name)}:{_cell(outcome.version)} {outcome.status}"


def retry_line(host: str, doing: str, delay: float, reason: str) -> str:
    """`  HOST: checking the tag: retrying in 2 s after HTTP 503 Service Unavailable`."""
    return printable(f"  {host}: {doing}: retrying in {seconds(delay)} after {reason}")


def request_line(method: str, path: str, status: int | None) -> str:
    """One HTTP request (`-v`): method, path and status (or that no answer came)."""
    return printable(f"  {method} {path} -> {status if status is not None else 'no answer'}")


def github_annotation(outcome: Outcome) -> str | None:
    """`::error` for a refused or failed push (lint failures have their own annotations).

    A refusal points at the blueprint's Chart.yaml: its version is what to bump.
    """
    if outcome.ok or outcome.status == "lint failed":
        return None
    title = f"bpkit publish: {outcome.name}:{outcome.version} {outcome.status}"
    if outcome.status in ("refused", "would refuse"):
        return command("error", outcome.message, file=f"{outcome.blueprint}/chart/Chart.yaml",
                       title=title)
    return command("error", outcome.message, title=title)


def group_lines(outcome: Outcome, inner: Sequence[str]) -> list[str]:
    """One blueprint's lines folded into a `::group::` in the Actions log."""
    title = f"{outcome.name}:{outcome.version} {outcome.status}"
    return [command("group", title), *inner, progress_line(outcome), command("endgroup", "")]


def result(outcome: Outcome) -> dict[str, Any]:
    """One entry of the `results` step output (the JSON document's, without message and notes)."""
    row = as_dict(outcome)
    del row["message"], row["notes"]
    return row


def write_github(outcomes: Sequence[Outcome], env: Mapping[str, str], *,
                 single: bool | None = None) -> None:
    """Step outputs and a job summary when running in GitHub Actions.

    `single`: exactly one blueprint was asked for (default: one outcome).
    """
    if single is None:
        single = len(outcomes) == 1
    values = {"results": json.dumps([result(o) for o in outcomes], separators=(",", ":"))}
    if single and len(outcomes) == 1:
        only = outcomes[0]
        done = only.ok and only.digest is not None
        values.update({"ref": only.reference if done else "",
                       "digest": (only.digest or "") if done else "",
                       "version": only.version})
    write_outputs(values, env)
    if env.get("GITHUB_STEP_SUMMARY"):
        write_summary(summary(outcomes), env)


def summary(outcomes: Sequence[Outcome]) -> str:
    """The job summary: a Markdown table, then each failure's message."""
    lines = ["### bpkit publish", "", "| Blueprint | Version | Status | Digest |",
             "|---|---|---|---|"]
    for o in outcomes:
        status = escape_markdown(o.status)
        if not o.ok:
            status = f"**{status}**"
        lines.append(f"| {escape_markdown(o.name)} | {escape_markdown(o.version)} | {status} | "
                     f"{escape_markdown(o.digest or '-')} |")
    failed = [o for o in outcomes if not o.ok]
    if failed:
        lines += ["", *[f"- {escape_markdown(o.name)}: {escape_markdown(o.message)}"
                        for o in failed]]
    return "\n".join(lines)
