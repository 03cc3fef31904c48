"""Check charts with the real Helm library (helm-sdkpy), each call in a child process.

Why a child process rather than importing helm_sdkpy in the test:
  * helm-sdkpy's Go runtime sees the environment of process start only, so
    HELM_CACHE_HOME/HELM_CONFIG_HOME/HELM_DATA_HOME and TZ cannot be set from
    inside a running test; a child gets them fresh (temp dirs, TZ=UTC so
    Helm's `created` annotation is in the same form as bpkit's);
  * some calls crash the whole process (`Pull`: a nil pointer in its shim);
  * Helm prints to fd 1; a child's stdout is simply captured;
  * helm-sdkpy needs Python >= 3.12, while the tests may run on 3.11.

The interpreter used is $BPKIT_HELM_PYTHON, else the current one when it
has helm_sdkpy. `helm_python()` says which (None: tests skip, or fail when
$BPKIT_REQUIRE_HELM is set, as CI should).
Each call costs about 0.2 s (loading Helm's shared library).

Run as a script, this file is the child: `python helmcheck.py REQUEST RESULT`.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HELM_PYTHON_ENV = "BPKIT_HELM_PYTHON"
REQUIRE_HELM_ENV = "BPKIT_REQUIRE_HELM"  # CI: a missing Helm is a failure, not a skip
_DIGEST = re.compile(r"^Digest: (sha256:[0-9a-f]{64})$", re.MULTILINE)
_TIMEOUT = 120


class HelmFailed(Exception):
    """Helm refused or failed; the message is Helm's."""


@dataclass(frozen=True)
class HelmResult:
    value: Any
    output: str  # what Helm printed


def helm_python() -> str | None:
    """An interpreter that can import helm_sdkpy, or None."""
    configured = os.environ.get(HELM_PYTHON_ENV)
    if configured:
        return configured if shutil.which(configured) or Path(configured).exists() else None
    if importlib.util.find_spec("helm_sdkpy") is not None:
        return sys.executable
    return None


def require_helm() -> str:
    """The helm interpreter, or skip the calling test (fail if $BPKIT_REQUIRE_HELM is set)."""
    import pytest

    python = helm_python()
    if python is None:
        reason = f"helm-sdkpy not available: install it (Python >= 3.12) or set {HELM_PYTHON_ENV}"
        if os.environ.get(REQUIRE_HELM_ENV):
            pytest.fail(reason)
        pytest.skip(reason)
    return python


def _call(op: str, **args: Any) -> HelmResult:
    python = helm_python()
    if python is None:
        raise HelmFailed(f"helm-sdkpy not available (set {HELM_PYTHON_ENV})")
    with tempfile.TemporaryDirectory(prefix="helmcheck-") as tmp:
        work = Path(tmp)
        request, result = work / "request.json", work / "result.json"
        fd = os.open(request, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump({"op": op, "args": args}, fh)
        env = dict(os.environ)
        env["TZ"] = "UTC"
        for name in ("HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"):
            (work / name).mkdir()
            env[name] = str(work / name)
        env.pop("KUBECONFIG", None)
        proc = subprocess.run(
            [python, __file__, str(request), str(result)],
            capture_output=True,
            env=env,
            timeout=_TIMEOUT,
            check=False,
        )
        output = proc.stdout.decode(errors="replace")
        if not result.exists():
            raise HelmFailed(
                f"helm child for {op} died (exit {proc.returncode}):\n"
                f"{output}\n{proc.stderr.decode(errors='replace')}"
            )
        answer = json.loads(result.read_text())
    if not answer["ok"]:
        raise HelmFailed(answer["error"])
    return HelmResult(value=answer["value"], output=output)


def _auth_args(ref: str, auth: tuple[str, str] | None) -> dict[str, Any]:
    if auth is None:
        return {}
    host = ref.removeprefix("oci://").split("/", 1)[0]
    return {"registry_auth": {host: {"username": auth[0], "password": auth[1]}}}


def show_chart(ref: str, *, plain_http: bool = True, auth: tuple[str, str] | None = None) -> str:
    """`helm show chart REF`: Chart.yaml as Helm loaded it from the registry.

    REF is "oci://HOST/REPO/NAME[:VERSION]" (a "+" in VERSION is refused by
    this shim; leave the version out to get the highest one).
    """
    value = _call("show_chart", ref=ref, plain_http=plain_http, **_auth_args(ref, auth)).value
    assert isinstance(value, str)
    return value


def show_values(ref: str, *, plain_http: bool = True, auth: tuple[str, str] | None = None) -> str:
    """`helm show values REF`: values.yaml as Helm loaded it."""
    value = _call("show_values", ref=ref, plain_http=plain_http, **_auth_args(ref, auth)).value
    assert isinstance(value, str)
    return value


def lint(path: Path | str) -> dict[str, Any]:
    """`helm lint PATH` (a chart folder or .tgz): Helm's result mapping."""
    value = _call("lint", path=str(path)).value
    assert isinstance(value, dict)
    return value


def package(chart_dir: Path | str, dest_dir: Path | str) -> Path:
    """`helm package CHART_DIR -d DEST_DIR`: the .tgz path."""
    return Path(_call("package", chart_dir=str(chart_dir), dest_dir=str(dest_dir)).value)


def push(
    tgz: Path | str,
    registry_ref: str,
    *,
    plain_http: bool = True,
    auth: tuple[str, str] | None = None,
) -> str:
    """`helm push TGZ oci://HOST/NAMESPACE`: the manifest digest Helm reports.

    Helm's `created` annotation is the .tgz file's mtime (in UTC here).
    """
    result = _call(
        "push",
        tgz=str(tgz),
        remote=registry_ref,
        plain_http=plain_http,
        **_auth_args(registry_ref, auth),
    )
    match = _DIGEST.search(result.output)
    if match is None:
        raise HelmFailed(f"helm push printed no digest:\n{result.output}")
    return match.group(1)


def helm_package_and_push(
    chart_dir: Path | str,
    registry_ref: str,
    *,
    dest_dir: Path | str,
    plain_http: bool = True,
    auth: tuple[str, str] | None = None,
) -> tuple[Path, str]:
    """Helm's own package + push, in one child: (the .tgz, the manifest digest)."""
    result = _call(
        "package_push",
        chart_dir=str(chart_dir),
        dest_dir=str(dest_dir),
        remote=registry_ref,
        plain_http=plain_http,
        **_auth_args(registry_ref, auth),
    )
    match = _DIGEST.search(result.output)
    if match is None:
        raise HelmFailed(f"helm push printed no digest:\n{result.output}")
    return Path(result.value), match.group(1)


# --- the child ----------------------------------------------------------------


def _child(request_path: str, result_path: str) -> int:  # pragma: no cover - runs in a child
    import asyncio
    import importlib

    h: Any = importlib.import_module("helm_sdkpy")

    req = json.loads(Path(request_path).read_text())
    args = req["args"]

    def config() -> Any:
        return h.Configuration(
            namespace="default",
            plain_http=args.get("plain_http", False),
            registry_auth=args.get("registry_auth"),
        )

    def run(coro: Any) -> Any:
        return asyncio.run(coro)

    def do_push(tgz: str) -> None:
        run(h.Push(config()).run(tgz, args["remote"], plain_http=args.get("plain_http", False)))

    op = req["op"]
    try:
        if op == "show_chart":
            value: Any = run(h.Show(config()).chart(args["ref"]))
        elif op == "show_values":
            value = run(h.Show(config()).values(args["ref"]))
        elif op == "lint":
            value = run(h.Lint(config()).run(args["path"]))
        elif op == "package":
            value = run(h.Package(config()).run(args["chart_dir"], dest_dir=args["dest_dir"]))
        elif op == "push":
            do_push(args["tgz"])
            value = None
        elif op == "package_push":
            value = run(h.Package(config()).run(args["chart_dir"], dest_dir=args["dest_dir"]))
            do_push(value)
        else:
            raise ValueError(f"unknown op {op}")
        answer = {"ok": True, "value": value}
    except h.HelmError as exc:
        answer = {"ok": False, "error": str(exc)}
    sys.stdout.flush()
    Path(result_path).write_text(json.dumps(answer))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(_child(sys.argv[1], sys.argv[2]))
