"""bpkit.net.credentials: the lookup order, docker configs and a real credential helper process."""

from __future__ import annotations

import base64
import json
import os
import sys
from pathlib import Path

import pytest

from bpkit.errors import UsageError
from bpkit.net import credentials
from bpkit.net.credentials import Credentials, resolve

HELPER = """#!{python}
import json, os, sys, time
server = sys.stdin.read()
log = os.environ.get("HELPER_LOG")
if log:
    with open(log, "a") as f:
        f.write(server + "\\n")
if os.environ.get("HELPER_SLEEP"):
    time.sleep(float(os.environ["HELPER_SLEEP"]))
if os.environ.get("HELPER_BROKEN"):
    print("keychain is locked")
    sys.exit(1)
known = json.loads(os.environ.get("HELPER_DATA", "{{}}"))
if server not in known:
    print("credentials not found in native keychain")
    sys.exit(1)
user, secret = known[server]
print(json.dumps({{"ServerURL": server, "Username": user, "Secret": secret}}))
"""


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "home" / ".docker").mkdir(parents=True)
    return tmp_path / "home"


@pytest.fixture
def env(home: Path, tmp_path: Path) -> dict[str, str]:
    """A clean environment: HOME in tmp, PATH with a `docker-credential-test` helper."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    helper = bindir / "docker-credential-test"
    helper.write_text(HELPER.format(python=sys.executable))
    helper.chmod(0o755)
    return {"HOME": str(home), "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"}


def write_config(home: Path, config: object) -> Path:
    path = home / ".docker" / "config.json"
    path.write_text(json.dumps(config))
    return path


# --------------------------------------------------------------------------- order


def test_explicit_credentials_win_over_everything(env: dict[str, str], home: Path) -> None:
    env |= {"BPKIT_REGISTRY_USERNAME": "envuser", "BPKIT_REGISTRY_PASSWORD": "envpw"}
    write_config(home, {"auths": {"ghcr.io": {"auth": b64("cfg:cfgpw")}}})
    creds = resolve("ghcr.io", username="cli", password="clipw", env=env)
    assert creds == Credentials("cli", "clipw", source="command line")


def test_explicit_username_needs_a_password(env: dict[str, str]) -> None:
    with pytest.raises(UsageError, match="--username and a password"):
        resolve("ghcr.io", username="cli", env=env)
    with pytest.raises(UsageError, match="--username and a password"):
        resolve("ghcr.io", password="pw", env=env)


def test_bpkit_variables_come_next(env: dict[str, str], home: Path) -> None:
    env |= {"BPKIT_REGISTRY_USERNAME": "envuser", "BPKIT_REGISTRY_PASSWORD": "envpw"}
    env |= {"GITHUB_ACTIONS": "true", "GITHUB_ACTOR": "octo", "GITHUB_TOKEN": "ghs_x"}
    write_config(home, {"auths": {"ghcr.io": {"auth": b64("cfg:cfgpw")}}})
    creds = resolve("ghcr.io", env=env)
    assert creds is not None
    assert (creds.username, creds.password) == ("envuser", "envpw")


@pytest.mark.parametrize("missing", ["BPKIT_REGISTRY_USERNAME", "BPKIT_REGISTRY_PASSWORD"])
def test_half_set_bpkit_variables_are_an_error(env: dict[str, str], missing: str) -> None:
    env |= {"BPKIT_REGISTRY_USERNAME": "u", "BPKIT_REGISTRY_PASSWORD": "p"}
    del env[missing]
    with pytest.raises(UsageError, match=f"{missing} is not set"):
        resolve("ghcr.io", env=env)


def test_github_token_only_for_ghcr_inside_actions(env: dict[str, str], home: Path) -> None:
    env |= {"GITHUB_ACTIONS": "true", "GITHUB_ACTOR": "octo", "GITHUB_TOKEN": "ghs_secret"}
    creds = resolve("ghcr.io", env=env)
    assert creds is not None
    assert (creds.username, creds.password, creds.source) == ("octo", "ghs_secret", "GITHUB_TOKEN")
    assert resolve("registry.example", env=env) is None
    env["GITHUB_ACTIONS"] = "false"
    assert resolve("ghcr.io", env=env) is None


def test_github_token_beats_docker_config(env: dict[str, str], home: Path) -> None:
    env |= {"GITHUB_ACTIONS": "true", "GITHUB_ACTOR": "octo", "GITHUB_TOKEN": "ghs_secret"}
    write_config(home, {"auths": {"ghcr.io": {"auth": b64("cfg:cfgpw")}}})
    creds = resolve("ghcr.io", env=env)
    assert creds is not None and creds.username == "octo"


def test_nothing_found_is_none(env: dict[str, str]) -> None:
    assert resolve("ghcr.io", env=env) is None


# --------------------------------------------------------------------------- docker config: auths


@pytest.mark.parametrize(
    "key",
    ["ghcr.io", "https://ghcr.io", "http://ghcr.io", "https://ghcr.io/v2/", "GHCR.IO"],
)
def test_auths_base64_under_any_key_spelling(env: dict[str, str], home: Path, key: str) -> None:
    path = write_config(home, {"auths": {key: {"auth": b64("bob:pa:ss")}}})
    creds = resolve("ghcr.io", env=env)
    assert creds is not None
    assert (creds.username, creds.password) == ("bob", "pa:ss")
    assert creds.source == f"docker config {path}"


def test_auths_username_and_password_fields(env: dict[str, str], home: Path) -> None:
    write_config(home, {"auths": {"127.0.0.1:5000": {"username": "u", "password": "p"}}})
    creds = resolve("127.0.0.1:5000", env=env)
    assert creds is not None and (creds.username, creds.password) == ("u", "p")
    assert resolve("127.0.0.1:5001", env=env) is None


def test_docker_hub_key(env: dict[str, str], home: Path) -> None:
    write_config(home, {"auths": {"https://index.docker.io/v1/": {"auth": b64("hub:pw")}}})
    for host in ("docker.io", "registry-1.docker.io", "index.docker.io"):
        creds = resolve(host, env=env)
        assert creds is not None and creds.username == "hub"


def test_identity_token_entry(env: dict[str, str], home: Path) -> None:
    write_config(
        home, {"auths": {"reg.example": {"auth": b64("<token>:"), "identitytoken": "idt"}}}
    )
    creds = resolve("reg.example", env=env)
    assert creds is not None
    assert (creds.username, creds.password, creds.identity_token) == ("<token>", "", "idt")
    assert "idt" not in repr(creds)


def test_empty_entry_is_nothing(env: dict[str, str], home: Path) -> None:
    write_config(home, {"auths": {"ghcr.io": {}}})
    assert resolve("ghcr.io", env=env) is None


def test_docker_config_env_and_explicit_path(env: dict[str, str], tmp_path: Path) -> None:
    other = tmp_path / "cfgdir"
    other.mkdir()
    (other / "config.json").write_text(json.dumps({"auths": {"h.example": {"auth": b64("a:b")}}}))
    env["DOCKER_CONFIG"] = str(other)
    creds = resolve("h.example", env=env)
    assert creds is not None and creds.username == "a"
    explicit = tmp_path / "explicit.json"
    explicit.write_text(json.dumps({"auths": {"h.example": {"auth": b64("c:d")}}}))
    creds = resolve("h.example", env=env, docker_config_path=explicit)
    assert creds is not None and creds.username == "c"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not valid JSON"),
        ("[1, 2]", "is not a JSON object"),
        (json.dumps({"auths": {"ghcr.io": {"auth": "%%%"}}}), "not valid base64"),
        (json.dumps({"auths": {"ghcr.io": {"auth": b64("nocolon")}}}), "not 'user:password'"),
    ],
)
def test_broken_docker_config(env: dict[str, str], home: Path, content: str, message: str) -> None:
    (home / ".docker" / "config.json").write_text(content)
    with pytest.raises(UsageError, match=message) as err:
        resolve("ghcr.io", env=env)
    assert str(home / ".docker" / "config.json") in str(err.value)


# --------------------------------------------------------------------------- helpers


def test_cred_helper_for_the_host(env: dict[str, str], home: Path, tmp_path: Path) -> None:
    log = tmp_path / "helper.log"
    env |= {"HELPER_LOG": str(log), "HELPER_DATA": json.dumps({"ghcr.io": ["hu", "hs"]})}
    write_config(
        home,
        {"credHelpers": {"ghcr.io": "test"}, "auths": {"ghcr.io": {"auth": b64("inline:pw")}}},
    )
    creds = resolve("ghcr.io", env=env)
    assert creds is not None
    assert (creds.username, creds.password) == ("hu", "hs")
    assert creds.source == (f"credential helper docker-credential-test "
                            f"(from docker config {home / '.docker' / 'config.json'})")
    assert log.read_text() == "ghcr.io\n"  # the host went in on stdin


def test_creds_store_after_inline_auths(env: dict[str, str], home: Path) -> None:
    env["HELPER_DATA"] = json.dumps({"https://reg.example": ["su", "sp"]})
    write_config(home, {"credsStore": "test", "auths": {"other.example": {"auth": b64("o:p")}}})
    creds = resolve("reg.example", env=env)  # found under the second spelling
    assert creds is not None and (creds.username, creds.password) == ("su", "sp")
    creds = resolve("other.example", env=env)
    assert creds is not None and creds.username == "o"
    assert resolve("unknown.example", env=env) is None


def test_helper_identity_token(env: dict[str, str], home: Path) -> None:
    env["HELPER_DATA"] = json.dumps({"reg.example": ["<token>", "refresh-me"]})
    write_config(home, {"credsStore": "test"})
    creds = resolve("reg.example", env=env)
    assert creds is not None
    assert (creds.password, creds.identity_token) == ("", "refresh-me")


def test_missing_helper_is_a_clear_error(env: dict[str, str], home: Path) -> None:
    path = write_config(home, {"credsStore": "desktop"})
    with pytest.raises(UsageError) as err:
        resolve("ghcr.io", env=env)
    assert str(err.value) == (
        f"docker config {path} names credential helper 'desktop' for ghcr.io, "
        "but docker-credential-desktop is not on PATH"
    )


def test_failing_helper_is_a_clear_error(env: dict[str, str], home: Path) -> None:
    env["HELPER_BROKEN"] = "1"
    write_config(home, {"credsStore": "test"})
    with pytest.raises(UsageError, match=r"docker-credential-test failed for ghcr.io: keychain"):
        resolve("ghcr.io", env=env)


def test_slow_helper_times_out(
    env: dict[str, str], home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(credentials, "HELPER_TIMEOUT", 0.5)
    env["HELPER_SLEEP"] = "10"
    write_config(home, {"credsStore": "test"})
    with pytest.raises(UsageError, match=r"did not answer within 0.5 s"):
        resolve("ghcr.io", env=env)


# --------------------------------------------------------------------------- secrecy


def test_repr_hides_secrets() -> None:
    creds = Credentials("bob", "hunter2", source="x")
    assert "hunter2" not in repr(creds) and "hunter2" not in str(creds)
    assert "bob" in repr(creds)
    assert creds.secrets() == ("hunter2",)


def test_resolve_writes_nothing(env: dict[str, str], home: Path, tmp_path: Path) -> None:
    env["HELPER_DATA"] = json.dumps({"ghcr.io": ["hu", "hs"]})
    path = write_config(home, {"credsStore": "test"})
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    content = path.read_bytes()
    assert resolve("ghcr.io", env=env) is not None
    assert resolve("ghcr.io", username="u", password="p", env=env) is not None
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")} == before
    assert path.read_bytes() == content


# ------------------------------------------------- helm registry config, containers auth.json


def write_json(path: Path, config: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config))
    return path


def test_helm_registry_config_after_docker(env: dict[str, str], home: Path) -> None:
    """What `helm registry login` writes: ~/.config/helm/registry/config.json."""
    helm = write_json(home / ".config/helm/registry/config.json",
                      {"auths": {"127.0.0.1:5000": {"auth": b64("helmuser:helmpw")}}})
    creds = resolve("127.0.0.1:5000", env=env)
    assert creds is not None
    assert (creds.username, creds.password) == ("helmuser", "helmpw")
    assert creds.source == f"helm registry config {helm}"
    # docker's config comes first when it knows the host
    write_config(home, {"auths": {"127.0.0.1:5000": {"auth": b64("dockeruser:pw")}}})
    assert resolve("127.0.0.1:5000", env=env).username == "dockeruser"  # type: ignore[union-attr]
    # ... and helm's is still consulted for hosts docker does not know
    write_config(home, {"auths": {"ghcr.io": {"auth": b64("x:y")}}})
    assert resolve("127.0.0.1:5000", env=env).username == "helmuser"  # type: ignore[union-attr]


def test_helm_registry_config_variable_and_xdg(env: dict[str, str], tmp_path: Path) -> None:
    xdg = write_json(tmp_path / "xdg/helm/registry/config.json",
                     {"auths": {"r.example.com": {"username": "xdg", "password": "p1"}}})
    env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")
    assert resolve("r.example.com", env=env).source == f"helm registry config {xdg}"  # type: ignore[union-attr]
    chosen = write_json(tmp_path / "elsewhere.json",
                        {"auths": {"r.example.com": {"username": "var", "password": "p2"}}})
    env["HELM_REGISTRY_CONFIG"] = str(chosen)
    creds = resolve("r.example.com", env=env)
    assert creds is not None and (creds.username, creds.password) == ("var", "p2")


def test_containers_auth_file_last(env: dict[str, str], home: Path, tmp_path: Path) -> None:
    """What podman and skopeo write: $REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers."""
    runtime = write_json(tmp_path / "run/containers/auth.json",
                         {"auths": {"quay.io": {"auth": b64("podman:pp")}}})
    env["XDG_RUNTIME_DIR"] = str(tmp_path / "run")
    creds = resolve("quay.io", env=env)
    assert creds is not None and (creds.username, creds.password) == ("podman", "pp")
    assert creds.source == f"containers auth file {runtime}"
    chosen = write_json(tmp_path / "auth.json", {"auths": {"quay.io": {"auth": b64("sk:sp")}}})
    env["REGISTRY_AUTH_FILE"] = str(chosen)
    assert resolve("quay.io", env=env).username == "sk"  # type: ignore[union-attr]
    # helm's registry config comes before it
    write_json(home / ".config/helm/registry/config.json",
               {"auths": {"quay.io": {"auth": b64("helm:hp")}}})
    assert resolve("quay.io", env=env).username == "helm"  # type: ignore[union-attr]


def test_broken_helm_config_names_the_file_not_the_secret(env: dict[str, str],
                                                          home: Path) -> None:
    helm = home / ".config/helm/registry/config.json"
    helm.parent.mkdir(parents=True)
    helm.write_text('{"auths": {"ghcr.io": {"auth": "s3cr3t-not-base64!"}}}')
    with pytest.raises(UsageError) as err:
        resolve("ghcr.io", env=env)
    assert str(err.value) == (f"helm registry config {helm}: the 'auth' entry for ghcr.io "
                              "is not valid base64")
    assert "s3cr3t" not in str(err.value)
    helm.write_text("{nope")
    with pytest.raises(UsageError, match=r"helm registry config .* is not valid JSON"):
        resolve("ghcr.io", env=env)


def test_helper_named_in_helm_config(env: dict[str, str], home: Path) -> None:
    env["HELPER_DATA"] = json.dumps({"ghcr.io": ["hu", "hs"]})
    helm = write_json(home / ".config/helm/registry/config.json", {"credsStore": "test"})
    creds = resolve("ghcr.io", env=env)
    assert creds is not None and creds.password == "hs"
    assert creds.source == ("credential helper docker-credential-test "
                            f"(from helm registry config {helm})")
