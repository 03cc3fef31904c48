"""bpkit.oci.artifact and bpkit.helm.chartmeta: Helm's config blob and manifest, byte for byte.

The golden bytes below were written by Helm 4.3 itself (helm-sdkpy 0.1.32:
`helm package` of the chart in GOLDEN_META, then `helm push` of that .tgz
with its mtime set to GOLDEN_CREATED, read back with `skopeo inspect --raw`).
tests/integration/test_oci_helm.py repeats that push against real Helm and
checks the registry serves exactly these bytes, so they cannot drift.
The expected values in the edge-case tests were also seen from real Helm.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from typing import Any

import pytest

from bpkit.errors import PackageError, UsageError
from bpkit.helm import chartmeta
from bpkit.oci import artifact

GOLDEN_CREATED = 1714564800  # 2024-05-01T12:00:00Z

GOLDEN_META: dict[str, Any] = {
    "apiVersion": "v2",
    "name": "bp-flux",
    "description": "Catalyst Blueprint wrapper for Flux <CD> & GitOps",
    "type": "application",
    "version": "1.2.3",
    "appVersion": "2.3.0",
    "kubeVersion": ">=1.28.0-0",
    "home": "https://github.com/openova-io/catalyst?tab=readme&ref=main",
    "sources": [
        "https://github.com/openova-io/catalyst/tree/main/platform/flux",
        "https://github.com/fluxcd/flux2",
    ],
    "keywords": ["flux", "gitops"],
    "maintainers": [
        {"name": "OpenOva Platform", "email": "platform@openova.io", "url": "https://openova.io"},
        {"name": "Jane Doe"},
    ],
    "icon": "https://openova.io/icons/flux.svg",
    "annotations": {
        "catalyst.openova.io/tier": "platform",
        "org.opencontainers.image.title": "not-the-title",
        "org.opencontainers.image.licenses": "Apache-2.0",
    },
}

# `helm package` output for GOLDEN_META plus a values.yaml and templates/NOTES.txt.
GOLDEN_TGZ = base64.b64decode(
    "H4sIFAAAAAAA/ywAcnIoAGFIUjBjSE02THk5NWIzVjBkUzVpWlM5Nk9WVjZNV2xqYW5keVRRbz1IZWxtAOxWTW/b"
    "OBD1mb9iTslJFCV/ZCFsstsmbYEe6gItcqflsUVE/AA5cmIE+e8FFcku3KAN2jrtQe9iczgazgz5Hrlwyapu7tLL"
    "SnriW6nr0W+HEELMJpOReMThb5aPxSibjkU2m+bZeDYSWT6dTEYg+gDHRBNI+pH45bUOiurNfzukMZYkKWtCwQBK"
    "SbLeBuLWobEbyZVNSaEvwNWSVtZrBmD9up0vrSGpDPrAlZZr5LUq0QQMBbxysqwwybn4nj8pqrEAYymhCpN2yKRT"
    "1+iDsqaATc6kc7thzsdcsCWG0isXcy7gsksYXtcNOq8Mwa2XzqGHlfXwtm7u4N/Lqws4gXeK5i6wymosoCJyoUjT"
    "taKqWfDS6rQrOVE27dvwH8nFuUe51HjicXWupTJMldbsA3zVqDgR0kgnHjZrdoPbW+uXoWAJRCNLYK3IusBumgXu"
    "ijq9OM94/g8XiThlcYGuR/Ez1FLV+97/v1+MARgZC5k7NPONhI/7/Wl8/VR+LOk+eS8NwpVF9jjsJIAF2/gS23Sf"
    "152UPGIaU077DNOu0CcCxJly2TrkjLYOC5DO1apsTx/b9P3IeM7HrD+fA46LXv83sm4wHOcC+IH+i+xseqD/Y5Fl"
    "g/6/hP73XN7JZ7wFGhfIo9TxP0AZnwZFK2F5a9hRNedZzietzaOze9GJvuUyKa3WjVG05Z0OKJtWWOukDRkGkr8Q"
    "yZ/Bf0IdNRxD+mH++c0nTnfUuxyd/+JsdsD/ST6dDvx/Cf53+98+mgLc3wO/frwJvhEG3qsCb9kLDw98IPCfJ/CA"
    "AQMG/CS+DADkmKbeABIAAA=="
)

GOLDEN_CONFIG = (
    rb'{"name":"bp-flux",'
    rb'"home":"https://github.com/openova-io/catalyst?tab=readme\u0026ref=main",'
    rb'"sources":["https://github.com/openova-io/catalyst/tree/main/platform/flux",'
    rb'"https://github.com/fluxcd/flux2"],"version":"1.2.3",'
    rb'"description":"Catalyst Blueprint wrapper for Flux \u003cCD\u003e \u0026 GitOps",'
    rb'"keywords":["flux","gitops"],"maintainers":[{"name":"OpenOva Platform",'
    rb'"email":"platform@openova.io","url":"https://openova.io"},{"name":"Jane Doe"}],'
    rb'"icon":"https://openova.io/icons/flux.svg","apiVersion":"v2","appVersion":"2.3.0",'
    rb'"annotations":{"catalyst.openova.io/tier":"platform",'
    rb'"org.opencontainers.image.licenses":"Apache-2.0",'
    rb'"org.opencontainers.image.title":"not-the-title"},"kubeVersion":"\u003e=1.28.0-0",'
    rb'"type":"application"}'
)

GOLDEN_MANIFEST = (
    rb'{"schemaVersion":2,"config":{"mediaType":"application/vnd.cncf.helm.config.v1+json",'
    rb'"digest":"sha256:8e5b57ff914e760b5d86a1b6cd58c96779c946fc09211db479febd84d3fe5988",'
    rb'"size":738},'
    rb'"layers":[{"mediaType":"application/vnd.cncf.helm.chart.content.v1.tar+gzip",'
    rb'"digest":"sha256:8182012199ad11b3a1d94240aa6abfc69fdc2b38e9bd30ecc36c06ec75b16aaf",'
    rb'"size":676}],"annotations":{"catalyst.openova.io/tier":"platform",'
    rb'"org.opencontainers.image.authors":"OpenOva Platform (platform@openova.io), Jane Doe",'
    rb'"org.opencontainers.image.created":"2024-05-01T12:00:00Z",'
    rb'"org.opencontainers.image.description":'
    rb'"Catalyst Blueprint wrapper for Flux \u003cCD\u003e \u0026 GitOps",'
    rb'"org.opencontainers.image.licenses":"Apache-2.0",'
    rb'"org.opencontainers.image.source":'
    rb'"https://github.com/openova-io/catalyst/tree/main/platform/flux",'
    rb'"org.opencontainers.image.title":"bp-flux",'
    rb'"org.opencontainers.image.url":'
    rb'"https://github.com/openova-io/catalyst?tab=readme\u0026ref=main",'
    rb'"org.opencontainers.image.version":"1.2.3"}}'
)
# What `helm push` printed as "Digest:".
GOLDEN_DIGEST = "sha256:76419d2901ef5bbd7bf0148ef271d3cdbde7b41f8885e5252afb36d8ee50d6d7"

UPSTREAM = {
    "chart": "flux2",
    "version": "2.12.4",
    "repo": "https://fluxcd-community.github.io/helm-charts",
}


def config_of(**fields: Any) -> dict[str, Any]:
    config: dict[str, Any] = json.loads(
        chartmeta.helm_config({"apiVersion": "v2", "name": "c", "version": "1.0.0", **fields})
    )
    return config


# --- golden ------------------------------------------------------------------


def test_golden_config_is_helms() -> None:
    assert chartmeta.helm_config(GOLDEN_META) == GOLDEN_CONFIG


def test_golden_manifest_and_digest_are_helms() -> None:
    art = artifact.build_artifact(
        GOLDEN_META, GOLDEN_TGZ, created_epoch=GOLDEN_CREATED, upstream=None
    )
    assert art.manifest == GOLDEN_MANIFEST
    assert art.digest == GOLDEN_DIGEST
    assert art.digest == "sha256:" + hashlib.sha256(GOLDEN_MANIFEST).hexdigest()
    assert art.config == GOLDEN_CONFIG
    assert art.layer == GOLDEN_TGZ
    assert (art.name, art.tag) == ("bp-flux", "1.2.3")


def test_artifact_blob_digests() -> None:
    art = artifact.build_artifact(GOLDEN_META, GOLDEN_TGZ, created_epoch=GOLDEN_CREATED)
    manifest = json.loads(art.manifest)
    assert art.config_digest == manifest["config"]["digest"]
    assert art.layer_digest == manifest["layers"][0]["digest"]
    assert art.blobs == ((art.config_digest, art.config), (art.layer_digest, art.layer))
    assert "mediaType" not in manifest  # Helm writes none at the top level


def test_upstream_annotations_added_to_manifest_only() -> None:
    art = artifact.build_artifact(
        GOLDEN_META, GOLDEN_TGZ, created_epoch=GOLDEN_CREATED, upstream=UPSTREAM
    )
    ann = json.loads(art.manifest)["annotations"]
    assert ann[artifact.UPSTREAM_CHART] == "flux2"
    assert ann[artifact.UPSTREAM_VERSION] == "2.12.4"
    assert ann[artifact.UPSTREAM_REPO] == "https://fluxcd-community.github.io/helm-charts"
    assert list(ann) == sorted(ann)
    assert art.config == GOLDEN_CONFIG
    assert art.digest != GOLDEN_DIGEST
    # Apart from the three added keys, the manifest is Helm's.
    for key in artifact.UPSTREAM_ANNOTATIONS.values():
        del ann[key]
    assert ann == json.loads(GOLDEN_MANIFEST)["annotations"]


# --- Go's JSON -----------------------------------------------------------------


def test_go_escaping() -> None:
    assert chartmeta.go_json({"k": "a&b<c>d\u2028e\u2029f"}) == (
        rb'{"k":"a\u0026b\u003cc\u003ed\u2028e\u2029f"}'
    )
    # Seen from Helm 4.3 (Go >= 1.22 writes \b and \f short).
    assert chartmeta.go_json('a\bb\fc\x01d\x7fe\n\t"\\') == b'"a\\bb\\fc\\u0001d\x7fe\\n\\t\\"\\\\"'
    assert chartmeta.go_json("é😀") == '"é😀"'.encode()


def test_escaping_in_keys_and_values_of_annotations() -> None:
    config = chartmeta.helm_config(
        {"apiVersion": "v2", "name": "c", "version": "1.0.0", "annotations": {"<k>": "&"}}
    )
    assert config.endswith(rb'"annotations":{"\u003ck\u003e":"\u0026"}}')


# --- fields --------------------------------------------------------------------


def test_empty_fields_are_omitted() -> None:
    config = chartmeta.helm_config(
        {
            "apiVersion": "v2",
            "name": "c",
            "version": "1.0.0",
            "description": "",
            "home": None,
            "sources": [],
            "keywords": None,
            "maintainers": [],
            "annotations": {},
            "deprecated": False,
            "dependencies": [],
            "type": "",
            "icon": "",
        }
    )
    assert config == b'{"name":"c","version":"1.0.0","apiVersion":"v2"}'


def test_key_order_is_helms_struct_order() -> None:
    reversed_meta = dict(reversed(list(GOLDEN_META.items())))
    assert chartmeta.helm_config(reversed_meta) == GOLDEN_CONFIG


def test_missing_api_version_becomes_v1() -> None:
    assert chartmeta.helm_config({"name": "nov1", "version": "1.0.0"}) == (
        b'{"name":"nov1","version":"1.0.0","apiVersion":"v1"}'
    )


def test_unknown_keys_dropped_and_case_insensitive_match() -> None:
    assert config_of(Description="upper", APPVERSION=2, extra="dropped") == {
        "name": "c",
        "version": "1.0.0",
        "description": "upper",
        "apiVersion": "v2",
        "appVersion": "2",
    }


def test_same_field_twice_refused() -> None:
    with pytest.raises(PackageError, match="'description' and 'Description'"):
        config_of(description="a", Description="b")


def test_sanitizing_like_helm_validate() -> None:
    # NBSP and NEL become spaces; ZWSP, soft hyphen and \x1f are dropped.
    got = config_of(description="a\u00a0b\u200bc\u00adD\x1fE\u0085F", home="x\ny")
    assert got["description"] == "a bcDE F"
    assert got["home"] == "x y"


def test_whitespace_only_kept_in_config_skipped_in_annotations() -> None:
    meta = {
        "apiVersion": "v2",
        "name": "c",
        "version": "1.0.0",
        "description": "  \t ",
        "home": " ",
    }
    assert json.loads(chartmeta.helm_config(meta))["description"] == "    "
    ann = artifact.manifest_annotations(meta, created="2024-05-01T12:00:00Z", upstream=None)
    assert artifact.ANNOTATION_DESCRIPTION not in ann
    assert artifact.ANNOTATION_URL not in ann


def test_annotations_not_sanitized() -> None:
    assert config_of(annotations={"a": "x\ny"})["annotations"] == {"a": "x\ny"}


def test_maintainer_fields_in_struct_order() -> None:
    config = chartmeta.helm_config(
        {
            "apiVersion": "v2",
            "name": "c",
            "version": "1.0.0",
            "maintainers": [{"url": "u", "email": "e", "name": "n"}, {}, {"name": ""}],
        }
    )
    assert b'"maintainers":[{"name":"n","email":"e","url":"u"},{},{}]' in config


def test_dependencies_as_helm_writes_them() -> None:
    got = chartmeta.helm_config(
        {
            "apiVersion": "v2",
            "name": "c6",
            "version": "1.0.0",
            "dependencies": [
                {
                    "name": "sub",
                    "version": "0.1.0",
                    "repository": "",
                    "alias": "s2",
                    "enabled": True,
                    "import-values": ["a", {"parent": "c", "child": "b"}],
                    "tags": ["t1"],
                    "condition": "sub.enabled",
                },
                {"name": "sub", "repository": "file://x", "depends-on": ["y"]},
            ],
        }
    )
    # Seen from Helm 4.3 (which has no depends-on yet).
    assert got == (
        b'{"name":"c6","version":"1.0.0","apiVersion":"v2","dependencies":[{"name":"sub",'
        b'"version":"0.1.0","repository":"","condition":"sub.enabled","tags":["t1"],'
        b'"enabled":true,"import-values":["a",{"child":"b","parent":"c"}],"alias":"s2"},'
        b'{"name":"sub","repository":"file://x"}]}'
    )


# --- values YAML did not read as strings (all seen from real Helm) --------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1.10, "1.1"),
        (1.0, "1"),
        (1e3, "1000"),
        (0.00001, "1e-05"),
        (0.0001, "0.0001"),
        (1.5e-7, "1.5e-07"),
        (3.14159265358979, "3.1415927"),
        (-0.0, "-0"),
        (3.4028235e38, "3.4028235e+38"),
        (100000000, "100000000"),
        (123456789, "123456789"),
        (12345678901234567890123, "1.2345679e+22"),
        (True, "true"),
    ],
)
def test_non_string_scalars_rendered_as_helm(value: Any, expected: str) -> None:
    assert config_of(appVersion=value)["appVersion"] == expected


def test_non_string_list_items() -> None:
    assert config_of(keywords=[1, 2.5, None, "x"])["keywords"] == ["1", "2.5", "", "x"]


def test_null_annotation_value_is_empty_string() -> None:
    assert config_of(annotations={"n": None, "num": 1.5})["annotations"] == {"n": "", "num": "1.5"}


@pytest.mark.parametrize("value", [math.inf, math.nan, 1e39])
def test_unusable_numbers_refused(value: float) -> None:
    with pytest.raises(PackageError, match=r"appVersion .* not a usable number"):
        config_of(appVersion=value)


def test_dates_refused_with_advice() -> None:
    import datetime

    with pytest.raises(PackageError, match=r"appVersion is a date \(2024-01-01\); quote it"):
        config_of(appVersion=datetime.date(2024, 1, 1))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"description": ["a"]}, "description must be a string, not a list"),
        ({"sources": "https://x"}, "sources must be a list"),
        ({"deprecated": "yes"}, "deprecated must be true or false"),
        ({"annotations": ["a"]}, "annotations must be a mapping"),
        ({"maintainers": [None]}, r"maintainers\[0\] must be a mapping"),
        ({"type": "operator"}, "type must be application or library"),
        ({"name": ""}, "name is required"),
        ({"name": "a/b"}, "name 'a/b' is invalid"),
        ({"version": None}, "version is required"),
    ],
)
def test_invalid_metadata_refused(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(PackageError, match=message):
        config_of(**fields)


def test_mapping_required() -> None:
    with pytest.raises(PackageError, match="must be a mapping"):
        chartmeta.helm_config(["not", "a", "mapping"])  # type: ignore[arg-type]


def test_go_format_float32_directly() -> None:
    assert chartmeta.go_format_float32(1234567.0) == "1.234567e+06"
    assert chartmeta.go_format_float32(123456.0) == "123456"
    assert chartmeta.go_format_float32(0.1) == "0.1"
    assert chartmeta.go_format_float32(-2.5e-10) == "-2.5e-10"
    assert chartmeta.go_format_float32(math.inf) == "+Inf"
    assert chartmeta.go_format_float32(math.nan) == "NaN"


# --- annotations -----------------------------------------------------------------


def test_authors_formatted_as_helm() -> None:
    meta = {
        "apiVersion": "v2",
        "name": "c",
        "version": "1.0.0",
        "maintainers": [
            {"name": "A", "email": "a@x"},
            {"email": "b@x"},
            {"name": "C", "url": "u"},
        ],
    }
    ann = artifact.manifest_annotations(meta, created="t", upstream=None)
    assert ann[artifact.ANNOTATION_AUTHORS] == "A (a@x),  (b@x), C"


def test_authors_of_empty_maintainers_as_helm() -> None:
    meta = {"apiVersion": "v2", "name": "c", "version": "1", "maintainers": [{}, {"name": ""}]}
    assert (
        artifact.manifest_annotations(meta, created="t", upstream=None)[
            artifact.ANNOTATION_AUTHORS
        ]
        == ", "
    )


def test_chart_annotations_override_all_but_title_and_version() -> None:
    meta = {
        "apiVersion": "v2",
        "name": "c0",
        "version": "1.0.0",
        "description": "from description",
        "annotations": {
            artifact.ANNOTATION_TITLE: "bad",
            artifact.ANNOTATION_VERSION: "bad",
            artifact.ANNOTATION_DESCRIPTION: "overridden",
            artifact.ANNOTATION_CREATED: "mine",
            "empty": "",
        },
    }
    ann = artifact.manifest_annotations(meta, created="2024-05-01T12:00:00Z", upstream=None)
    assert ann == {
        "empty": "",
        artifact.ANNOTATION_CREATED: "mine",
        artifact.ANNOTATION_DESCRIPTION: "overridden",
        artifact.ANNOTATION_TITLE: "c0",
        artifact.ANNOTATION_VERSION: "1.0.0",
    }
    assert list(ann) == sorted(ann)


def test_source_is_first_of_sources() -> None:
    meta = {"apiVersion": "v2", "name": "c", "version": "1", "sources": ["one", "two"]}
    assert (
        artifact.manifest_annotations(meta, created="t", upstream=None)[
            artifact.ANNOTATION_SOURCE
        ]
        == "one"
    )


def test_upstream_wins_and_empty_upstream_skipped() -> None:
    meta = {
        "apiVersion": "v2",
        "name": "c",
        "version": "1",
        "annotations": {artifact.UPSTREAM_CHART: "from-chart", artifact.UPSTREAM_REPO: "kept"},
    }
    ann = artifact.manifest_annotations(
        meta, created="t", upstream={"chart": "flux2", "version": " ", "x": "y"}
    )
    assert ann[artifact.UPSTREAM_CHART] == "flux2"
    assert artifact.UPSTREAM_VERSION not in ann
    assert ann[artifact.UPSTREAM_REPO] == "kept"
    assert "x" not in ann


def test_upstream_value_must_be_string() -> None:
    meta = {"apiVersion": "v2", "name": "c", "version": "1"}
    with pytest.raises(PackageError, match=r"catalystBlueprint\.upstream\.version must be"):
        artifact.manifest_annotations(meta, created="t", upstream={"version": 2.1})  # type: ignore[dict-item]


# --- created, tag, name --------------------------------------------------------------


@pytest.mark.parametrize(
    ("epoch", "text"),
    [(GOLDEN_CREATED, "2024-05-01T12:00:00Z"), (0, "1970-01-01T00:00:00Z")],
)
def test_created_rfc3339(epoch: int, text: str) -> None:
    assert artifact.created_rfc3339(epoch) == text


def test_created_out_of_range() -> None:
    with pytest.raises(UsageError, match="not a usable Unix time"):
        artifact.created_rfc3339(10**20)


def test_tag_replaces_plus() -> None:
    meta = dict(GOLDEN_META, version="1.2.3+build.7")
    art = artifact.build_artifact(meta, b"x", created_epoch=0)
    assert art.tag == "1.2.3_build.7"
    assert json.loads(art.manifest)["annotations"][artifact.ANNOTATION_VERSION] == "1.2.3+build.7"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "BP-Flux"}, "cannot be an OCI repository name"),
        ({"name": "bp--"}, "cannot be an OCI repository name"),
        ({"version": "1.0.0+a:b"}, "cannot be an OCI tag"),
    ],
)
def test_unpublishable_names_refused(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(PackageError, match=message):
        artifact.build_artifact(dict(GOLDEN_META, **fields), b"x", created_epoch=0)


def test_same_inputs_same_digest() -> None:
    a = artifact.build_artifact(GOLDEN_META, GOLDEN_TGZ, created_epoch=1, upstream=UPSTREAM)
    b = artifact.build_artifact(
        dict(GOLDEN_META), GOLDEN_TGZ, created_epoch=1, upstream=dict(UPSTREAM)
    )
    c = artifact.build_artifact(GOLDEN_META, GOLDEN_TGZ, created_epoch=2, upstream=UPSTREAM)
    assert a == b
    assert a.digest != c.digest
