"""`bpkit publish` and `bpkit package` end to end: the real command, real registries, skopeo.

Every test works on a temporary monorepo holding a copy of the project's own
`platform/` (the ten wrappers), committed with git at a pinned date so the
reproducible timestamps come from git as in CI. Results are checked by
reading the registry directly (urllib, skopeo), never through bpkit.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.helpers.cli import Run
from tests.helpers.git import PLATFORM, git, platform_repo, set_version
from tests.helpers.publish import TAG, no_secret, run

if TYPE_CHECKING:
    from tests.integration.conftest import RunningRegistry
    from tests.integration.faultproxy import FaultProxy

pytestmark = pytest.mark.integration

NAMES = sorted(p.name for p in PLATFORM.iterdir() if (p / "blueprint.yaml").is_file())
CHARTS = [f"bp-{n}" for n in NAMES]
_REPO_PATH = re.compile(r"^/v2/openova-io/([^/]+)/")


# --------------------------------------------------------------------------- helpers


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return platform_repo(tmp_path)


def results(r: Run) -> dict[str, dict[str, Any]]:
    """`--format json` output, by chart name."""
    data = json.loads(r.out)
    return {row["name"]: row for row in data["results"]}


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def per_repository(proxy: FaultProxy) -> dict[str, int]:
    counts: dict[str, int] = {}
    for call in proxy.calls:
        match = _REPO_PATH.match(call.path)
        key = match.group(1) if match else call.path
        counts[key] = counts.get(key, 0) + 1
    return counts


def assert_absent_or_complete(reg: RunningRegistry, name: str, tag: str = TAG) -> None:
    """The tag does not exist, or serves a manifest whose blobs are all there and intact."""
    raw = reg.manifest(name, tag)
    if raw is None:
        assert tag not in reg.tags(name)
        return
    manifest = json.loads(raw)
    for desc in [manifest["config"], *manifest["layers"]]:
        blob = reg.blob(name, desc["digest"])
        assert blob is not None, f"{name}:{tag} points to a missing blob {desc['digest']}"
        assert sha256(blob) == desc["digest"]
        assert len(blob) == desc["size"]


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def change_values(repo: Path, name: str = "flux") -> None:
    """Edit values.yaml without bumping the version (and commit, as CI would)."""
    values = repo / "platform" / name / "chart" / "values.yaml"
    values.write_text(values.read_text() + "\nextraOverlayKey: true\n")
    git(repo, "commit", "-q", "-am", f"{name}: change values without a version bump")


# --------------------------------------------------------------------------- publish --all


def test_publish_all_then_unchanged_with_two_requests_each(
    repo: Path, registry: RunningRegistry, fault_proxy: FaultProxy
) -> None:
    first = run(repo, "publish", "--all", "--registry", fault_proxy.url)
    assert first.code == 0, first.out + first.err
    rows = [line.split() for line in first.lines[1:11]]
    assert first.lines[0].split() == ["BLUEPRINT", "VERSION", "STATUS", "DIGEST"]
    assert [r[0] for r in rows] == CHARTS
    assert all(r[1:3] == [TAG, "published"] for r in rows), first.out
    assert f"10 of 10 published to {fault_proxy.url}" in first.out
    printed = {r[0]: r[3] for r in rows}
    for chart in CHARTS:
        raw = registry.skopeo_raw(chart, TAG)  # the real registry, not the proxy
        assert sha256(raw) == printed[chart]
        manifest = json.loads(raw)
        assert manifest["annotations"]["org.opencontainers.image.title"] == chart
        assert "io.openova.catalyst.upstream.chart" in manifest["annotations"]
        config = json.loads(registry.skopeo_raw(chart, TAG, config=True))
        assert (config["name"], config["version"]) == (chart, TAG)
    counts = per_repository(fault_proxy)
    assert set(counts) == set(CHARTS), fault_proxy.summary()
    # 8 to push (the tag checked again before the manifest PUT), 2 to read the
    # blobs back for the checks bpkit verify makes
    assert all(n <= 10 for n in counts.values()), counts

    fault_proxy.clear()
    again = run(repo, "publish", "--all", "--registry", fault_proxy.url, "--format", "json")
    assert again.code == 0, again.out + again.err
    data = json.loads(again.out)
    assert data["version"] == 1
    assert data["destination"] == fault_proxy.url
    by_name = results(again)
    assert sorted(by_name) == CHARTS
    for chart, row in by_name.items():
        assert set(row) == {"blueprint", "name", "version", "reference", "digest", "status",
                            "ok", "message", "notes"}
        assert row["notes"] == []
        assert row["status"] == "unchanged" and row["ok"] is True
        assert row["digest"] == printed[chart]
        assert row["reference"] == f"{fault_proxy.host}/openova-io/{chart}:{TAG}"
        assert row["blueprint"] == "platform/" + chart.removeprefix("bp-")
    # Two requests per unchanged blueprint: the tag check, and the GET whose
    # bytes prove that the tag serves our digest.
    assert per_repository(fault_proxy) == dict.fromkeys(CHARTS, 2), fault_proxy.summary()
    assert fault_proxy.count("HEAD", "/manifests/") == 10
    assert fault_proxy.count("GET", "/manifests/") == 10


def test_github_outputs_and_summary(repo: Path, registry: RunningRegistry, tmp_path: Path) -> None:
    out, summary = tmp_path / "github_output", tmp_path / "step_summary"
    env = {"GITHUB_OUTPUT": str(out), "GITHUB_STEP_SUMMARY": str(summary)}
    one = run(repo, "publish", "flux", "--registry", registry.url, "--format", "json", env=env)
    assert one.code == 0, one.err
    row = results(one)["bp-flux"]
    values = dict(line.split("=", 1) for line in out.read_text().splitlines())
    assert list(values) == ["results", "ref", "digest", "version"]
    assert (values["ref"], values["digest"], values["version"]) == (
        f"{registry.host}/openova-io/bp-flux:{TAG}", row["digest"], TAG)
    assert [r["digest"] for r in json.loads(values["results"])] == [row["digest"]]
    assert "| bp-flux | 1.0.0 | published |" in summary.read_text()

    out.unlink()
    summary.unlink()
    many = run(repo, "publish", "--all", "--registry", registry.url, "--format", "json", env=env)
    assert many.code == 0, many.err
    by_name = results(many)
    values = dict(line.split("=", 1) for line in out.read_text().splitlines())
    assert set(values) == {"results"}  # one type whatever the count: no scalars
    rows = json.loads(values["results"])
    assert [r["reference"] for r in rows] == [f"{registry.host}/openova-io/{c}:{TAG}"
                                              for c in CHARTS]
    assert [r["digest"] for r in rows] == [by_name[c]["digest"] for c in CHARTS]
    assert {r["version"] for r in rows} == {TAG} and all(r["ok"] for r in rows)
    table = summary.read_text().splitlines()
    header = table.index("| Blueprint | Version | Status | Digest |")
    assert table[header + 1] == "|---|---|---|---|"
    rows = table[header + 2 : header + 12]
    assert [r.split("|")[1].strip() for r in rows] == CHARTS
    assert all("| unchanged |" in r or "| published |" in r for r in rows)


# --------------------------------------------------------------------------- immutability


def test_changed_content_same_version_is_refused_then_forced(
    repo: Path, registry: RunningRegistry
) -> None:
    first = run(repo, "publish", "flux", "--registry", registry.url, "--format", "json")
    assert first.code == 0, first.err
    old = results(first)["bp-flux"]["digest"]
    old_manifest = registry.manifest("bp-flux", TAG)
    change_values(repo)

    refused = run(repo, "publish", "flux", "--registry", registry.url)
    assert refused.code == 1
    new = re.search(r"replace it with (sha256:[0-9a-f]{64})", refused.out)
    assert new is not None, refused.out
    assert new.group(1) != old
    assert old in refused.out and "--force" in refused.out
    assert "refused" in refused.out
    assert registry.manifest("bp-flux", TAG) == old_manifest

    dry = run(repo, "publish", "flux", "--registry", registry.url, "--dry-run", "--format",
              "json")
    assert dry.code == 1
    row = results(dry)["bp-flux"]
    assert row["status"] == "would refuse" and old in row["message"]
    assert row["digest"] == new.group(1)
    dry_force = run(repo, "publish", "flux", "--registry", registry.url, "--dry-run", "--force",
                    "--format", "json")
    assert dry_force.code == 0
    row = results(dry_force)["bp-flux"]
    assert row["status"] == "would publish" and old in row["message"]
    assert registry.manifest("bp-flux", TAG) == old_manifest  # dry runs push nothing

    forced = run(repo, "publish", "flux", "--registry", registry.url, "--force", "--format",
                 "json")
    assert forced.code == 0, forced.err
    row = results(forced)["bp-flux"]
    assert row["status"] == "overwritten" and old in row["message"]
    served = registry.skopeo_raw("bp-flux", TAG)
    assert sha256(served) == new.group(1) == row["digest"]


def test_dry_run_pushes_nothing(repo: Path, registry: RunningRegistry) -> None:
    dry = run(repo, "publish", "--all", "--registry", registry.url, "--dry-run")
    assert dry.code == 0, dry.out + dry.err
    assert sum("would publish" in line for line in dry.lines) == 10
    assert "10 of 10 checked against" in dry.out
    for chart in CHARTS:
        assert registry.tags(chart) == []
    # Nothing stored at all: no repository, no blob.
    assert not (registry.root / "docker" / "registry" / "v2" / "repositories").exists()
    assert not (repo / "dist").exists()


# --------------------------------------------------------------------------- credentials


def _files_holding(root: Path, secret: str) -> list[Path]:
    hits = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink() and secret.encode() in path.read_bytes():
            hits.append(path)
    return hits


def test_credentials_from_password_stdin(repo: Path, auth_registry: RunningRegistry) -> None:
    assert auth_registry.password is not None
    r = run(repo, "publish", "flux", "--registry", auth_registry.url, "--username",
            str(auth_registry.username), "--password-stdin", stdin=auth_registry.password + "\n")
    assert r.code == 0, r.out + r.err
    assert "published" in r.out
    no_secret(r, auth_registry.password)
    assert sha256(auth_registry.skopeo_raw("bp-flux", TAG)) in r.out
    home = repo.parent / "home"
    assert not (home / ".docker").exists()
    assert _files_holding(repo.parent, auth_registry.password) == []


def test_credentials_from_environment(repo: Path, auth_registry: RunningRegistry) -> None:
    assert auth_registry.username is not None and auth_registry.password is not None
    env = {"BPKIT_REGISTRY_USERNAME": auth_registry.username,
           "BPKIT_REGISTRY_PASSWORD": auth_registry.password,
           "BPKIT_REGISTRY": auth_registry.url}
    r = run(repo, "publish", "--all", env=env)
    assert r.code == 0, r.out + r.err
    assert f"10 of 10 published to {auth_registry.url}" in r.out
    no_secret(r, auth_registry.password)
    for chart in CHARTS:
        assert auth_registry.tags(chart) == [TAG]
    assert not (repo.parent / "home" / ".docker").exists()
    assert _files_holding(repo.parent, auth_registry.password) == []


def test_wrong_password_fails_fast_without_showing_it(
    repo: Path, auth_registry: RunningRegistry
) -> None:
    wrong = "Wr0ng-but-Secret-9f3e"
    env = {"BPKIT_REGISTRY_USERNAME": str(auth_registry.username),
           "BPKIT_REGISTRY_PASSWORD": wrong}
    start = time.monotonic()
    r = run(repo, "publish", "flux", "cilium", "--registry", auth_registry.url, env=env)
    elapsed = time.monotonic() - start
    assert r.code == 1
    assert elapsed < 5, f"took {elapsed:.1f} s"
    assert f"authentication failed for {auth_registry.host}" in r.out + r.err
    assert "Traceback" not in r.err
    no_secret(r, wrong)
    assert auth_registry.tags("bp-flux") == []

    stdin = run(repo, "publish", "flux", "--registry", auth_registry.url, "--username",
                str(auth_registry.username), "--password-stdin", stdin=wrong)
    assert stdin.code == 1
    assert f"authentication failed for {auth_registry.host}" in stdin.out + stdin.err
    no_secret(stdin, wrong)
    assert _files_holding(repo.parent, wrong) == []


def test_credentials_from_docker_config(
    repo: Path, auth_registry: RunningRegistry, tmp_path: Path
) -> None:
    assert auth_registry.password is not None
    config_dir = tmp_path / "dockercfg"
    config_dir.mkdir()
    auth = base64.b64encode(f"{auth_registry.username}:{auth_registry.password}".encode())
    config = json.dumps({"auths": {auth_registry.host: {"auth": auth.decode()}}}).encode()
    (config_dir / "config.json").write_bytes(config)
    before = sorted(p.name for p in config_dir.iterdir())
    r = run(repo, "publish", "flux", "--registry", auth_registry.url,
            env={"DOCKER_CONFIG": str(config_dir)})
    assert r.code == 0, r.out + r.err
    assert auth_registry.tags("bp-flux") == [TAG]
    no_secret(r, auth_registry.password)
    assert (config_dir / "config.json").read_bytes() == config
    assert sorted(p.name for p in config_dir.iterdir()) == before
    assert not (repo.parent / "home" / ".docker").exists()
    # Without the config the registry refuses: the credentials really came from it.
    anonymous = run(repo, "publish", "cilium", "--registry", auth_registry.url)
    assert anonymous.code == 1
    assert f"authentication failed for {auth_registry.host}" in anonymous.out + anonymous.err


# --------------------------------------------------------------------------- TLS and refusals


def test_tls_registry_with_ca_file(repo: Path, tls_registry: RunningRegistry) -> None:
    assert tls_registry.ca_file is not None
    r = run(repo, "publish", "flux", "--registry", tls_registry.url, "--ca-file",
            str(tls_registry.ca_file), "--format", "json")
    assert r.code == 0, r.out + r.err
    row = results(r)["bp-flux"]
    assert row["status"] == "published"
    assert sha256(tls_registry.manifest("bp-flux", TAG) or b"") == row["digest"]

    # A CA that did not sign the registry's certificate: a clear TLS error.
    other_ca = Path("/etc/ssl/certs/ca-certificates.crt")
    if other_ca.is_file():
        bad = run(repo, "publish", "cilium", "--registry", tls_registry.url, "--ca-file",
                  str(other_ca), "--format", "json")
        assert bad.code == 1
        message = results(bad)["bp-cilium"]["message"]
        assert message.startswith(f"TLS error talking to {tls_registry.host}"), message
        assert "\n" not in message
        assert tls_registry.tags("bp-cilium") == []

    # No CA file: loopback means plain HTTP, and the message says what to do.
    plain = run(repo, "publish", "cilium", "--registry", tls_registry.url, "--format", "json")
    assert plain.code == 1
    assert "pass --ca-file" in results(plain)["bp-cilium"]["message"]


def test_refused_connection_fails_fast(repo: Path) -> None:
    port = free_port()
    start = time.monotonic()
    r = run(repo, "publish", "flux", "--registry", f"oci://127.0.0.1:{port}/openova-io",
            "--retry-budget", "30")
    elapsed = time.monotonic() - start
    assert r.code == 1
    assert elapsed < 5, f"took {elapsed:.1f} s"
    assert "Traceback" not in r.out + r.err
    lines = [line for line in r.lines if line.startswith("bp-flux: ")]
    assert lines == [f"bp-flux: cannot connect to 127.0.0.1:{port}: connection refused"]
    assert "0 of 1 published" in r.out


# --------------------------------------------------------------------------- faults


def _publish_through(repo: Path, proxy: FaultProxy, *names: str,
                     budget: float = 10) -> tuple[Run, float]:
    start = time.monotonic()
    r = run(repo, "publish", *names, "--registry", proxy.url, "--retry-budget", str(budget),
            "--format", "json")
    return r, time.monotonic() - start


def test_transient_503s_then_published(
    repo: Path, registry: RunningRegistry, fault_proxy: FaultProxy
) -> None:
    head = fault_proxy.inject("status", "HEAD", "/manifests/", status=503, times=2)
    post = fault_proxy.inject("status", "POST", "/blobs/uploads/", status=502, times=1)
    put = fault_proxy.inject("status", "PUT", "/manifests/", status=504, times=1)
    r, _ = _publish_through(repo, fault_proxy, "flux")
    assert r.code == 0, r.out + r.err
    assert (head.hits, post.hits, put.hits) == (2, 1, 1)
    # Each retry is a line in the log (stderr is a pipe here, as in CI).
    retries = [line for line in r.err.splitlines() if "retrying in" in line]
    assert len(retries) == 4, r.err
    assert retries[0].startswith(f"  {fault_proxy.host}: checking the tag: retrying in ")
    assert retries[0].endswith(" s after HTTP 503 Service Unavailable")
    assert "uploading the config blob: retrying in" in retries[2] and "HTTP 502" in retries[2]
    assert "  ok bp-flux:1.0.0 published" in r.err.splitlines()
    row = results(r)["bp-flux"]
    assert row["status"] == "published"
    assert sha256(registry.skopeo_raw("bp-flux", TAG)) == row["digest"]


def test_429_retry_after_is_honoured(
    repo: Path, registry: RunningRegistry, fault_proxy: FaultProxy
) -> None:
    fault = fault_proxy.inject("status", "HEAD", "/manifests/", status=429,
                               headers={"Retry-After": "2"}, times=1)
    r, elapsed = _publish_through(repo, fault_proxy, "flux")
    assert r.code == 0, r.out + r.err
    assert fault.hits == 1
    assert elapsed >= 2.0, f"Retry-After: 2 not honoured ({elapsed:.2f} s)"
    assert (f"  {fault_proxy.host}: checking the tag: retrying in 2 s after HTTP 429"
            in r.err), r.err
    assert results(r)["bp-flux"]["status"] == "published"
    assert registry.tags("bp-flux") == [TAG]


def test_reset_mid_upload_and_stall_then_published(
    repo: Path, registry: RunningRegistry, fault_proxy: FaultProxy
) -> None:
    reset = fault_proxy.inject("reset", "PUT", "/blobs/uploads/.+", times=1)
    stall = fault_proxy.inject("stall", "GET", "/manifests/", stall=1.0, times=1)
    r, _ = _publish_through(repo, fault_proxy, "flux")
    assert r.code == 0, r.out + r.err
    assert (reset.hits, stall.hits) == (1, 1)
    row = results(r)["bp-flux"]
    assert row["status"] == "published"
    assert sha256(registry.skopeo_raw("bp-flux", TAG)) == row["digest"]
    assert_absent_or_complete(registry, "bp-flux")


@pytest.mark.parametrize(
    ("action", "method", "path", "extra"),
    [
        ("status", "PUT", "/manifests/", {"status": 503}),  # the manifest never lands
        ("reset", "PUT", "/blobs/uploads/.+", {}),  # no blob upload ever completes
        # The registry stores the manifest but the answer is always lost.
        ("drop", "PUT", "/manifests/", {"forward_first": True}),
    ],
    ids=["503-forever", "reset-forever", "lost-answers"],
)
def test_faults_that_never_pass_fail_in_bounded_time(
    repo: Path, registry: RunningRegistry, fault_proxy: FaultProxy,
    action: str, method: str, path: str, extra: dict[str, Any],
) -> None:
    budget = 2.0
    fault_proxy.inject(action, method, path, times=None, **extra)  # type: ignore[arg-type]
    r, elapsed = _publish_through(repo, fault_proxy, "flux", "cilium", budget=budget)
    assert r.code == 1
    # Process start-up plus the last attempt on top of the budget.
    assert elapsed < budget + 3, f"took {elapsed:.1f} s with a {budget} s budget"
    for chart in ("bp-flux", "bp-cilium"):
        row = results(r)[chart]
        assert row["status"] == "failed"
        assert "retry budget" in row["message"] and "\n" not in row["message"]
        assert_absent_or_complete(registry, chart)
    assert "Traceback" not in r.err


def test_retry_after_beyond_the_budget_fails_at_once(
    repo: Path, registry: RunningRegistry, fault_proxy: FaultProxy
) -> None:
    fault_proxy.inject("status", "HEAD", "/manifests/", status=429,
                       headers={"Retry-After": "120"}, times=None)
    r, elapsed = _publish_through(repo, fault_proxy, "flux", budget=5)
    assert r.code == 1
    assert elapsed < 4, f"waited {elapsed:.1f} s for a wait that cannot fit the budget"
    message = results(r)["bp-flux"]["message"]
    assert "HTTP 429" in message and "120" in message
    assert registry.tags("bp-flux") == []


# --------------------------------------------------------------------------- concurrency


def test_two_publishers_at_once(repo: Path, registry: RunningRegistry) -> None:
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = list(pool.map(
            lambda _: run(repo, "publish", "--all", "--registry", registry.url,
                          "--format", "json"),
            range(2),
        ))
    for r in runs:
        assert r.code == 0, r.out + r.err
    a, b = (results(r) for r in runs)
    revisions = (registry.root / "docker" / "registry" / "v2" / "repositories" / "openova-io")
    for chart in CHARTS:
        assert a[chart]["digest"] == b[chart]["digest"]
        assert {a[chart]["status"], b[chart]["status"]} <= {"published", "unchanged"}
        assert registry.tags(chart) == [TAG]
        assert sha256(registry.manifest(chart, TAG) or b"") == a[chart]["digest"]
        stored = list((revisions / chart / "_manifests" / "revisions" / "sha256").iterdir())
        assert len(stored) == 1, f"{chart}: {len(stored)} manifests stored"


def test_rival_publishers_of_other_content_one_wins_the_other_exits_1(
    repo: Path, tmp_path: Path, registry: RunningRegistry
) -> None:
    """Two CI jobs publish one version with different content at the same moment.

    Whatever the interleaving, exactly one reports "published", the tag
    serves its digest, and the other exits 1 naming both digests (refused
    before its manifest PUT, or failing its read-back after it).
    """
    rival = platform_repo(tmp_path / "rival")
    change_values(rival)
    for version in ("1.0.1", "1.0.2", "1.0.3"):
        for root in (repo, rival):
            set_version(root / "platform", "flux", version)
            git(root, "commit", "-q", "-am", f"flux {version}")
        with ThreadPoolExecutor(max_workers=2) as pool:
            runs = list(pool.map(
                lambda root: run(root, "publish", "flux", "--registry", registry.url,
                                 "--format", "json"),
                (repo, rival),
            ))
        rows = [results(r)["bp-flux"] for r in runs]
        assert rows[0]["digest"] != rows[1]["digest"]
        winners = [i for i, r in enumerate(runs) if r.code == 0]
        assert len(winners) == 1, [(r.code, row["status"]) for r, row in zip(runs, rows,
                                                                             strict=True)]
        won, lost = rows[winners[0]], rows[1 - winners[0]]
        assert runs[1 - winners[0]].code == 1
        assert won["status"] == "published"
        assert lost["status"] in ("refused", "failed"), lost
        assert won["digest"] in lost["message"] and lost["digest"] in lost["message"], lost
        assert sha256(registry.manifest("bp-flux", version) or b"") == won["digest"]
        assert_absent_or_complete(registry, "bp-flux", version)


# --------------------------------------------------------------------------- lint errors


def test_blueprint_with_lint_errors_is_not_published(
    repo: Path, registry: RunningRegistry
) -> None:
    blueprint = repo / "platform" / "gitea" / "blueprint.yaml"
    blueprint.write_text(blueprint.read_text().replace("version: 1.0.0", "version: 1.0.1", 1))
    r = run(repo, "publish", "--all", "--registry", registry.url)
    assert r.code == 1
    assert "blueprint-version" in r.err
    assert "platform/gitea/blueprint.yaml" in r.err
    assert re.search(r"^bp-gitea\s+1\.0\.0\s+lint failed\s+-$", r.out, re.MULTILINE), r.out
    assert "9 of 10 published" in r.out
    assert registry.tags("bp-gitea") == []
    for chart in CHARTS:
        if chart != "bp-gitea":
            assert registry.tags(chart) == [TAG]


# --------------------------------------------------------------------------- default destination


def test_default_destination_is_an_oci_layout_skopeo_reads_and_copies(
    repo: Path, registry: RunningRegistry
) -> None:
    r = run(repo, "publish", "--all", "--format", "json")
    assert r.code == 0, r.out + r.err
    layout = repo / "dist" / "oci"
    assert json.loads(r.out)["destination"] == f"OCI layout {layout}"
    assert json.loads((layout / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads((layout / "index.json").read_text())
    names = sorted(d["annotations"]["org.opencontainers.image.ref.name"]
                   for d in index["manifests"])
    assert names == [f"{c}:{TAG}" for c in CHARTS]
    by_name = results(r)
    assert all(row["status"] == "published" for row in by_name.values())

    raw = subprocess.run(["skopeo", "inspect", "--raw", f"oci:{layout}:bp-flux:{TAG}"],
                         capture_output=True, check=True, timeout=30, cwd=repo).stdout
    assert sha256(raw) == by_name["bp-flux"]["digest"]
    rel = subprocess.run(["skopeo", "inspect", "--raw", f"oci:dist/oci:bp-flux:{TAG}"],
                         capture_output=True, check=True, timeout=30, cwd=repo).stdout
    assert rel == raw
    subprocess.run(
        ["skopeo", "copy", "--dest-tls-verify=false", f"oci:dist/oci:bp-flux:{TAG}",
         f"docker://{registry.host}/openova-io/bp-flux:{TAG}"],
        capture_output=True, check=True, timeout=60, cwd=repo,
    )
    assert registry.manifest("bp-flux", TAG) == raw
    assert_absent_or_complete(registry, "bp-flux")
    # The same release pushed by bpkit itself is recognised as already there.
    again = run(repo, "publish", "flux", "--registry", registry.url, "--format", "json")
    assert again.code == 0, again.err
    assert results(again)["bp-flux"]["status"] == "unchanged"
    # And an unchanged re-publish to the layout writes nothing.
    before = (layout / "index.json").stat().st_mtime_ns
    local = run(repo, "publish", "--all", "--format", "json")
    assert local.code == 0
    assert {row["status"] for row in results(local).values()} == {"unchanged"}
    assert (layout / "index.json").stat().st_mtime_ns == before


# --------------------------------------------------------------------------- bpkit package


def test_package_prints_path_and_real_sha256(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = run(repo, "package", "flux", "--out", str(out))
    assert r.code == 0, r.err
    path_text, digest = r.out.split()
    path = Path(path_text)
    assert path == out / "bp-flux-1.0.0.tgz"
    assert digest == sha256(path.read_bytes())
    assert sorted(os.listdir(out)) == ["bp-flux-1.0.0.tgz"]


def test_package_refuses_lint_errors(repo: Path, tmp_path: Path) -> None:
    values = repo / "platform" / "flux" / "chart" / "values.yaml"
    values.write_text(values.read_text().replace("catalystBlueprint:", "catalystBlueprnt:"))
    r = run(repo, "package", "flux", "--out", str(tmp_path / "out"))
    assert r.code == 1
    assert "platform/flux/chart/values.yaml" in r.err
    assert "error" in r.err
    assert "platform/flux: not packaged, lint found" in r.err
    assert not (tmp_path / "out" / "bp-flux-1.0.0.tgz").exists()


@pytest.mark.parametrize("kind", ["symlink-out", "dotdot", "fifo"])
def test_package_refuses_hostile_charts(repo: Path, tmp_path: Path, kind: str) -> None:
    chart = repo / "platform" / "flux" / "chart"
    secret = tmp_path / "outside-secret.txt"
    secret.write_text("do not publish me\n")
    if kind == "symlink-out":
        (chart / "templates").mkdir()
        (chart / "templates" / "leak.yaml").symlink_to(secret)
        shown = "templates/leak.yaml"
    elif kind == "dotdot":
        (chart / "..data").mkdir()
        (chart / "..data" / "x.yaml").write_text("a: 1\n")
        shown = "..data"
    else:
        os.mkfifo(chart / "pipe.yaml")
        shown = "pipe.yaml"
    out = tmp_path / "out"
    r = run(repo, "package", "flux", "--out", str(out), timeout=20)
    assert r.code == 1
    assert "Traceback" not in r.err
    lines = [line for line in r.err.splitlines() if shown in line]
    assert len(lines) == 1, r.err
    assert not out.exists() or not any(out.iterdir())
