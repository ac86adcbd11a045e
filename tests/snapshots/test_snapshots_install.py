"""The install wizard's Choices step at 120x36: the form, the step list after preflight, the live preview."""

from __future__ import annotations

import time
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, OptionList

from tui.app import IstioApp
from tui.config import Settings
from tui.kube import Cluster, ClusterInfo
from tui.screens.install import InstallPane

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


async def upgrade_step(pilot: Pilot[Any]) -> None:
    """Step 8 with no istiod (an empty table) and the form planned into its one step."""
    from textual.widgets import Button

    from tui.screens.install.upgrade import UpgradeStep

    app = pilot.app
    pane = app.query_one(InstallPane)
    deadline = time.monotonic() + 20
    while not pane.preflight_lines or pane.busy:
        assert time.monotonic() < deadline, "preflight never finished"
        await pilot.pause(0.05)
    app.query_one("#wiz-steps", OptionList).focus()
    await pilot.press("8")
    view = app.query_one(UpgradeStep)
    while not view.scans:
        assert time.monotonic() < deadline, "the control planes were never read"
        await pilot.pause(0.05)
    view.query_one("#btn-up-plan", Button).press()
    while not view.steps or view.is_busy:
        assert time.monotonic() < deadline, "the upgrade step never settled"
        await pilot.pause(0.05)
    await pilot.pause()


def test_upgrade_step_at_80x24(snap_compare: Any, cluster: Cluster) -> None:
    """The control-plane table, the form and the planned steps fit 80 columns, buttons included."""
    app = IstioApp(settings=Settings(sandbox=True), cluster=cluster, info=INFO, initial_pane="install")
    assert snap_compare(app, terminal_size=(80, 24), run_before=upgrade_step)


async def upgrade_table(pilot: Pilot[Any]) -> None:
    """Step 8 showing two control planes, one with a namespace list too long for 80 columns."""
    from tui.istio.revisions import ControlPlane
    from tui.screens.install.upgrade import UpgradeStep

    planes = [
        ControlPlane("default", "1.30.3", "1/1", (), ("bookinfo",), 2),
        ControlPlane("canary", "1.30.4", "1/1", ("prod",), ("customer-portal", "payments-production"), 24),
    ]
    app = pilot.app
    pane = app.query_one(InstallPane)
    deadline = time.monotonic() + 20
    while not pane.preflight_lines or pane.busy:
        assert time.monotonic() < deadline, "preflight never finished"
        await pilot.pause(0.05)
    app.query_one("#wiz-steps", OptionList).focus()
    await pilot.press("8")
    view = app.query_one(UpgradeStep)
    while not view.scans:
        assert time.monotonic() < deadline, "the control planes were never read"
        await pilot.pause(0.05)
    view.post_message(UpgradeStep.Planes(planes))
    while view.planes != planes or view.is_busy:
        assert time.monotonic() < deadline, "the planes were never shown"
        await pilot.pause(0.05)
    await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (120, 36)], ids=["80x24", "120x36"])
def test_upgrade_table(snap_compare: Any, cluster: Cluster, size: tuple[int, int]) -> None:
    """Every column on screen with blanks between them; at 80 columns the namespace list ends in …."""
    app = IstioApp(settings=Settings(sandbox=True), cluster=cluster, info=INFO, initial_pane="install")
    assert snap_compare(app, terminal_size=size, run_before=upgrade_table)
