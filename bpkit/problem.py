"""The one record every check produces and every formatter consumes."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Level(enum.Enum):
    """How serious a problem is; `off` only appears in settings."""

    ERROR = "error"
    WARNING = "warning"
    OFF = "off"

    @classmethod
    def parse(cls, text: str) -> Level:
        try:
            return cls(text.lower())
        except ValueError:
            choices = ", ".join(level.value for level in cls)
            raise ValueError(f"unknown level {text!r} (choose from {choices})") from None


@dataclass(frozen=True)
class Problem:
    """A finding at a place in a file.

    `line` and `col` are 1-based; 0 means "the whole file" (a missing file,
    a file that cannot be read). Frozen so that re-levelling by settings
    makes a new record instead of mutating one a rule already yielded.
    """

    path: str
    line: int
    col: int
    rule: str
    level: Level
    message: str

    @property
    def is_error(self) -> bool:
        return self.level is Level.ERROR

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.path, self.line, self.col, self.rule, self.message)
