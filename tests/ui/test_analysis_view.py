"""The Analysis view: findings appear and vanish live from watches; ``enter`` opens the YAML, field marked."""

from __future__ import annotations

from typing import Any

from textual.widgets import DataTable, Static

from tests.analysis_setup import apply_crds, injector
from tests.helpers import make_app, until
from tui.kube import Cluster
from tui.sandbox.cluster import Sandbox
from tui.screens.analysis import AnalysisPane
from tui.screens.object_yaml import ObjectYamlScreen

SIZE = (120, 36)


def _codes(pane: AnalysisPane) -> set[tuple[str, str]]:
    return {(f.code, f.resource) for f in pane.findings}


def _gateway(port: int) -> dict[str, Any]:
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "selector": {"istio": "ingressgateway"},
            "servers": [{"port": {"number": port, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}],
        },
    }


async def test_findings_follow_the_cluster_and_enter_opens_the_highlighted_yaml(cluster: Cluster) -> None:
    apply_crds(cluster)
    gw_pod = {"name": "ingress-1", "namespace": "gw", "labels": {"istio": "ingressgateway"}}
    cluster.apply(
        [
            injector(),
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "gw"}},
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": gw_pod,
                "spec": {"containers": [{"name": "p", "image": "x"}]},
            },
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "ingress", "namespace": "gw"},
                "spec": {"selector": {"istio": "ingressgateway"}, "ports": [{"name": "http2", "port": 80}]},
            },
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {
                    "name": "shop",
                    "labels": {"istio-injection": "enabled", "istio.io/rev": "default"},
                },
            },
        ]
    )
    app = make_app(cluster, pane="analysis")
    async with app.run_test(size=SIZE) as pilot:
        pane = app.query_one(AnalysisPane)
        await until(pilot, lambda: ("IT0301", "Namespace shop") in _codes(pane), "the double label")

        cluster.apply([_gateway(8080)])
        await until(pilot, lambda: ("IT0101", "Gateway shop/web") in _codes(pane), "the port trap, live")
        cluster.patch(
            cluster.resource_for(api_version="v1", kind="Namespace"),
            "shop",
            [{"op": "remove", "path": "/metadata/labels/istio.io~1rev"}],
            patch_type="json",
        )
        await until(pilot, lambda: ("IT0301", "Namespace shop") not in _codes(pane), "the fixed label to go")

        table = app.query_one("#analysis-table", DataTable)
        row = next(i for i, f in enumerate(pane.findings) if f.code == "IT0101")
        table.focus()
        table.move_cursor(row=row)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ObjectYamlScreen), "the YAML viewer")
        screen = app.screen
        assert isinstance(screen, ObjectYamlScreen)
        await until(pilot, lambda: screen.highlighted is not None, "the highlighted field")
        assert screen.highlighted is not None
        first, last = screen.highlighted
        assert first == last
        lines = screen.yaml_text.splitlines()
        assert lines[first - 1].strip() == "number: 8080"

        await pilot.press("escape")
        cluster.apply([_gateway(80)])
        await until(pilot, lambda: not any(f.code == "IT0101" for f in pane.findings), "the port fix to land")


async def test_a_forbidden_kind_is_named_and_the_rest_checked(
    sandbox: Sandbox, cluster: Cluster
) -> None:
    sandbox.forbid(resource="mutatingwebhookconfigurations", verbs=["list", "watch"])
    labels = {"istio-injection": "enabled", "istio.io/rev": "default"}
    cluster.apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop", "labels": labels}}])
    app = make_app(cluster, pane="analysis")
    async with app.run_test(size=SIZE) as pilot:
        pane = app.query_one(AnalysisPane)
        await until(pilot, lambda: ("IT0301", "Namespace shop") in _codes(pane), "the double label")
        assert "webhooks" in pane.unwatched
        summary = str(app.query_one("#analysis-summary", Static).render())
        assert "not watched, so not checked: webhooks" in summary
