"""Custom resources as the API server treats them, with the official Gateway API and Istio CRDs: structural
schema validation (422 with field paths), pruning, defaults, field validation and the status subresource."""

from __future__ import annotations

import functools
from pathlib import Path

import httpx
import pytest
import yaml

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
GATEWAY_CRDS = DATA / "gateway-api-v1.6.1-standard-crds.yaml"
ISTIO_CRDS = DATA / "istio-crds.gen.yaml"
GW = "/apis/gateway.networking.k8s.io/v1/namespaces/default"
pytestmark = pytest.mark.skipif(
    not GATEWAY_CRDS.exists(), reason="shared/data is not laid out beside the checkout"
)


@functools.cache
def _crds() -> list[dict[str, object]]:
    docs = []
    for path in (GATEWAY_CRDS, ISTIO_CRDS):
        docs += [d for d in yaml.load_all(path.read_text(), Loader=yaml.CSafeLoader) if d]
    return docs


@pytest.fixture
def crds(api: httpx.Client) -> httpx.Client:
    for doc in _crds():
        r = api.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=doc)
        assert r.status_code == 201, r.text
    return api


def gateway(name: str, **spec: object) -> dict[str, object]:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": name},
        "spec": spec,
    }


def test_schema_violations_are_422_with_field_paths(crds: httpx.Client) -> None:
    bad = gateway("bad", listeners=[{"name": "http", "port": "eighty", "protocol": "HTTP"}])
    r = crds.post(f"{GW}/gateways", json=bad)
    assert r.status_code == 422
    status = r.json()
    assert status["reason"] == "Invalid" and status["details"]["kind"] == "Gateway"
    causes = {c["field"]: c["message"] for c in status["details"]["causes"]}
    assert causes["spec.listeners[0].port"] == (
        'Invalid value: "string": spec.listeners[0].port in body must be of type integer: "string"'
    )
    assert causes["spec.gatewayClassName"] == "Required value"
    assert crds.get(f"{GW}/gateways/bad").status_code == 404


def test_unknown_fields_are_pruned_or_rejected_under_strict(crds: httpx.Client) -> None:
    route = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "r"},
        "spec": {"parentRefs": [{"name": "gw"}], "bogus": 1},
    }
    strict = crds.post(f"{GW}/httproutes", params={"fieldValidation": "Strict"}, json=route)
    assert strict.status_code == 400
    assert strict.json()["message"].endswith('strict decoding error: unknown field "spec.bogus"')
    warned = crds.post(f"{GW}/httproutes", json=route)
    assert warned.status_code == 201
    assert warned.headers["Warning"] == '299 - "unknown field \\"spec.bogus\\""'
    stored = crds.get(f"{GW}/httproutes/r").json()
    assert "bogus" not in stored["spec"]
    assert stored["spec"]["parentRefs"] == [
        {"name": "gw", "group": "gateway.networking.k8s.io", "kind": "Gateway"}
    ]
    assert stored["spec"]["rules"][0]["matches"] == [{"path": {"type": "PathPrefix", "value": "/"}}]


def test_istio_resources_keep_their_fields(crds: httpx.Client) -> None:
    vs = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": "reviews"},
        "spec": {
            "hosts": ["reviews"],
            "http": [{"route": [{"destination": {"host": "reviews", "subset": "v1"}, "weight": 100}]}],
            "typo": True,
        },
    }
    r = crds.post("/apis/networking.istio.io/v1/namespaces/default/virtualservices", json=vs)
    assert r.status_code == 201
    spec = r.json()["spec"]
    assert "typo" not in spec and spec["http"][0]["route"][0]["destination"]["subset"] == "v1"


def test_status_subresource_splits_spec_and_status(crds: httpx.Client) -> None:
    created = crds.post(
        f"{GW}/gateways",
        json=gateway(
            "gw", gatewayClassName="istio", listeners=[{"name": "http", "port": 80, "protocol": "HTTP"}]
        ),
    ).json()
    assert created["metadata"]["generation"] == 1
    conditions = {c["type"]: c["status"] for c in created["status"]["conditions"]}
    assert conditions == {"Accepted": "Unknown", "Programmed": "Unknown"}  # the CRD's status default
    merge = {"Content-Type": "application/merge-patch+json"}
    programmed = {
        "status": {
            "conditions": [
                {
                    "type": "Programmed",
                    "status": "True",
                    "reason": "Programmed",
                    "message": "",
                    "lastTransitionTime": "2026-01-01T00:00:00Z",
                }
            ]
        }
    }
    r = crds.patch(
        f"{GW}/gateways/gw", json={**programmed, "spec": {"gatewayClassName": "other"}}, headers=merge
    )
    assert r.json()["spec"]["gatewayClassName"] == "other"
    assert r.json()["status"] == created["status"] and r.json()["metadata"]["generation"] == 2
    r = crds.patch(
        f"{GW}/gateways/gw/status", json={**programmed, "spec": {"gatewayClassName": "x"}}, headers=merge
    )
    assert r.json()["spec"]["gatewayClassName"] == "other"
    assert r.json()["status"]["conditions"][0]["status"] == "True"
    assert r.json()["metadata"]["generation"] == 2


def test_embedded_resources_keep_their_type_and_metadata(api: httpx.Client) -> None:
    template = {
        "type": "object",
        "x-kubernetes-embedded-resource": True,
        "properties": {"spec": {"type": "object", "properties": {"size": {"type": "integer", "default": 1}}}},
    }
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "pools.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"plural": "pools", "singular": "pool", "kind": "Pool"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {"spec": {"type": "object", "properties": {"template": template}}},
                        }
                    },
                }
            ],
        },
    }
    assert api.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=crd).status_code == 201
    inner = {"apiVersion": "v1", "kind": "Thing", "metadata": {"name": "t"}, "spec": {}, "extra": 1}
    pool = {
        "apiVersion": "example.com/v1",
        "kind": "Pool",
        "metadata": {"name": "p"},
        "spec": {"template": inner},
    }
    r = api.post("/apis/example.com/v1/namespaces/default/pools", json=pool)
    assert r.status_code == 201, r.text
    assert r.json()["spec"]["template"] == {
        "apiVersion": "v1",
        "kind": "Thing",
        "metadata": {"name": "t"},
        "spec": {"size": 1},
    }
