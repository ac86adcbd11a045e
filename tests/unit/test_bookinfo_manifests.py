"""The Bookinfo manifests validate against Kubernetes 1.32 and Istio's CRD schemas, and hold the complete set.

Kubernetes objects go through kubernetes-validate's strict 1.32 schemas (unknown fields fail). Istio
objects go through the openAPIV3Schema of the published CRDs, made strict the way the API server prunes:
any field the schema does not name is an error here, since the server would silently drop it.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from tui.istio import bookinfo
from tui.istio.routing import routing_of

# The published Istio CRDs live in the shared folder beside the checkout (CI lays it out the same way).
CRDS = Path(__file__).resolve().parents[3] / "shared" / "data" / "istio-crds.gen.yaml"
MANAGED = {"app.kubernetes.io/managed-by": "istio-tui"}


def _all_docs() -> list[dict[str, Any]]:
    docs = bookinfo.load_app() + bookinfo.load_gateway() + bookinfo.load_destination_rules()
    for preset in bookinfo.presets():
        docs.append(preset.doc)
    return docs


def _strict(schema: dict[str, Any]) -> dict[str, Any]:
    """Close every object schema that lists its properties, as server-side pruning would."""
    schema = copy.deepcopy(schema)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if (
                node.get("type") == "object"
                and "properties" in node
                and not node.get("x-kubernetes-preserve-unknown-fields")
                and "additionalProperties" not in node
            ):
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return schema


def _istio_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    if not CRDS.exists():
        pytest.skip(f"Istio CRD schemas not found at {CRDS}")
    return _parse_crds()


@functools.cache
def _parse_crds() -> dict[tuple[str, str], dict[str, Any]]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for crd in yaml.load_all(CRDS.read_text(), Loader=loader):
        if not crd or crd.get("kind") != "CustomResourceDefinition":
            continue
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            schema = version["schema"]["openAPIV3Schema"]
            out[(f"{group}/{version['name']}", kind)] = _strict(schema)
    return out


def _doc_id(doc: dict[str, Any]) -> str:
    preset = (doc["metadata"].get("annotations") or {}).get("istio-tui/preset")
    return f"{doc['kind']}/{preset or doc['metadata']['name']}"


@pytest.mark.parametrize("doc", _all_docs(), ids=_doc_id)
def test_validates(doc: dict[str, Any]) -> None:
    if doc["apiVersion"].startswith("networking.istio.io/"):
        schema = _istio_schemas()[(doc["apiVersion"], doc["kind"])]
        body = {k: v for k, v in doc.items() if k in ("spec", "status")}
        jsonschema.validate(body, schema, cls=jsonschema.Draft7Validator)
        assert set(doc) <= {"apiVersion", "kind", "metadata", "spec"}
        assert set(doc["metadata"]) <= {"name", "labels", "annotations"}
    else:
        kubernetes_validate.validate(doc, "1.32", strict=True)


def test_istio_validation_catches_a_typo() -> None:
    """Guard against a schema check that accepts anything."""
    vs = copy.deepcopy(bookinfo.load_gateway()[1])
    vs["spec"]["http"][0]["rout"] = vs["spec"]["http"][0].pop("route")
    schema = _istio_schemas()[("networking.istio.io/v1", "VirtualService")]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"spec": vs["spec"]}, schema)
    bad = copy.deepcopy(bookinfo.load_app()[-1])
    bad["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = 3
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, "1.32", strict=True)


def test_every_object_is_marked_ours() -> None:
    for doc in _all_docs():
        labels = doc["metadata"].get("labels", {})
        assert labels.get("app.kubernetes.io/managed-by") == "istio-tui", doc["metadata"]["name"]
        assert "namespace" not in doc["metadata"], "namespace comes from the deploy step"


def test_app_is_complete() -> None:
    docs = bookinfo.load_app()
    by_kind: dict[str, dict[str, dict[str, Any]]] = {}
    for doc in docs:
        by_kind.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
    apps = {"productpage", "details", "reviews", "ratings"}
    assert set(by_kind["Service"]) == apps
    for svc in by_kind["Service"].values():
        assert svc["spec"]["ports"] == [{"name": "http", "port": 9080, "targetPort": 9080, "protocol": "TCP"}]
        assert svc["spec"]["selector"] == {"app": svc["metadata"]["name"]}
    assert set(by_kind["ServiceAccount"]) == {f"bookinfo-{a}" for a in apps}
    expected = {"productpage-v1", "details-v1", "ratings-v1", "reviews-v1", "reviews-v2", "reviews-v3"}
    assert set(by_kind["Deployment"]) == expected
    for name, dep in by_kind["Deployment"].items():
        app, version = name.rsplit("-", 1)
        tmpl = dep["spec"]["template"]
        assert dep["spec"]["selector"]["matchLabels"] == {"app": app, "version": version}
        assert tmpl["metadata"]["labels"]["app"] == app and tmpl["metadata"]["labels"]["version"] == version
        assert tmpl["spec"]["serviceAccountName"] == f"bookinfo-{app}"
        (container,) = tmpl["spec"]["containers"]
        assert container["image"] == f"docker.io/istio/examples-bookinfo-{app}-{version}:1.20.3"
        assert container["ports"][0]["containerPort"] == 9080


def test_gateway_and_edge_routes() -> None:
    gw, vs = bookinfo.load_gateway()
    assert gw["apiVersion"] == "networking.istio.io/v1" and gw["metadata"]["name"] == "bookinfo-gateway"
    assert gw["spec"]["selector"] == {"istio": "ingressgateway"}
    assert [s["port"]["number"] for s in gw["spec"]["servers"]] == [80]
    assert vs["metadata"]["name"] == "bookinfo" and vs["spec"]["gateways"] == ["bookinfo-gateway"]
    (rule,) = vs["spec"]["http"]
    assert [m["uri"] for m in rule["match"]] == [
        {"exact": "/productpage"},
        {"prefix": "/static"},
        {"exact": "/login"},
        {"exact": "/logout"},
        {"prefix": "/api/v1/products"},
    ]
    assert rule["route"] == [{"destination": {"host": "productpage", "port": {"number": 9080}}}]


def test_destination_rule_subsets() -> None:
    subsets = {
        d["spec"]["host"]: {s["name"]: s["labels"] for s in d["spec"]["subsets"]}
        for d in bookinfo.load_destination_rules()
    }
    assert subsets == {
        "productpage": {"v1": {"version": "v1"}},
        "reviews": {f"v{i}": {"version": f"v{i}"} for i in (1, 2, 3)},
        "ratings": {"v1": {"version": "v1"}, "v2": {"version": "v2"}},
        "details": {"v1": {"version": "v1"}, "v2": {"version": "v2"}},
    }


def test_presets_are_complete() -> None:
    found = {p.key: p for p in bookinfo.presets()}
    assert list(found) == list(bookinfo.PRESET_KEYS)
    weights = {
        key: routing_of(found[key].doc).default_weights for key in found if key.startswith("rev")
    }
    assert weights == {
        "reviews-v1": {"v1": 100},
        "reviews-jason-v2": {"v1": 100},
        "reviews-v1-v3-50": {"v1": 50, "v3": 50},
        "reviews-v1-v2-80": {"v1": 80, "v2": 20},
        "reviews-v2-v3-50": {"v2": 50, "v3": 50},
        "reviews-v3": {"v3": 100},
    }
    jason = routing_of(found["reviews-jason-v2"].doc).matches
    assert [(m.header, m.value, m.weights) for m in jason] == [("end-user", "jason", {"v2": 100})]
    delay = found["ratings-delay-jason"].doc["spec"]["http"][0]
    assert delay["match"] == [{"headers": {"end-user": {"exact": "jason"}}}]
    assert delay["fault"]["delay"] == {"percentage": {"value": 100.0}, "fixedDelay": "7s"}
    abort = found["ratings-abort-jason"].doc["spec"]["http"][0]
    assert abort["match"] == delay["match"]
    assert abort["fault"]["abort"] == {"percentage": {"value": 100.0}, "httpStatus": 500}
    for key in ("ratings-delay-jason", "ratings-abort-jason"):
        assert found[key].doc["spec"]["http"][-1] == {
            "route": [{"destination": {"host": "ratings", "subset": "v1"}}]
        }
