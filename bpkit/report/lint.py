"""Lint output formats: `text`, `json`, `github` and `sarif`.

Library code never prints: `render` writes one whole report to the text
stream it is given, and the CLI decides which stream, format and colour.
Every format lists problems sorted by (path, line, col, rule, message), so
output is byte-for-byte stable for the same findings. Problems at level
`off` are never reported. `line`/`col` are 1-based; 0 means "the whole
file" (line 0) or "the whole line" (col 0).

text (the default on a terminal)
    One line per problem, then one summary line::

        platform/cilium/chart/values.yaml:12:5: error upstream-version message
        platform/cilium/chart/values.yaml:14: warning some-rule message   (col 0)
        platform/cilium/blueprint.yaml: error blueprint-missing message   (line 0)
        2 errors, 1 warning in 1 of 10 blueprints

    The summary says ``N blueprints clean`` when there is nothing to
    report, and ``in F of N files`` when the caller did not say how many
    blueprints had problems. Line breaks, other control characters and
    bidirectional-override characters in paths and messages are shown
    escaped (``\\n``, ``\\x1b``, ``\\u202e``), so a problem is always one
    line and a message cannot drive the terminal. ANSI colour only when
    asked: path bold, ``error`` red, ``warning`` yellow, rule id dim.

json (for scripts; the shape is stable and versioned; ``#`` notes are not output)::

        {
          "version": 1,
          "tool": {"name": "bpkit", "version": "0.1.0"},
          "summary": {
            "blueprints": 10,                  # blueprints linted
            "files": 25,                       # files read
            "errors": 2,
            "warnings": 1,
            "files_with_problems": 1,
            "blueprints_with_problems": 1      # null when not known
          },
          "problems": [
            {"path": "platform/cilium/chart/values.yaml", "line": 12, "col": 5,
             "rule": "upstream-version", "level": "error", "message": "..."}
          ]
        }

    Keys appear in this order; `level` is "error" or "warning"; `path` is as
    the linter shows it (relative to the working directory when under it).
    The document is pure ASCII (other characters as JSON ``\\u`` escapes),
    so it stays valid whatever the stream's encoding. `version` changes only
    when a key is removed or changes meaning; new keys may be added.

github (GitHub Actions workflow commands; chosen by default under Actions)
    ``::error file=PATH,line=L,col=C,title=RULE::MESSAGE`` (or
    ``::warning``) per problem, ``line``/``col`` left out when 0, then the
    plain summary line. Data is escaped as the Actions runner expects
    (``%`` -> ``%25``, CR -> ``%0D``, LF -> ``%0A``; property values also
    ``:`` -> ``%3A`` and ``,`` -> ``%2C``), so a message may span lines in
    the annotation but can never start a new workflow command.

sarif (SARIF 2.1.0, for GitHub code scanning and other SARIF viewers)
    One run. ``tool.driver`` has name, version, `INFORMATION_URI` when set,
    and ``rules``: every rule in the `rules` mapping plus any rule a problem
    names that the mapping lacks, sorted by id (GitHub wants the same rules
    in every run). A rule has id; shortDescription = its summary;
    fullDescription = its doc's prose before the first ``Passing::``-style
    example, cut to GitHub's 1024 characters; help.text = the whole doc and
    help.markdown = the same with the examples as fenced YAML blocks;
    defaultConfiguration.level (``enabled: false`` for off-by-default rules). Each
    result has ruleId, ruleIndex, level, message.text and one location:
    ``artifactLocation.uri`` is the path as a relative, percent-encoded
    POSIX URI with ``uriBaseId`` ``%SRCROOT%`` (an absolute path becomes a
    ``file://`` URI instead), and ``region`` startLine/startColumn is left
    out for whole-file (line 0) problems. ``columnKind`` is
    ``unicodeCodePoints``: columns count characters, as the YAML loader
    does. No ``partialFingerprints``: GitHub's upload-sarif action computes
    them from the checked-out files. GitHub resolves relative URIs against
    the repository root, so run bpkit from the root for code scanning.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from bpkit import __version__
from bpkit.errors import UsageError
from bpkit.problem import Level, Problem
from bpkit.report.github import escape_github_data, escape_github_property, escape_markdown
from bpkit.text import printable

if TYPE_CHECKING:
    # Importing the rules package at run time would load every rule module
    # (and ruamel.yaml); formatters only need the attributes.
    from bpkit.lint.rules.base import RuleInfo

FORMATS = ("text", "json", "github", "sarif")
JSON_FORMAT_VERSION = 1
TOOL_NAME = "bpkit"
# Where SARIF viewers send users to learn about the tool. Left out of the
# SARIF log while None: set it to the project's home page once it has one.
INFORMATION_URI: str | None = None

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
SARIF_SRCROOT = "%SRCROOT%"
# GitHub code scanning truncates or rejects longer rule descriptions.
_SARIF_DESCRIPTION_LIMIT = 1024

_RESET = "\x1b[0m"
_BOLD = "\x1b[1m"
_DIM = "\x1b[2m"
_RED = "\x1b[31m"
_GREEN = "\x1b[32m"
_YELLOW = "\x1b[33m"
_LEVEL_COLOUR = {Level.ERROR: _RED, Level.WARNING: _YELLOW}


@dataclass(frozen=True)
class Summary:
    """Counts only the engine knows; the formatter counts the problems itself.

    `blueprints_with_problems` lets the text summary say "in 2 of 10
    blueprints"; without it the summary counts files instead, because a
    problem's path alone does not tell which blueprint it belongs to.
    """

    blueprints: int
    files: int
    blueprints_with_problems: int | None = None


def choose_format(requested: str | None, env: Mapping[str, str]) -> str:
    """The format to use: the requested one, else `github` under GitHub Actions."""
    if requested is None:
        return "github" if env.get("GITHUB_ACTIONS") == "true" else "text"
    fmt = requested.strip().lower()
    if fmt not in FORMATS:
        raise UsageError(f"unknown output format {requested!r} (choose from {', '.join(FORMATS)})")
    return fmt


def use_color(stream: TextIO, env: Mapping[str, str]) -> bool:
    """Whether to colour `stream`, following the NO_COLOR and FORCE_COLOR conventions.

    In order: a non-empty NO_COLOR turns colour off; else a non-empty
    FORCE_COLOR turns it on (even into a pipe, e.g. a CI log that renders
    ANSI); else TERM=dumb turns it off; else colour only on a TTY. This is
    the order CPython 3.13 uses for its own tracebacks.
    """
    if env.get("NO_COLOR"):
        return False
    if env.get("FORCE_COLOR"):
        return True
    if env.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    if isatty is None:
        return False
    try:
        return bool(isatty())
    except (OSError, ValueError):  # closed or detached stream
        return False


def render(
    fmt: str,
    problems: Sequence[Problem],
    rules: Mapping[str, RuleInfo],
    summary: Summary,
    *,
    color: bool,
    stream: TextIO,
    quiet: bool = False,
) -> None:
    """Write the whole report for `problems` to `stream` in format `fmt`.

    `color` only affects `text`; machine formats never carry ANSI codes.
    `quiet` leaves out the summary line of `text` and `github` (only problems).
    """
    reported = _reported(problems)
    if fmt == "text":
        out = format_text(reported, summary, color=color)
    elif fmt == "json":
        out = _dump_json(json_document(reported, summary))
    elif fmt == "github":
        out = format_github(reported, summary)
    elif fmt == "sarif":
        out = _dump_json(sarif_document(reported, rules))
    else:
        raise UsageError(f"unknown output format {fmt!r} (choose from {', '.join(FORMATS)})")
    if quiet and fmt in ("text", "github"):
        out = "".join(out.splitlines(keepends=True)[:-1])  # the summary is the last line
    stream.write(out)


# --- shared ---------------------------------------------------------------


def _reported(problems: Sequence[Problem]) -> list[Problem]:
    """The problems to show, in report order (settings may have turned some off)."""
    return sorted((p for p in problems if p.level is not Level.OFF), key=Problem.sort_key)


def _count(problems: Sequence[Problem]) -> tuple[int, int]:
    errors = sum(1 for p in problems if p.level is Level.ERROR)
    warnings = sum(1 for p in problems if p.level is Level.WARNING)
    return errors, warnings


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def summary_line(problems: Sequence[Problem], summary: Summary) -> str:
    """The one-line verdict, e.g. `3 errors, 1 warning in 2 of 10 blueprints`."""
    reported = _reported(problems)
    errors, warnings = _count(reported)
    if not reported:
        if summary.blueprints == 0:
            return "no blueprints checked"
        return f"{_plural(summary.blueprints, 'blueprint')} clean"
    parts = []
    if errors:
        parts.append(_plural(errors, "error"))
    if warnings:
        parts.append(_plural(warnings, "warning"))
    counts = ", ".join(parts)
    if summary.blueprints_with_problems is not None:
        where = f"{summary.blueprints_with_problems} of {_plural(summary.blueprints, 'blueprint')}"
    else:
        files = len({p.path for p in reported})
        where = f"{files} of {_plural(summary.files, 'file')}"
    return f"{counts} in {where}"


# --- text -----------------------------------------------------------------


def _paint(text: str, code: str, color: bool) -> str:
    return f"{code}{text}{_RESET}" if color else text


def format_text(problems: Sequence[Problem], summary: Summary, *, color: bool) -> str:
    """`path:line:col: level rule message` lines, then the summary line."""
    lines = []
    for p in _reported(problems):
        where = printable(p.path)
        if p.line > 0:
            where += f":{p.line}"
            if p.col > 0:
                where += f":{p.col}"
        level = p.level.value
        lines.append(
            f"{_paint(where, _BOLD, color)}: "
            f"{_paint(level, _LEVEL_COLOUR[p.level], color)} "
            f"{_paint(printable(p.rule), _DIM, color)} {printable(p.message)}"
        )
    verdict = summary_line(problems, summary)
    errors, warnings = _count(_reported(problems))
    tone = _RED if errors else _YELLOW if warnings else _GREEN
    lines.append(_paint(verdict, _BOLD + tone, color))
    return "\n".join(lines) + "\n"


# --- json -----------------------------------------------------------------


def _dump_json(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=True) + "\n"


def json_document(problems: Sequence[Problem], summary: Summary) -> dict[str, Any]:
    """The `json` format as a dict (see the module docstring for the shape)."""
    reported = _reported(problems)
    errors, warnings = _count(reported)
    return {
        "version": JSON_FORMAT_VERSION,
        "tool": {"name": TOOL_NAME, "version": __version__},
        "summary": {
            "blueprints": summary.blueprints,
            "files": summary.files,
            "errors": errors,
            "warnings": warnings,
            "files_with_problems": len({p.path for p in reported}),
            "blueprints_with_problems": summary.blueprints_with_problems,
        },
        "problems": [
            {
                "path": p.path,
                "line": p.line,
                "col": p.col,
                "rule": p.rule,
                "level": p.level.value,
                "message": p.message,
            }
            for p in reported
        ],
    }


# --- github ---------------------------------------------------------------


def github_line(p: Problem) -> str:
    """One problem as an `::error`/`::warning` workflow command (an annotation)."""
    props = [f"file={escape_github_property(p.path)}"]
    if p.line > 0:
        props.append(f"line={p.line}")
        if p.col > 0:
            props.append(f"col={p.col}")
    props.append(f"title={escape_github_property(p.rule)}")
    return f"::{p.level.value} {','.join(props)}::{escape_github_data(p.message)}"


def format_github(problems: Sequence[Problem], summary: Summary) -> str:
    """One `::error`/`::warning` workflow command per problem, then the summary."""
    lines = [github_line(p) for p in _reported(problems)]
    lines.append(printable(summary_line(problems, summary)))
    return "\n".join(lines) + "\n"


#: Problems listed in the job summary; the annotations and the log have them all.
MARKDOWN_LIMIT = 50


def markdown_summary(problems: Sequence[Problem], summary: Summary,
                     limit: int = MARKDOWN_LIMIT) -> str:
    """The job summary (`$GITHUB_STEP_SUMMARY`): the verdict, then a table of problems."""
    reported = _reported(problems)
    lines = ["### bpkit lint", "", escape_markdown(summary_line(problems, summary))]
    if reported:
        lines += ["", "| File | Line | Level | Rule | Message |", "|---|---|---|---|---|"]
        for p in reported[:limit]:
            line = f"{p.line}:{p.col}" if p.col else str(p.line) if p.line else ""
            lines.append(f"| {escape_markdown(p.path)} | {line} | {p.level.value} | "
                         f"{escape_markdown(p.rule)} | {escape_markdown(p.message)} |")
        if len(reported) > limit:
            lines += ["", f"... and {len(reported) - limit} more (see the annotations "
                          "and the log)"]
    return "\n".join(lines) + "\n"


# --- sarif ----------------------------------------------------------------


def _cleandoc(doc: str) -> str:
    """`inspect.cleandoc` without importing `inspect` (slow to import)."""
    lines = doc.expandtabs().splitlines()
    rest = [line for line in lines[1:] if line.strip()]
    indent = min((len(line) - len(line.lstrip()) for line in rest), default=0)
    body = [lines[0].strip()] if lines else []
    body += [line[indent:].rstrip() for line in lines[1:]]
    return "\n".join(body).strip("\n")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _prose(doc: str) -> str:
    """The doc's paragraphs before its first `Passing::`-style example block."""
    paragraphs = []
    for paragraph in doc.split("\n\n"):
        if paragraph.rstrip().endswith("::") or paragraph.startswith((" ", "\t")):
            break
        paragraphs.append(paragraph.strip())
    return "\n\n".join(p for p in paragraphs if p)


def _markdown(doc: str) -> str:
    """The doc with its `Name::` + indented example blocks as fenced YAML.

    Rule docs mark examples the reStructuredText way; GitHub shows
    `help.markdown` in place of `help.text`, so give it real code blocks.
    """
    lines = doc.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not (line.rstrip().endswith("::") and line.strip() != "::"):
            out.append(line)
            continue
        base = len(line) - len(line.lstrip())
        block: list[str] = []
        while i < len(lines) and (
            not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > base
        ):
            block.append(lines[i])
            i += 1
        while block and not block[-1].strip():
            block.pop()
        while block and not block[0].strip():
            block.pop(0)
        body = [b for b in block if b.strip()]
        if not body:  # a "::" with nothing under it: leave the text alone
            out.append(line)
            out.extend(block)
            continue
        indent = min(len(b) - len(b.lstrip()) for b in body)
        out.append(line.rstrip()[:-1])  # "Passing::" -> "Passing:"
        out.append("")
        # A fence longer than any backtick run inside, so the block cannot close it.
        longest = max((len(run) for run in re.findall("`+", "\n".join(block))), default=0)
        fence = "`" * max(3, longest + 1)
        out.append(f"{fence}yaml")
        out.extend(b[indent:] for b in block)
        out.append(fence)
        if i < len(lines):
            out.append("")
    return "\n".join(out).strip("\n")


def _sarif_rule(rule_id: str, info: RuleInfo | None) -> dict[str, Any]:
    doc = _cleandoc(info.doc) if info is not None else ""
    short = info.summary if info is not None else rule_id
    # GitHub requires non-empty text for all three; fall back to the summary.
    descriptor: dict[str, Any] = {
        "id": rule_id,
        "shortDescription": {"text": _cut(short, _SARIF_DESCRIPTION_LIMIT)},
        "fullDescription": {"text": _cut(_prose(doc) or short, _SARIF_DESCRIPTION_LIMIT)},
        "help": {"text": doc or short, "markdown": _markdown(doc) if doc else short},
    }
    if info is not None:
        # GitHub takes only note/warning/error here: an opt-in rule is
        # "disabled" rather than at level "none".
        descriptor["defaultConfiguration"] = (
            {"enabled": False} if info.level is Level.OFF else {"level": info.level.value}
        )
    return descriptor


_URI_SAFE = frozenset(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~/!$&'()*+;=@"
)


def _quote(path: str) -> str:
    """Percent-encode a POSIX path for a URI (`:` too: `a:b` must not read as a scheme)."""
    return "".join(chr(b) if b in _URI_SAFE else f"%{b:02X}" for b in path.encode("utf-8"))


def sarif_artifact_location(path: str) -> dict[str, str]:
    """A SARIF artifactLocation: relative to %SRCROOT%, or a file URI if absolute."""
    posix = path.replace(os.sep, "/") if os.sep != "/" else path
    if os.path.isabs(path):
        if not posix.startswith("/"):  # a Windows drive path: file:///C:/...
            posix = "/" + posix
        return {"uri": "file://" + _quote(posix)}
    while posix.startswith("./"):
        posix = posix[2:]
    return {"uri": _quote(posix), "uriBaseId": SARIF_SRCROOT}


def sarif_document(problems: Sequence[Problem], rules: Mapping[str, RuleInfo]) -> dict[str, Any]:
    """The `sarif` format as a dict: a SARIF 2.1.0 log with one run."""
    reported = _reported(problems)
    rule_ids = sorted(set(rules) | {p.rule for p in reported})
    index = {rule_id: i for i, rule_id in enumerate(rule_ids)}
    driver: dict[str, Any] = {"name": TOOL_NAME, "version": __version__}
    if INFORMATION_URI:
        driver["informationUri"] = INFORMATION_URI
    driver["rules"] = [_sarif_rule(rule_id, rules.get(rule_id)) for rule_id in rule_ids]

    results = []
    for p in reported:
        physical: dict[str, Any] = {"artifactLocation": sarif_artifact_location(p.path)}
        if p.line > 0:
            region = {"startLine": p.line}
            if p.col > 0:
                region["startColumn"] = p.col
            physical["region"] = region
        info = rules.get(p.rule)
        results.append(
            {
                "ruleId": p.rule,
                "ruleIndex": index[p.rule],
                "level": p.level.value,
                # GitHub requires non-empty message text.
                "message": {"text": p.message or (info.summary if info else p.rule)},
                "locations": [{"physicalLocation": physical}],
            }
        )
    return {
        "$schema": SARIF_SCHEMA_URI,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {"driver": driver},
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
