"""The sandbox's REST API over real HTTPS: status codes, Status bodies, watch semantics, discovery."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import sandbox_client, wait_for
from tui.sandbox.cluster import Sandbox

AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
# kubectl create namespace book, as measured (KUBE-CLIENTS.md §7)
NS_BOOK_PROTOBUF = bytes.fromhex(
    "6b387300"
    "0a0f"
    "0a027631"
    "12094e616d657370616365"
    "121c"
    "0a14"
    "0a04626f6f6b"
    "1200"
    "1a00"
    "2200"
    "2a00"
    "3200"
    "3800"
    "4200"
    "1200"
    "1a020a00"
    "1a00"
    "2200"
)


def pod(name: str, ns: str = "default", **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]},
    }


def cm(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def assert_status(resp: httpx.Response, code: int, reason: str) -> dict[str, Any]:
    assert resp.status_code == code, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert body["kind"] == "Status" and body["status"] == "Failure"
    assert body["code"] == code and body["reason"] == reason
    return body


def test_wrong_or_missing_token_is_401(sandbox: Sandbox) -> None:
    for token in ("nope", ""):
        with sandbox_client(sandbox, token) as c:
            assert_status(c.get("/api/v1/namespaces"), 401, "Unauthorized")
    with sandbox_client(sandbox) as c:
        assert c.get("/api/v1/namespaces").status_code == 200


def test_version_reports_1_32(api: httpx.Client) -> None:
    body = api.get("/version").json()
    assert (body["major"], body["minor"], body["gitVersion"]) == ("1", "32", "v1.32.0")


def test_seeded_cluster(api: httpx.Client) -> None:
    names = [n["metadata"]["name"] for n in api.get("/api/v1/namespaces").json()["items"]]
    assert names == ["default", "kube-node-lease", "kube-public", "kube-system"]
    node = api.get("/api/v1/nodes/sandbox").json()
    assert node["status"]["addresses"][0] == {"type": "InternalIP", "address": "127.0.0.1"}
    assert node["status"]["nodeInfo"]["kubeletVersion"] == "v1.32.0"


def test_create_get_list_delete_roundtrip(api: httpx.Client) -> None:
    r = api.post("/api/v1/namespaces/default/configmaps", json=cm("a", k="v"))
    assert r.status_code == 201
    created = r.json()
    meta = created["metadata"]
    assert created["kind"] == "ConfigMap" and meta["namespace"] == "default" and meta["uid"]
    assert meta["creationTimestamp"].endswith("Z") and int(meta["resourceVersion"]) > 0
    assert api.get("/api/v1/namespaces/default/configmaps/a").json()["data"] == {"k": "v"}
    lst = api.get("/api/v1/configmaps").json()
    assert lst["kind"] == "ConfigMapList" and lst["apiVersion"] == "v1"
    assert int(lst["metadata"]["resourceVersion"]) >= int(meta["resourceVersion"])
    assert api.delete("/api/v1/namespaces/default/configmaps/a").json()["metadata"]["name"] == "a"
    body = assert_status(api.get("/api/v1/namespaces/default/configmaps/a"), 404, "NotFound")
    assert body["message"] == 'configmaps "a" not found'


def test_error_codes(api: httpx.Client) -> None:
    body = assert_status(api.post("/api/v1/namespaces/nope/configmaps", json=cm("a")), 404, "NotFound")
    assert body["message"] == 'namespaces "nope" not found'
    api.post("/api/v1/namespaces/default/configmaps", json=cm("a"))
    body = assert_status(
        api.post("/api/v1/namespaces/default/configmaps", json=cm("a")), 409, "AlreadyExists"
    )
    assert body["message"] == 'configmaps "a" already exists'
    stale = {**cm("a", x="1"), "metadata": {"name": "a", "resourceVersion": "1"}}
    body = assert_status(api.put("/api/v1/namespaces/default/configmaps/a", json=stale), 409, "Conflict")
    assert "the object has been modified" in body["message"]
    assert_status(api.get("/apis/apps/v1/namespaces/default/deployments/d2"), 404, "NotFound")
    assert api.get("/apis/apps/v1/namespaces/default/deployments/d2").json()["message"] == (
        'deployments.apps "d2" not found'
    )
    assert_status(api.get("/apis/nope.io/v1/things"), 404, "NotFound")
    assert_status(api.post("/api/v1/namespaces/default/configmaps/a", json=cm("a")), 405, "MethodNotAllowed")


def test_bad_bodies_are_400_or_422_and_change_nothing(api: httpx.Client) -> None:
    url = "/api/v1/namespaces/default/configmaps"
    headers = {"Content-Type": "application/json"}
    assert_status(api.post(url, content=b"{not json", headers=headers), 400, "BadRequest")
    assert_status(api.post(url, content=b"[1, 2]", headers=headers), 400, "BadRequest")
    assert_status(api.post(url, json={"kind": "Secret", "metadata": {"name": "x"}}), 400, "BadRequest")
    body = assert_status(api.post(url, json=cm("Bad_Name")), 422, "Invalid")
    assert body["details"]["causes"][0]["field"] == "metadata.name"
    body = assert_status(
        api.post(
            "/api/v1/namespaces/default/pods",
            json={"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}]}},
        ),
        422,
        "Invalid",
    )
    assert [c["field"] for c in body["details"]["causes"]] == ["spec.containers[0].image"]
    assert_status(
        api.post(
            "/api/v1/namespaces/default/pods",
            content=b"k8s\x00garbage",
            headers={"Content-Type": "application/vnd.kubernetes.protobuf"},
        ),
        400,
        "BadRequest",
    )
    assert api.get(url).json()["items"] == []


def test_protobuf_namespace_create(api: httpx.Client) -> None:
    r = api.post(
        "/api/v1/namespaces?fieldManager=kubectl-create&fieldValidation=Strict",
        content=NS_BOOK_PROTOBUF,
        headers={
            "Content-Type": "application/vnd.kubernetes.protobuf",
            "Accept": "application/vnd.kubernetes.protobuf,application/json",
        },
    )
    assert r.status_code == 201 and r.headers["content-type"] == "application/json"
    assert r.json()["metadata"]["name"] == "book" and r.json()["status"]["phase"] == "Active"
    again = api.post(
        "/api/v1/namespaces",
        content=NS_BOOK_PROTOBUF,
        headers={"Content-Type": "application/vnd.kubernetes.protobuf"},
    )
    assert_status(again, 409, "AlreadyExists")


def test_generate_name_and_generation(api: httpx.Client) -> None:
    r = api.post("/api/v1/namespaces/default/configmaps", json={"metadata": {"generateName": "gen-"}})
    assert r.status_code == 201 and r.json()["metadata"]["name"].startswith("gen-")
    assert len(r.json()["metadata"]["name"]) == len("gen-") + 5
    dep = {
        "metadata": {"name": "d"},
        "spec": {
            "selector": {"matchLabels": {"a": "b"}},
            "template": {
                "metadata": {"labels": {"a": "b"}},
                "spec": {"containers": [{"name": "c", "image": "i"}]},
            },
        },
    }
    created = api.post("/apis/apps/v1/namespaces/default/deployments", json=dep).json()
    assert created["metadata"]["generation"] == 1 and created["spec"]["replicas"] == 1
    url = "/apis/apps/v1/namespaces/default/deployments/d"
    patched = api.patch(
        url,
        content=b'{"metadata":{"labels":{"x":"y"}}}',
        headers={"Content-Type": "application/merge-patch+json"},
    ).json()
    assert patched["metadata"]["generation"] == 1
    patched = api.patch(
        url,
        content=b'{"spec":{"replicas":3}}',
        headers={"Content-Type": "application/strategic-merge-patch+json"},
    ).json()
    assert patched["metadata"]["generation"] == 2 and patched["spec"]["replicas"] == 3
    scale = api.get(url + "/scale").json()
    assert scale["kind"] == "Scale" and scale["spec"]["replicas"] == 3
    api.patch(
        url + "/scale",
        content=b'{"spec":{"replicas":0}}',
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert api.get(url).json()["spec"]["replicas"] == 0


def test_patch_types_and_apply_create(api: httpx.Client) -> None:
    url = "/api/v1/namespaces/default/configmaps/ap"
    body = json.dumps(cm("ap", a="1")).encode()
    r = api.patch(
        url + "?fieldManager=kubectl&force=false",
        content=body,
        headers={"Content-Type": "application/apply-patch+yaml"},
    )
    assert r.status_code == 201
    r = api.patch(
        url,
        content=b'[{"op":"add","path":"/data/b","value":"2"}]',
        headers={"Content-Type": "application/json-patch+json"},
    )
    assert r.status_code == 200 and r.json()["data"] == {"a": "1", "b": "2"}
    r = api.patch(
        url, content=b'{"data":{"a":null}}', headers={"Content-Type": "application/merge-patch+json"}
    )
    assert r.json()["data"] == {"b": "2"}
    assert_status(
        api.patch(
            url,
            content=b'[{"op":"remove","path":"/nope"}]',
            headers={"Content-Type": "application/json-patch+json"},
        ),
        422,
        "Invalid",
    )
    assert_status(
        api.patch(url + "-missing", content=b"{}", headers={"Content-Type": "application/merge-patch+json"}),
        404,
        "NotFound",
    )
    assert_status(
        api.patch(url, content=b"{}", headers={"Content-Type": "text/plain"}), 415, "UnsupportedMediaType"
    )


def test_service_nodeports_follow_type(api: httpx.Client) -> None:
    svc = {
        "metadata": {"name": "s"},
        "spec": {
            "selector": {"app": "s"},
            "ports": [{"name": "http2", "port": 80}, {"name": "https", "port": 443}],
        },
    }
    created = api.post("/api/v1/namespaces/default/services", json=svc).json()
    assert created["spec"]["clusterIP"].startswith("10.96.") and created["spec"]["type"] == "ClusterIP"
    assert created["spec"]["ports"][0]["targetPort"] == 80 and "nodePort" not in created["spec"]["ports"][0]
    url = "/api/v1/namespaces/default/services/s"
    np = api.patch(
        url,
        content=b'{"spec":{"type":"NodePort"}}',
        headers={"Content-Type": "application/strategic-merge-patch+json"},
    ).json()
    ports = np["spec"]["ports"]
    assert [p["name"] for p in ports] == ["http2", "https"]
    assert (
        all(30000 <= p["nodePort"] <= 32767 for p in ports) and ports[0]["nodePort"] != ports[1]["nodePort"]
    )
    assert np["spec"]["clusterIP"] == created["spec"]["clusterIP"]
    back = api.patch(
        url,
        content=b'{"spec":{"type":"ClusterIP"}}',
        headers={"Content-Type": "application/merge-patch+json"},
    ).json()
    assert all("nodePort" not in p for p in back["spec"]["ports"])


def test_label_and_field_selectors(api: httpx.Client) -> None:
    for name, labels in (("a", {"app": "x", "tier": "web"}), ("b", {"app": "x"}), ("c", {"app": "y"})):
        assert api.post("/api/v1/namespaces/default/pods", json=pod(name, **labels)).status_code == 201

    def names(query: str) -> list[str]:
        return [p["metadata"]["name"] for p in api.get(f"/api/v1/pods?{query}").json()["items"]]

    assert names("labelSelector=app%3Dx") == ["a", "b"]
    assert names("labelSelector=app%3Dx,tier") == ["a"]
    assert names("labelSelector=app%20in%20(x,y),!tier") == ["b", "c"]
    assert names("labelSelector=app!%3Dx") == ["c"]
    assert names("fieldSelector=metadata.name%3Db") == ["b"]
    assert names("fieldSelector=metadata.namespace%3Ddefault&labelSelector=app%3Dy") == ["c"]
    assert_status(api.get("/api/v1/pods?labelSelector=%3D%3D"), 400, "BadRequest")


def test_tables(api: httpx.Client) -> None:
    table = api.get("/api/v1/namespaces", headers={"Accept": TABLE}).json()
    assert table["kind"] == "Table" and table["apiVersion"] == "meta.k8s.io/v1"
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Status", "Age"]
    assert table["rows"][0]["cells"][:2] == ["default", "Active"]
    assert table["rows"][0]["object"]["kind"] == "PartialObjectMetadata"
    api.post("/api/v1/namespaces/default/pods", json=pod("p"))
    row = api.get("/api/v1/namespaces/default/pods/p", headers={"Accept": TABLE}).json()["rows"][0]
    assert row["cells"][:4] == ["p", "0/1", "Pending", "0"]
    first = api.get("/api/v1/namespaces/default/pods", headers={"Accept": TABLE}).json()["rows"][0]
    api.patch(
        "/api/v1/namespaces/default/pods/p",
        content=b'{"metadata":{"labels":{"seen":"yes"}}}',
        headers={"Content-Type": "application/merge-patch+json"},
    )
    again = api.get("/api/v1/namespaces/default/pods", headers={"Accept": TABLE}).json()["rows"][0]
    assert "seen" not in first["object"]["metadata"].get("labels", {})
    assert again["object"]["metadata"]["labels"]["seen"] == "yes" and again["cells"][0] == "p"


def test_discovery_aggregated_and_legacy(api: httpx.Client) -> None:
    r = api.get("/apis", headers={"Accept": AGGREGATED + ",application/json"})
    assert r.headers["content-type"] == AGGREGATED
    groups = {g["metadata"]["name"]: g for g in r.json()["items"]}
    assert {
        "apps",
        "batch",
        "networking.k8s.io",
        "apiextensions.k8s.io",
        "admissionregistration.k8s.io",
        "authorization.k8s.io",
    } <= set(groups)
    core = api.get("/api", headers={"Accept": AGGREGATED}).json()["items"][0]["versions"][0]["resources"]
    ns = next(r for r in core if r["resource"] == "namespaces")
    assert ns["scope"] == "Cluster" and ns["shortNames"] == ["ns"]
    assert api.get("/api", headers={"Accept": "application/json"}).json()["versions"] == ["v1"]
    legacy = api.get("/apis").json()
    assert legacy["groups"][0]["versions"][0]["groupVersion"].count("/") == 1
    apps = api.get("/apis/apps/v1").json()
    assert {r["name"] for r in apps["resources"]} >= {"deployments", "replicasets", "deployments/scale"}


def test_openapi_v3(api: httpx.Client) -> None:
    root = api.get("/openapi/v3").json()["paths"]
    assert "api/v1" in root and "apis/apps/v1" in root
    doc = api.get(root["apis/apps/v1"]["serverRelativeURL"]).json()
    ops = [p["patch"] for p in doc["paths"].values()]
    dep = next(o for o in ops if o["x-kubernetes-group-version-kind"]["kind"] == "Deployment")
    assert any(p["name"] == "fieldValidation" for p in dep["parameters"])
    v2 = api.get("/openapi/v2")  # empty: kubectl's fallback for a group-version v3 does not list reads it
    assert (v2.status_code, v2.content) == (200, b"")


def test_crd_makes_resources_served_and_deleting_it_removes_them(api: httpx.Client) -> None:
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "virtualservices.networking.istio.io"},
        "spec": {
            "group": "networking.istio.io",
            "scope": "Namespaced",
            "names": {
                "plural": "virtualservices",
                "singular": "virtualservice",
                "kind": "VirtualService",
                "shortNames": ["vs"],
            },
            "versions": [
                {"name": "v1beta1", "served": True, "storage": False},
                {"name": "v1", "served": True, "storage": True},
            ],
        },
    }
    created = api.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=crd).json()
    conds = {c["type"]: c["status"] for c in created["status"]["conditions"]}
    assert conds == {"Established": "True", "NamesAccepted": "True"}
    groups = {
        g["metadata"]["name"]: g for g in api.get("/apis", headers={"Accept": AGGREGATED}).json()["items"]
    }
    assert [v["version"] for v in groups["networking.istio.io"]["versions"]] == ["v1", "v1beta1"]
    url = "/apis/networking.istio.io/v1/namespaces/default/virtualservices"
    vs = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": "r"},
        "spec": {"hosts": ["reviews"]},
    }
    r = api.post(url, json=vs)
    assert r.status_code == 201 and r.json()["metadata"]["generation"] == 1
    assert_status(
        api.patch(
            url + "/r", content=b"{}", headers={"Content-Type": "application/strategic-merge-patch+json"}
        ),
        415,
        "UnsupportedMediaType",
    )
    r = api.patch(
        url + "/r",
        content=b'{"spec":{"hosts":["a"]}}',
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert r.json()["metadata"]["generation"] == 2
    lst = api.get("/apis/networking.istio.io/v1beta1/namespaces/default/virtualservices").json()
    assert (
        lst["kind"] == "VirtualServiceList" and lst["items"][0]["apiVersion"] == "networking.istio.io/v1beta1"
    )
    api.delete("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/virtualservices.networking.istio.io")
    assert_status(api.get(url), 404, "NotFound")
    names = [g["metadata"]["name"] for g in api.get("/apis", headers={"Accept": AGGREGATED}).json()["items"]]
    assert "networking.istio.io" not in names
    api.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=crd)
    assert api.get(url).json()["items"] == []  # the old custom resources went with their CRD


def read_events(
    sb: Sandbox, path: str, *, until: int, timeout: float = 10, **headers: str
) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    with sandbox_client(sb) as c, c.stream("GET", path, headers=headers, timeout=timeout) as resp:
        assert resp.status_code == 200
        for line in resp.iter_lines():
            if line:
                events.append(json.loads(line))
            if len(events) >= until:
                break
    return events


def test_watch_streams_changes_from_a_list_rv(sandbox: Sandbox, api: httpx.Client) -> None:
    rv = api.get("/api/v1/namespaces/default/configmaps").json()["metadata"]["resourceVersion"]
    got: list[dict[str, Any]] = []
    reader = threading.Thread(
        target=lambda: got.extend(
            read_events(
                sandbox, f"/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={rv}", until=3
            )
        )
    )
    reader.start()
    api.post("/api/v1/namespaces/default/configmaps", json=cm("w", a="1"))
    api.post("/api/v1/namespaces/kube-system/configmaps", json=cm("other"))
    api.patch(
        "/api/v1/namespaces/default/configmaps/w",
        content=b'{"data":{"a":"2"}}',
        headers={"Content-Type": "application/merge-patch+json"},
    )
    api.delete("/api/v1/namespaces/default/configmaps/w")
    reader.join(10)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in got] == [
        ("ADDED", "w"),
        ("MODIFIED", "w"),
        ("DELETED", "w"),
    ]
    rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in got]
    assert rvs == sorted(rvs) and rvs[0] > int(rv)


def test_watch_from_zero_sends_existing_objects_and_honours_timeout(
    sandbox: Sandbox, api: httpx.Client
) -> None:
    api.post("/api/v1/namespaces/default/configmaps", json=cm("x"))
    start = time.monotonic()
    events = read_events(sandbox, "/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=1", until=99)
    assert time.monotonic() - start < 5
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "x")]


def test_watch_table_and_field_selector(sandbox: Sandbox, api: httpx.Client) -> None:
    api.post("/api/v1/namespaces/default/pods", json=pod("a"))
    api.post("/api/v1/namespaces/default/pods", json=pod("b"))
    events = read_events(
        sandbox,
        "/api/v1/namespaces/default/pods?watch=1&fieldSelector=metadata.name%3Db&timeoutSeconds=1",
        until=99,
        Accept=TABLE,
    )
    assert events[0]["type"] == "ADDED" and events[0]["object"]["kind"] == "Table"
    assert events[0]["object"]["columnDefinitions"][1]["name"] == "Ready"
    assert {e["object"]["rows"][0]["cells"][0] for e in events} == {"b"}


def test_watch_with_label_selector_sees_objects_enter_and_leave(sandbox: Sandbox, api: httpx.Client) -> None:
    rv = api.get("/api/v1/configmaps").json()["metadata"]["resourceVersion"]
    api.post("/api/v1/namespaces/default/configmaps", json={**cm("m"), "metadata": {"name": "m"}})
    url = "/api/v1/namespaces/default/configmaps/m"
    merge = {"Content-Type": "application/merge-patch+json"}
    api.patch(url, content=b'{"metadata":{"labels":{"team":"a"}}}', headers=merge)
    api.patch(url, content=b'{"data":{"x":"1"}}', headers=merge)
    api.patch(url, content=b'{"metadata":{"labels":{"team":"b"}}}', headers=merge)
    events = read_events(
        sandbox,
        f"/api/v1/configmaps?watch=1&labelSelector=team%3Da&resourceVersion={rv}&timeoutSeconds=1",
        until=99,
    )
    assert [e["type"] for e in events] == ["ADDED", "MODIFIED", "DELETED"]
    assert events[-1]["object"]["metadata"]["labels"] == {"team": "b"}


def test_watch_too_old_rv_is_410(sandbox: Sandbox, api: httpx.Client) -> None:
    assert sandbox.store is not None
    rv = api.get("/api/v1/configmaps").json()["metadata"]["resourceVersion"]
    api.post("/api/v1/namespaces/default/configmaps", json=cm("x"))
    sandbox.store.compact()
    events = read_events(sandbox, f"/api/v1/configmaps?watch=1&resourceVersion={rv}", until=1)
    assert events[0]["type"] == "ERROR"
    assert events[0]["object"]["code"] == 410 and events[0]["object"]["reason"] == "Expired"


def test_watch_and_list_ahead_of_the_server_are_too_large_timeouts(
    sandbox: Sandbox, api: httpx.Client
) -> None:
    """What a client that outlived a sandbox restarted without its state gets, as from a real server."""
    rv = int(api.get("/api/v1/configmaps").json()["metadata"]["resourceVersion"])
    start = time.monotonic()
    events = read_events(sandbox, f"/api/v1/configmaps?watch=1&resourceVersion={rv + 100}", until=2)
    assert time.monotonic() - start < 5
    assert len(events) == 1 and events[0]["type"] == "ERROR"
    status = events[0]["object"]
    assert (status["kind"], status["code"], status["reason"]) == ("Status", 504, "Timeout")
    assert status["message"] == f"Timeout: Too large resource version: {rv + 100}, current: {rv}"
    assert status["details"]["causes"] == [
        {"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}
    ]
    listed = assert_status(api.get(f"/api/v1/configmaps?resourceVersion={rv + 100}"), 504, "Timeout")
    assert listed["details"]["causes"][0]["reason"] == "ResourceVersionTooLarge"
    assert api.get(f"/api/v1/configmaps?resourceVersion={rv}").status_code == 200


def test_watch_bookmarks(sandbox: Sandbox, api: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    from tui.sandbox.api import watch

    monkeypatch.setattr(watch, "BOOKMARK_EVERY", 0.2)
    rv = api.get("/api/v1/configmaps").json()["metadata"]["resourceVersion"]
    events = read_events(
        sandbox, f"/api/v1/configmaps?watch=1&allowWatchBookmarks=true&resourceVersion={rv}", until=1
    )
    assert events[0]["type"] == "BOOKMARK" and events[0]["object"]["kind"] == "ConfigMap"
    assert int(events[0]["object"]["metadata"]["resourceVersion"]) >= int(rv)


def test_forbid_and_access_review(sandbox: Sandbox, api: httpx.Client) -> None:
    api.post("/api/v1/namespaces", json={"metadata": {"name": "locked"}})
    sandbox.forbid(resource="pods", namespace="locked")
    assert_status(api.get("/api/v1/namespaces/locked/pods"), 403, "Forbidden")
    assert api.get("/api/v1/namespaces/default/pods").status_code == 200
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": {"namespace": "locked", "verb": "list", "resource": "pods"}},
    }
    r = api.post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", json=review)
    assert r.status_code == 201 and r.json()["status"]["allowed"] is False
    review["spec"]["resourceAttributes"]["namespace"] = "default"
    assert (
        api.post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", json=review).json()["status"][
            "allowed"
        ]
        is True
    )
    assert_status(api.get("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"), 405, "MethodNotAllowed")
    sandbox.forbid(resource="configmaps", verbs=["delete"])
    api.post("/api/v1/namespaces/default/configmaps", json=cm("keep"))
    body = assert_status(api.delete("/api/v1/namespaces/default/configmaps/keep"), 403, "Forbidden")
    assert body["message"] == (
        'configmaps "keep" is forbidden: User "sandbox" cannot delete resource "configmaps" in API group "" '
        'in the namespace "default"'
    )
    assert api.get("/api/v1/namespaces/default/configmaps/keep").status_code == 200
    sandbox.allow_all()
    assert api.get("/api/v1/namespaces/locked/pods").status_code == 200


def test_status_subresource_and_main_endpoint_keep_their_halves(api: httpx.Client) -> None:
    svc = {"metadata": {"name": "lb"}, "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}}
    api.post("/api/v1/namespaces/default/services", json=svc)
    url = "/api/v1/namespaces/default/services/lb"
    current = api.get(url).json()
    current["status"] = {"loadBalancer": {"ingress": [{"ip": "127.0.0.2"}]}}
    current["metadata"]["labels"] = {"changed": "yes"}
    updated = api.put(url + "/status", json=current).json()
    assert updated["status"]["loadBalancer"]["ingress"] == [{"ip": "127.0.0.2"}]
    assert "changed" not in (updated["metadata"].get("labels") or {})
    updated["status"] = {"loadBalancer": {}}
    updated["metadata"]["labels"] = {"changed": "yes"}
    main = api.put(url, json=updated).json()
    assert main["status"]["loadBalancer"]["ingress"] == [{"ip": "127.0.0.2"}]
    assert main["metadata"]["labels"] == {"changed": "yes"}
    row = api.get(url, headers={"Accept": TABLE}).json()["rows"][0]["cells"]
    assert row[3] == "127.0.0.2"


def test_delete_collection_by_label(api: httpx.Client) -> None:
    for name, app in (("a", "x"), ("b", "x"), ("c", "y")):
        api.post(
            "/api/v1/namespaces/default/configmaps",
            json={**cm(name), "metadata": {"name": name, "labels": {"app": app}}},
        )
    deleted = api.delete("/api/v1/namespaces/default/configmaps?labelSelector=app%3Dx").json()
    assert [o["metadata"]["name"] for o in deleted["items"]] == ["a", "b"]
    assert [
        o["metadata"]["name"] for o in api.get("/api/v1/namespaces/default/configmaps").json()["items"]
    ] == ["c"]


def test_pod_log(api: httpx.Client) -> None:
    api.post("/api/v1/namespaces/default/pods", json=pod("p"))
    # A container still being created has no log yet (400), as on a real cluster.
    wait_for(lambda: api.get("/api/v1/namespaces/default/pods/p/log").status_code == 200, "p started")
    r = api.get("/api/v1/namespaces/default/pods/p/log?container=c")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert len(r.text.splitlines()) >= 2
    assert len(api.get("/api/v1/namespaces/default/pods/p/log?tailLines=1").text.splitlines()) == 1
    assert_status(api.get("/api/v1/namespaces/default/pods/p/log?container=zz"), 400, "BadRequest")
    assert_status(api.get("/api/v1/namespaces/default/pods/nope/log"), 404, "NotFound")


def test_garbage_requests_never_crash(api: httpx.Client) -> None:
    for method, path in (
        ("GET", "/api/v1/namespaces/default/pods/a/b/c/d"),
        ("GET", "/apis/x"),
        ("PUT", "/api/v1/namespaces"),
        ("GET", "/api/v2/pods"),
        ("GET", "/%ff%fe"),
        ("GET", "/api/v1/pods?watch=1&resourceVersion=abc"),
        ("GET", "/api/v1/pods?watch=1&timeoutSeconds=x"),
    ):
        r = api.request(method, path)
        assert 400 <= r.status_code < 500 and r.json()["kind"] == "Status", (method, path, r.text)
    assert api.get("/version").status_code == 200


def test_state_file_keeps_objects_rv_and_credentials(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    sb = Sandbox(state_file=state).start()
    try:
        with sandbox_client(sb) as c:
            c.post("/api/v1/namespaces/default/configmaps", json=cm("keep", a="1"))
            rv = int(c.get("/api/v1/configmaps").json()["metadata"]["resourceVersion"])
        token, ca = sb.token, sb.ca_pem
    finally:
        sb.stop()
    assert state.stat().st_mode & 0o777 == 0o600
    sb2 = Sandbox(state_file=state).start()
    try:
        assert (sb2.token, sb2.ca_pem) == (token, ca)
        with sandbox_client(sb2) as c:
            assert c.get("/api/v1/namespaces/default/configmaps/keep").json()["data"] == {"a": "1"}
            created = c.post("/api/v1/namespaces/default/configmaps", json=cm("new")).json()
            assert int(created["metadata"]["resourceVersion"]) > rv
        events = read_events(sb2, f"/api/v1/configmaps?watch=1&resourceVersion={rv}", until=1)
        assert (events[0]["type"], events[0]["object"]["metadata"]["name"]) == ("ADDED", "new")
    finally:
        sb2.stop()


def test_port_in_use_is_a_one_line_error(sandbox: Sandbox) -> None:
    from tui.errors import PortInUse

    with pytest.raises(PortInUse) as info:
        Sandbox(port=sandbox.port).start()
    assert str(sandbox.port) in str(info.value) and "\n" not in str(info.value)
