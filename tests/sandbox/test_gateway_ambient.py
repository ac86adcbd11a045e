"""Gateway API and ambient logic against the sandbox over HTTPS: CRD detection and install, HTTPRoute presets
(preview, apply, revert), Gateway ingress discovery, waypoints and what stops applying without them."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from tests.helpers import wait_for
from tests.sandbox.test_dataplane import install_istio
from tui import kube
from tui.errors import ConfigError, IstioTuiError
from tui.istio import bookinfo, gatewayapi
from tui.istio import waypoints as ambient
from tui.istio.presets import apply_preset, current_routing, preview_preset, revert
from tui.kube import Cluster

NS = "bookinfo"


@pytest.fixture
def gw_cluster(cluster: Cluster) -> Cluster:
    gatewayapi.install_crds(cluster, sandbox=True)
    bookinfo.ensure_namespace(cluster, name=NS)
    return cluster


def test_crd_state_before_and_after_the_bundled_install(cluster: Cluster) -> None:
    before = gatewayapi.crd_state(cluster)
    assert not before.installed
    assert before.summary == "Gateway API CRDs are not installed"
    after = gatewayapi.install_crds(cluster, sandbox=True)
    assert after.installed
    assert after.bundle_version == "v1.6.1" and after.channel == "standard"
    assert "httproutes.gateway.networking.k8s.io" in after.present
    assert cluster.has_api("gateway.networking.k8s.io/v1")


def test_real_cluster_install_runs_kubectl_server_side_and_reports_its_error(cluster: Cluster) -> None:
    seen: list[list[str]] = []

    def failing(cmd: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        seen.append(cmd)
        return subprocess.CompletedProcess(cmd, 1, "", "error: unable to read URL: dial tcp: no route\n")

    with pytest.raises(IstioTuiError) as err:
        gatewayapi.install_crds(cluster, sandbox=False, run=failing)
    assert seen[0][:5] == ["kubectl", "apply", "--server-side", "-f", gatewayapi.BUNDLE_URL]
    assert "v1.6.1/standard-install.yaml" in gatewayapi.BUNDLE_URL
    assert "dial tcp: no route" in str(err.value)


def test_httproute_presets_preview_apply_revert(gw_cluster: Cluster) -> None:
    keys = [p.key for p in bookinfo.presets("gateway-api")]
    assert keys == ["reviews-v1", "reviews-jason-v2", "reviews-v1-v3-50", "reviews-v1-v2-80"]
    preview = preview_preset(gw_cluster, namespace=NS, key="reviews-v1-v3-50", api="gateway-api")
    assert preview.creates and preview.diff[0] == "--- (no HTTPRoute)"
    assert dict(preview.after.default_weights) == {"v1": 50, "v3": 50}
    view = apply_preset(gw_cluster, namespace=NS, key="reviews-v1-v3-50", api="gateway-api")
    stored = gw_cluster.get(kube.HTTP_ROUTES, "reviews", namespace=NS)
    assert stored["spec"]["parentRefs"][0] == {
        "group": "",
        "kind": "Service",
        "name": "reviews",
        "port": 9080,
    }
    assert view.preset == "reviews-v1-v3-50" and view.managed
    jason = apply_preset(gw_cluster, namespace=NS, key="reviews-jason-v2", api="gateway-api")
    assert [(m.header, m.value, dict(m.weights)) for m in jason.matches] == [
        ("end-user", "jason", {"v2": 100})
    ]
    assert dict(jason.default_weights) == {"v1": 100}
    second = preview_preset(gw_cluster, namespace=NS, key="reviews-v1-v2-80", api="gateway-api")
    assert not second.creates and any(line.startswith("-") for line in second.diff[2:])
    assert not revert(gw_cluster, namespace=NS, api="gateway-api").exists
    assert not current_routing(gw_cluster, namespace=NS, api="gateway-api").exists


def test_revert_restores_a_foreign_httproute(gw_cluster: Cluster) -> None:
    foreign = bookinfo.preset("reviews-v1", "gateway-api").doc
    foreign["metadata"] = {"name": "reviews", "namespace": NS}
    gw_cluster.create(kube.HTTP_ROUTES, foreign, namespace=NS)
    apply_preset(gw_cluster, namespace=NS, key="reviews-v1-v3-50", api="gateway-api")
    back = revert(gw_cluster, namespace=NS, api="gateway-api")
    assert back.exists and not back.managed and dict(back.default_weights) == {"v1": 100}


def test_deploy_with_gateway_api_and_ingress_discovery(gw_cluster: Cluster) -> None:
    result = bookinfo.deploy(gw_cluster, namespace=NS, api="gateway-api")
    assert {"Gateway/bookinfo-gateway", "HTTPRoute/bookinfo", "Service/reviews-v3"} <= set(result.applied)
    gw = gw_cluster.get(kube.K8S_GATEWAYS, "bookinfo-gateway", namespace=NS)
    assert gw["spec"]["gatewayClassName"] == "istio"
    # What Istio's deployment controller creates for the Gateway: a NodePort Service and a running pod.
    gw_cluster.apply(
        [
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "bookinfo-gateway-istio"},
                "spec": {
                    "type": "ClusterIP",
                    "selector": {"gateway.networking.k8s.io/gateway-name": "bookinfo-gateway"},
                    "ports": [{"name": "http", "port": 80}],
                },
            }
        ],
        namespace=NS,
    )
    with pytest.raises(ConfigError) as err:
        bookinfo.find_ingress(gw_cluster, namespace=NS, api="gateway-api")
    assert "networking.istio.io/service-type=NodePort" in (err.value.hint or "")
    gw_cluster.patch(
        kube.SERVICES,
        "bookinfo-gateway-istio",
        {"spec": {"type": "NodePort"}},
        namespace=NS,
        patch_type="merge",
    )
    with pytest.raises(IstioTuiError, match="no running pod of bookinfo-gateway-istio"):
        bookinfo.find_ingress(gw_cluster, namespace=NS, api="gateway-api")


def test_waypoint_deploy_usage_l7_policies_and_remove(gw_cluster: Cluster) -> None:
    install_istio(gw_cluster)  # istiod's webhook: the sandbox then runs Istio's gateway controller
    bookinfo.deploy(gw_cluster, namespace=NS, api="gateway-api")
    gw_cluster.patch(
        kube.NAMESPACES,
        NS,
        {"metadata": {"labels": {"istio.io/dataplane-mode": "ambient"}}},
        patch_type="merge",
    )
    view = ambient.read(gw_cluster, namespace=NS)
    assert view.ambient and not view.waypoints
    assert view.needs_waypoint("reviews", l7_configured=True)
    assert not view.needs_waypoint("reviews", l7_configured=False)
    assert not view.ztunnel.found and "ztunnel is not installed" in view.ztunnel.warning

    ambient.deploy_waypoint(gw_cluster, namespace=NS)
    wp = gw_cluster.get(kube.K8S_GATEWAYS, "waypoint", namespace=NS)
    assert wp["spec"]["gatewayClassName"] == "istio-waypoint"
    (listener,) = wp["spec"]["listeners"]
    assert (listener["name"], listener["port"], listener["protocol"]) == ("mesh", 15008, "HBONE")
    assert wp["metadata"]["labels"]["istio.io/waypoint-for"] == "service"
    gw_cluster.patch(
        kube.SERVICES,
        "ratings",
        {"metadata": {"labels": {ambient.USE_WAYPOINT: "none"}}},
        namespace=NS,
        patch_type="merge",
    )
    view = wait_for(
        lambda: (v := ambient.read(gw_cluster, namespace=NS)).programmed and v, what="the programmed waypoint"
    )
    uses = {u.service: (u.waypoint, u.source) for u in view.uses}
    assert uses["reviews"] == ("waypoint", "namespace")
    assert uses["ratings"] == ("", "service")
    assert not view.needs_waypoint("reviews", l7_configured=True)

    apply_preset(gw_cluster, namespace=NS, key="reviews-v1-v3-50", api="gateway-api")
    served = [u.service for u in view.uses if u.waypoint == "waypoint"]
    lost = ambient.l7_policies(gw_cluster, namespace=NS, waypoint="waypoint", services=served)
    assert lost == ["HTTPRoute/reviews (routes reviews)"]

    unlabelled = ambient.remove_waypoint(gw_cluster, namespace=NS)
    assert unlabelled == [f"Namespace/{NS}"]
    view = ambient.read(gw_cluster, namespace=NS)
    assert not view.waypoints and view.needs_waypoint("reviews", l7_configured=True)


def test_a_workload_waypoint_does_not_serve_the_routes_of_services(gw_cluster: Cluster) -> None:
    bookinfo.deploy(gw_cluster, namespace=NS, api="gateway-api")
    gw_cluster.patch(
        kube.NAMESPACES,
        NS,
        {"metadata": {"labels": {"istio.io/dataplane-mode": "ambient"}}},
        patch_type="merge",
    )
    ambient.deploy_waypoint(gw_cluster, namespace=NS)
    gw_cluster.patch(
        kube.K8S_GATEWAYS,
        "waypoint",
        {"metadata": {"labels": {"istio.io/waypoint-for": "workload"}}},
        namespace=NS,
        patch_type="merge",
    )
    view = ambient.read(gw_cluster, namespace=NS)
    assert view.waypoints == () and view.needs_waypoint("reviews", l7_configured=True)
