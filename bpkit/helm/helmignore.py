""".helmignore rules with Helm's exact semantics (helm.sh/helm pkg/ignore).

Helm's rules differ from .gitignore and from Python's fnmatch, and a chart
packaged by bpkit must hold exactly the files `helm package` would put in,
so this is a faithful port rather than an approximation:

- one pattern per line; leading/trailing white space (Go's definition) is
  trimmed; blank lines and lines starting with `#` are skipped;
- `**` anywhere in a line is an error, as is a pattern Go's
  `filepath.Match` rejects (`[z-`, a trailing `\\`);
- `!pat` negates; a trailing `/` means "directories only"; a leading `/`
  anchors the pattern at the chart root; a pattern with a `/` is matched
  against the whole relative path, one without against the base name;
- rules are tried in order and the first positive match ignores the path.
  A negative rule that does *not* match ignores the path at once (and a
  negative directory rule ignores every non-directory): this is Helm's
  behaviour, so `!Chart.yaml` on its own ignores everything else;
- Helm adds `templates/.?*` after the file's own rules (`with_defaults`).

Matching is done on UTF-8 bytes, decoding runes the way Go does (an invalid
byte is U+FFFD of width 1), so even odd corner cases agree with Helm.

Like Helm (helm/helm#7972), a UTF-8 byte order mark before the first line
is dropped, so an editor that saves one does not disable the first rule.

Go's algorithm never backtracks across stars, but a chunk can still be
retried at every position of the name: a long chunk that fails late costs
len(chunk) x len(name) steps, which Go does in C-speed and Python would do
for minutes. Rules are validated once when parsed, so matching stops at the
first mismatch, and each match has a budget of MATCH_STEPS_PER_BYTE steps per
byte of the name: beyond it the rule is refused with a clear error
(HelmIgnoreTooCostly) rather than run on. Work is thus linear in the
names matched; honest patterns stay far below the budget.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bpkit.errors import PackageError

__all__ = [
    "DEFAULT_RULES",
    "MATCH_STEPS_PER_BYTE",
    "HelmIgnore",
    "HelmIgnoreSyntaxError",
    "HelmIgnoreTooCostly",
    "Rule",
    "go_match",
]

#: What Helm's `Rules.AddDefaults` appends: dotfiles under templates/.
DEFAULT_RULES: tuple[str, ...] = ("templates/.?*",)

# bufio.Scanner's default maximum token size: longer lines make Helm fail.
_MAX_LINE = 64 * 1024

# Go's unicode.IsSpace: what strings.TrimSpace removes. Python's str.strip()
# also removes U+001C..U+001F, which Go keeps.
_GO_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)

_RUNE_ERROR = 0xFFFD
_BOM = "\ufeff"

#: Work allowed to match one rule against one path: this many steps (one
#: pattern element compared with one name rune) per byte of the path, plus
#: _MATCH_STEPS_BASE. Real patterns need a handful of steps per byte.
MATCH_STEPS_PER_BYTE = 16
_MATCH_STEPS_BASE = 1024


class HelmIgnoreSyntaxError(PackageError):
    """A .helmignore line Helm refuses, so Helm could not load the chart."""

    def __init__(self, message: str, *, line: int, pattern: str) -> None:
        super().__init__(message)
        self.line = line
        self.pattern = pattern


class HelmIgnoreTooCostly(HelmIgnoreSyntaxError):
    """A rule that would need more than linear work to match a path."""


class _BadPattern(Exception):
    """Go's filepath.ErrBadPattern."""


def _decode_rune(s: bytes, i: int) -> tuple[int, int]:
    """Go's utf8.DecodeRune on s[i:]: (rune, width); invalid -> (U+FFFD, 1)."""
    b0 = s[i]
    if b0 < 0x80:
        return b0, 1
    if 0xC2 <= b0 <= 0xDF:
        n = 2
    elif 0xE0 <= b0 <= 0xEF:
        n = 3
    elif 0xF0 <= b0 <= 0xF4:
        n = 4
    else:
        return _RUNE_ERROR, 1
    try:
        text = s[i : i + n].decode("utf-8")
    except UnicodeDecodeError:
        return _RUNE_ERROR, 1
    return ord(text), n


def _get_esc(chunk: bytes, i: int) -> tuple[int, int]:
    """Go's getEsc: one possibly escaped rune of a class; returns (rune, next)."""
    if i >= len(chunk) or chunk[i] in b"-]":
        raise _BadPattern
    if chunk[i] == 0x5C:  # backslash
        i += 1
        if i >= len(chunk):
            raise _BadPattern
    r, n = _decode_rune(chunk, i)
    if r == _RUNE_ERROR and n == 1:
        raise _BadPattern
    i += n
    if i >= len(chunk):
        raise _BadPattern
    return r, i


def _match_chunk(chunk: bytes, s: bytes) -> bytes | None:
    """Go's matchChunk: the rest of s after chunk matched its start, or None.

    Like Go, it keeps parsing the chunk after a failed match so that a bad
    pattern is reported (as _BadPattern) whatever the name.
    """
    failed = False
    c = 0
    p = 0
    while c < len(chunk):
        if not failed and p >= len(s):
            failed = True
        ch = chunk[c]
        if ch == 0x5B:  # [
            r = 0
            if not failed:
                r, n = _decode_rune(s, p)
                p += n
            c += 1
            negated = c < len(chunk) and chunk[c] == 0x5E  # ^
            if negated:
                c += 1
            match = False
            nrange = 0
            while True:
                if c < len(chunk) and chunk[c] == 0x5D and nrange > 0:  # ]
                    c += 1
                    break
                lo, c = _get_esc(chunk, c)
                hi = lo
                if chunk[c] == 0x2D:  # -
                    hi, c = _get_esc(chunk, c + 1)
                if lo <= r <= hi:
                    match = True
                nrange += 1
            if match == negated:
                failed = True
        elif ch == 0x3F:  # ?
            if not failed:
                if s[p] == 0x2F:
                    failed = True
                _, n = _decode_rune(s, p)
                p += n
            c += 1
        else:
            if ch == 0x5C:  # backslash escapes the next byte
                c += 1
                if c >= len(chunk):
                    raise _BadPattern
            if not failed:
                if chunk[c] != s[p]:
                    failed = True
                p += 1
            c += 1
    if failed:
        return None
    return s[p:]


def _scan_chunk(pattern: bytes) -> tuple[bool, bytes, bytes]:
    """Go's scanChunk: (leading star?, chunk up to the next star, rest)."""
    star = False
    while pattern[:1] == b"*":
        pattern = pattern[1:]
        star = True
    inrange = False
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == 0x5C:
            if i + 1 < len(pattern):
                i += 1
        elif ch == 0x5B:
            inrange = True
        elif ch == 0x5D:
            inrange = False
        elif ch == 0x2A and not inrange:
            break
        i += 1
    return star, pattern[:i], pattern[i:]


def _go_match(pattern: bytes, name: bytes) -> bool:
    """Go's path/filepath.Match on Unix; raises _BadPattern."""
    while pattern:
        star, chunk, pattern = _scan_chunk(pattern)
        if star and not chunk:
            # A trailing * matches the rest unless it holds a separator.
            return b"/" not in name
        t = _match_chunk(chunk, name)
        if t is not None and (not t or pattern):
            name = t
            continue
        if star:
            matched = False
            i = 0
            while i < len(name) and name[i] != 0x2F:
                t = _match_chunk(chunk, name[i + 1 :])
                if t is not None:
                    if not pattern and t:
                        i += 1
                        continue
                    name = t
                    matched = True
                    break
                i += 1
            if matched:
                continue
        # Go checks the rest of the pattern is well formed before saying no.
        while pattern:
            _, chunk, pattern = _scan_chunk(pattern)
            _match_chunk(chunk, b"")
        return False
    return not name


def _compile(pattern: bytes) -> tuple[tuple[bool, bytes], ...]:
    """The (star, chunk) pairs of a valid pattern, scanned once."""
    chunks = []
    while pattern:
        star, chunk, pattern = _scan_chunk(pattern)
        chunks.append((star, chunk))
    return tuple(chunks)


def _chunk_at(chunk: bytes, s: bytes, p: int) -> tuple[int, int]:
    """matchChunk of a valid chunk at s[p:]: (end, steps), end -1 on mismatch.

    Unlike Go's it stops at the first mismatch: the pattern was validated
    when parsed, so there is nothing left to report.
    """
    c = 0
    n = len(chunk)
    size = len(s)
    steps = 0
    while c < n:
        steps += 1
        if p >= size:
            return -1, steps
        ch = chunk[c]
        if ch == 0x5B:  # [
            r, w = _decode_rune(s, p)
            p += w
            c += 1
            negated = chunk[c] == 0x5E
            if negated:
                c += 1
            match = False
            nrange = 0
            while True:
                if chunk[c] == 0x5D and nrange > 0:
                    c += 1
                    break
                lo, c = _get_esc(chunk, c)
                hi = lo
                if chunk[c] == 0x2D:
                    hi, c = _get_esc(chunk, c + 1)
                if lo <= r <= hi:
                    match = True
                nrange += 1
                steps += 1
            if match == negated:
                return -1, steps
        elif ch == 0x3F:  # ?
            if s[p] == 0x2F:
                return -1, steps
            p += _decode_rune(s, p)[1]
            c += 1
        else:
            if ch == 0x5C:
                c += 1
            if chunk[c] != s[p]:
                return -1, steps
            p += 1
            c += 1
    return p, steps


def _bounded_match(chunks: tuple[tuple[bool, bytes], ...], name: bytes, budget: int) -> bool:
    """Go's filepath.Match over pre-scanned chunks of a valid pattern.

    Raises _TooCostly when more than `budget` steps would be needed.
    """
    pos = 0
    size = len(name)
    last = len(chunks) - 1
    for index, (star, chunk) in enumerate(chunks):
        if star and not chunk:
            return name.find(b"/", pos) < 0
        rest = index < last
        end, steps = _chunk_at(chunk, name, pos)
        budget -= steps
        if end >= 0 and (end == size or rest):
            pos = end
            continue
        if not star:
            return False
        found = False
        i = pos
        while i < size and name[i] != 0x2F:
            if budget < 0:
                raise _TooCostly
            end, steps = _chunk_at(chunk, name, i + 1)
            budget -= steps
            i += 1
            if end >= 0 and (rest or end == size):
                pos = end
                found = True
                break
        if not found:
            return False
    return pos == size


class _TooCostly(Exception):
    """The step budget of one match ran out."""


def go_match(pattern: str, name: str) -> bool:
    """Go's `filepath.Match(pattern, name)`; ValueError for a bad pattern."""
    try:
        return _go_match(_to_bytes(pattern), _to_bytes(name))
    except _BadPattern:
        raise ValueError(f"syntax error in pattern {pattern!r}") from None


def _to_bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def _go_base(path: bytes) -> bytes:
    """Go's filepath.Base on Unix."""
    if not path:
        return b"."
    path = path.rstrip(b"/")
    if not path:
        return b"/"
    return path.rsplit(b"/", 1)[-1]


@dataclass(frozen=True)
class Rule:
    """One parsed line: `raw` as written (trimmed), the rest as Helm derives it."""

    raw: str
    negate: bool
    must_dir: bool
    anchored: bool
    pattern: bytes
    line: int = 0
    chunks: tuple[tuple[bool, bytes], ...] = field(default=(), compare=False, repr=False)

    def matches(self, path: bytes) -> bool:
        """Whether the rule's glob matches; HelmIgnoreTooCostly past the step budget."""
        name = path if self.anchored or b"/" in self.pattern else _go_base(path)
        chunks = self.chunks or _compile(self.pattern)
        budget = MATCH_STEPS_PER_BYTE * len(name) + _MATCH_STEPS_BASE
        try:
            return _bounded_match(chunks, name, budget)
        except _TooCostly:
            raise HelmIgnoreTooCostly(
                f".helmignore:{self.line}: pattern {_short(self.raw)} needs more than "
                f"{budget:,} steps to match {_short(name.decode('utf-8', 'replace'))}; "
                "simplify it",
                line=self.line, pattern=self.raw,
            ) from None
        except (_BadPattern, IndexError):  # Helm logs and treats the rule as not matching
            return False


def _short(text: str, limit: int = 60) -> str:
    """A repr short enough for a one-line message."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _parse_rule(raw: str, line: int = 0) -> Rule:
    rule = _to_bytes(raw)
    negate = rule.startswith(b"!")
    if negate:
        rule = rule[1:]
    must_dir = rule.endswith(b"/")
    if must_dir:
        rule = rule[:-1]
    anchored = rule.startswith(b"/")
    if anchored:
        rule = rule[1:]
    return Rule(raw=raw, negate=negate, must_dir=must_dir, anchored=anchored, pattern=rule,
                line=line, chunks=_compile(rule))


@dataclass(frozen=True)
class HelmIgnore:
    """An ordered, immutable rule set; `ignored` answers like Helm's `Rules.Ignore`."""

    rules: tuple[Rule, ...] = ()

    @classmethod
    def parse(cls, text: str | bytes, *, source: str = ".helmignore") -> HelmIgnore:
        """Parse a .helmignore body (Helm's `ignore.Parse`: no default rules).

        Raises HelmIgnoreSyntaxError (a PackageError) naming `source` and the
        line for what Helm refuses: `**`, a malformed glob, a line over 64 KiB.
        A UTF-8 byte order mark at the start is dropped, as Helm does.
        """
        if isinstance(text, bytes):
            text = text.decode("utf-8", "surrogateescape")
        text = text.removeprefix(_BOM)
        rules: list[Rule] = []
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        for number, text_line in enumerate(lines, start=1):
            # bufio.ScanLines drops one trailing CR
            line = text_line[:-1] if text_line.endswith("\r") else text_line
            if len(_to_bytes(line)) > _MAX_LINE:
                raise HelmIgnoreSyntaxError(
                    f"{source}:{number}: line longer than {_MAX_LINE} bytes",
                    line=number,
                    pattern=line[:40],
                )
            raw = line.strip(_GO_SPACE)
            if not raw or raw.startswith("#"):
                continue
            if "**" in raw:
                raise HelmIgnoreSyntaxError(
                    f"{source}:{number}: double-star (**) syntax is not supported: {_short(raw)}",
                    line=number,
                    pattern=raw,
                )
            try:
                _go_match(_to_bytes(raw), b"abc")
            except _BadPattern:
                raise HelmIgnoreSyntaxError(
                    f"{source}:{number}: syntax error in pattern {_short(raw)}",
                    line=number,
                    pattern=raw,
                ) from None
            rules.append(_parse_rule(raw, number))
        return cls(tuple(rules))

    def with_defaults(self) -> HelmIgnore:
        """The rule set Helm's chart loader uses: these rules, then DEFAULT_RULES."""
        return HelmIgnore(self.rules + tuple(_parse_rule(r) for r in DEFAULT_RULES))

    @property
    def patterns(self) -> tuple[str, ...]:
        return tuple(r.raw for r in self.rules)

    def ignored(self, rel_path: str, is_dir: bool) -> bool:
        """Whether Helm leaves out `rel_path` (slash-separated, relative to the chart).

        `is_dir` describes what the path is (for a symlink: its target), as
        Helm passes the followed file's info.
        """
        if rel_path in ("", ".", "./"):
            return False
        path = _to_bytes(rel_path)
        for rule in self.rules:
            if rule.negate:
                if rule.must_dir and not is_dir:
                    return True
                if not rule.matches(path):
                    return True
                continue
            if rule.must_dir and not is_dir:
                continue
            if rule.matches(path):
                return True
        return False
