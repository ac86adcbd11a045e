"""Each analysis check against the sandbox: make the mistake, see the finding, fix it, see it gone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.analysis_setup import DATA, apply_crds, injector
from tests.helpers import wait_for
from tui import kube
from tui.istio.analysis.model import Finding
from tui.istio.analysis.runner import analyze
from tui.istio.analysis.snapshot import take_snapshot
from tui.kube import Cluster

NS = "shop"

pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="the CRDs are not in ../shared/data")


@pytest.fixture
def mesh(cluster: Cluster) -> Iterator[Cluster]:
    """Istio and Gateway API CRDs, an injector webhook, and namespace ``shop`` in the mesh."""
    apply_crds(cluster)
    cluster.apply([injector(), _ns(NS, {"istio-injection": "enabled"})])
    yield cluster


def _ns(name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def _pod(
    name: str, labels: dict[str, str], *, ns: str = NS, image: str = "app:1", **extra: Any
) -> dict[str, Any]:
    containers = extra.pop("containers", [{"name": "app", "image": image}])
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": labels, **extra},
        "spec": {"containers": containers},
    }


def _svc(name: str, selector: dict[str, str], ports: list[dict[str, Any]], *, ns: str = NS) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"selector": selector, "ports": ports},
    }


def _istio(
    kind: str, name: str, spec: dict[str, Any], *, version: str = "v1", ns: str = NS
) -> dict[str, Any]:
    group = "security.istio.io" if kind == "AuthorizationPolicy" else "networking.istio.io"
    return {
        "apiVersion": f"{group}/{version}",
        "kind": kind,
        "metadata": {"name": name, "namespace": ns},
        "spec": spec,
    }


def _label(cluster: Cluster, namespace: str, key: str, value: str | None) -> None:
    """Set (or with None remove) one label of a namespace, as ``kubectl label`` does."""
    patch = {"metadata": {"labels": {key: value}}}
    cluster.patch(kube.NAMESPACES, namespace, patch, patch_type="merge")


def _recreate(cluster: Cluster, pod: dict[str, Any]) -> None:
    """Delete the pod and create it again (what a restart does), waiting for the old one to go."""
    name, ns = pod["metadata"]["name"], pod["metadata"]["namespace"]
    cluster.delete(kube.PODS, name, namespace=ns)
    wait_for(lambda: not cluster.list(kube.PODS, namespace=ns).items, timeout=10)
    cluster.apply([pod])


def _findings(cluster: Cluster, code: str, *, namespace: str | None = None) -> list[Finding]:
    return [f for f in analyze(take_snapshot(cluster), namespace=namespace) if f.code == code]


def _patch(cluster: Cluster, kind: str, name: str, patch: Any) -> None:
    """A JSON patch to an object in ``shop``."""
    api = "v1" if kind == "Service" else "networking.istio.io/v1"
    res = cluster.resource_for(api_version=api, kind=kind)
    cluster.patch(res, name, patch, namespace=NS, patch_type="json")


def test_gateway_port_trap_names_the_service_port_that_works(mesh: Cluster) -> None:
    mesh.apply(
        [
            _ns("gw", {}),
            _pod("ingress-1", {"istio": "ingressgateway"}, ns="gw"),
            _svc(
                "ingress",
                {"istio": "ingressgateway"},
                [
                    {"name": "http2", "port": 80, "targetPort": 80},
                    {"name": "https", "port": 443, "targetPort": 443},
                ],
                ns="gw",
            ),
            _istio(
                "Gateway",
                "web",
                {
                    "selector": {"istio": "ingressgateway"},
                    "servers": [
                        {"port": {"number": 8080, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}
                    ],
                },
            ),
        ]
    )
    [trap] = _findings(mesh, "IT0101")
    assert trap.level == "error" and trap.resource == f"Gateway {NS}/web"
    assert "8080" in trap.message and "80→80" in trap.message
    assert "Service port 80" in trap.fix and trap.path == ("spec", "servers", 0, "port", "number")
    _patch(mesh, "Gateway", "web", [{"op": "replace", "path": "/spec/servers/0/port/number", "value": 80}])
    assert _findings(mesh, "IT0101") == []


def test_gateway_selector_and_virtual_service_gateway_reference(mesh: Cluster) -> None:
    mesh.apply(
        [
            _istio(
                "Gateway",
                "web",
                {
                    "selector": {"istio": "nosuch"},
                    "servers": [{"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}],
                },
            ),
            _istio(
                "VirtualService",
                "front",
                {
                    "hosts": ["*"],
                    "gateways": ["missing-gw"],
                    "http": [{"route": [{"destination": {"host": "front"}}]}],
                },
            ),
            _svc("front", {"app": "front"}, [{"name": "http", "port": 80}]),
        ]
    )
    [sel] = _findings(mesh, "IT0102")
    assert "istio=nosuch" in sel.message and sel.path == ("spec", "selector")
    [ref] = _findings(mesh, "IT0103")
    assert ref.resource == f"VirtualService {NS}/front" and f"{NS}/missing-gw" in ref.message
    mesh.apply([_pod("gw-1", {"istio": "nosuch"})])
    _patch(mesh, "VirtualService", "front", [{"op": "replace", "path": "/spec/gateways/0", "value": "web"}])
    assert _findings(mesh, "IT0102") == [] and _findings(mesh, "IT0103") == []


def test_subsets_and_hosts(mesh: Cluster) -> None:
    mesh.apply(
        [
            _svc("reviews", {"app": "reviews"}, [{"name": "http", "port": 9080}]),
            _pod("reviews-v1", {"app": "reviews", "version": "v1"}),
            _istio(
                "VirtualService",
                "reviews",
                {
                    "hosts": ["reviews"],
                    "http": [
                        {
                            "route": [
                                {"destination": {"host": "reviews", "subset": "v1"}, "weight": 50},
                                {"destination": {"host": "reviews", "subset": "v3"}, "weight": 50},
                            ]
                        }
                    ],
                },
            ),
            _istio(
                "VirtualService",
                "typo",
                {"hosts": ["ratings"], "http": [{"route": [{"destination": {"host": "ratingz"}}]}]},
            ),
            _istio(
                "DestinationRule",
                "reviews",
                {
                    "host": "reviews",
                    "subsets": [
                        {"name": "v1", "labels": {"version": "v1"}},
                        {"name": "v2", "labels": {"version": "v2"}},
                    ],
                },
            ),
        ]
    )
    [subset] = _findings(mesh, "IT0201")
    assert subset.message.startswith("VirtualService reviews routes to subset v3, which no DestinationRule")
    assert subset.path == ("spec", "http", 0, "route", 1, "destination", "subset")
    [host] = _findings(mesh, "IT0203")
    assert host.resource == f"VirtualService {NS}/typo" and f"{NS}/ratingz" in host.message
    [empty] = _findings(mesh, "IT0202")
    assert empty.level == "info" and "subset v2" in empty.message

    _patch(
        mesh,
        "DestinationRule",
        "reviews",
        [{"op": "add", "path": "/spec/subsets/-", "value": {"name": "v3", "labels": {"version": "v3"}}}],
    )
    [routed] = [f for f in _findings(mesh, "IT0202") if "v3" in f.message]
    assert routed.level == "error" and "VirtualService reviews routes there" in routed.message
    mesh.apply(
        [
            _pod("reviews-v3", {"app": "reviews", "version": "v3"}),
            _pod("reviews-v2", {"app": "reviews", "version": "v2"}),
        ]
    )
    _patch(
        mesh,
        "VirtualService",
        "typo",
        [{"op": "replace", "path": "/spec/http/0/route/0/destination/host", "value": "reviews"}],
    )
    assert [f.code for f in analyze(take_snapshot(mesh)) if f.code.startswith("IT02")] == []


def test_injection_labels_revisions_and_missing_sidecars(mesh: Cluster) -> None:
    mesh.apply(
        [
            _ns("both", {"istio-injection": "enabled", "istio.io/rev": "default"}),
            _ns("canary", {"istio.io/rev": "canary"}),
        ]
    )
    [both] = _findings(mesh, "IT0301")
    assert both.resource == "Namespace both" and "istio-injection wins" in both.message
    [rev] = _findings(mesh, "IT0302")
    assert rev.resource == "Namespace canary" and "served: default" in rev.message
    _label(mesh, "both", "istio.io/rev", None)
    _label(mesh, "canary", "istio.io/rev", "default")
    assert _findings(mesh, "IT0301") == [] and _findings(mesh, "IT0302") == []

    mesh.apply([_ns("late", {}), _pod("app-1", {"app": "a"}, ns="late")])
    assert _findings(mesh, "IT0303") == []
    _label(mesh, "late", "istio-injection", "enabled")
    [missing] = _findings(mesh, "IT0303")
    assert missing.resource == "Pod late/app-1" and "restart" in missing.fix
    _recreate(mesh, _pod("app-1", {"app": "a"}, ns="late"))
    assert _findings(mesh, "IT0303") == []


def test_proxy_version_differs_from_its_control_plane(mesh: Cluster) -> None:
    status = json.dumps({"containers": ["istio-proxy"], "revision": "default"})
    proxy = [
        {"name": "app", "image": "app:1"},
        {"name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.29.0"},
    ]
    old = _pod(
        "old-1",
        {"app": "o", "sidecar.istio.io/inject": "false"},
        ns="old",
        containers=proxy,
        annotations={"sidecar.istio.io/status": status},
    )
    istiod = _pod(
        "istiod-1",
        {"app": "istiod", "istio.io/rev": "default"},
        ns="istio-system",
        containers=[{"name": "discovery", "image": "docker.io/istio/pilot:1.30.3"}],
    )
    mesh.apply([_ns("istio-system", {}), istiod, _ns("old", {}), old])
    [found] = _findings(mesh, "IT0304")
    assert "1.29.0" in found.message and "1.30.3" in found.message
    assert found.path == ("spec", "containers", 1, "image")
    proxy[1]["image"] = "docker.io/istio/proxyv2:1.30.3"
    _recreate(mesh, old)
    assert _findings(mesh, "IT0304") == []


def test_port_names_that_give_no_protocol(mesh: Cluster) -> None:
    mesh.apply([_svc("web", {"app": "web"}, [{"name": "web", "port": 80}, {"name": "http-ok", "port": 81}])])
    [port] = _findings(mesh, "IT0401")
    assert "'web'" in port.message and "http-web" in port.fix and port.path == ("spec", "ports", 0, "name")
    _patch(mesh, "Service", "web", [{"op": "replace", "path": "/spec/ports/0/name", "value": "http-web"}])
    assert _findings(mesh, "IT0401") == []


def test_deprecated_api_versions_and_unknown_annotations(mesh: Cluster) -> None:
    old = _istio("DestinationRule", "old", {"host": "old"}, version="v1alpha3")
    old["metadata"]["annotations"] = {"sidecar.istio.io/injekt": "true", "policy.istio.io/check": "disable"}
    mesh.apply([_svc("old", {"app": "old"}, [{"name": "http", "port": 80}]), old])
    [gone] = _findings(mesh, "IT0503")
    assert "policy.istio.io/check" in gone.message and "Mixer" in gone.fix
    [api] = _findings(mesh, "IT0501")
    assert "networking.istio.io/v1alpha3" in api.message and "networking.istio.io/v1" in api.fix
    [ann] = _findings(mesh, "IT0502")
    assert "sidecar.istio.io/injekt" in ann.message and ann.path == (
        "metadata",
        "annotations",
        "sidecar.istio.io/injekt",
    )
    mesh.delete(
        mesh.resource_for(api_version="networking.istio.io/v1", kind="DestinationRule"), "old", namespace=NS
    )
    mesh.apply([_istio("DestinationRule", "old", {"host": "old"})])
    assert [f for f in analyze(take_snapshot(mesh)) if f.code.startswith("IT05")] == []


def test_ambient_l7_without_waypoint(mesh: Cluster) -> None:
    mesh.apply(
        [
            _ns("amb", {"istio.io/dataplane-mode": "ambient"}),
            _svc("reviews", {"app": "reviews"}, [{"name": "http", "port": 9080}], ns="amb"),
            {
                "apiVersion": "gateway.networking.k8s.io/v1",
                "kind": "HTTPRoute",
                "metadata": {"name": "reviews", "namespace": "amb"},
                "spec": {
                    "parentRefs": [{"group": "", "kind": "Service", "name": "reviews", "port": 9080}],
                    "rules": [{"backendRefs": [{"name": "reviews", "port": 9080}]}],
                },
            },
            _istio(
                "AuthorizationPolicy",
                "get-only",
                {
                    "targetRefs": [{"kind": "Service", "group": "", "name": "reviews"}],
                    "rules": [{"to": [{"operation": {"methods": ["GET"]}}]}],
                },
                ns="amb",
            ),
            _istio(
                "VirtualService",
                "reviews",
                {"hosts": ["reviews"], "http": [{"route": [{"destination": {"host": "reviews"}}]}]},
                ns="amb",
            ),
            _istio(
                "AuthorizationPolicy",
                "l4-only",
                {"selector": {"matchLabels": {"app": "reviews"}}, "rules": [{"from": [{"source": {}}]}]},
                ns="amb",
            ),
        ]
    )
    found = _findings(mesh, "IT0601")
    assert {f.resource for f in found} == {
        "HTTPRoute amb/reviews",
        "AuthorizationPolicy amb/get-only",
        "VirtualService amb/reviews",
    }
    assert all("needs a waypoint" in f.message for f in found)
    _label(mesh, "amb", "istio.io/use-waypoint", "waypoint")
    assert _findings(mesh, "IT0601") == []


def test_gateway_api_route_not_accepted_gives_the_reason(mesh: Cluster) -> None:
    """The sandbox's gateway controller writes the route status, as istiod does; analysis reads its reason."""
    route = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "front", "namespace": NS},
        "spec": {
            "parentRefs": [{"name": "web"}],
            "rules": [{"backendRefs": [{"name": "front", "port": 80}]}],
        },
    }
    mesh.apply([_svc("front", {"app": "front"}, [{"name": "http", "port": 80}]), route])
    res = mesh.resource_for(api_version="gateway.networking.k8s.io/v1", kind="HTTPRoute")

    def accepted() -> str:
        status = mesh.get(res, "front", namespace=NS).get("status") or {}
        conds = [c for p in status.get("parents") or () for c in p.get("conditions") or ()]
        return next((str(c.get("status")) for c in conds if c.get("type") == "Accepted"), "")

    wait_for(lambda: accepted() == "False", "the route to be refused")
    [bad] = _findings(mesh, "IT0701")
    assert "NoMatchingParent" in bad.message and f"Gateway {NS}/web" in bad.message
    gateway = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "web", "namespace": NS},
        "spec": {
            "gatewayClassName": "istio",
            "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}],
        },
    }
    mesh.apply([gateway])
    wait_for(lambda: accepted() == "True", "the route to be accepted")
    assert _findings(mesh, "IT0701") == []
