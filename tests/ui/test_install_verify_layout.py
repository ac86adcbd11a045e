"""The verify checklist (install step 4) at 80x24: every detail whole (QA found ``INGRESS_HOST:PORT =
127.0.0.1:30…`` cut in a 13-column detail column) and the ztunnel line and the gateway banner on screen."""

from __future__ import annotations

import pytest
from textual.widgets import Static

from tests.helpers import make_app, open_install_step, until
from tui.istio.verify import VerifyReport
from tui.kube import Cluster
from tui.models import CheckLine, IngressInfo
from tui.screens.install.verify import VerifyStep

GATEWAY = "INGRESS_HOST:PORT = 127.0.0.1:30823 (NodePort)"
REPORT = VerifyReport(
    lines=(
        CheckLine("istiod", "istiod ready", "pass", "istiod 1/1 ready"),
        CheckLine(
            "injector", "Sidecar injector webhook", "pass", "istio-sidecar-injector present (4 webhooks)"
        ),
        CheckLine("validator", "Config validation webhook", "pass", "istio-validator-istio-system present"),
        CheckLine("crds", "Istio CRDs established", "pass", "12 Istio CRDs established"),
        CheckLine("gateway", "Ingress gateway address", "pass", GATEWAY),
        CheckLine("tracing", "Tracing", "pass", "enableTracing true, providers jaeger"),
        CheckLine(
            "node-agents",
            "ztunnel and istio-cni on every node",
            "pass",
            "ztunnel and istio-cni-node ready on 1/1 nodes",
        ),
        CheckLine("version", "Control plane version", "pass", "Istio 1.30.4"),
    ),
    ingress=IngressInfo("istio-ingressgateway", "istio-system", "NodePort", "127.0.0.1", 30823, "node-port"),
    version="1.30.4",
)


def shown(widget: Static) -> list[str]:
    return [widget.render_line(y).text.rstrip() for y in range(widget.size.height)]


@pytest.mark.parametrize("size", [(80, 24), (120, 36)], ids=["80x24", "120x36"])
async def test_verify_details_whole_and_on_screen(cluster: Cluster, size: tuple[int, int]) -> None:
    app = make_app(cluster, pane="install", sandbox=True)
    async with app.run_test(size=size) as pilot:
        view = await open_install_step(pilot, "4", VerifyStep)
        await until(pilot, lambda: view.report is not None and not view.is_busy, "the sandbox's own verify")
        view.post_message(VerifyStep.Checked(REPORT))
        lines = view.query_one("#verify-lines", Static)
        await until(pilot, lambda: view.report is REPORT and any("ztunnel" in t for t in shown(lines)), "it")
        text = shown(lines)
        assert any(GATEWAY in t for t in text), text
        assert any("ztunnel and istio-cni-node ready on 1/1 nodes" in t for t in text), text
        assert len(text) <= 12, text  # one or two lines a check
        address = view.query_one("#verify-address", Static)
        assert address.region.bottom <= view.region.bottom, (address.region, view.region)
        assert view.scroll_y == 0
