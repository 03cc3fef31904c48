"""`bpkit upstream outdated`: how far each pin is behind what its repository offers.

The repository is asked once per run (Helm index, or an OCI repository's
tag list; mirrors apply as for `lock`), then the pure selection in
`bpkit.upstream.index` picks the newest patch, minor and major.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bpkit.errors import BpkitError, UpstreamError
from bpkit.settings import DEFAULT_RETRY_BUDGET
from bpkit.source.model import Blueprint
from bpkit.text import printable, redact
from bpkit.upstream.clients import Upstreams
from bpkit.upstream.index import Newest, Offer, find, newest, offers

if TYPE_CHECKING:
    from bpkit.net.helmrepo import HelmRepoClient


class OfferSource(Upstreams):
    """What repositories offer, for one run: each index or tag list fetched once."""

    def __init__(self, *, mirrors: Mapping[str, str] | None = None,
                 env: Mapping[str, str] = os.environ, ca_file: str | Path | None = None,
                 retry_budget: float = DEFAULT_RETRY_BUDGET, cache_dir: Path | None = None,
                 helm_client: HelmRepoClient | None = None) -> None:
        given = helm_client
        super().__init__(mirrors=mirrors, env=env, ca_file=ca_file, retry_budget=retry_budget,
                         index_dir=cache_dir,
                         helm_factory=(lambda: given) if given is not None else None)
        self._tags: dict[tuple[str, str], list[Offer]] = {}

    def offers(self, chart: str, repo: str) -> list[Offer]:
        """Every strict-SemVer version of `chart` in `repo`, oldest first."""
        source = self.source_for(repo)
        if source.startswith("oci://"):
            return self._oci_offers(chart, source)
        index = self.helm_client().index(source)
        entries = index.entries.get(chart)
        if not entries:
            close = difflib.get_close_matches(chart, list(index.entries), n=1, cutoff=0.6)
            hint = f" (did you mean {printable(close[0])!r}?)" if close else ""
            raise UpstreamError(f"{redact(source)}: no chart {printable(chart)!r} in the "
                                f"index{hint}")
        return offers((e.version, e.app_version) for e in entries)

    def _oci_offers(self, chart: str, source: str) -> list[Offer]:
        key = (source, chart)
        if key not in self._tags:
            tags = self.registry(source).list_tags(chart)
            if not tags:
                raise UpstreamError(f"{redact(source)}: chart {printable(chart)!r} not found "
                                    "(no repository with tags)")
            # OCI tags say nothing of appVersion without one request per version.
            self._tags[key] = offers((t.replace("_", "+"), None) for t in tags)
        return self._tags[key]

    def __enter__(self) -> OfferSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class OutdatedRow:
    """One blueprint's pin against what its repository offers."""

    blueprint: str  # the folder as shown
    chart: str
    repo: str
    pinned: str
    pinned_app_version: str | None = None
    newest: Newest = field(default_factory=lambda: Newest(None, None, None))
    error: str | None = None

    @property
    def behind(self) -> bool:
        return any(o is not None and o.version != self.pinned
                   for o in (self.newest.patch, self.newest.minor, self.newest.major))

    def as_json(self) -> dict[str, Any]:
        def offer(o: Offer | None) -> dict[str, str | None] | None:
            return None if o is None else {"version": o.version, "appVersion": o.app_version}

        return {"blueprint": self.blueprint, "chart": self.chart, "repo": redact(self.repo),
                "pinned": {"version": self.pinned, "appVersion": self.pinned_app_version},
                "patch": offer(self.newest.patch), "minor": offer(self.newest.minor),
                "major": offer(self.newest.major), "outdated": self.behind,
                "error": self.error}


def pin_of(bp: Blueprint) -> tuple[str, str, str] | None:
    """(chart, version, repo) when values.yaml pins all three as strings."""
    block = bp.upstream
    if block is None or bp.no_upstream:
        return None
    fields_ = [block.get(k) for k in ("chart", "version", "repo")]
    if not all(isinstance(v, str) and v for v in fields_):
        return None
    chart, version, repo = (str(v) for v in fields_)
    return chart, version, repo


def row_for(display: str, chart: str, repo: str, pinned: str,
            available: Sequence[Offer]) -> OutdatedRow:
    """The pure part: a pin and the offers, as one row."""
    current = find(available, pinned)
    try:
        best = newest(available, pinned)
    except ValueError:
        return OutdatedRow(display, chart, repo, pinned, error=f"{pinned!r} is not a semantic "
                           "version (bpkit lint: upstream-version)")
    return OutdatedRow(display, chart, repo, pinned,
                       current.app_version if current else None, best,
                       None if current else f"{pinned} is not offered by the repository")


def outdated(blueprints: Iterable[Blueprint], source: OfferSource) -> list[OutdatedRow]:
    """A row per blueprint with an upstream; a failing repository fails only its rows."""
    rows = []
    for bp in blueprints:
        pin = pin_of(bp)
        if pin is None:
            continue
        chart, pinned, repo = pin
        try:
            available = source.offers(chart, repo)
        except BpkitError as exc:
            rows.append(OutdatedRow(bp.display, chart, repo, pinned, error=exc.message))
            continue
        rows.append(row_for(bp.display, chart, repo, pinned, available))
    return rows


def text_table(rows: Sequence[OutdatedRow]) -> str:
    """Blueprint, chart, pin and the newest patch/minor/major (with appVersions)."""
    def cell(o: Offer | None, pinned: str) -> str:
        if o is None:
            return "-"
        shown = o.version if o.version != pinned else "="
        return f"{shown} ({o.app_version})" if o.app_version and shown != "=" else shown

    table: list[tuple[str, ...]] = [("blueprint", "chart", "pinned", "patch", "minor", "major")]
    for r in rows:
        pinned = f"{r.pinned} ({r.pinned_app_version})" if r.pinned_app_version else r.pinned
        if r.error is not None:
            table.append((r.blueprint, r.chart, pinned, f"error: {r.error}", "", ""))
            continue
        table.append((r.blueprint, r.chart, pinned, cell(r.newest.patch, r.pinned),
                      cell(r.newest.minor, r.pinned), cell(r.newest.major, r.pinned)))
    table = [tuple(printable(c) for c in line) for line in table]
    widths = [max(len(line[i]) for line in table) for i in range(6)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
                     for line in table)
