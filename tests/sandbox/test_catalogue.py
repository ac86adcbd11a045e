"""The generated catalogue of Kubernetes 1.32 built-ins, as discovery and OpenAPI serve it."""

from __future__ import annotations

import json
import re

import httpx

from tui.sandbox import catalogue
from tui.sandbox.catalogue._generate import _convert
from tui.sandbox.resources import BUILTINS

AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"


def test_every_builtin_version_has_a_schema_with_its_kind() -> None:
    assert len(BUILTINS) >= 65
    by_kind = catalogue.schema_for_kind()
    for rt in BUILTINS:
        for version in rt.versions:
            name = by_kind[(rt.group, version, rt.kind)]
            gvks = catalogue.schemas()[name]["x-kubernetes-group-version-kind"]
            assert {"group": rt.group, "version": version, "kind": rt.kind} in gvks


def test_generator_converts_json_schema_to_the_openapi_dialect() -> None:
    converted = _convert(
        {
            "type": ["object", "null"],
            "additionalProperties": False,
            "properties": {
                "spec": {"$ref": "#/$defs/io.k8s.api.apps.v1.DeploymentSpec", "description": "d"},
                "kind": {"type": ["string", "null"], "enum": ["Deployment"]},
                "port": {"oneOf": [{"type": ["string", "null"]}, {"type": ["integer", "null"]}]},
            },
        },
        gvk_type=True,
    )
    assert converted == {
        "type": "object",
        "properties": {
            "spec": {
                "description": "d",
                "allOf": [{"$ref": "#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec"}],
            },
            "kind": {"type": "string"},
            "port": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
        },
    }


def test_discovery_serves_versions_short_names_and_subresources(api: httpx.Client) -> None:
    groups = api.get("/apis", headers={"Accept": AGGREGATED}).json()["items"]
    autoscaling = next(g for g in groups if g["metadata"]["name"] == "autoscaling")
    assert [v["version"] for v in autoscaling["versions"]] == ["v2", "v1"]
    hpa = autoscaling["versions"][0]["resources"][0]
    assert (hpa["resource"], hpa["shortNames"], hpa["categories"]) == (
        "horizontalpodautoscalers",
        ["hpa"],
        ["all"],
    )
    apps = next(g for g in groups if g["metadata"]["name"] == "apps")["versions"][0]["resources"]
    deployments = next(r for r in apps if r["resource"] == "deployments")
    scale = next(s for s in deployments["subresources"] if s["subresource"] == "scale")
    assert scale["responseKind"] == {"group": "autoscaling", "version": "v1", "kind": "Scale"}
    legacy = api.get("/api/v1").json()["resources"]
    exec_ = next(r for r in legacy if r["name"] == "pods/exec")
    assert exec_["kind"] == "PodExecOptions" and exec_["verbs"] == ["create", "get"]


def test_openapi_documents_carry_schemas_and_field_validation(api: httpx.Client) -> None:
    index = api.get("/openapi/v3").json()["paths"]
    doc = api.get(index["apis/apps/v1"]["serverRelativeURL"]).json()
    schemas = doc["components"]["schemas"]
    deployment = schemas["io.k8s.api.apps.v1.Deployment"]
    assert deployment["x-kubernetes-group-version-kind"] == [
        {"group": "apps", "kind": "Deployment", "version": "v1"}
    ]
    refs = set(re.findall(r'"\$ref":\s*"#/components/schemas/([^"]+)"', json.dumps(schemas)))
    assert "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" in refs and refs <= set(schemas)
    patch = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert "fieldValidation" in [p["name"] for p in patch["parameters"]]
