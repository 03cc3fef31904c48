"""Find registry credentials the way CI systems and `docker login` leave them.

Order (first match wins):
  1. explicit username + password (the CLI reads the password from stdin);
  2. BPKIT_REGISTRY_USERNAME / BPKIT_REGISTRY_PASSWORD;
  3. GITHUB_ACTOR + GITHUB_TOKEN for ghcr.io inside GitHub Actions;
  4. the docker config ($DOCKER_CONFIG/config.json or ~/.docker/config.json):
     `credHelpers[host]`, then an inline `auths` entry, then `credsStore`.
     (Docker consults a store before inline entries; an inline entry exists
     only when something wrote it on purpose, e.g. a CI step, so it is
     preferred to a machine-wide default store.)
  5. Helm's registry config, what `helm registry login` writes
     ($HELM_REGISTRY_CONFIG, else $XDG_CONFIG_HOME/helm/registry/config.json,
     else ~/.config/helm/registry/config.json);
  6. the containers auth file, what `podman login` and `skopeo login` write
     ($REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers/auth.json).
  Both are in docker's config.json format and read the same way.

Each Credentials names its `source` (never the secret), so an
authentication failure can say which one was tried.

Nothing is ever written to disk; secrets never appear in repr() or messages.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import shutil
import stat
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bpkit.errors import UsageError
from bpkit.limits import CREDENTIAL_FILE_MAX_BYTES, CREDENTIAL_HELPER_SECONDS
from bpkit.net.http import loads_json
from bpkit.text import decoded, outside, seconds, show_path

#: How long a docker credential helper may take (some talk to a keychain daemon).
HELPER_TIMEOUT = CREDENTIAL_HELPER_SECONDS

_DOCKER_HUB_HOSTS = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
_DOCKER_HUB_KEY = "https://index.docker.io/v1/"
_IDENTITY_MARKER = "<token>"  # docker's marker for an identity token


@dataclass(frozen=True)
class Credentials:
    """A username with a password or an identity (refresh) token; repr() hides secrets."""

    username: str
    password: str = field(default="", repr=False)
    identity_token: str | None = field(default=None, repr=False)
    source: str = ""  # where they came from, for messages: "BPKIT_REGISTRY_* variables"

    def secrets(self) -> tuple[str, ...]:
        """The values that must never be shown."""
        return tuple(s for s in (self.password, self.identity_token) if s)

    def __repr__(self) -> str:
        kind = "identity_token" if self.identity_token and not self.password else "password"
        return f"Credentials(username={self.username!r}, {kind}='***', source={self.source!r})"

    __str__ = __repr__


def resolve(
    host: str,
    *,
    username: str | None = None,
    password: str | None = None,
    env: Mapping[str, str] = os.environ,
    docker_config_path: str | Path | None = None,
) -> Credentials | None:
    """Credentials for registry `host` ("ghcr.io", "127.0.0.1:5000"), or None for anonymous."""
    host = host.strip().lower()
    if username is not None or password is not None:
        if not username or password is None:
            raise UsageError("--username and a password (--password-stdin) must be given together")
        return Credentials(username, password, source="command line")

    env_user = _env(env, "BPKIT_REGISTRY_USERNAME")
    env_pass = _env(env, "BPKIT_REGISTRY_PASSWORD")
    if env_user or env_pass:
        if not env_user or not env_pass:
            missing = "BPKIT_REGISTRY_PASSWORD" if env_user else "BPKIT_REGISTRY_USERNAME"
            raise UsageError(f"{missing} is not set, but its partner variable is")
        return Credentials(env_user, env_pass, source="BPKIT_REGISTRY_* variables")

    token = _env(env, "GITHUB_TOKEN")
    if host == "ghcr.io" and env.get("GITHUB_ACTIONS") == "true" and token:
        actor = _env(env, "GITHUB_ACTOR") or "github-actions"
        return Credentials(actor, token, source="GITHUB_TOKEN")

    if docker_config_path:
        return _from_docker_config(host, Path(docker_config_path), env)
    for what, path in _config_files(env):
        found = _from_docker_config(host, path, env, what=what)
        if found is not None:
            return found
    return None


def _env(env: Mapping[str, str], name: str) -> str | None:
    """An environment value that will be sent on: bytes that are not UTF-8 are an error."""
    value = env.get(name)
    return None if value is None else decoded(value, f"environment variable {name}")


def _config_files(env: Mapping[str, str]) -> list[tuple[str, Path]]:
    """The docker-format credential files, in the order they are consulted."""
    home = Path(env["HOME"]) if env.get("HOME") else Path.home()
    files = [("docker config", _docker_config_file(env))]
    if env.get("HELM_REGISTRY_CONFIG"):
        helm = Path(env["HELM_REGISTRY_CONFIG"])
    else:
        config_home = Path(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") else (
            home / ".config")
        helm = config_home / "helm" / "registry" / "config.json"
    files.append(("helm registry config", helm))
    if env.get("REGISTRY_AUTH_FILE"):
        files.append(("containers auth file", Path(env["REGISTRY_AUTH_FILE"])))
    elif env.get("XDG_RUNTIME_DIR"):
        files.append(("containers auth file",
                      Path(env["XDG_RUNTIME_DIR"]) / "containers" / "auth.json"))
    return files


def _docker_config_file(env: Mapping[str, str]) -> Path:
    if env.get("DOCKER_CONFIG"):
        return Path(env["DOCKER_CONFIG"]) / "config.json"
    home = env.get("HOME")
    return (Path(home) if home else Path.home()) / ".docker" / "config.json"


def _read_config(path: Path, what: str) -> str | None:
    """A credentials file's text: regular file (symlinks followed), bounded, UTF-8; None: absent.

    O_NONBLOCK keeps a FIFO planted at the path from hanging the open; the
    size cap keeps `/dev/zero` or a huge file from filling memory.
    """
    shown = show_path(str(path))
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise UsageError(f"cannot read {what} {shown}: {exc.strerror}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise UsageError(f"{what} {shown} is not a regular file")
        chunks: list[bytes] = []
        size = 0
        while size <= CREDENTIAL_FILE_MAX_BYTES:
            chunk = os.read(fd, 64 * 1024)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise UsageError(f"cannot read {what} {shown}: {exc.strerror}") from None
    finally:
        os.close(fd)
    if size > CREDENTIAL_FILE_MAX_BYTES:
        raise UsageError(f"{what} {shown} is larger than {CREDENTIAL_FILE_MAX_BYTES // 1024} KiB")
    try:
        return b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{what} {shown} is not valid UTF-8 (byte {exc.start + 1})") from None


def _from_docker_config(host: str, path: Path, env: Mapping[str, str], *,
                        what: str = "docker config") -> Credentials | None:
    """Credentials from one docker-format file; `what` names it in messages and `source`."""
    text = _read_config(path, what)
    if text is None:
        return None
    try:
        config = loads_json(text) if text.strip() else {}
    except ValueError as exc:
        raise UsageError(f"{what} {show_path(str(path))} is not valid JSON: "
                         f"{outside(str(exc), limit=120)}") from None
    if not isinstance(config, dict):
        raise UsageError(f"{what} {path} is not a JSON object")

    helpers = config.get("credHelpers")
    if isinstance(helpers, dict):
        helper = next((helpers[k] for k in _config_keys(host) if k in helpers), None)
        if isinstance(helper, str) and helper:
            return _from_helper(helper, host, path, env, what)

    auths = config.get("auths")
    if isinstance(auths, dict):
        entry = _auths_entry(auths, host)
        if entry is not None:
            creds = _from_auths_entry(entry, host, f"{what} {path}")
            if creds is not None:
                return creds

    store = config.get("credsStore")
    if isinstance(store, str) and store:
        return _from_helper(store, host, path, env, what)
    return None


def _config_keys(host: str) -> list[str]:
    """The keys docker may have stored `host` under, most specific first."""
    if host in _DOCKER_HUB_HOSTS:
        return [_DOCKER_HUB_KEY, "index.docker.io", "docker.io", "registry-1.docker.io"]
    return [host, f"https://{host}", f"http://{host}"]


def _normalize_key(key: str) -> str:
    """Docker's ConvertToHostname: drop the scheme and any path."""
    key = key.strip().lower()
    for scheme in ("https://", "http://"):
        if key.startswith(scheme):
            key = key[len(scheme) :]
    return key.split("/", 1)[0]


def _auths_entry(auths: dict[str, Any], host: str) -> dict[str, Any] | None:
    for key in _config_keys(host):
        if isinstance(auths.get(key), dict):
            return dict(auths[key])
    wanted = {_normalize_key(k) for k in _config_keys(host)}
    for key, value in auths.items():
        if _normalize_key(key) in wanted and isinstance(value, dict):
            return dict(value)
    return None


def _from_auths_entry(entry: dict[str, Any], host: str, source: str) -> Credentials | None:
    username = entry.get("username") or ""
    password = entry.get("password") or ""
    encoded = entry.get("auth")
    if isinstance(encoded, str) and encoded:
        try:
            decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise UsageError(f"{source}: the 'auth' entry for {host} is not valid base64") from None
        if ":" not in decoded:
            raise UsageError(f"{source}: the 'auth' entry for {host} is not 'user:password'")
        username, password = decoded.split(":", 1)
    token = entry.get("identitytoken")
    if isinstance(token, str) and token:
        return Credentials(username or _IDENTITY_MARKER, "", identity_token=token, source=source)
    if isinstance(username, str) and isinstance(password, str) and username and password:
        return Credentials(username, password, source=source)
    return None  # an empty entry: docker writes these next to a credsStore


def _from_helper(
    helper: str, host: str, config_path: Path, env: Mapping[str, str],
    what: str = "docker config",
) -> Credentials | None:
    """Ask `docker-credential-<helper> get`; None when it knows nothing about the host."""
    name = f"docker-credential-{helper}"
    exe = shutil.which(name, path=env.get("PATH"))
    if exe is None:
        raise UsageError(
            f"{what} {config_path} names credential helper '{helper}' for {host}, "
            f"but {name} is not on PATH"
        )
    server_urls = _config_keys(host)[:2]  # "host" then "https://host" (or docker hub's key)
    for server_url in server_urls:
        try:
            proc = subprocess.run(
                [exe, "get"],
                input=server_url.encode(),
                capture_output=True,
                timeout=HELPER_TIMEOUT,
                env=dict(env),
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise UsageError(
                f"{name} did not answer within {seconds(HELPER_TIMEOUT)} for {host}"
            ) from None
        except OSError as exc:
            raise UsageError(f"cannot run {name}: {exc.strerror}") from None
        out = proc.stdout.decode("utf-8", "replace").strip()
        if proc.returncode != 0:
            if "credentials not found" in out.lower() or not out:
                continue
            message = out.splitlines()[0][:200]
            raise UsageError(f"{name} failed for {host}: {message}")
        try:
            data = json.loads(out)
        except ValueError:
            raise UsageError(f"{name} answered something that is not JSON for {host}") from None
        if not isinstance(data, dict):
            raise UsageError(f"{name} answered something that is not a JSON object for {host}")
        username = data.get("Username") or ""
        secret = data.get("Secret") or ""
        if not isinstance(username, str) or not isinstance(secret, str) or not secret:
            continue
        source = f"credential helper {name} (from {what} {config_path})"
        if username == _IDENTITY_MARKER:
            return Credentials(username, "", identity_token=secret, source=source)
        return Credentials(username, secret, source=source)
    return None
