"""`bpkit upstream lock` / `fetch` against a real HTTPS Helm repository on 127.0.0.1.

The repository is a TLS server with a test CA (tests/integration/upstream_repo.py)
serving synthetic upstream charts packed by the tests; every command is the
real `bpkit` in a subprocess.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import socket
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from bpkit.source.lock import read_lock
from tests.helpers.blueprints import write_blueprint
from tests.helpers.cli import REPO, Run, bpkit
from tests.integration.upstream_repo import HelmRepoServer, index_yaml, make_chart, publish, sha256

pytestmark = pytest.mark.integration

PASSWORD = "ch4rt-s3cret-pw"
MakeServer = Callable[..., HelmRepoServer]


@pytest.fixture
def servers(tls_material: tuple[Path, Path, Path]) -> Iterator[list[HelmRepoServer]]:
    started: list[HelmRepoServer] = []
    yield started
    for server in started:
        server.stop()


@pytest.fixture
def make_server(tls_material: tuple[Path, Path, Path],
                servers: list[HelmRepoServer]) -> MakeServer:
    _, cert, key = tls_material

    def make(**kwargs: object) -> HelmRepoServer:
        server = HelmRepoServer(cert, key, **kwargs)  # type: ignore[arg-type]
        servers.append(server)
        return server

    return make


@pytest.fixture
def repo(make_server: MakeServer) -> HelmRepoServer:
    server = make_server()
    publish(server, [("openbao", "0.8.0", "2.1.0"), ("openbao", "0.8.1", "2.1.0"),
                     ("openbao", "0.9.0", "2.2.0"), ("flux2", "2.13.0", "2.3.0"),
                     ("flux2", "2.14.0", "2.4.0")])
    return server


@pytest.fixture
def env(tmp_path: Path, tls_material: tuple[Path, Path, Path]) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    return {"BPKIT_CACHE_DIR": str(tmp_path / "cache"), "HOME": str(home),
            "SSL_CERT_FILE": str(tls_material[0]), "XDG_CONFIG_HOME": str(home / ".config"),
            "BPKIT_MIRRORS": "", "NETRC": str(home / ".netrc"),
            "HELM_REPOSITORY_CONFIG": str(home / "repositories.yaml")}


def tree(root: Path, blueprints: dict[str, tuple[str, str, str]]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, upstream in blueprints.items():
        write_blueprint(root, name, upstream=upstream)
    return root


def run(root: Path, env: dict[str, str], *args: str) -> Run:
    result = bpkit("upstream", *args, cwd=root, env=env, timeout=120)
    assert "Traceback" not in result.err, result.err
    return result


def one_error(result: Run) -> str:
    errors = [line for line in result.err.splitlines() if line.startswith("bpkit: error:")]
    assert len(errors) == 1, result.err
    return errors[0]


# --------------------------------------------------------------------------- locking


def test_lock_writes_what_the_chart_says_and_is_stable(tmp_path: Path, repo: HelmRepoServer,
                                                       env: dict[str, str]) -> None:
    root = tree(tmp_path / "mono", {"bao": ("openbao", "0.8.1", repo.url),
                                    "flux": ("flux2", "2.13.0", repo.url + "/")})
    first = run(root, env, "lock")
    assert first.code == 0, first.err
    lock, problems = read_lock(root / "platform/bao/upstream.lock")
    assert problems == [] and lock is not None
    data = repo.files["/charts/openbao-0.8.1.tgz"]
    assert lock.digest == "sha256:" + sha256(data)
    assert (lock.chart, lock.version, lock.repo) == ("openbao", "0.8.1", repo.url)
    assert lock.app_version == "2.1.0" and lock.type == "application"
    assert lock.values_digest == "sha256:" + sha256(b"replicaCount: 1\nimage:\n  tag: latest\n")
    assert lock.schema_digest == "sha256:" + sha256(b'{"type": "object"}\n')
    assert repo.count("/index.yaml") == 1  # two blueprints, one repository, one index
    flux, _ = read_lock(root / "platform/flux/upstream.lock")
    assert flux is not None and flux.repo == repo.url + "/"  # as written in values.yaml
    cache = Path(env["BPKIT_CACHE_DIR"]) / "charts/sha256" / f"{sha256(data)}.tgz"
    assert cache.read_bytes() == data

    before = (root / "platform/bao/upstream.lock").stat().st_mtime_ns
    again = run(root, env, "lock")
    assert again.code == 0 and "2 unchanged" in again.err, again.err
    assert (root / "platform/bao/upstream.lock").stat().st_mtime_ns == before
    assert repo.seen[-1].conditional and repo.seen[-1].status == 304  # ETag revalidation
    assert repo.count("/charts/openbao-0.8.1.tgz") == 1  # no second download
    assert run(root, env, "lock", "--check").code == 0


def test_check_mode_writes_nothing_and_says_what_changed(tmp_path: Path, repo: HelmRepoServer,
                                                         env: dict[str, str]) -> None:
    root = tree(tmp_path / "mono", {"bao": ("openbao", "0.8.1", repo.url)})
    missing = run(root, env, "lock", "--check")
    assert missing.code == 1
    assert "upstream.lock: missing" in one_error(missing)
    assert not (root / "platform/bao/upstream.lock").exists()
    assert run(root, env, "lock").code == 0
    values = root / "platform/bao/chart/values.yaml"
    values.write_text(values.read_text().replace("0.8.1", "0.9.0"))
    before = (root / "platform/bao/upstream.lock").read_bytes()
    stale = run(root, env, "lock", "--check")
    assert stale.code == 1
    line = one_error(stale)
    assert "would change" in line and "version 0.8.1 -> 0.9.0" in line
    assert "app_version 2.1.0 -> 2.2.0" in line
    assert (root / "platform/bao/upstream.lock").read_bytes() == before
    assert run(root, env, "lock").code == 0
    assert b"version: 0.9.0" in (root / "platform/bao/upstream.lock").read_bytes()


def test_absolute_urls_and_a_repository_at_a_sub_path(tmp_path: Path, make_server: MakeServer,
                                                      env: dict[str, str]) -> None:
    server = make_server()
    data = make_chart("demo", "1.2.3")
    server.files["/stable/index.yaml"] = index_yaml(
        [("demo", "1.2.3", "1.0.0", "../downloads/demo-1.2.3.tgz", sha256(data))])
    server.files["/downloads/demo-1.2.3.tgz"] = data
    other = make_chart("other", "0.1.0")
    server.files["/abs/index.yaml"] = index_yaml(
        [("other", "0.1.0", None, f"{server.url}/elsewhere/other.tgz", None)])
    server.files["/elsewhere/other.tgz"] = other
    root = tree(tmp_path / "mono", {"demo": ("demo", "1.2.3", server.url + "/stable"),
                                    "other": ("other", "0.1.0", server.url + "/abs")})
    result = run(root, env, "lock")
    assert result.code == 0, result.err
    lock, _ = read_lock(root / "platform/other/upstream.lock")
    assert lock is not None and lock.digest == "sha256:" + sha256(other)
    assert lock.app_version is not None  # make_chart's default
    assert server.count("/downloads/demo-1.2.3.tgz") == 1


# --------------------------------------------------------------------------- credentials


def test_basic_auth_from_helm_repositories_yaml_stays_on_its_host(
        tmp_path: Path, make_server: MakeServer, env: dict[str, str]) -> None:
    private = make_server(auth=("chart-user", PASSWORD))
    cdn = make_server(host="localhost")  # another host (same CA)
    data = make_chart("secret-app", "1.0.0")
    cdn.files["/dl/secret-app-1.0.0.tgz"] = data
    private.files["/index.yaml"] = index_yaml(
        [("secret-app", "1.0.0", "1.0.0", f"{cdn.url}/dl/secret-app-1.0.0.tgz", sha256(data))])
    root = tree(tmp_path / "mono", {"app": ("secret-app", "1.0.0", private.url)})

    anonymous = run(root, env, "lock")
    assert anonymous.code == 1
    line = one_error(anonymous)
    assert private.url in line and "HTTP 401" in line and "none were found" in line

    Path(env["HELM_REPOSITORY_CONFIG"]).write_text(
        "apiVersion: \"\"\nrepositories:\n"
        f"- name: private\n  url: {private.url}/\n  username: chart-user\n"
        f"  password: {PASSWORD}\n")
    ok = run(root, env, "lock")
    assert ok.code == 0, ok.err
    assert private.seen[-1].authorized
    assert cdn.seen and not any(s.authorized for s in cdn.seen)  # never sent to the CDN
    assert PASSWORD not in ok.out + ok.err
    assert base64.b64encode(f"chart-user:{PASSWORD}".encode()).decode() not in ok.out + ok.err

    Path(env["HELM_REPOSITORY_CONFIG"]).write_text(
        f"repositories:\n- url: {private.url}\n  username: chart-user\n  password: wrong\n")
    (root / "platform/app/upstream.lock").unlink()
    refused = run(root, env, "lock")
    assert refused.code == 1 and "credentials found were refused" in one_error(refused)
    assert "wrong" not in refused.err.replace("wrong-", "")


def test_basic_auth_from_netrc(tmp_path: Path, make_server: MakeServer,
                               env: dict[str, str]) -> None:
    private = make_server(auth=("netrc-user", PASSWORD))
    publish(private, [("app", "1.0.0", "1.0")])
    netrc = Path(env["NETRC"])
    netrc.write_text(f"machine 127.0.0.1 login netrc-user password {PASSWORD}\n")
    netrc.chmod(0o600)
    root = tree(tmp_path / "mono", {"app": ("app", "1.0.0", private.url)})
    result = run(root, env, "lock")
    assert result.code == 0, result.err
    assert all(s.authorized for s in private.seen if s.status == 200)


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(("upstream", "expected"), [
    (("flux", "2.13.0"), "no chart named flux; did you mean flux2?"),
    (("openbao", "2.1.0"), "openbao 2.1.0 is an appVersion, not a chart version; chart "
                           "versions with appVersion 2.1.0: 0.8.0, 0.8.1"),
    (("openbao", "0.8.5"), "chart openbao has no version 0.8.5; nearest: 0.8.0, 0.8.1, 0.9.0"),
])
def test_errors_that_say_what_to_do(tmp_path: Path, repo: HelmRepoServer, env: dict[str, str],
                                    upstream: tuple[str, str], expected: str) -> None:
    root = tree(tmp_path / "mono", {"x": (*upstream, repo.url)})
    result = run(root, env, "lock")
    assert result.code == 1
    line = one_error(result)
    assert repo.url in line and expected in line, line
    assert not (root / "platform/x/upstream.lock").exists()


def test_unreachable_missing_and_untrusted_repositories(tmp_path: Path, repo: HelmRepoServer,
                                                        env: dict[str, str]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    cases = {
        "gone": (f"https://127.0.0.1:{dead}", "connection refused"),
        "notrepo": (repo.url + "/nothing-here", "index.yaml: not found (HTTP 404)"),
    }
    for name, (url, expected) in cases.items():
        root = tree(tmp_path / name, {"x": ("flux2", "2.13.0", url)})
        started = time.monotonic()
        result = run(root, env, "lock")
        assert time.monotonic() - started < 30
        assert result.code == 1
        line = one_error(result)
        assert url in line and expected in line, line
    root = tree(tmp_path / "tls", {"x": ("flux2", "2.13.0", repo.url)})
    untrusted = run(root, {**env, "SSL_CERT_FILE": ""}, "lock")
    assert untrusted.code == 1
    line = one_error(untrusted)
    assert "TLS error" in line and "--ca-file" in line, line
    ca = env["SSL_CERT_FILE"]
    trusted = run(root, {**env, "SSL_CERT_FILE": ""}, "lock", "--ca-file", ca)
    assert trusted.code == 0, trusted.err


def test_gateway_errors_are_retried_within_the_budget(tmp_path: Path, repo: HelmRepoServer,
                                                      env: dict[str, str]) -> None:
    def busy(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(503)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    repo.special["/index.yaml"] = busy
    root = tree(tmp_path / "mono", {"x": ("flux2", "2.13.0", repo.url)})
    started = time.monotonic()
    result = run(root, env, "lock", "--retry-budget", "2")
    elapsed = time.monotonic() - started
    assert result.code == 1
    line = one_error(result)
    assert "retry budget" in line and "HTTP 503" in line and repo.url in line, line
    assert repo.count("/index.yaml") >= 2 and elapsed < 20


# --------------------------------------------------------------------------- mirrors, digests


def test_mirror_serves_the_chart_and_the_lock_keeps_the_canonical_repo(
        tmp_path: Path, repo: HelmRepoServer, env: dict[str, str]) -> None:
    canonical = "https://charts.example.invalid/flux"
    root = tree(tmp_path / "mono", {"flux": ("flux2", "2.13.0", canonical)})
    (root / "pyproject.toml").write_text(
        f'[tool.bpkit.mirrors]\n"{canonical}" = "{repo.url}"\n')
    result = run(root, env, "lock")
    assert result.code == 0, result.err
    lock, _ = read_lock(root / "platform/flux/upstream.lock")
    assert lock is not None and lock.repo == canonical
    (root / "pyproject.toml").unlink()
    # The environment variable does the same (and with no mirror, nothing resolves).
    assert run(root, {**env, "BPKIT_MIRRORS": f"{canonical}={repo.url}"}, "lock",
               "--check").code == 0


def test_a_mirror_or_a_republish_with_other_bytes_is_an_error_naming_both_digests(
        tmp_path: Path, make_server: MakeServer, env: dict[str, str]) -> None:
    origin = make_server()
    publish(origin, [("demo", "1.0.0", "1.0")])
    root = tree(tmp_path / "mono", {"demo": ("demo", "1.0.0", origin.url)})
    assert run(root, env, "lock").code == 0
    locked = "sha256:" + sha256(origin.files["/charts/demo-1.0.0.tgz"])

    mirror = make_server()
    publish(mirror, [("demo", "1.0.0", "1.0")], values="replicaCount: 2\n")  # other bytes
    other = "sha256:" + sha256(mirror.files["/charts/demo-1.0.0.tgz"])
    fresh = {**env, "BPKIT_CACHE_DIR": str(tmp_path / "cache2"),
             "BPKIT_MIRRORS": f"{origin.url}={mirror.url}"}
    for args in (("fetch",), ("lock", "--check")):
        result = run(root, fresh, *args)
        assert result.code == 1, result.err
        line = one_error(result)
        assert locked in line and other in line and "mirror" in line, line

    # The origin re-publishes 1.0.0 with other bytes (index digest included).
    publish(origin, [("demo", "1.0.0", "1.0")], values="replicaCount: 3\n")
    new = "sha256:" + sha256(origin.files["/charts/demo-1.0.0.tgz"])
    result = run(root, env, "lock")
    assert result.code == 1
    line = one_error(result)
    assert locked in line and new in line and "re-published" in line, line
    # Without an index digest the download itself is checked.
    publish(origin, [("demo", "1.0.0", "1.0")], values="replicaCount: 3\n", digests=False)
    result = run(root, {**env, "BPKIT_CACHE_DIR": str(tmp_path / "cache3")}, "fetch")
    assert result.code == 1 and locked in one_error(result) and new in one_error(result)
    assert read_lock(root / "platform/demo/upstream.lock")[0].digest == locked  # type: ignore[union-attr]


def test_warm_cache_works_with_the_network_gone(tmp_path: Path, repo: HelmRepoServer,
                                                env: dict[str, str]) -> None:
    root = tree(tmp_path / "mono", {"bao": ("openbao", "0.8.1", repo.url),
                                    "flux": ("flux2", "2.14.0", repo.url)})
    assert run(root, env, "lock").code == 0
    cold = {**env, "BPKIT_CACHE_DIR": str(tmp_path / "ci-cache")}
    filled = run(root, cold, "fetch")
    assert filled.code == 0 and "2 fetched" in filled.err, filled.err
    repo.stop()
    again = run(root, cold, "fetch")
    assert again.code == 0 and "2 cached" in again.err, again.err
    # A damaged cache file is not trusted: fetch needs the (gone) network again.
    bad = next((tmp_path / "ci-cache/charts/sha256").iterdir())
    bad.write_bytes(b"damaged")
    broken = run(root, cold, "fetch")
    assert broken.code == 1 and "connection refused" in one_error(broken)


# --------------------------------------------------------------------------- hostile input


def test_a_200_mb_index_is_refused_without_reading_it(tmp_path: Path, repo: HelmRepoServer,
                                                      env: dict[str, str]) -> None:
    sent = {"bytes": 0}

    def huge(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", str(200 * 1024 * 1024))
        handler.end_headers()
        chunk = b"# padding\n" * 6554
        try:
            for _ in range(3200):
                handler.wfile.write(chunk)
                sent["bytes"] += len(chunk)
        except OSError:
            pass

    repo.special["/index.yaml"] = huge
    root = tree(tmp_path / "mono", {"x": ("flux2", "2.13.0", repo.url)})
    result = run(root, env, "lock")
    assert result.code == 1
    line = one_error(result)
    assert "200.0 MiB, over the 64 MiB" in line and "not read" in line, line
    assert sent["bytes"] < 64 * 1024 * 1024


def test_an_alias_bomb_index_is_refused(tmp_path: Path, repo: HelmRepoServer,
                                        env: dict[str, str]) -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    repo.files["/index.yaml"] = ("apiVersion: v1\n" + "\n".join(lines)
                                 + "\nentries: {bomb: *a9}\n").encode()
    root = tree(tmp_path / "mono", {"x": ("flux2", "2.13.0", repo.url)})
    started = time.monotonic()
    result = run(root, env, "lock")
    assert result.code == 1 and time.monotonic() - started < 30
    line = one_error(result)
    assert "index.yaml" in line and "alias bomb" in line and repo.url in line, line


def _tgz(members: dict[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def test_a_chart_with_path_traversal_is_refused(tmp_path: Path, repo: HelmRepoServer,
                                                env: dict[str, str]) -> None:
    evil = _tgz({"evil/Chart.yaml": b"apiVersion: v2\nname: evil\nversion: 1.0.0\n",
                 "evil/../../escape.txt": b"pwned"})
    repo.files["/evil-1.0.0.tgz"] = evil
    repo.files["/index.yaml"] = index_yaml([("evil", "1.0.0", None, "evil-1.0.0.tgz",
                                            sha256(evil))])
    root = tree(tmp_path / "mono", {"evil": ("evil", "1.0.0", repo.url)})
    result = run(root, env, "lock")
    assert result.code == 1
    line = one_error(result)
    assert "evil 1.0.0" in line and "refusing the chart archive" in line and ".." in line, line
    assert not (root / "platform/evil/upstream.lock").exists()
    assert not list((tmp_path).rglob("escape.txt"))


def test_a_chart_that_is_not_what_the_index_says(tmp_path: Path, repo: HelmRepoServer,
                                                 env: dict[str, str]) -> None:
    imposter = make_chart("other-name", "1.0.0")
    repo.files["/x.tgz"] = imposter
    repo.files["/index.yaml"] = index_yaml([("demo", "1.0.0", None, "x.tgz", None)])
    root = tree(tmp_path / "mono", {"demo": ("demo", "1.0.0", repo.url)})
    result = run(root, env, "lock")
    assert result.code == 1 and "holds chart 'other-name', not demo" in one_error(result)


# --------------------------------------------------------------------------- parallel runs


def test_two_parallel_lock_runs_share_a_cache(tmp_path: Path, repo: HelmRepoServer,
                                              env: dict[str, str]) -> None:
    roots = [tree(tmp_path / f"mono{i}", {"bao": ("openbao", "0.8.1", repo.url),
                                         "flux": ("flux2", "2.13.0", repo.url)})
             for i in range(2)]
    full_env = {**os.environ, **env,
                "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    procs = [subprocess.Popen([sys.executable, "-m", "bpkit", "upstream", "lock"], cwd=root,
                              env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for root in roots]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    locks = [(r / "platform/bao/upstream.lock").read_bytes() for r in roots]
    assert locks[0] == locks[1]
    cache = Path(env["BPKIT_CACHE_DIR"])
    files = sorted(p.name for p in (cache / "charts/sha256").iterdir())
    assert len(files) == 2 and not any(f.startswith(".") for f in files)
    for name in files:
        data = (cache / "charts/sha256" / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == name.removesuffix(".tgz")


def test_fifty_blueprints_cost_one_index_request_and_one_download_each(
        tmp_path: Path, make_server: MakeServer, env: dict[str, str]) -> None:
    server = make_server()
    publish(server, [(f"chart{i}", "1.0.0", "1.0") for i in range(50)])
    root = tree(tmp_path / "mono", {f"bp{i}": (f"chart{i}", "1.0.0", server.url)
                                    for i in range(50)})
    assert run(root, env, "lock").code == 0
    assert server.count("/index.yaml") == 1
    downloads = [s for s in server.seen if s.path.endswith(".tgz")]
    assert len(downloads) == 50 and len({s.path for s in downloads}) == 50
    server.seen.clear()
    again = run(root, env, "lock")
    assert again.code == 0 and "50 unchanged" in again.err
    assert [(s.path, s.status) for s in server.seen] == [("/index.yaml", 304)]
