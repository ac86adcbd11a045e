"""The namespace view against the sandbox: live rows, the label toggle, conflicts, read-only, restarts."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static

from tests.helpers import confirm_shown, deployment_manifest, hold, make_app, until, worker_running
from tui import kube
from tui.app import IstioApp
from tui.istio.sidecar import has_sidecar
from tui.kube import Cluster
from tui.sandbox.cluster import Sandbox
from tui.screens import injection_flow
from tui.screens.confirm import ConfirmScreen
from tui.screens.injection import ConflictScreen, RevisionScreen
from tui.screens.namespaces import NamespacesPane

SIZE = (120, 36)
DEADLINE_S = 15.0


@pytest.fixture
def make_cluster(tmp_path: Path) -> Iterator[Callable[..., Cluster]]:
    """Sandboxes with a chosen kubelet version (1.33+ injects native sidecars), stopped after the test."""
    started: list[tuple[Sandbox, Cluster]] = []

    def make(*, kubelet_version: str) -> Cluster:
        sb = Sandbox(port=0, seed=0, pod_start_seconds=0.1, kubelet_version=kubelet_version)
        sb.start()
        path = sb.write_kubeconfig(tmp_path / f"kubeconfig-{len(started)}")
        c = Cluster.from_kubeconfig(path=str(path), context="sandbox")
        started.append((sb, c))
        return c

    yield make
    for sb, c in started:
        c.close()
        sb.stop()


def label(cluster: Cluster, namespace: str, key: str) -> str | None:
    return labels_of(cluster, namespace).get(key)


def ratio(app: IstioApp, namespace: str) -> str | None:
    return cell(app, namespace, "sidecars") if namespace in table(app).rows else None


def labels_of(cluster: Cluster, name: str) -> dict[str, str]:
    return dict(cluster.get(kube.NAMESPACES, name)["metadata"].get("labels") or {})


def create_namespace(cluster: Cluster, name: str, **labels: str) -> None:
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}
    cluster.create(kube.NAMESPACES, body)


def create_deployment(cluster: Cluster, namespace: str, name: str, replicas: int = 2) -> None:
    cluster.create(kube.DEPLOYMENTS, deployment_manifest(name, replicas), namespace=namespace)


def create_injector(cluster: Cluster, revision: str = "default") -> None:
    """The webhooks istiod's chart installs; the sandbox simulates injection once this exists."""
    rules = [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}]
    opt_out = {"key": "sidecar.istio.io/inject", "operator": "NotIn", "values": ["false"]}
    not_false = {"matchExpressions": [opt_out]}
    client = {"service": {"name": "istiod", "namespace": "istio-system", "path": "/inject", "port": 443}}

    def hook(name: str, ns_selector: dict[str, Any], obj_selector: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": name,
            "clientConfig": client,
            "rules": rules,
            "namespaceSelector": ns_selector,
            "objectSelector": obj_selector,
            "sideEffects": "None",
            "admissionReviewVersions": ["v1"],
            "failurePolicy": "Fail",
        }

    cluster.create(
        kube.MUTATING_WEBHOOKS,
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "MutatingWebhookConfiguration",
            "metadata": {"name": "istio-sidecar-injector"},
            "webhooks": [
                hook(
                    "rev.namespace.sidecar-injector.istio.io",
                    {
                        "matchExpressions": [
                            {"key": "istio.io/rev", "operator": "In", "values": [revision]},
                            {"key": "istio-injection", "operator": "DoesNotExist"},
                        ]
                    },
                    not_false,
                ),
                hook(
                    "namespace.sidecar-injector.istio.io",
                    {"matchLabels": {"istio-injection": "enabled"}},
                    not_false,
                ),
            ],
        },
    )


def pane(app: IstioApp) -> NamespacesPane:
    return app.query_one(NamespacesPane)


def table(app: IstioApp) -> DataTable[Any]:
    return app.query_one("#ns-table", DataTable)


def cell(app: IstioApp, row: str, column: str) -> str:
    return str(table(app).get_cell(row, column))


async def select(pilot: Pilot[Any], app: IstioApp, name: str) -> None:
    await until(pilot, lambda: name in table(app).rows, f"row {name}")
    t = table(app)
    t.focus()
    t.move_cursor(row=t.get_row_index(name))
    await pilot.pause()
    assert pane(app).selected_namespace() == name


def confirm_text(app: IstioApp) -> str:
    screen = app.screen
    assert isinstance(screen, ConfirmScreen)
    return " ".join(str(w.render()) for w in screen.query(Static))


def pods_of(cluster: Cluster, namespace: str) -> list[dict[str, Any]]:
    items = cluster.list(kube.PODS, namespace=namespace).items
    return [p for p in items if not p["metadata"].get("deletionTimestamp")]


async def test_rows_show_mode_and_sidecar_count_live(cluster: Cluster) -> None:
    create_namespace(cluster, "shop", **{"istio-injection": "enabled"})
    create_namespace(cluster, "canary", **{"istio.io/rev": "1-24"})
    create_namespace(cluster, "mesh-free", **{"istio.io/dataplane-mode": "ambient"})
    create_deployment(cluster, "shop", "web", replicas=3)
    app = make_app(cluster, pane="namespaces")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: ratio(app, "shop") == "0/3", "0/3")
        assert cell(app, "shop", "mode") == "istio-injection=enabled"
        assert cell(app, "shop", "restart") == "3 pods"
        assert cell(app, "canary", "mode") == "istio.io/rev=1-24"
        assert cell(app, "mesh-free", "mode") == "ambient"
        assert cell(app, "default", "mode") == "none"
        create_namespace(cluster, "late")
        await until(pilot, lambda: "late" in table(app).rows, "a namespace created later")
        names = [str(r.key.value) for r in table(app).ordered_rows]
        assert names == sorted(names)
        cluster.delete(kube.NAMESPACES, "late")
        await until(pilot, lambda: "late" not in table(app).rows, "the deleted namespace to go")
        await select(pilot, app, "shop")
        await pilot.press("enter")
        await until(pilot, lambda: app.namespace == "shop", "enter to open shop's pods")


async def test_toggle_sets_the_label_with_a_merge_patch(cluster: Cluster) -> None:
    create_injector(cluster)
    create_namespace(cluster, "shop", team="payments")
    app = make_app(cluster, pane="namespaces")
    async with app.run_test(size=SIZE) as pilot:
        await select(pilot, app, "shop")
        await pilot.press("i")
        await until(pilot, lambda: confirm_shown(app), "the confirmation")
        text = confirm_text(app)
        assert "set label istio-injection=enabled" in text
        assert app.context_name in text
        assert "Preflight" in text
        # Someone labels the namespace while the dialog is open: a replace from a stale copy would drop it.
        cluster.patch(kube.NAMESPACES, "shop", {"metadata": {"labels": {"owner": "ops"}}})
        await pilot.press("y")
        await until(pilot, lambda: label(cluster, "shop", "istio-injection") == "enabled", "the label")
        labels = labels_of(cluster, "shop")
        assert labels["team"] == "payments"
        assert labels["owner"] == "ops"
        await until(pilot, lambda: cell(app, "shop", "mode") == "istio-injection=enabled", "the row")

        # Toggling again disables it, again as a patch that names the label.
        await pilot.press("i")
        await until(pilot, lambda: confirm_shown(app), "the second confirmation")
        assert "set label istio-injection=disabled (currently enabled)" in confirm_text(app)
        await pilot.press("y")
        await until(pilot, lambda: label(cluster, "shop", "istio-injection") == "disabled", "disabled")
        assert labels_of(cluster, "shop")["owner"] == "ops"


async def test_cancel_changes_nothing(cluster: Cluster) -> None:
    create_namespace(cluster, "shop")
    app = make_app(cluster, pane="namespaces")
    async with app.run_test(size=SIZE) as pilot:
        await select(pilot, app, "shop")
        await pilot.press("i")
        await until(pilot, lambda: confirm_shown(app), "the confirmation")
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen), "the dialog to close")
        await pilot.pause()
    assert "istio-injection" not in labels_of(cluster, "shop")


async def test_no_typed_right_after_the_toggle_cancels_it(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``i`` ``n`` in one burst: the dialog opened only after the preflight, so the ``n`` was lost."""
    create_injector(cluster)
    create_namespace(cluster, "shop")
    release = hold(monkeypatch, injection_flow, "preflight_injection")
    app = make_app(cluster, pane="namespaces")
    try:
        async with app.run_test(size=SIZE) as pilot:
            await select(pilot, app, "shop")
            await pilot.press("i", "n")
            await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen), "the dialog to close")
            release.set()
            await until(pilot, lambda: not worker_running(app, "injection preflight"), "the preflight to end")
            await pilot.pause()
            assert not isinstance(app.screen, ConfirmScreen)
            assert not worker_running(app, "namespace label change")
    finally:
        release.set()
    assert "istio-injection" not in labels_of(cluster, "shop")


async def test_preflight_failure_is_explained(cluster: Cluster) -> None:
    create_namespace(cluster, "shop")
    app = make_app(cluster, pane="namespaces")
    async with app.run_test(size=SIZE) as pilot:
        await select(pilot, app, "shop")
        await pilot.press("i")
        await until(pilot, lambda: confirm_shown(app), "the confirmation")
        text = confirm_text(app)
        assert "Injection will NOT happen" in text
        assert "no istio-sidecar-injector MutatingWebhookConfiguration" in text


async def test_revision_preflight_names_the_missing_revision(cluster: Cluster) -> None:
    create_injector(cluster, revision="1-24")
    create_namespace(cluster, "shop")
    app = make_app(cluster, pane="namespaces")
    async with app.run_test(size=SIZE) as pilot:
        await select(pilot, app, "shop")
        await pilot.press("v")
        await until(pilot, lambda: isinstance(app.screen, RevisionScreen), "the revision prompt")
        await pilot.press(*"bad rev!", "enter")
        await until(
            pilot,
            lambda: "not a valid revision" in str(app.screen.query_one("#revision-error", Static).render()),
            "the error",
        )
        app.screen.query_one("#revision-input", Input).value = "canary"
        await pilot.press("enter")
        await until(pilot, lambda: confirm_shown(app), "the confirmation")
        text = confirm_text(app)
        assert "set label istio.io/rev=canary" in text
        assert "Injection will NOT happen" in text
        assert "istio.io/rev In [1-24]" in text
        await pilot.press("n")
    assert "istio.io/rev" not in labels_of(cluster, "shop")


async def test_conflicting_labels_offer_a_choice(cluster: Cluster) -> None:
    create_injector(cluster, revision="canary")
    create_namespace(cluster, "shop", **{"istio-injection": "enabled", "istio.io/rev": "canary", "team": "a"})
    app = make_app(cluster, pane="namespaces")
    async with app.run_test(size=SIZE) as pilot:
        await select(pilot, app, "shop")
        assert cell(app, "shop", "mode").endswith("⚠")
        assert "1 label conflict" in str(app.query_one("#ns-summary", Static).render())
        await pilot.press("i")
        await until(pilot, lambda: isinstance(app.screen, ConflictScreen), "the choice")
        buttons = {str(b.label) for b in app.screen.query("Button")}
        assert "Keep istio.io/rev=canary (r)" in buttons
        assert "Keep istio-injection=enabled (i)" in buttons
        await pilot.press("r")
        await until(pilot, lambda: confirm_shown(app), "the confirmation")
        assert "remove label istio-injection (currently enabled)" in confirm_text(app)
        await pilot.press("y")
        await until(pilot, lambda: "istio-injection" not in labels_of(cluster, "shop"), "the removal")
        assert labels_of(cluster, "shop")["istio.io/rev"] == "canary"
        assert labels_of(cluster, "shop")["team"] == "a"
        await until(pilot, lambda: cell(app, "shop", "mode") == "istio.io/rev=canary", "the row")


async def test_ambient_needs_no_restart_and_warns_about_waypoints(cluster: Cluster) -> None:
    create_namespace(cluster, "shop")
    app = make_app(cluster, pane="namespaces")
    async with app.run_test(size=SIZE) as pilot:
        await select(pilot, app, "shop")
        await pilot.press("a")
        await until(pilot, lambda: confirm_shown(app), "the confirmation")
        text = confirm_text(app)
        assert "set label istio.io/dataplane-mode=ambient" in text
        assert "needs no restart" in text
        assert "waypoint" in text
        await pilot.press("y")
        await until(pilot, lambda: label(cluster, "shop", "istio.io/dataplane-mode") == "ambient", "ambient")


async def test_readonly_refuses_the_toggle(cluster: Cluster) -> None:
    create_namespace(cluster, "shop")
    app = make_app(cluster, pane="namespaces", readonly=True)
    async with app.run_test(size=SIZE) as pilot:
        await select(pilot, app, "shop")
        bound = {b.binding.action for b in app.screen.active_bindings.values()}
        assert not bound & {"toggle_injection", "restart_out_of_step", "use_revision", "use_ambient"}
        await pilot.press("i", "r", "a", "v")
        app.run_pane_action("namespaces", "toggle_injection")
        await pilot.pause()
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen | ConflictScreen | RevisionScreen)
    assert "istio-injection" not in labels_of(cluster, "shop")


@pytest.mark.parametrize("kubelet_version", ["v1.32.0", "v1.33.0"], ids=["classic", "native"])
async def test_restart_flow_ends_with_sidecars(
    kubelet_version: str, make_cluster: Callable[..., Cluster]
) -> None:
    cluster = make_cluster(kubelet_version=kubelet_version)
    create_injector(cluster)
    create_namespace(cluster, "shop")
    create_deployment(cluster, "shop", "web", replicas=2)
    app = make_app(cluster, pane="namespaces")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: ratio(app, "shop") == "0/2", "0/2")
        await select(pilot, app, "shop")
        await pilot.press("i")
        await until(pilot, lambda: confirm_shown(app), "the label confirmation")
        await pilot.press("y")

        def asked() -> bool:
            return isinstance(app.screen, ConfirmScreen) and "Restart" in confirm_text(app)

        await until(pilot, asked, "the restart offer")
        text = confirm_text(app)
        assert "Deployment web" in text
        assert "still lack a sidecar" in text
        await pilot.press("y")
        done = app.query_one("#ns-restart-title", Static)
        await until(pilot, lambda: "done" in str(done.render()), "the restart to finish", limit=30)
        assert "2/2 pods ready with istio-proxy" in str(done.render())
        await until(pilot, lambda: cell(app, "shop", "sidecars") == "2/2", "the row to show 2/2")
        pods = pods_of(cluster, "shop")
        assert len(pods) == 2
        for pod in pods:
            assert has_sidecar(pod)
            status = pod["status"]
            statuses = status.get("containerStatuses", []) + status.get("initContainerStatuses", [])
            assert sum(1 for s in statuses if s.get("ready")) == 2
            assert pod["status"]["phase"] == "Running"

        # The reverse: disabling offers the restart that drops the sidecars. "i" toggles what the row shows.
        enabled = "istio-injection=enabled"
        await until(pilot, lambda: cell(app, "shop", "mode") == enabled, "the row to show injection")
        await pilot.press("i")
        await until(pilot, lambda: confirm_shown(app), "the disable confirmation")
        await pilot.press("y")
        await until(pilot, asked, "the second restart offer")
        assert "still have a sidecar they should drop" in confirm_text(app)
        await pilot.press("y")
        dropped = "done: 2/2 pods ready without istio-proxy"
        await until(pilot, lambda: dropped in str(done.render()), "the second restart", limit=30)
        await until(pilot, lambda: cell(app, "shop", "sidecars") == "0/2", "the row to show 0/2")
    assert not any(has_sidecar(p) for p in pods_of(cluster, "shop"))


async def test_no_access_to_pods_is_not_shown_as_zero(sandbox: Sandbox, cluster: Cluster) -> None:
    create_namespace(cluster, "shop")
    sandbox.forbid(resource="pods", namespace=None, verbs=["list", "watch"])
    app = make_app(cluster, pane="namespaces")
    async with app.run_test(size=SIZE) as pilot:
        summary = app.query_one("#ns-summary", Static)
        await until(pilot, lambda: "no access to pods" in str(summary.render()), "the no-access message")
        await until(pilot, lambda: "shop" in table(app).rows, "the namespace rows")
        await until(pilot, lambda: cell(app, "shop", "sidecars") == "?", "an unknown count, not 0/0")


def create_gateway(cluster: Cluster, name: str) -> None:
    """A gateway as our charts and istioctl make it: opted out of injection, istio-proxy as the workload."""
    manifest = deployment_manifest(name, 1)
    template = manifest["spec"]["template"]
    template["metadata"]["labels"]["sidecar.istio.io/inject"] = "false"
    template["spec"]["containers"] = [{"name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.30.3"}]
    cluster.create(kube.DEPLOYMENTS, manifest, namespace="istio-system")


async def test_gateways_never_need_a_restart(cluster: Cluster) -> None:
    """istio-system's ingress and egress gateways are proxies themselves: no restart count, r restarts
    nothing, and no restart panel waits at 0/2 forever."""
    create_injector(cluster)
    create_namespace(cluster, "istio-system")
    create_gateway(cluster, "istio-ingressgateway")
    create_gateway(cluster, "istio-egressgateway")
    app = make_app(cluster, pane="namespaces")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: ratio(app, "istio-system") == "2/2", "the two gateways counted")
        assert cell(app, "istio-system", "restart") == ""
        summary = str(app.query_one("#ns-summary", Static).render())
        assert "restart" not in summary, summary
        await select(pilot, app, "istio-system")
        await pilot.press("r")
        await until(
            pilot,
            lambda: any("already matches" in n.message for n in app._notifications),
            "the nothing-to-restart notice",
        )
        assert not isinstance(app.screen, ConfirmScreen)
        assert app.query_one("#ns-restart").has_class("-hidden")
        for name in ("istio-ingressgateway", "istio-egressgateway"):
            template = cluster.get(kube.DEPLOYMENTS, name, namespace="istio-system")["spec"]["template"]
            assert "kubectl.kubernetes.io/restartedAt" not in (template["metadata"].get("annotations") or {})


async def test_j_and_k_move_the_cursor(cluster: Cluster) -> None:
    for name in ("aa", "bb", "cc"):
        create_namespace(cluster, name)
    app = make_app(cluster, pane="namespaces")
    async with app.run_test(size=SIZE) as pilot:
        await select(pilot, app, "aa")
        await pilot.press("j")
        await until(pilot, lambda: pane(app).selected_namespace() == "bb", "j to move down")
        await pilot.press("j", "j", "k")
        await until(pilot, lambda: pane(app).selected_namespace() != "bb", "j j k to move")
        assert table(app).cursor_row == table(app).get_row_index("bb") + 1


async def test_label_notification_says_what_happened_and_one_pod_is_singular(cluster: Cluster) -> None:
    create_namespace(cluster, "shop")
    create_deployment(cluster, "shop", "web", replicas=1)
    cluster.patch(kube.NAMESPACES, "shop", {"metadata": {"labels": {"istio-injection": "enabled"}}})
    app = make_app(cluster, pane="namespaces")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: ratio(app, "shop") == "0/1", "0/1")
        assert cell(app, "shop", "restart") == "1 pod"
        summary = app.query_one("#ns-summary", Static)
        await until(pilot, lambda: "1 pod needs a restart" in str(summary.render()), "the singular summary")
        await select(pilot, app, "shop")
        await pilot.press("i")
        await until(pilot, lambda: confirm_shown(app), "the confirmation")
        await pilot.press("y")
        await until(pilot, lambda: label(cluster, "shop", "istio-injection") == "disabled", "disabled")
        await until(
            pilot, lambda: any("shop: changed label" in n.message for n in app._notifications), "the notice"
        )
        notes = [n.message for n in app._notifications]
        assert "shop: changed label istio-injection from enabled to disabled" in notes, notes
        assert not any("(now enabled)" in n for n in notes)


async def test_watches_run_on_streams_not_in_the_worker_pool(cluster: Cluster) -> None:
    app = make_app(cluster, pane="namespaces")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: "default" in table(app).rows, "the rows")
        names = {t.name for t in threading.enumerate()}
        assert {"stream-ns-view-namespaces", "stream-ns-view-pods"} <= names, names
        assert not [w for w in app.workers if w.group == "ns-watch"]
