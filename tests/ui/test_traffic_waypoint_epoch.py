"""A waypoint that comes up during a run, in the Traffic pane against the sandbox over real HTTP.

ztunnel (here, the sandbox's data plane) sends a Service's traffic through its waypoint only once the
waypoint's proxy runs; until then the HTTPRoute has no effect and reviews is balanced over all three
versions. Istio reports the waypoint Gateway ``Programmed`` only once its Service has a ready instance, and
the pane counts the waypoint from then. Pods start slowly in this sandbox (``POD_START_S``), so a waypoint
counted before it serves would put round-robin pages (v2, black stars) into the new epoch.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import make_app, until
from tests.sandbox.test_waypoint_programmed import route_ambient_bookinfo, slow_sandbox
from tests.ui.test_gateway_api_ambient import gateway_api_pane
from tests.ui.test_traffic_pane import pane, start_endless_run, stop_run, text_of
from tui.istio import waypoints
from tui.kube import Cluster
from tui.screens.traffic import TrafficPane

SIZE = (120, 36)
NS = "bookinfo"
POD_START_S = 3.0
PAGES = 150


@pytest.fixture(autouse=True)
def inline_engine(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(TrafficPane, "ENGINE_WORKERS", 0)
    yield


@pytest.fixture
def slow_cluster(tmp_path: Path) -> Iterator[Cluster]:
    with slow_sandbox(tmp_path, pod_start_s=POD_START_S) as cluster:
        yield cluster


async def test_the_new_epoch_counts_only_pages_the_waypoint_routed(slow_cluster: Cluster) -> None:
    cluster = slow_cluster
    route_ambient_bookinfo(cluster, timeout=POD_START_S * 5)
    app = make_app(cluster, pane="traffic")
    async with app.run_test(size=SIZE) as pilot:
        pane(app).focus()
        await pilot.press("a")
        p = await gateway_api_pane(pilot)
        await until(pilot, lambda: p.view.needs_waypoint, "the waypoint warning")
        await start_endless_run(pilot, p)
        await until(pilot, lambda: (p.latest.counts.get("black", 0) if p.latest else 0) > 0, "v2 pages")

        waypoints.deploy_waypoint(cluster, namespace=NS)
        starting = "waypoint waypoint is not Programmed yet"
        await until(pilot, lambda: starting in text_of(app, "#traffic-routing"), "the starting waypoint")
        assert not p.view.routing_applies()
        applies = "the route through the waypoint"
        await until(pilot, lambda: p.view.routing_applies(), applies, limit=POD_START_S * 5)
        await until(
            pilot,
            lambda: not p.tally.settling and p.split_rows()[1] >= PAGES,
            f"{PAGES} pages in the waypoint's epoch",
        )
        await stop_run(pilot, p)

        counts = p.tally.window().counts
        assert counts.get("black", 0) == 0, f"round-robin pages counted as routed: {dict(counts)}"
        rows, n, _ = p.split_rows()
        assert n >= PAGES and not any(r.disagrees for r in rows), rows
