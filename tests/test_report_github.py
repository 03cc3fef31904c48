"""bpkit.report.github: what reaches the Actions runner cannot forge other outputs or commands."""

from __future__ import annotations

from pathlib import Path

from bpkit.report.github import (
    escape_github_data,
    escape_github_property,
    write_outputs,
    write_summary,
)


def read_outputs(path: Path) -> dict[str, str]:
    """$GITHUB_OUTPUT as the runner parses it (key=value, or key<<DELIM ... DELIM)."""
    lines = path.read_text().splitlines()
    values: dict[str, str] = {}
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            key, delimiter = line.split("<<", 1)
            end = lines.index(delimiter, i + 1)
            values[key] = "\n".join(lines[i + 1:end])
            i = end + 1
        else:
            key, value = line.split("=", 1)
            values[key] = value
            i += 1
    return values


def test_a_value_with_a_line_break_cannot_add_an_output(tmp_path: Path) -> None:
    out = tmp_path / "out"
    env = {"GITHUB_OUTPUT": str(out)}
    assert write_outputs({"ref": "a\ndigest=sha256:forged", "version": "1.0.0"}, env)
    assert read_outputs(out) == {"ref": "a\ndigest=sha256:forged", "version": "1.0.0"}
    assert write_outputs({"more": "x"}, env)  # appended, never truncated
    assert read_outputs(out)["more"] == "x" and "version" in read_outputs(out)


def test_nothing_is_written_outside_actions(tmp_path: Path) -> None:
    assert write_outputs({"ref": "x"}, {}) is False
    assert write_summary("# hi", {}) is False
    summary = tmp_path / "summary"
    assert write_summary("# hi\n\n", {"GITHUB_STEP_SUMMARY": str(summary)})
    assert summary.read_text() == "# hi\n"


def test_workflow_command_escaping() -> None:
    assert escape_github_data("50%\r\n::error::x\x1b[31m") == "50%25%0D%0A::error::x\\x1b[31m"
    assert escape_github_property("a:b,c\n") == "a%3Ab%2Cc%0A"
