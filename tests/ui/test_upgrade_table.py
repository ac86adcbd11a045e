"""The control-plane table of install step 8 keeps every column on screen with blanks between them, at 80
and 120 columns and across a resize; long namespace lists give way with … instead of pushing PODS off."""

from __future__ import annotations

import re

import pytest
from textual.widgets import Button, Input, OptionList, Static

from tests.helpers import make_app, open_install_step, until
from tui.istio.revisions import ControlPlane
from tui.kube import Cluster
from tui.screens.confirm import ConfirmScreen
from tui.screens.install.upgrade import COLUMNS, PlanesTable, UpgradeStep, plane_layout

PLANES = [
    ControlPlane("default", "1.30.3", "1/1", (), ("bookinfo",), 2),
    ControlPlane("canary", "1.30.4", "1/1", ("prod-stable",), ("customer-portal", "payments-production"), 24),
]


def shown_lines(table: PlanesTable) -> list[str]:
    """The header and the rows as the table renders them on screen."""
    return [table.render_line(y).text for y in range(1 + table.row_count)]


def settled(table: PlanesTable) -> bool:
    """The header and the PODS values are all on screen (the resize has reached the table)."""
    header, *rows = shown_lines(table)
    return header.split() == list(COLUMNS) and [r.split()[-1:] for r in rows] == [["2"], ["24"]]


def test_layout_fits_the_width_and_marks_what_it_cuts() -> None:
    widths, wide = plane_layout(PLANES, width=200)
    assert wide[1] == ("canary", "1.30.4", "1/1", "prod-stable", "customer-portal,payments-production", "24")
    assert widths == [8, 7, 5, 11, 35, 4]
    widths, narrow = plane_layout(PLANES, width=58)
    assert sum(w + 2 for w in widths) <= 58
    assert narrow[1][3] == "prod-stable" and narrow[1][4] == "customer-p…"
    assert all(len(value) <= w for row in narrow for value, w in zip(row, widths, strict=True))
    _, tight = plane_layout(PLANES, width=40)  # floors: a header is never cut
    assert tight[1][3:5] == ("pro…", "customer-…")
    assert plane_layout(PLANES, width=0)[1] == wide  # not laid out yet: nothing is cut


@pytest.mark.parametrize("size", [(80, 24), (120, 36)], ids=["80x24", "120x36"])
async def test_headers_and_values_stay_apart(cluster: Cluster, size: tuple[int, int]) -> None:
    app = make_app(cluster, pane="install", sandbox=True)
    async with app.run_test(size=size) as pilot:
        view = await open_install_step(pilot, "8", UpgradeStep)
        await until(pilot, lambda: view.scans > 0, "the control planes read")
        view.post_message(UpgradeStep.Planes(PLANES))
        table = view.query_one(PlanesTable)
        await until(pilot, lambda: table.row_count == 2 and view.planes == PLANES, "the planes shown")
        for new_size in (size, (80, 24), (120, 36)):
            await pilot.resize_terminal(*new_size)
            await until(pilot, lambda: settled(table), f"every column on screen at {new_size}")
            header, *rows = shown_lines(table)
            assert re.search(r"NAMESPACES {2,}PODS", header), header
            assert rows[0].split() == ["default", "1.30.3", "1/1", "-", "bookinfo", "2"], rows
            canary = rows[1].split()
            assert canary[:3] == ["canary", "1.30.4", "1/1"] and canary[5] == "24", rows
            assert canary[3] == "prod-stable" or canary[3].endswith("…"), rows
            assert canary[4] == "customer-portal,payments-production" or canary[4].endswith("…"), rows
            assert len(header.rstrip()) <= table.size.width, header


async def test_coming_back_with_planned_steps_does_not_stay_busy(cluster: Cluster) -> None:
    """Found in QA: plan, leave step 8 and come back; the re-read of the control planes must end the spinner,
    or "Run next step…" keeps answering "a step is running" and the upgrade cannot go on."""
    app = make_app(cluster, pane="install", sandbox=True)
    async with app.run_test(size=(120, 36)) as pilot:
        view = await open_install_step(pilot, "8", UpgradeStep)
        steps = app.query_one("#wiz-steps", OptionList)
        await until(pilot, lambda: view.scans > 0 and not view.is_busy, "the control planes read")
        view.query_one("#btn-up-plan", Button).press()
        await until(pilot, lambda: view.steps and not view.is_busy, "the steps planned")
        scans = view.scans
        await pilot.press("escape")
        await until(pilot, lambda: steps.has_focus, "the step list focused")
        await pilot.press("7", "8")
        await until(pilot, lambda: view.scans > scans, "the control planes read again")
        await until(pilot, lambda: not view.is_busy, "the reading to end")
        status = str(view.query_one("#up-status", Static).content)
        assert "reading" not in status and f"step 1 of {len(view.steps)} is next" in status, status
        view.query_one("#btn-up-next", Button).press()
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "step 1's confirmation")
        assert "Step 1 of" in str(app.screen.query_one("#confirm-title", Static).content)


async def test_form_errors_name_the_fields_in_screen_order(cluster: Cluster) -> None:
    """Found in QA: the form said "--namespaces: ..." (a CLI flag) and reported it before a bad Revision above
    it. Each bad field gets its line under it by its label; the status names the topmost."""
    app = make_app(cluster, pane="install", sandbox=True)
    async with app.run_test(size=(120, 36)) as pilot:
        view = await open_install_step(pilot, "8", UpgradeStep)
        await until(pilot, lambda: view.scans > 0 and not view.is_busy, "the control planes read")
        view.query_one("#up-revision", Input).value = "a b"
        view.query_one("#up-namespaces", Input).value = "shop,Bad"
        view.query_one("#btn-up-plan", Button).press()
        status = view.query_one("#up-status", Static)
        await until(pilot, lambda: "✘" in str(status.content), "the form refused")
        assert str(status.content).startswith("✘ Revision 'a b' is not a revision name"), status.content
        revision_err = str(view.query_one("#up-err-revision", Static).content)
        namespaces_err = str(view.query_one("#up-err-namespaces", Static).content)
        assert "Revision 'a b' is not a revision name" in revision_err
        assert namespaces_err == "✘ Namespaces: 'Bad' is not a namespace name (lowercase DNS label)"
        assert not view.query_one("#up-err-namespaces", Static).has_class("-hidden")
        assert view.query_one("#up-err-istio-version", Static).has_class("-hidden")
        assert "--" not in str(status.content) + revision_err + namespaces_err
        assert view.steps == []
        view.query_one("#up-revision", Input).value = "canary"
        view.query_one("#up-namespaces", Input).value = "shop"
        view.query_one("#up-source", Input).value = "sandbox"
        view.query_one("#btn-up-plan", Button).press()
        await until(pilot, lambda: "Chart source" in str(status.content), "the chart source refused")
        assert "--chart-source" not in str(status.content)
        assert view.query_one("#up-err-namespaces", Static).has_class("-hidden")
