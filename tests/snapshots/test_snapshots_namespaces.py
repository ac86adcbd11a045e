"""The namespace view at 120x36: every injection mode, a conflict, pods out of step, and the restart panel."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable

from tests.helpers import confirm_shown, wait_for
from tests.ui.test_namespaces import create_deployment, create_injector, create_namespace
from tui import kube
from tui.app import IstioApp
from tui.config import Settings
from tui.kube import Cluster, ClusterInfo
from tui.screens.confirm import ConfirmScreen
from tui.screens.namespaces import NamespacesPane

SIZE = (120, 36)
# Fixed, so the header never shows the sandbox's random port.
INFO = ClusterInfo(
    context="sandbox", server="https://127.0.0.1:6443", git_version="v1.32.0", major=1, minor=32
)
EXPECTED = {
    "bookinfo": "4/4",
    "canary": "0/0",
    "default": "0/0",
    "legacy": "0/0",
    "mesh": "0/1",
    "off": "0/1",
    "shop": "1/3",
}


def _live_pods(cluster: Cluster, namespace: str) -> int:
    items = cluster.list(kube.PODS, namespace=namespace).items
    return sum(1 for p in items if not p["metadata"].get("deletionTimestamp"))


def seed(cluster: Cluster) -> None:
    create_injector(cluster)
    create_namespace(cluster, "bookinfo", **{"istio-injection": "enabled"})
    create_deployment(cluster, "bookinfo", "productpage", replicas=1)
    create_deployment(cluster, "bookinfo", "reviews", replicas=3)
    create_namespace(cluster, "shop")
    create_deployment(cluster, "shop", "web", replicas=2)
    wait_for(lambda: _live_pods(cluster, "shop") == 2, "shop's pods")
    cluster.patch(kube.NAMESPACES, "shop", {"metadata": {"labels": {"istio-injection": "enabled"}}})
    create_deployment(cluster, "shop", "api", replicas=1)
    create_namespace(cluster, "legacy", **{"istio-injection": "enabled", "istio.io/rev": "1-23"})
    create_namespace(cluster, "canary", **{"istio.io/rev": "1-24"})
    create_namespace(cluster, "mesh", **{"istio.io/dataplane-mode": "ambient"})
    create_deployment(cluster, "mesh", "ratings", replicas=1)
    create_namespace(cluster, "off", **{"istio-injection": "disabled"})
    create_deployment(cluster, "off", "batch", replicas=1)
    wait_for(lambda: _live_pods(cluster, "bookinfo") == 4 and _live_pods(cluster, "shop") == 3, "the pods")


def frozen_clock(cluster: Cluster) -> Callable[[], datetime]:
    """Ages read 3d2h on every run: the objects were all created within seconds of each other."""
    created = cluster.get(kube.NAMESPACES, "default")["metadata"]["creationTimestamp"]
    moment = datetime.fromisoformat(created.replace("Z", "+00:00")) + timedelta(days=3, hours=2, minutes=30)
    return lambda: moment


async def settled(pilot: Pilot[Any]) -> None:
    app = pilot.app
    deadline = time.monotonic() + 15
    table = app.query_one("#ns-table", DataTable)
    while True:
        names = [str(r.key.value) for r in table.ordered_rows]
        shown = {name: str(table.get_cell(name, "sidecars")) for name in names}
        if all(shown.get(name) == ratio for name, ratio in EXPECTED.items()):
            break
        assert time.monotonic() < deadline, f"rows never settled: {shown}"
        await pilot.pause(0.05)
    table.move_cursor(row=table.get_row_index("shop"))
    app.query_one(NamespacesPane).focus_content()
    await pilot.pause()


@pytest.mark.parametrize("size", [(120, 36), (80, 24)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_namespace_view(snap_compare: Any, cluster: Cluster, size: tuple[int, int]) -> None:
    seed(cluster)
    clock = frozen_clock(cluster)
    app = IstioApp(settings=Settings(), cluster=cluster, info=INFO, clock=clock, initial_pane="namespaces")
    app.animation_level = "none"  # the tab underline slides; a busy machine would catch it mid-way
    assert snap_compare(app, terminal_size=size, run_before=settled)


async def restart_offered(pilot: Pilot[Any]) -> None:
    """Enable injection on shop through the UI and stop at the restart offer (pod names are still stable)."""
    app = pilot.app
    table = app.query_one("#ns-table", DataTable)
    deadline = time.monotonic() + 15

    async def wait_for(check: Callable[[], bool], what: str) -> None:
        while not check():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            await pilot.pause(0.05)

    def offered() -> bool:
        screen = app.screen
        title = screen.query("#confirm-title")
        return isinstance(screen, ConfirmScreen) and "Restart" in str(title.first().render())

    await wait_for(lambda: "shop" in table.rows and str(table.get_cell("shop", "sidecars")) == "0/2", "shop")
    app.query_one(NamespacesPane).focus_content()
    table.move_cursor(row=table.get_row_index("shop"))
    await pilot.press("i")
    await wait_for(lambda: confirm_shown(app), "the label confirmation")
    await pilot.press("y")
    await wait_for(offered, "the restart offer")
    await wait_for(lambda: "istio-injection=enabled" in str(table.get_cell("shop", "mode")), "the row")
    app.clear_notifications()
    await wait_for(lambda: not any(s.query("Toast") for s in app.screen_stack), "the toast to go")


def test_restart_offer(snap_compare: Any, cluster: Cluster) -> None:
    create_injector(cluster)
    create_namespace(cluster, "shop", team="payments")
    create_deployment(cluster, "shop", "web", replicas=2)
    wait_for(lambda: _live_pods(cluster, "shop") == 2, "shop's pods")
    clock = frozen_clock(cluster)
    app = IstioApp(settings=Settings(), cluster=cluster, info=INFO, clock=clock, initial_pane="namespaces")
    app.animation_level = "none"  # the tab underline slides; a busy machine would catch it mid-way
    assert snap_compare(app, terminal_size=SIZE, run_before=restart_offered)
