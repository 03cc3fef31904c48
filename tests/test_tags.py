"""Release tags: `platform/flux/v1.2.3` -> the folder and version `bpkit publish --tag` uses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bpkit.errors import UsageError
from bpkit.publish.tags import ReleaseTag, parse_tag
from bpkit.settings import DEFAULT_ROOTS
from tests.helpers.blueprints import write_blueprint
from tests.helpers.cli import invoke


@pytest.fixture
def root(monorepo: Path) -> Path:
    write_blueprint(monorepo, "shop", group="products", version="2.0.0")
    return monorepo


@pytest.mark.parametrize(("tag", "expected"), [
    ("platform/flux/v1.2.3", ReleaseTag("platform", "flux", "1.2.3")),
    ("refs/tags/platform/flux/v1.2.3", ReleaseTag("platform", "flux", "1.2.3")),
    ("products/shop/v2.0.0-rc.1+build.5", ReleaseTag("products", "shop", "2.0.0-rc.1+build.5")),
    ("platform/cert-manager/v0.0.1", ReleaseTag("platform", "cert-manager", "0.0.1")),
])
def test_good_tags(root: Path, tag: str, expected: ReleaseTag) -> None:
    parsed = parse_tag(tag, root, DEFAULT_ROOTS)
    assert parsed == expected
    assert parsed.folder == f"{expected.group}/{expected.name}"


@pytest.mark.parametrize(("tag", "message"), [
    ("platform/flux/1.2", "'platform/flux/1.2': the version part must start with v"),
    ("platform/flux/1.2.3", "the version part must start with v"),
    ("platform/flux/v1.2", "'1.2' is not a semantic version"),
    ("platform/flux/v01.2.3", "'01.2.3' is not a semantic version"),
    ("platform/flux/vlatest", "'latest' is not a semantic version"),
    ("platform/nope/v1.0.0", "there is no blueprint platform/nope in"),
    ("other/flux/v1.0.0", "'other' is not a blueprint folder (platform, products)"),
    ("flux/v1.0.0", "is not of the form GROUP/NAME/vMAJOR.MINOR.PATCH"),
    ("platform/flux/", "is not of the form"),
    ("", "is not of the form"),
    ("platform/../v1.0.0", "'..' is not a blueprint name"),
    ("platform/.hidden/v1.0.0", "'.hidden' is not a blueprint name"),
])
def test_bad_tags_say_what_is_wrong(root: Path, tag: str, message: str) -> None:
    with pytest.raises(UsageError) as err:
        parse_tag(tag, root, DEFAULT_ROOTS)
    assert message in err.value.message
    assert f"release tag {tag!r}" in err.value.message
    assert err.value.exit_code == 2


def test_roots_come_from_settings(root: Path) -> None:
    with pytest.raises(UsageError, match="'products' is not a blueprint folder"):
        parse_tag("products/shop/v2.0.0", root, ["platform"])


def test_publish_tag_to_a_local_layout_drops_the_v(root: Path, tmp_path: Path) -> None:
    layout = tmp_path / "oci"
    run = invoke("publish", "--tag", "platform/flux/v1.0.0", "--layout", str(layout),
                "--format", "json", cwd=root)
    assert run.code == 0, run.err
    [result] = json.loads(run.out)["results"]
    assert (result["blueprint"], result["name"], result["version"]) == (
        "platform/flux", "bp-flux", "1.0.0")
    index = json.loads((layout / "index.json").read_text())
    names = [m["annotations"]["org.opencontainers.image.ref.name"] for m in index["manifests"]]
    assert names == ["bp-flux:1.0.0"]


def test_publish_tag_version_mismatch_names_both(root: Path, tmp_path: Path) -> None:
    layout = tmp_path / "oci"
    run = invoke("publish", "--tag", "platform/flux/v1.2.3", "--layout", str(layout), cwd=root)
    assert run.code == 1
    assert run.err.strip() == ("bpkit: error: release tag platform/flux/v1.2.3 says 1.2.3 but "
                               "platform/flux/chart/Chart.yaml says 1.0.0")
    assert not (layout / "index.json").exists()


def test_publish_bad_tag_and_tag_with_names(root: Path) -> None:
    run = invoke("publish", "--tag", "other/flux/v1.0.0", cwd=root)
    assert run.code == 2
    assert "'other' is not a blueprint folder" in run.err
    run = invoke("publish", "--tag", "platform/flux/v1.0.0", "flux", cwd=root)
    assert run.code == 2
    assert "--tag names the blueprint itself" in run.err
