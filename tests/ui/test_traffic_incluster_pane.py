"""The Traffic pane's "in-cluster ×N" knob against the sandbox: a real Job whose two pods run as processes,
both shown with their rate and state, their tallies merged into the one split, and nothing left behind."""

from __future__ import annotations

from textual.widgets import Input

from tests.helpers import make_app, until
from tests.ui.test_traffic_pane import NS, SIZE, ready_pane, shared_mesh, text_of  # noqa: F401
from tui import kube
from tui.kube import Cluster


async def test_in_cluster_two_pods_show_and_merge(shared_mesh: tuple[Cluster, int]) -> None:  # noqa: F811
    cluster, _ = shared_mesh
    app = make_app(cluster, pane="traffic")
    async with app.run_test(size=SIZE) as pilot:
        p = await ready_pane(pilot)
        p.query_one("#knob-requests", Input).value = "300"
        p.query_one("#knob-rate", Input).value = "0"
        p.query_one("#knob-pods", Input).value = "2"
        await pilot.pause()
        await until(pilot, lambda: p.knobs.pods == 2, "the in-cluster knob")
        p.focus()
        await pilot.press("s")  # may return only once the run is over: press waits for the pane to go idle
        await until(pilot, lambda: p.tally.load_pods and not p.running, "the in-cluster run to end", limit=90)
        assert p.latest is not None and p.latest.requests == 300
        assert sorted(pod.requests for pod in p.tally.load_pods) == [150, 150]
        rows, n, _ = p.split_rows()
        assert n == 300 and sum(r.observed for r in rows) == 300

        def each_pod_shown() -> bool:  # one line each, named by the suffix that tells the Job's pods apart
            shown = text_of(app, "#traffic-load-pods").splitlines()
            wanted = [(q.name.rsplit("-", 1)[1], q.state, f"{q.rps:.0f}/s") for q in p.tally.load_pods]
            return len(shown) == 2 and all(any(all(w in ln for w in ws) for ln in shown) for ws in wanted)

        await until(pilot, each_pod_shown, "both load pods with their final rate and state")
    label = "app.kubernetes.io/name=istio-tui-load"
    assert cluster.list(kube.JOBS, namespace=NS, label_selector=label).items == []
    assert cluster.list(kube.PODS, namespace=NS, label_selector=label).items == []
