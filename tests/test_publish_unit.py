"""bpkit.publish.pipeline and the `publish` command's own logic, with the registry stubbed out.

The registry transport has its own tests (tests/test_registry_unit.py and
tests/integration/); here a fake RegistryTarget stands in, so statuses,
messages, parallelism, destinations, GitHub outputs and option checks can be
checked quickly and exactly. The OCI layout destination is real (a folder).
"""

from __future__ import annotations

import io
import json
import os
import pty
import select
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import bpkit.net.registry as registry_module
from bpkit.cli._common import settings_here
from bpkit.errors import AuthError, ImmutableReleaseError, RegistryError, UsageError
from bpkit.lint.select import lint_selection
from bpkit.net.credentials import Credentials
from bpkit.net.registry import PendingPush, PushResult
from bpkit.oci.artifact import Artifact
from bpkit.package.build import Package
from bpkit.publish.destination import resolve_destination
from bpkit.publish.options import PublishOptions
from bpkit.publish.pipeline import Destination, Outcome, prepare, push_all
from bpkit.report import publish as report_publish
from bpkit.settings import Settings
from tests.helpers.blueprints import write_blueprint
from tests.helpers.cli import bpkit

URL = "oci://registry.example/openova-io"


# --------------------------------------------------------------------------- fakes


class FakeRegistry:
    """What the fake registry holds and how it behaves, per chart name."""

    def __init__(self) -> None:
        self.tags: dict[str, str] = {}  # name -> digest
        self.stored: dict[str, bytes] = {}  # digest -> manifest or blob bytes
        self.fail: dict[str, BaseException] = {}
        self.fail_times: dict[str, int] = {}  # how many calls fail; absent: all of them
        self.retries: dict[str, list[str]] = {}  # name -> reasons told to on_retry per call
        self.calls: dict[str, int] = {}
        self.budgets: list[float] = []
        self.delay = 0.0
        self.targets: list[FakeTarget] = []
        self.lock = threading.Lock()
        self.active = 0
        self.peak = 0
        self.ended: list[str] = []  # names read back (push_end), in order
        self.early: list[str] = []  # names read back before their pause was over
        self.read_back_pause = 0.0  # the pause push_begin asks for
        self.overlap = False  # a target used by two threads at once


class FakeTarget:
    """Stands in for bpkit.net.registry.RegistryTarget (same constructor and calls)."""

    registry: FakeRegistry

    def __init__(self, ref: Any, *, credentials: Any = None, plain_http: bool | None = None,
                 ca_file: str | None = None, retry_budget: float = 30.0,
                 cancel: threading.Event | None = None, on_retry: Any = None,
                 on_request: Any = None) -> None:
        self.ref = ref
        self.cancel = cancel or threading.Event()
        self.notes: list[str] = []
        self.on_retry = on_retry
        self.on_request = on_request
        self.kwargs = {"credentials": credentials, "plain_http": plain_http,
                       "ca_file": ca_file, "retry_budget": retry_budget}
        self.retry_budget = retry_budget
        self.closed = False
        self.busy = False
        self.threads: set[int] = set()
        with self.registry.lock:
            self.registry.targets.append(self)

    def _enter(self, artifact: Artifact) -> None:
        self.threads.add(threading.get_ident())
        with self.registry.lock:
            self.registry.active += 1
            self.registry.peak = max(self.registry.peak, self.registry.active)
            self.registry.overlap |= self.busy
            self.busy = True
        time.sleep(self.registry.delay)
        with self.registry.lock:
            self.busy = False
            self.registry.active -= 1
            calls = self.registry.calls[artifact.name] = self.registry.calls.get(
                artifact.name, 0) + 1
            self.registry.budgets.append(self.retry_budget)
        if self.on_request is not None:
            self.on_request("HEAD", f"/v2/openova-io/{artifact.name}/manifests/{artifact.tag}",
                            200)
        for reason in self.registry.retries.get(artifact.name, ()):
            if self.on_retry is not None:
                self.on_retry(self.ref.host, "checking the tag", 2.0, reason)
        error = self.registry.fail.get(artifact.name)
        if error is not None and calls <= self.registry.fail_times.get(artifact.name, calls):
            raise error

    def pause(self, seconds: float) -> None:
        time.sleep(seconds)

    def abort(self) -> None:
        self.cancel.set()

    def existing_digest(self, artifact: Artifact) -> str | None:
        self._enter(artifact)
        return self.registry.tags.get(artifact.name)

    def same_release(self, artifact: Artifact) -> str | None:
        return None  # the fake holds digests only (the real check: tests/integration)

    def push(self, artifact: Artifact, *, force: bool = False) -> PushResult:
        self._enter(artifact)
        where = f"{self.ref.host}/{self.ref.namespace}/{artifact.name}:{artifact.tag}"
        old = self.registry.tags.get(artifact.name)
        if old == artifact.digest:
            return PushResult(where, artifact.digest, "unchanged", old, 0, 1)
        if old is not None and not force:
            raise ImmutableReleaseError(f"{where} already holds {old}; refusing to replace it "
                                        f"with {artifact.digest}")
        self.registry.tags[artifact.name] = artifact.digest
        self.registry.stored.update({artifact.digest: artifact.manifest, **dict(artifact.blobs)})
        return PushResult(where, artifact.digest, "published" if old is None else "overwritten",
                          old, 2, 7)

    def push_begin(self, artifact: Artifact, *, force: bool = False) -> PushResult | PendingPush:
        """`push`, its read-back left for `push_end` (the pipeline waits in between)."""
        result = self.push(artifact, force=force)
        if result.status == "unchanged":
            return result
        return PendingPush(artifact, result.reference, result.previous_digest,
                           result.uploaded_blobs, result.requests,
                           time.monotonic() + self.registry.read_back_pause)

    def push_end(self, pending: PendingPush) -> PushResult:
        with self.registry.lock:
            self.registry.ended.append(pending.artifact.name)
            if time.monotonic() < pending.read_back_at:
                self.registry.early.append(pending.artifact.name)
        status = "published" if pending.previous_digest is None else "overwritten"
        return PushResult(pending.reference, pending.artifact.digest, status,
                          pending.previous_digest, pending.uploaded_blobs, pending.requests)

    def get_manifest(self, name: str, reference: str) -> bytes:  # publish reads back
        return self.registry.stored[reference]

    def get_blob(self, name: str, digest: str, *, limit: int) -> bytes:
        return self.registry.stored[digest]

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeRegistry:
    registry = FakeRegistry()
    target = type("BoundFakeTarget", (FakeTarget,), {"registry": registry})
    monkeypatch.setattr(registry_module, "RegistryTarget", target)
    return registry


def packages_of(root: Path) -> list[Package]:
    settings = settings_here()
    assert settings.root == root
    blueprints, problems = lint_selection(settings, (), True)
    packages, failed = prepare(blueprints, problems)
    assert failed == []
    return packages


@pytest.fixture
def packages(monorepo: Path) -> list[Package]:
    return packages_of(monorepo)


@pytest.fixture
def many(monorepo: Path) -> list[Package]:
    for i in range(8):
        write_blueprint(monorepo, f"demo{i}")
    return packages_of(monorepo)


def by_name(outcomes: list[Outcome]) -> dict[str, Outcome]:
    return {o.name: o for o in outcomes}


# --------------------------------------------------------------------------- prepare


def test_prepare_packages_clean_blueprints_and_reports_lint_failures(monorepo: Path) -> None:
    chart = monorepo / "platform" / "flux" / "chart" / "Chart.yaml"
    chart.write_text(chart.read_text().replace("version: 1.0.0", "version: one"))
    settings = settings_here()
    blueprints, problems = lint_selection(settings, (), True)
    packages, failed = prepare(blueprints, problems)
    assert [p.name for p in packages] == ["bp-cert-manager"]
    package = packages[0]
    assert package.archive_name == "bp-cert-manager-1.0.0.tgz"
    assert package.version == "1.0.0"
    assert package.epoch_source.startswith("default")
    assert package.artifact.layer == package.archive
    assert len(failed) == 1
    outcome = failed[0]
    assert (outcome.blueprint, outcome.name, outcome.status) == (
        "platform/flux", "bp-flux", "lint failed")
    assert outcome.digest is None and not outcome.ok
    assert outcome.message.startswith("platform/flux: not packaged, lint found")


def test_prepare_lets_a_bad_source_date_epoch_stop_everything(
    monorepo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "soon")
    blueprints, problems = lint_selection(settings_here(), (), True)
    with pytest.raises(UsageError, match="SOURCE_DATE_EPOCH"):
        prepare(blueprints, problems)


# --------------------------------------------------------------------------- push_all: registry


def test_statuses_and_messages(packages: list[Package], fake: FakeRegistry) -> None:
    cert, flux = packages
    fake.tags["bp-cert-manager"] = cert.artifact.digest
    done: list[str] = []
    outcomes = push_all(packages, Destination(registry=URL), on_done=lambda o: done.append(o.name))
    assert sorted(done) == ["bp-cert-manager", "bp-flux"]
    result = by_name(outcomes)
    assert result["bp-cert-manager"].status == "unchanged"
    assert result["bp-cert-manager"].message == "already published"
    assert result["bp-flux"].status == "published" and result["bp-flux"].message == ""
    assert result["bp-flux"].reference == "registry.example/openova-io/bp-flux:1.0.0"
    assert result["bp-flux"].digest == flux.artifact.digest
    assert all(o.ok for o in outcomes)
    assert all(t.closed for t in fake.targets)


def test_refused_then_forced(packages: list[Package], fake: FakeRegistry) -> None:
    old = "sha256:" + "1" * 64
    fake.tags["bp-flux"] = old
    refused = by_name(push_all(packages, Destination(registry=URL)))["bp-flux"]
    assert refused.status == "refused" and not refused.ok
    assert refused.digest is not None
    assert old in refused.message and refused.digest in refused.message
    assert fake.tags["bp-flux"] == old
    forced = by_name(push_all(packages, Destination(registry=URL), force=True))["bp-flux"]
    assert forced.status == "overwritten" and forced.ok
    assert forced.message == f"replaced {old} (--force)"
    assert fake.tags["bp-flux"] == forced.digest


def test_one_failure_does_not_stop_the_others(many: list[Package], fake: FakeRegistry) -> None:
    fake.fail["bp-demo3"] = RegistryError("registry.example: uploading a blob failed: HTTP 500")
    fake.fail["bp-demo5"] = RuntimeError("a bug")
    outcomes = push_all(many, Destination(registry=URL), jobs=3)
    result = by_name(outcomes)
    assert result["bp-demo3"].status == "failed"
    assert result["bp-demo3"].message == "registry.example: uploading a blob failed: HTTP 500"
    assert result["bp-demo5"].status == "failed"
    assert result["bp-demo5"].message == "RuntimeError: a bug"
    published = [o.name for o in outcomes if o.status == "published"]
    assert len(published) == len(many) - 2
    assert sorted(fake.tags) == sorted(published)


def test_a_failed_push_is_tried_once_more(packages: list[Package], fake: FakeRegistry) -> None:
    """Two publishers at once can make docker-registry answer 500 for a moment."""
    fake.fail["bp-flux"] = RegistryError("127.0.0.1:5000: reading the manifest back failed: "
                                         "HTTP 500 Internal Server Error")
    fake.fail_times["bp-flux"] = 1
    start = time.monotonic()
    result = by_name(push_all(packages, Destination(registry=URL, retry_budget=10)))
    assert time.monotonic() - start < 2
    assert result["bp-flux"].status == "published", result["bp-flux"].message
    assert fake.calls == {"bp-flux": 2, "bp-cert-manager": 1}
    # The second attempt only gets what is left of the budget; the budget is restored.
    assert fake.budgets.count(10) == 2 and len(fake.budgets) == 3
    assert 9 < min(fake.budgets) < 10
    assert all(t.retry_budget == 10 for t in fake.targets)


@pytest.mark.parametrize(
    "error",
    [AuthError("authentication failed for registry.example"),
     ImmutableReleaseError("already holds sha256:1"),
     UsageError("bad tag")],
)
def test_refusals_are_not_tried_again(packages: list[Package], fake: FakeRegistry,
                                      error: Exception) -> None:
    fake.fail["bp-flux"] = error
    result = by_name(push_all(packages, Destination(registry=URL)))["bp-flux"]
    assert result.status in ("failed", "refused") and result.message == str(error)
    assert fake.calls["bp-flux"] == 1


def test_no_second_attempt_once_the_budget_is_spent(packages: list[Package],
                                                    fake: FakeRegistry) -> None:
    fake.fail["bp-flux"] = RegistryError("registry.example: gave up within the budget")
    fake.delay = 0.3
    start = time.monotonic()
    result = by_name(push_all(packages[1:], Destination(registry=URL, retry_budget=0.4)))
    assert result["bp-flux"].message == "registry.example: gave up within the budget"
    assert fake.calls["bp-flux"] == 1
    assert time.monotonic() - start < 1


def test_a_failure_that_persists_is_reported(packages: list[Package], fake: FakeRegistry) -> None:
    fake.fail["bp-flux"] = RegistryError("cannot connect to 127.0.0.1:1: connection refused")
    result = by_name(push_all(packages, Destination(registry=URL)))["bp-flux"]
    assert result.status == "failed"
    assert result.message == "cannot connect to 127.0.0.1:1: connection refused"
    assert fake.calls["bp-flux"] == 2


def test_dry_run_says_what_would_happen_and_pushes_nothing(
    many: list[Package], fake: FakeRegistry
) -> None:
    digests = {p.name: p.artifact.digest for p in many}
    other = "sha256:" + "2" * 64
    fake.tags.update({"bp-demo0": digests["bp-demo0"], "bp-demo1": other})
    before = dict(fake.tags)
    result = by_name(push_all(many, Destination(registry=URL), dry_run=True))
    assert (result["bp-demo0"].status, result["bp-demo0"].message) == (
        "would skip", "already published")
    assert result["bp-demo1"].status == "would refuse" and not result["bp-demo1"].ok
    assert result["bp-demo1"].message == f"already holds {other}"
    assert (result["bp-demo2"].status, result["bp-demo2"].message) == (
        "would publish", "not published yet")
    forced = by_name(push_all(many, Destination(registry=URL), dry_run=True, force=True))
    assert forced["bp-demo1"].status == "would publish"
    assert forced["bp-demo1"].message == f"would replace {other}"
    assert fake.tags == before


def test_parallel_pushes_are_bounded_and_keep_order(many: list[Package],
                                                    fake: FakeRegistry) -> None:
    fake.delay = 0.05
    outcomes = push_all(many, Destination(registry=URL), jobs=3)
    assert [o.name for o in outcomes] == [p.name for p in many]
    assert 2 <= fake.peak <= 3  # parallel, and bounded by jobs
    # At most one target per job, each used by one thread at a time, all closed.
    assert 1 <= len(fake.targets) <= 3
    assert not fake.overlap
    assert all(t.closed for t in fake.targets)


def test_read_back_pauses_overlap_other_pushes(many: list[Package], fake: FakeRegistry) -> None:
    """A blueprint waiting out its read-back pause holds no connection: the next one pushes."""
    fake.delay, fake.read_back_pause = 0.01, 0.4
    start = time.monotonic()
    outcomes = push_all(many, Destination(registry=URL), jobs=2)
    took = time.monotonic() - start
    assert {o.status for o in outcomes} == {"published"}
    assert sorted(fake.ended) == sorted(p.name for p in many) and fake.early == []
    assert fake.peak <= 2 and len(fake.targets) <= 2 and not fake.overlap
    # Waiting in turn, 10 blueprints over 2 jobs would take 5 pauses (2 s); the
    # bound leaves room for a loaded CI machine.
    assert len(many) >= 8 and took < 4 * fake.read_back_pause, took


def test_one_job_is_sequential(many: list[Package], fake: FakeRegistry) -> None:
    push_all(many, Destination(registry=URL), jobs=1)
    assert fake.peak == 1 and len(fake.targets) == 1
    assert fake.targets[0].threads == {threading.get_ident()}


def test_destination_settings_reach_the_target(packages: list[Package],
                                               fake: FakeRegistry) -> None:
    creds = Credentials("u", "p4ss", source="test")
    dest = Destination(registry="oci://127.0.0.1:5000/ns", plain_http=True, ca_file=None,
                       credentials=creds, retry_budget=4.5)
    push_all(packages[:1], dest)
    (target,) = fake.targets
    assert target.ref.host == "127.0.0.1:5000" and target.ref.namespace == "ns"
    assert target.kwargs == {"credentials": creds, "plain_http": True, "ca_file": None,
                             "retry_budget": 4.5}
    assert "p4ss" not in repr(dest)


def test_bad_registry_url_fails_before_anything(packages: list[Package],
                                                fake: FakeRegistry) -> None:
    with pytest.raises(UsageError, match="must start with oci://"):
        push_all(packages, Destination(registry="https://registry.example/x"))
    assert fake.targets == []


# --------------------------------------------------------------------------- push_all: layout


def test_layout_destination(packages: list[Package], tmp_path: Path) -> None:
    dest = Destination(layout=tmp_path / "oci")
    assert dest.describe() == f"OCI layout {tmp_path / 'oci'}"
    first = by_name(push_all(packages, dest))
    assert {o.status for o in first.values()} == {"published"}
    assert first["bp-flux"].reference == f"oci:{tmp_path / 'oci'}:bp-flux:1.0.0"
    again = by_name(push_all(packages, dest))
    assert {(o.status, o.message) for o in again.values()} == {("unchanged", "already published")}
    dry = by_name(push_all(packages, dest, dry_run=True))
    assert {o.status for o in dry.values()} == {"would skip"}


def test_layout_refuses_other_content_unless_forced(monorepo: Path, tmp_path: Path) -> None:
    dest = Destination(layout=tmp_path / "oci")
    old = by_name(push_all(packages_of(monorepo), dest))["bp-flux"].digest
    values = monorepo / "platform" / "flux" / "chart" / "values.yaml"
    values.write_text(values.read_text() + "extra: 1\n")
    changed = packages_of(monorepo)
    refused = by_name(push_all(changed, dest))
    assert refused["bp-flux"].status == "refused"
    assert old is not None and old in refused["bp-flux"].message
    assert refused["bp-cert-manager"].status == "unchanged"
    forced = by_name(push_all(changed, dest, force=True))["bp-flux"]
    assert forced.status == "overwritten"
    assert forced.message == f"replaced {old} (--force)"
    assert by_name(push_all(changed, dest))["bp-flux"].status == "unchanged"


# --------------------------------------------------------------------------- the command's helpers


def outcome(name: str, status: Any = "published", digest: str | None = "sha256:" + "a" * 64,
            message: str = "") -> Outcome:
    return Outcome(f"platform/{name}", f"bp-{name}", "1.0.0",
                   f"ghcr.io/openova-io/bp-{name}:1.0.0", digest, status, message)


def test_table() -> None:
    rows = [outcome("flux"), outcome("cert-manager", "refused", message="already holds X")]
    text = report_publish.table(rows, URL, dry_run=False)
    lines = text.splitlines()
    assert lines[0].split() == ["BLUEPRINT", "VERSION", "STATUS", "DIGEST"]
    assert lines[1].split() == ["bp-flux", "1.0.0", "published", "sha256:" + "a" * 64]
    # Columns line up.
    assert lines[0].index("STATUS") == lines[1].index("published") == lines[2].index("refused")
    assert lines[3] == "bp-cert-manager: already holds X"
    assert lines[4] == f"1 of 2 published to {URL}"
    assert report_publish.table(rows, URL, dry_run=True).endswith(f"1 of 2 checked against {URL}")


def outputs_of(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines())


def test_github_output_single(tmp_path: Path) -> None:
    out, summary = tmp_path / "out", tmp_path / "summary"
    out.write_text("earlier=1\n")
    env = {"GITHUB_OUTPUT": str(out), "GITHUB_STEP_SUMMARY": str(summary)}
    report_publish.write_github([outcome("flux")], env, single=True)
    lines = out.read_text().splitlines()
    assert lines[0] == "earlier=1"  # appended, never truncated
    assert [line.split("=", 1)[0] for line in lines[1:]] == ["results", "ref", "digest",
                                                             "version"]
    values = outputs_of(out)
    assert json.loads(values["results"]) == [{
        "blueprint": "platform/flux", "name": "bp-flux", "version": "1.0.0",
        "reference": "ghcr.io/openova-io/bp-flux:1.0.0", "digest": "sha256:" + "a" * 64,
        "status": "published", "ok": True}]
    assert (values["ref"], values["digest"], values["version"]) == (
        "ghcr.io/openova-io/bp-flux:1.0.0", "sha256:" + "a" * 64, "1.0.0")
    assert summary.read_text().splitlines() == [
        "### bpkit publish", "", "| Blueprint | Version | Status | Digest |", "|---|---|---|---|",
        f"| bp-flux | 1.0.0 | published | sha256:{'a' * 64} |",
    ]


def test_github_output_single_that_failed_has_empty_scalars(tmp_path: Path) -> None:
    out = tmp_path / "out"
    report_publish.write_github([outcome("flux", "refused", message="already holds X")],
                                {"GITHUB_OUTPUT": str(out)}, single=True)
    values = outputs_of(out)
    assert (values["ref"], values["digest"], values["version"]) == ("", "", "1.0.0")
    assert json.loads(values["results"])[0]["ok"] is False


@pytest.mark.parametrize("count", [0, 1, 3])
def test_github_output_several_is_always_a_list(tmp_path: Path, count: int) -> None:
    """Asked for several (--all, a folder): a list, even when it holds one or none."""
    out, summary = tmp_path / "out", tmp_path / "summary"
    env = {"GITHUB_OUTPUT": str(out), "GITHUB_STEP_SUMMARY": str(summary)}
    rows = [outcome("flux"), outcome("cilium", "unchanged", "sha256:" + "b" * 64),
            outcome("gitea", "failed", message="registry down | <b>x</b>")][:count]
    report_publish.write_github(rows, env, single=False)
    values = outputs_of(out)
    assert set(values) == {"results"}
    results = json.loads(values["results"])
    assert [(r["name"], r["status"], r["ok"]) for r in results] == [
        (o.name, o.status, o.ok) for o in rows]
    if count == 3:
        text = summary.read_text()
        assert "| bp-gitea | 1.0.0 | **failed** | sha256:" in text
        # Outside text cannot break the table or inject HTML.
        assert text.rstrip().endswith("- bp-gitea: registry down \\| &lt;b&gt;x&lt;/b&gt;")


def test_no_github_files_without_the_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                               ) -> None:
    monkeypatch.chdir(tmp_path)
    report_publish.write_github([outcome("flux")], {})
    assert list(tmp_path.iterdir()) == []


def test_redact() -> None:
    # The publish command redacts outcome messages with the registry's redact().
    from bpkit.text import redact

    assert redact("bad pw s3cret here", ("s3cret", "")) == "bad pw *** here"


# --------------------------------------------------------------------------- destinations


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for var in ("BPKIT_REGISTRY", "BPKIT_REGISTRY_USERNAME", "BPKIT_REGISTRY_PASSWORD",
                "GITHUB_ACTIONS", "GITHUB_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "no-docker"))
    yield


Dest = Callable[..., Destination]


@pytest.fixture
def destination(clean_env: None, tmp_path: Path) -> Dest:
    def make(registry: str | None = None, *, settings_registry: str | None = None,
             layout: str | None = None, username: str | None = None,
             password_stdin: bool = False, plain_http: bool = False,
             ca_file: str | None = None, budget: float | None = None) -> Destination:
        settings = Settings(root=tmp_path, registry=settings_registry, retry_budget=12.0)
        options = PublishOptions(registry=registry, layout=layout, username=username,
                                 password_stdin=password_stdin, plain_http=plain_http,
                                 ca_file=ca_file, retry_budget=budget)
        dest: Destination = resolve_destination(settings, options)
        return dest
    return make


def test_registry_priority(destination: Dest, monkeypatch: pytest.MonkeyPatch,
                           tmp_path: Path) -> None:
    d = destination()
    assert (d.registry, d.layout, d.retry_budget) == (None, tmp_path / "dist" / "oci", 12.0)
    assert destination(layout="elsewhere").layout == Path("elsewhere")
    assert destination(settings_registry="oci://c.example/ns").registry == "oci://c.example/ns"
    monkeypatch.setenv("BPKIT_REGISTRY", "oci://b.example/ns")
    assert destination(settings_registry="oci://c.example/ns").registry == "oci://b.example/ns"
    d = destination("oci://a.example/ns", settings_registry="oci://c.example/ns", budget=3)
    assert (d.registry, d.retry_budget, d.plain_http, d.credentials) == (
        "oci://a.example/ns", 3, None, None)
    assert destination("oci://a.example/ns", plain_http=True).plain_http is True


def test_password_from_stdin(destination: Dest, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("pa55 word\r\n"))
    d = destination("oci://a.example/ns", username="me", password_stdin=True)
    assert d.credentials == Credentials("me", "pa55 word", source="command line")
    assert "pa55" not in repr(d)


def test_credentials_from_environment(destination: Dest, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BPKIT_REGISTRY_USERNAME", "env-user")
    monkeypatch.setenv("BPKIT_REGISTRY_PASSWORD", "env-pass")
    d = destination("oci://a.example/ns")
    assert (d.credentials.username, d.credentials.password) == ("env-user", "env-pass")


@pytest.mark.parametrize(
    ("kwargs", "stdin", "message"),
    [
        ({"username": "me"}, "", "--username needs --password-stdin"),
        ({"password_stdin": True}, "pw", "--password-stdin needs --username"),
        ({"username": "me", "password_stdin": True}, "\n", "nothing was read from stdin"),
        ({"registry": None, "username": "me", "password_stdin": True}, "pw",
         "credentials and --ca-file need a registry"),
        ({"layout": "x"}, "", "--layout is for publishing without a registry"),
        ({"registry": "https://a.example/ns"}, "", "must start with oci://"),
    ],
)
def test_destination_errors(destination: Dest, monkeypatch: pytest.MonkeyPatch,
                            kwargs: dict[str, Any], stdin: str, message: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    args = {"registry": "oci://a.example/ns", **kwargs}
    with pytest.raises(UsageError, match=message.replace("-", r"\-")):
        destination(**args)


# --------------------------------------------------------------------------- the command


def test_command_publishes_to_the_default_layout(monorepo: Path) -> None:
    r = bpkit("publish", "--all", cwd=monorepo)
    assert r.code == 0, r.err
    assert r.lines[-1] == f"2 of 2 published to OCI layout {monorepo / 'dist' / 'oci'}"
    # One line per finished blueprint on stderr, a terminal or not (a CI log).
    assert sorted(r.err.splitlines()) == ["  ok bp-cert-manager:1.0.0 published",
                                          "  ok bp-flux:1.0.0 published"]
    quiet = bpkit("publish", "--all", "-q", cwd=monorepo)
    assert quiet.code == 0 and quiet.err == ""
    assert quiet.lines[-1] == f"2 of 2 published to OCI layout {monorepo / 'dist' / 'oci'}"
    index = json.loads((monorepo / "dist" / "oci" / "index.json").read_text())
    assert len(index["manifests"]) == 2


def test_command_layout_option_and_lint_failure_in_json(monorepo: Path, tmp_path: Path) -> None:
    chart = monorepo / "platform" / "flux" / "chart" / "Chart.yaml"
    chart.write_text(chart.read_text() + "dependencies: []\n")
    chart.write_text(chart.read_text().replace("type: application", "type: nonsense"))
    r = bpkit("publish", "--all", "--layout", str(tmp_path / "lay"), "--format", "json",
              cwd=monorepo)
    assert r.code == 1
    data = json.loads(r.out)
    assert data["destination"] == f"OCI layout {tmp_path / 'lay'}"
    rows = {row["name"]: row for row in data["results"]}
    assert rows["bp-flux"]["status"] == "lint failed"
    assert rows["bp-flux"]["digest"] is None and rows["bp-flux"]["ok"] is False
    assert rows["bp-cert-manager"]["status"] == "published"
    assert "chart-type" in r.err
    assert (tmp_path / "lay" / "index.json").is_file()


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["flux", "--registry", "oci://127.0.0.1:1/ns", "--username", "u"], None,
         "--username needs --password-stdin"),
        (["flux", "--registry", "oci://127.0.0.1:1/ns", "--username", "u", "--password-stdin"],
         "", "nothing was read from stdin"),
        (["flux", "--registry", "oci://127.0.0.1:1/ns", "--layout", "x"], None,
         "--layout is for publishing without a registry"),
        (["flux", "--registry", "http://127.0.0.1:1/ns"], None, "must start with oci://"),
        (["flux", "--tag", "platform/flux/v1.0.0"], None, "--tag names the blueprint itself"),
        (["--tag", "platform/flux/1.0.0"], None, "the version part must start with v"),
        (["--jobs", "0", "flux"], None, "--jobs"),
    ],
)
def test_command_usage_errors(monorepo: Path, args: list[str], stdin: str | None,
                              message: str) -> None:
    r = bpkit("publish", *args, cwd=monorepo, stdin=stdin)
    assert r.code == 2, r.out + r.err
    assert message in r.err
    assert r.out == ""
    assert "Traceback" not in r.err
    assert not (monorepo / "dist").exists()


def test_command_release_tag(monorepo: Path) -> None:
    wrong = bpkit("publish", "--tag", "platform/flux/v1.0.1", cwd=monorepo)
    assert wrong.code == 1
    assert "release tag platform/flux/v1.0.1 says 1.0.1 but platform/flux/chart/Chart.yaml " \
           "says 1.0.0" in wrong.err
    assert not (monorepo / "dist").exists()
    right = bpkit("publish", "--tag", "refs/tags/platform/flux/v1.0.0", "--format", "json",
                  cwd=monorepo)
    assert right.code == 0, right.err
    assert [row["name"] for row in json.loads(right.out)["results"]] == ["bp-flux"]


def test_progress_on_a_terminal(monorepo: Path) -> None:
    """One line per finished blueprint on stderr when it is a terminal; stdout unchanged."""
    main, child = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k not in ("BPKIT_REGISTRY", "GITHUB_OUTPUT",
                                                             "GITHUB_STEP_SUMMARY")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    try:
        proc = subprocess.run([sys.executable, "-m", "bpkit", "publish", "--all"], cwd=monorepo,
                              env=env, stdout=subprocess.PIPE, stderr=child, timeout=60,
                              check=False)
        os.close(child)
        seen = b""
        while select.select([main], [], [], 0.5)[0]:
            try:
                chunk = os.read(main, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(main)
    assert proc.returncode == 0
    lines = sorted(seen.decode().replace("\r", "").splitlines())
    assert lines == ["  ok bp-cert-manager:1.0.0 published", "  ok bp-flux:1.0.0 published"]
    assert proc.stdout.decode().splitlines()[0].split() == ["BLUEPRINT", "VERSION", "STATUS",
                                                            "DIGEST"]
