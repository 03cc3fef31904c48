"""`bpkit new`: a scaffolded blueprint lints clean at once, in both release modes."""

from __future__ import annotations

from pathlib import Path

import pytest

from bpkit.errors import UsageError
from bpkit.scaffold.new import NewOptions, parse_upstream, render_files, scaffold
from bpkit.source.model import load_blueprint
from tests.helpers.cli import bpkit


def test_new_overlay_lints_clean_with_strict(monorepo: Path) -> None:
    run = bpkit("new", "vault", "--upstream", "vault@0.28.1",
                "--repo", "https://helm.releases.hashicorp.com", cwd=monorepo)
    assert run.code == 0, run.out + run.err
    assert "created platform/vault (overlay mode)" in run.out
    folder = monorepo / "platform" / "vault"
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == [
        "README.md", "blueprint.yaml", "chart/Chart.yaml", "chart/values.yaml"]
    bp = load_blueprint(folder)
    assert bp.chart_name == "bp-vault" and bp.chart_version == "1.0.0"
    assert bp.spec["version"] == "1.0.0" and bp.metadata_name == "bp-vault"
    assert bp.upstream == {"chart": "vault", "version": "0.28.1",
                           "repo": "https://helm.releases.hashicorp.com"}
    # The whole tree still lints clean, with warnings counted as failures.
    lint = bpkit("lint", "--strict", cwd=monorepo)
    assert lint.code == 0, lint.out + lint.err


def test_new_bundle_nests_the_upstream_values(monorepo: Path) -> None:
    run = bpkit("new", "redis", "--upstream", "redis@19.6.4", "--repo",
                "oci://registry-1.docker.io/bitnamicharts", "--mode", "bundle", cwd=monorepo)
    assert run.code == 0, run.out + run.err
    bp = load_blueprint(monorepo / "platform" / "redis")
    assert bp.values is not None and bp.values.data["redis"] == {}
    assert "(bundle mode)" in run.out


def test_new_takes_the_mode_from_settings(monorepo: Path) -> None:
    (monorepo / "pyproject.toml").write_text('[tool.bpkit]\nupstream-mode = "bundle"\n')
    run = bpkit("new", "nats", "--upstream", "nats@1.2.0", "--repo",
                "https://nats-io.github.io/k8s/helm/charts", cwd=monorepo)
    assert run.code == 0, run.out + run.err
    assert "(bundle mode)" in run.out


def test_new_never_overwrites(monorepo: Path) -> None:
    before = (monorepo / "platform" / "flux" / "chart" / "values.yaml").read_bytes()
    run = bpkit("new", "flux", "--upstream", "flux2@2.13.0", "--repo",
                "https://fluxcd-community.github.io/helm-charts", cwd=monorepo)
    assert run.code == 2
    assert "already exists" in run.err and "Traceback" not in run.err
    assert (monorepo / "platform" / "flux" / "chart" / "values.yaml").read_bytes() == before


@pytest.mark.parametrize(("args", "message"), [
    (["Vault", "--upstream", "vault@0.28.1", "--repo", "https://h.example"], "lower-case"),
    (["bp-vault", "--upstream", "vault@0.28.1", "--repo", "https://h.example"], "without 'bp-'"),
    (["vault", "--upstream", "vault", "--repo", "https://h.example"], "CHART@VERSION"),
    (["vault", "--upstream", "vault@^0.28", "--repo", "https://h.example"], "range"),
    (["vault", "--upstream", "vault@0.28", "--repo", "https://h.example"], "three numbers"),
    (["vault", "--upstream", "vault@0.28.1", "--repo", "http://h.example"], "--repo"),
    (["vault", "--upstream", "vault@0.28.1", "--repo", "https://bob:s3cret@h.example"],
     "credentials"),
    (["x\x1b[2Jy", "--upstream", "vault@0.28.1", "--repo", "https://h.example"], "\\x1b"),
])
def test_new_refuses_bad_input_before_writing(monorepo: Path, args: list[str],
                                              message: str) -> None:
    before = sorted(p for p in monorepo.rglob("*"))
    run = bpkit("new", *args, cwd=monorepo)
    assert run.code == 2, run.out + run.err
    assert message in run.err, run.err
    assert "s3cret" not in run.out + run.err
    assert "\x1b" not in run.err
    assert len(run.err.strip().splitlines()) == 1
    assert sorted(p for p in monorepo.rglob("*")) == before


def test_render_files_is_pure_and_quotes_what_yaml_would_misread(tmp_path: Path) -> None:
    opts = NewOptions(name="x", chart="x", version="1.0.0", repo="https://h.example",
                      title='Yes: "quoted" #not a comment')
    files = render_files(opts)
    assert render_files(opts) == files
    folder = scaffold(opts, tmp_path / "platform")
    bp = load_blueprint(folder)
    assert bp.spec["card"]["title"] == 'Yes: "quoted" #not a comment'
    assert bp.upstream is not None and bp.upstream["version"] == "1.0.0"


def test_parse_upstream() -> None:
    assert parse_upstream("cert-manager@1.14.4") == ("cert-manager", "1.14.4")
    with pytest.raises(UsageError):
        parse_upstream("@1.0.0")
