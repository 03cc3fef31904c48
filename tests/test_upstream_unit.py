"""Unit tests for the upstream pieces whose edges a real server hardly reaches.

The network is stubbed here (a fake `requests` session); the real HTTPS
repository and registry cases are in tests/integration/test_upstream_*.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import pytest

from bpkit.errors import ConfigError, UpstreamError, UsageError
from bpkit.net.helmrepo import ChartVersion, HelmRepoClient, basic_credentials, verify_setting
from bpkit.settings import load_settings, mirrors_from_env
from bpkit.upstream.resolve import Upstream, _no_chart, _no_version

REPO = "https://charts.example.com"


@dataclass
class FakeResponse:
    status_code: int
    headers: dict[str, str] = field(default_factory=dict)
    chunks: list[bytes] = field(default_factory=list)
    served: list[int] = field(default_factory=list)
    reason: str = ""

    def iter_content(self, size: int) -> Iterator[bytes]:
        for chunk in self.chunks:
            self.served.append(len(chunk))
            yield chunk

    def close(self) -> None:
        pass


@dataclass
class FakeSession:
    answers: dict[str, FakeResponse]
    sent: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def request(self, method: str, url: str, **kwargs: Any) -> FakeResponse:
        assert kwargs["allow_redirects"] is False and kwargs["stream"] is True
        self.sent.append((url, dict(kwargs["headers"])))
        return self.answers[url]

    def close(self) -> None:
        pass


def client(answers: dict[str, FakeResponse], tmp_path: Path, **kwargs: Any
           ) -> tuple[HelmRepoClient, FakeSession]:
    env = {"HOME": str(tmp_path), "HELM_REPOSITORY_CONFIG": str(tmp_path / "repos.yaml"),
           "SSL_CERT_FILE": "", "REQUESTS_CA_BUNDLE": ""}
    c = HelmRepoClient(env=env, sleep=lambda s: None, **kwargs)
    session = FakeSession(answers)
    c._sessions = {False: session, True: session}
    return c, session


INDEX = (b"apiVersion: v1\nentries:\n  demo:\n  - name: demo\n    version: 1.0.0\n"
         b"    urls: [x.tgz]\n")


def test_an_index_without_content_length_stops_at_the_cap(tmp_path: Path) -> None:
    endless = FakeResponse(200, chunks=[b"#" * 1024] * 1000)
    c, _ = client({f"{REPO}/index.yaml": endless}, tmp_path, max_index_bytes=10 * 1024)
    with pytest.raises(UpstreamError, match=r"over the .* MiB bpkit accepts"):
        c.index(REPO)
    assert sum(endless.served) <= 11 * 1024


def test_a_slow_drip_meets_the_deadline(tmp_path: Path) -> None:
    now = [0.0]

    def clock() -> float:
        now[0] += 10.0
        return now[0]

    drip = FakeResponse(200, chunks=[b"#"] * 100)
    c, _ = client({f"{REPO}/index.yaml": drip}, tmp_path, deadline=35, clock=clock,
                  retry_budget=0)
    with pytest.raises(UpstreamError, match="not complete within 35 s"):
        c.index(REPO)
    assert len(drip.served) < 10


def test_credentials_never_follow_a_redirect_to_another_host(tmp_path: Path) -> None:
    (tmp_path / "repos.yaml").write_text(
        f"repositories:\n- url: {REPO}\n  username: u\n  password: pw\n")
    cdn = "https://cdn.example.net/index.yaml"
    c, session = client({f"{REPO}/index.yaml": FakeResponse(302, {"Location": cdn}),
                         cdn: FakeResponse(200, chunks=[INDEX])}, tmp_path)
    index = c.index(REPO)
    assert [v.version for v in index.entries["demo"]] == ["1.0.0"]
    assert "Authorization" in session.sent[0][1]
    assert "Authorization" not in session.sent[1][1]
    assert c.index(REPO) is index and len(session.sent) == 2  # once per run


def test_https_to_http_redirect_is_refused(tmp_path: Path) -> None:
    c, _ = client({f"{REPO}/index.yaml": FakeResponse(
        301, {"Location": "http://charts.example.com/index.yaml"})}, tmp_path)
    with pytest.raises(UpstreamError, match="refusing a redirect from HTTPS"):
        c.index(REPO)


def test_redirect_loops_end(tmp_path: Path) -> None:
    c, _ = client({f"{REPO}/index.yaml": FakeResponse(
        302, {"Location": f"{REPO}/index.yaml"})}, tmp_path)
    with pytest.raises(UpstreamError, match="more than 5 redirects"):
        c.index(REPO)


def test_download_checks_the_index_digest(tmp_path: Path) -> None:
    url = f"{REPO}/x.tgz"
    c, _ = client({url: FakeResponse(200, chunks=[b"bytes"])}, tmp_path)
    entry = ChartVersion("demo", "1.0.0", None, ("x.tgz",), "sha256:" + "0" * 64)
    with pytest.raises(UpstreamError, match="index says sha256:0000"):
        c.download(REPO, entry)


def test_a_password_in_a_url_is_never_shown(tmp_path: Path) -> None:
    c, _ = client({"https://u:hunter2@h.example/index.yaml": FakeResponse(500)}, tmp_path)
    with pytest.raises(UpstreamError) as err:
        c.index("https://u:hunter2@h.example")
    assert "hunter2" not in str(err.value) and "HTTP 500" in str(err.value)


def test_verify_setting_order(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    assert verify_setting(ca, {"SSL_CERT_FILE": "/nope"}) == str(ca)
    assert verify_setting(None, {"SSL_CERT_FILE": str(ca)}) == str(ca)
    assert verify_setting(None, {"REQUESTS_CA_BUNDLE": str(ca)}) == str(ca)
    with pytest.raises(UsageError, match="SSL_CERT_FILE"):
        verify_setting(None, {"SSL_CERT_FILE": str(tmp_path / "missing.pem")})


def test_netrc_and_repositories_yaml(tmp_path: Path) -> None:
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine charts.example.com login n password np\n")
    netrc.chmod(0o600)
    env = {"HOME": str(tmp_path), "HELM_REPOSITORY_CONFIG": str(tmp_path / "repos.yaml")}
    assert basic_credentials(REPO, env)[:2] == ("n", "np")  # type: ignore[index]
    (tmp_path / "repos.yaml").write_text(
        f"repositories:\n- url: {REPO}/\n  username: h\n  password: hp\n")
    assert basic_credentials(REPO, env)[:2] == ("h", "hp")  # type: ignore[index]
    assert basic_credentials("https://other.example", env) is None
    (tmp_path / "repos.yaml").write_text("repositories: [\n")
    with pytest.raises(UsageError, match=r"repos\.yaml"):
        basic_credentials(REPO, env)


def test_mirrors_from_settings_and_environment(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.bpkit.mirrors]\n"https://charts.jetstack.io/" = "oci://harbor.internal/jetstack"\n')
    assert load_settings(tmp_path).mirrors == {
        "https://charts.jetstack.io": "oci://harbor.internal/jetstack"}
    assert mirrors_from_env("https://a.example=https://m.example/a, oci://r.example/x=oci://m/x"
                            ) == {"https://a.example": "https://m.example/a",
                                  "oci://r.example/x": "oci://m/x"}
    assert mirrors_from_env("") == {}
    with pytest.raises(ConfigError, match="FROM=TO"):
        mirrors_from_env("https://a.example")
    with pytest.raises(ConfigError, match="not an https:// or oci:// URL"):
        mirrors_from_env("https://a.example=ftp://m.example")
    (tmp_path / "pyproject.toml").write_text('[tool.bpkit]\nmirrors = "x"\n')
    with pytest.raises(ConfigError, match="mirrors must be a table"):
        load_settings(tmp_path)


def _v(version: str, app: str | None = None) -> ChartVersion:
    return ChartVersion("c", version, app, (), None)


def test_messages_that_say_what_to_do() -> None:
    up = Upstream("keycloak", "25.0.6", REPO)
    versions = [_v("24.0.0", "25.0.5"), _v("24.0.1", "v25.0.6"), _v("24.0.2", "25.0.6"),
                _v("26.0.0", "26.0.0")]
    assert _no_version(up, REPO, versions).endswith(
        "keycloak 25.0.6 is an appVersion, not a chart version; chart versions with "
        "appVersion 25.0.6: 24.0.1, 24.0.2")
    assert _no_version(Upstream("c", "25.0.0", REPO), REPO, versions).endswith(
        "nearest: 24.0.1, 24.0.2, 26.0.0")
    assert _no_chart(Upstream("flux", "1.0.0", REPO), REPO, ["flux2", "cilium"]).endswith(
        "no chart named flux; did you mean flux2?")
    assert _no_chart(Upstream("x", "1.0.0", REPO), REPO, []).endswith("the repository is empty")


def test_a_304_reuses_the_parsed_index_without_parsing_yaml(tmp_path: Path) -> None:
    url = f"{REPO}/index.yaml"
    first, _ = client({url: FakeResponse(200, {"ETag": '"v1"'}, chunks=[INDEX])}, tmp_path,
                      cache_dir=tmp_path / "index")
    assert not first.index(REPO).from_cache
    assert len(list((tmp_path / "index").glob("*.entries.json"))) == 1
    second, session = client({url: FakeResponse(304)}, tmp_path, cache_dir=tmp_path / "index")

    def no_parse(*args: object) -> None:
        raise AssertionError("parsed the YAML again")

    second._parse_index = no_parse  # type: ignore[assignment,method-assign]
    again = second.index(REPO)
    assert again.from_cache and [v.version for v in again.entries["demo"]] == ["1.0.0"]
    assert session.sent[0][1]["If-None-Match"] == '"v1"'
    # A copy that does not match its recorded digest is not trusted: asked unconditionally.
    next((tmp_path / "index").glob("*.yaml")).write_bytes(b"tampered")
    third, session = client({url: FakeResponse(200, chunks=[INDEX])}, tmp_path,
                            cache_dir=tmp_path / "index")
    assert [v.version for v in third.index(REPO).entries["demo"]] == ["1.0.0"]
    assert "If-None-Match" not in session.sent[0][1]


@click.command()
def hello_cmd() -> None:
    """Say hello (a stand-in for a subcommand defined in another module)."""
    click.echo("hello from elsewhere")


def test_the_group_loads_subcommands_defined_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from bpkit.cli import upstream as module

    monkeypatch.setattr(module, "_ELSEWHERE", {
        "hello": ("tests.test_upstream_unit", "hello_cmd"),
        "absent": ("bpkit.cli.no_such_module", "x")})
    runner = CliRunner()
    listing = runner.invoke(module.upstream, ["--help"])
    assert "hello" in listing.output and "absent" not in listing.output
    assert runner.invoke(module.upstream, ["hello"]).output == "hello from elsewhere\n"
    assert runner.invoke(module.upstream, ["absent"]).exit_code == 2


def test_a_silent_server_is_retried_then_named_within_the_budget(tmp_path: Path) -> None:
    import requests

    now = [0.0]
    calls = []

    class Silent(FakeSession):
        def request(self, method: str, url: str, **kwargs: Any) -> FakeResponse:
            calls.append(url)
            now[0] += 30.0  # each attempt waits out the read timeout
            raise requests.exceptions.ReadTimeout("read timed out")

    c = HelmRepoClient(env={"HOME": str(tmp_path)}, sleep=lambda s: None,
                       clock=lambda: now[0], retry_budget=60)
    c._sessions = {False: Silent({}), True: Silent({})}
    with pytest.raises(UpstreamError) as err:
        c.index(REPO)
    message = str(err.value)
    assert message.startswith(f"{REPO}: reading index.yaml failed after 2 attempts within "
                              "the 60 s retry budget: no answer from charts.example.com:443")
    assert len(calls) == 2


def test_oci_manifests_that_are_not_helm_charts_are_refused() -> None:
    import json

    from bpkit.oci.artifact import CHART_LAYER_MEDIA_TYPE, CONFIG_MEDIA_TYPE
    from bpkit.upstream.resolve import _chart_layer

    up = Upstream("demo", "1.0.0", "oci://r.example/charts")
    layer = {"mediaType": CHART_LAYER_MEDIA_TYPE, "digest": "sha256:" + "a" * 64, "size": 10}
    good = {"config": {"mediaType": CONFIG_MEDIA_TYPE}, "layers": [layer]}
    assert _chart_layer(up, up.repo, json.dumps(good).encode()) == ("sha256:" + "a" * 64, 10)
    bad = [
        ({"config": {"mediaType": "application/vnd.oci.image.config.v1+json"},
          "layers": [layer]}, "not a Helm chart"),
        ({**good, "layers": [layer, {"mediaType": "application/x-evil"}]},
         "unknown layer media type"),
        ({**good, "layers": []}, "found 0"),
        ({**good, "layers": [{**layer, "size": -1}]}, "no valid size"),
    ]
    for manifest, needle in bad:
        with pytest.raises(UpstreamError, match=needle):
            _chart_layer(up, up.repo, json.dumps(manifest).encode())
    with pytest.raises(UpstreamError, match="not JSON"):
        _chart_layer(up, up.repo, b"<html>")


def test_an_invalid_upstream_block_is_refused_before_any_request(tmp_path: Path) -> None:
    from tests.helpers.blueprints import write_blueprint
    from tests.helpers.cli import bpkit

    write_blueprint(tmp_path, "plain", upstream=("plain", "1.0.0", "http://charts.example.com"),
                    locked=False)
    write_blueprint(tmp_path, "evil", upstream=("evil\x1b[2J", "1.0.0", "https://x.example"),
                    locked=False)
    run = bpkit("upstream", "lock", cwd=tmp_path,
                env={"BPKIT_CACHE_DIR": str(tmp_path / "c"), "HTTPS_PROXY": "http://127.0.0.1:9"})
    assert run.code == 1
    errors = [line for line in run.err.splitlines() if line.startswith("bpkit: error:")]
    assert len(errors) == 2, run.err
    assert "plain/chart/values.yaml: catalystBlueprint.upstream: repo:" in errors[1]
    assert "evil/chart/values.yaml:2: character U+001B is not allowed in YAML" in errors[0]
    assert "\x1b" not in run.err + run.out
    assert not (tmp_path / "c").exists()  # nothing was fetched
