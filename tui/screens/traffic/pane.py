"""The traffic work area: deploy and expose Bookinfo, generate load, and count the stars live.

The pane only wires its parts together. ``BookinfoPoller`` (cluster.py) reads the namespace's pods, routing
and gateway on a thread of its own and posts the view; ``BookinfoActions`` (actions.py) makes every cluster
change behind a confirmation; ``KnobsBar`` (knobs.py) validates the knobs; the engine runs as an async worker
in the app's loop and feeds a ``RunTally`` (run.py), which a timer draws into the two boxes (views.py) at a
fixed rate, so the screen never sees one message per request. Cluster changes are not bound at all in
read-only mode; traffic itself changes nothing in the cluster, so it stays available there.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.events import Resize
from textual.widgets import Input, Label, Static

from tui import state
from tui.errors import ConfigError
from tui.istio import bookinfo
from tui.istio.presets import API_TITLES, ROUTING_APIS, RoutingApi
from tui.istio.routing import RoutingView, routing_record
from tui.screens.export import ExportScreen, write_export
from tui.screens.injection_flow import InjectionFlow
from tui.screens.traffic.actions import BookinfoActions
from tui.screens.traffic.cluster import BookinfoPoller, ClusterView
from tui.screens.traffic.diagnosis import FindingsLine, run_symptoms
from tui.screens.traffic.incluster import InClusterLoad
from tui.screens.traffic.knobs import Knobs, KnobsBar
from tui.screens.traffic.run import BUCKET_S, MARGIN, RunTally, Split
from tui.screens.traffic.views import ConfiguredVsObserved, GatewayLine, LiveSplit, namespace_line
from tui.traffic import MAX_LOAD_PODS
from tui.traffic.engine import TrafficConfig, run
from tui.traffic.incluster import InClusterPlan
from tui.traffic.snapshot import TallySnapshot
from tui.widgets.pane import PaneAction, WorkPane

DEFAULT_NAMESPACE = "bookinfo"
RENDER_INTERVAL_S = 0.2
CLEANUP_WAIT_S = 10.0  # on quit, how long an in-cluster run may take to delete its Job and pods
NARROW_WIDTH = 110  # below this the two boxes stack: the comparison table needs about 52 columns
_PRESETS = bookinfo.presets()


class TrafficPane(WorkPane):
    PANE_ID = "traffic"
    TITLE = "Traffic"
    ACTIONS: ClassVar[tuple[PaneAction, ...]] = (
        PaneAction(
            "toggle_traffic",
            "Start/stop traffic",
            "send page requests with the knobs through the gateway, or stop the run",
            key="s",
            short="Start",
        ),
        PaneAction(
            "deploy",
            "Deploy Bookinfo",
            "apply Bookinfo, its Gateway, VirtualService and DestinationRules, then follow the pods",
            key="d",
            destructive=True,
            short="Deploy",
        ),
        PaneAction(
            "inject",
            "Injection label",
            "toggle istio-injection on the namespace (the Namespaces toggle; creates the namespace)",
            key="i",
            destructive=True,
            short="Inject",
        ),
        PaneAction(
            "switch_api",
            "Routing API",
            "switch between Istio APIs (Gateway, VirtualService) and the Gateway API (Gateway, HTTPRoute)",
            key="a",
            show=False,
        ),
        PaneAction(
            "gateway",
            "Find the gateway",
            "find GATEWAY_URL and GET /productpage; offers the NodePort patch for a pending LoadBalancer",
            key="g",
            short="Gateway",
        ),
        *(
            PaneAction(
                f"preset('{p.key}')",
                f"Preset {i}: {p.title}",
                f"preview, confirm and apply {p.key} ({p.title})",
                key=str(i),
                destructive=True,
                show=False,
            )
            for i, p in enumerate(_PRESETS, start=1)
        ),
        PaneAction(
            "revert",
            "Revert presets",
            "put back the reviews and ratings routing from before the presets",
            key="r",
            destructive=True,
            show=False,
        ),
        PaneAction(
            "cleanup",
            "Clean up Bookinfo",
            "delete what istio-tui deployed in the namespace; other people's routing stays",
            key="c",
            destructive=True,
            show=False,
        ),
        PaneAction(
            "export",
            "Export the run",
            "save the run as .json (whole run) or .csv (per second)",
            key="x",
            short="Export",
        ),
        PaneAction("edit_knobs", "Edit the knobs", "focus the knobs (esc returns)", key="e", show=False),
        PaneAction("choose_namespace", "Choose the namespace", "type the namespace", key="n", show=False),
    )
    BINDINGS = [Binding("escape", "leave_inputs", "Back", show=False, id="traffic.leave_inputs")]
    KEY_HELP: ClassVar[tuple[tuple[str, str], ...]] = (
        ("1-8", "routing and fault presets (preview, then confirm); r reverts them"),
        ("a", "Istio APIs or Gateway API, remembered per cluster; Gateway API presets 1-4 are HTTPRoutes"),
        ("c", "clean up what istio-tui deployed"),
        ("tab", "move between the knobs; a bad value is explained and changes nothing"),
        ("pods", f"N ≤ {MAX_LOAD_PODS}: load from N pods of a Job in the cluster; empty: from this machine"),
        ("esc", "leave the knobs"),
    )
    can_focus = True
    ENGINE_WORKERS: ClassVar[int | None] = None  # None: one process per core; tests use 0 (in the app's loop)

    def __init__(self) -> None:
        super().__init__(id="traffic-pane")
        self.namespace = DEFAULT_NAMESPACE
        self.knobs = Knobs()
        self.view = ClusterView(namespace=DEFAULT_NAMESPACE)
        self.tally = RunTally()
        self.running = False
        self._stop_event: asyncio.Event | None = None
        self._in_cluster: InClusterLoad | None = None
        self._dirty = False
        self._toasts = 0
        self._namespace_chosen = False
        self.poller = BookinfoPoller(lambda: self.istio_app.cluster, self, namespace=DEFAULT_NAMESPACE)
        self.api: RoutingApi = "istio"

    @property
    def latest(self) -> TallySnapshot | None:
        return self.tally.latest

    # --- layout

    def compose(self) -> ComposeResult:
        with Horizontal(id="traffic-setup", classes="traffic-row"):
            yield Label("namespace ", classes="knob-label")
            yield Input(DEFAULT_NAMESPACE, id="traffic-namespace", compact=True, classes="knob")
            yield Static("", id="traffic-ns-status")
        yield GatewayLine(id="traffic-gateway", classes="traffic-row")
        yield KnobsBar(self.knobs, id="traffic-knobs", classes="traffic-row")
        yield Static("", id="traffic-message", classes="-hidden")
        with Horizontal(id="traffic-main"):
            yield LiveSplit(id="traffic-left")
            yield ConfiguredVsObserved(id="traffic-right")
        yield FindingsLine(id="traffic-findings")
        yield BookinfoActions(id="traffic-actions")

    def on_mount(self) -> None:
        super().on_mount()
        saved = state.remembered(self._cluster_key(), "traffic-api")
        self._use_api(next((a for a in ROUTING_APIS if a == saved), "istio"))
        self.set_interval(RENDER_INTERVAL_S, self._render_traffic)
        self._render_view()
        self._render_traffic(force=True)
        self._show_run_state()

    def on_resize(self, event: Resize) -> None:
        narrow = event.size.width < NARROW_WIDTH
        if narrow != self.has_class("-narrow"):
            self.set_class(narrow, "-narrow")
            self._render_view()
            self._render_traffic(force=True)

    def on_show(self) -> None:
        self._start_polling()

    def on_unmount(self) -> None:
        self.poller.stop()
        if self._stop_event is not None:
            self._stop_event.set()
        if self._in_cluster is not None:
            self._in_cluster.stop(wait_s=CLEANUP_WAIT_S)  # a daemon thread would die before deleting the Job

    def focus_content(self) -> None:
        self._start_polling()
        self.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        destructive = {a.action.split("(")[0] for a in self.ACTIONS if a.destructive}
        return not (self.readonly and action in destructive)

    # --- cluster view

    def _start_polling(self) -> None:
        report = self.istio_app.report_error
        self.poller.start(on_error=lambda err: self.app.call_from_thread(report, err, "Bookinfo status"))

    def refresh_view(self, *, verify: bool = False) -> None:
        self.poller.refresh(verify=verify)

    @on(BookinfoPoller.Found)
    def _found(self, event: BookinfoPoller.Found) -> None:
        chosen = self._namespace_chosen or self.running
        if event.namespaces and DEFAULT_NAMESPACE not in event.namespaces and not chosen:
            self._set_namespace(event.namespaces[0])

    def _set_namespace(self, name: str) -> None:
        self.namespace = name
        self.poller.namespace = name
        self.query_one("#traffic-namespace", Input).value = name
        self.view = ClusterView(namespace=name, api=self.api)
        self._render_view()
        self.refresh_view(verify=True)

    @on(BookinfoPoller.ViewRead)
    def _view_read(self, event: BookinfoPoller.ViewRead) -> None:
        view = event.view
        if view.namespace != self.namespace or view.api != self.api:
            return
        routing_changed = (view.reviews, view.ratings, view.routing_applies()) != (
            self.view.reviews,
            self.view.ratings,
            self.view.routing_applies(),
        )
        self.view = view
        if routing_changed and self.running:
            self.tally.new_epoch()
        self._render_view()

    @on(BookinfoActions.StatusRead)
    def _status_read(self, event: BookinfoActions.StatusRead) -> None:
        if event.status.namespace == self.namespace:
            self.view = dataclasses.replace(self.view, status=event.status)
            self._render_view()

    @on(BookinfoActions.RoutingRead)
    def _routing_read(self, event: BookinfoActions.RoutingRead) -> None:
        routing = event.routing
        if routing.namespace != self.namespace:
            return
        if routing.host == "reviews":
            changed = dataclasses.replace(self.view, reviews=routing)
        else:
            changed = dataclasses.replace(self.view, ratings=routing)
        if changed != self.view:
            self.view = changed
            if self.running:
                self.tally.new_epoch()
            self._render_view()

    @on(BookinfoActions.Changed)
    def _cluster_changed(self, event: BookinfoActions.Changed) -> None:
        self.refresh_view(verify=event.verify)

    @on(InjectionFlow.Applied)
    def _label_applied(self) -> None:
        self.refresh_view()

    @on(InjectionFlow.RestartProgressed)
    def _restart_progressed(self, event: InjectionFlow.RestartProgressed) -> None:
        progress = event.progress
        if progress.finished:
            self.notify(f"Restart in {event.plan.namespace} done: {progress.done}/{progress.total} ready")
        self.refresh_view()

    # --- routing API

    def _cluster_key(self) -> str:
        return state.cluster_key(context=self.istio_app.context_name, server=self.istio_app.info.server)

    def _use_api(self, api: RoutingApi) -> None:
        self.api = api
        self.poller.api = api
        self.query_one(BookinfoActions).api = api
        self.view = dataclasses.replace(self.view, api=api)

    def action_switch_api(self) -> None:
        """Istio APIs ↔ Gateway API; saved per cluster (context and server) so the next start keeps it."""
        api: RoutingApi = "gateway-api" if self.api == "istio" else "istio"
        self._use_api(api)
        try:
            state.remember(self._cluster_key(), "traffic-api", api)
        except ConfigError as exc:
            self.notify(f"{exc} (the choice holds until you quit)", severity="warning", markup=False)
        self.notify(f"Routing with the {API_TITLES[api]}: d deploys, 1-4 apply presets with it", markup=False)
        self._render_view()
        self.refresh_view(verify=True)

    def _render_view(self) -> None:
        labels = self.istio_app.namespace_labels.get(self.namespace)
        ns_line = namespace_line(labels, self.view.status)
        self.query_one("#traffic-ns-status", Static).update(ns_line)
        self.query_one(GatewayLine).show(self.view)
        self.query_one(ConfiguredVsObserved).show_view(self.view, compact=self.has_class("-narrow"))
        self._render_split()

    # --- knobs and namespace

    @on(KnobsBar.Changed)
    def _knobs_changed(self, event: KnobsBar.Changed) -> None:
        self.knobs = event.knobs
        self._message("")
        self._show_run_state(extra=" (applies at the next start)" if self.running else "")
        if event.submitted:
            self.focus()

    @on(KnobsBar.Rejected)
    def _knobs_rejected(self, event: KnobsBar.Rejected) -> None:
        self._message(f"{event.error} — still using: {event.knobs.describe()}")

    @on(Input.Submitted, "#traffic-namespace")
    def _namespace_submitted(self, event: Input.Submitted) -> None:
        name = event.value.strip()
        field = self.query_one("#traffic-namespace", Input)
        try:
            bookinfo.check_namespace_name(name)
        except ConfigError as exc:
            field.add_class("-bad")
            self._message(f"{exc} — still using namespace {self.namespace}")
            return
        if self.running and name != self.namespace:
            field.add_class("-bad")
            ns = self.namespace
            self._message(f"a run keeps its namespace: stop it first (s) — still using namespace {ns}")
            return
        field.remove_class("-bad")
        self._message("")
        self._namespace_chosen = True
        if name != self.namespace:
            self._set_namespace(name)
        self.focus()

    def _message(self, text: str) -> None:
        widget = self.query_one("#traffic-message", Static)
        widget.update(Text(text))
        widget.set_class(not text, "-hidden")

    def action_edit_knobs(self) -> None:
        self.query_one("#knob-concurrency", Input).focus()

    def action_choose_namespace(self) -> None:
        self.query_one("#traffic-namespace", Input).focus()

    def action_leave_inputs(self) -> None:
        ns_input = self.query_one("#traffic-namespace", Input)
        if ns_input.has_focus and ns_input.value.strip() != self.namespace:
            ns_input.value = self.namespace
            ns_input.remove_class("-bad")
            self._message("")
        self.focus()

    # --- cluster changes (BookinfoActions asks for confirmation)

    def action_deploy(self) -> None:
        if not self.refuse_if_readonly("Deploying Bookinfo"):
            labels = self.istio_app.namespace_labels.get(self.namespace)
            self.query_one(BookinfoActions).deploy(self.namespace, labels)

    def action_inject(self) -> None:
        if not self.refuse_if_readonly("Changing injection labels"):
            labels = self.istio_app.namespace_labels.get(self.namespace)
            self.query_one(BookinfoActions).toggle_injection(self.namespace, labels)

    def action_gateway(self) -> None:
        self.query_one(BookinfoActions).find_gateway(self.namespace)

    def action_preset(self, key: str) -> None:
        if not self.refuse_if_readonly("Applying routing presets"):
            self.query_one(BookinfoActions).preset(self.namespace, key, user=self.knobs.user)

    def action_revert(self) -> None:
        if not self.refuse_if_readonly("Reverting routing presets"):
            self.query_one(BookinfoActions).revert(self.namespace)

    def action_cleanup(self) -> None:
        if not self.refuse_if_readonly("Cleaning up Bookinfo"):
            self.query_one(BookinfoActions).cleanup(self.namespace)

    # --- traffic

    def action_toggle_traffic(self) -> None:
        if self.running:
            if self._stop_event is not None:
                self._stop_event.set()
            if self._in_cluster is not None:
                self._in_cluster.stop()
            self._show_run_state(extra=" (stopping…)")
            return
        error = self.query_one(KnobsBar).validate()
        if error:
            self.notify(f"fix the knobs first: {error}", severity="warning", markup=False)
            return
        ingress = self.view.ingress
        if ingress is None:
            self.notify(
                "no gateway URL yet: deploy Bookinfo (d) and find the gateway (g) first",
                severity="warning",
            )
            return
        try:
            config = self.knobs.config(ingress.productpage_url, workers=self.ENGINE_WORKERS)
        except ConfigError as exc:
            self.notify(str(exc), severity="warning", markup=False)
            return
        if self.knobs.pods:
            self._start_in_cluster(config)
        else:
            self.start_traffic(config)

    def _start_in_cluster(self, config: TrafficConfig) -> None:
        """Load from a Job of ``knobs.pods`` pods in the Bookinfo namespace (so through its mesh, if any)."""
        plan = InClusterPlan(
            url=config.url,
            pods=self.knobs.pods,
            namespace=self.namespace,
            image=self.istio_app.settings.load_image,
            requests=config.requests,
            duration_s=config.duration_s,
            rate=config.rate,
            engine_args=(
                "--concurrency",
                str(config.concurrency),
                *(("--user", config.user) if config.user else ()),
            ),
        )
        self.tally = RunTally(config)
        self.running = True
        self._show_run_state()
        self._in_cluster = InClusterLoad(lambda: self.istio_app.cluster, self, plan=plan)
        report = self.istio_app.report_error
        self._in_cluster.start(on_error=lambda err: self.app.call_from_thread(report, err, "in-cluster load"))

    @on(InClusterLoad.Progress)
    def _in_cluster_progress(self, event: InClusterLoad.Progress) -> None:
        self.tally.feed(event.snapshot)
        self.tally.load_pods = event.pods
        self._dirty = True

    @on(InClusterLoad.Ended)
    def _in_cluster_ended(self) -> None:
        self._in_cluster = None
        self.running = False
        self._dirty = True
        self._show_run_state()

    def start_traffic(self, config: TrafficConfig) -> None:
        self.tally = RunTally(config)
        self.running = True
        self._stop_event = asyncio.Event()
        self._show_run_state()
        self._run_traffic(config, self._stop_event)

    @work(exclusive=True, exit_on_error=False, group="traffic-run", description="traffic run")
    async def _run_traffic(self, config: TrafficConfig, stop: asyncio.Event) -> None:
        tally = self.tally
        try:
            await run(config, on_snapshot=tally.feed, stop_event=stop)
        finally:
            self.running = False
            self._dirty = True
            self._show_run_state()

    def _show_run_state(self, extra: str = "") -> None:
        """On the live box's lower border, where it stays visible at any width."""
        if self.running:
            state = "[b green]● running[/] · s stops"
        elif self.latest is not None:
            state = "[b]■ stopped[/] · s starts a new run"
        else:
            state = "s starts a run"
        self.query_one(LiveSplit).border_subtitle = state + extra

    def _repaint_after_toasts(self) -> None:
        """A toast that goes away can leave its edge ("▌") on the boxes' borders, which nothing else redraws
        while they stay the same; repaint the boxes once whenever a toast has gone."""
        toasts = len(self.screen.query("Toast"))
        if toasts < self._toasts:
            self.query_one("#traffic-main").refresh()
        self._toasts = toasts

    def _render_traffic(self, force: bool = False) -> None:
        self._repaint_after_toasts()
        if not (self.running or self._dirty or force):
            return
        self._dirty = False
        compact = self.has_class("-narrow")
        self.query_one(LiveSplit).show(self.tally, knobs=self.knobs.describe(), compact=compact)
        self._render_split()
        if self.latest is not None and self.latest.done:
            self._show_run_state()

    def _user(self) -> str | None:
        return self.tally.config.user if self.tally.config is not None else self.knobs.user

    def split_rows(self) -> Split:
        """Configured vs observed for the reviews versions over the current epoch."""
        view = self.view
        routing: RoutingView | None = view.reviews if view.routing_applies() else None
        return self.tally.split_rows(
            routing,
            pods_per_subset=view.reviews_pods_per_version(),
            user=self._user(),
            pod_versions=view.reviews_pod_versions(),
        )

    def _render_split(self) -> None:
        rows, n, unknown = self.split_rows()
        symptoms = run_symptoms(self.tally, rows)
        self.query_one(FindingsLine).observe(namespace=self.namespace, symptoms=symptoms)
        self.query_one(ConfiguredVsObserved).show_split(
            rows,
            n,
            unknown=unknown,
            user=self._user(),
            view=self.view,
            settling=self.tally.settling,
            compact=self.has_class("-narrow"),
        )

    # --- export

    def run_record(self) -> dict[str, Any]:
        """The exported JSON: the CLI's contract for the run, plus the knobs, routing and split."""
        snap = self.latest
        assert snap is not None
        rows, n, unknown = self.split_rows()
        view = self.view
        since = self.tally.baseline.elapsed_s if self.tally.baseline else 0.0
        return {
            "exported_at": self.istio_app.clock().isoformat(timespec="seconds"),
            "context": self.istio_app.context_name,
            "namespace": self.namespace,
            "gateway_url": view.ingress.gateway_url if view.ingress else None,
            "knobs": dataclasses.asdict(self.knobs),
            "run": snap.to_dict(),
            "routing": {"reviews": routing_record(view.reviews), "ratings": routing_record(view.ratings)},
            "split": {
                "since_s": round(since, 3),
                "pages": n,
                "pages_without_version": unknown,
                "margin": MARGIN,
                "rows": [dataclasses.asdict(r) for r in rows],
            },
            "per_second": self.tally.series.counts(),
        }

    def action_export(self) -> None:
        """The dialog and the file show the same run: the record is taken once, when the dialog opens."""
        snap = self.latest
        if snap is None:
            self.notify("nothing to export yet: start traffic first (s)", severity="warning")
            return
        record = self.run_record()
        buckets = list(record["per_second"])
        stamp = self.istio_app.clock().strftime("%Y%m%d-%H%M%S")

        def save(raw: str) -> Path:
            return write_export(raw, record=record, buckets=buckets, bucket_s=BUCKET_S)

        def saved(path: Path | None) -> None:
            if path is not None:
                self.notify(f"Saved {path}", markup=False)

        still = " (still running: later requests are not in the file)" if self.running else ""
        self.app.push_screen(
            ExportScreen(
                save,
                summary=f"{snap.requests} requests over {snap.elapsed_s:.1f} s to {snap.url}{still}",
                suggestion=f"traffic-{self.namespace}-{stamp}.json",
            ),
            saved,
        )

