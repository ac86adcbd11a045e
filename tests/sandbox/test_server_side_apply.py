"""Server-side apply over HTTP: managedFields, conflicts that name the manager, force, keyed list merges."""

from __future__ import annotations

import httpx

DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments"
APPLY = {"Content-Type": "application/apply-patch+yaml"}


def deployment(replicas: int, containers: list[dict[str, object]], **labels: str) -> dict[str, object]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": containers}},
        },
    }


def apply(api: httpx.Client, body: dict[str, object], manager: str, **params: str) -> httpx.Response:
    return api.patch(
        f"{DEPLOYMENTS}/web", json=body, headers=APPLY, params={"fieldManager": manager, **params}
    )


def managers(obj: dict[str, object]) -> dict[str, str]:
    return {e["manager"]: e["operation"] for e in obj["metadata"]["managedFields"]}  # type: ignore[index]


def test_conflict_names_the_manager_and_force_takes_ownership(api: httpx.Client) -> None:
    web = [{"name": "web", "image": "nginx:1.27"}]
    created = api.post(
        DEPLOYMENTS, params={"fieldManager": "kubectl-client-side-apply"}, json=deployment(2, web)
    )
    assert created.status_code == 201 and managers(created.json()) == {"kubectl-client-side-apply": "Update"}
    r = apply(api, deployment(3, web), "kubectl", force="false")
    assert r.status_code == 409
    assert r.json()["message"] == (
        'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: '
        ".spec.replicas"
    )
    assert r.json()["details"]["causes"][0] == {
        "type": "FieldManagerConflict",
        "message": 'conflict with "kubectl-client-side-apply" using apps/v1',
        "field": ".spec.replicas",
    }
    same = apply(api, deployment(2, web), "kubectl")  # the same value is shared ownership, not a conflict
    assert same.status_code == 200
    forced = apply(api, deployment(3, web), "kubectl", force="true")
    assert forced.status_code == 200 and forced.json()["spec"]["replicas"] == 3
    owners = {e["manager"]: e["fieldsV1"] for e in forced.json()["metadata"]["managedFields"]}
    assert (
        "f:replicas" in owners["kubectl"]["f:spec"]
        and "f:replicas" not in owners["kubectl-client-side-apply"]["f:spec"]
    )


def test_apply_merges_lists_by_key_and_drops_what_it_stops_applying(api: httpx.Client) -> None:
    two = [{"name": "web", "image": "nginx:1.27"}, {"name": "side", "image": "busybox"}]
    assert api.post(DEPLOYMENTS, params={"fieldManager": "helm"}, json=deployment(1, two)).status_code == 201
    mine = [{"name": "web", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}]
    r = apply(api, deployment(1, mine, tier="front"), "istio-tui")
    assert r.status_code == 200
    containers = r.json()["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["web", "side"]  # merged on name, helm's sidecar kept
    assert containers[0]["ports"] == [{"containerPort": 80}]
    assert r.json()["metadata"]["labels"] == {"tier": "front"}
    r = apply(api, deployment(1, [{"name": "web", "image": "nginx:1.27"}]), "istio-tui")
    assert r.json()["metadata"].get("labels", {}) == {}  # no longer applied, owned by nobody else: removed
    assert "ports" not in r.json()["spec"]["template"]["spec"]["containers"][0]


def test_apply_creates_and_requires_a_field_manager(api: httpx.Client) -> None:
    body = deployment(1, [{"name": "web", "image": "nginx:1.27"}])
    missing = api.patch(f"{DEPLOYMENTS}/web", json=body, headers=APPLY)
    assert missing.status_code == 422 and "fieldManager: Required value" in missing.json()["message"]
    created = apply(api, body, "istio-tui")
    assert created.status_code == 201 and managers(created.json()) == {"istio-tui": "Apply"}
