"""The pod table, driven with Pilot against the real sandbox over HTTPS."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.geometry import Region
from textual.widgets import Input, RichLog, Static

from tests.helpers import until, wait_for
from tui import kube
from tui.app import IstioApp
from tui.config import Settings
from tui.errors import NotFound
from tui.kube import Cluster
from tui.models import DATAPLANE_SIDECAR, SIDECAR_MISSING, PodHealth, PodRow
from tui.sandbox import logs as sandbox_logs
from tui.sandbox.cluster import Sandbox
from tui.screens.confirm import ConfirmScreen
from tui.screens.describe import PodDescribeScreen, PodYamlScreen
from tui.screens.logs import PodLogsScreen
from tui.screens.pods import PodsPane, parse_filter
from tui.widgets.header import AppHeader
from tui.widgets.pod_table import SORT_KEYS, PodTable

SIZE = (120, 36)


def rows(app: IstioApp) -> dict[str, dict[str, str]]:
    """name -> {column key: text} for the rows the table shows."""
    table = app.query_one(PodTable)
    out = {}
    for i in range(table.row_count):
        cells = table.cells(i)
        out[cells["name"]] = cells
    return out


def names(app: IstioApp) -> list[str]:
    table = app.query_one(PodTable)
    return [table.row_at(i).name for i in range(table.row_count)]


def make_app(cluster: Cluster, **settings: Any) -> IstioApp:
    return IstioApp(settings=Settings(**settings), cluster=cluster, info=cluster.info())


def ns(cluster: Cluster, name: str, labels: dict[str, str] | None = None) -> None:
    cluster.create(kube.NAMESPACES, {"metadata": {"name": name, "labels": labels or {}}})


def pod(cluster: Cluster, namespace: str, name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    body = {
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
        "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]},
    }
    return cluster.create(kube.PODS, body, namespace=namespace)


def test_parse_filter() -> None:
    assert parse_filter("web") == ("web", None)
    assert parse_filter("-l app=web") == ("", "app=web")
    assert parse_filter("^re -l app in (a,b)") == ("^re", "app in (a,b)")
    assert parse_filter("x -l") == ("x", "")


async def test_rows_appear_change_and_disappear(sandbox: Sandbox, cluster: Cluster) -> None:
    ns(cluster, "book")
    pod(cluster, "book", "a-first")
    app = make_app(cluster, namespace="book")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: rows(app).get("a-first", {}).get("status") == "Running", "a-first Running")
        assert rows(app)["a-first"]["ready"] == "1/1"
        assert "namespace" not in rows(app)["a-first"]  # single-namespace view

        created = pod(cluster, "book", "b-second")
        await until(pilot, lambda: rows(app).get("b-second", {}).get("status") == "Running", "b-second up")
        table = app.query_one(PodTable)
        table.move_cursor(row=1)
        assert table.selected() is not None and table.selected().name == "b-second"

        def crash(obj: dict[str, Any]) -> None:
            obj["status"]["containerStatuses"][0].update(
                ready=False,
                restartCount=4,
                state={"waiting": {"reason": "CrashLoopBackOff", "message": "back-off"}},
            )

        assert sandbox.store is not None
        sandbox.store.update("pods", "b-second", namespace="book", mutate=crash)
        await until(pilot, lambda: rows(app)["b-second"]["status"] == "CrashLoopBackOff", "crash loop")
        assert rows(app)["b-second"]["restarts"] == "4"
        assert rows(app)["b-second"]["ready"] == "0/1"
        assert table.selected().uid == created["metadata"]["uid"]  # the cursor stayed on the changed pod

        pod(cluster, "book", "0-before")  # sorts above the cursor: the cursor must follow its pod
        await until(pilot, lambda: "0-before" in rows(app), "0-before to appear")
        assert names(app) == ["0-before", "a-first", "b-second"]
        assert table.selected().name == "b-second"

        cluster.delete(kube.PODS, "a-first", namespace="book")
        await until(pilot, lambda: "a-first" not in rows(app), "a-first to disappear")
        assert table.selected().name == "b-second"
        assert table.row_count == 2


async def test_regex_filter_and_label_selector(cluster: Cluster) -> None:
    ns(cluster, "shop")
    for name, app_label in (("web-1", "web"), ("web-2", "web"), ("api-1", "api"), ("db-1", "db")):
        pod(cluster, "shop", name, {"app": app_label})
    app = make_app(cluster, namespace="shop")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: len(rows(app)) == 4, "4 pods")
        await pilot.press("slash", *"web-1")
        await until(pilot, lambda: list(rows(app)) == ["web-1"], "live regex filter")
        await pilot.press("enter")
        assert app.query_one(PodsPane).filter_text == "web-1"
        title = str(app.query_one("#pods-title", Static).render())
        assert "/web-1" in title and "[1/4]" in title

        await pilot.press("escape")
        await until(pilot, lambda: len(rows(app)) == 4, "esc clears the filter")

        await pilot.press("slash", *"-l app=web", "enter")
        await until(pilot, lambda: sorted(rows(app)) == ["web-1", "web-2"], "label selector")
        pane = app.query_one(PodsPane)
        assert pane.selector == "app=web"
        assert sorted(r.name for r in pane.table.pods.values()) == [
            "web-1",
            "web-2",
        ]  # filtered by the server

        await pilot.press("slash")
        await pilot.press("ctrl+u", *"api|db", "enter")  # regex alone drops the selector
        await until(pilot, lambda: sorted(rows(app)) == ["api-1", "db-1"], "regex after selector")
        assert pane.selector == ""

        await pilot.press("colon", *"-l app!=web", "enter")  # the : prompt takes a selector too
        await until(pilot, lambda: pane.selector == "app!=web", "selector from :")
        await pilot.press("escape")
        await until(pilot, lambda: len(rows(app)) == 4 and pane.selector == "", "esc clears both")

        await pilot.press("slash", *"([bad", "enter")
        assert any("bad regex" in n.message for n in app._notifications)
        assert len(rows(app)) == 4


async def test_namespace_switch_with_prompt_and_digits(cluster: Cluster) -> None:
    ns(cluster, "alpha")
    ns(cluster, "beta")
    pod(cluster, "alpha", "pa")
    pod(cluster, "beta", "pb")
    app = make_app(cluster)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: {"pa", "pb"} <= set(rows(app)), "both pods in all namespaces")
        assert rows(app)["pa"]["namespace"] == "alpha"

        await pilot.press("colon", *"ns al", "tab")  # completion
        assert app.query_one("#command-prompt").value == "ns alpha"
        await pilot.press("enter")
        await until(pilot, lambda: list(rows(app)) == ["pa"], "alpha only")
        assert "namespace" not in rows(app)["pa"]
        assert app.namespace == "alpha"

        await pilot.press("colon", *"beta", "enter")
        await until(pilot, lambda: list(rows(app)) == ["pb"], "beta only")
        assert app.recent_namespaces[:2] == ["beta", "alpha"]
        assert "2 alpha" in str(app.query_one("#pods-recent", Static).render())

        await pilot.press("2")
        await until(pilot, lambda: list(rows(app)) == ["pa"], "recent namespace 2 = alpha")
        await pilot.press("0")
        await until(pilot, lambda: {"pa", "pb"} <= set(rows(app)), "0 = all namespaces")
        assert app.namespace is None

        await pilot.press("colon", *"Not_A_Namespace", "enter")
        assert app.namespace is None
        assert any("unknown command or namespace" in n.message for n in app._notifications)


async def test_forbidden_namespace_says_no_access(sandbox: Sandbox, cluster: Cluster) -> None:
    ns(cluster, "locked")
    pod(cluster, "locked", "secret-pod")
    sandbox.forbid(resource="pods", namespace="locked")
    app = make_app(cluster, namespace="locked")
    async with app.run_test(size=SIZE) as pilot:
        message = app.query_one("#pods-message", Static)
        await until(pilot, lambda: message.display, "the no-access message")
        assert "no access to pods in locked" in str(message.render())
        assert not app.query_one(PodTable).display
        assert not any(n.severity == "error" for n in app._notifications)  # shown in place, not as a toast


async def test_readonly_does_not_bind_delete(cluster: Cluster) -> None:
    ns(cluster, "ro")
    pod(cluster, "ro", "keep-me")
    app = make_app(cluster, namespace="ro", readonly=True)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: "keep-me" in rows(app), "pod row")
        pane = app.query_one(PodsPane)
        assert "ctrl+d" not in pane._bindings.key_to_bindings
        await pilot.press("ctrl+d")
        await pilot.pause(0.2)
        assert not isinstance(app.screen, ConfirmScreen)
        app.run_pane_action("pods", "delete")  # the palette path is refused too
        await pilot.pause(0.2)
        assert not isinstance(app.screen, ConfirmScreen)
        assert cluster.get(kube.PODS, "keep-me", namespace="ro")["metadata"]["name"] == "keep-me"


async def test_delete_confirms_naming_the_context(cluster: Cluster) -> None:
    ns(cluster, "del")
    pod(cluster, "del", "doomed")
    app = make_app(cluster, namespace="del")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: "doomed" in rows(app), "pod row")
        await pilot.press("ctrl+d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "confirmation")
        assert "sandbox" in str(app.screen.query_one("#confirm-context", Static).render())
        await pilot.press("n")
        await pilot.pause(0.1)
        assert cluster.get(kube.PODS, "doomed", namespace="del")
        await pilot.press("ctrl+d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "confirmation again")
        await pilot.press("y")
        await until(pilot, lambda: "doomed" not in rows(app), "row to go")
        with pytest.raises(NotFound):
            cluster.get(kube.PODS, "doomed", namespace="del")


async def test_sort_keys_keep_the_cursor_on_its_pod(cluster: Cluster) -> None:
    ns(cluster, "sorted")
    for name in ("c", "a", "b"):
        pod(cluster, "sorted", name)
    app = make_app(cluster, namespace="sorted")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: len(rows(app)) == 3, "3 pods")
        assert names(app) == ["a", "b", "c"]
        table = app.query_one(PodTable)
        table.move_cursor(row=0)
        await pilot.press("N")  # same column again: reversed
        assert names(app) == ["c", "b", "a"]
        assert table.selected().name == "a"
        await pilot.press("R")
        assert "sort: restarts" in str(app.query_one("#pods-title", Static).render())
        assert names(app) == ["a", "b", "c"]  # equal restarts: by name
        assert table.selected().name == "a"


def test_age_sort_is_newest_first() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)

    def row(name: str, hours: int) -> PodRow:
        return PodRow(
            uid=name,
            namespace="n",
            name=name,
            ready=1,
            total=1,
            status="Running",
            health=PodHealth.OK,
            restarts=0,
            created=now - timedelta(hours=hours),
            ip="",
            node="",
            phase="Running",
            has_sidecar=False,
            terminal=False,
        )

    pods = [row("old", 30), row("new", 1), row("mid", 5)]
    assert [p.name for p in sorted(pods, key=SORT_KEYS["age"])] == ["new", "mid", "old"]


async def test_describe_yaml_and_logs(cluster: Cluster) -> None:
    ns(cluster, "view")
    cluster.create(
        kube.PODS,
        {
            "metadata": {"name": "two", "namespace": "view"},
            "spec": {
                "containers": [
                    {"name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.28.0"},
                    {"name": "web", "image": "nginx:1.27"},
                ]
            },
        },
        namespace="view",
    )
    app = make_app(cluster, namespace="view")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: rows(app).get("two", {}).get("status") == "Running", "pod running")
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, PodDescribeScreen), "describe")
        body = app.screen.query_one("#viewer-text", Static)
        await until(pilot, lambda: "Events:" in str(body.render()), "describe text")
        text = str(body.render())
        assert "Name:          two" in text and "Scheduled" in text  # the pod's events are included
        await pilot.press("escape")
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, PodYamlScreen), "yaml")
        await pilot.press("escape")
        await pilot.press("l")
        await until(pilot, lambda: isinstance(app.screen, PodLogsScreen), "logs")
        assert app.screen.container == "web"  # the app container, not istio-proxy
        await pilot.press("c")
        assert app.screen.container == "istio-proxy"


@pytest.fixture(params=["v1.32.0", "v1.33.0"], ids=["classic-sidecar", "native-sidecar"])
def mesh_sandbox(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Sandbox, Cluster]]:
    sb = Sandbox(port=0, seed=0, pod_start_seconds=0.1, kubelet_version=request.param)
    sb.start()
    c = Cluster.from_kubeconfig(path=str(sb.write_kubeconfig(tmp_path / "kc")))
    try:
        yield sb, c
    finally:
        c.close()
        sb.stop()


INJECTOR = {
    "apiVersion": "admissionregistration.k8s.io/v1",
    "kind": "MutatingWebhookConfiguration",
    "metadata": {"name": "istio-sidecar-injector"},
    "webhooks": [
        {
            "name": "namespace.sidecar-injector.istio.io",
            "clientConfig": {"service": {"name": "istiod", "namespace": "istio-system", "path": "/inject"}},
            "namespaceSelector": {"matchLabels": {"istio-injection": "enabled"}},
            "rules": [
                {"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}
            ],
            "sideEffects": "None",
            "admissionReviewVersions": ["v1"],
        }
    ],
}


async def test_sidecar_column_in_both_injection_modes(mesh_sandbox: tuple[Sandbox, Cluster]) -> None:
    sb, cluster = mesh_sandbox
    ns(cluster, "mesh", {"istio-injection": "enabled"})
    ns(cluster, "plain")
    pod(cluster, "mesh", "before-injector")
    pod(cluster, "plain", "outside")
    cluster.create(kube.MUTATING_WEBHOOKS, INJECTOR)
    injected = pod(cluster, "mesh", "injected")
    native = sb.kubelet_version == "v1.33.0"
    in_init = [c["name"] for c in injected["spec"].get("initContainers") or ()]
    assert ("istio-proxy" in in_init) is native
    app = make_app(cluster)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: rows(app).get("injected", {}).get("ready") == "2/2", "injected pod 2/2")
        await until(pilot, lambda: rows(app)["before-injector"]["dataplane"] == SIDECAR_MISSING, "warning")
        got = rows(app)
        assert got["injected"]["dataplane"] == DATAPLANE_SIDECAR
        assert got["injected"]["status"] == "Running"
        assert got["outside"]["dataplane"] == ""

        cluster.patch(kube.NAMESPACES, "plain", {"metadata": {"labels": {"istio-injection": "enabled"}}})
        await until(pilot, lambda: rows(app)["outside"]["dataplane"] == SIDECAR_MISSING, "mark follows label")


async def test_connection_loss_keeps_rows_and_resumes(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    sb = Sandbox(port=0, seed=0, pod_start_seconds=0.1, state_file=state)
    sb.start()
    port = sb.port
    cluster = Cluster.from_kubeconfig(path=str(sb.write_kubeconfig(tmp_path / "kc")))
    try:
        ns(cluster, "live")
        pod(cluster, "live", "survivor")
        app = make_app(cluster, namespace="live")
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: "survivor" in rows(app), "first pod")
            sb.stop()
            header = app.query_one("#header-connection", Static)
            await until(pilot, lambda: header.display, "reconnecting in the header", limit=15)
            assert "reconnecting" in str(header.render())
            assert list(rows(app)) == ["survivor"]  # the last known rows stay

            sb = Sandbox(port=port, seed=0, pod_start_seconds=0.1, state_file=state)
            sb.start()
            pod(cluster, "live", "newcomer")
            await until(pilot, lambda: "newcomer" in rows(app), "resumed watch", limit=20)
            await until(pilot, lambda: not header.display, "header back to normal")
            assert sorted(names(app)) == ["newcomer", "survivor"]  # no duplicates
            assert not app.query_one(AppHeader).has_class("-reconnecting")
    finally:
        cluster.close()
        sb.stop()


async def test_keys_typed_fast_after_slash_land_in_the_prompt(cluster: Cluster) -> None:
    """A terminal delivers "/dweb" in one read: "d" must filter, not describe the selected pod."""
    ns(cluster, "fast")
    pod(cluster, "fast", "dweb-1")
    pod(cluster, "fast", "other")
    app = make_app(cluster, namespace="fast")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: len(rows(app)) == 2, "2 pods")
        for key in ("slash", "d", "w", "e", "b"):
            app.post_message(events.Key(key, "/" if key == "slash" else key))
        await until(pilot, lambda: list(rows(app)) == ["dweb-1"], "typeahead filter")
        assert app.query_one("#pods-filter", Input).value == "dweb"
        assert not isinstance(app.screen, PodDescribeScreen)


def drawn(app: IstioApp) -> list[str]:
    """The table's lines as they are on screen now (header first)."""
    table = app.query_one(PodTable)
    strips = table.render_lines(Region(0, 0, table.size.width, table.size.height))
    return ["".join(segment.text for segment in strip) for strip in strips]


def set_ip(sandbox: Sandbox, namespace: str, name: str, ip: str) -> None:
    def mutate(obj: dict[str, Any]) -> None:
        obj["status"]["podIP"] = ip

    assert sandbox.store is not None
    sandbox.store.update("pods", name, namespace=namespace, mutate=mutate)


async def test_an_ip_is_never_cut_at_any_width(sandbox: Sandbox, cluster: Cluster) -> None:
    """Issue 9: at 120 columns the IP column showed 10.244.214.150 as 10.244.214.15, with no mark."""
    ns(cluster, "ips")
    name = "checkout-service-canary-7f9c6d5b4-abcde"
    pod(cluster, "ips", name)
    app = make_app(cluster, namespace="ips")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: rows(app).get(name, {}).get("status") == "Running", "pod running")
        set_ip(sandbox, "ips", name, "10.244.214.150")
        await until(pilot, lambda: rows(app)[name]["ip"] == "10.244.214.150", "the new IP")
        seen = 0
        for width in range(72, 131, 3):
            await pilot.resize_terminal(width, 30)
            await pilot.pause(0.05)
            line = next(text for text in drawn(app) if "checkout" in text)
            if "10.244.214" in line:
                assert "10.244.214.150" in line, f"IP cut at {width} columns: {line!r}"
                seen += 1
        assert seen >= 5  # wide terminals do show it


async def test_narrow_terminal_shortens_with_ellipsis_and_names_dropped_columns(cluster: Cluster) -> None:
    """Issue 9: at 80 columns RESTARTS, AGE and IP vanished with no sign, and values were cut mid-word."""
    ns(cluster, "wide-team")
    name = "ledger-reconciliation-worker-long-name-5f6d7c8b9a-q8w7e"
    pod(cluster, "wide-team", name)
    app = make_app(cluster)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: rows(app).get(name, {}).get("status") == "Running", "pod running")
        await pilot.pause(0.1)
        line = next(text for text in drawn(app) if "ledger" in text)
        assert "…" in line and "q8w7e" in line  # shortened in the middle: the unique suffix stays
        assert "Running" in line  # STATUS still fits whole
        title = str(app.query_one("#pods-title", Static).render())
        assert "+2 cols" in title and "IP NODE" in title
        header = drawn(app)[0]
        assert "RESTARTS" in header and "AGE" in header and "NODE" not in header and " IP " not in header

        await pilot.resize_terminal(160, 30)
        await until(pilot, lambda: "cols" not in str(app.query_one("#pods-title", Static).render()), "wide")
        line = next(text for text in drawn(app) if "ledger" in text)
        assert name in line and "…" not in line


async def test_rows_match_the_server_after_churn(sandbox: Sandbox, cluster: Cluster) -> None:
    """Creates, deletes and updates in quick succession, with the cursor moved: every pod is one row."""
    ns(cluster, "churn")
    assert sandbox.store is not None
    store = sandbox.store
    for i in range(60):
        pod(cluster, "churn", f"p-{i:03d}")
    app = make_app(cluster, namespace="churn")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.query_one(PodTable).row_count == 60, "60 rows")
        table = app.query_one(PodTable)
        table.move_cursor(row=30)
        for i in range(60):
            if i % 3 == 0:
                store.delete("pods", f"p-{i:03d}", namespace="churn")
            else:

                def bump(obj: dict[str, Any], n: int = i) -> None:
                    obj["metadata"].setdefault("labels", {})["n"] = str(n)

                store.update("pods", f"p-{i:03d}", namespace="churn", mutate=bump)
            if i % 2 == 0:
                pod(cluster, "churn", f"q-{i:03d}")
            if i % 10 == 0:
                await pilot.pause(0.05)
        server = {p["metadata"]["name"] for p in cluster.list(kube.PODS, namespace="churn").items}
        await until(pilot, lambda: set(names(app)) == server, "rows to match the server")
        assert table.row_count == len(server) == len(names(app))
        assert table.selected() is not None


def crashing_pod(cluster: Cluster, namespace: str, name: str) -> None:
    body = {
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "containers": [
                {"name": "app", "image": "busybox", "command": ["sh", "-c", "echo no config found; exit 3"]},
                {"name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.30.3"},
            ]
        },
    }
    cluster.create(kube.PODS, body, namespace=namespace)


def restarted(cluster: Cluster, namespace: str, name: str) -> bool:
    pod = cluster.get(kube.PODS, name, namespace=namespace)
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return any(int(cs.get("restartCount") or 0) >= 1 for cs in statuses)


def following_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name == "stream-logs-app"]


def log_text(app: IstioApp) -> str:
    body = app.screen.query_one("#logs-body", RichLog)
    return "\n".join("".join(segment.text for segment in strip) for strip in body.lines)


@pytest.fixture
def crash_looping(cluster: Cluster) -> Cluster:
    """Namespace "crash" with pod "loop" that has crashed at least once."""
    ns(cluster, "crash")
    crashing_pod(cluster, "crash", "loop")
    wait_for(lambda: restarted(cluster, "crash", "loop"), "a restart")
    return cluster


async def test_describe_shows_last_state_exit_code_and_reason(crash_looping: Cluster) -> None:
    cluster = crash_looping
    app = make_app(cluster, namespace="crash")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: "loop" in rows(app), "pod row")
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, PodDescribeScreen), "describe")
        body = app.screen.query_one("#viewer-text", Static)
        await until(pilot, lambda: "Events:" in str(body.render()), "describe text")
        text = str(body.render())
        assert "Last State:    Terminated" in text
        assert "Exit Code:   3" in text and "Reason:      Error" in text
        assert "Reason:      CrashLoopBackOff" in text or "State:         Running" in text


async def test_g_and_G_move_through_the_yaml_viewer(cluster: Cluster) -> None:
    ns(cluster, "long")
    pod(cluster, "long", "yaml-pod", {f"label-{i}": "x" for i in range(40)})
    app = make_app(cluster, namespace="long")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: "yaml-pod" in rows(app), "pod row")
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, PodYamlScreen), "yaml")
        scroller = app.screen.query_one(".viewer-body")
        await until(pilot, lambda: scroller.max_scroll_y > 10, "a long YAML")
        await pilot.press("G")
        await until(pilot, lambda: scroller.scroll_y == scroller.max_scroll_y, "G to the end")
        await pilot.press("g")
        await until(pilot, lambda: scroller.scroll_y == 0, "g to the top")


async def test_logs_show_the_crash_previous_run_and_all_containers(crash_looping: Cluster) -> None:
    cluster = crash_looping
    app = make_app(cluster, namespace="crash")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: "loop" in rows(app), "pod row")
        await pilot.press("l")
        await until(pilot, lambda: isinstance(app.screen, PodLogsScreen), "logs")
        await until(pilot, lambda: "starting busybox" in log_text(app), "the current run")
        assert "INFO ready" not in log_text(app)  # a crash-looping container never says it is ready
        await pilot.press("p")  # the run that crashed (the current one may have restarted meanwhile)
        await until(pilot, lambda: "exited with code 3" in log_text(app), "the previous run")
        assert "no config found" in log_text(app)
        assert "previous run" in str(app.screen.query_one("#logs-title", Static).render())
        await pilot.press("p", "0")
        await until(pilot, lambda: "[istio-proxy]" in log_text(app), "all containers")
        assert "Version 1.30.3" in log_text(app) and "[app]" in log_text(app)


async def test_follow_streams_on_its_own_thread_and_stops(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sandbox_logs, "HEARTBEAT_S", 0.3)
    ns(cluster, "tail")
    pod(cluster, "tail", "chatty")
    app = make_app(cluster, namespace="tail")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: rows(app).get("chatty", {}).get("status") == "Running", "pod running")
        await pilot.press("l")
        await until(pilot, lambda: isinstance(app.screen, PodLogsScreen), "logs")
        screen = app.screen
        assert isinstance(screen, PodLogsScreen)
        await until(pilot, lambda: "INFO ready" in log_text(app), "the first read")
        await pilot.press("p")  # never restarted: one line in place, no error toast
        await until(pilot, lambda: "previous terminated container" in log_text(app), "no previous run")
        assert not any(n.severity == "error" for n in app._notifications)
        await pilot.press("p")
        await until(pilot, lambda: "INFO ready" in log_text(app), "the current run again")
        await pilot.press("f")
        assert "following" in str(screen.query_one("#logs-title", Static).render())
        await until(pilot, lambda: log_text(app).count("GET /healthz") >= 3, "followed lines")
        before = log_text(app).count("GET /healthz")
        await until(pilot, lambda: log_text(app).count("GET /healthz") > before, "more followed lines")
        assert following_threads()
        assert not [w for w in app.workers if w.is_running and w.description == "pod logs"]
        await pilot.press("f")
        await until(pilot, lambda: not following_threads(), "follow stopped")
        await pilot.press("f")
        await until(pilot, following_threads, "following again")
        await pilot.press("escape")
        await until(pilot, lambda: not following_threads(), "esc stops the follow")


def synthetic(i: int, *, restarts: int = 0) -> PodRow:
    return PodRow(
        uid=f"uid-{i}",
        namespace=f"team-{i % 7}",
        name=f"svc-{i:05d}",
        ready=1,
        total=1,
        status="Running",
        health=PodHealth.OK,
        restarts=restarts,
        created=datetime(2026, 1, 1, tzinfo=UTC) - timedelta(seconds=i),
        ip=f"10.0.{i // 250}.{i % 250}",
        node="node-a",
        phase="Running",
        has_sidecar=False,
        terminal=False,
    )


async def test_a_big_list_arrives_over_frames_and_stays_sorted() -> None:
    """12,000 rows in one batch are applied 5,000 a frame; later churn keeps the index sorted and exact."""
    from textual.app import App, ComposeResult

    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield PodTable(clock=lambda: datetime(2026, 1, 2, tzinfo=UTC), id="pod-table")

    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(PodTable)
        table.configure(all_namespaces=True)
        table.apply({f"uid-{i}": synthetic(i) for i in range(12_000)}, set(), labels={})
        assert table.row_count == 5_000 and table.behind
        while table.behind:
            table.apply({}, set(), labels={})
        assert table.row_count == 12_000
        table.move_cursor(row=6_000)
        chosen = table.selected()
        assert chosen is not None
        await pilot.pause()
        line = table.cursor_row - round(table.scroll_y)
        for wave in range(3):
            gone = {f"uid-{i}" for i in range(wave, 12_000, 97)} - {chosen.uid}
            changed = {f"uid-{i}": synthetic(i, restarts=wave + 1) for i in range(wave + 1, 12_000, 53)}
            changed = {uid: row for uid, row in changed.items() if uid not in gone}
            table.apply(changed, gone, labels={})
            while table.behind:
                table.apply({}, set(), labels={})
        expected = sorted(((r.namespace, r.name), r.uid) for r in table.pods.values())
        assert [table.row_at(i).uid for i in range(table.row_count)] == [uid for _, uid in expected]
        assert table.row_count == len(table.pods)
        assert table.selected() is not None and table.selected().uid == chosen.uid
        await pilot.pause()
        assert table.cursor_row - round(table.scroll_y) == line  # the selected pod kept its screen line


async def test_dataplane_column_says_ambient_for_captured_pods(cluster: Cluster) -> None:
    """Issue 11: SIDECAR became DATAPLANE; istio-cni's redirection annotation marks a pod ambient."""
    ns(cluster, "amb", {"istio.io/dataplane-mode": "ambient"})
    labels = {"app": "ztunnel"}
    ztunnel = {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "z", "image": "ztunnel"}]}}
    cluster.apply(
        [
            {
                "apiVersion": "apps/v1",
                "kind": "DaemonSet",
                "metadata": {"name": "ztunnel", "namespace": "default"},
                "spec": {"selector": {"matchLabels": labels}, "template": ztunnel},
            }
        ]
    )
    pod(cluster, "amb", "captured")  # the sandbox's istio-cni marks it once ztunnel exists
    pod(cluster, "amb", "not-yet", {"istio.io/dataplane-mode": "none"})  # the pod opts out
    app = make_app(cluster, namespace="amb")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: len(rows(app)) == 2, "both pods")
        await until(pilot, lambda: rows(app)["captured"]["dataplane"] == "ambient", "the capture")
        assert rows(app)["not-yet"]["dataplane"] == ""
        assert "DATAPLANE" in drawn(app)[0] and "SIDECAR" not in drawn(app)[0]
def test_dataplane_mark_says_ambient_for_captured_pods() -> None:
    """Issue 11: SIDECAR became DATAPLANE; istio-cni's redirection annotation marks a pod ambient (the
    sandbox only writes it where ztunnel runs; the snapshot shows the column drawn)."""
    from tui.istio.pods import build_pod_row, dataplane_mark

    def make(annotations: dict[str, str]) -> dict[str, Any]:
        return {
            "metadata": {"name": "p", "namespace": "amb", "uid": "u", "annotations": annotations},
            "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]},
            "status": {"phase": "Running"},
        }

    ambient_ns = {"istio.io/dataplane-mode": "ambient"}
    captured = build_pod_row(make({"ambient.istio.io/redirection": "enabled"}))
    assert dataplane_mark(captured, ambient_ns) == "ambient"
    assert dataplane_mark(build_pod_row(make({})), ambient_ns) == ""
