"""The Traffic pane explains a run's 503s with the analysis finding, inline, and drops it once fixed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers import make_app, until
from tests.sandbox.test_dataplane import deploy_bookinfo, install_istio
from tests.ui.test_traffic_pane import NS, SIZE, ready_pane, run_traffic, text_of
from tui.kube import Cluster
from tui.screens.traffic import TrafficPane
from tui.screens.traffic.diagnosis import FindingsLine


@pytest.fixture(autouse=True)
def inline_engine(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(TrafficPane, "ENGINE_WORKERS", 0)
    yield


async def test_503s_show_the_missing_subset_inline(cluster: Cluster) -> None:
    install_istio(cluster)
    deploy_bookinfo(cluster)
    drs = cluster.resource_for(api_version="networking.istio.io/v1", kind="DestinationRule")
    vss = cluster.resource_for(api_version="networking.istio.io/v1", kind="VirtualService")
    only_v1_v2 = [{"name": v, "labels": {"version": v}} for v in ("v1", "v2")]
    cluster.patch(
        drs,
        "reviews",
        [{"op": "replace", "path": "/spec/subsets", "value": only_v1_v2}],
        namespace=NS,
        patch_type="json",
    )
    route = [{"destination": {"host": "reviews", "subset": v}, "weight": 50} for v in ("v1", "v3")]
    vs = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": "reviews", "namespace": NS},
        "spec": {"hosts": ["reviews"], "http": [{"route": route}]},
    }
    cluster.create(vss, vs, namespace=NS)

    app = make_app(cluster, pane="traffic")
    async with app.run_test(size=SIZE) as pilot:
        p = await ready_pane(pilot)
        counts = await run_traffic(pilot, p, requests=200)
        assert counts.get("reviews_unavailable"), counts
        line = p.query_one(FindingsLine)
        await until(pilot, lambda: bool(line.lines), "the inline finding")
        assert line.lines[0].startswith(
            "503: VirtualService reviews routes to subset v3, which no DestinationRule defines"
        ), line.lines
        await until(
            pilot,
            lambda: "503: VirtualService reviews routes to subset v3" in text_of(app, "#traffic-findings"),
            "the line on screen",
        )

        cluster.patch(
            drs,
            "reviews",
            [{"op": "add", "path": "/spec/subsets/-", "value": {"name": "v3", "labels": {"version": "v3"}}}],
            namespace=NS,
            patch_type="json",
        )
        counts = await run_traffic(pilot, p, requests=200)
        assert not counts.get("reviews_unavailable"), counts
        await until(pilot, lambda: not line.lines and line.has_class("-hidden"), "the finding to go")
