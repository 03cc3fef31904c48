"""A tag release end to end: `bpkit publish --tag` against a real registry, checked with skopeo."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from bpkit.oci.artifact import CHART_LAYER_MEDIA_TYPE, CONFIG_MEDIA_TYPE
from tests.helpers.cli import bpkit
from tests.helpers.git import git, make_monorepo

if TYPE_CHECKING:
    from tests.integration.conftest import RunningRegistry

pytestmark = pytest.mark.integration


@pytest.fixture
def tagged(tmp_path: Path) -> Path:
    """A clone of a monorepo whose head carries the release tag platform/flux/v1.0.0."""
    origin = make_monorepo(tmp_path / "origin")
    git(origin, "tag", "platform/flux/v1.0.0")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", f"file://{origin}", str(clone))
    return clone


def test_tag_release_publishes_the_version_without_v(tagged: Path, tmp_path: Path,
                                                     registry: RunningRegistry) -> None:
    [tag] = git(tagged, "tag", "--points-at", "HEAD").split()
    outputs, summary = tmp_path / "github-output", tmp_path / "summary.md"
    run = bpkit("publish", "--tag", tag, "--registry", registry.url, cwd=tagged,
                env={"GITHUB_OUTPUT": str(outputs), "GITHUB_STEP_SUMMARY": str(summary)})
    assert run.code == 0, run.out + run.err
    assert registry.tags("bp-flux") == ["1.0.0"]
    assert registry.tags("bp-cert-manager") == []  # only the tagged blueprint
    raw = registry.skopeo_raw("bp-flux", "1.0.0")
    manifest = json.loads(raw)
    assert manifest["config"]["mediaType"] == CONFIG_MEDIA_TYPE
    assert [layer["mediaType"] for layer in manifest["layers"]] == [CHART_LAYER_MEDIA_TYPE]
    config = json.loads(registry.skopeo_raw("bp-flux", "1.0.0", config=True))
    assert (config["name"], config["version"]) == ("bp-flux", "1.0.0")
    values = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
    assert values["digest"] == "sha256:" + hashlib.sha256(raw).hexdigest()
    assert values["version"] == "1.0.0"
    assert values["ref"].endswith("/openova-io/bp-flux:1.0.0")
    assert values["digest"] in summary.read_text()


def test_tag_mismatch_pushes_nothing(tagged: Path, registry: RunningRegistry) -> None:
    git(tagged, "tag", "platform/flux/v1.0.1")
    run = bpkit("publish", "--tag", "refs/tags/platform/flux/v1.0.1", "--registry", registry.url,
                cwd=tagged)
    assert run.code == 1
    assert "says 1.0.1 but platform/flux/chart/Chart.yaml says 1.0.0" in run.err
    assert registry.tags("bp-flux") == []
