"""The traffic area's two boxes, the live split (stats, bars, history, pods serving) and configured vs
observed (routing, the statistical comparison, Bookinfo's pods), and the two status lines above them.

Pure rendering: the pane sets what to show (a ``RunTally``, a ``ClusterView``) and these widgets draw it.
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from tui.istio.injection import namespace_mode
from tui.istio.presets import API_TITLES, RoutingApi
from tui.istio.routing import RoutingView
from tui.models import BookinfoStatus, SplitRow
from tui.screens.traffic.cluster import ClusterView
from tui.screens.traffic.loadpods import LoadPodsView
from tui.screens.traffic.run import MARGIN, RunTally, Window
from tui.traffic.snapshot import TallySnapshot
from tui.traffic.stats import deployment_of_pod
from tui.widgets.split_bars import SplitBars
from tui.widgets.split_history import SplitHistory
from tui.widgets.split_table import SplitTable


def _weights_text(weights: Mapping[str, int]) -> str:
    return " ".join(f"{subset} {pct}%" for subset, pct in sorted(weights.items())) or "no route"


def routing_lines(view: RoutingView, *, kind: str = "VirtualService", why: str = "") -> Text:
    """One or two lines per host: the default route and each header rule, with faults. ``why`` says why
    the routing does not apply (no sidecar, no waypoint), "" when it does."""
    text = Text()
    text.append(f"{view.host}: ", style="bold")
    if not view.exists:
        text.append(f"no {kind}", style="dim")
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
        if m.problem:
            text.append(f"\n  ⚠ {m.problem}; treated as never matching", style="yellow")
    if why:
        text.append(f"\n  ⚠ {why}", style="yellow")
    return text


def pods_text(status: BookinfoStatus | None, *, compact: bool = False) -> Text:
    """``compact``: name each pod by its Deployment (``reviews-v2``), without the generated suffix."""
    text = Text(no_wrap=True, overflow="ellipsis")
    if status is None:
        return Text("reading pods…", style="dim")
    if not status.pods and status.missing:
        return Text(f"Bookinfo is not deployed in {status.namespace}: press d to deploy it", style="dim")
    names = {p.name: deployment_of_pod(p.name) if compact else p.name for p in status.pods}
    width = max((len(n) for n in names.values()), default=20)
    for pod in status.pods:
        mark, style = ("✓", "green") if pod.ready else ("…", "yellow")
        text.append(f"{mark} ", style=style)
        text.append(f"{names[pod.name]:<{width}} ")
        text.append(f"{pod.phase[:11]:<11} ", style="" if pod.ready else "yellow")
        text.append(f"{pod.ready_text:>3}", style=style)
        text.append(
            "\n" if pod.has_sidecar else " ambient\n" if pod.ambient else " no sidecar\n", style="yellow"
        )
    for name in status.missing:
        text.append(f"… {name:<{width}} missing\n", style="yellow")
    for warning in status.warnings:
        text.append(f"⚠ {warning}\n", style="bold yellow")
    text.rstrip()
    return text


def namespace_line(labels: Mapping[str, str] | None, status: BookinfoStatus | None) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    if labels is None:
        text.append("does not exist yet: d deploys into it (creates it), i labels it", style="yellow")
        return text
    mode = namespace_mode(labels)
    if mode.injects_sidecars:
        text.append(f"✓ {mode.label}", style="green")
    elif mode.label == "ambient":
        text.append("✓ ambient (ztunnel, no sidecars)", style="green")
    else:
        text.append(f"⚠ {mode.label}: no sidecars, so no routing", style="yellow")
        text.append(" · press i to label it istio-injection=enabled", style="bold yellow")
    if status is not None and status.pods:
        ready = sum(1 for p in status.pods if p.ready)
        style = "green" if status.ready else "yellow"
        text.append(f" · pods {ready}/{len(status.pods) + len(status.missing)} ready", style=style)
        counts = sorted({p.ready_text for p in status.pods})
        text.append(f" ({', '.join(counts)})", style=style)
    return text


API_SHORT: Mapping[RoutingApi, str] = {"istio": "Istio", "gateway-api": "GW API"}
# What gives way, in this order, when the gateway line is too narrow; the URL and the check's outcome stay.
GIVES_WAY = ("service name", "service type", "API title", "check wording", "hint wording")


def gateway_line(view: ClusterView, *, width: int = 0) -> Text:
    """GATEWAY_URL, the Service behind it and the /productpage check, in ``width`` cells (0: no limit).

    The most detailed form that fits is drawn (see ``GIVES_WAY``); what still does not fit ends in "…"."""
    for level in range(len(GIVES_WAY) + 1):
        text = _gateway_text(view, gone=frozenset(GIVES_WAY[:level]))
        if not width or text.cell_len <= width:
            break
    return text


def _gateway_text(view: ClusterView, *, gone: frozenset[str]) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    api = API_SHORT[view.api] if "API title" in gone else API_TITLES[view.api]
    text.append(f"{api} (a) ", style="bold magenta")
    ingress = view.ingress
    if ingress is None:
        text.append("" if "hint wording" in gone else "GATEWAY_URL ", style="bold")
        text.append(view.ingress_error or "looking for the ingress gateway…", style="yellow")
        return text
    text.append("GATEWAY_URL ", style="bold")
    text.append(ingress.gateway_url, style="bold cyan")
    if "service type" not in gone:
        text.append(f"  {ingress.service_type}", style="dim")
    if "service name" not in gone:
        text.append(f" {ingress.namespace}/{ingress.service}", style="dim")
    if ingress.pending_load_balancer:
        short = "hint wording" in gone
        hint = "LB pending: g → NodePort" if short else "LoadBalancer pending: g patches it to NodePort"
        text.append(f"  {hint}", style="bold yellow")
    verify = view.verify
    short = "check wording" in gone
    if verify is not None and verify.ok:
        text.append(f"  ✓ {'' if short else '/productpage answers '}{verify.status_code}", style="green")
    elif verify is not None and verify.status_code == 404 and not (view.status and view.status.pods):
        hint = "404: d deploys Bookinfo" if short else "/productpage: 404, no route yet (d deploys Bookinfo)"
        text.append(f"  {hint}", style="yellow")
    elif verify is not None:
        failed = f"/productpage → {verify.status_code}" if short and verify.status_code else verify.message
        text.append(f"  ✗ {failed}", style="bold red")
    return text


class GatewayLine(Static):
    """The gateway line, drawn again whenever its width changes (see :func:`gateway_line`)."""

    _cluster: ClusterView | None = None

    def show(self, view: ClusterView) -> None:
        self._cluster = view
        self.refresh()

    def render(self) -> Text:
        return gateway_line(self._cluster, width=self.content_size.width) if self._cluster else Text()


def stats_line(snap: TallySnapshot | None, window: Window, *, knobs: str) -> Text:
    if snap is None:
        return Text("no run yet · " + knobs, style="dim")
    lat = snap.latency
    planned = f"/{snap.planned}" if snap.planned else ""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"{snap.requests}{planned}", style="bold")
    text.append(f" requests in {snap.elapsed_s:.1f} s · ")
    text.append(f"{snap.rps:.0f} rps", style="bold")
    text.append(f"\nlatency ms  p50 {lat.p50_ms:.1f}  p90 {lat.p90_ms:.1f}  p99 {lat.p99_ms:.1f}")
    text.append(f"  max {lat.max_ms:.1f}")
    by_class = [(c, s) for c, s in snap.latency_by_class.items() if sum(s.buckets)]
    if by_class:
        classes = "  ".join(f"{c} {s.p50_ms:.1f}" for c, s in by_class)
        text.append(f" · p50 by class {classes}", style="dim")
    text.append("\n")
    if window.settling:
        text.append("routing changed: counting afresh…", style="bold cyan")
    elif window.since_s is not None:
        since = f"split over the last {window.since_s:.0f} s, since the routing changed"
        text.append(since, style="bold cyan")
    else:
        text.append("split over the whole run", style="cyan")
    return text


# Lines for an in-cluster run's load pods: at 80x24 the split history gives up all but one chart row to them.
LOAD_POD_ROWS_COMPACT = 3
LOAD_POD_ROWS = 8


class LiveSplit(Vertical):
    """The left box: what the pages showed, counted over the current epoch, and who sent them."""

    def compose(self) -> ComposeResult:
        yield Static("", id="traffic-stats")
        yield SplitBars(id="traffic-bars")
        yield SplitHistory(id="traffic-history")
        yield Static("", id="traffic-serving")
        yield LoadPodsView(id="traffic-load-pods")

    def on_mount(self) -> None:
        self.border_title = "Live split"

    def show(self, tally: RunTally, *, knobs: str, compact: bool = False) -> None:
        window = tally.window()
        self.query_one(SplitBars).counts = dict(window.counts)
        self.query_one(SplitHistory).set_buckets(tally.series.counts())
        self.query_one("#traffic-stats", Static).update(stats_line(tally.latest, window, knobs=knobs))
        serving = Text("pods serving: ", style="bold", no_wrap=False)
        if window.by_pod:
            named = ((deployment_of_pod(p) if compact else p, n) for p, n in sorted(window.by_pod.items()))
            serving.append(" · ".join(f"{name} {n}" for name, n in named))
        else:
            serving.append("counting afresh…" if window.settling else "none yet", style="dim")
        self.query_one("#traffic-serving", Static).update(serving)
        self.set_class(bool(tally.load_pods), "-load-pods")
        rows = LOAD_POD_ROWS_COMPACT if compact else LOAD_POD_ROWS
        self.query_one(LoadPodsView).show(tally.load_pods, rows=rows)


class ConfiguredVsObserved(Vertical):
    """The right box: the routing in force, the comparison with what was observed, and the pods."""

    def compose(self) -> ComposeResult:
        yield Static("", id="traffic-routing")
        yield SplitTable("", id="traffic-split")
        yield Static("", id="traffic-pods")

    def on_mount(self) -> None:
        self.border_title = "Configured vs observed"

    def show_view(self, view: ClusterView, *, compact: bool = False) -> None:
        kind = "HTTPRoute" if view.api == "gateway-api" else "VirtualService"
        why = ""
        ambient = view.ambient is not None and view.ambient.ambient
        starting = view.ambient.starting_waypoint("reviews") if view.ambient else ""
        if view.needs_waypoint and starting:
            why = f"waypoint {starting} is not Programmed yet: routing applies once its proxy runs"
        elif view.needs_waypoint:
            why = "routing on reviews needs a waypoint (Namespaces: w deploys one)"
        elif view.reviews.exists and not view.routing_applies():
            caller = "ztunnel has not captured productpage" if ambient else "productpage has no sidecar"
            why = f"not applied: {caller}"
        missing = view.needs_waypoint and not starting
        self.border_title = "Configured vs observed" + (" ⚠ needs a waypoint" if missing else "")
        routing = routing_lines(view.reviews, kind=kind, why=why)
        routing.append("\n")
        ratings_why = why.replace("reviews", "ratings") if view.ratings.exists else ""
        routing.append_text(routing_lines(view.ratings, kind=kind, why=ratings_why))
        self.query_one("#traffic-routing", Static).update(routing)
        pods = Text(view.error, style="bold red") if view.error else pods_text(view.status, compact=compact)
        self.query_one("#traffic-pods", Static).update(pods)

    def show_split(
        self,
        rows: list[SplitRow],
        n: int,
        *,
        unknown: int,
        user: str | None,
        view: ClusterView,
        settling: bool,
        compact: bool,
    ) -> None:
        """``compact``: without the interval and NEED columns, for a box about 40 columns wide."""
        who = f"as {user}" if user else "logged out"
        note = f"{n} pages by reviews version ({who}) · no known version: {unknown}"
        if not compact:
            note += f"; NEED: pages for ±{MARGIN * 100:.0f} points at 95%"
        if settling:
            note = "routing changed: counting afresh from now on…"
        if rows and not view.routing_applies():
            note += " · CONF: no routing applies, so an even spread over the reviews pods"
        if any(r.disagrees for r in rows):
            note += " · ≠: configured share is outside the interval"
        self.query_one(SplitTable).show(rows, n=n, note=note, compact=compact)
