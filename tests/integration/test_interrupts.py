"""Ctrl-C and odd input for the real `bpkit publish` command, in a subprocess.

Ctrl-C while requests hang must end the run within 2 s with exit 130, no
traceback and no partial tag; Ctrl-C while publishing into an OCI layout
must leave a layout every entry of which is complete, and a re-run must
finish the job. Bytes that are not UTF-8 on stdin or in the environment
are a one-line error naming where they came from.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.cli import REPO
from tests.helpers.git import platform_repo as make_repo

pytestmark = pytest.mark.integration


class HangingServer:
    """Accepts connections and reads what is sent; never answers."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(32)
        self.port = self.sock.getsockname()[1]
        self.requests = 0
        self._conns: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self._conns.append(conn)
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn: socket.socket) -> None:
        try:
            while data := conn.recv(65536):
                self.requests += data.count(b"HTTP/1.1\r\n")
        except OSError:
            pass

    def close(self) -> None:
        self.sock.close()
        for conn in self._conns:
            conn.close()


@pytest.fixture
def hanging() -> Any:
    server = HangingServer()
    yield server
    server.close()


def _env(repo: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    home = repo.parent / "home"
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items()
           if k not in ("GITHUB_ACTIONS", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY",
                        "BPKIT_REGISTRY")}
    env.update({"HOME": str(home), "DOCKER_CONFIG": str(home / ".docker"),
                "PYTHONPATH": str(REPO)})
    env.update(extra or {})
    return env


def _start(repo: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "bpkit", *args], cwd=repo,
                            env=env or _env(repo), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_for(predicate: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.02)


@pytest.mark.parametrize(("names", "presses"),
                         [(["flux"], 1), (["--all", "--jobs", "4"], 1),
                          (["--all", "--jobs", "4"], 2)],
                         ids=["one-blueprint", "all-in-parallel", "pressed-twice"])
def test_ctrl_c_while_requests_hang_exits_130_within_2_s(
    tmp_path: Path, hanging: HangingServer, names: list[str], presses: int
) -> None:
    repo = make_repo(tmp_path)
    proc = _start(repo, "publish", *names, "--registry",
                  f"oci://127.0.0.1:{hanging.port}/openova-io")
    try:
        _wait_for(lambda: hanging.requests >= 1 or proc.poll() is not None)
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.3)  # every worker is now blocked waiting for an answer
        start = time.monotonic()
        for _ in range(presses):
            proc.send_signal(signal.SIGINT)
            time.sleep(0.01)
        _, err = proc.communicate(timeout=10)
        elapsed = time.monotonic() - start
    finally:
        if proc.poll() is None:
            proc.kill()
    text = err.decode()
    assert proc.returncode == 130, text
    assert elapsed < 2.0, f"{elapsed:.2f} s from Ctrl-C to exit"
    assert "Traceback" not in text and "Exception ignored" not in text, text
    if presses == 1:  # a second Ctrl-C may end the process before the message is out
        assert text.strip().splitlines()[-1] == "bpkit: interrupted"


def _layout_ok(layout: Path) -> list[str]:
    """Every index entry's manifest, config and layers are there and hash right."""
    import hashlib

    def blob(digest: str) -> bytes:
        data = (layout / "blobs" / "sha256" / digest.split(":", 1)[1]).read_bytes()
        assert "sha256:" + hashlib.sha256(data).hexdigest() == digest
        return data

    index = json.loads((layout / "index.json").read_text())
    names = []
    for entry in index["manifests"]:
        manifest = json.loads(blob(entry["digest"]))
        for desc in [manifest["config"], *manifest["layers"]]:
            assert len(blob(desc["digest"])) == desc["size"]
        names.append(entry["annotations"]["org.opencontainers.image.ref.name"])
    return names


@pytest.mark.parametrize("delay", [0.4, 0.9, 1.6])
def test_ctrl_c_while_publishing_to_a_layout_leaves_it_valid(tmp_path: Path,
                                                             delay: float) -> None:
    repo = make_repo(tmp_path)
    layout = tmp_path / "oci"
    proc = _start(repo, "publish", "--all", "--layout", str(layout))
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    if proc.returncode == -signal.SIGINT:
        # The run had finished: a Ctrl-C in the interpreter's last teardown, after
        # its signal handlers are gone, ends it by the signal (what a shell shows as
        # 130), as any Python program. Everything was done and written by then.
        assert "10 of 10 published" in out.decode(), out.decode() + err.decode()
    else:
        assert proc.returncode in (0, 130), err.decode()
    assert "Traceback" not in err.decode()
    if (layout / "index.json").exists():
        _layout_ok(layout)
    again = subprocess.run([sys.executable, "-m", "bpkit", "publish", "--all", "--layout",
                            str(layout), "--format", "json"], cwd=repo, env=_env(repo),
                           capture_output=True, timeout=120, check=False)
    assert again.returncode == 0, again.stderr.decode()
    statuses = {row["status"] for row in json.loads(again.stdout)["results"]}
    assert statuses <= {"published", "unchanged"}
    assert len(_layout_ok(layout)) == 10
    assert not [p.name for p in layout.iterdir() if p.name.startswith(".tmp-")]


def test_password_stdin_that_is_not_utf8_is_a_one_line_error(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "bpkit", "publish", "flux", "--registry",
         "oci://127.0.0.1:9/openova-io", "--username", "bob", "--password-stdin"],
        cwd=repo, env=_env(repo), input=b"pass\xff\xfeword\n", capture_output=True,
        timeout=60, check=False)
    err = proc.stderr.decode()
    assert proc.returncode == 2, err
    assert err.strip().splitlines() == [
        "bpkit: error: --password-stdin: stdin is not valid UTF-8 (byte 5 of what was read)"]


def test_environment_values_that_are_not_utf8_are_a_one_line_error(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    env: dict[Any, Any] = _env(repo, {"BPKIT_REGISTRY_USERNAME": "bob"})
    env = {k.encode(): v.encode() for k, v in env.items()}
    env[b"BPKIT_REGISTRY_PASSWORD"] = b"se\xffcret"
    proc = subprocess.run(
        [sys.executable, "-m", "bpkit", "publish", "flux", "--registry",
         "oci://127.0.0.1:9/openova-io"],
        cwd=repo, env=env, capture_output=True, timeout=60, check=False)
    err = proc.stderr.decode()
    assert proc.returncode == 2, err
    assert err.strip().splitlines() == [
        "bpkit: error: environment variable BPKIT_REGISTRY_PASSWORD is not valid UTF-8 "
        "(undecodable byte at offset 2)"]
    env[b"BPKIT_REGISTRY"] = b"oci://127.0.0.1:9/\xe9"
    proc = subprocess.run([sys.executable, "-m", "bpkit", "publish", "flux"], cwd=repo, env=env,
                          capture_output=True, timeout=60, check=False)
    assert proc.returncode == 2
    assert "environment variable BPKIT_REGISTRY is not valid UTF-8" in proc.stderr.decode()


@pytest.mark.parametrize("argv", [["rules"], ["lint", "--no-cache", "platform/"]])
def test_ctrl_c_after_the_command_is_done_exits_130_at_once(tmp_path: Path,
                                                            argv: list[str]) -> None:
    """A Ctrl-C while the interpreter shuts down (here: from an atexit hook) is exit 130,
    the output complete, no traceback; Python's own handler would die by the signal."""
    repo = make_repo(tmp_path)
    code = ("import atexit, os, signal, sys, time\n"
            "sys.argv = ['bpkit', *sys.argv[1:]]\n"
            "atexit.register(lambda: (os.kill(os.getpid(), signal.SIGINT), time.sleep(5)))\n"
            "from bpkit.cli import main\n"
            "main()\n")
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", code, *argv], cwd=repo, env=_env(repo),
                          capture_output=True, timeout=60, check=False)
    err = proc.stderr.decode()
    assert proc.returncode == 130, (proc.returncode, err)
    assert time.monotonic() - start < 4  # not the hook's 5 s sleep
    assert "Traceback" not in err and "Exception ignored" not in err, err
    out = proc.stdout.decode()
    assert ("overlay-values" in out) if argv == ["rules"] else ("10 blueprints" in out), out
