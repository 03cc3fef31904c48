"""`bpkit render flux`: every object valid for the Flux release it targets, and true to the source.

Rendered objects are checked against the CRDs that Flux 2.4 and 2.9 install
(../shared/flux-crds/, beside the clone): the JSON Schema of the exact
version each object names, the one CEL rule that matters here (chart xor
chartRef), and, as `kubectl --validate=strict` would, no field the schema
does not know (the API server would drop it silently).
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ruamel.yaml import YAML

from bpkit.errors import UsageError
from bpkit.render.flux import (
    FLUX_APIS,
    HELM_CHART_LAYER,
    FluxOptions,
    RenderError,
    check_manifests,
    render_flux,
    render_paths,
    write_manifests,
)
from bpkit.settings import Settings, load_settings
from bpkit.source.model import load_blueprint
from tests.helpers.blueprints import write_blueprint
from tests.helpers.cli import invoke

REPO = Path(__file__).resolve().parent.parent
PLATFORM = sorted(p.name for p in (REPO / "platform").iterdir() if p.is_dir())
REGISTRY = "oci://ghcr.io/openova-io"
CONTROLLERS = {
    "2.4": ("source-controller-v1.4.1", "helm-controller-v1.1.0"),
    "2.9": ("source-controller-v1.9.1", "helm-controller-v1.6.3"),
}
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


# --------------------------------------------------------------------------- CRDs


def crd_folder() -> Path:
    """The Flux CRDs: ../shared/flux-crds beside the clone (or $BPKIT_FLUX_CRDS)."""
    override = os.environ.get("BPKIT_FLUX_CRDS")
    folder = Path(override) if override else REPO.parent / "shared" / "flux-crds"
    if not (folder / "helm-controller-v1.6.3").is_dir():
        message = (f"Flux CRDs not found at {folder}: check out ../shared beside the clone "
                   "(or set BPKIT_FLUX_CRDS)")
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    return folder


@pytest.fixture(scope="module")
def crds() -> dict[str, dict[tuple[str, str], dict[str, Any]]]:
    """Per Flux release: (apiVersion, kind) -> the served version's entry of its CRD."""
    folder = crd_folder()
    yaml = YAML(typ="safe")
    out: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
    for flux, controllers in CONTROLLERS.items():
        served: dict[tuple[str, str], dict[str, Any]] = {}
        for controller in controllers:
            files = sorted((folder / controller).glob("*.yaml"))
            assert files, f"no CRDs in {folder / controller}"
            for file in files:
                crd = yaml.load(file.read_text())
                group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
                for version in crd["spec"]["versions"]:
                    if version["served"]:
                        served[(f"{group}/{version['name']}", kind)] = version
        out[flux] = served
    return out


def unknown_fields(value: Any, schema: Mapping[str, Any], where: str = "") -> Iterator[str]:
    """Fields the schema does not declare (pruned by the API server, so a silent typo)."""
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return
    if isinstance(value, dict):
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if props is not None and key in props:
                yield from unknown_fields(item, props[key], f"{where}.{key}")
            elif isinstance(extra, dict):
                yield from unknown_fields(item, extra, f"{where}.{key}")
            elif props is not None or extra is False:
                yield f"{where}.{key}"
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            yield from unknown_fields(item, schema["items"], f"{where}[{i}]")


def validate(obj: dict[str, Any], served: Mapping[tuple[str, str], dict[str, Any]]) -> None:
    key = (obj["apiVersion"], obj["kind"])
    assert key in served, f"{key} is not served by this Flux release"
    version = served[key]
    assert not version.get("deprecated"), f"{key} is deprecated in this Flux release"
    schema = version["schema"]["openAPIV3Schema"]
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(obj), key=str)
    assert not errors, "; ".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)
    unknown = [f for f in unknown_fields(obj, schema) if not f.startswith(".metadata")]
    assert not unknown, f"{key} fields the CRD does not know: {unknown}"
    metadata = obj["metadata"]
    assert _DNS_LABEL.fullmatch(metadata["name"]) and len(metadata["name"]) <= 63
    assert _DNS_LABEL.fullmatch(metadata["namespace"])
    for label in metadata.get("labels", {}).values():
        assert re.fullmatch(r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?", label)
    if obj["kind"] == "HelmRelease":  # the CRD's CEL rule, which jsonschema cannot run
        spec = obj["spec"]
        assert ("chart" in spec) != ("chartRef" in spec), "either chart or chartRef"


# --------------------------------------------------------------------------- helpers


def platform_blueprints() -> list[Any]:
    return [load_blueprint(REPO / "platform" / name) for name in PLATFORM]


def load_yaml_both(text: str) -> tuple[list[Any], list[Any]]:
    """The documents as YAML 1.2 reads them, and as YAML 1.1 (Helm, Flux: go-yaml) does."""
    y12 = YAML(typ="safe", pure=True)
    y11 = YAML(typ="safe", pure=True)
    y11.version = (1, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return list(y12.load_all(text)), list(y11.load_all(text))


def by_kind(objects: Any) -> dict[str, dict[str, Any]]:
    return {o["kind"] if o["kind"] == "HelmRelease" else "source": o for o in objects}


def make_repo(tmp_path: Path, pyproject: str = "") -> Path:
    root = tmp_path / "repo"
    shutil.copytree(REPO / "platform", root / "platform")
    (root / ".git").mkdir()
    if pyproject:
        (root / "pyproject.toml").write_text(pyproject)
    return root


# --------------------------------------------------------------------------- the project's own ten


@pytest.mark.parametrize("flux", ["2.4", "2.9"])
@pytest.mark.parametrize("mode", ["overlay", "bundle"])
def test_platform_renders_valid_for_each_flux(crds: Any, flux: str, mode: str) -> None:
    settings = load_settings(REPO)
    rendered = render_flux(platform_blueprints(), settings,
                           FluxOptions(flux=flux, mode=mode, registry=REGISTRY))
    assert [r.blueprint.name for r in rendered] == PLATFORM and len(PLATFORM) == 10
    for item in rendered:
        assert item.mode == mode
        kinds = [o["kind"] for o in item.objects]
        expected_source = "OCIRepository" if mode == "bundle" else "HelmRepository"
        assert kinds == [expected_source, "HelmRelease"]
        for obj in item.objects:
            validate(obj, crds[flux])
        # The text is exactly these objects, whichever YAML version reads it.
        as_12, as_11 = load_yaml_both(item.text)
        assert as_12 == list(item.objects) == as_11


def test_api_versions_follow_flux() -> None:
    bps = platform_blueprints()[:1]
    for flux, oci in (("2.4", "source.toolkit.fluxcd.io/v1beta2"),
                      ("2.9", "source.toolkit.fluxcd.io/v1")):
        [item] = render_flux(bps, load_settings(REPO),
                             FluxOptions(flux=flux, mode="bundle", registry=REGISTRY))
        assert item.objects[0]["apiVersion"] == oci == FLUX_APIS[flux].oci_repository
        assert item.objects[1]["apiVersion"] == "helm.toolkit.fluxcd.io/v2"
        assert f"Flux {flux}" in item.text.splitlines()[0]


def test_oci_repository_v1beta2_is_not_served_by_flux_29(crds: Any) -> None:
    """Why --flux matters: 2.4's OCIRepository fails against Flux 2.9, and 2.9's against 2.4."""
    settings = load_settings(REPO)
    bps = platform_blueprints()[:1]
    old = render_flux(bps, settings, FluxOptions(flux="2.4", mode="bundle", registry=REGISTRY))
    new = render_flux(bps, settings, FluxOptions(flux="2.9", mode="bundle", registry=REGISTRY))
    with pytest.raises(AssertionError, match="not served"):
        validate(old[0].objects[0], crds["2.9"])
    with pytest.raises(AssertionError, match="not served"):
        validate(new[0].objects[0], crds["2.4"])


def test_validation_catches_a_field_the_crd_does_not_know(crds: Any) -> None:
    [item] = render_flux(platform_blueprints()[:1], load_settings(REPO),
                         FluxOptions(mode="bundle", registry=REGISTRY))
    bad = copy.deepcopy(item.objects[0])
    bad["spec"]["layerSelectors"] = bad["spec"].pop("layerSelector")
    with pytest.raises(AssertionError, match="layerSelectors"):
        validate(bad, crds["2.9"])
    both = copy.deepcopy(item.objects[1])
    both["spec"]["chart"] = {"spec": {"chart": "x", "sourceRef": {"kind": "HelmRepository",
                                                                   "name": "x"}}}
    with pytest.raises(AssertionError, match="chart or chartRef"):
        validate(both, crds["2.9"])


def test_depends_on_matches_blueprint_depends() -> None:
    for mode in ("overlay", "bundle"):
        rendered = render_flux(platform_blueprints(), load_settings(REPO),
                               FluxOptions(mode=mode, registry=REGISTRY))
        names = {r.objects[1]["metadata"]["name"] for r in rendered}
        seen_one = False
        for item in rendered:
            depends = [d["blueprint"] for d in item.blueprint.spec.get("depends") or []]
            release = item.objects[1]
            assert [d["name"] for d in release["spec"].get("dependsOn", [])] == depends
            assert set(depends) <= names  # each names a HelmRelease that is rendered
            seen_one = seen_one or bool(depends)
        assert seen_one  # gitea, keycloak, openbao and spire depend on cert-manager


def test_bundle_mode_points_at_the_published_artifact() -> None:
    bps = [load_blueprint(REPO / "platform" / "cert-manager")]
    [item] = render_flux(bps, load_settings(REPO),
                         FluxOptions(mode="bundle", registry="oci://127.0.0.1:5000/team/charts",
                                     secret_ref="ghcr-pull"))
    source, release = by_kind(item.objects).values()
    assert source["spec"]["url"] == "oci://127.0.0.1:5000/team/charts/bp-cert-manager"
    assert source["spec"]["ref"] == {"tag": "1.0.0"}
    assert source["spec"]["layerSelector"] == {"mediaType": HELM_CHART_LAYER,
                                               "operation": "copy"}
    assert source["spec"]["secretRef"] == {"name": "ghcr-pull"}
    assert release["spec"]["chartRef"] == {"kind": "OCIRepository", "name": "bp-cert-manager"}
    assert "values" not in release["spec"] and "chart" not in release["spec"]
    assert release["metadata"]["labels"]["catalyst.openova.io/upstream-mode"] == "bundle"


def test_overlay_mode_installs_the_upstream_with_the_overlay() -> None:
    bp = load_blueprint(REPO / "platform" / "cert-manager")
    [item] = render_flux([bp], load_settings(REPO), FluxOptions())  # overlay, no registry
    source, release = by_kind(item.objects).values()
    assert source["kind"] == "HelmRepository"
    assert source["spec"]["url"] == "https://charts.jetstack.io"
    spec = release["spec"]["chart"]["spec"]
    assert spec == {"chart": "cert-manager", "version": "1.16.2",
                    "sourceRef": {"kind": "HelmRepository", "name": source["metadata"]["name"]}}
    values = dict(bp.values.data)  # type: ignore[union-attr]
    del values["catalystBlueprint"]
    assert release["spec"]["values"] == values and "catalystBlueprint" not in item.text
    assert release["spec"]["releaseName"] == release["metadata"]["name"] == "bp-cert-manager"


def test_overlay_mode_with_an_oci_upstream_uses_oci_repository(
        tmp_path: Path, crds: Any) -> None:
    folder = write_blueprint(tmp_path, "podinfo", upstream=(
        "podinfo", "6.7.1+meta", "oci://ghcr.io/stefanprodan/charts/"))
    settings = Settings(root=tmp_path)
    for flux in ("2.4", "2.9"):
        [item] = render_flux([load_blueprint(folder)], settings, FluxOptions(flux=flux))
        source, release = by_kind(item.objects).values()
        assert source["kind"] == "OCIRepository"
        assert source["spec"]["url"] == "oci://ghcr.io/stefanprodan/charts/podinfo"
        assert source["spec"]["ref"] == {"tag": "6.7.1_meta"}  # Helm's tag for a + version
        assert release["spec"]["chartRef"] == {"kind": "OCIRepository",
                                               "name": "bp-podinfo-upstream"}
        assert release["spec"]["values"] == {"replicaCount": 1}
        for obj in item.objects:
            validate(obj, crds[flux])


def test_bundle_tag_replaces_plus(tmp_path: Path) -> None:
    folder = write_blueprint(tmp_path, "x", version="1.2.3+build.5")
    [item] = render_flux([load_blueprint(folder)], Settings(root=tmp_path),
                         FluxOptions(mode="bundle", registry=REGISTRY))
    assert item.objects[0]["spec"]["ref"] == {"tag": "1.2.3_build.5"}


def test_no_upstream_blueprint_is_its_own_install_unit(tmp_path: Path) -> None:
    folder = write_blueprint(tmp_path, "own")
    chart = folder / "chart" / "Chart.yaml"
    opt_out = 'annotations:\n  catalyst.openova.io/no-upstream: "true"\n'
    chart.write_text(chart.read_text() + opt_out)
    (folder / "chart" / "values.yaml").write_text("replicaCount: 1\n")
    settings = Settings(root=tmp_path)
    with pytest.raises(UsageError, match="needs the registry"):
        render_flux([load_blueprint(folder)], settings, FluxOptions())
    [item] = render_flux([load_blueprint(folder)], settings, FluxOptions(registry=REGISTRY))
    assert item.mode == "bundle" and item.objects[0]["kind"] == "OCIRepository"


def test_mode_comes_from_settings_per_path(tmp_path: Path) -> None:
    root = make_repo(tmp_path, '[tool.bpkit]\nupstream-mode = "overlay"\n'
                               '[tool.bpkit.per-path."platform/cilium"]\n'
                               'upstream-mode = "bundle"\n')
    settings = load_settings(root)
    bps = [load_blueprint(root / "platform" / n) for n in ("cilium", "flux")]
    rendered = render_flux(bps, settings, FluxOptions(registry=REGISTRY))
    assert [r.mode for r in rendered] == ["bundle", "overlay"]
    forced = render_flux(bps, settings, FluxOptions(mode="overlay"))
    assert [r.mode for r in forced] == ["overlay", "overlay"]  # --mode wins


def test_rendering_is_deterministic_and_target_namespace_is_honoured(crds: Any) -> None:
    options = FluxOptions(target_namespace="catalyst", namespace="gitops")
    one = render_flux(platform_blueprints(), load_settings(REPO), options)
    two = render_flux(platform_blueprints(), load_settings(REPO), options)
    assert [r.text for r in one] == [r.text for r in two]
    release = one[0].objects[1]
    assert release["metadata"]["namespace"] == "gitops"
    assert release["spec"]["targetNamespace"] == "catalyst"
    assert release["spec"]["install"]["createNamespace"] is True
    validate(release, crds["2.4"])


@pytest.mark.parametrize(("options", "message"), [
    (FluxOptions(flux="2.7"), "--flux"),
    (FluxOptions(mode="umbrella"), "--mode"),
    (FluxOptions(namespace="Flux_System"), "--namespace"),
    (FluxOptions(secret_ref="Bad Name"), "--secret-ref"),
    (FluxOptions(mode="bundle"), "bundle mode needs the registry"),
    (FluxOptions(mode="bundle", registry="https://ghcr.io/x"), "must start with oci://"),
])
def test_bad_options_are_usage_errors(options: FluxOptions, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        render_flux(platform_blueprints()[:1], load_settings(REPO), options)


def test_a_value_yaml_cannot_carry_is_an_error_naming_the_file(tmp_path: Path) -> None:
    folder = write_blueprint(tmp_path, "bin")
    values = folder / "chart" / "values.yaml"
    values.write_text(values.read_text() + "blob: !!binary aGVsbG8=\n")
    with pytest.raises(RenderError, match=r"values\.yaml: cannot render"):
        render_flux([load_blueprint(folder)], Settings(root=tmp_path), FluxOptions())


def test_credentials_in_the_upstream_repo_never_reach_a_manifest(tmp_path: Path) -> None:
    folder = write_blueprint(tmp_path, "leak", upstream=(
        "x", "1.0.0", "https://bob:s3cr3t@charts.example.com"))
    with pytest.raises(RenderError, match="contains credentials") as info:
        render_flux([load_blueprint(folder)], Settings(root=tmp_path), FluxOptions())
    assert "s3cr3t" not in str(info.value)


def test_render_paths_refuses_blueprints_with_lint_errors(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_repo(tmp_path)
    monkeypatch.chdir(root)
    values = root / "platform" / "cilium" / "chart" / "values.yaml"
    values.write_text(values.read_text().replace('version: "1.16.5"', 'version: "^1.16"'))
    result = render_paths([], load_settings(root), FluxOptions())
    assert [bp.name for bp in result.refused] == ["cilium"]
    assert len(result.rendered) == 9 and result.failed


def test_write_and_check(tmp_path: Path) -> None:
    rendered = render_flux(platform_blueprints(), load_settings(REPO), FluxOptions())
    out = tmp_path / "flux"
    paths = write_manifests(rendered, out)
    assert sorted(p.name for p in paths) == [f"{n}.yaml" for n in PLATFORM]
    assert check_manifests(rendered, out) == []
    target = out / "gitea.yaml"
    pin = '      version: "10.5.0"'
    target.write_text(target.read_text().replace(pin, pin.replace("10.5.0", "10.4.0")))
    (out / "spire.yaml").unlink()
    drift = {d.path.name: d for d in check_manifests(rendered, out)}
    assert set(drift) == {"gitea.yaml", "spire.yaml"}
    lines = target.read_text().splitlines()
    assert lines[drift["gitea.yaml"].line - 1] == '      version: "10.4.0"'
    assert '-      version: "10.4.0"' in drift["gitea.yaml"].diff
    assert '+      version: "10.5.0"' in drift["gitea.yaml"].diff
    assert drift["spire.yaml"].message.startswith("missing")


# --------------------------------------------------------------------------- the command


def test_cli_stdout_out_and_check(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    run = invoke("render", "flux", cwd=root)
    assert run.code == 0, run.err
    docs = load_yaml_both(run.out)[0]
    assert len(docs) == 20 and {d["kind"] for d in docs} == {"HelmRepository", "HelmRelease"}
    run = invoke("render", "flux", "--out", "clusters/base", cwd=root)
    assert run.code == 0, run.err
    assert sorted(p.name for p in (root / "clusters/base").iterdir()) == [
        f"{n}.yaml" for n in PLATFORM]
    run = invoke("render", "flux", "--check", "clusters/base", cwd=root)
    assert run.code == 0, run.err
    assert "10 of 10 manifests up to date" in run.err


def test_cli_check_catches_an_edited_pin(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    assert invoke("render", "flux", "--out", "manifests", cwd=root).code == 0
    # Someone bumps the pin in the blueprint but does not re-render (or the reverse).
    values = root / "platform" / "keycloak" / "chart" / "values.yaml"
    values.write_text(values.read_text().replace('version: "24.7.1"', 'version: "24.8.0"'))
    run = invoke("render", "flux", "--check", "manifests", cwd=root)
    assert run.code == 1
    assert "manifests/keycloak.yaml: differs from what bpkit renders from line" in run.err
    assert '-      version: "24.7.1"' in run.out and '+      version: "24.8.0"' in run.out
    assert "9 of 10 manifests up to date" in run.err


def test_cli_bundle_without_registry_is_a_usage_error(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    run = invoke("render", "flux", "--mode", "bundle", cwd=root)
    assert run.code == 2 and run.out == ""
    assert "bundle mode needs the registry" in run.err and "--registry" in run.err
    assert "Traceback" not in run.err and len(run.err.strip().splitlines()) == 1
    run = invoke("render", "flux", "--mode", "bundle", "platform/flux", cwd=root,
                env={"BPKIT_REGISTRY": "oci://127.0.0.1:5000/ns"})
    assert run.code == 0, run.err
    assert "url: oci://127.0.0.1:5000/ns/bp-flux" in run.out


def test_cli_check_escapes_what_the_committed_file_holds(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    assert invoke("render", "flux", "platform/flux", "--out", "m", cwd=root).code == 0
    committed = root / "m" / "flux.yaml"
    committed.write_text(committed.read_text().replace("kind: HelmRelease",
                                                       "kind: \x1b[31mHelmRelease\u202e"))
    run = invoke("render", "flux", "platform/flux", "--check", "m", cwd=root)
    assert run.code == 1 and "\x1b" not in run.out + run.err and "\u202e" not in run.out
    assert "\\u001b[31mHelmRelease" in run.out


def test_cli_registry_from_settings_and_flux_24(tmp_path: Path) -> None:
    root = make_repo(tmp_path, '[tool.bpkit]\nregistry = "oci://ghcr.io/openova-io"\n'
                               'upstream-mode = "bundle"\n')
    run = invoke("render", "flux", "platform/cilium", "--flux", "2.4", cwd=root)
    assert run.code == 0, run.err
    assert "apiVersion: source.toolkit.fluxcd.io/v1beta2" in run.out
    assert "url: oci://ghcr.io/openova-io/bp-cilium" in run.out


@pytest.mark.parametrize(("args", "message"), [
    (["--out", "a", "--check", "b"], "--out or --check"),
    (["--check", "nowhere"], "no such folder"),
    (["--flux", "2.5"], "2.5"),
    (["--mode", "umbrella"], "umbrella"),
    (["platform/nope"], "no such file or folder"),
])
def test_cli_usage_errors(tmp_path: Path, args: list[str], message: str) -> None:
    root = make_repo(tmp_path)
    run = invoke("render", "flux", *args, cwd=root)
    assert run.code == 2 and message in run.err and "Traceback" not in run.err


def test_cli_bad_mode_setting_names_the_file(tmp_path: Path) -> None:
    root = make_repo(tmp_path, '[tool.bpkit]\nupstream-mode = "umbrella"\n')
    run = invoke("render", "flux", cwd=root)
    assert run.code == 2 and "pyproject.toml" in run.err and "upstream-mode" in run.err


def test_cli_lint_errors_stop_that_blueprint(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    values = root / "platform" / "flux" / "chart" / "values.yaml"
    values.write_text(values.read_text().replace("repo: \"https://", "repo: \"http://"))
    run = invoke("render", "flux", cwd=root)
    assert run.code == 1
    assert "upstream-repo" in run.err and "not rendered" in run.err
    assert "name: bp-flux\n" not in run.out and "name: bp-cilium\n" in run.out


def test_render_never_imports_the_network_or_git_stack(tmp_path: Path) -> None:
    """Rendering reads files only: no registry is contacted, even in bundle mode."""
    import subprocess
    import sys

    root = make_repo(tmp_path)
    code = ("import sys\nfrom bpkit.cli import main\n"
            "try:\n    main(['render', 'flux', '--mode', 'bundle', '--registry',"
            " 'oci://registry.invalid/ns', '--out', 'out'])\n"
            "except SystemExit as e:\n    code = e.code\n"
            "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'oras', 'requests', 'git',"
            " 'urllib3'})\nprint('HEAVY', heavy, code)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True,
                          text=True, check=False, env={"PYTHONPATH": str(REPO), "PATH": ""})
    assert "HEAVY [] 0" in proc.stdout, proc.stdout + proc.stderr
    assert len(list((root / "out").iterdir())) == 10
