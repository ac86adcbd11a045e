"""Problems found walking the README demo in tmux, each pinned by a Pilot test that failed before the fix."""

from __future__ import annotations

import dataclasses
from typing import Any

from textual.widgets import Input, Static

from tests.helpers import make_app, until
from tui import kube
from tui.app import IstioApp
from tui.config import Settings
from tui.kube import Cluster
from tui.screens.help import HelpScreen
from tui.screens.pods import PodsPane
from tui.widgets.pod_table import PodTable

SIZE = (120, 36)


def _app(cluster: Cluster, **settings: Any) -> IstioApp:
    return IstioApp(settings=Settings(**settings), cluster=cluster, info=cluster.info())


def _pods(cluster: Cluster, namespace: str, **labelled: str) -> None:
    cluster.create(kube.NAMESPACES, {"metadata": {"name": namespace}})
    for name, app_label in labelled.items():
        body = {
            "metadata": {"name": name, "namespace": namespace, "labels": {"app": app_label}},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]},
        }
        cluster.create(kube.PODS, body, namespace=namespace)


def _shown(app: IstioApp) -> list[str]:
    table = app.query_one(PodTable)
    return sorted(table.row_at(i).name for i in range(table.row_count))


def _notes(app: IstioApp) -> str:
    return " | ".join(str(n.message) for n in app._notifications)


async def test_a_selector_the_server_rejects_changes_nothing(cluster: Cluster) -> None:
    """``:-l ===`` emptied the table for an error text and kept ``-l ===`` in force (also after ``:all``)."""
    _pods(cluster, "shop", **{"web-1": "web", "web-2": "web", "api-1": "api"})
    app = _app(cluster, namespace="shop")
    async with app.run_test(size=SIZE) as pilot:
        pane = app.query_one(PodsPane)
        await pilot.press("colon", *"-l app=web", "enter")
        await until(pilot, lambda: _shown(app) == ["web-1", "web-2"], "the good selector")
        await pilot.press("colon", *"-l ===", "enter")
        await until(pilot, lambda: "invalid label selector '==='" in _notes(app), "one line about it")
        await until(pilot, lambda: _shown(app) == ["web-1", "web-2"], "the rows of the kept selector")
        assert pane.selector == "app=web"
        assert "-l app=web" in str(app.query_one("#pods-title", Static).render())
        assert not pane.table.has_class("-hidden")
        assert "-l app=web" in _notes(app)



async def test_traffic_status_lines_end_in_an_ellipsis_when_cut(cluster: Cluster) -> None:
    """At 80x24 the namespace line of an unlabelled namespace was cut mid-word, with no ``…``."""
    cluster.create(kube.NAMESPACES, {"metadata": {"name": "bookinfo"}})
    app = make_app(cluster, pane="traffic")
    async with app.run_test(size=(80, 24)) as pilot:
        line = app.query_one("#traffic-ns-status", Static)
        await until(pilot, lambda: "no routing" in str(line.render()), "the namespace line")
        await pilot.pause()
        full = str(line.render())
        shown = line.render_line(0).text.rstrip()
        assert len(full) > line.size.width, (full, line.size)
        assert shown.endswith("…"), shown


async def test_header_and_pod_title_end_in_an_ellipsis_when_cut(cluster: Cluster) -> None:
    """An EKS-style context name at 80 columns cut the header mid-URL, and a long filter cut the pod title."""
    _pods(cluster, "shop", **{"web-1": "web"})
    context = "arn:aws:eks:eu-west-1:123456789012:cluster/production-platform-eu"
    info = dataclasses.replace(cluster.info(), context=context)
    app = IstioApp(settings=Settings(namespace="shop"), cluster=cluster, info=info)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: _shown(app) == ["web-1"], "the pod")
        await pilot.press("slash", *"web|api|db|cache|queue|worker|frontend|backend|mailer|search", "enter")
        title = app.query_one("#pods-title", Static)
        await until(pilot, lambda: "/web|api" in str(title.render()), "the filter in the title")
        await pilot.pause()
        for widget in (app.query_one("#header-cluster", Static), title):
            assert len(str(widget.render())) > widget.size.width
            assert widget.render_line(0).text.rstrip().endswith("…"), widget.render_line(0).text


async def test_tab_completes_the_common_prefix_first(cluster: Cluster) -> None:
    """``:kub`` + tab jumped straight to kube-node-lease, so tab, enter opened a namespace nobody chose."""
    app = _app(cluster)
    async with app.run_test(size=SIZE) as pilot:
        prompt = app.query_one("#command-prompt", Input)
        await pilot.press("colon", *"kub", "tab")
        await until(pilot, lambda: prompt.value == "kube-", "the shared prefix")
        await pilot.press("s", "tab")
        await until(pilot, lambda: prompt.value == "kube-system", "the one namespace left")
        await pilot.press("enter")
        await until(pilot, lambda: app.namespace == "kube-system", "kube-system opened")


async def test_help_fits_an_80_column_terminal(cluster: Cluster) -> None:
    """At 80x24 ``?`` drew a 96-column box: its right border and the ends of long lines were off screen."""
    app = _app(cluster)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "the help screen")
        await pilot.pause()
        dialog = app.screen.query_one("#help-dialog")
        assert dialog.region.right <= 80, dialog.region
