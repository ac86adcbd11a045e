"""Simulated sidecar injection, in both of Istio's sidecar forms, against a sandbox over HTTPS and kubectl.

The webhook configuration mirrors istiod's default-revision injector: four webhooks whose namespace and object
selectors decide between ``istio-injection=enabled``, ``istio.io/rev``, and per-pod opt-in/opt-out.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import KUBECTL
from tests.helpers import sandbox_client, wait_for
from tui.sandbox.cluster import Sandbox
from tui.sandbox.injection import inject, kubelet_supports_native_sidecars, should_inject

CORE = "/api/v1/namespaces"
WEBHOOKS = "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations"
NOT_FALSE = {"key": "sidecar.istio.io/inject", "operator": "NotIn", "values": ["false"]}


def webhook(name: str, ns_exprs: list[dict[str, Any]], obj_exprs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "name": name,
        "admissionReviewVersions": ["v1"],
        "sideEffects": "None",
        "failurePolicy": "Fail",
        "clientConfig": {"service": {"name": "istiod", "namespace": "istio-system", "path": "/inject"}},
        "rules": [
            {"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}
        ],
        "namespaceSelector": {"matchExpressions": ns_exprs},
        "objectSelector": {"matchExpressions": obj_exprs},
    }


INJECTOR = {
    "apiVersion": "admissionregistration.k8s.io/v1",
    "kind": "MutatingWebhookConfiguration",
    "metadata": {
        "name": "istio-sidecar-injector",
        "labels": {"app": "sidecar-injector", "app.kubernetes.io/version": "1.27.3"},
    },
    "webhooks": [
        webhook(
            "rev.namespace.sidecar-injector.istio.io",
            [
                {"key": "istio.io/rev", "operator": "In", "values": ["default"]},
                {"key": "istio-injection", "operator": "DoesNotExist"},
            ],
            [NOT_FALSE],
        ),
        webhook(
            "rev.object.sidecar-injector.istio.io",
            [
                {"key": "istio.io/rev", "operator": "DoesNotExist"},
                {"key": "istio-injection", "operator": "DoesNotExist"},
            ],
            [NOT_FALSE, {"key": "istio.io/rev", "operator": "In", "values": ["default"]}],
        ),
        webhook(
            "namespace.sidecar-injector.istio.io",
            [{"key": "istio-injection", "operator": "In", "values": ["enabled"]}],
            [NOT_FALSE],
        ),
        webhook(
            "object.sidecar-injector.istio.io",
            [
                {"key": "istio-injection", "operator": "DoesNotExist"},
                {"key": "istio.io/rev", "operator": "DoesNotExist"},
            ],
            [
                {"key": "sidecar.istio.io/inject", "operator": "In", "values": ["true"]},
                {"key": "istio.io/rev", "operator": "DoesNotExist"},
            ],
        ),
    ],
}


@pytest.fixture(params=["v1.32.0", "v1.33.1"], ids=["classic-sidecar", "native-sidecar"])
def sb(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    sandbox = Sandbox(port=0, seed=0, pod_start_seconds=0.1, kubelet_version=request.param)
    sandbox.start()
    try:
        yield sandbox
    finally:
        sandbox.stop()


@pytest.fixture
def api(sb: Sandbox) -> Iterator[httpx.Client]:
    with sandbox_client(sb) as c:
        yield c


def make_ns(api: httpx.Client, name: str, **labels: str) -> None:
    r = api.post("/api/v1/namespaces", json={"metadata": {"name": name, "labels": labels}})
    assert r.status_code == 201, r.text


def make_deployment(api: httpx.Client, ns: str, name: str, **pod_labels: str) -> None:
    dep = {
        "metadata": {"name": name},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name, **pod_labels}},
                "spec": {"containers": [{"name": name, "image": "nginx:1.27"}]},
            },
        },
    }
    r = api.post(f"/apis/apps/v1/namespaces/{ns}/deployments", json=dep)
    assert r.status_code == 201, r.text


def make_pod(
    api: httpx.Client,
    ns: str,
    name: str,
    *,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    pod = {
        "metadata": {"name": name, "labels": labels or {}, "annotations": annotations or {}},
        "spec": {"containers": [{"name": "app", "image": "busybox"}]},
    }
    r = api.post(f"{CORE}/{ns}/pods", json=pod)
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


def running_pods(api: httpx.Client, ns: str, selector: str, n: int = 1) -> list[dict[str, Any]] | None:
    pods: list[dict[str, Any]] = api.get(f"{CORE}/{ns}/pods", params={"labelSelector": selector}).json()[
        "items"
    ]
    ok = len(pods) == n and all(p["status"]["phase"] == "Running" for p in pods)
    return pods if ok else None


def running_pod(api: httpx.Client, ns: str, name: str) -> dict[str, Any] | None:
    pod: dict[str, Any] = api.get(f"{CORE}/{ns}/pods/{name}").json()
    return pod if pod["status"]["phase"] == "Running" else None


def sidecar(pod: dict[str, Any]) -> dict[str, Any] | None:
    spec = pod["spec"]
    for c in [*spec.get("containers", []), *spec.get("initContainers", [])]:
        if c["name"] == "istio-proxy":
            return c  # type: ignore[no-any-return]
    return None


def assert_injected(pod: dict[str, Any], *, native: bool) -> None:
    proxy = sidecar(pod)
    assert proxy is not None, pod["metadata"]["name"]
    assert proxy["image"] == "docker.io/istio/proxyv2:1.27.3"
    assert {"containerPort": 15090, "name": "http-envoy-prom", "protocol": "TCP"} in proxy["ports"]
    assert proxy["readinessProbe"]["httpGet"]["port"] == 15021
    spec, status = pod["spec"], pod["status"]
    init_names = [c["name"] for c in spec["initContainers"]]
    main_names = [c["name"] for c in spec["containers"]]
    assert init_names[0] == "istio-init"
    if native:
        assert init_names == ["istio-init", "istio-proxy"] and "istio-proxy" not in main_names
        assert proxy["restartPolicy"] == "Always"
        proxy_status = next(s for s in status["initContainerStatuses"] if s["name"] == "istio-proxy")
    else:
        assert main_names[-1] == "istio-proxy" and init_names == ["istio-init"]
        assert "restartPolicy" not in proxy
        proxy_status = next(s for s in status["containerStatuses"] if s["name"] == "istio-proxy")
    assert proxy_status["ready"] is True and "running" in proxy_status["state"]
    init_status = next(s for s in status["initContainerStatuses"] if s["name"] == "istio-init")
    assert init_status["state"]["terminated"]["reason"] == "Completed"
    status_annotation = json.loads(pod["metadata"]["annotations"]["sidecar.istio.io/status"])
    assert ("istio-proxy" in status_annotation["initContainers"]) is native
    assert pod["metadata"]["labels"]["security.istio.io/tlsMode"] == "istio"


def test_injection_follows_the_webhook_selectors(sb: Sandbox, api: httpx.Client, tmp_path: Path) -> None:
    native = kubelet_supports_native_sidecars(sb.kubelet_version)
    make_ns(api, "mesh", **{"istio-injection": "enabled"})
    make_ns(api, "plain")
    make_ns(api, "rev", **{"istio.io/rev": "default"})
    make_ns(api, "off", **{"istio-injection": "disabled"})
    make_deployment(api, "mesh", "old")
    (old,) = wait_for(lambda: running_pods(api, "mesh", "app=old"), what="the pre-webhook pod")
    assert sidecar(old) is None

    r = api.post(WEBHOOKS, json=INJECTOR)
    assert r.status_code == 201, r.text
    for ns in ("mesh", "plain", "rev"):
        make_deployment(api, ns, "app")
    make_pod(api, "mesh", "optout-label", labels={"sidecar.istio.io/inject": "false"})
    make_pod(api, "mesh", "optout-annotation", annotations={"sidecar.istio.io/inject": "false"})
    make_pod(api, "plain", "optin", labels={"sidecar.istio.io/inject": "true"})
    make_pod(api, "off", "optin", labels={"sidecar.istio.io/inject": "true"})

    for ns in ("mesh", "rev"):
        (pod,) = wait_for(lambda ns=ns: running_pods(api, ns, "app=app"), what=f"the injected pod in {ns}")
        assert_injected(pod, native=native)
    (plain,) = wait_for(lambda: running_pods(api, "plain", "app=app"), what="the plain pod")
    assert sidecar(plain) is None and "sidecar.istio.io/status" not in plain["metadata"].get(
        "annotations", {}
    )
    for ns, name, injected in (
        ("mesh", "optout-label", False),
        ("mesh", "optout-annotation", False),
        ("plain", "optin", True),
        ("off", "optin", False),
    ):
        pod = wait_for(lambda ns=ns, name=name: running_pod(api, ns, name), what=f"{ns}/{name} running")
        assert (sidecar(pod) is not None) is injected, f"{ns}/{name}"

    still_old = api.get(f"{CORE}/mesh/pods/{old['metadata']['name']}").json()
    assert sidecar(still_old) is None and still_old["metadata"]["uid"] == old["metadata"]["uid"]

    restart = {
        "spec": {
            "template": {
                "metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "2026-01-01T00:00:00Z"}}
            }
        }
    }
    r = api.patch(
        "/apis/apps/v1/namespaces/mesh/deployments/old",
        content=json.dumps(restart),
        headers={"Content-Type": "application/strategic-merge-patch+json"},
    )
    assert r.status_code == 200, r.text

    def restarted() -> dict[str, Any] | None:
        pods = running_pods(api, "mesh", "app=old")
        return pods[0] if pods and pods[0]["metadata"]["uid"] != old["metadata"]["uid"] else None

    assert_injected(wait_for(restarted, what="the restarted pod"), native=native)

    if Path(KUBECTL).exists():
        kc = sb.write_kubeconfig(tmp_path / "kubeconfig")
        out = subprocess.run(
            [
                KUBECTL,
                "--kubeconfig",
                str(kc),
                "--cache-dir",
                str(tmp_path / "cache"),
                "get",
                "pods",
                "-n",
                "mesh",
                "-l",
                "app in (app,old)",
                "--no-headers",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "HOME": str(tmp_path)},
            check=True,
        ).stdout
        rows = [line.split() for line in out.splitlines()]
        assert len(rows) == 2 and all(row[1:3] == ["2/2", "Running"] for row in rows), out


def test_no_injector_means_no_injection(sb: Sandbox, api: httpx.Client) -> None:
    make_ns(api, "mesh", **{"istio-injection": "enabled"})
    other = {**INJECTOR, "metadata": {"name": "some-other-webhook"}}
    assert api.post(WEBHOOKS, json=other).status_code == 201
    make_pod(api, "mesh", "p")
    pod = wait_for(lambda: running_pods(api, "mesh", "", n=1), what="pod p")[0]
    assert sidecar(pod) is None and [c["name"] for c in pod["spec"]["containers"]] == ["app"]


def test_proxy_image_comes_from_the_injector_configmap(sb: Sandbox, api: httpx.Client) -> None:
    make_ns(api, "istio-system")
    values = {"global": {"hub": "registry.example/istio", "tag": "1.26.2", "proxy": {"image": "proxyv2"}}}
    cm = {"metadata": {"name": "istio-sidecar-injector"}, "data": {"values": json.dumps(values)}}
    assert api.post(f"{CORE}/istio-system/configmaps", json=cm).status_code == 201
    assert api.post(WEBHOOKS, json=INJECTOR).status_code == 201
    make_ns(api, "mesh", **{"istio-injection": "enabled"})
    pod = make_pod(api, "mesh", "p")
    proxy = sidecar(pod)
    assert proxy is not None and proxy["image"] == "registry.example/istio/proxyv2:1.26.2"
    assert (
        next(c for c in pod["spec"]["initContainers"] if c["name"] == "istio-init")["image"] == proxy["image"]
    )


@pytest.mark.parametrize(
    ("version", "native"),
    [
        ("v1.32.4", False),
        ("v1.33.0", True),
        ("1.34.1+k3s1", True),
        ("v1.9.0", False),
        ("v2.0.0", True),
        ("", False),
    ],
)
def test_native_sidecar_threshold(version: str, native: bool) -> None:
    assert kubelet_supports_native_sidecars(version) is native


def test_host_network_and_already_injected_pods_are_skipped() -> None:
    ns_labels = {"istio-injection": "enabled"}
    pod: dict[str, Any] = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a", "image": "i"}]}}
    assert should_inject(pod, ns_labels, [INJECTOR]) is INJECTOR
    assert should_inject({**pod, "spec": {**pod["spec"], "hostNetwork": True}}, ns_labels, [INJECTOR]) is None
    injected = {
        "metadata": {"name": "p", "annotations": {"sidecar.istio.io/status": "{}"}},
        "spec": pod["spec"],
    }
    assert should_inject(injected, ns_labels, [INJECTOR]) is None
    broken = {
        **INJECTOR,
        "webhooks": [{"namespaceSelector": {"matchExpressions": [{"key": "k", "operator": "Bad"}]}}],
    }
    assert should_inject(pod, ns_labels, [broken]) is None


def test_gateway_template_fills_the_pods_own_proxy_instead_of_adding_one() -> None:
    """Istio's gateway chart runs ``istio-proxy`` (image ``auto``) itself; a second container of that name
    would be an invalid pod. The template sets the image and the status, with the revision."""
    gateway: dict[str, Any] = {
        "metadata": {"name": "gw", "annotations": {"inject.istio.io/templates": "gateway"}},
        "spec": {"containers": [{"name": "istio-proxy", "image": "auto"}]},
    }
    image = "docker.io/istio/proxyv2:1.30.4"
    inject(gateway, image=image, native=True, revision="canary")
    assert gateway["spec"]["containers"] == [{"name": "istio-proxy", "image": image}]
    assert "initContainers" not in gateway["spec"]
    assert json.loads(gateway["metadata"]["annotations"]["sidecar.istio.io/status"])["revision"] == "canary"
