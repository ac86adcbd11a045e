"""The traffic pane at 120x36 and 80x24 mid-demo: 50/50 v1/v3 applied 15 s into a run; frozen view, tallies;
and the same run sent from three load pods of an in-cluster Job.

The cluster side (pods with their generated names, the random nodePort) is replaced by a fixed
``ClusterView`` through the pane's one reader, and the run by snapshots fed as the engine would feed them,
so every run draws the same screen.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from textual.pilot import Pilot

from tui import kube
from tui.app import IstioApp
from tui.config import Settings
from tui.istio.routing import RoutingView
from tui.kube import Cluster, ClusterInfo
from tui.models import (
    BookinfoPod,
    BookinfoStatus,
    IngressInfo,
    VerifyResult,
)
from tui.screens.traffic import TrafficPane
from tui.screens.traffic import cluster as traffic_cluster
from tui.screens.traffic.cluster import ClusterView
from tui.screens.traffic.run import RunTally
from tui.traffic.classify import CATEGORIES
from tui.traffic.engine import TrafficConfig
from tui.traffic.incluster import LoadPod
from tui.traffic.snapshot import LatencySummary, TallySnapshot

SIZES = [(120, 36), (80, 24)]
INFO = ClusterInfo(
    context="sandbox", server="https://127.0.0.1:6443", git_version="v1.32.0", major=1, minor=32
)
URL = "http://127.0.0.1:31380/productpage"
PODS = {
    "v1": "reviews-v1-6d8f7c9b54-x2k9q",
    "v2": "reviews-v2-5b9c8d7f6c-p7tzn",
    "v3": "reviews-v3-7f6d5c4b8d-m4wrl",
}


def frozen_view(namespace: str) -> ClusterView:
    names = (
        ("details", "v1", "details-v1-79dfbd6fff-qn8kz"),
        ("productpage", "v1", "productpage-v1-dffc47f64-7hjxc"),
        ("ratings", "v1", "ratings-v1-65f797b499-fs9q2"),
        *(("reviews", v, n) for v, n in PODS.items()),
    )
    pods = tuple(BookinfoPod(n, app, v, "Running", True, "2/2", True) for app, v, n in names)
    return ClusterView(
        namespace=namespace,
        status=BookinfoStatus(namespace, pods, (), True, ()),
        reviews=RoutingView(
            host="reviews",
            namespace=namespace,
            exists=True,
            managed=True,
            preset="reviews-v1-v3-50",
            default_weights={"v1": 50, "v3": 50},
        ),
        ratings=RoutingView(host="ratings", namespace=namespace, exists=False),
        ingress=IngressInfo(
            "istio-ingressgateway", "istio-system", "NodePort", "127.0.0.1", 31380, "node-port"
        ),
        verify=VerifyResult(URL, True, 200, f"GET {URL} → 200 in 4 ms"),
    )


def snapshots(seconds: int = 40, switch_at: int = 15) -> list[TallySnapshot]:
    """Cumulative snapshots every 0.5 s: round-robin over v1/v2/v3, then 50/50 v1/v3 from ``switch_at``."""
    counts = dict.fromkeys(CATEGORIES, 0)
    by_pod = dict.fromkeys(PODS.values(), 0)
    out = []
    for half in range(1, seconds * 2 + 1):
        second = (half - 1) // 2
        if second < switch_at:
            step = {"no_stars": 8 + half % 2, "black": 8, "red": 9 - half % 2}
        else:
            step = {"no_stars": 12, "red": 13} if half % 3 else {"no_stars": 13, "red": 11, "http_error": 1}
        for category, n in step.items():
            counts[category] += n
        by_pod[PODS["v1"]] += step.get("no_stars", 0)
        by_pod[PODS["v2"]] += step.get("black", 0)
        by_pod[PODS["v3"]] += step.get("red", 0)
        total = sum(counts.values())
        out.append(
            TallySnapshot(
                url=URL,
                elapsed_s=half * 0.5,
                requests=total,
                counts=dict(counts),
                details_unavailable=0,
                by_pod={k: v for k, v in by_pod.items() if v},
                status_codes={200: total - counts["http_error"], 503: counts["http_error"]},
                latency=LatencySummary(p50_ms=3.2, p90_ms=6.8, p99_ms=14.5, max_ms=31.0),
                transport_errors={},
            )
        )
    return out


async def mid_demo(pilot: Pilot[Any]) -> None:
    app = pilot.app
    pane = app.query_one(TrafficPane)
    deadline = time.monotonic() + 15

    async def wait_for(check: Callable[[], object], what: str) -> None:
        while not check():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            await pilot.pause(0.05)

    await wait_for(lambda: pane.view.ingress is not None, "the frozen view")
    await wait_for(lambda: "bookinfo" in app.namespace_labels, "the namespace")
    await pilot.pause(0.3)
    pane.running = True
    pane.tally = RunTally(TrafficConfig(url=URL, concurrency=8, rate=50, workers=0))
    for snap in snapshots():
        pane.tally.feed(snap)
        if snap.elapsed_s == 14.0:
            pane.tally.new_epoch()  # the preset lands; its epoch settles at 15 s
    pane.focus()
    await pilot.pause(0.5)
    pane._render_view()
    pane._show_run_state()
    await pilot.pause(0.3)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_traffic_pane_mid_demo(
    snap_compare: Any, cluster: Cluster, monkeypatch: pytest.MonkeyPatch, size: tuple[int, int]
) -> None:
    assert snap_compare(frozen_app(cluster, monkeypatch), terminal_size=size, run_before=mid_demo)


def frozen_app(cluster: Cluster, monkeypatch: pytest.MonkeyPatch) -> IstioApp:
    body = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "bookinfo", "labels": {"istio-injection": "enabled"}},
    }
    cluster.create(kube.NAMESPACES, body)
    monkeypatch.setattr(
        traffic_cluster, "read_cluster_view", lambda *a, namespace, **k: frozen_view(namespace)
    )
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    return IstioApp(
        settings=Settings(), cluster=cluster, info=INFO, clock=lambda: moment, initial_pane="traffic"
    )


async def in_cluster_demo(pilot: Pilot[Any]) -> None:
    """The same moment, sent from three load pods of a Job (one still starting)."""
    await mid_demo(pilot)
    pane = pilot.app.query_one(TrafficPane)
    pane.tally.load_pods = [
        LoadPod("istio-tui-load-mpr4c-qd5dg", "sandbox", 672, 16.8, "Running"),
        LoadPod("istio-tui-load-mpr4c-qrbr6", "sandbox", 668, 16.7, "Running"),
        LoadPod("istio-tui-load-mpr4c-x9z2k", "sandbox", 0, 0.0, "Pending"),
    ]
    pane._render_traffic(force=True)
    await pilot.pause(0.3)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_traffic_pane_in_cluster(
    snap_compare: Any, cluster: Cluster, monkeypatch: pytest.MonkeyPatch, size: tuple[int, int]
) -> None:
    app = frozen_app(cluster, monkeypatch)
    assert snap_compare(app, terminal_size=size, run_before=in_cluster_demo)
