"""Per-repository settings from `[tool.bpkit]` in the monorepo's pyproject.toml.

Kept apart from the CLI so tests and other tools build the same object.

    [tool.bpkit]
    roots = ["platform", "products"]        # where `bpkit lint` looks by default
    registry = "oci://ghcr.io/openova-io"   # publish target when no flag/env says
    retry-budget = 30                       # seconds of retries per blueprint
    upstream-mode = "overlay"               # or "bundle": what a release installs

    [tool.bpkit.rules]                      # re-level or disable rules everywhere
    chart-type = "warning"
    overlay-subchart-key = "off"

    [tool.bpkit.mirrors]                    # where upstream charts are really fetched
    "https://charts.jetstack.io" = "oci://harbor.internal/jetstack"

    [tool.bpkit.per-path."platform/cilium/**"]   # ... or for some paths only
    overlay-subchart-key = "off"
    upstream-mode = "bundle"
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from bpkit.errors import ConfigError
from bpkit.fsio import read_capped
from bpkit.problem import Level

DEFAULT_ROOTS = ("platform", "products")
DEFAULT_RETRY_BUDGET = 30.0
#: What a release of a wrapper installs: "overlay" (the wrapper alone, for an
#: installer or `bpkit render flux` to pair with the upstream chart) or
#: "bundle" (the upstream chart packaged inside as a subchart).
UPSTREAM_MODES = ("overlay", "bundle")
DEFAULT_UPSTREAM_MODE = "overlay"
MODE_KEY = "upstream-mode"
_KNOWN_KEYS = {"roots", "registry", "retry-budget", MODE_KEY, "rules", "per-path", "mirrors"}
_MIRROR_FROM = re.compile(r"(https|oci)://[^\s/?#@]+(/[^\s?#@]*)?")


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
    upstream_mode: str = DEFAULT_UPSTREAM_MODE
    per_path_modes: tuple[tuple[str, str], ...] = ()  # (pattern, mode), in file order
    #: Upstream repository URL (as in values.yaml) -> the mirror to fetch it from.
    mirrors: Mapping[str, str] = field(default_factory=dict)

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

    def mode_for(self, path: Path | None) -> str:
        """The upstream mode of the blueprint folder at `path`; later settings win.

        A per-path pattern applies when it matches the folder itself
        (`platform/cilium`, `platform/*`) or what is inside it
        (`platform/cilium/**`).
        """
        mode = self.upstream_mode
        if self.per_path_modes and path is not None:
            rel = _relative(path, self.root)
            if rel is not None:
                for pattern, value in self.per_path_modes:
                    if _glob_match(pattern, rel) or _glob_match(pattern, rel + "/"):
                        mode = value
        return mode


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
    import tomllib  # only with a pyproject.toml: a warm lint elsewhere is 4 ms faster

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
    mode = _mode(table.get(MODE_KEY, DEFAULT_UPSTREAM_MODE), where)
    rules = _levels(table.get("rules", {}), f"{where}.rules", known_rules)
    per_path_raw = table.get("per-path", {})
    if not isinstance(per_path_raw, dict):
        raise ConfigError(f"{where}.per-path must be a table of path patterns")
    per_path = []
    per_path_modes = []
    for pattern, raw_entries in per_path_raw.items():
        here = f'{where}.per-path."{pattern}"'
        entries = raw_entries
        if isinstance(raw_entries, dict) and MODE_KEY in raw_entries:
            entries = {k: v for k, v in raw_entries.items() if k != MODE_KEY}
            per_path_modes.append((pattern, _mode(raw_entries[MODE_KEY], here)))
        per_path.append((pattern, _levels(entries, here, known_rules)))
    mirrors = parse_mirrors(table.get("mirrors", {}), f"{where}.mirrors")
    return Settings(root=root, roots=tuple(roots), registry=registry, retry_budget=float(budget),
                    rule_levels=rules, per_path=tuple(per_path), source=source,
                    upstream_mode=mode, per_path_modes=tuple(per_path_modes), mirrors=mirrors)


def normalize_repo(url: str) -> str:
    """A repository URL as mirrors are matched: without a trailing slash."""
    return url.strip().rstrip("/")


def parse_mirrors(raw: Any, where: str) -> dict[str, str]:
    """`{FROM: TO}` from `[tool.bpkit.mirrors]` (or BPKIT_MIRRORS), checked."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a table of \"repository URL\" = \"mirror URL\"")
    out: dict[str, str] = {}
    for source, target in raw.items():
        if not isinstance(target, str) or not isinstance(source, str):
            raise ConfigError(f"{where}: {source!r} must map to a URL string")
        for what, url in (("repository", source), ("mirror", target)):
            if not _MIRROR_FROM.fullmatch(url.strip()):
                raise ConfigError(f"{where}: {what} {url!r} is not an https:// or oci:// URL "
                                  "without credentials")
        out[normalize_repo(source)] = normalize_repo(target)
    return out


def mirrors_from_env(value: str | None) -> dict[str, str]:
    """BPKIT_MIRRORS: `FROM=TO` pairs separated by commas."""
    if not value or not value.strip():
        return {}
    pairs: dict[str, str] = {}
    for item in value.split(","):
        if not item.strip():
            continue
        source, sep, target = item.partition("=")
        if not sep:
            raise ConfigError(f"BPKIT_MIRRORS: {item.strip()!r} is not FROM=TO")
        pairs[source.strip()] = target.strip()
    return parse_mirrors(pairs, "BPKIT_MIRRORS")


def _mode(value: Any, where: str) -> str:
    if value not in UPSTREAM_MODES:
        shown = repr(value) if isinstance(value, str) else f"a {type(value).__name__}"
        raise ConfigError(f'{where}: {MODE_KEY} must be "overlay" or "bundle", not {shown}')
    return str(value)


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
    opened = os.fstat(fd)
    if not stat.S_ISREG(opened.st_mode):
        os.close(fd)
        raise ConfigError(f"{source}: not a regular file")
    with os.fdopen(fd, "rb") as fh:
        try:
            raw = read_capped(fh, MAX_SETTINGS_BYTES, opened.st_size)
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


def cache_root(env: Mapping[str, str] = os.environ) -> Path:
    """Where bpkit caches (upstream charts, indexes, lint): $BPKIT_CACHE_DIR, else
    $XDG_CACHE_HOME/bpkit, else ~/.cache/bpkit."""
    if env.get("BPKIT_CACHE_DIR"):
        return Path(env["BPKIT_CACHE_DIR"])
    if env.get("XDG_CACHE_HOME"):
        return Path(env["XDG_CACHE_HOME"]) / "bpkit"
    home = env.get("HOME")
    return (Path(home) if home else Path.home()) / ".cache" / "bpkit"
