"""The lint output formats: exact text, escaping, JSON shape, valid SARIF."""

from __future__ import annotations

import copy
import hashlib
import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from bpkit import __version__
from bpkit.errors import UsageError
from bpkit.lint.rules.base import RuleInfo
from bpkit.problem import Level, Problem
from bpkit.report import lint as lint_mod
from bpkit.report.lint import FORMATS, Summary, choose_format, render, use_color

REPO = Path(__file__).resolve().parent.parent
SARIF_SCHEMA = REPO / "tests" / "data" / "sarif-2.1.0.json"

E, W = Level.ERROR, Level.WARNING
RULES = {
    "upstream-version": RuleInfo(
        "upstream-version",
        E,
        "Upstream versions must be exact.\n"
        "\n"
        "    A range would make the package irreproducible.\n"
        "\n"
        "    Passing::\n"
        "\n"
        "        # file: chart/values.yaml\n"
        "        upstream: { version: 1.2.3 }\n"
        "\n"
        "    Failing::\n"
        "\n"
        "        upstream: { version: ^1.2 }\n",
    ),
    "chart-type": RuleInfo("chart-type", W, "Charts must be of type application."),
    "long-doc": RuleInfo("long-doc", W, "Long doc.\n\n" + "word " * 400),
    "opt-in": RuleInfo("opt-in", Level.OFF, "Off unless enabled."),
}
PROBLEMS = [
    Problem("platform/b/chart/values.yaml", 12, 5, "upstream-version", E, "range '^1.2' used"),
    Problem("platform/a/blueprint.yaml", 0, 0, "missing-file", E, "cannot read: no such file"),
    Problem("platform/a/chart/Chart.yaml", 3, 0, "chart-type", W, "type is 'library'"),
    Problem("platform/a/chart/Chart.yaml", 2, 7, "upstream-version", E, "50% of a: b, c\nnext"),
]
SUMMARY = Summary(blueprints=10, files=25, blueprints_with_problems=2)
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def rendered(
    fmt: str,
    problems: list[Problem] | None = None,
    *,
    color: bool = False,
    summary: Summary = SUMMARY,
) -> str:
    stream = io.StringIO()
    render(
        fmt, PROBLEMS if problems is None else problems, RULES, summary, color=color, stream=stream
    )
    return stream.getvalue()


# --- text -------------------------------------------------------------------


def test_text_lines_sorted_with_line_and_column_forms() -> None:
    assert rendered("text").splitlines() == [
        "platform/a/blueprint.yaml: error missing-file cannot read: no such file",
        "platform/a/chart/Chart.yaml:2:7: error upstream-version 50% of a: b, c\\nnext",
        "platform/a/chart/Chart.yaml:3: warning chart-type type is 'library'",
        "platform/b/chart/values.yaml:12:5: error upstream-version range '^1.2' used",
        "3 errors, 1 warning in 2 of 10 blueprints",
    ]


def test_text_is_deterministic_whatever_the_input_order() -> None:
    assert rendered("text", list(reversed(PROBLEMS))) == rendered("text")


@pytest.mark.parametrize(
    ("problems", "summary", "expected"),
    [
        ([], Summary(10, 25), "10 blueprints clean"),
        ([], Summary(1, 2), "1 blueprint clean"),
        ([], Summary(0, 0), "no blueprints checked"),
        (PROBLEMS[:1], Summary(1, 2, 1), "1 error in 1 of 1 blueprint"),
        (PROBLEMS[2:3], Summary(3, 9, 1), "1 warning in 1 of 3 blueprints"),
        # Without the blueprint count the summary falls back to files.
        (PROBLEMS, Summary(10, 25), "3 errors, 1 warning in 3 of 25 files"),
    ],
)
def test_text_summary_line(problems: list[Problem], summary: Summary, expected: str) -> None:
    assert rendered("text", problems, summary=summary).splitlines()[-1] == expected


def test_text_drops_problems_turned_off() -> None:
    off = Problem("platform/a/x.yaml", 1, 1, "chart-type", Level.OFF, "hidden")
    out = rendered("text", [off], summary=Summary(1, 1))
    assert out == "1 blueprint clean\n"


def test_text_escapes_control_and_bidi_characters_but_keeps_unicode() -> None:
    p = Problem(
        "platform/ä/values.yaml",
        1,
        2,
        "chart-type",
        W,
        "bad \x1b[31mred\x1b[0m\r\nvalue \u202eevil and ünïcödé ✓\ttab",
    )
    line = rendered("text", [p]).splitlines()[0]
    assert line == (
        "platform/ä/values.yaml:1:2: warning chart-type "
        "bad \\x1b[31mred\\x1b[0m\\r\\nvalue \\u202eevil and ünïcödé ✓\ttab"
    )
    assert "\x1b" not in line


def test_text_colour_only_when_asked() -> None:
    plain = rendered("text")
    coloured = rendered("text", color=True)
    assert "\x1b" not in plain
    assert ANSI.sub("", coloured) == plain
    first, second, third = coloured.splitlines()[:3]
    assert first.startswith("\x1b[1mplatform/a/blueprint.yaml\x1b[0m: \x1b[31merror\x1b[0m ")
    assert "\x1b[2mmissing-file\x1b[0m" in first
    assert "\x1b[31merror\x1b[0m" in second
    assert "\x1b[33mwarning\x1b[0m" in third
    summary = "\x1b[1m\x1b[31m3 errors, 1 warning in 2 of 10 blueprints\x1b[0m"
    assert coloured.splitlines()[-1] == summary


# --- colour decision -------------------------------------------------------------


class TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("tty", "env", "expected"),
    [
        (True, {}, True),
        (False, {}, False),
        (True, {"NO_COLOR": "1"}, False),
        (True, {"NO_COLOR": ""}, True),  # empty NO_COLOR does not count
        (False, {"FORCE_COLOR": "1"}, True),
        (True, {"NO_COLOR": "1", "FORCE_COLOR": "1"}, False),  # NO_COLOR wins
        (True, {"TERM": "dumb"}, False),
        (False, {"TERM": "dumb", "FORCE_COLOR": "yes"}, True),
        (True, {"TERM": "xterm-256color"}, True),
    ],
)
def test_use_color(tty: bool, env: dict[str, str], expected: bool) -> None:
    stream = TTY() if tty else io.StringIO()
    assert use_color(stream, env) is expected


def test_use_color_on_a_closed_stream_is_false() -> None:
    closed = io.StringIO()
    closed.close()
    assert use_color(closed, {}) is False


# --- format choice --------------------------------------------------------------


@pytest.mark.parametrize(
    ("requested", "env", "expected"),
    [
        (None, {}, "text"),
        (None, {"GITHUB_ACTIONS": "true"}, "github"),
        (None, {"GITHUB_ACTIONS": "false"}, "text"),
        ("json", {"GITHUB_ACTIONS": "true"}, "json"),
        ("text", {"GITHUB_ACTIONS": "true"}, "text"),
        ("SARIF", {}, "sarif"),
    ],
)
def test_choose_format(requested: str | None, env: dict[str, str], expected: str) -> None:
    assert choose_format(requested, env) == expected


def test_unknown_format_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown output format 'xml'"):
        choose_format("xml", {})
    with pytest.raises(UsageError):
        rendered("xml")
    assert FORMATS == ("text", "json", "github", "sarif")


# --- json -----------------------------------------------------------------------


def test_json_round_trips_with_the_documented_shape() -> None:
    text = rendered("json")
    doc = json.loads(text)
    assert text.isascii() and text.endswith("}\n")
    assert list(doc) == ["version", "tool", "summary", "problems"]
    assert doc["version"] == 1
    assert doc["tool"] == {"name": "bpkit", "version": __version__}
    assert doc["summary"] == {
        "blueprints": 10,
        "files": 25,
        "errors": 3,
        "warnings": 1,
        "files_with_problems": 3,
        "blueprints_with_problems": 2,
    }
    assert all(
        list(p) == ["path", "line", "col", "rule", "level", "message"] for p in doc["problems"]
    )
    back = [
        Problem(p["path"], p["line"], p["col"], p["rule"], Level(p["level"]), p["message"])
        for p in doc["problems"]
    ]
    assert back == sorted(PROBLEMS, key=Problem.sort_key)


def test_json_keeps_special_characters_exactly() -> None:
    message = 'quote " backslash \\ 50% a:b,c\nline2 ünï ✓ \x1b'
    p = Problem("platform/ä b/values.yaml", 0, 0, "chart-type", W, message)
    doc = json.loads(rendered("json", [p], summary=Summary(1, 1)))
    assert doc["problems"][0]["message"] == message
    assert doc["problems"][0]["path"] == "platform/ä b/values.yaml"
    assert doc["summary"]["blueprints_with_problems"] is None
    assert rendered("json", [p]).isascii()


def test_json_is_deterministic() -> None:
    assert rendered("json", list(reversed(PROBLEMS))) == rendered("json")


def test_machine_formats_never_carry_ansi() -> None:
    for fmt in ("json", "github", "sarif"):
        assert "\x1b" not in rendered(fmt, color=True)


# --- github ---------------------------------------------------------------------


def test_github_workflow_commands() -> None:
    assert rendered("github").splitlines() == [
        "::error file=platform/a/blueprint.yaml,title=missing-file::cannot read: no such file",
        "::error file=platform/a/chart/Chart.yaml,line=2,col=7,title=upstream-version"
        "::50%25 of a: b, c%0Anext",
        "::warning file=platform/a/chart/Chart.yaml,line=3,title=chart-type::type is 'library'",
        "::error file=platform/b/chart/values.yaml,line=12,col=5,title=upstream-version"
        "::range '^1.2' used",
        "3 errors, 1 warning in 2 of 10 blueprints",
    ]


def _unescape(text: str) -> str:
    """What the Actions runner does to data and property values."""
    for encoded, raw in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(encoded, raw)
    return text


def test_github_escaping_round_trips_through_the_runners_parser() -> None:
    path = "platform/we:ird,dir%/values.yaml"
    rule = "rule:with,odd%chars:"  # a raw trailing ":" would end the properties early
    message = "100% sure: a, b\r\n::error file=x::injected\nünï ✓"
    lines = rendered("github", [Problem(path, 4, 2, rule, E, message)]).splitlines()
    assert len(lines) == 2  # no newline leaked: the injected command stays data
    command = lines[0]
    assert command.startswith("::error ")
    head, data = command[len("::error ") :].split("::", 1)
    assert ":" not in head
    props = dict(item.split("=", 1) for item in head.split(","))
    assert list(props) == ["file", "line", "col", "title"]
    assert _unescape(props["file"]) == path
    assert _unescape(props["title"]) == rule
    assert props["line"] == "4" and props["col"] == "2"
    assert _unescape(data) == message
    assert "\n" not in data and "\r" not in data


def test_github_neutralises_other_control_characters() -> None:
    lines = rendered("github", [Problem("a.yaml", 1, 1, "r", W, "x\x1b[2Jy")]).splitlines()
    assert lines[0] == "::warning file=a.yaml,line=1,col=1,title=r::x\\x1b[2Jy"


def test_github_clean_run_prints_only_the_summary() -> None:
    assert rendered("github", [], summary=Summary(3, 7)) == "3 blueprints clean\n"


# --- sarif ----------------------------------------------------------------------

_URI_CHARS = r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?#\[\]]|%[0-9A-Fa-f]{2})*"
_URI_REFERENCE = re.compile(rf"{_URI_CHARS}\Z")
_URI = re.compile(rf"[A-Za-z][A-Za-z0-9+.\-]*:{_URI_CHARS}\Z")


def _format_checker() -> jsonschema.FormatChecker:
    """Draft 4 formats plus RFC 3986 `uri`/`uri-reference` (no extra packages needed)."""
    checker: jsonschema.FormatChecker = copy.deepcopy(jsonschema.Draft4Validator.FORMAT_CHECKER)

    def is_uri(value: object) -> bool:
        return not isinstance(value, str) or bool(_URI.match(value))

    def is_uri_reference(value: object) -> bool:
        return not isinstance(value, str) or bool(_URI_REFERENCE.match(value))

    checker.checks("uri")(is_uri)
    checker.checks("uri-reference")(is_uri_reference)
    return checker


@pytest.fixture(scope="module")
def sarif_validator() -> jsonschema.Draft4Validator:
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema, format_checker=_format_checker())


SARIF_PROBLEMS = [
    *PROBLEMS,
    Problem("platform/sp ace/ünï#?.yaml", 1, 1, "chart-type", W, "unicode ✓ and 100%"),
    Problem("/abs/path/blueprint.yaml", 4, 0, "chart-type", W, "outside the working dir"),
    Problem("./platform/c/blueprint.yaml", 9, 9, "not-in-mapping", E, ""),
    Problem("we:ird/values.yaml", 1, 1, "chart-type", W, "colon in first segment"),
]


def sarif(problems: list[Problem] | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(
        rendered("sarif", SARIF_PROBLEMS if problems is None else problems)
    )
    return doc


def test_vendored_sarif_schema_is_the_recorded_file() -> None:
    source = (SARIF_SCHEMA.parent / "sarif-2.1.0.json.source").read_text(encoding="utf-8")
    recorded = re.search(r"sha256 ([0-9a-f]{64})", source)
    assert recorded is not None
    assert hashlib.sha256(SARIF_SCHEMA.read_bytes()).hexdigest() == recorded.group(1)


def test_sarif_output_is_valid_sarif_2_1_0(sarif_validator: jsonschema.Draft4Validator) -> None:
    doc = sarif()
    errors = [e.message for e in sarif_validator.iter_errors(doc)]
    assert errors == []
    assert doc["version"] == "2.1.0" and doc["$schema"].endswith("sarif-schema-2.1.0.json")
    assert list(sarif_validator.iter_errors(sarif([]))) == []


def test_sarif_with_information_uri_is_valid(
    sarif_validator: jsonschema.Draft4Validator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lint_mod, "INFORMATION_URI", "https://example.org/bpkit")
    doc = sarif()
    assert doc["runs"][0]["tool"]["driver"]["informationUri"] == "https://example.org/bpkit"
    assert list(sarif_validator.iter_errors(doc)) == []


@pytest.mark.parametrize(
    "breakage",
    [
        lambda d: d.pop("version"),
        lambda d: d["runs"][0]["results"][0].update(level="fatal"),
        lambda d: d["runs"][0]["results"][1]["locations"][0]["physicalLocation"].update(
            region={"startLine": 0}
        ),
        lambda d: d["runs"][0]["results"][0].update(unknownKey=1),
        lambda d: d["runs"][0]["tool"]["driver"].pop("name"),
        lambda d: d["runs"][0]["results"][0]["locations"][0]["physicalLocation"][
            "artifactLocation"
        ].update(uri="platform/sp ace/x.yaml"),
        lambda d: d["runs"][0]["tool"]["driver"]["rules"][0].update(
            defaultConfiguration={"level": "fatal"}
        ),
    ],
    ids=[
        "no-version",
        "bad-level",
        "line-0-region",
        "unknown-key",
        "no-driver-name",
        "unencoded-space",
        "bad-default-level",
    ],
)
def test_sarif_negative_controls_fail_validation(
    sarif_validator: jsonschema.Draft4Validator, breakage: Any
) -> None:
    doc = sarif()
    assert list(sarif_validator.iter_errors(doc)) == []
    breakage(doc)
    assert list(sarif_validator.iter_errors(doc)) != []


def test_sarif_results_and_locations() -> None:
    run = sarif()["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    results = run["results"]
    assert run["columnKind"] == "unicodeCodePoints"
    assert len(results) == len(SARIF_PROBLEMS)
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["message"]["text"]  # GitHub needs non-empty text
        assert result["level"] in {"error", "warning"}
    by_message = {r["message"]["text"]: r for r in results}

    whole_file = by_message["cannot read: no such file"]["locations"][0]["physicalLocation"]
    assert whole_file == {
        "artifactLocation": {"uri": "platform/a/blueprint.yaml", "uriBaseId": "%SRCROOT%"}
    }
    located = by_message["50% of a: b, c\nnext"]
    assert located["level"] == "error" and located["ruleId"] == "upstream-version"
    assert located["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 2,
        "startColumn": 7,
    }
    line_only = by_message["type is 'library'"]["locations"][0]["physicalLocation"]
    assert line_only["region"] == {"startLine": 3}

    odd = by_message["unicode ✓ and 100%"]["locations"][0]["physicalLocation"]
    assert odd["artifactLocation"]["uri"] == "platform/sp%20ace/%C3%BCn%C3%AF%23%3F.yaml"
    absolute = by_message["outside the working dir"]["locations"][0]["physicalLocation"]
    assert absolute["artifactLocation"] == {"uri": "file:///abs/path/blueprint.yaml"}
    colon = by_message["colon in first segment"]["locations"][0]["physicalLocation"]
    assert colon["artifactLocation"]["uri"] == "we%3Aird/values.yaml"
    # An empty message falls back to the rule id (the rule is unknown here),
    # and `./` is dropped so the same file always has the same URI.
    unknown = next(r for r in results if r["ruleId"] == "not-in-mapping")
    assert unknown["message"]["text"] == "not-in-mapping"
    assert unknown["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "platform/c/blueprint.yaml"
    )


def test_sarif_rules_describe_every_rule() -> None:
    driver = sarif()["runs"][0]["tool"]["driver"]
    assert driver["name"] == "bpkit" and driver["version"] == __version__
    assert "informationUri" not in driver  # no home page yet
    rules = {r["id"]: r for r in driver["rules"]}
    # Every rule of the mapping (stable across runs, as GitHub wants) plus
    # every rule a problem names, sorted by id.
    assert list(rules) == sorted(
        ["upstream-version", "chart-type", "long-doc", "opt-in", "missing-file", "not-in-mapping"]
    )
    upstream = rules["upstream-version"]
    assert upstream["shortDescription"] == {"text": "Upstream versions must be exact."}
    assert upstream["fullDescription"]["text"] == (
        "Upstream versions must be exact.\n\nA range would make the package irreproducible."
    )
    # help: the whole doc; Markdown with the examples as YAML code blocks.
    assert upstream["help"]["text"] == (
        "Upstream versions must be exact.\n\nA range would make the package irreproducible.\n\n"
        "Passing::\n\n    # file: chart/values.yaml\n    upstream: { version: 1.2.3 }\n\n"
        "Failing::\n\n    upstream: { version: ^1.2 }"
    )
    assert upstream["help"]["markdown"] == (
        "Upstream versions must be exact.\n\nA range would make the package irreproducible.\n\n"
        "Passing:\n\n```yaml\n# file: chart/values.yaml\nupstream: { version: 1.2.3 }\n```\n\n"
        "Failing:\n\n```yaml\nupstream: { version: ^1.2 }\n```"
    )
    assert upstream["defaultConfiguration"] == {"level": "error"}
    assert rules["chart-type"]["defaultConfiguration"] == {"level": "warning"}
    assert rules["opt-in"]["defaultConfiguration"] == {"enabled": False}
    long_doc = rules["long-doc"]
    assert len(long_doc["fullDescription"]["text"]) <= 1024
    assert long_doc["fullDescription"]["text"].endswith("…")
    assert len(long_doc["help"]["text"]) > 1024
    for rule in rules.values():
        for key in ("shortDescription", "fullDescription", "help"):
            assert rule[key]["text"], (rule["id"], key)
        assert rule["help"]["markdown"]
    assert rules["not-in-mapping"]["help"] == {
        "text": "not-in-mapping",
        "markdown": "not-in-mapping",
    }


def test_sarif_markdown_fence_outlasts_backticks_in_examples() -> None:
    info = RuleInfo("r", W, "Summary.\n\nExample::\n\n    a: ```not a fence```\n\nAfter.")
    rule = lint_mod.sarif_document([], {"r": info})["runs"][0]["tool"]["driver"]["rules"][0]
    assert rule["help"]["markdown"] == (
        "Summary.\n\nExample:\n\n````yaml\na: ```not a fence```\n````\n\nAfter."
    )
    assert rule["fullDescription"]["text"] == "Summary."


def test_sarif_is_deterministic() -> None:
    assert rendered("sarif", list(reversed(SARIF_PROBLEMS))) == rendered("sarif", SARIF_PROBLEMS)


# --- cost -----------------------------------------------------------------------


def test_importing_output_pulls_in_no_third_party_module() -> None:
    code = (
        "import sys, bpkit.report.lint\n"
        "heavy = {'click', 'ruamel', 'jsonschema', 'semver', 'git', 'oras', 'requests'}\n"
        "print(sorted(m for m in sys.modules\n"
        "             if m.split('.')[0] in heavy or m.startswith('bpkit.lint.rules')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert result.stdout.strip() == "[]"
