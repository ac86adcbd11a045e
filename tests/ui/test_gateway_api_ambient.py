"""The Gateway API and ambient mode through the keys, against the sandbox over real HTTP.

The Istio pieces (CRDs, injector webhook, ingress gateway) come from the traffic tests' helper; with them
the sandbox runs Istio's gateway controller, so Gateways of class istio get their ``-istio`` Service. The
Gateway API CRDs are the bundled ones the wizard installs on the sandbox; ztunnel is a bare DaemonSet,
which is what the sandbox's istio-cni looks for before it captures pods.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from tests.helpers import confirm_shown, make_app, until, wait_for
from tests.sandbox.test_dataplane import install_istio
from tests.ui.test_namespaces import confirm_text, select
from tests.ui.test_traffic_pane import confirm, pane, run_traffic, text_of
from tui import kube
from tui.app import IstioApp
from tui.errors import NotFound
from tui.istio import bookinfo, gatewayapi, presets
from tui.kube import Cluster
from tui.screens.confirm import ConfirmScreen
from tui.screens.traffic import TrafficPane
from tui.screens.traffic.views import ConfiguredVsObserved

SIZE = (120, 36)
NS = "bookinfo"


@pytest.fixture(autouse=True)
def inline_engine(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(TrafficPane, "ENGINE_WORKERS", 0)
    yield


def ztunnel(cluster: Cluster) -> None:
    labels = {"app": "ztunnel"}
    container = {"name": "istio-proxy", "image": "docker.io/istio/ztunnel:1.30.3"}
    cluster.apply(
        [
            {
                "apiVersion": "apps/v1",
                "kind": "DaemonSet",
                "metadata": {"name": "ztunnel", "namespace": "istio-system"},
                "spec": {
                    "selector": {"matchLabels": labels},
                    "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
                },
            }
        ]
    )


def gateway_api_bookinfo(cluster: Cluster, *, dataplane: dict[str, str]) -> None:
    """Istio, the Gateway API CRDs and Bookinfo exposed by a Gateway of class istio in namespace NS."""
    install_istio(cluster)
    gatewayapi.install_crds(cluster, sandbox=True)
    bookinfo.ensure_namespace(cluster, name=NS)
    cluster.patch(kube.NAMESPACES, NS, {"metadata": {"labels": dataplane}}, patch_type="merge")
    bookinfo.deploy(cluster, namespace=NS, api="gateway-api")
    assert bookinfo.wait_ready(cluster, namespace=NS, timeout=20, interval=0.05).ready
    wait_for(
        lambda: _exists(cluster, kube.SERVICES, "bookinfo-gateway-istio"), what="Istio's gateway Service"
    )


def _exists(cluster: Cluster, res: kube.Resource, name: str) -> bool:
    try:
        cluster.get(res, name, namespace=NS)
    except NotFound:
        return False
    return True


def notified(app: IstioApp, text: str) -> bool:
    return any(text in n.message for n in app._notifications)


async def gateway_api_pane(pilot: Pilot[Any]) -> TrafficPane:
    p = pane(pilot.app)
    await until(pilot, lambda: p.view.api == "gateway-api", "the Gateway API view")
    await until(pilot, lambda: p.view.verify is not None and p.view.verify.ok, "the gateway check")
    p.focus()
    return p


async def test_api_choice_is_remembered_and_presets_are_httproutes(cluster: Cluster) -> None:
    gateway_api_bookinfo(cluster, dataplane={"istio-injection": "enabled"})
    app = make_app(cluster, pane="traffic")
    async with app.run_test(size=SIZE) as pilot:
        p = pane(app)
        await until(pilot, lambda: p.view.ingress is not None or p.view.ingress_error, "a first view")
        assert p.api == "istio"
        p.focus()
        await pilot.press("a")
        p = await gateway_api_pane(pilot)
        assert "Gateway API (a) GATEWAY_URL" in text_of(app, "#traffic-gateway")
        assert "bookinfo/bookinfo-gateway-istio" in text_of(app, "#traffic-gateway")
        assert "reviews: no HTTPRoute" in text_of(app, "#traffic-routing")
        await pilot.press("3")
        await confirm(pilot, expect="Create HTTPRoute bookinfo/reviews")
        await until(pilot, lambda: p.view.reviews.preset == "reviews-v1-v3-50", "the HTTPRoute preset")
        route = cluster.get(kube.HTTP_ROUTES, "reviews", namespace=NS)
        assert [b["name"] for b in route["spec"]["rules"][0]["backendRefs"]] == ["reviews-v1", "reviews-v3"]
        assert "v1 50% v3 50%" in text_of(app, "#traffic-routing")
        counts = await run_traffic(pilot, p, requests=200)
        assert set(counts) == {"no_stars", "red"} and sum(counts.values()) == 200, counts
        await pilot.press("5")
        await until(pilot, lambda: notified(app, "has no Gateway API version"), "the refusal")
        assert not isinstance(app.screen, ConfirmScreen)
        await pilot.press("r")
        await confirm(pilot, expect="a HTTPRoute istio-tui created is deleted")
        await until(pilot, lambda: not p.view.reviews.exists, "the revert")
        assert not _exists(cluster, kube.HTTP_ROUTES, "reviews")
    saved = json.loads((Path(os.environ["XDG_STATE_HOME"]) / "istio-tui" / "clusters.json").read_text())
    assert saved == {f"sandbox@{cluster.server}": {"traffic-api": "gateway-api"}}
    again = make_app(cluster, pane="traffic")
    async with again.run_test(size=SIZE) as pilot:
        await gateway_api_pane(pilot)


async def test_ambient_route_needs_a_waypoint_deployed_and_removed_from_namespaces(cluster: Cluster) -> None:
    gateway_api_bookinfo(cluster, dataplane={"istio.io/dataplane-mode": "ambient"})
    ztunnel(cluster)
    presets.apply_preset(cluster, namespace=NS, key="reviews-v1-v3-50", api="gateway-api")
    app = make_app(cluster, pane="traffic")
    async with app.run_test(size=SIZE) as pilot:
        pane(app).focus()
        await pilot.press("a")
        p = await gateway_api_pane(pilot)
        box = app.query_one(ConfiguredVsObserved)
        await until(pilot, lambda: "needs a waypoint" in str(box.border_title), "the waypoint warning")
        assert "routing on reviews needs a waypoint" in text_of(app, "#traffic-routing")
        assert "✓ ambient" in text_of(app, "#traffic-ns-status")
        counts = await run_traffic(pilot, p, requests=150)
        assert set(counts) == {"no_stars", "black", "red"}, counts  # ztunnel alone: the route has no effect

    app = make_app(cluster, pane="namespaces")
    async with app.run_test(size=SIZE) as pilot:
        await select(pilot, app, NS)
        await pilot.press("w")
        await until(pilot, lambda: confirm_shown(app), "the waypoint confirmation")
        assert "class istio-waypoint" in confirm_text(app) and "15008" in confirm_text(app)
        await pilot.press("y")
        await until(pilot, lambda: _exists(cluster, kube.K8S_GATEWAYS, "waypoint"), "the waypoint")
        labels = cluster.get(kube.NAMESPACES, NS)["metadata"]["labels"]
        assert labels["istio.io/use-waypoint"] == "waypoint"
        await pilot.press("u")
        await until(pilot, lambda: confirm_shown(app), "the usage")
        assert "reviews" in confirm_text(app) and "→ waypoint (label on the namespace)" in confirm_text(app)
        await pilot.press("escape")

    app = make_app(cluster, pane="traffic")
    async with app.run_test(size=SIZE) as pilot:
        p = await gateway_api_pane(pilot)
        box = app.query_one(ConfiguredVsObserved)
        await until(pilot, lambda: p.view.routing_applies(), "the route to apply through the waypoint")
        assert "needs a waypoint" not in str(box.border_title)
        counts = await run_traffic(pilot, p, requests=150)
        assert set(counts) == {"no_stars", "red"}, counts

    app = make_app(cluster, pane="namespaces")
    async with app.run_test(size=SIZE) as pilot:
        await select(pilot, app, NS)
        await pilot.press("W")
        await until(pilot, lambda: confirm_shown(app), "the removal confirmation")
        text = confirm_text(app)
        assert "This L7 policy stops applying" in text and "HTTPRoute/reviews (routes reviews)" in text
        await pilot.press("y")
        await until(pilot, lambda: not _exists(cluster, kube.K8S_GATEWAYS, "waypoint"), "the removal")
        assert "istio.io/use-waypoint" not in cluster.get(kube.NAMESPACES, NS)["metadata"]["labels"]
