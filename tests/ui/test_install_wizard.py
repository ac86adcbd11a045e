"""The install wizard against the sandbox: preflight, form validation, helm install to a green verify,
addon Ingresses, a WorkloadEntry, uninstall to an empty leftover audit, read-only mode, and no helm."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Checkbox, DataTable, Input, Select, Static, TabbedContent
from textual.worker import WorkerState

from tests.helpers import PREFLIGHT_KEYS, make_app, until
from tui import kube
from tui.app import IstioApp
from tui.errors import NotFound
from tui.istio.uninstall import installed_releases
from tui.kube import Cluster
from tui.screens.confirm import ConfirmScreen
from tui.screens.describe import PodDescribeScreen
from tui.screens.install import InstallPane
from tui.screens.install import run as run_step

SIZE = (120, 36)
DEADLINE_S = 20.0


def pane(app: IstioApp) -> InstallPane:
    return app.query_one(InstallPane)


def text_of(app: IstioApp, selector: str) -> str:
    return str(app.query_one(selector, Static).content)


def error_of(app: IstioApp, field: str) -> str:
    err = app.query_one(f"#err-{field}", Static)
    return "" if err.has_class("-hidden") else str(err.content)


async def set_value(pilot: Pilot[Any], selector: str, value: Any) -> None:
    widget = pilot.app.query_one(selector)
    assert isinstance(widget, Input | Select | Checkbox)
    widget.value = value
    await pilot.pause()


async def ready(pilot: Pilot[Any]) -> InstallPane:
    app = pilot.app
    assert isinstance(app, IstioApp)
    await until(pilot, lambda: pane(app).preflight_lines and "preflight" not in pane(app).busy, "preflight")
    return pane(app)


async def answer(pilot: Pilot[Any], key: str, title: str) -> None:
    app = pilot.app
    await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), f"the {title} confirmation")
    assert title in str(app.screen.query_one("#confirm-title", Static).content)
    assert "sandbox" in str(app.screen.query_one("#confirm-context", Static).content)
    await pilot.press(key)


STUCK = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "old-tool"},
    "spec": {
        "replicas": 1,
        "selector": {"matchLabels": {"app": "old-tool"}},
        "template": {
            "metadata": {"labels": {"app": "old-tool"}},
            "spec": {"containers": [{"name": "tool", "image": "example.com/doesnotexist/tool:1"}]},
        },
    },
}


def stalls(app: IstioApp) -> list[str]:
    table = app.query_one("#inst-pods", DataTable)
    return [str(table.get_row_at(i)[3]) for i in range(table.row_count)]


def istio_installed(cluster: Cluster) -> bool:
    try:
        cluster.get(kube.NAMESPACES, "istio-system")
    except NotFound:
        return False
    return True


BAD_VALUES = [
    ("istio_version", "1.x.0", "not of the form 1.N.P"),
    ("istio_version", "1.9.0", "too old"),
    ("node_port_http2", "29999", "outside the NodePort range 30000-32767"),
    ("node_port_https", "abc", "is not a number"),
    ("sampling", "150", "outside 0-100"),
    ("addons", "prometheus,servicegraph", "unknown addon 'servicegraph'"),
    ("chart_source", "/nonexistent/charts", "neither a URL"),
]


async def test_preflight_then_form_rejects_each_bad_value(cluster: Cluster, tmp_path: Path) -> None:
    app = make_app(cluster, pane="install", sandbox=True)
    async with app.run_test(size=SIZE) as pilot:
        wizard = await ready(pilot)
        lines = {line.key: line for line in wizard.preflight_lines}
        assert list(lines) == PREFLIGHT_KEYS
        assert all(line.status == "pass" for key, line in lines.items() if key != "gateway-api"), lines
        assert lines["gateway-api"].status == "warn" and "press G" in lines["gateway-api"].fix
        assert "v1.32" in lines["context"].reason and "sandbox" in lines["context"].reason
        assert lines["helm"].reason.startswith("helm v3.")
        assert "passed with 1 warning;" in text_of(app, "#pre-status")  # the Gateway API CRDs (G)
        # No LoadBalancer provider in the sandbox: the form already says NodePort; the plan uses its charts.
        assert wizard.plan is not None
        assert wizard.plan.ingress_type == "NodePort" and wizard.plan.chart_source.kind == "sandbox"

        await pilot.press("2")
        await set_value(pilot, "#f-save_dir", str(tmp_path / "plan"))
        # Typed like a user would: the message appears next to the field while typing.
        version = app.query_one("#f-istio_version", Input)
        version.focus()
        await pilot.press("end", *["backspace"] * 10, *"1.x")
        await until(pilot, lambda: "not of the form" in error_of(app, "istio_version"), "the version error")
        assert wizard.plan is None
        await set_value(pilot, "#f-istio_version", "1.30.4")
        assert error_of(app, "istio_version") == "" and wizard.plan is not None

        for field, bad, message in BAD_VALUES:
            good = app.query_one(f"#f-{field}", Input).value
            await set_value(pilot, f"#f-{field}", bad)
            await until(pilot, lambda: message in error_of(app, field), f"the {field} error")  # noqa: B023
            assert wizard.plan is None, field
            assert "fix 1 field first" in text_of(app, "#preview-status")
            wizard.action_install()
            assert not isinstance(app.screen, ConfirmScreen), f"install offered with a bad {field}"
            await set_value(pilot, f"#f-{field}", good)
            await until(pilot, lambda: error_of(app, field) == "" and wizard.plan, f"{field} accepted")  # noqa: B023

        # Saving refuses a bad plan too.
        await set_value(pilot, "#f-sampling", "-1")
        await until(pilot, lambda: wizard.plan is None, "the bad sampling rate")
        await pilot.press("ctrl+s")
        await pilot.pause()
        await set_value(pilot, "#f-sampling", "1")

        # Cross-field rule: fixed nodePorts need NodePort.
        await set_value(pilot, "#f-node_port_http2", "31380")
        assert wizard.plan is not None and wizard.plan.node_port_http2 == 31380
        await set_value(pilot, "#f-ingress_type", "LoadBalancer")
        assert "need ingress type NodePort" in error_of(app, "node_port_http2")
        assert wizard.plan is None

        assert not istio_installed(cluster)
        assert installed_releases(cluster) == []
        assert not (tmp_path / "plan").exists()


async def test_install_verify_addons_vm_uninstall(cluster: Cluster, kubectl: Any) -> None:
    app = make_app(cluster, pane="install", sandbox=True)
    async with app.run_test(size=SIZE) as pilot:
        wizard = await ready(pilot)
        await set_value(pilot, "#f-profile", "demo")
        await set_value(pilot, "#f-ingress_type", "NodePort")
        await set_value(pilot, "#f-addons", "prometheus,kiali")
        assert wizard.plan is not None
        assert [r.name for r in wizard.plan.releases] == [
            "istio-base",
            "istiod",
            "istio-ingressgateway",
            "prometheus",
            "kiali",
        ]
        # Something already stuck in istio-system: the progress view names the reason.
        cluster.create(
            kube.NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system"}}
        )
        cluster.create(kube.DEPLOYMENTS, STUCK, namespace="istio-system")
        app.query_one("#wiz-steps").focus()
        await pilot.press("i")
        await answer(pilot, "y", "Install Istio")
        await until(pilot, lambda: any("ImagePullBackOff" in s for s in stalls(app)), "the stall reason")

        # The progress view: every release deployed, istio-system pods listed; then verify goes green.
        await until(
            pilot,
            lambda: wizard.verify_report is not None and wizard.verify_report.ok,
            "a green verify",
            limit=60,
        )
        report = wizard.verify_report
        assert report is not None and report.ingress is not None
        assert [s.state for s in wizard.release_states] == ["deployed"] * 5
        url = report.ingress.gateway_url
        assert url.startswith("127.0.0.1:") and 30000 <= int(url.split(":")[1]) <= 32767
        assert url in text_of(app, "#verify-address")
        assert {line.key for line in report.lines} >= {
            "istiod",
            "injector",
            "validator",
            "crds",
            "gateway",
            "version",
        }
        assert app.query_one("#inst-pods", DataTable).row_count >= 3
        assert set(installed_releases(cluster)) == {
            "istio-base",
            "istiod",
            "istio-ingressgateway",
            "prometheus",
            "kiali",
        }
        await until(pilot, lambda: "install" not in wizard.busy, "the install to finish")

        # Re-running is idempotent (helm upgrade --install); cancel stops after the current step.
        await pilot.press("i")
        await answer(pilot, "y", "Install Istio")
        await until(pilot, lambda: any(s.state == "running" for s in wizard.release_states), "the re-run")
        await pilot.press("x")
        await until(pilot, lambda: "install" not in wizard.busy, "the cancelled run to stop")
        states = [s.state for s in wizard.release_states]
        assert states[0] == "deployed" and "cancelled" in states, states
        assert "cancelled" in text_of(app, "#inst-status")

        # Addon access: Ingresses with the chosen class, and the /etc/hosts lines.
        await pilot.press("5")
        await set_value(pilot, "#f-ingress_class", "Bad_Class")
        assert "not a valid name" in error_of(app, "ingress_class")
        await set_value(pilot, "#f-ingress_class", "istio")
        app.query_one("#wiz-steps").focus()
        await pilot.press("g")
        await answer(pilot, "y", "Create addon Ingresses")
        await until(
            pilot,
            lambda: (
                "kiali.istio.io" in text_of(app, "#addons-hosts")
                and "created" in text_of(app, "#addons-hosts")
            ),
            "the Ingresses",
        )
        for addon, host in (("prometheus", "prometheus.istio.io"), ("kiali", "kiali.istio.io")):
            ing = cluster.get(kube.INGRESSES, f"{addon}-ingress", namespace="istio-system")
            assert ing["spec"]["ingressClassName"] == "istio"
            assert ing["spec"]["rules"][0]["host"] == host
        assert "127.0.0.1  prometheus.istio.io" in text_of(app, "#addons-hosts")

        # Mesh expansion: a bad namespace is refused next to its field; then the WorkloadEntry exists.
        await pilot.press("6")
        await set_value(pilot, "#vm-address", "10.0.0.20")
        await set_value(pilot, "#vm-namespace", "nowhere")
        app.query_one("#wiz-steps").focus()
        await pilot.press("w")
        await answer(pilot, "y", "Register the VM")
        await until(
            pilot,
            lambda: "does not exist" in str(app.query_one("#vmerr-namespace", Static).content),
            "the namespace error",
        )
        await set_value(pilot, "#vm-namespace", "default")
        await set_value(pilot, "#vm-expose", "serviceentry")
        app.query_one("#wiz-steps").focus()
        await pilot.press("w")
        await answer(pilot, "y", "Register the VM")
        await until(pilot, lambda: "created" in text_of(app, "#mesh-status"), "the WorkloadEntry")
        entry = cluster.get(kube.WORKLOAD_ENTRIES, "vm-web", namespace="default")
        assert entry["spec"]["address"] == "10.0.0.20" and entry["spec"]["labels"] == {"app": "vm-web"}
        se = cluster.get(kube.SERVICE_ENTRIES, "vm-web", namespace="default")
        assert se["spec"]["workloadSelector"]["labels"] == {"app": "vm-web"}

        # Uninstall with the namespace and the CRDs: the leftover audit ends empty.
        await pilot.press("7")
        await until(pilot, lambda: "kiali" in text_of(app, "#un-found"), "the release scan")
        await until(pilot, lambda: "uninstall" not in wizard.busy, "the scan summary")
        # Nothing is uninstalled yet, so nothing is "left over": the audit is what an uninstall will remove.
        assert "leftover" not in text_of(app, "#un-status")
        assert "5 releases installed" in text_of(app, "#un-status")
        await set_value(pilot, "#un-namespace", True)
        await set_value(pilot, "#un-crds", True)
        app.query_one("#wiz-steps").focus()
        await pilot.press("u")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the uninstall confirmation")
        body = str(app.screen.query_one("#confirm-body", Static).content)
        assert "destroys" in body.lower() or "deletes every Istio object" in body
        await pilot.press("y")
        await until(pilot, lambda: wizard.uninstall_report is not None, "the uninstall", limit=40)
        result = wizard.uninstall_report
        assert result is not None and result.clean, result.leftovers if result else None
        assert "leftover audit is empty" in text_of(app, "#un-audit")
        assert installed_releases(cluster) == []
        assert not istio_installed(cluster)
        assert not [c for c in cluster.list(kube.CRDS).items if c["metadata"]["name"].endswith(".istio.io")]


def run_in_flight(app: IstioApp) -> list[str]:
    """Workers and stream threads the install pane started that are still running."""
    wizard = pane(app)
    workers = [
        w.description or w.name
        for w in app.workers
        if wizard in getattr(w.node, "ancestors_with_self", ())
        and w.state in (WorkerState.PENDING, WorkerState.RUNNING)
    ]
    return workers + [t.name for t in threading.enumerate() if t.name.startswith("stream-install")]


async def test_cancelled_reinstall_ends_its_work_and_the_next_run_goes_green(cluster: Cluster) -> None:
    """The walkthrough that hung: install, visit the other areas, re-install, cancel, install again, then
    describe a pod. A cancel must end every worker and stream of its run so later jobs always get a thread."""
    app = make_app(cluster, pane="install", sandbox=True)
    async with app.run_test(size=SIZE) as pilot:
        wizard = await ready(pilot)
        app.query_one("#wiz-steps").focus()
        await pilot.press("i")
        await answer(pilot, "y", "Install Istio")
        await until(
            pilot,
            lambda: "install" not in wizard.busy and bool(wizard.verify_report and wizard.verify_report.ok),
            "the first install",
            limit=60,
        )
        await pilot.press("f3", "f4", "f1")
        await until(pilot, lambda: app.query_one("#work-areas", TabbedContent).active == "install", "Install")

        await pilot.press("i")
        await answer(pilot, "y", "Install Istio")
        await until(pilot, lambda: any(s.state == "running" for s in wizard.release_states), "the re-run")
        await pilot.press("x")
        await until(pilot, lambda: "install" not in wizard.busy, "the cancelled run to stop")
        assert "cancelled" in text_of(app, "#inst-status")
        await until(pilot, lambda: not run_in_flight(app), "the cancelled run's workers and streams", limit=5)

        await pilot.press("i")
        await answer(pilot, "y", "Install Istio")
        await until(
            pilot,
            lambda: "install" not in wizard.busy and wizard.verify_report is not None,
            "the install after the cancel",
            limit=60,
        )
        report = wizard.verify_report
        assert report is not None and report.ok and report.ingress is not None
        assert report.ingress.gateway_url in text_of(app, "#verify-address")
        await until(pilot, lambda: not run_in_flight(app), "the finished run's workers and streams", limit=5)

        await pilot.press("colon", *"ns istio-system", "enter")

        async def describe_opened() -> bool:
            await pilot.press("d")
            await pilot.pause(0.1)
            return isinstance(app.screen, PodDescribeScreen)

        deadline = time.monotonic() + DEADLINE_S
        while not await describe_opened():
            assert time.monotonic() < deadline, "no pod to describe in istio-system"
        await until(
            pilot,
            lambda: "Status:" in str(app.screen.query_one("#viewer-text", Static).content),
            "the pod description",
            limit=5,
        )


async def test_read_only_binds_no_install(cluster: Cluster) -> None:
    app = make_app(cluster, pane="install", readonly=True, sandbox=True)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        app.query_one("#wiz-steps").focus()
        for key in ("i", "u", "g", "w"):
            await pilot.press(key)
            await pilot.pause()
            assert not isinstance(app.screen, ConfirmScreen), key
        assert app.query_one("#btn-install").disabled and app.query_one("#btn-uninstall").disabled
        assert not istio_installed(cluster)


async def test_without_helm_the_plan_still_shows_and_saves(
    cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    app = make_app(cluster, pane="install", sandbox=True)
    async with app.run_test(size=SIZE) as pilot:
        wizard = await ready(pilot)
        helm = next(line for line in wizard.preflight_lines if line.key == "helm")
        assert helm.status == "fail" and "not found" in helm.reason and "install helm" in helm.fix
        assert "saved on step 2" in text_of(app, "#pre-status")

        await pilot.press("2")
        assert wizard.plan is not None and text_of(app, "#preview-status").startswith("✔ Istio 1.30.4")
        await set_value(pilot, "#f-save_dir", "/proc/istio-plan")
        app.query_one("#wiz-steps").focus()
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "cannot write the plan" in error_of(app, "save_dir"), "the save error")

        out = tmp_path / "plan"
        await set_value(pilot, "#f-save_dir", str(out))
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "saved" in text_of(app, "#save-status"), "the save")
        assert {p.name for p in out.iterdir()} >= {
            "values-base.yaml",
            "values-istiod.yaml",
            "values-gateway.yaml",
            "install.sh",
            "uninstall.sh",
        }
        assert "helm upgrade --install istiod" in (out / "install.sh").read_text()

        await pilot.press("i")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        await until(pilot, lambda: "install helm" in text_of(app, "#inst-status"), "the helm hint on step 3")
        assert not istio_installed(cluster)


async def test_a_context_named_sandbox_is_not_the_sandbox(cluster: Cluster) -> None:
    """Only ``--sandbox`` (settings) means the embedded cluster; a real cluster's context may be named so."""
    assert cluster.context == "sandbox"
    app = make_app(cluster, pane="install")
    async with app.run_test(size=SIZE) as pilot:
        wizard = await ready(pilot)
        assert not wizard.is_sandbox
        assert app.query_one("#f-profile", Select).value == "default"
        assert app.query_one("#f-chart_source", Input).value == ""
        assert wizard.plan is not None and wizard.plan.chart_source.kind == "repo"


async def test_choices_preview_is_readable_at_80x24(cluster: Cluster) -> None:
    app = make_app(cluster, pane="install", sandbox=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        app.query_one("#wiz-steps").focus()
        await pilot.press("2")
        await pilot.pause()
        preview = app.query_one("#choices-preview")
        assert preview.region.width >= 50, preview.region
        assert preview.region.height >= 4, preview.region
        assert app.query_one("#choices-form").region.width >= 50


async def test_a_failing_pod_poll_is_one_notification_and_the_install_goes_on(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(_cluster: Cluster) -> None:
        raise RuntimeError("the poll broke")

    monkeypatch.setattr(run_step, "install_progress", broken)
    app = make_app(cluster, pane="install", sandbox=True)
    async with app.run_test(size=SIZE) as pilot:
        wizard = await ready(pilot)
        app.query_one("#wiz-steps").focus()
        await pilot.press("i")
        await answer(pilot, "y", "Install Istio")

        def broke() -> list[str]:
            return [n.message for n in app._notifications if "the poll broke" in n.message]

        await until(pilot, broke, "the error")
        message = broke()[0]
        assert message.startswith("install failed") and "Traceback" not in message
        await until(
            pilot,
            lambda: "install" not in wizard.busy and bool(wizard.verify_report and wizard.verify_report.ok),
            "the install to finish anyway",
            limit=60,
        )


async def test_preflight_installs_the_gateway_api_crds_on_g(cluster: Cluster) -> None:
    app = make_app(cluster, pane="install", sandbox=True)
    async with app.run_test(size=SIZE) as pilot:
        wizard = await ready(pilot)
        await pilot.press("G")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        body = str(app.screen.query_one("#confirm-body", Static).render())
        assert "v1.6.1, standard channel" in body and "bundled with istio-tui" in body
        await pilot.press("y")

        def gateway_line() -> str:
            line = next((x for x in wizard.preflight_lines if x.key == "gateway-api"), None)
            return f"{line.status} {line.reason}" if line else ""

        await until(pilot, lambda: gateway_line() == "pass Gateway API CRDs v1.6.1 standard", "the new check")
        assert cluster.has_api("gateway.networking.k8s.io/v1")
