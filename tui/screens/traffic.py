"""The traffic work area: deploy and expose Bookinfo, generate load, and count the stars live.

Data in: a thread worker polls the namespace's Bookinfo pods, the reviews and ratings VirtualServices and the
ingress gateway about once a second (:func:`read_cluster_view`, the only place that reads the cluster for
this pane). The traffic engine runs as an async worker in the app's loop; its snapshot callback only stores
the latest merged tally, and a timer draws it at a fixed rate, so the screen never sees one message per
request. Every change to the cluster (deploy, injection label, presets, revert, NodePort patch, cleanup) goes
through a ConfirmScreen naming the context and is not bound at all in read-only mode; traffic itself changes
nothing in the cluster, so it stays available there.

When the configured routing changes during a run the bars, the pods and the configured-vs-observed table
count from that moment on: mixing pages from two routings would make any interval meaningless.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, Static
from textual.worker import get_current_worker

from tui import kube
from tui.errors import ConfigError, IstioTuiError
from tui.istio import bookinfo
from tui.istio.injection import namespace_mode
from tui.istio.routing import PresetPreview, RoutingView, expected_shares
from tui.models import (
    BookinfoStatus,
    IngressInfo,
    SplitRow,
    TallySnapshot,
    VerifyResult,
)
from tui.screens.confirm import ConfirmScreen
from tui.screens.export import ExportScreen, write_export
from tui.traffic.engine import TrafficConfig, run
from tui.traffic.stats import VERSION_OF_CATEGORY, SplitSeries, compare_split
from tui.widgets.pane import READ_ONLY_REASON, PaneAction, WorkPane
from tui.widgets.split_bars import SplitBars
from tui.widgets.split_history import SplitHistory
from tui.widgets.split_table import SplitTable

if TYPE_CHECKING:
    from tui.app import IstioApp

DEFAULT_NAMESPACE = "bookinfo"
POLL_INTERVAL_S = 1.0
RENDER_INTERVAL_S = 0.2
VERIFY_EVERY_S = 5.0
BUCKET_S = 1.0
HISTORY_BUCKETS = 600
DIFF_LINES = 24
MARGIN = 0.05
REBASE_SETTLE_S = 1.0
_PRESETS = bookinfo.presets()


# ----------------------------------------------------------------------------------------------- knobs
@dataclass(frozen=True)
class Knobs:
    """The traffic knobs as last validated; a bad value in an Input never reaches here."""

    concurrency: int = 8
    rate: float = 50.0
    requests: int | None = None
    duration_s: float | None = None
    user: str | None = None

    def config(self, url: str, *, workers: int | None) -> TrafficConfig:
        return TrafficConfig(
            url=url,
            requests=self.requests,
            duration_s=self.duration_s,
            concurrency=self.concurrency,
            rate=self.rate,
            user=self.user,
            workers=workers,
        )

    def describe(self) -> str:
        amount = (
            f"{self.requests} requests"
            if self.requests
            else f"{self.duration_s:g} s"
            if self.duration_s
            else "until stopped"
        )
        rate = "as fast as possible" if not self.rate else f"{self.rate:g}/s"
        who = f", as {self.user}" if self.user else ""
        return f"{amount}, concurrency {self.concurrency}, {rate}{who}"


def _whole(text: str, what: str, *, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(f"{what} must be a whole number, got {text!r}") from None
    if value < low:
        raise ConfigError(f"{what} must be at least {low}, got {value}")
    return value


def _seconds(text: str, what: str) -> float:
    raw = text[:-1].strip() if text.endswith("s") else text
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{what} must be a number of seconds, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise ConfigError(f"{what} must be a positive number of seconds, got {text!r}")
    return value


def parse_knobs(values: Mapping[str, str]) -> Knobs:
    """Knobs from the Inputs' text; a ConfigError names the first bad field. Empty requests/duration: none."""
    concurrency = _whole(values["concurrency"].strip(), "concurrency", low=1)
    rate_text = values["rate"].strip() or "0"
    try:
        rate = float(rate_text)
    except ValueError:
        raise ConfigError(
            f"rate must be requests per second (0: as fast as possible), got {rate_text!r}"
        ) from None
    requests_text, duration_text = values["requests"].strip(), values["duration"].strip()
    requests = _whole(requests_text, "requests", low=1) if requests_text else None
    duration = _seconds(duration_text, "duration") if duration_text else None
    user = values["user"].strip() or None
    knobs = Knobs(concurrency=concurrency, rate=rate, requests=requests, duration_s=duration, user=user)
    knobs.config("http://127.0.0.1/", workers=0)  # the engine's own checks: ranges, both amounts, user name
    return knobs


KNOB_FIELDS = (
    ("concurrency", "concurrency", 6),
    ("rate", "rate/s", 7),
    ("requests", "requests", 8),
    ("duration", "or secs", 6),
    ("user", "user", 10),
)


# ----------------------------------------------------------------------------------------------- cluster view
@dataclass(frozen=True)
class ClusterView:
    """What the pane knows about the cluster side of Bookinfo, read in one go by the poll worker."""

    namespace: str
    status: BookinfoStatus | None = None
    reviews: RoutingView = RoutingView(host="reviews", namespace="", exists=False)
    ratings: RoutingView = RoutingView(host="ratings", namespace="", exists=False)
    ingress: IngressInfo | None = None
    ingress_error: str = ""
    verify: VerifyResult | None = None
    error: str = ""


def read_cluster_view(
    cluster: kube.Cluster, *, namespace: str, verify_due: bool, previous_verify: VerifyResult | None
) -> ClusterView:
    """Blocking: pods, routing and the ingress of ``namespace``. /productpage is fetched only when due or
    when the gateway URL changed, so the check does not add a request a second to the user's numbers."""
    error = ""
    status = None
    reviews = RoutingView(host="reviews", namespace=namespace, exists=False)
    ratings = RoutingView(host="ratings", namespace=namespace, exists=False)
    try:
        status = bookinfo.pod_status(cluster, namespace=namespace)
        reviews = bookinfo.current_routing(cluster, namespace=namespace, host="reviews")
        ratings = bookinfo.current_routing(cluster, namespace=namespace, host="ratings")
    except IstioTuiError as exc:
        error = str(exc)
    ingress: IngressInfo | None = None
    ingress_error = ""
    try:
        ingress = bookinfo.find_ingress(cluster, namespace=namespace)
    except IstioTuiError as exc:
        ingress_error = str(exc)
    verify = None
    if ingress is not None:
        verify = previous_verify
        if verify_due or verify is None or verify.url != ingress.productpage_url:
            verify = bookinfo.verify(ingress.productpage_url, timeout=3.0)
    return ClusterView(
        namespace=namespace,
        status=status,
        reviews=reviews,
        ratings=ratings,
        ingress=ingress,
        ingress_error=ingress_error,
        verify=verify,
        error=error,
    )


def _weights_text(weights: Mapping[str, int]) -> str:
    return " ".join(f"{subset} {pct}%" for subset, pct in sorted(weights.items())) or "no route"


def routing_lines(view: RoutingView, *, sidecar: bool | None) -> Text:
    """One or two lines per host: the default route and each header rule, with faults."""
    text = Text()
    text.append(f"{view.host}: ", style="bold")
    if not view.exists:
        text.append("no VirtualService", style="dim")
        if view.host == "reviews":
            text.append(" → round-robin over the pods", style="dim")
        return text
    if view.preset:
        text.append(f"[{view.preset}] ", style="cyan")
    elif not view.managed:
        text.append("[not ours] ", style="magenta")
    if view.default_weights:
        text.append(_weights_text(view.default_weights))
    if view.default_fault:
        text.append(f" {view.default_fault}", style="yellow")
    for m in view.matches:
        text.append(f"\n  {m.header} {m.kind} {m.value!r} → {_weights_text(m.weights)}")
        if m.fault:
            text.append(f" {m.fault}", style="yellow")
    if sidecar is False:
        text.append("\n  ⚠ not applied: productpage has no sidecar", style="yellow")
    return text


def pods_text(status: BookinfoStatus | None) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    if status is None:
        return Text("reading pods…", style="dim")
    if not status.pods and status.missing:
        return Text(f"Bookinfo is not deployed in {status.namespace}: press d to deploy it", style="dim")
    width = max((len(p.name) for p in status.pods), default=20)
    for pod in status.pods:
        mark, style = ("✓", "green") if pod.ready else ("…", "yellow")
        text.append(f"{mark} ", style=style)
        text.append(f"{pod.name:<{width}} ")
        text.append(f"{pod.phase[:11]:<11} ", style="" if pod.ready else "yellow")
        text.append(f"{pod.ready_text:>3}", style=style)
        text.append("\n" if pod.has_sidecar else " no sidecar\n", style="yellow")
    for name in status.missing:
        text.append(f"… {name:<{width}} missing\n", style="yellow")
    for warning in status.warnings:
        text.append(f"⚠ {warning}\n", style="bold yellow")
    text.rstrip()
    return text


def _delta(now: Mapping[str, int], base: Mapping[str, int] | None) -> dict[str, int]:
    if not base:
        return dict(now)
    return {k: n - base.get(k, 0) for k, n in now.items() if n - base.get(k, 0)}


# ----------------------------------------------------------------------------------------------- the pane
class TrafficPane(WorkPane):
    PANE_ID = "traffic"
    TITLE = "Traffic"
    ACTIONS: ClassVar[tuple[PaneAction, ...]] = (
        PaneAction(
            "toggle_traffic",
            "Start/stop traffic",
            "send page requests with the knobs through the gateway, or stop the run",
            key="s",
            short="Start/stop",
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
            short="Revert",
        ),
        PaneAction(
            "cleanup",
            "Clean up Bookinfo",
            "delete what istio-tui deployed in the namespace; other people's routing stays",
            key="c",
            destructive=True,
            short="Cleanup",
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
        ("1-8", "routing and fault presets (preview, then confirm)"),
        ("tab", "move between the knobs; a bad value is explained and changes nothing"),
        ("esc", "leave the knobs"),
    )
    can_focus = True
    ENGINE_WORKERS: ClassVar[int | None] = None  # None: one process per core; tests use 0 (in the app's loop)

    def __init__(self) -> None:
        super().__init__(id="traffic-pane")
        self.namespace = DEFAULT_NAMESPACE
        self.knobs = Knobs()
        self.view = ClusterView(namespace=DEFAULT_NAMESPACE)
        self.latest: TallySnapshot | None = None
        self.series = SplitSeries(bucket_s=BUCKET_S, maxlen=HISTORY_BUCKETS)
        self.baseline: TallySnapshot | None = None
        self._rebase_at: float | None = None
        self.run_config: TrafficConfig | None = None
        self.running = False
        self._stop_event: asyncio.Event | None = None
        self._dirty = False
        self._started = False
        self._namespace_chosen = False
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._force_verify = threading.Event()

    @property
    def istio_app(self) -> IstioApp:
        return self.app  # type: ignore[return-value]

    # --- layout

    def compose(self) -> ComposeResult:
        with Horizontal(id="traffic-setup", classes="traffic-row"):
            yield Label("namespace ", classes="knob-label")
            yield Input(DEFAULT_NAMESPACE, id="traffic-namespace", compact=True, classes="knob")
            yield Static("", id="traffic-ns-status")
        yield Static("", id="traffic-gateway", classes="traffic-row")
        with Horizontal(id="traffic-knobs", classes="traffic-row"):
            initial = self._knob_texts(self.knobs)
            for key, label, _ in KNOB_FIELDS:
                yield Label(f"{label} ", classes="knob-label")
                yield Input(initial[key], id=f"knob-{key}", compact=True, classes="knob")
            yield Static("", id="traffic-run-state")
        yield Static("", id="traffic-message", classes="-hidden")
        with Horizontal(id="traffic-main"):
            with Vertical(id="traffic-left"):
                yield Static("", id="traffic-stats")
                yield SplitBars(id="traffic-bars")
                yield SplitHistory(id="traffic-history")
                yield Static("", id="traffic-serving")
            with Vertical(id="traffic-right"):
                yield Static("", id="traffic-routing")
                yield SplitTable("", id="traffic-split")
                yield Static("", id="traffic-pods")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#traffic-left").border_title = "Live split"
        self.query_one("#traffic-right").border_title = "Configured vs observed"
        self.set_interval(RENDER_INTERVAL_S, self._render_traffic)
        self._render_view()
        self._render_traffic(force=True)
        self._show_run_state()

    def on_show(self) -> None:
        self._start_polling()

    def on_unmount(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._stop_event is not None:
            self._stop_event.set()

    def focus_content(self) -> None:
        self._start_polling()
        self.focus()

    @staticmethod
    def _knob_texts(knobs: Knobs) -> dict[str, str]:
        return {
            "concurrency": str(knobs.concurrency),
            "rate": f"{knobs.rate:g}",
            "requests": str(knobs.requests or ""),
            "duration": f"{knobs.duration_s:g}" if knobs.duration_s else "",
            "user": knobs.user or "",
        }

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        destructive = {a.action.split("(")[0] for a in self.ACTIONS if a.destructive}
        return not (self.readonly and action in destructive)

    # --- cluster view

    def _start_polling(self) -> None:
        if self._started:
            return
        self._started = True
        self._poll()

    @work(thread=True, exit_on_error=False, group="traffic-poll", description="Bookinfo status")
    def _poll(self) -> None:
        cluster = self.istio_app.cluster
        worker = get_current_worker()
        try:
            found = bookinfo.bookinfo_namespaces(cluster)
        except IstioTuiError:
            found = []
        if found and DEFAULT_NAMESPACE not in found:
            self.app.call_from_thread(self._adopt_namespace, found[0])
        last_verify = 0.0
        verify: VerifyResult | None = None
        while not (self._stopping.is_set() or worker.is_cancelled):
            namespace = self.namespace
            due = self._force_verify.is_set() or time.monotonic() - last_verify >= VERIFY_EVERY_S
            self._force_verify.clear()
            view = read_cluster_view(cluster, namespace=namespace, verify_due=due, previous_verify=verify)
            if view.verify is not verify:
                last_verify = time.monotonic()
            verify = view.verify
            if self._stopping.is_set():
                return
            self.app.call_from_thread(self._apply_view, view)
            self._wake.wait(POLL_INTERVAL_S)
            self._wake.clear()

    def refresh_view(self, *, verify: bool = False) -> None:
        """Ask the poll worker for a fresh view now instead of at its next tick."""
        if verify:
            self._force_verify.set()
        self._wake.set()

    def _adopt_namespace(self, name: str) -> None:
        if not self._namespace_chosen:
            self._set_namespace(name)

    def _set_namespace(self, name: str) -> None:
        self.namespace = name
        self.query_one("#traffic-namespace", Input).value = name
        self.view = ClusterView(namespace=name)
        self._render_view()
        self.refresh_view(verify=True)

    def _apply_view(self, view: ClusterView) -> None:
        if view.namespace != self.namespace:
            return
        routing_changed = (view.reviews, view.ratings) != (self.view.reviews, self.view.ratings)
        self.view = view
        if routing_changed and self.running:
            self._rebase()
        self._render_view()

    def _show_status(self, status: BookinfoStatus) -> None:
        if status.namespace == self.namespace:
            self.view = dataclasses.replace(self.view, status=status)
            self._render_view()

    def _show_routing(self, routing: RoutingView) -> None:
        if routing.namespace != self.namespace:
            return
        if routing.host == "reviews":
            changed = dataclasses.replace(self.view, reviews=routing)
        else:
            changed = dataclasses.replace(self.view, ratings=routing)
        if changed != self.view:
            self.view = changed
            if self.running:
                self._rebase()
            self._render_view()

    def _render_view(self) -> None:
        view = self.view
        self.query_one("#traffic-ns-status", Static).update(self._namespace_line())
        self.query_one("#traffic-gateway", Static).update(self._gateway_line(view))
        sidecar = view.status.productpage_sidecar if view.status else None
        routing = routing_lines(view.reviews, sidecar=sidecar)
        routing.append("\n")
        routing.append_text(routing_lines(view.ratings, sidecar=sidecar))
        self.query_one("#traffic-routing", Static).update(routing)
        pods = pods_text(view.status)
        if view.error:
            pods = Text(view.error, style="bold red")
        self.query_one("#traffic-pods", Static).update(pods)
        self._render_split()

    def _namespace_line(self) -> Text:
        labels = self.istio_app.namespace_labels.get(self.namespace)
        text = Text(no_wrap=True, overflow="ellipsis")
        if labels is None:
            text.append("does not exist yet: d deploys into it (creates it), i labels it", style="yellow")
            return text
        mode = namespace_mode(labels)
        if mode.injects_sidecars:
            text.append(f"✓ {mode.label}", style="green")
        else:
            text.append(f"⚠ {mode.label}: no sidecars, so no routing", style="yellow")
            text.append(" · press i to label it istio-injection=enabled", style="bold yellow")
        status = self.view.status
        if status is not None and status.pods:
            ready = sum(1 for p in status.pods if p.ready)
            style = "green" if status.ready else "yellow"
            text.append(f" · pods {ready}/{len(status.pods) + len(status.missing)} ready", style=style)
            counts = sorted({p.ready_text for p in status.pods})
            text.append(f" ({', '.join(counts)})", style=style)
        return text

    def _gateway_line(self, view: ClusterView) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        ingress = view.ingress
        if ingress is None:
            text.append("GATEWAY_URL ", style="bold")
            text.append(view.ingress_error or "looking for the ingress gateway…", style="yellow")
            return text
        text.append("GATEWAY_URL ", style="bold")
        text.append(ingress.gateway_url, style="bold cyan")
        text.append(f"  {ingress.service_type} {ingress.namespace}/{ingress.service}", style="dim")
        if ingress.pending_load_balancer:
            text.append("  LoadBalancer pending: g patches it to NodePort", style="bold yellow")
        verify = view.verify
        if verify is not None and verify.ok:
            text.append(f"  ✓ /productpage answers {verify.status_code}", style="green")
        elif verify is not None and verify.status_code == 404 and not (view.status and view.status.pods):
            text.append("  /productpage: 404, no route yet (d deploys Bookinfo)", style="yellow")
        elif verify is not None:
            text.append(f"  ✗ {verify.message}", style="bold red")
        return text

    # --- knobs

    @on(Input.Changed, ".knob")
    def _knob_changed(self, event: Input.Changed) -> None:
        if event.input.id == "traffic-namespace":
            return
        self._read_knobs()

    def _read_knobs(self) -> bool:
        values = {key: self.query_one(f"#knob-{key}", Input).value for key, _, _ in KNOB_FIELDS}
        for key, _, _ in KNOB_FIELDS:
            self.query_one(f"#knob-{key}", Input).remove_class("-bad")
        try:
            knobs = parse_knobs(values)
        except ConfigError as exc:
            text = str(exc)
            bad = [k for k, _, _ in KNOB_FIELDS if text.startswith(k)]
            if text.startswith("give either"):
                bad = ["requests", "duration"]
            for key in bad:
                self.query_one(f"#knob-{key}", Input).add_class("-bad")
            self._message(f"{text} — still using: {self.knobs.describe()}")
            return False
        self.knobs = knobs
        later = " (applies at the next start)" if self.running else ""
        self._message("")
        self._show_run_state(extra=later)
        return True

    @on(Input.Submitted, ".knob")
    def _input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "traffic-namespace":
            self._namespace_submitted(event.value)
            return
        if self._read_knobs():
            self.focus()

    def _namespace_submitted(self, value: str) -> None:
        name = value.strip()
        try:
            bookinfo.check_namespace_name(name)
        except ConfigError as exc:
            self.query_one("#traffic-namespace", Input).add_class("-bad")
            self._message(f"{exc} — still using namespace {self.namespace}")
            return
        self.query_one("#traffic-namespace", Input).remove_class("-bad")
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

    # --- traffic

    def action_toggle_traffic(self) -> None:
        if self.running:
            if self._stop_event is not None:
                self._stop_event.set()
            self._show_run_state(extra=" (stopping…)")
            return
        if not self._read_knobs():
            self.notify("fix the knobs first: " + str(self.query_one("#traffic-message", Static).render()),
                        severity="warning", markup=False)
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
        self.start_traffic(config)

    def start_traffic(self, config: TrafficConfig) -> None:
        self.latest = None
        self.baseline = None
        self._rebase_at = None
        self.series = SplitSeries(bucket_s=BUCKET_S, maxlen=HISTORY_BUCKETS)
        self.run_config = config
        self.running = True
        self._stop_event = asyncio.Event()
        self._show_run_state()
        self._run_traffic(config, self._stop_event)

    @work(exclusive=True, exit_on_error=False, group="traffic-run", description="traffic run")
    async def _run_traffic(self, config: TrafficConfig, stop: asyncio.Event) -> None:
        try:
            await run(config, on_snapshot=self.feed, stop_event=stop)
        finally:
            self.running = False
            self._dirty = True
            self._show_run_state()

    def feed(self, snapshot: TallySnapshot) -> None:
        """The engine's callback (~5 a second): keep the latest, draw on the next timer tick."""
        self.latest = snapshot
        self.series.add(snapshot)
        if self._rebase_at is not None and snapshot.elapsed_s >= self._rebase_at:
            self.baseline = snapshot
            self._rebase_at = None
        self._dirty = True

    def _rebase(self) -> None:
        """Count from the routing change on, once pages sent before it (in flight, or still in a worker's
        unreported tally) have arrived; counting them would flag a disagreement that is not there."""
        if self.latest is not None:
            self._rebase_at = self.latest.elapsed_s + REBASE_SETTLE_S

    def _show_run_state(self, extra: str = "") -> None:
        text = Text(no_wrap=True, overflow="ellipsis")
        if self.running:
            text.append(" ● running", style="bold green")
            text.append(" · s stops")
        elif self.latest is not None:
            text.append(" ■ stopped", style="bold")
            text.append(" · s starts a new run")
        else:
            text.append(" s starts", style="dim")
        text.append(extra, style="dim")
        self.query_one("#traffic-run-state", Static).update(text)

    def _window(self) -> tuple[dict[str, int], dict[str, int]]:
        """Counts and pods since the last routing change (the whole run when it did not change)."""
        if self.latest is None:
            return {}, {}
        base = self.baseline
        counts = _delta(self.latest.counts, base.counts if base else None)
        pods = _delta(self.latest.by_pod, base.by_pod if base else None)
        return counts, pods

    def _render_traffic(self, force: bool = False) -> None:
        if not (self._dirty or force):
            return
        self._dirty = False
        counts, pods = self._window()
        self.query_one(SplitBars).counts = counts
        self.query_one(SplitHistory).set_buckets(self.series.counts())
        self.query_one("#traffic-stats", Static).update(self._stats_line())
        serving = Text("pods serving: ", style="bold", no_wrap=False)
        if pods:
            serving.append(" · ".join(f"{name} {n}" for name, n in sorted(pods.items())))
        else:
            serving.append("none yet", style="dim")
        self.query_one("#traffic-serving", Static).update(serving)
        self._render_split()
        if self.latest is not None and self.latest.done:
            self._show_run_state()

    def _stats_line(self) -> Text:
        snap = self.latest
        if snap is None:
            return Text("no run yet · " + self.knobs.describe(), style="dim")
        lat = snap.latency
        planned = f"/{snap.planned}" if snap.planned else ""
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f"{snap.requests}{planned}", style="bold")
        text.append(f" requests in {snap.elapsed_s:.1f} s · ")
        text.append(f"{snap.rps:.0f} rps", style="bold")
        if self._rebase_at is not None:
            text.append(" · routing changed: counting afresh…", style="bold cyan")
        elif self.baseline is not None:
            text.append(f" · split since {self.baseline.elapsed_s:.0f} s", style="bold cyan")
        text.append(f"\nlatency ms  p50 {lat.p50_ms:.1f}  p90 {lat.p90_ms:.1f}  p99 {lat.p99_ms:.1f}")
        text.append(f"  max {lat.max_ms:.1f}")
        return text

    def split_rows(self) -> tuple[list[SplitRow], int]:
        """Configured vs observed for the reviews versions over the current window."""
        counts, _ = self._window()
        observed = {version: counts.get(category, 0) for category, version in VERSION_OF_CATEGORY.items()}
        n = sum(observed.values())
        status = self.view.status
        per_subset: dict[str, int] = {}
        for pod in status.pods if status else ():
            if pod.app == "reviews" and pod.phase == "Running":
                per_subset[pod.version] = per_subset.get(pod.version, 0) + 1
        routing = self.view.reviews
        if status is not None and status.productpage_sidecar is False:
            routing = RoutingView(host="reviews", namespace=self.namespace, exists=False)
        user = self.run_config.user if self.run_config is not None else self.knobs.user
        weights = expected_shares(routing, user=user, pods_per_subset=per_subset)
        seen = {v: c for v, c in observed.items() if c or v in weights}
        return compare_split(seen, weights, margin=MARGIN), n

    def _render_split(self) -> None:
        rows, n = self.split_rows()
        user = self.run_config.user if self.run_config is not None else self.knobs.user
        who = f"as {user}" if user else "logged out"
        note = f"{n} pages showing a version ({who}); NEED: pages for ±{MARGIN * 100:.0f} points at 95%"
        status = self.view.status
        unrouted = not self.view.reviews.exists or bool(status and status.productpage_sidecar is False)
        if rows and unrouted:
            note += " · CONF: no routing applies, so an even spread over the reviews pods"
        if any(r.disagrees for r in rows):
            note += " · ≠: configured share is outside the interval"
        self.query_one(SplitTable).show(rows, n=n, note=note)

    # --- deploy, inject, expose

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

    def action_deploy(self) -> None:
        if self.refuse_if_readonly("Deploying Bookinfo"):
            return
        ns = self.namespace
        labels = self.istio_app.namespace_labels.get(ns)
        lines = [
            f"Into namespace {ns}" + (" (created first)" if labels is None else "") + ":",
            "  • Deployments productpage-v1, details-v1, ratings-v1,",
            "    reviews-v1, reviews-v2 and reviews-v3, with their",
            "    Services and ServiceAccounts",
            "  • Gateway bookinfo-gateway, VirtualService bookinfo and",
            "    DestinationRules with a subset per version",
            "Routing objects of these names that istio-tui did not",
            "create are left alone.",
            "",
        ]
        if labels is not None and namespace_mode(labels).injects_sidecars:
            lines.append("✓ The namespace injects sidecars: pods should come up 2/2.")
        else:
            lines += [
                "⚠ The namespace does not inject sidecars: pods come up 1/1",
                "  and routing presets will not apply. Cancel and press i",
                "  to label it istio-injection=enabled first.",
            ]
        self._confirm(f"Deploy Bookinfo into {ns}?", lines, lambda: self._deploy(ns), label="Deploy",
                      destructive=False)

    @work(thread=True, exit_on_error=False, group="traffic-change", description="deploying Bookinfo")
    def _deploy(self, namespace: str) -> None:
        cluster = self.istio_app.cluster
        bookinfo.ensure_namespace(cluster, name=namespace)
        result = bookinfo.deploy(cluster, namespace=namespace)
        message = f"Applied {len(result.applied)} Bookinfo objects in {namespace}; following the pods…"
        if result.skipped:
            message += f" Left alone (not ours): {', '.join(result.skipped)}"
        self.app.call_from_thread(self.notify, message, markup=False)
        self.refresh_view()
        status = bookinfo.wait_ready(
            cluster,
            namespace=namespace,
            on_update=lambda s: self.app.call_from_thread(self._show_status, s),
            cancel=self._stopping,
        )
        if self._stopping.is_set():
            return
        self.refresh_view(verify=True)
        if status.ready:
            counts = ", ".join(sorted({p.ready_text for p in status.pods}))
            done = f"Bookinfo is ready in {namespace}: {len(status.pods)} pods ({counts})"
            self.app.call_from_thread(self.notify, done, markup=False)
        else:
            waiting = ", ".join(p.name for p in status.pods if not p.ready) or ", ".join(status.missing)
            self.app.call_from_thread(
                self.notify, f"Bookinfo pods not ready yet: {waiting}", severity="warning", markup=False
            )
        for warning in status.warnings:
            self.app.call_from_thread(self.notify, warning, severity="warning", timeout=12, markup=False)

    def action_inject(self) -> None:
        if self.refuse_if_readonly("Changing injection labels"):
            return
        labels = self.istio_app.namespace_labels.get(self.namespace)
        if labels is None:
            self._create_then_offer(self.namespace)
        else:
            self._offer_injection(self.namespace, dict(labels))

    @work(thread=True, exit_on_error=False, group="traffic-change", description="creating the namespace")
    def _create_then_offer(self, namespace: str) -> None:
        cluster = self.istio_app.cluster
        if bookinfo.ensure_namespace(cluster, name=namespace):
            self.app.call_from_thread(self.notify, f"Created namespace {namespace}", markup=False)
        labels = cluster.get(kube.NAMESPACES, namespace)["metadata"].get("labels") or {}
        self.app.call_from_thread(self._offer_injection, namespace, dict(labels))

    def _offer_injection(self, namespace: str, labels: dict[str, str]) -> None:
        """The Namespaces area's own toggle: conflict choice, preflight, confirmation and restart offer."""
        from tui.screens.namespaces import NamespacesPane

        self.app.query_one(NamespacesPane).offer_injection_toggle(namespace, labels)

    def action_gateway(self) -> None:
        self._find_gateway(self.namespace)

    @work(thread=True, exit_on_error=False, group="traffic-gateway", description="finding the gateway")
    def _find_gateway(self, namespace: str) -> None:
        cluster = self.istio_app.cluster
        ingress = bookinfo.find_ingress(cluster, namespace=namespace)
        if ingress.pending_load_balancer:
            self.app.call_from_thread(self._offer_nodeport, ingress)
        result = bookinfo.verify(ingress.productpage_url, timeout=5.0)
        self.app.call_from_thread(
            self.notify,
            f"GATEWAY_URL={ingress.gateway_url} · {result.message}",
            severity="information" if result.ok else "warning",
            markup=False,
        )
        self.refresh_view(verify=True)

    def _offer_nodeport(self, ingress: IngressInfo) -> None:
        if self.readonly:
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
        self.app.call_from_thread(
            self.notify, f"{fixed.namespace}/{fixed.service} is now {fixed.service_type}", markup=False
        )
        self.refresh_view(verify=True)

    # --- presets

    def action_preset(self, key: str) -> None:
        if self.refuse_if_readonly("Applying routing presets"):
            return
        self._preview(self.namespace, key)

    @work(thread=True, exit_on_error=False, group="traffic-change", description="routing preset preview")
    def _preview(self, namespace: str, key: str) -> None:
        preview = bookinfo.preview_preset(self.istio_app.cluster, namespace=namespace, key=key)
        self.app.call_from_thread(self._confirm_preset, preview)

    def _confirm_preset(self, preview: PresetPreview) -> None:
        if not preview.changes:
            self.notify(f"{preview.title} is already in place in {preview.namespace}", markup=False)
            return
        diff = list(preview.diff)
        if len(diff) > DIFF_LINES:
            diff = [*diff[:DIFF_LINES], f"… {len(diff) - DIFF_LINES} more lines"]
        verb = "Create" if preview.creates else "Change"
        lines = [f"{verb} VirtualService {preview.namespace}/{preview.host}:", "", *diff]
        self._confirm(
            f"Apply preset {preview.title}?",
            lines,
            lambda: self._apply_preset(preview.namespace, preview.key),
            label="Apply",
            destructive=False,
        )

    @work(thread=True, exit_on_error=False, group="traffic-change", description="applying a routing preset")
    def _apply_preset(self, namespace: str, key: str) -> None:
        view = bookinfo.apply_preset(self.istio_app.cluster, namespace=namespace, key=key)
        self.app.call_from_thread(self._show_routing, view)
        title = bookinfo.preset(key).title
        hint = ""
        if view.matches and not (self.knobs.user or ""):
            users = ", ".join(sorted({m.value for m in view.matches if m.header == "end-user"}))
            hint = f" · set the user knob to {users} (e) to send its traffic" if users else ""
        self.app.call_from_thread(self.notify, f"Applied {title} in {namespace}{hint}", markup=False)

    def action_revert(self) -> None:
        if self.refuse_if_readonly("Reverting routing presets"):
            return
        ns = self.namespace
        lines = [
            f"In namespace {ns}, for reviews and ratings:",
            "  • a VirtualService istio-tui created is deleted (Istio",
            "    then balances over all pods);",
            "  • one istio-tui changed gets back the spec it had before",
            "    the first preset;",
            "  • anything else is left alone.",
        ]
        self._confirm(f"Revert the routing presets in {ns}?", lines, lambda: self._revert(ns), label="Revert")

    @work(thread=True, exit_on_error=False, group="traffic-change", description="reverting routing presets")
    def _revert(self, namespace: str) -> None:
        done: list[str] = []
        for host in ("reviews", "ratings"):
            try:
                view = bookinfo.revert(self.istio_app.cluster, namespace=namespace, host=host)
            except ConfigError:
                continue
            self.app.call_from_thread(self._show_routing, view)
            done.append(host)
        message = f"Reverted {' and '.join(done)}" if done else "No presets to revert"
        message += f" in {namespace}"
        self.app.call_from_thread(self.notify, message, markup=False)
        self.refresh_view()

    # --- cleanup

    def action_cleanup(self) -> None:
        if self.refuse_if_readonly("Cleaning up Bookinfo"):
            return
        ns = self.namespace
        lines = [
            f"Deletes from namespace {ns} only what istio-tui deployed",
            "(labelled app.kubernetes.io/managed-by=istio-tui): the",
            "Bookinfo Deployments, Services and ServiceAccounts, the",
            "Gateway, VirtualServices and DestinationRules.",
            "",
            "VirtualServices istio-tui did not create stay; a preset",
            "applied to one is undone. The namespace and its labels stay.",
        ]
        self._confirm(f"Clean up Bookinfo in {ns}?", lines, lambda: self._cleanup(ns), label="Clean up")

    @work(thread=True, exit_on_error=False, group="traffic-change", description="cleaning up Bookinfo")
    def _cleanup(self, namespace: str) -> None:
        result = bookinfo.cleanup(self.istio_app.cluster, namespace=namespace)
        parts = [f"Deleted {len(result.deleted)} objects from {namespace}"]
        if result.restored:
            parts.append("restored " + ", ".join(result.restored))
        if result.kept:
            parts.append("left alone " + ", ".join(result.kept))
        self.app.call_from_thread(self.notify, "; ".join(parts), markup=False, timeout=10)
        self.refresh_view(verify=True)

    # --- export

    def run_record(self) -> dict[str, Any]:
        """The exported JSON: the CLI's contract for the run, plus the knobs, routing and split."""
        assert self.latest is not None
        rows, n = self.split_rows()
        view = self.view
        return {
            "exported_at": self.istio_app.clock().isoformat(timespec="seconds"),
            "context": self.istio_app.context_name,
            "namespace": self.namespace,
            "gateway_url": view.ingress.gateway_url if view.ingress else None,
            "knobs": dataclasses.asdict(self.knobs),
            "run": self.latest.to_dict(),
            "routing": {
                "reviews": _routing_dict(view.reviews),
                "ratings": _routing_dict(view.ratings),
            },
            "split": {
                "since_s": round(self.baseline.elapsed_s, 3) if self.baseline else 0.0,
                "pages": n,
                "rows": [dataclasses.asdict(r) for r in rows],
            },
            "per_second": self.series.counts(),
        }

    def action_export(self) -> None:
        if self.latest is None:
            self.notify("nothing to export yet: start traffic first (s)", severity="warning")
            return
        snap = self.latest
        stamp = self.istio_app.clock().strftime("%Y%m%d-%H%M%S")

        def save(raw: str) -> Path:
            buckets = self.series.counts()
            return write_export(raw, record=self.run_record(), buckets=buckets, bucket_s=BUCKET_S)

        def saved(path: Path | None) -> None:
            if path is not None:
                self.notify(f"Saved {path}", markup=False)

        self.app.push_screen(
            ExportScreen(
                save,
                summary=f"{snap.requests} requests over {snap.elapsed_s:.1f} s to {snap.url}",
                suggestion=f"traffic-{self.namespace}-{stamp}.json",
            ),
            saved,
        )


def _routing_dict(view: RoutingView) -> dict[str, Any]:
    return {
        "exists": view.exists,
        "preset": view.preset or None,
        "default": dict(view.default_weights),
        "default_fault": view.default_fault or None,
        "matches": [
            {
                "header": m.header,
                "kind": m.kind,
                "value": m.value,
                "weights": dict(m.weights),
                "fault": m.fault,
            }
            for m in view.matches
        ],
    }
