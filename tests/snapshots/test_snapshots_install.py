"""The install wizard's Choices step at 120x36: the form, the step list after preflight, the live preview."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, Input, OptionList

from tests.ui.test_install_verify_layout import REPORT
from tui.app import IstioApp
from tui.config import Settings
from tui.istio.revisions import ControlPlane
from tui.kube import Cluster, ClusterInfo
from tui.screens.install import InstallPane
from tui.screens.install.upgrade import UpgradeStep
from tui.screens.install.verify import VerifyStep

SIZE = (120, 36)
# Fixed, so the header never shows the sandbox's random port.
INFO = ClusterInfo(
    context="sandbox", server="https://127.0.0.1:6443", git_version="v1.32.0", major=1, minor=32
)


async def choices_step(pilot: Pilot[Any]) -> None:
    app = pilot.app
    pane = app.query_one(InstallPane)
    deadline = time.monotonic() + 20
    while not pane.preflight_lines or pane.busy:
        assert time.monotonic() < deadline, "preflight never finished"
        await pilot.pause(0.05)
    # The official repository instead of the sandbox charts: the preview then holds no checkout path.
    app.query_one("#f-chart_source", Input).value = ""
    app.query_one("#f-node_port_http2", Input).value = "31380"
    await pilot.pause()
    app.query_one("#wiz-steps", OptionList).focus()
    await pilot.press("2")
    while pane.plan is None or pane.plan.chart_source.kind != "repo" or pane.plan.node_port_http2 != 31380:
        assert time.monotonic() < deadline, "the form never settled"
        await pilot.pause(0.05)
    await pilot.pause()


def test_install_choices_step(snap_compare: Any, cluster: Cluster) -> None:
    app = IstioApp(settings=Settings(sandbox=True), cluster=cluster, info=INFO, initial_pane="install")
    assert snap_compare(app, terminal_size=SIZE, run_before=choices_step)


def test_install_choices_step_at_80x24(snap_compare: Any, cluster: Cluster) -> None:
    """At 80 columns the preview sits under the form, full width, instead of a 2-column sliver beside it."""
    app = IstioApp(settings=Settings(sandbox=True), cluster=cluster, info=INFO, initial_pane="install")
    assert snap_compare(app, terminal_size=(80, 24), run_before=choices_step)


async def settle(pilot: Pilot[Any], done: Callable[[], bool], what: str, deadline: float) -> None:
    while not done():
        assert time.monotonic() < deadline, what
        await pilot.pause(0.05)


async def open_step(pilot: Pilot[Any], key: str, deadline: float) -> None:
    """Step ``key`` of the list, once preflight has finished."""
    pane = pilot.app.query_one(InstallPane)
    await settle(
        pilot, lambda: bool(pane.preflight_lines) and not pane.busy, "preflight never finished", deadline
    )
    pilot.app.query_one("#wiz-steps", OptionList).focus()
    await pilot.press(key)


async def open_upgrade_step(pilot: Pilot[Any], deadline: float) -> UpgradeStep:
    """Step 8 after preflight, its first control-plane read shown."""
    await open_step(pilot, "8", deadline)
    view = pilot.app.query_one(UpgradeStep)
    await settle(pilot, lambda: view.scans > 0, "the control planes were never read", deadline)
    return view


async def upgrade_step(pilot: Pilot[Any]) -> None:
    """Step 8 with no istiod (an empty table) and the form planned into its one step."""
    deadline = time.monotonic() + 20
    view = await open_upgrade_step(pilot, deadline)
    view.query_one("#btn-up-plan", Button).press()
    await settle(
        pilot, lambda: bool(view.steps) and not view.is_busy, "the upgrade step never settled", deadline
    )
    await pilot.pause()


def test_upgrade_step_at_80x24(snap_compare: Any, cluster: Cluster) -> None:
    """The control-plane table, the form and the planned steps fit 80 columns, buttons included."""
    app = IstioApp(settings=Settings(sandbox=True), cluster=cluster, info=INFO, initial_pane="install")
    assert snap_compare(app, terminal_size=(80, 24), run_before=upgrade_step)


async def upgrade_table(pilot: Pilot[Any]) -> None:
    """Step 8 showing two control planes, one with a namespace list too long for 80 columns."""
    planes = [
        ControlPlane("default", "1.30.3", "1/1", (), ("bookinfo",), 2),
        ControlPlane("canary", "1.30.4", "1/1", ("prod",), ("customer-portal", "payments-production"), 24),
    ]
    deadline = time.monotonic() + 20
    view = await open_upgrade_step(pilot, deadline)
    view.post_message(UpgradeStep.Planes(planes))
    await settle(
        pilot, lambda: view.planes == planes and not view.is_busy, "the planes never showed", deadline
    )
    await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (120, 36)], ids=["80x24", "120x36"])
def test_upgrade_table(snap_compare: Any, cluster: Cluster, size: tuple[int, int]) -> None:
    """Every column on screen with blanks between them; at 80 columns the namespace list ends in …."""
    app = IstioApp(settings=Settings(sandbox=True), cluster=cluster, info=INFO, initial_pane="install")
    assert snap_compare(app, terminal_size=size, run_before=upgrade_table)


async def verify_step(pilot: Pilot[Any]) -> None:
    """Step 4 showing a green ambient report (eight checks, the gateway on a NodePort)."""
    deadline = time.monotonic() + 20
    await open_step(pilot, "4", deadline)
    view = pilot.app.query_one(VerifyStep)
    await settle(pilot, lambda: view.report is not None and not view.is_busy, "no verify", deadline)
    view.post_message(VerifyStep.Checked(REPORT))
    await settle(pilot, lambda: view.report is REPORT and not view.is_busy, "no report", deadline)
    await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (120, 36)], ids=["80x24", "120x36"])
def test_verify_step(snap_compare: Any, cluster: Cluster, size: tuple[int, int]) -> None:
    """Every detail whole and the INGRESS_HOST:PORT banner on screen, at 80 columns too."""
    app = IstioApp(settings=Settings(sandbox=True), cluster=cluster, info=INFO, initial_pane="install")
    assert snap_compare(app, terminal_size=size, run_before=verify_step)
