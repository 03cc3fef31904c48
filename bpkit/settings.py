"""Per-repository settings from `[tool.bpkit]` in the monorepo's pyproject.toml.

Kept apart from the CLI so tests and other tools build the same object.

    [tool.bpkit]
    roots = ["platform", "products"]        # where `bpkit lint` looks by default
    registry = "oci://ghcr.io/openova-io"   # publish target when no flag/env says
    retry-budget = 30                       # seconds of retries per blueprint

    [tool.bpkit.rules]                      # re-level or disable rules everywhere
    chart-type = "warning"
    overlay-subchart-key = "off"

    [tool.bpkit.per-path."platform/cilium/**"]   # ... or for some paths only
    overlay-subchart-key = "off"
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from bpkit.errors import ConfigError
from bpkit.problem import Level

DEFAULT_ROOTS = ("platform", "products")
DEFAULT_RETRY_BUDGET = 30.0
_KNOWN_KEYS = {"roots", "registry", "retry-budget", "rules", "per-path"}


@dataclass(frozen=True)
class Settings:
    """Settings every command shares."""

    root: Path
    roots: tuple[str, ...] = DEFAULT_ROOTS
    registry: str | None = None
    retry_budget: float = DEFAULT_RETRY_BUDGET
    rule_levels: Mapping[str, Level] = field(default_factory=dict)
    per_path: tuple[tuple[str, Mapping[str, Level]], ...] = ()
    source: Path | None = None  # the pyproject.toml read, if any

    def level_for(self, rule: str, default: Level, path: Path | None) -> Level:
        """The level a problem of `rule` at `path` gets; later settings win."""
        level = self.rule_levels.get(rule, default)
        if self.per_path and path is not None:
            rel = _relative(path, self.root)
            if rel is not None:
                for pattern, levels in self.per_path:
                    if rule in levels and _glob_match(pattern, rel):
                        level = levels[rule]
        return level


def _relative(path: Path, root: Path) -> str | None:
    try:
        return path.absolute().relative_to(root).as_posix()
    except ValueError:
        try:
            return path.resolve().relative_to(root).as_posix()
        except ValueError:
            return None


@lru_cache(maxsize=64)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    pattern = pattern.strip("/")
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    # A pattern naming a folder covers everything below it.
    return re.compile("".join(out) + "(?:/.*)?")


def _glob_match(pattern: str, rel: str) -> bool:
    return _glob_regex(pattern).fullmatch(rel) is not None


def load_settings(root: Path, known_rules: frozenset[str] | None = None) -> Settings:
    """Read `[tool.bpkit]` from ROOT/pyproject.toml; defaults when absent."""
    source = root / "pyproject.toml"
    raw = _read_settings_file(source)
    if raw is None:
        return Settings(root=root)
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{source}: not UTF-8: byte 0x{raw[exc.start]:02x} at offset "
                          f"{exc.start} cannot be decoded") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: invalid TOML: {' '.join(str(exc).split())}") from None
    table = doc.get("tool", {}).get("bpkit")
    if table is None:
        return Settings(root=root, source=source)
    where = f"{source}: [tool.bpkit]"
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table")
    unknown = set(table) - _KNOWN_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))} "
                          f"(known: {', '.join(sorted(_KNOWN_KEYS))})")
    roots = table.get("roots", list(DEFAULT_ROOTS))
    if not (isinstance(roots, list) and all(isinstance(r, str) and r for r in roots)):
        raise ConfigError(f"{where}: roots must be a list of folder names")
    registry = table.get("registry")
    if registry is not None and not isinstance(registry, str):
        raise ConfigError(f"{where}: registry must be a string like oci://HOST/NAMESPACE")
    budget = table.get("retry-budget", DEFAULT_RETRY_BUDGET)
    if isinstance(budget, bool) or not isinstance(budget, (int, float)) or budget < 0:
        raise ConfigError(f"{where}: retry-budget must be a number of seconds >= 0")
    rules = _levels(table.get("rules", {}), f"{where}.rules", known_rules)
    per_path_raw = table.get("per-path", {})
    if not isinstance(per_path_raw, dict):
        raise ConfigError(f"{where}.per-path must be a table of path patterns")
    per_path = tuple(
        (pattern, _levels(levels, f'{where}.per-path."{pattern}"', known_rules))
        for pattern, levels in per_path_raw.items()
    )
    return Settings(root=root, roots=tuple(roots), registry=registry, retry_budget=float(budget),
                    rule_levels=rules, per_path=per_path, source=source)


# A pyproject.toml is a few KiB; a larger one is not a settings file.
MAX_SETTINGS_BYTES = 1024 * 1024


def _read_settings_file(source: Path) -> bytes | None:
    """The file's bytes (None when absent): a regular file, at most MAX_SETTINGS_BYTES.

    Opened with O_NONBLOCK and checked with fstat, so a FIFO or a symlink to
    /dev/zero is refused at once instead of hanging or filling memory.
    """
    import os
    import stat

    try:
        fd = os.open(source, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read: {exc.strerror}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ConfigError(f"{source}: not a regular file")
    with os.fdopen(fd, "rb") as fh:
        try:
            raw = fh.read(MAX_SETTINGS_BYTES + 1)
        except OSError as exc:
            raise ConfigError(f"{source}: cannot read: {exc.strerror}") from None
    if len(raw) > MAX_SETTINGS_BYTES:
        raise ConfigError(f"{source}: larger than {MAX_SETTINGS_BYTES // 1024} KiB; "
                          "not read as settings")
    return raw


def _levels(raw: Any, where: str, known: frozenset[str] | None) -> dict[str, Level]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a table of rule-id = level")
    out: dict[str, Level] = {}
    for rule, value in raw.items():
        if known is not None and rule not in known:
            raise ConfigError(f"{where}: unknown rule {rule!r} (see `bpkit rules`)")
        if not isinstance(value, str):
            raise ConfigError(f"{where}: {rule} must be \"error\", \"warning\" or \"off\"")
        try:
            out[rule] = Level.parse(value)
        except ValueError as exc:
            raise ConfigError(f"{where}: {rule}: {exc}") from None
    return out
