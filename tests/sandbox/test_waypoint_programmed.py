"""A waypoint is Programmed only once it serves: the Gateway's status and the data plane agree, over HTTPS and
the gateway's real nodePort.

istiod reports a Gateway ``Programmed`` only once its Service has a ready instance ("no instances found for
hostname" until then), and ztunnel sends through a waypoint only once it runs. Tools (``kubectl wait
--for=condition=programmed``) and the Traffic pane take Programmed to mean "the waypoint's routing applies";
pods start slowly here (``POD_START_S``), so a Gateway reported Programmed early shows as round-robin pages
(v2, black stars) after it, where the HTTPRoute sends only v1 and v3.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.helpers import wait_for
from tests.ui.test_gateway_api_ambient import gateway_api_bookinfo, ztunnel
from tui import kube
from tui.istio import bookinfo, presets, waypoints
from tui.kube import Cluster
from tui.sandbox.cluster import Sandbox
from tui.traffic.classify import classify

NS = "bookinfo"
POD_START_S = 2.0


@contextmanager
def slow_sandbox(tmp_path: Path, *, pod_start_s: float) -> Iterator[Cluster]:
    """A sandbox whose pods take ``pod_start_s`` from creation to Running, and its Cluster."""
    sb = Sandbox(port=0, seed=0, pod_start_seconds=pod_start_s).start()
    path = sb.write_kubeconfig(tmp_path / "kubeconfig")
    cluster = Cluster.from_kubeconfig(path=str(path), context="sandbox")
    try:
        yield cluster
    finally:
        cluster.close()
        sb.stop()


def route_ambient_bookinfo(cluster: Cluster, *, timeout: float) -> None:
    """Ambient Bookinfo behind a Gateway of class istio, with the HTTPRoute reviews v1 50% / v3 50%."""
    gateway_api_bookinfo(cluster, dataplane={"istio.io/dataplane-mode": "ambient"})
    ztunnel(cluster)
    wait_for(lambda: waypoints.ztunnel(cluster).ok, what="ztunnel", timeout=timeout)
    presets.apply_preset(cluster, namespace=NS, key="reviews-v1-v3-50", api="gateway-api")


@pytest.fixture
def ambient_route(tmp_path: Path) -> Iterator[Cluster]:
    with slow_sandbox(tmp_path, pod_start_s=POD_START_S) as cluster:
        route_ambient_bookinfo(cluster, timeout=POD_START_S * 5)
        yield cluster


def programmed(cluster: Cluster) -> dict[str, str]:
    gw = cluster.get(kube.K8S_GATEWAYS, "waypoint", namespace=NS)
    return next(
        (c for c in (gw.get("status") or {}).get("conditions") or () if c.get("type") == "Programmed"), {}
    )


def test_the_waypoint_is_programmed_once_it_routes(ambient_route: Cluster) -> None:
    cluster = ambient_route
    ingress = bookinfo.find_ingress(cluster, namespace=NS, api="gateway-api")
    assert ingress is not None
    waypoints.deploy_waypoint(cluster, namespace=NS)
    pending = wait_for(lambda: programmed(cluster), what="the waypoint's first status")
    assert (pending["status"], pending["reason"]) == ("False", "AddressNotAssigned"), pending
    assert 'no instances found for hostname "waypoint.bookinfo.svc.cluster.local"' in pending["message"]

    seen: list[tuple[bool, str]] = []
    with httpx.Client(timeout=5) as client:

        def page() -> bool:
            is_programmed = programmed(cluster).get("status") == "True"
            response = client.get(ingress.productpage_url)
            seen.append((is_programmed, classify(response.status_code, response.content).category))
            return sum(1 for ok, _ in seen if ok) >= 60

        wait_for(page, what="60 pages after the waypoint is Programmed", timeout=POD_START_S * 10)
    before = {category for ok, category in seen if not ok}
    after = [category for ok, category in seen if ok]
    assert "black" in before, f"ztunnel alone balances over v1-v3 until the waypoint runs: {before}"
    assert "black" not in after and set(after) == {"no_stars", "red"}, after
