"""An in-cluster run's load pods at 80x24, the smallest size we support: every pod's rate and state is on the
screen for up to three pods, and beyond that a summary with the count of every state and the total rate,
while the stats, bars, pods serving and the configured-vs-observed box keep every line they had.

The run is the pane's own ``InClusterLoad.Progress`` message with made-up pods (the real Job run is
``test_traffic_incluster_pane``); what is checked is the screen as drawn, row by row.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from rich.console import Console
from textual.pilot import Pilot

from tests.helpers import make_app, until
from tui.app import IstioApp
from tui.kube import Cluster
from tui.screens.traffic import TrafficPane
from tui.screens.traffic.incluster import InClusterLoad
from tui.traffic.classify import CATEGORIES
from tui.traffic.incluster import LoadPod
from tui.traffic.snapshot import LatencySummary, TallySnapshot

SMALL = (80, 24)
URL = "http://127.0.0.1:31380/productpage"
SERVING = {
    "reviews-v1-6d8f7c9b54-x2k9q": 1208,
    "reviews-v2-5b9c8d7f6c-p7tzn": 1190,
    "reviews-v3-7f6d5c4b8d-m4wrl": 1202,
}
STATES = ("Running", "Pending", "Done", "Failed", "Running", "Running", "Running")


def screen_rows(app: IstioApp) -> list[str]:
    """The screen as the terminal shows it (what ``export_screenshot`` draws), one string per row."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), record=True, legacy_windows=False)
    console.print(app.screen._compositor.render_update(full=True))
    return console.export_text(styles=False).splitlines()


def load_pods(n: int) -> list[LoadPod]:
    suffixes = ("qd5dg", "qrbr6", "x9z2k", "b7m4p", "k2l8w", "t5v9c", "h3n6j")
    return [
        LoadPod(f"istio-tui-load-mpr4c-{suffixes[i]}", "sandbox", 1200 + i, 17.0 + i, STATES[i])
        for i in range(n)
    ]


def snapshot(pods: list[LoadPod]) -> TallySnapshot:
    requests = sum(SERVING.values())
    return TallySnapshot(
        url=URL,
        elapsed_s=71.0,
        requests=requests,
        counts=dict.fromkeys(CATEGORIES, 0) | {"no_stars": 1208, "black": 1190, "red": 1202},
        details_unavailable=0,
        by_pod=dict(SERVING),
        status_codes={200: requests},
        latency=LatencySummary(p50_ms=3.2, p90_ms=6.8, p99_ms=14.5, max_ms=31.0),
        transport_errors={},
    )


async def show_run(pilot: Pilot[Any], pods: list[LoadPod]) -> list[str]:
    """The pane at 80x24 once an in-cluster run's progress with ``pods`` is drawn; the screen's rows."""
    app = pilot.app
    pane = app.query_one(TrafficPane)
    await until(pilot, lambda: pane.has_class("-narrow") and pane.view.status is not None, "the narrow pane")
    pane.post_message(InClusterLoad.Progress(snapshot(pods), pods))
    first = pods[0].name.rsplit("-", 1)[1]
    await until(pilot, lambda: any(first in row for row in screen_rows(app)), "the first load pod")
    await pilot.pause(0.3)  # two more render ticks: the layout settles
    return screen_rows(app)


def row_with(rows: list[str], *parts: str) -> str | None:
    return next((row for row in rows if all(p in row for p in parts)), None)


def assert_rest_unchanged(rows: list[str]) -> None:
    """What the pane showed at 80x24 before load pods had lines of their own."""
    assert row_with(rows, "3600 requests in 71.0 s")
    assert row_with(rows, "latency ms", "p50 3.2")
    assert row_with(rows, "split over the whole run")
    for label, n in (("black ★", 1190), ("red ★", 1202), ("no stars", 1208), ("errors", 0)):
        assert row_with(rows, label, str(n)), label
    assert row_with(rows, "pods serving: reviews-v1 1208")
    assert row_with(rows, "reviews-v2 1190 · reviews-v3 1202")
    assert row_with(rows, "reviews: no VirtualService")
    assert row_with(rows, "ratings: no VirtualService")
    assert row_with(rows, "per second")


@pytest.mark.parametrize("n", [1, 2, 3])
async def test_each_load_pod_rate_and_state_on_screen_at_80x24(cluster: Cluster, n: int) -> None:
    app = make_app(cluster, pane="traffic")
    async with app.run_test(size=SMALL) as pilot:
        pods = load_pods(n)
        rows = await show_run(pilot, pods)
        for pod in pods:
            suffix = pod.name.rsplit("-", 1)[1]
            row = row_with(rows, suffix, pod.state, f"{pod.rps:.0f}/s")
            assert row, f"{suffix}: {pod.state} {pod.rps:.0f}/s not on screen:\n" + "\n".join(rows)
            assert "…" not in row.split("││")[0]  # the live box's part of the row is whole
        assert_rest_unchanged(rows)


async def test_many_load_pods_summarised_at_80x24(cluster: Cluster) -> None:
    app = make_app(cluster, pane="traffic")
    async with app.run_test(size=SMALL) as pilot:
        pods = load_pods(7)
        rows = await show_run(pilot, pods)
        screen = "\n".join(rows)
        assert row_with(rows, "qd5dg", "Running", "17/s"), screen
        assert not any(row_with(rows, p.name.rsplit("-", 1)[1]) for p in pods[1:]), screen
        total = sum(p.rps for p in pods)
        assert row_with(rows, "+6 more · 7 load pods", f"{total:.0f}/s"), screen
        assert row_with(rows, "1 Done 1 Failed 1 Pending 4 Running"), screen
        assert_rest_unchanged(rows)
