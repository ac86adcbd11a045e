"""The traffic pane against the sandbox, over real HTTP: deploy into an injected namespace, find the gateway,
apply presets through the keys, count stars, revert, clean up, export, and refuse what read-only forbids.

The Istio pieces the install wizard would bring (CRDs, injector webhook, ingress gateway) are created with
the data-plane tests' helper. The engine runs in the app's own event loop (``ENGINE_WORKERS = 0``) except in
the jason test, which goes through a worker process and its login.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static

from tests.helpers import hold, make_app, until, worker_running
from tests.sandbox.test_dataplane import deploy_bookinfo, install_istio
from tui import kube
from tui.app import IstioApp
from tui.errors import ConfigError, NotFound
from tui.istio import bookinfo
from tui.kube import Cluster
from tui.models import SplitRow
from tui.sandbox.cluster import Sandbox
from tui.screens.confirm import ConfirmScreen
from tui.screens.export import ExportScreen
from tui.screens.traffic import Knobs, TrafficPane, parse_knobs
from tui.screens.traffic.run import RunTally
from tui.traffic.snapshot import LatencySummary, TallySnapshot
from tui.widgets.split_history import stack
from tui.widgets.split_table import SplitTable

SIZE = (120, 36)
DEADLINE_S = 20.0
NS = "bookinfo"


@pytest.fixture(autouse=True)
def inline_engine(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(TrafficPane, "ENGINE_WORKERS", 0)
    yield


@pytest.fixture
def mesh(cluster: Cluster) -> int:
    """Istio's pieces in a fresh sandbox; returns the gateway's http2 nodePort."""
    return install_istio(cluster)


@pytest.fixture(scope="module")
def shared_mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cluster, int]]:
    """One sandbox with Istio and injected Bookinfo for the tests that only change routing."""
    sb = Sandbox(port=0, seed=0, pod_start_seconds=0.05).start()
    path = sb.write_kubeconfig(tmp_path_factory.mktemp("traffic") / "kubeconfig")
    cluster = Cluster.from_kubeconfig(path=str(path), context="sandbox")
    try:
        port = install_istio(cluster)
        deploy_bookinfo(cluster)
        yield cluster, port
    finally:
        cluster.close()
        sb.stop()


@pytest.fixture
def bookinfo_mesh(shared_mesh: tuple[Cluster, int]) -> Iterator[tuple[Cluster, int]]:
    """The shared mesh; every preset a test applied is reverted afterwards."""
    yield shared_mesh
    for host in ("reviews", "ratings"):
        bookinfo.revert(shared_mesh[0], namespace=NS, host=host)


def text_of(app: IstioApp, selector: str) -> str:
    """What the widget shows on screen, line by line."""
    widget = app.query_one(selector)
    return "\n".join(strip.text for strip in widget.render_lines(widget.size.region)).strip()


def pane(app: IstioApp) -> TrafficPane:
    return app.query_one(TrafficPane)


async def confirm(pilot: Pilot[Any], *, expect: str = "") -> ConfirmScreen:
    app = pilot.app
    await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "a confirmation")
    await until(pilot, lambda: app.focused is not None and app.focused.id == "confirm-no", "the dialog")
    screen = app.screen
    assert isinstance(screen, ConfirmScreen)
    await until(pilot, lambda: not screen.waiting, "the dialog's body")
    body = str(screen.query_one("#confirm-title", Static).render()) + str(
        screen.query_one("#confirm-body", Static).render()
    )
    assert expect in body, body
    assert "sandbox" in str(screen.query_one("#confirm-context", Static).render())
    await pilot.press("y")
    await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen), "the confirmation to close")
    return screen


async def ready_pane(pilot: Pilot[Any]) -> TrafficPane:
    """The pane once the gateway answers /productpage (Bookinfo deployed beforehand)."""
    p = pane(pilot.app)
    await until(pilot, lambda: p.view.verify is not None and p.view.verify.ok, "the gateway check")
    p.focus()
    return p


async def run_traffic(pilot: Pilot[Any], p: TrafficPane, *, requests: int, user: str = "") -> dict[str, int]:
    p.query_one("#knob-requests", Input).value = str(requests)
    p.query_one("#knob-rate", Input).value = "0"
    p.query_one("#knob-user", Input).value = user
    await pilot.pause()
    p.focus()
    await pilot.press("s")
    await until(pilot, lambda: p.latest is not None and p.latest.done, "the run to finish", limit=8)
    await until(pilot, lambda: not p.running, "the worker to end")
    assert p.latest is not None
    return {k: n for k, n in p.latest.counts.items() if n}


async def apply_preset(pilot: Pilot[Any], p: TrafficPane, key: str, expect: str) -> None:
    await pilot.press(key)
    await confirm(pilot, expect=expect)


async def test_deploy_into_injected_namespace_finds_gateway(cluster: Cluster, mesh: int) -> None:
    app = make_app(cluster, pane="traffic")
    async with app.run_test(size=SIZE) as pilot:
        p = pane(app)
        await until(pilot, lambda: p.view.ingress is not None, "the ingress gateway")
        assert p.namespace == NS
        assert "does not exist yet" in text_of(app, "#traffic-ns-status")
        p.focus()
        await pilot.press("i")  # creates the namespace, then the Namespaces toggle's own confirmation
        await confirm(pilot, expect="istio-injection=enabled")
        await until(
            pilot,
            lambda: (
                cluster.get(kube.NAMESPACES, NS)["metadata"].get("labels", {}).get("istio-injection")
                == "enabled"
            ),
            "the injection label",
        )
        shown = "✓ istio-injection"
        await until(pilot, lambda: shown in text_of(app, "#traffic-ns-status"), "the label shown")
        await pilot.press("d")
        await confirm(pilot, expect="2/2")
        await until(pilot, lambda: p.view.status is not None and p.view.status.ready, "Bookinfo ready")
        assert p.view.status is not None
        assert {pod.ready_text for pod in p.view.status.pods} == {"2/2"}
        assert len(p.view.status.pods) == 6 and p.view.status.productpage_sidecar is True
        assert "pods 6/6 ready (2/2)" in text_of(app, "#traffic-ns-status")
        assert text_of(app, "#traffic-pods").count("2/2") == 6
        await until(pilot, lambda: p.view.verify is not None and p.view.verify.ok, "/productpage to answer")
        gateway = text_of(app, "#traffic-gateway")
        assert f"GATEWAY_URL 127.0.0.1:{mesh}" in gateway and "/productpage answers 200" in gateway


async def test_fifty_fifty_preset_splits_400_requests(
    bookinfo_mesh: tuple[Cluster, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster, mesh = bookinfo_mesh
    app = make_app(cluster, pane="traffic")
    async with app.run_test(size=SIZE) as pilot:
        p = await ready_pane(pilot)
        await apply_preset(pilot, p, "3", "weight: 50")
        await until(pilot, lambda: p.view.reviews.preset == "reviews-v1-v3-50", "the preset")
        assert "v1 50% v3 50%" in text_of(app, "#traffic-routing")
        fed: list[TallySnapshot] = []
        feed = RunTally.feed

        def counting_feed(self: RunTally, snapshot: TallySnapshot) -> None:
            fed.append(snapshot)
            feed(self, snapshot)

        monkeypatch.setattr(RunTally, "feed", counting_feed)
        counts = await run_traffic(pilot, p, requests=400)
        # The screen hears from the engine at its fixed snapshot rate, not once per request.
        assert p.latest is not None and len(fed) <= p.latest.elapsed_s / 0.2 + 3 and len(fed) < 50
        assert set(counts) == {"no_stars", "red"} and sum(counts.values()) == 400
        # The sandbox's pick is seeded; the bound is still Binomial(400, 0.5)'s 99.9% interval.
        assert 167 <= counts["red"] <= 233, counts
        rows, n, _ = p.split_rows()
        assert n == 400
        assert {r.version: r.configured for r in rows} == {"v1": 0.5, "v3": 0.5}
        assert all(r.low <= 0.5 <= r.high and not r.disagrees for r in rows)
        await until(pilot, lambda: text_of(app, "#traffic-split").count("✓ agrees") == 2, "the table drawn")
        await pilot.press("r")
        await confirm(pilot, expect="Revert")
        await until(pilot, lambda: not p.view.reviews.exists, "the revert")
        with pytest.raises(NotFound):
            cluster.get(kube.VIRTUAL_SERVICES, "reviews", namespace=NS)


async def test_jason_preset_gives_black_stars_for_jason(
    bookinfo_mesh: tuple[Cluster, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster, _ = bookinfo_mesh
    monkeypatch.setattr(TrafficPane, "ENGINE_WORKERS", 1)  # a real worker process, logging in as jason
    app = make_app(cluster, pane="traffic")
    async with app.run_test(size=SIZE) as pilot:
        p = await ready_pane(pilot)
        await apply_preset(pilot, p, "2", "jason")
        await until(pilot, lambda: p.view.reviews.preset == "reviews-jason-v2", "the preset")
        counts = await run_traffic(pilot, p, requests=60, user="jason")
        assert counts == {"black": 60}
        rows, n, _ = p.split_rows()
        assert n == 60 and {r.version: r.configured for r in rows if r.configured} == {"v2": 1.0}
        await until(pilot, lambda: "60 100.0%" in text_of(app, "#traffic-bars").splitlines()[0], "the bar")


async def ratings_abort_for_jason(pilot: Pilot[Any], *, reviews_key: str, reviews_preset: str) -> TrafficPane:
    """The pane once a reviews preset and preset 8 (ratings answers 500 to jason) are in place."""
    p = await ready_pane(pilot)
    await apply_preset(pilot, p, reviews_key, "reviews")
    await apply_preset(pilot, p, "8", "httpStatus: 500")
    await until(pilot, lambda: p.view.ratings.preset == "ratings-abort-jason", "the fault preset")
    await until(pilot, lambda: p.view.reviews.preset == reviews_preset, "the reviews preset")
    return p


async def test_abort_preset_gives_ratings_unavailable_for_jason(bookinfo_mesh: tuple[Cluster, int]) -> None:
    cluster, mesh = bookinfo_mesh
    app = make_app(cluster, pane="traffic")
    async with app.run_test(size=SIZE) as pilot:
        p = await ratings_abort_for_jason(pilot, reviews_key="2", reviews_preset="reviews-jason-v2")
        assert "abort 500" in text_of(app, "#traffic-routing")
        counts = await run_traffic(pilot, p, requests=40, user="jason")
        assert counts == {"ratings_unavailable": 40}
        await until(pilot, lambda: "ratings unavailable 40" in text_of(app, "#traffic-bars"), "the errors")


async def test_ratings_fault_does_not_make_the_split_differ(bookinfo_mesh: tuple[Cluster, int]) -> None:
    """50/50 v1/v3 and ratings aborted for jason: v3 pages say "ratings unavailable" instead of red stars, but
    they still count for v3 (the pod that served them), so nothing "differs" and every page has a version."""
    cluster, _ = bookinfo_mesh
    app = make_app(cluster, pane="traffic")
    async with app.run_test(size=SIZE) as pilot:
        p = await ratings_abort_for_jason(pilot, reviews_key="3", reviews_preset="reviews-v1-v3-50")
        counts = await run_traffic(pilot, p, requests=300, user="jason")
        assert set(counts) == {"no_stars", "ratings_unavailable"} and sum(counts.values()) == 300
        split = p.split_rows()
        assert not any(r.disagrees for r in split[0]), split[0]
        observed = {r.version: r.observed for r in split[0]}
        assert observed == {"v1": counts["no_stars"], "v3": counts["ratings_unavailable"]}
        assert split[1:] == (300, 0)

        def note() -> str:
            return " ".join(text_of(app, "#traffic-split").split())

        shown = "300 pages by reviews version (as jason) · no known version: 0"
        await until(pilot, lambda: shown in note(), "the page counts in the box")
        assert "differs" not in text_of(app, "#traffic-split")


async def test_without_istio_presets_and_deploy_refuse_before_changing_anything(cluster: Cluster) -> None:
    """No Istio: a preset says the cluster does not serve Istio's API (not the server's bare 404) before any
    dialog, and a confirmed deploy says so before creating the namespace."""
    app = make_app(cluster, pane="traffic")
    refused = "does not serve Istio's networking.istio.io/v1 API"

    def refusals() -> int:
        return sum(refused in n.message for n in app._notifications)

    async with app.run_test(size=SIZE) as pilot:
        p = pane(app)
        await until(pilot, lambda: p.view.status is not None, "the first read of the cluster")
        p.focus()
        await pilot.press("1")
        await until(pilot, lambda: refusals() == 1, "the preset refused")
        assert not isinstance(app.screen, ConfirmScreen)
        assert not any("could not find" in n.message for n in app._notifications)
        await pilot.press("d")
        await confirm(pilot, expect="Deploy Bookinfo")
        await until(pilot, lambda: refusals() == 2, "the deploy refused")
        await pilot.press("r")
        await confirm(pilot, expect="Revert")
        await until(pilot, lambda: refusals() == 3, "the revert refused")
        await until(pilot, lambda: not app.workers, "the workers to end")
    with pytest.raises(NotFound):
        cluster.get(kube.NAMESPACES, NS)


@pytest.fixture
def held_preview(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    release = hold(monkeypatch, bookinfo, "preview_preset")
    yield release
    release.set()


async def typed_in_one_burst(pilot: Pilot[Any], release: threading.Event, *keys: str) -> ConfirmScreen | None:
    """Types ``keys`` while the preview is held; returns the dialog still open once the diff was read."""
    app = pilot.app
    await ready_pane(pilot)
    await pilot.press(*keys)
    if keys[-1] == "y":
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the pending dialog")
        hint = app.screen.query_one("#confirm-hint", Static)
        await until(pilot, lambda: hint.display, "the still-checking hint")
        assert "Still checking" in str(hint.render())
    else:
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen), "the dialog to close")
    release.set()
    await until(pilot, lambda: not worker_running(app, "routing preset preview"), "the preview to end")
    await pilot.pause()
    assert not worker_running(app, "applying a routing preset")
    return app.screen if isinstance(app.screen, ConfirmScreen) else None


async def test_no_typed_right_after_a_preset_key_cancels_it(
    bookinfo_mesh: tuple[Cluster, int], held_preview: threading.Event
) -> None:
    """QA typed ``3`` ``n`` in one burst: the ``n`` went to the pane and the dialog opened later, for good."""
    cluster, _ = bookinfo_mesh
    app = make_app(cluster, pane="traffic")
    async with app.run_test(size=SIZE) as pilot:
        assert await typed_in_one_burst(pilot, held_preview, "3", "n") is None
        assert app.focused is not pane(app).query_one("#traffic-namespace")
    with pytest.raises(NotFound):
        cluster.get(kube.VIRTUAL_SERVICES, "reviews", namespace=NS)


async def test_yes_typed_before_the_diff_is_shown_is_not_taken(
    bookinfo_mesh: tuple[Cluster, int], held_preview: threading.Event
) -> None:
    cluster, _ = bookinfo_mesh
    app = make_app(cluster, pane="traffic")
    async with app.run_test(size=SIZE) as pilot:
        screen = await typed_in_one_burst(pilot, held_preview, "3", "y")
        assert screen is not None
        await until(pilot, lambda: not screen.waiting, "the diff")
        assert "weight: 50" in str(screen.query_one("#confirm-body", Static).render())
        with pytest.raises(NotFound):
            cluster.get(kube.VIRTUAL_SERVICES, "reviews", namespace=NS)
        await pilot.press("y")
        await until(pilot, lambda: pane(app).view.reviews.preset == "reviews-v1-v3-50", "the preset")


async def test_cleanup_leaves_a_foreign_virtualservice(cluster: Cluster, mesh: int) -> None:
    deploy_bookinfo(cluster)
    foreign = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": "details", "namespace": NS, "labels": {"team": "books"}},
        "spec": {"hosts": ["details"], "http": [{"route": [{"destination": {"host": "details"}}]}]},
    }
    cluster.create(kube.VIRTUAL_SERVICES, foreign, namespace=NS)
    app = make_app(cluster, pane="traffic")
    async with app.run_test(size=SIZE) as pilot:
        p = await ready_pane(pilot)
        await apply_preset(pilot, p, "1", "reviews")
        await until(pilot, lambda: p.view.reviews.exists, "the preset")
        await pilot.press("c")
        await confirm(pilot, expect="only what istio-tui deployed")
        await until(
            pilot, lambda: not cluster.list(kube.DEPLOYMENTS, namespace=NS).items, "the Deployments to go"
        )
        await until(pilot, lambda: any("left alone" in n.message for n in app._notifications), "the summary")
        kept = cluster.get(kube.VIRTUAL_SERVICES, "details", namespace=NS)
        assert kept["spec"] == foreign["spec"] and kept["metadata"]["labels"] == {"team": "books"}
        names = {v["metadata"]["name"] for v in cluster.list(kube.VIRTUAL_SERVICES, namespace=NS).items}
        assert names == {"details"}
        assert not cluster.list(kube.SERVICES, namespace=NS).items
        assert cluster.get(kube.NAMESPACES, NS)


async def test_read_only_binds_no_cluster_change_but_allows_traffic(
    bookinfo_mesh: tuple[Cluster, int],
) -> None:
    cluster, mesh = bookinfo_mesh
    app = make_app(cluster, pane="traffic", readonly=True)
    async with app.run_test(size=SIZE) as pilot:
        p = await ready_pane(pilot)
        for key in ("d", "i", "3", "r", "c"):
            await pilot.press(key)
            await pilot.pause(0.1)
            assert not isinstance(app.screen, ConfirmScreen), key
        assert p.check_action("preset", ("reviews-v3",)) is False
        assert p.check_action("cleanup", ()) is False and p.check_action("toggle_traffic", ()) is True
        with pytest.raises(NotFound):
            cluster.get(kube.VIRTUAL_SERVICES, "reviews", namespace=NS)
        counts = await run_traffic(pilot, p, requests=30)
        assert sum(counts.values()) == 30 and set(counts) <= {"no_stars", "black", "red"}


async def test_bad_knobs_are_explained_and_change_nothing(bookinfo_mesh: tuple[Cluster, int]) -> None:
    cluster, mesh = bookinfo_mesh
    app = make_app(cluster, pane="traffic")
    async with app.run_test(size=SIZE) as pilot:
        p = pane(app)
        before = p.knobs
        p.focus()
        await pilot.press("e")
        assert p.query_one("#knob-concurrency", Input).has_focus
        await pilot.press("x", "enter")
        message = text_of(app, "#traffic-message")
        assert "concurrency must be a whole number, got 'x'" in message
        assert p.knobs == before and p.query_one("#knob-concurrency", Input).has_class("-bad")
        p.query_one("#knob-concurrency", Input).value = "0"
        await pilot.pause()
        assert "concurrency must be at least 1, got 0" in text_of(app, "#traffic-message")
        p.query_one("#knob-concurrency", Input).value = "4"
        await pilot.pause()
        p.query_one("#knob-requests", Input).value = "10"
        p.query_one("#knob-duration", Input).value = "5"
        await pilot.pause()
        assert "either a request count or a duration" in text_of(app, "#traffic-message")
        assert p.knobs.concurrency == 4 and p.knobs.requests is None
        bad_values = (
            ("duration", "-1", "positive"),
            ("rate", "fast", "rate must"),
            ("requests", "1.5", "whole"),
            ("pods", "99999999", "pods must be at most 100, got 99999999 — still using"),
        )
        for key, bad, says in bad_values:
            p.query_one("#knob-requests", Input).value = ""
            p.query_one("#knob-duration", Input).value = ""
            p.query_one(f"#knob-{key}", Input).value = bad
            await pilot.pause()
            assert says in text_of(app, "#traffic-message"), key
            assert p.knobs.concurrency == 4 and p.knobs.rate == before.rate and p.knobs.pods == 0
            p.query_one(f"#knob-{key}", Input).value = ""
        p.query_one("#knob-rate", Input).value = "20"
        p.query_one("#knob-duration", Input).value = "2.5s"
        await pilot.pause()
        assert p.query_one("#traffic-message", Static).has_class("-hidden")
        assert (p.knobs.rate, p.knobs.duration_s) == (20.0, 2.5)
        await pilot.press("escape", "n")
        ns_input = p.query_one("#traffic-namespace", Input)
        assert ns_input.has_focus
        await pilot.press("B", "a", "d", "_", "n", "s", "enter")
        assert "invalid namespace name 'Bad_ns'" in text_of(app, "#traffic-message")
        assert p.namespace == NS
        await pilot.press("escape")
        assert ns_input.value == NS and p.has_focus


async def test_export_names_a_file_and_never_overwrites(
    bookinfo_mesh: tuple[Cluster, int], tmp_path: Path
) -> None:
    cluster, mesh = bookinfo_mesh
    app = make_app(cluster, pane="traffic")
    async with app.run_test(size=SIZE) as pilot:
        p = await ready_pane(pilot)
        await pilot.press("x")
        await until(pilot, lambda: any("nothing to export" in n.message for n in app._notifications), "a no")
        await run_traffic(pilot, p, requests=20)

        async def open_dialog() -> Input:
            await pilot.press("x")
            await until(pilot, lambda: isinstance(app.screen, ExportScreen), "the export dialog")
            return app.screen.query_one("#export-path", Input)

        async def submit(field: Input, name: str) -> str:
            """The error shown in the dialog, or "" once it closed after saving."""
            field.value = name
            await pilot.press("enter")
            await pilot.pause()
            if isinstance(app.screen, ExportScreen):
                return str(app.screen.query_one("#export-error", Static).render())
            return ""

        target = tmp_path / "run.json"
        field = await open_dialog()
        assert field.value.startswith("traffic-bookinfo-") and field.value.endswith(".json")
        assert await submit(field, str(target)) == ""
        record = json.loads(target.read_text())
        assert record["run"]["requests"] == 20 and sum(record["run"]["tally"].values()) == 20
        assert record["namespace"] == NS and record["gateway_url"] == f"127.0.0.1:{mesh}"
        assert record["knobs"]["requests"] == 20 and record["split"]["pages"] == 20
        original = target.read_text()
        field = await open_dialog()
        for name, says in (
            (str(target), "already exists"),
            (str(tmp_path / "missing" / "run.json"), "does not exist"),
            (str(tmp_path / "run.txt"), "must end in .json"),
            (str(target / "run.csv"), "is a file, not a folder"),
            ("/proc/run.csv", "cannot write /proc/run.csv"),
            ("  ", "name a file"),
        ):
            assert says in await submit(field, name), name
        assert target.read_text() == original
        assert await submit(field, str(tmp_path / "run.csv")) == ""
        lines = (tmp_path / "run.csv").read_text().splitlines()
        assert lines[0].startswith("t_s,requests,black,red,no_stars")
        assert sum(int(line.split(",")[1]) for line in lines[1:]) == 20


async def test_pending_load_balancer_is_patched_after_confirmation(cluster: Cluster) -> None:
    install_istio(cluster, service_type="LoadBalancer")
    app = make_app(cluster, pane="traffic")
    async with app.run_test(size=SIZE) as pilot:
        p = pane(app)
        await until(pilot, lambda: p.view.ingress is not None, "the ingress gateway")
        assert "LoadBalancer pending" in text_of(app, "#traffic-gateway")
        p.focus()
        await pilot.press("g")
        await confirm(pilot, expect="NodePort")

        def service_type() -> str:
            svc = cluster.get(kube.SERVICES, "istio-ingressgateway", namespace="istio-system")
            return str(svc["spec"]["type"])

        await until(pilot, lambda: service_type() == "NodePort", "the patch")
        def shows_nodeport() -> bool:
            line = text_of(app, "#traffic-gateway")
            return "  NodePort  " in line and "LoadBalancer" not in line

        await until(pilot, shows_nodeport, "the new type")
        assert "(d deploys Bookinfo)" in text_of(app, "#traffic-gateway")  # the Service's name gave way


async def test_productpage_without_sidecar_is_warned(cluster: Cluster, mesh: int) -> None:
    deploy_bookinfo(cluster, inject=False)
    app = make_app(cluster, pane="traffic")
    async with app.run_test(size=SIZE) as pilot:
        p = await ready_pane(pilot)
        await until(pilot, lambda: "no istio-proxy sidecar" in text_of(app, "#traffic-pods"), "the warning")
        assert "1/1" in text_of(app, "#traffic-pods")
        await until(pilot, lambda: "press i" in text_of(app, "#traffic-ns-status"), "the injection offer")
        await pilot.press("s")
        await until(pilot, lambda: p.running, "the run")
        await pilot.press("s")
        await until(pilot, lambda: not p.running, "the stop")
        assert p.latest is not None


def test_split_chart_slots_always_fill_the_column() -> None:
    assert stack({}, 10) == []
    assert stack({"black": 1, "red": 1, "no_stars": 1}, 10) == ["black"] * 4 + ["red"] * 3 + ["no_stars"] * 3
    column = stack({"red": 50, "no_stars": 49, "http_error": 1}, 10)
    assert len(column) == 10 and column.count("red") == 5 and column.count("errors") == 0
    assert stack({"transport_error": 3, "ratings_unavailable": 1}, 4) == ["errors"] * 4


def test_parse_knobs_names_the_bad_field() -> None:
    good = {"concurrency": "4", "rate": "", "requests": "", "duration": "30s", "user": " jason "}
    assert parse_knobs(good) == Knobs(concurrency=4, rate=0.0, duration_s=30.0, user="jason")
    for field, value, says in (
        ("concurrency", "", "concurrency must be a whole number"),
        ("rate", "-1", "rate must be 0"),
        ("requests", "0", "requests must be at least 1"),
        ("duration", "inf", "duration must be a positive"),
        ("pods", "99999999", "pods must be at most 100, got 99999999"),
    ):
        with pytest.raises(ConfigError, match=says):
            parse_knobs({**good, "duration": "", field: value})


async def start_endless_run(pilot: Pilot[Any], p: TrafficPane, *, rate: int = 200) -> None:
    p.query_one("#knob-requests", Input).value = ""
    p.query_one("#knob-duration", Input).value = ""
    p.query_one("#knob-rate", Input).value = str(rate)
    p.query_one("#knob-user", Input).value = ""
    await pilot.pause()
    p.focus()
    await pilot.press("s")
    await until(pilot, lambda: p.latest is not None and p.latest.requests >= 60, "the run to get going")


async def stop_run(pilot: Pilot[Any], p: TrafficPane) -> None:
    p.focus()
    await pilot.press("s")
    await until(pilot, lambda: not p.running, "the run to stop")


def configured(rows: Sequence[SplitRow]) -> dict[str, float]:
    return {r.version: r.configured for r in rows if r.configured}


async def test_after_a_preset_new_weights_are_only_compared_with_new_counts(
    bookinfo_mesh: tuple[Cluster, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """All red, then a preset sends everything to v1: no frame may show "≠ differs" on the way over, because
    the counts under the old routing are not compared with the new weights."""
    cluster, _ = bookinfo_mesh
    drawn: list[list[SplitRow]] = []
    show = SplitTable.show

    def recording_show(self: SplitTable, rows: Sequence[SplitRow], **kwargs: Any) -> None:
        drawn.append(list(rows))
        show(self, rows, **kwargs)

    monkeypatch.setattr(SplitTable, "show", recording_show)
    app = make_app(cluster, pane="traffic")
    async with app.run_test(size=SIZE) as pilot:
        p = await ready_pane(pilot)
        await apply_preset(pilot, p, "6", "v3")
        await until(pilot, lambda: p.view.reviews.preset == "reviews-v3", "the v3 preset")
        await start_endless_run(pilot, p)
        await pilot.press("1")
        await confirm(pilot, expect="v1")

        def counted() -> bool:
            rows, n, _ = p.split_rows()
            return configured(rows) == {"v1": 1.0} and n >= 60

        await until(pilot, counted, "60 pages counted under the v1 preset")
        await stop_run(pilot, p)
        under_v1 = [rows for rows in drawn if configured(rows) == {"v1": 1.0}]
        assert under_v1
        assert not any(r.disagrees for rows in under_v1 for r in rows), [r for rows in under_v1 for r in rows]
        rows, n, _ = p.split_rows()
        assert {r.version: r.observed for r in rows if r.observed} == {"v1": n}


async def test_namespace_change_is_refused_while_traffic_runs(bookinfo_mesh: tuple[Cluster, int]) -> None:
    """The run's load keeps going to the gateway it started with, so the namespace stays until it stops."""
    cluster, _ = bookinfo_mesh
    app = make_app(cluster, pane="traffic")
    async with app.run_test(size=SIZE) as pilot:
        p = await ready_pane(pilot)
        await start_endless_run(pilot, p)
        await pilot.press("n")
        p.query_one("#traffic-namespace", Input).value = "nonexist"
        await pilot.press("enter")
        assert "stop it first (s) — still using namespace bookinfo" in text_of(app, "#traffic-message")
        assert (p.namespace, p.poller.namespace, p.view.namespace) == (NS, NS, NS)
        await pilot.pause(0.3)
        assert p.running and not p.tally.settling and p.tally.baseline is None
        await stop_run(pilot, p)
        p.query_one("#traffic-namespace", Input).focus()
        await pilot.press("enter")
        assert p.namespace == "nonexist" and p.query_one("#traffic-message", Static).has_class("-hidden")


async def test_split_age_ticks(bookinfo_mesh: tuple[Cluster, int]) -> None:
    cluster, _ = bookinfo_mesh
    app = make_app(cluster, pane="traffic")
    async with app.run_test(size=SIZE) as pilot:
        p = await ready_pane(pilot)
        await start_endless_run(pilot, p, rate=100)
        await apply_preset(pilot, p, "3", "weight: 50")
        await until(pilot, lambda: "split over the last" in text_of(app, "#traffic-stats"), "the split's age")

        def age() -> str:
            line = text_of(app, "#traffic-stats").splitlines()[2]
            return line.split("split over the last", 1)[1].split("s")[0].strip()

        first = age()
        await until(pilot, lambda: age() != first, f"the age to move on from {first}", limit=5)
        await stop_run(pilot, p)


async def test_export_dialog_count_is_the_files_count(
    bookinfo_mesh: tuple[Cluster, int], tmp_path: Path
) -> None:
    """The run goes on while the dialog is open: the file holds exactly the run the dialog named."""
    cluster, _ = bookinfo_mesh
    app = make_app(cluster, pane="traffic")
    async with app.run_test(size=SIZE) as pilot:
        p = await ready_pane(pilot)
        await start_endless_run(pilot, p, rate=100)
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, ExportScreen), "the export dialog")
        body = str(app.screen.query_one("#export-body", Static).render())
        shown = int(body.split(" requests over", 1)[0].split()[-1])
        assert p.latest is not None
        await until(pilot, lambda: p.latest is not None and p.latest.requests > shown + 30, "more requests")
        field = app.screen.query_one("#export-path", Input)
        field.value = str(tmp_path / "run.json")
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(app.screen, ExportScreen), "the dialog to close")
        record = json.loads((tmp_path / "run.json").read_text())
        assert record["run"]["requests"] == shown
        assert sum(record["run"]["tally"].values()) == shown
        await stop_run(pilot, p)


def test_a_routing_change_opens_a_new_epoch() -> None:
    """Nothing is compared while the change settles; afterwards only pages counted since then are."""
    zeros = dict.fromkeys(("no_stars", "black", "red"), 0)

    def snap(t: float, **counts: int) -> TallySnapshot:
        tally = {**zeros, **counts}
        total = sum(tally.values())
        return TallySnapshot(
            url="u", elapsed_s=t, requests=total, counts=tally, details_unavailable=0, by_pod={},
            status_codes={200: total}, latency=LatencySummary(), transport_errors={},
        )

    run = RunTally()
    run.feed(snap(1.0, red=50))
    assert run.window().counts["red"] == 50 and run.window().since_s is None
    run.new_epoch()
    run.feed(snap(1.5, red=60))
    assert run.settling and run.window().counts == {}
    run.feed(snap(2.0, red=61, no_stars=5))
    assert not run.settling
    run.feed(snap(3.0, red=61, no_stars=30))
    window = run.window()
    assert window.counts == {"no_stars": 25} and window.since_s == 1.0


async def test_background_reads_run_on_streams_not_in_the_worker_pool(cluster: Cluster) -> None:
    """The Bookinfo poller and the namespace view's watches never end: they must not hold pool threads."""
    app = make_app(cluster, pane="traffic")
    async with app.run_test(size=SIZE) as pilot:
        p = pane(app)
        await until(pilot, lambda: p.view.status is not None, "the first Bookinfo view")
        names = {t.name for t in threading.enumerate()}
        assert "stream-bookinfo-status" in names, names
        long_lived = [w for w in app.workers if w.group in ("traffic-poll", "ns-watch")]
        assert not long_lived, long_lived
