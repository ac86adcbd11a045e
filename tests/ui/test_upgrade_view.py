"""The Upgrade view (install step 8) against the sandbox with the official charts: the control-plane table,
the steps confirmed one at a time with live progress, and rollback (labels back, restart, sidecars back)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, Checkbox, DataTable, Input, Static

from tests.helpers import make_app, until
from tests.sandbox.test_official_charts import CHARTS, Tools, start
from tests.ui.test_install_wizard import answer
from tui import kube
from tui.istio.sidecar import sidecar_revision
from tui.kube import Cluster
from tui.screens.install.upgrade import UpgradeStep

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not CHARTS.is_dir(), reason="no official charts")]

SHOP = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web"},
    "spec": {
        "replicas": 2,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {
                "containers": [
                    {"name": "web", "image": "docker.io/istio/examples-bookinfo-details-v1:1.20.3"}
                ]
            },
        },
    },
}


def revisions(cluster: Cluster) -> list[str | None]:
    pods = cluster.list(kube.PODS, namespace="shop").items
    return sorted(str(sidecar_revision(p)) for p in pods if not p["metadata"].get("deletionTimestamp"))


def table_rows(app: Any) -> list[list[str]]:
    table = app.query_one("#up-planes", DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


def poller_alive() -> bool:
    return any(t.name == "stream-upgrade-planes" and t.is_alive() for t in threading.enumerate())


async def run_step(pilot: Pilot[Any], view: UpgradeStep, index: int) -> bool:
    """Run step ``index`` through its confirmation; True when the table poller was seen while it ran."""
    view.query_one("#btn-up-next", Button).press()
    await answer(pilot, "y", f"Step {index + 1} of {len(view.steps)}")
    await until(pilot, lambda: poller_alive() or view.next_index > index, "the step to start")
    seen = poller_alive()
    await until(
        pilot,
        lambda: view.next_index == index + 1 and not view.is_busy,
        f"step {index + 1} to finish ({view.query_one('#up-status', Static).content})",
        limit=60,
    )
    await until(pilot, lambda: not poller_alive(), "the table poller to stop with the step")
    return seen


async def test_upgrade_view_moves_a_namespace_and_rolls_it_back(tmp_path: Path) -> None:
    sb = start(1)
    try:
        tools = Tools(sb, tmp_path)
        tools.helm_install("istio-base", "base")
        tools.helm_install("istiod", "istiod", "--set", "global.tag=1.30.3")
        tools.kubectl("create", "namespace", "shop")
        tools.kubectl("label", "namespace", "shop", "istio-injection=enabled")
        (tmp_path / "shop.json").write_text(json.dumps(SHOP))
        tools.kubectl("apply", "-n", "shop", "-f", str(tmp_path / "shop.json"))
        tools.kubectl("wait", "-n", "shop", "--for=condition=Ready", "pod", "--all", "--timeout=60s")
        cluster = Cluster.from_kubeconfig(path=str(tools.kubeconfig), context="sandbox")
        app = make_app(cluster, pane="install", sandbox=True)
        async with app.run_test(size=(120, 40)) as pilot:
            app.query_one("#wiz-steps").focus()
            await pilot.press("8")
            view = app.query_one(UpgradeStep)
            await until(pilot, lambda: table_rows(app) and table_rows(app)[0][0] == "default", "the table")
            assert table_rows(app) == [["default", "1.30.3", "1/1", "-", "shop", "2"]]

            view.query_one("#up-source", Input).value = str(CHARTS)
            view.query_one("#up-version", Input).value = "1.30.4"
            view.query_one("#up-namespaces", Input).value = "shop"
            # The whole procedure can be planned; this test runs its first three steps, then rolls back.
            view.query_one("#up-remove", Input).value = "default"
            view.query_one("#up-promote", Checkbox).value = True
            view.query_one("#btn-up-plan", Button).press()
            await until(pilot, lambda: len(view.steps) == 5, "five planned steps")
            assert [s.key for s in view.steps] == [
                "install",
                "move:shop",
                "restart:shop",
                "promote",
                "remove:default",
            ]
            assert "5. Uninstall revision default" in str(view.query_one("#up-steps", Static).content)
            view.query_one("#up-remove", Input).value = ""
            view.query_one("#up-promote", Checkbox).value = False
            view.query_one("#btn-up-plan", Button).press()
            await until(pilot, lambda: len(view.steps) == 3, "three planned steps")
            # helm takes seconds: the table poller (a Stream thread, not a pool worker) runs meanwhile
            assert await run_step(pilot, view, 0)
            for index in (1, 2):
                await run_step(pilot, view, index)
            assert revisions(cluster) == ["canary", "canary"]
            assert any("shop: 2/2 pods on canary" in line for line in view.log_lines), view.log_lines
            await until(
                pilot,
                lambda: ["canary", "1.30.4", "1/1", "-", "shop", "2"] in table_rows(app),
                "canary in the table with shop",
            )

            view.query_one("#btn-up-rollback", Button).press()
            await answer(pilot, "y", "Step 1 of 2")
            await until(pilot, lambda: view.next_index == 1 and not view.is_busy, "the labels back")
            await run_step(pilot, view, 1)
            labels = cluster.get(kube.NAMESPACES, "shop")["metadata"]["labels"]
            assert labels.get("istio-injection") == "enabled" and "istio.io/rev" not in labels
            assert revisions(cluster) == ["default", "default"]
            await until(
                pilot,
                lambda: ["default", "1.30.3", "1/1", "-", "shop", "2"] in table_rows(app),
                "shop back on default in the table",
            )
        cluster.close()
    finally:
        sb.stop()
