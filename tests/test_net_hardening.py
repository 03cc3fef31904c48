"""Hostile registries without a network: endless bodies, lying headers, odd tokens, deadlines.

The session is the scripted fake of test_registry_unit; where the mechanism
itself is under test (socket deadlines, abort), a real loopback socket is
used. Each test names the class of issue 11 it covers.
"""

from __future__ import annotations

import itertools
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from requests.structures import CaseInsensitiveDict

from bpkit.errors import AuthError, ImmutableReleaseError, Interrupted, ReadBackError, RegistryError
from bpkit.limits import ERROR_BODY_MAX_BYTES, MANIFEST_MAX_BYTES, TOKEN_RESPONSE_MAX_BYTES
from bpkit.net.credentials import Credentials
from bpkit.net.http import _watch_current, read_retry_after, watching
from bpkit.net.registry import RegistryTarget
from tests.test_registry_unit import (
    FakeResponse,
    FakeSession,
    FakeTime,
    artifact,
    bearer_registry,
    sha,
    status,
    target,
)


class EndlessResponse(FakeResponse):
    """An answer whose body never ends; counts what the client read."""

    def __init__(self, code: int, headers: dict[str, str] | None = None) -> None:
        super().__init__(code, CaseInsensitiveDict(headers or {}))
        self.read = 0
        self.closed = False

    def iter_content(self, chunk_size: int = 1) -> Iterator[bytes]:
        for _ in itertools.count():
            if self.closed:
                return
            self.read += chunk_size
            yield b"x" * chunk_size

    def close(self) -> None:
        self.closed = True


# --------------------------------------------------------------------------- unbounded reads


def test_endless_manifest_body_is_refused_after_the_manifest_limit() -> None:
    session = FakeSession()
    endless = EndlessResponse(200)
    session.faults.append(("GET", "/manifests/", endless))
    with pytest.raises(RegistryError, match="manifest is larger than 4 MiB") as err:
        target(session).push(artifact())
    assert "Transient" not in str(err.value)
    assert MANIFEST_MAX_BYTES < endless.read <= MANIFEST_MAX_BYTES + 64 * 1024
    assert endless.closed


def test_declared_huge_manifest_is_refused_without_reading_it() -> None:
    session = FakeSession()
    endless = EndlessResponse(200, {"Content-Length": str(10**15)})
    session.faults.append(("GET", "/manifests/", endless))
    with pytest.raises(RegistryError, match="larger than 4 MiB"):
        target(session).push(artifact())
    assert endless.read == 0


def test_endless_error_body_gives_the_status_and_reads_only_the_cap() -> None:
    session = FakeSession()
    endless = EndlessResponse(500)
    session.faults.append(("PUT", "/manifests/", endless))
    with pytest.raises(RegistryError, match="uploading the manifest failed: HTTP 500"):
        target(session).push(artifact())
    assert endless.read <= ERROR_BODY_MAX_BYTES + 64 * 1024


def test_endless_token_answer_is_refused() -> None:
    session = FakeSession()
    bearer_registry(session)
    endless = EndlessResponse(200)
    session.faults.append(("GET", "/token", endless))
    with pytest.raises(RegistryError, match="token service answer is larger than 128 KiB"):
        target(session, credentials=Credentials("bob", "pw")).push(artifact())
    assert endless.read <= TOKEN_RESPONSE_MAX_BYTES + 64 * 1024


def test_deeply_nested_error_and_token_json_do_not_crash() -> None:
    session = FakeSession()
    deep = b"[" * 5000 + b"]" * 5000
    session.faults.append(("PUT", "/manifests/", FakeResponse(400, content=deep)))
    with pytest.raises(RegistryError, match=r"uploading the manifest failed: HTTP 400$"):
        target(session).push(artifact())
    session = FakeSession()
    bearer_registry(session)
    session.faults.append(("GET", "/token", FakeResponse(200, content=b'{"a":' * 3000)))
    with pytest.raises(AuthError, match="sent no token"):
        target(session, credentials=Credentials("bob", "pw")).push(artifact())


def test_a_socket_read_blocked_past_the_deadline_is_cut_off() -> None:
    a, b = socket.socketpair()
    try:
        start = time.monotonic()
        with watching(0.3):
            _watch_current(a)
            a.settimeout(10)  # a per-read timeout alone would wait 10 s
            data = a.recv(10)  # nothing is ever sent
        assert data == b""
        assert 0.25 <= time.monotonic() - start < 2
    finally:
        a.close()
        b.close()


def hanging_server() -> tuple[socket.socket, list[socket.socket]]:
    """Accepts connections and reads requests, never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    conns: list[socket.socket] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            conns.append(conn)

    threading.Thread(target=serve, daemon=True).start()
    return server, conns


def test_a_real_request_to_a_silent_server_ends_at_its_total_deadline() -> None:
    server, conns = hanging_server()
    port = server.getsockname()[1]
    try:
        t = RegistryTarget(f"oci://127.0.0.1:{port}/ns", connect_timeout=0.5, read_timeout=0.5,
                           retry_budget=0)
        start = time.monotonic()
        with pytest.raises(RegistryError, match="within the 0 s retry budget"):
            t.push(artifact())
        assert time.monotonic() - start < 3
    finally:
        server.close()
        for c in conns:
            c.close()


def test_abort_ends_a_blocked_request_at_once() -> None:
    server, conns = hanging_server()
    port = server.getsockname()[1]
    try:
        t = RegistryTarget(f"oci://127.0.0.1:{port}/ns", retry_budget=60)
        errors: list[BaseException] = []

        def push() -> None:
            try:
                t.push(artifact())
            except BaseException as exc:
                errors.append(exc)

        worker = threading.Thread(target=push)
        worker.start()
        deadline = time.monotonic() + 5
        while not conns and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)  # the HEAD is now waiting for its answer
        start = time.monotonic()
        t.abort()
        worker.join(timeout=5)
        assert not worker.is_alive()
        assert time.monotonic() - start < 0.5
        assert len(errors) == 1 and isinstance(errors[0], Interrupted)
    finally:
        server.close()
        for c in conns:
            c.close()


def test_abort_cuts_a_backoff_pause_short() -> None:
    session = FakeSession()
    session.handlers.append(lambda m, u, h, d: status(503, **{"Retry-After": "20"}))
    t = RegistryTarget("oci://reg.example/ns", session=session, retry_budget=60)
    threading.Timer(0.2, t.abort).start()
    start = time.monotonic()
    with pytest.raises(Interrupted):
        t.push(artifact())
    assert time.monotonic() - start < 1.5


# --------------------------------------------------------------------------- header values


@pytest.mark.parametrize(
    ("value", "note"),
    [
        ("9" * 5000, "5000 digits"),  # int() would refuse it (Python's 4300-digit limit)
        ("99999999999999999999", "20 digits"),
        ("\u00b2", "neither seconds nor a date"),  # str.isdigit() says yes, int() says no
        ("\u0663", "neither seconds nor a date"),  # Arabic-Indic three
        ("-5", "neither seconds nor a date"),
        ("1e400", "neither seconds nor a date"),
        ("Fri, 31 Dec 99999 23:59:59 GMT", "neither seconds nor a date"),
        ("Mon, 32 Foo 2024 25:61:61 GMT", "neither seconds nor a date"),
        ("\x1b[2J now", "neither seconds nor a date"),
    ],
)
def test_malformed_retry_after_is_absent_with_a_note(value: str, note: str) -> None:
    seconds, said = read_retry_after(value)
    assert seconds is None
    assert said is not None and note in said
    assert "\x1b" not in said and "\n" not in said


def test_malformed_retry_after_still_retries_with_own_backoff_and_notes_it() -> None:
    session, clock = FakeSession(), FakeTime()
    session.faults += [("HEAD", "/manifests/", status(503, **{"Retry-After": "9" * 5000}))]
    t = target(session, clock)
    result = t.push(artifact())
    assert result.status == "published"
    assert 0.25 <= clock.sleeps[0] <= 0.5
    assert t.notes == ["reg.example: ignored a Retry-After of 5000 digits"]


def test_a_valid_but_huge_retry_after_stops_at_once_and_says_so() -> None:
    session, clock = FakeSession(), FakeTime()
    session.handlers.append(lambda m, u, h, d: status(429, **{"Retry-After": "9999999999"}))
    with pytest.raises(RegistryError, match=r"asked to wait 9999999999 s"):
        target(session, clock).push(artifact())
    assert clock.sleeps == []


@pytest.mark.parametrize("token", ["tok\r\nX-Injected: 1", "tok\x00en", "tok en", "tök",
                                   "tok\n", "\x1b[31m"])
def test_tokens_with_controls_are_never_sent_on(token: str) -> None:
    session = FakeSession()
    bearer_registry(session, token=token)
    with pytest.raises(AuthError, match="refusing to send it on") as err:
        target(session, credentials=Credentials("bob", "pw")).push(artifact())
    assert token not in str(err.value)
    sent = [h.get("Authorization", "") for _, _, h in session.calls]
    assert not any(token in value for value in sent)


def test_malformed_docker_content_digest_is_ignored_and_the_bytes_decide() -> None:
    session = FakeSession()
    old = artifact(b"old")
    session.manifests["1.0.0"] = old.manifest
    bad = CaseInsensitiveDict({"Docker-Content-Digest": "sha256:\x1b[2Jnope"})
    session.faults.append(("HEAD", "/manifests/", FakeResponse(200, bad)))
    t = target(session)
    assert t.existing_digest(artifact()) == old.digest
    assert t.notes and "\x1b" not in t.notes[0] and "\\x1b" in t.notes[0]


def test_bad_token_realms_are_refused() -> None:
    for realm in ["ftp://x/token", "https://", "https://a b/token", "javascript:alert(1)"]:
        session = FakeSession()
        challenge = f'Bearer realm="{realm}",service="reg"'
        session.handlers.append(lambda m, u, h, d, c=challenge: FakeResponse(
            401, CaseInsensitiveDict({"WWW-Authenticate": c})))
        with pytest.raises(AuthError, match="bad token realm"):
            target(session, credentials=Credentials("bob", "pw")).push(artifact())


# --------------------------------------------------------------------------- read-back


def test_a_lying_head_does_not_make_other_bytes_unchanged() -> None:
    """The tag holds someone else's manifest; a stale HEAD claims it is ours."""
    session = FakeSession()
    theirs, ours = artifact(b"theirs"), artifact(b"ours")
    session.manifests["1.0.0"] = theirs.manifest
    lie = CaseInsensitiveDict({"Docker-Content-Digest": ours.digest})
    session.faults.append(("HEAD", "/manifests/", FakeResponse(200, lie)))
    with pytest.raises(ImmutableReleaseError) as err:
        target(session).push(ours)
    assert theirs.digest in str(err.value) and ours.digest in str(err.value)
    assert session.manifests["1.0.0"] == theirs.manifest


def test_a_lying_read_back_fails_naming_both_digests() -> None:
    session = FakeSession()
    ours, other = artifact(b"ours"), artifact(b"other")
    session.faults.append(("GET", "/manifests/", FakeResponse(200, content=other.manifest)))
    with pytest.raises(ReadBackError) as err:
        target(session).push(ours)
    assert ours.digest in str(err.value) and other.digest in str(err.value)
    assert err.value.exit_code == 1


def test_a_publisher_that_wins_while_we_upload_makes_us_refuse() -> None:
    """Both saw no tag; the other one's PUT lands while our blobs go up."""
    session = FakeSession()
    ours, theirs = artifact(b"ours"), artifact(b"theirs")

    def other_publisher(method: str, url: str, headers: Any, data: Any) -> None:
        if method == "PUT" and "/blobs/uploads/" in url and sha(data) == sha(ours.layer):
            session.manifests["1.0.0"] = theirs.manifest

    session.handlers.append(other_publisher)  # type: ignore[arg-type]
    with pytest.raises(ImmutableReleaseError) as err:
        target(session).push(ours)
    assert theirs.digest in str(err.value) and ours.digest in str(err.value)
    assert session.manifests["1.0.0"] == theirs.manifest  # never replaced
    assert "PUT" not in [m for m, u, _ in session.calls if "/manifests/" in u]


def test_a_publisher_that_wins_after_our_put_makes_our_read_back_fail() -> None:
    session = FakeSession()
    ours, theirs = artifact(b"ours"), artifact(b"theirs")
    clock = FakeTime()

    def sleep(seconds: float) -> None:  # the other PUT lands during our read-back pause
        clock.sleep(seconds)
        if "1.0.0" in session.manifests:
            session.manifests["1.0.0"] = theirs.manifest

    t = RegistryTarget("oci://reg.example/ns", session=session, sleep=sleep, clock=clock.clock)
    with pytest.raises(ReadBackError) as err:
        t.push(ours)
    assert theirs.digest in str(err.value) and ours.digest in str(err.value)


def test_unchanged_needs_bytes_that_hash_to_our_digest() -> None:
    session = FakeSession()
    ours = artifact()
    session.manifests["1.0.0"] = ours.manifest
    result = target(session).push(ours)
    assert result.status == "unchanged"
    assert session.methods() == ["HEAD", "GET"]


def test_messages_from_the_registry_are_escaped() -> None:
    session = FakeSession()
    message = "\x1b[2J\x1b[Hok\n::error::forged"
    body = json.dumps({"errors": [{"code": "DENIED", "message": message}]})
    session.faults.append(("PUT", "/manifests/", FakeResponse(400, content=body.encode(),
                                                             reason="Bad\x1b]0;title\x07")))
    with pytest.raises(RegistryError) as err:
        target(session).push(artifact())
    text = str(err.value)
    assert "\x1b" not in text and "\n" not in text and "\x07" not in text
    assert "\\x1b[2J" in text


# --------------------------------------------------------------------------- untrusted text


def test_publish_table_and_progress_escape_outside_text() -> None:
    from bpkit.publish.pipeline import Outcome
    from bpkit.report.publish import progress_line
    from bpkit.report.publish import table as _table

    evil = Outcome("platform/x\ny", "bp-x\x1b[2J", "1.0.0\n::error::forged", "", None, "failed",
                   "registry said \x1b]0;pwned\x07\n::warning::forged too")
    text = _table([evil], "oci://reg.example/ns", dry_run=False)
    assert "\x1b" not in text and "\x07" not in text
    line = progress_line(evil)
    assert "\x1b" not in line and "\n" not in line
    assert not any(line.startswith("::") for line in text.splitlines())
    assert len(text.splitlines()) == 4  # header, one row, its message, the summary


def test_github_outputs_cannot_be_forged(tmp_path: Any) -> None:
    from bpkit.publish.pipeline import Outcome
    from bpkit.report.publish import write_github as _github

    ok = Outcome("platform/x", "bp-x", "1.0.0\nref=evil", "reg/ns/bp-x:1.0.0",
                 "sha256:" + "a" * 64, "published")
    bad = Outcome("platform/y", "bp-y|`x`", "1.0.0", "", None, "failed", "no\n| forged | row |")
    out, summary = tmp_path / "out", tmp_path / "summary"
    _github([ok], {"GITHUB_OUTPUT": str(out), "GITHUB_STEP_SUMMARY": str(summary)})
    text = out.read_text()
    # A value with a line break goes in the runner's heredoc form: it cannot forge `ref=`.
    assert "\nref=evil\n" in text
    keys = [line.split("=", 1)[0].split("<<", 1)[0] for line in text.splitlines()
            if "=" in line or "<<" in line]
    assert keys[:3] == ["results", "ref", "digest"] and "version" in keys
    _github([ok, bad], {"GITHUB_STEP_SUMMARY": str(summary)})
    table = [line for line in summary.read_text().splitlines() if line.startswith("|")]
    assert len(table) == 3 + 4  # header and rule per call, one row per outcome
    assert all(line.count("|") - line.count("\\|") == 5 for line in table)
    # Pipes, backquotes and line breaks in outside text are escaped: one line, no new row.
    assert "- bp-y\\|\\`x\\`: no\\\\n\\| forged \\| row \\|" in summary.read_text()


def test_lint_github_commands_cannot_be_forged() -> None:
    from bpkit.report.lint import escape_github_data, escape_github_property

    data = escape_github_data("a\r\nb\n::error::x\u2028y\x1b[31m%")
    assert "\n" not in data and "\r" not in data and "\u2028" not in data and "\x1b" not in data
    assert data.startswith("a%0D%0Ab%0A::error::x")
    assert data.endswith("%25")
    prop = escape_github_property("f,title=x::y\n")
    assert "," not in prop and ":" not in prop and "\n" not in prop


def test_error_messages_reach_the_terminal_escaped(monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    import bpkit.cli as cli_module
    from bpkit.errors import UsageError

    def boom(**kw: Any) -> None:
        raise UsageError("registry URL 'oci://\x1b[2J\nx' is bad")

    monkeypatch.setattr(cli_module.cli, "main", boom)
    with pytest.raises(SystemExit) as exit_:
        cli_module.main(["publish"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err == "bpkit: error: registry URL 'oci://\\x1b[2J\\nx' is bad\n"


def test_keyboard_interrupt_is_exit_130_without_traceback(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import bpkit.cli as cli_module

    def interrupted(**kw: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_module.cli, "main", interrupted)
    with pytest.raises(SystemExit) as exit_:
        cli_module.main(["publish"])
    assert exit_.value.code == 130
    assert capsys.readouterr().err == "bpkit: interrupted\n"


# --------------------------------------------------------------------------- secrets


@pytest.mark.parametrize(
    ("text", "gone"),
    [
        ("repo https://bob:pa/ss@charts.example/x", "pa/ss"),
        ("repo https://bob:p@ss@charts.example/x", "p@ss"),
        ("repo bob:pa/ss@charts.example/x", "pa/ss"),
        ("repo //bob:hunter2@charts.example/x", "hunter2"),
        ("repo 'https://bob:two words@charts.example/x' contains whitespace", "two words"),
        ("GET /v2/?access_token=abc.def.ghi&x=1", "abc.def.ghi"),
        ('{"password": "s3cr3t", "user": "bob"}', "s3cr3t"),
        ("Authorization: Bearer eyJhbGciOi.x.y", "eyJhbGciOi"),
    ],
)
def test_userinfo_and_secret_fields_in_any_form_are_masked(text: str, gone: str) -> None:
    from bpkit.text import redact

    out = redact(text)
    assert gone not in out, out


def test_digest_references_are_not_mistaken_for_userinfo() -> None:
    from bpkit.text import redact

    ref = "ghcr.io/org/bp-x@sha256:" + "ab" * 32
    assert redact(f"pull {ref} now") == f"pull {ref} now"
    assert redact("localhost:5000/x@sha256:" + "0" * 64) == "localhost:5000/x@sha256:" + "0" * 64


def test_known_secrets_in_other_shapes_are_masked() -> None:
    import base64
    from urllib.parse import quote

    from bpkit.text import redact

    pw = "hunter2/xyz@Q+"
    basic = base64.b64encode(f"bob:{pw}".encode()).decode()
    shapes = [
        pw,
        base64.b64encode(pw.encode()).decode().rstrip("="),  # unpadded
        base64.urlsafe_b64encode(pw.encode()).decode(),
        quote(pw, safe=""),
        quote(pw, safe="").replace("%2F", "%2f").replace("%40", "%40"),
        basic[:9] + "\r\n " + basic[9:],  # a folded header
        basic,  # base64 of user:password, never registered as a secret itself
    ]
    for shape in shapes:
        out = redact(f"registry said: {shape} (end)", (pw,))
        assert shape not in out, out
        assert out.startswith("registry said: ") and out.endswith(" (end)")


def test_lint_rules_never_echo_repo_passwords() -> None:
    from bpkit.lint.rules.upstream_repo import repo_problem

    for repo in ["https://bob:pa/ss@charts.example/x", "bob:pa/ss@charts.example/x",
                 "//bob:pa/ss@charts.example/x", "https://bob:pa ss@charts.example/x",
                 "oci://bob:p%2Fss@ghcr.io/x"]:
        why = repo_problem(repo)
        assert why is not None
        assert "pa/ss" not in why and "pa ss" not in why and "p%2Fss" not in why, why


# --------------------------------------------------------------------------- credential files


@pytest.mark.parametrize("kind", ["fifo", "zero", "huge", "latin1", "deep", "dir"])
def test_hostile_credential_files_are_one_line_errors(tmp_path: Any, kind: str) -> None:
    import os

    from bpkit.errors import UsageError
    from bpkit.net.credentials import resolve

    config = tmp_path / "docker" / "config.json"
    config.parent.mkdir()
    if kind == "fifo":
        os.mkfifo(config)  # nothing will ever write to it
    elif kind == "zero":
        config.symlink_to("/dev/zero")
    elif kind == "huge":
        config.write_bytes(b" " * (2 * 1024 * 1024))
    elif kind == "latin1":
        config.write_bytes(b'{"auths": {"x": {"auth": "\xe9"}}}')
    elif kind == "deep":
        config.write_text("[" * 100_000 + "]" * 100_000)
    else:
        config.mkdir()
    start = time.monotonic()
    with pytest.raises(UsageError) as err:
        resolve("reg.example", env={"DOCKER_CONFIG": str(config.parent), "HOME": str(tmp_path)})
    assert time.monotonic() - start < 2
    message = str(err.value)
    assert "docker config" in message and "\n" not in message
    assert str(config) in message


# --------------------------------------------------------------------------- redirects


def test_redirects_are_followed_with_bounded_bodies_and_no_credentials_elsewhere() -> None:
    session = FakeSession()
    ours = artifact()
    session.manifests["1.0.0"] = ours.manifest
    endless = EndlessResponse(302, {"Location": "https://storage.example/m?sig=1"})
    session.faults.append(("GET", "reg.example/v2/ns/bp-x/manifests/", endless))

    def storage(method: str, url: str, headers: Any, data: Any) -> Any:
        if "storage.example" in url:
            return FakeResponse(200, content=ours.manifest)
        return None

    session.handlers.append(storage)
    result = target(session, credentials=Credentials("bob", "pw")).push(ours)
    assert result.status == "unchanged"
    assert endless.read <= ERROR_BODY_MAX_BYTES + 64 * 1024
    hop = [h for _, u, h in session.calls if "storage.example" in u]
    assert hop and "Authorization" not in hop[0]


def test_redirect_loops_and_downgrades_are_refused() -> None:
    session = FakeSession()
    session.manifests["1.0.0"] = artifact().manifest
    session.handlers.append(lambda m, u, h, d: status(
        307, Location="https://reg.example/v2/ns/bp-x/manifests/1.0.0") if m == "GET" else None)
    with pytest.raises(RegistryError, match="more than 5 redirects"):
        target(session).push(artifact())
    session = FakeSession()
    session.manifests["1.0.0"] = artifact().manifest
    session.handlers.append(lambda m, u, h, d: status(
        302, Location="http://evil.example/m") if m == "GET" else None)
    with pytest.raises(RegistryError, match="refusing a redirect from HTTPS to plain HTTP"):
        target(session).push(artifact())


def test_helm_repository_index_with_trickled_headers_ends_at_the_deadline(tmp_path: Any) -> None:
    from bpkit.errors import UpstreamError
    from bpkit.net.helmrepo import HelmRepoClient

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    port = server.getsockname()[1]
    stop = threading.Event()

    def trickle() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            conn.recv(65536)
            head = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000
            for i in range(len(head)):
                if stop.wait(0.1):
                    break
                try:
                    conn.send(head[i : i + 1])
                except OSError:
                    break
            conn.close()

    threading.Thread(target=trickle, daemon=True).start()
    client = HelmRepoClient(cache_dir=tmp_path, env={}, deadline=1.0, read_timeout=1.0,
                            retry_budget=0)
    start = time.monotonic()
    try:
        with pytest.raises(UpstreamError, match="not complete within 1 s"):
            client.index(f"http://127.0.0.1:{port}/charts")
        assert time.monotonic() - start < 4
    finally:
        stop.set()
        server.close()
        client.close()


@pytest.mark.parametrize(("url", "location", "expected"), [
    ("https://r.example/v2/x", "/v2/y", "https://r.example/v2/y"),
    ("https://r.example/v2/x", "https://cdn.example/blob?sig=1", "https://cdn.example/blob?sig=1"),
    ("https://r.example/v2/x", "http://127.0.0.1:5000/b", "http://127.0.0.1:5000/b"),
    ("http://127.0.0.1/v2/x", "http://elsewhere.example/b", "http://elsewhere.example/b"),
    ("https://r.example/v2/x", "http://cdn.example/b", None),  # HTTPS down to HTTP
    ("https://r.example/v2/x", "ftp://r.example/b", None),
    ("https://r.example/v2/x", "file:///etc/passwd", None),
    ("https://r.example/v2/x", "", None),
    ("https://r.example/v2/x", None, None),
    ("https://r.example/v2/x", "/a\r\nX-Injected: 1", None),
    ("https://r.example/v2/x", "//cdn.example/b", "https://cdn.example/b"),
    ("https://r.example/v2/x", "https:///no-host", "https://r.example/no-host"),  # as urljoin
])
def test_one_redirect_rule_for_registries_and_chart_repositories(
        url: str, location: str | None, expected: str | None) -> None:
    from bpkit.net.http import redirect_to

    nxt, why = redirect_to(url, location)
    assert nxt == expected
    assert (why == "") == (expected is not None) and "\n" not in why and "\r" not in why
