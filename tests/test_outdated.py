"""Choosing the newest patch, minor and major from what a repository offers (pure)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bpkit.errors import UpstreamError
from bpkit.net.helmrepo import ChartVersion, RepoIndex
from bpkit.source.model import load_blueprint
from bpkit.upstream.index import (
    Newest,
    Offer,
    nearest,
    newest,
    newest_stable,
    offers,
    versions_from_index,
)
from bpkit.upstream.outdated import OfferSource, outdated, row_for, text_table

INDEX = {"apiVersion": "v1", "entries": {
    "flux2": [{"version": v, "appVersion": a} for v, a in [
        ("2.14.0", "2.4.0"), ("2.13.0", "2.3.0"), ("2.13.2", "2.3.0"), ("2.13.1", "2.3.0"),
        ("3.0.0-rc.1", "3.0.0"), ("3.1.0", "3.1.0"), ("2.15.0-beta.1", "2.5.0"),
        ("v2.16.0", "2.6.0"), ("2.13", "x"), ("2.13.1", "dupe")]],
    "other": [{"version": "1.0.0"}]}}


def test_versions_from_index_are_strict_semver_sorted_and_unique() -> None:
    found = versions_from_index(INDEX, "flux2")
    assert [o.version for o in found] == ["2.13.0", "2.13.1", "2.13.2", "2.14.0",
                                         "2.15.0-beta.1", "3.0.0-rc.1", "3.1.0"]
    assert found[1] == Offer("2.13.1", "2.3.0")  # the first of two entries is kept
    assert versions_from_index(INDEX, "nothing") == []
    assert versions_from_index({"entries": "junk"}, "flux2") == []
    assert versions_from_index({"entries": {"flux2": [{"version": 1}, "x"]}}, "flux2") == []


def test_newest_patch_minor_major_skip_pre_releases() -> None:
    best = newest(versions_from_index(INDEX, "flux2"), "2.13.0")
    assert best == Newest(Offer("2.13.2", "2.3.0"), Offer("2.14.0", "2.4.0"),
                          Offer("3.1.0", "3.1.0"))


def test_a_pre_release_pin_sees_pre_releases() -> None:
    available = offers([("1.0.0-rc.1", None), ("1.0.0-rc.2", None), ("1.1.0-alpha.1", None)])
    best = newest(available, "1.0.0-rc.1")
    assert best.patch == Offer("1.0.0-rc.2")
    assert best.minor == best.major == Offer("1.1.0-alpha.1")
    assert newest_stable(available) is None


def test_nothing_newer_gives_the_pin_itself_and_never_an_older_one() -> None:
    available = offers([("1.0.0", None), ("1.2.0", None)])
    assert newest(available, "1.2.0") == Newest(Offer("1.2.0"), Offer("1.2.0"), Offer("1.2.0"))
    assert newest(available, "1.3.0") == Newest(None, None, None)


def test_nearest_versions_for_a_missing_one() -> None:
    available = versions_from_index(INDEX, "flux2")
    assert nearest(available, "2.13.5") == ["2.13.2", "2.13.1", "2.13.0"]


def test_row_says_when_the_pin_is_not_offered() -> None:
    row = row_for("platform/flux", "flux2", "https://x", "2.12.0",
                  versions_from_index(INDEX, "flux2"))
    assert row.error == "2.12.0 is not offered by the repository"
    assert row.newest.major == Offer("3.1.0", "3.1.0")


class FakeHelm:
    """What HelmRepoClient.index answers, without a network (unit test)."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def index(self, repo: str) -> RepoIndex:
        self.asked.append(repo)
        entries = {name: [ChartVersion(name, i["version"], i.get("appVersion"), (), None)
                          for i in items] for name, items in INDEX["entries"].items()}
        return RepoIndex(url=repo, entries=entries)

    def close(self) -> None:
        pass


def test_outdated_rows_text_and_json(monorepo: Path) -> None:
    fake = FakeHelm()
    source = OfferSource(helm_client=fake, env={},  # type: ignore[arg-type]
                         mirrors={"https://fluxcd-community.github.io/helm-charts":
                                  "https://mirror.internal/flux"})
    blueprints = [load_blueprint(monorepo / "platform" / n) for n in ("flux", "cert-manager")]
    rows = outdated(blueprints, source)
    flux, cert = rows
    assert fake.asked == ["https://mirror.internal/flux", "https://charts.jetstack.io"]
    assert (flux.pinned, flux.pinned_app_version, flux.behind) == ("2.13.0", "2.3.0", True)
    assert cert.error is not None and "no chart 'cert-manager' in the index" in cert.error
    table = text_table(rows).splitlines()
    assert table[0].split() == ["blueprint", "chart", "pinned", "patch", "minor", "major"]
    assert table[1].split() == ["platform/flux", "flux2", "2.13.0", "(2.3.0)", "2.13.2",
                                "(2.3.0)", "2.14.0", "(2.4.0)", "3.1.0", "(3.1.0)"]
    shape = json.loads(json.dumps(flux.as_json()))
    assert shape["patch"] == {"version": "2.13.2", "appVersion": "2.3.0"}
    assert shape["pinned"] == {"version": "2.13.0", "appVersion": "2.3.0"}
    assert shape["outdated"] is True and shape["error"] is None


def test_a_chart_missing_from_the_index_suggests_a_name() -> None:
    source = OfferSource(helm_client=FakeHelm(), env={})  # type: ignore[arg-type]
    with pytest.raises(UpstreamError) as info:
        source.offers("flux", "https://charts.example.com")
    assert "did you mean 'flux2'" in info.value.message
