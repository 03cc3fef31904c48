"""GitHub Actions: workflow-command escaping, step outputs and the job summary.

Values reach the runner through files it names in the environment
(`$GITHUB_OUTPUT`, `$GITHUB_STEP_SUMMARY`); both are appended to, never
truncated, since earlier steps' lines are in them too. Outside the runner
(variables unset) nothing is written.
"""

from __future__ import annotations

from collections.abc import Mapping

from bpkit.text import UNPRINTABLE, printable

# Control and bidi characters escaped, keeping line breaks for the runner to encode.
_UNPRINTABLE_KEEP_LINES = {**UNPRINTABLE, 0x0A: "\n", 0x0D: "\r"}


def escape_github_data(text: str) -> str:
    """Escape a workflow command's message as the Actions runner decodes it."""
    return (
        text.translate(_UNPRINTABLE_KEEP_LINES)
        .replace("%", "%25")
        .replace("\r", "%0D")
        .replace("\n", "%0A")
    )


def escape_github_property(text: str) -> str:
    """Escape a workflow command's property value (`file=`, `title=`)."""
    return escape_github_data(text).replace(":", "%3A").replace(",", "%2C")


# What Markdown (GitHub's flavour, HTML allowed) would read as markup inside a
# line (table cells and list items never start with outside text).
_MARKDOWN_SPECIAL = {ord(c): f"\\{c}" for c in "\\`*_[]|~"}
_MARKDOWN_SPECIAL.update({ord("<"): "&lt;", ord(">"): "&gt;", ord("&"): "&amp;"})


def escape_markdown(text: str) -> str:
    """Outside text as literal Markdown: one line, no markup, no HTML, no table cell break."""
    return printable(text).translate(_MARKDOWN_SPECIAL)


def command(name: str, message: str, **properties: str | int) -> str:
    """One workflow command line, e.g. `::error file=a.yaml,line=3::message`, escaped."""
    props = ",".join(f"{key}={escape_github_property(str(value))}"
                     for key, value in properties.items())
    return f"::{name}{' ' + props if props else ''}::{escape_github_data(message)}"


def write_outputs(values: Mapping[str, str], env: Mapping[str, str]) -> bool:
    """Append step outputs to `$GITHUB_OUTPUT`; False when not under Actions.

    A value holding a line break is written in the runner's heredoc form
    with a random delimiter, so it cannot end early and forge another output.
    """
    path = env.get("GITHUB_OUTPUT")
    if not path:
        return False
    lines = []
    for key, value in values.items():
        if "\n" in value or "\r" in value:
            import secrets

            delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
            lines += [f"{key}<<{delimiter}", value, delimiter]
        else:
            lines.append(f"{key}={value}")
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("".join(line + "\n" for line in lines))
    return True


def write_summary(markdown: str, env: Mapping[str, str]) -> bool:
    """Append Markdown to the job summary (`$GITHUB_STEP_SUMMARY`); False when not under Actions."""
    path = env.get("GITHUB_STEP_SUMMARY")
    if not path:
        return False
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(markdown.rstrip("\n") + "\n")
    return True
