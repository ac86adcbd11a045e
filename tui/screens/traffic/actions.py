"""What the traffic area changes in the cluster: deploy Bookinfo, its injection label, the gateway's NodePort
patch, routing presets, revert and cleanup. Every change goes through a ConfirmScreen naming the context.

``BookinfoActions`` is a non-visual child of the pane: the pane calls down with the namespace, each change
runs as a one-off thread worker (following a deploy's pods, which can take minutes, runs on a ``Stream``),
and results come back up as messages (``StatusRead``, ``RoutingRead``, ``Changed``). The injection label is
the shared ``InjectionFlow``, the same one the Namespaces area runs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping

from textual import on, work
from textual.app import ComposeResult
from textual.message import Message
from textual.widget import Widget
from textual.worker import Worker

from tui import kube
from tui.errors import ConfigError
from tui.istio import bookinfo
from tui.istio.injection import namespace_mode
from tui.istio.presets import RoutingApi
from tui.istio.routing import PresetPreview, RoutingView
from tui.models import BookinfoStatus, IngressInfo, plural
from tui.screens.confirm import ConfirmScreen, PendingChecks
from tui.screens.injection_flow import InjectionFlow
from tui.widgets.pane import READ_ONLY_REASON, WorkerErrors
from tui.widgets.stream import Stream

DIFF_LINES = 24


class BookinfoActions(WorkerErrors, Widget):
    class StatusRead(Message):
        """Bookinfo's pods while a deploy is followed (faster than the poller's tick)."""

        def __init__(self, status: BookinfoStatus) -> None:
            super().__init__()
            self.status = status

    class RoutingRead(Message):
        """A host's routing right after a preset or revert changed it."""

        def __init__(self, routing: RoutingView) -> None:
            super().__init__()
            self.routing = routing

    class Changed(Message):
        """The cluster changed: the pane should read its view again (``verify``: the page too)."""

        def __init__(self, *, verify: bool) -> None:
            super().__init__()
            self.verify = verify

    class _Labels(Message):
        bubble = False

        def __init__(self, name: str, labels: dict[str, str]) -> None:
            super().__init__()
            self.name = name
            self.labels = labels

    class _Deployed(Message):
        bubble = False

        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

    class _PendingLoadBalancer(Message):
        bubble = False

        def __init__(self, ingress: IngressInfo) -> None:
            super().__init__()
            self.ingress = ingress

    class _Previewed(Message):
        bubble = False

        def __init__(self, preview: PresetPreview, api: RoutingApi, screen: ConfirmScreen) -> None:
            super().__init__()
            self.preview = preview
            self.api = api
            self.dialog = screen

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual's own keyword
        super().__init__(id=id)
        self._follow: Stream | None = None
        self.api: RoutingApi = "istio"  # set by the pane: which API routes Bookinfo
        self._checking = PendingChecks()

    def compose(self) -> ComposeResult:
        yield InjectionFlow(id="traffic-flow")

    def on_unmount(self) -> None:
        if self._follow is not None:
            self._follow.stop()

    def _confirm(
        self,
        title: str,
        lines: list[str],
        then: Callable[[], object],
        *,
        label: str,
        destructive: bool = True,
    ) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                then()

        context = self.istio_app.context_name
        screen = ConfirmScreen(title, lines, context=context, confirm_label=label, destructive=destructive)
        self.app.push_screen(screen, answered)

    # --- deploy

    def deploy(self, namespace: str, labels: Mapping[str, str] | None) -> None:
        lines = [
            f"Into namespace {namespace}" + (" (created first)" if labels is None else "") + ":",
            "  • Deployments productpage-v1, details-v1, ratings-v1,",
            "    reviews-v1, reviews-v2 and reviews-v3, with their",
            "    Services and ServiceAccounts",
            *(
                (
                    "  • Gateway bookinfo-gateway (class istio), HTTPRoute",
                    "    bookinfo and a Service per version (reviews-v1…)",
                )
                if self.api == "gateway-api"
                else (
                    "  • Gateway bookinfo-gateway, VirtualService bookinfo and",
                    "    DestinationRules with a subset per version",
                )
            ),
            "Routing objects of these names that istio-tui did not",
            "create are left alone.",
            "",
        ]
        mode = namespace_mode(labels) if labels is not None else None
        if mode is not None and mode.injects_sidecars:
            lines.append("✓ The namespace injects sidecars: pods should come up 2/2.")
        elif mode is not None and mode.label == "ambient":
            lines += [
                "✓ The namespace is ambient: pods come up 1/1 and ztunnel",
                "  captures them. Routing presets need a waypoint (Namespaces, w).",
            ]
        else:
            lines += [
                "⚠ The namespace does not inject sidecars: pods come up 1/1",
                "  and routing presets will not apply. Cancel and press i",
                "  to label it istio-injection=enabled first (or make it",
                "  ambient: a in Namespaces, no restart needed).",
            ]
        self._confirm(
            f"Deploy Bookinfo into {namespace}?",
            lines,
            lambda: self._deploy(namespace, self.api),
            label="Deploy",
            destructive=False,
        )

    @work(thread=True, exit_on_error=False, group="traffic-change", description="deploying Bookinfo")
    def _deploy(self, namespace: str, api: RoutingApi) -> None:
        cluster = self.istio_app.cluster
        bookinfo.require_routing_api(cluster, api=api)
        bookinfo.ensure_namespace(cluster, name=namespace)
        result = bookinfo.deploy(cluster, namespace=namespace, api=api)
        message = f"Applied {len(result.applied)} Bookinfo objects in {namespace}; following the pods…"
        if result.skipped:
            message += f" Left alone (not ours): {', '.join(result.skipped)}"
        self.notify(message, markup=False)
        self.post_message(self.Changed(verify=False))
        self.post_message(self._Deployed(namespace))

    @on(_Deployed)
    def _follow_pods(self, event: _Deployed) -> None:
        """Following the pods can take minutes: a Stream of its own, not a slot of the worker pool."""
        if self._follow is not None:
            self._follow.stop()
        report = self.istio_app.report_error
        self._follow = Stream(
            lambda stop: self._wait_ready(event.name, stop),
            name=f"bookinfo-ready-{event.name}",
            on_error=lambda err: self.app.call_from_thread(report, err, "following the Bookinfo pods"),
        ).start()

    def _wait_ready(self, namespace: str, stop: threading.Event) -> None:
        def read(status: BookinfoStatus) -> None:
            self.post_message(self.StatusRead(status))

        cluster = self.istio_app.cluster
        status = bookinfo.wait_ready(cluster, namespace=namespace, on_update=read, cancel=stop)
        if stop.is_set():
            return
        self.post_message(self.Changed(verify=True))
        if status.ready:
            counts = ", ".join(sorted({p.ready_text for p in status.pods}))
            ready = f"Bookinfo is ready in {namespace}: {plural(len(status.pods), 'pod')} ({counts})"
            self.notify(ready, markup=False)
        else:
            waiting = ", ".join(p.name for p in status.pods if not p.ready) or ", ".join(status.missing)
            self.notify(f"Bookinfo pods not ready yet: {waiting}", severity="warning", markup=False)
        for warning in status.warnings:
            self.notify(warning, severity="warning", timeout=12, markup=False)

    # --- injection label

    def toggle_injection(self, namespace: str, labels: Mapping[str, str] | None) -> None:
        """The Namespaces area's toggle; a namespace that does not exist yet is created first."""
        if labels is None:
            self._create_namespace(namespace)
        else:
            self.query_one(InjectionFlow).toggle(namespace, labels)

    @work(thread=True, exit_on_error=False, group="traffic-change", description="creating the namespace")
    def _create_namespace(self, namespace: str) -> None:
        cluster = self.istio_app.cluster
        if bookinfo.ensure_namespace(cluster, name=namespace):
            self.notify(f"Created namespace {namespace}", markup=False)
        labels = cluster.get(kube.NAMESPACES, namespace)["metadata"].get("labels") or {}
        self.post_message(self._Labels(namespace, dict(labels)))

    @on(_Labels)
    def _labels_read(self, event: _Labels) -> None:
        self.query_one(InjectionFlow).toggle(event.name, event.labels)

    # --- gateway

    def find_gateway(self, namespace: str) -> None:
        self._find_gateway(namespace)

    @work(thread=True, exit_on_error=False, group="traffic-gateway", description="finding the gateway")
    def _find_gateway(self, namespace: str) -> None:
        ingress = bookinfo.find_ingress(self.istio_app.cluster, namespace=namespace, api=self.api)
        if ingress.pending_load_balancer:
            self.post_message(self._PendingLoadBalancer(ingress))
        result = bookinfo.verify(ingress.productpage_url, timeout=5.0)
        self.notify(
            f"GATEWAY_URL={ingress.gateway_url} · {result.message}",
            severity="information" if result.ok else "warning",
            markup=False,
        )
        self.post_message(self.Changed(verify=True))

    @on(_PendingLoadBalancer)
    def _offer_nodeport(self, event: _PendingLoadBalancer) -> None:
        ingress = event.ingress
        if self.istio_app.readonly:
            self.notify(
                f"{ingress.namespace}/{ingress.service} is a LoadBalancer without an address; patching it to "
                f"NodePort is disabled in {READ_ONLY_REASON}",
                severity="warning",
                markup=False,
            )
            return
        lines = [
            f"Service {ingress.namespace}/{ingress.service} is a LoadBalancer",
            "that no load balancer has given an address (EXTERNAL-IP",
            "<pending>), as on kind, bare metal or minikube without a tunnel.",
            "",
            "Sent as a merge patch: spec.type → NodePort. The http2",
            f"nodePort keeps serving at {ingress.gateway_url}.",
        ]
        self._confirm(
            f"Patch {ingress.namespace}/{ingress.service} to NodePort?",
            lines,
            lambda: self._patch_nodeport(ingress),
            label="Patch",
        )

    @work(thread=True, exit_on_error=False, group="traffic-gateway", description="patching the gateway")
    def _patch_nodeport(self, ingress: IngressInfo) -> None:
        fixed = bookinfo.patch_to_nodeport(self.istio_app.cluster, ingress=ingress)
        self.notify(f"{fixed.namespace}/{fixed.service} is now {fixed.service_type}", markup=False)
        self.post_message(self.Changed(verify=True))

    # --- presets

    def preset(self, namespace: str, key: str, *, user: str | None) -> None:
        """The dialog opens at once (pending) so an answer typed right after the key reaches it."""
        api = self.api
        if key not in {p.key for p in bookinfo.presets(api)}:
            self.notify(
                f"{bookinfo.preset(key).title} has no Gateway API version here: switch to Istio APIs (a)",
                severity="warning",
                markup=False,
            )
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._apply_preset(namespace, key, user, api)

        screen = ConfirmScreen(
            f"Apply preset {bookinfo.preset(key, api).title}?",
            ["Reading the current routing…"],
            context=self.istio_app.context_name,
            confirm_label="Apply",
            destructive=False,
            pending=True,
        )
        self.app.push_screen(screen, answered)
        self._checking.add(self._preview(namespace, key, api, screen), screen)

    @work(thread=True, exit_on_error=False, group="traffic-change", description="routing preset preview")
    def _preview(self, namespace: str, key: str, api: RoutingApi, screen: ConfirmScreen) -> None:
        cluster = self.istio_app.cluster
        bookinfo.require_routing_api(cluster, api=api)
        preview = bookinfo.preview_preset(cluster, namespace=namespace, key=key, api=api)
        self.post_message(self._Previewed(preview, api, screen))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        self._checking.worker_changed(event)

    @on(_Previewed)
    def _show_preview(self, event: _Previewed) -> None:
        preview, api, screen = event.preview, event.api, event.dialog
        if not screen.waiting:
            return
        if not preview.changes:
            screen.refuse()
            self.notify(f"{preview.title} is already in place in {preview.namespace}", markup=False)
            return
        diff = list(preview.diff)
        if len(diff) > DIFF_LINES:
            diff = [*diff[:DIFF_LINES], f"… {len(diff) - DIFF_LINES} more lines"]
        verb = "Create" if preview.creates else "Change"
        kind = "HTTPRoute" if api == "gateway-api" else "VirtualService"
        screen.show([f"{verb} {kind} {preview.namespace}/{preview.host}:", "", *diff])

    @work(thread=True, exit_on_error=False, group="traffic-change", description="applying a routing preset")
    def _apply_preset(self, namespace: str, key: str, user: str | None, api: RoutingApi) -> None:
        view = bookinfo.apply_preset(self.istio_app.cluster, namespace=namespace, key=key, api=api)
        self.post_message(self.RoutingRead(view))
        hint = ""
        if view.matches and not user:
            users = ", ".join(sorted({m.value for m in view.matches if m.header == "end-user"}))
            hint = f" · set the user knob to {users} (e) to send its traffic" if users else ""
        self.notify(f"Applied {bookinfo.preset(key, api).title} in {namespace}{hint}", markup=False)

    # --- revert and cleanup

    def revert(self, namespace: str) -> None:
        kind = "HTTPRoute" if self.api == "gateway-api" else "VirtualService"
        lines = [
            f"In namespace {namespace}, for reviews and ratings:",
            f"  • a {kind} istio-tui created is deleted (Istio",
            "    then balances over all pods);",
            "  • one istio-tui changed gets back the spec it had before",
            "    the first preset;",
            "  • anything else is left alone.",
        ]
        title = f"Revert the routing presets in {namespace}?"
        self._confirm(title, lines, lambda: self._revert(namespace, self.api), label="Revert")

    @work(thread=True, exit_on_error=False, group="traffic-change", description="reverting routing presets")
    def _revert(self, namespace: str, api: RoutingApi) -> None:
        bookinfo.require_routing_api(self.istio_app.cluster, api=api)
        done: list[str] = []
        for host in ("reviews", "ratings"):
            try:
                view = bookinfo.revert(self.istio_app.cluster, namespace=namespace, host=host, api=api)
            except ConfigError:
                continue
            self.post_message(self.RoutingRead(view))
            done.append(host)
        message = f"Reverted {' and '.join(done)}" if done else "No presets to revert"
        self.notify(f"{message} in {namespace}", markup=False)
        self.post_message(self.Changed(verify=False))

    def cleanup(self, namespace: str) -> None:
        lines = [
            f"Deletes from namespace {namespace} only what istio-tui deployed",
            "(labelled app.kubernetes.io/managed-by=istio-tui): the",
            "Bookinfo Deployments, Services and ServiceAccounts, the",
            "Gateways, VirtualServices, DestinationRules and HTTPRoutes.",
            "",
            "VirtualServices istio-tui did not create stay; a preset",
            "applied to one is undone. The namespace and its labels stay.",
        ]
        self._confirm(
            f"Clean up Bookinfo in {namespace}?", lines, lambda: self._cleanup(namespace), label="Clean up"
        )

    @work(thread=True, exit_on_error=False, group="traffic-change", description="cleaning up Bookinfo")
    def _cleanup(self, namespace: str) -> None:
        result = bookinfo.cleanup(self.istio_app.cluster, namespace=namespace)
        parts = [f"Deleted {plural(len(result.deleted), 'object')} from {namespace}"]
        if result.restored:
            parts.append("restored " + ", ".join(result.restored))
        if result.kept:
            parts.append("left alone " + ", ".join(result.kept))
        self.notify("; ".join(parts), markup=False, timeout=10)
        self.post_message(self.Changed(verify=True))
