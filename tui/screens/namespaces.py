"""The namespace view: injection mode and sidecar count per namespace, the label toggle and the restart panel.

Two watches (namespaces, and pods in all namespaces) feed a ``NamespaceIndex``, each on a ``Stream`` thread of
its own; a timer applies the net change to the table a few times a second, so a storm of pod events costs one
repaint. Label changes and restarts run through the shared ``InjectionFlow`` (every change behind a
confirmation that names the context, sent as a merge patch); this pane shows its progress.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.coordinate import Coordinate
from textual.message import Message
from textual.widgets import DataTable, ProgressBar, Static

from tui import kube
from tui.errors import Forbidden
from tui.istio.injection import InjectionMode as Mode
from tui.istio.injection import ModeKind, namespace_mode, plan_change
from tui.istio.namespace_index import NamespaceIndex
from tui.istio.restarts import RestartProgress
from tui.models import NamespaceRow, format_age, parse_time, plural
from tui.screens.injection import RevisionScreen
from tui.screens.injection_flow import InjectionFlow
from tui.screens.waypoint_flow import WaypointFlow
from tui.widgets.pane import PaneAction, WorkPane
from tui.widgets.stream import Stream

WATCH_TIMEOUT_S = 50
APPLY_INTERVAL_S = 0.2
COLUMNS = (
    ("NAME", "name"),
    ("STATUS", "status"),
    ("INJECTION", "mode"),
    ("SIDECARS", "sidecars"),
    ("RESTART", "restart"),
    ("AGE", "age"),
)
_MODE_STYLE = {
    "enabled": "green",
    "revision": "cyan",
    "ambient": "magenta",
    "disabled": "yellow",
    "none": "dim",
}


def _cells(row: NamespaceRow, now: datetime, *, pods_known: bool = True) -> dict[str, Text | str]:
    mode = Text(row.mode, style=_MODE_STYLE.get(row.mode_kind, ""))
    if row.conflict:
        mode.append(" ⚠", style="bold red")  # the summary line says what the mark means
    if not pods_known:
        sidecars = Text("?", style="red")
    elif not row.pods:
        sidecars = Text(row.sidecar_ratio, style="dim")
    else:
        sidecars = Text(row.sidecar_ratio, style="green" if row.sidecars == row.pods else "")
    restart = Text(plural(row.out_of_step, "pod"), style="yellow") if row.out_of_step else Text("")
    status = Text(row.status, style="red" if row.status != "Active" else "")
    return {
        "name": row.name,
        "status": status,
        "mode": mode,
        "sidecars": sidecars,
        "restart": restart,
        "age": _age(row, now),
    }


def _age(row: NamespaceRow, now: datetime) -> str:
    return format_age(parse_time(row.created), now) if row.created else ""


class NamespacesPane(WorkPane):
    PANE_ID = "namespaces"
    TITLE = "Namespaces"
    ACTIONS: ClassVar[tuple[PaneAction, ...]] = (
        PaneAction(
            "toggle_injection",
            "Toggle sidecar injection",
            "enable or disable istio-injection on the selected namespace",
            key="i",
            destructive=True,
            short="Inject",
        ),
        PaneAction(
            "use_revision",
            "Inject from a revision",
            "label the selected namespace istio.io/rev=<revision>",
            key="v",
            destructive=True,
            short="Revision",
        ),
        PaneAction(
            "use_ambient",
            "Ambient mode",
            "add or remove istio.io/dataplane-mode=ambient on the selected namespace (no restart)",
            key="a",
            destructive=True,
            short="Ambient",
        ),
        PaneAction(
            "deploy_waypoint",
            "Deploy a waypoint",
            "apply a waypoint (class istio-waypoint) and label the namespace istio.io/use-waypoint",
            key="w",
            destructive=True,
            show=False,
        ),
        PaneAction(
            "show_waypoints",
            "Waypoint use",
            "which Services of the selected namespace use which waypoint",
            key="u",
            show=False,
        ),
        PaneAction(
            "remove_waypoint",
            "Remove the waypoint",
            "delete the namespace's waypoint; the confirmation lists the L7 policy that stops applying",
            key="W",
            destructive=True,
            show=False,
        ),
        PaneAction(
            "restart_out_of_step",
            "Restart out-of-step pods",
            "rollout-restart the Deployments whose pods lack, or should drop, the sidecar",
            key="r",
            destructive=True,
            short="Restart",
        ),
    )
    BINDINGS = [
        Binding("escape", "close_panel", "Close panel", show=False, id="namespaces.close_panel"),
        Binding("j", "cursor('down')", "Down", show=False, id="namespaces.cursor_down"),
        Binding("k", "cursor('up')", "Up", show=False, id="namespaces.cursor_up"),
    ]
    KEY_HELP: ClassVar[tuple[tuple[str, str], ...]] = (
        ("j/k", "move down/up"),
        ("enter", "show the selected namespace's pods"),
        ("esc", "close the restart panel"),
        ("w / u / W", "deploy a waypoint / which Services use which / remove it (ambient, L7)"),
    )

    class Denied(Message):
        """A watch got 403: what it watched and the server's reason."""

        def __init__(self, what: str, message: str) -> None:
            super().__init__()
            self.what = what
            self.message = message

    def __init__(self) -> None:
        super().__init__(id="namespaces-pane")
        self.index = NamespaceIndex()
        self._rows: dict[str, NamespaceRow] = {}
        self._streams: list[Stream] = []
        self._watches: list[kube.Watch] = []
        self._watch_lock = threading.Lock()
        self._started = False
        self._age_tick = 0
        self.denied: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        yield Static("loading namespaces…", id="ns-summary")
        table: DataTable[Text | str] = DataTable(id="ns-table", cursor_type="row")
        for label, key in COLUMNS:
            table.add_column(label, key=key)
        yield table
        with Vertical(id="ns-restart", classes="-hidden"):
            yield Static("", id="ns-restart-title")
            yield ProgressBar(id="ns-restart-progress", show_eta=False)
            yield Static("", id="ns-restart-pods")
        yield InjectionFlow(id="ns-flow")
        yield WaypointFlow(id="ns-waypoints")

    def on_mount(self) -> None:
        self.set_interval(APPLY_INTERVAL_S, self._apply)

    def on_show(self) -> None:
        self._start_watches()

    def on_unmount(self) -> None:
        with self._watch_lock:
            for stream in self._streams:
                stream.stop()
            for watch in self._watches:
                watch.stop()

    def focus_content(self) -> None:
        self._start_watches()
        self.query_one("#ns-table", DataTable).focus()

    # --- data in

    def _start_watches(self) -> None:
        """Lazily, on first show: the pod table alone should not pay for a cluster-wide pod watch."""
        if self._started:
            return
        self._started = True
        self._watch(kube.NAMESPACES, "namespaces")
        self._watch(kube.PODS, "pods")

    def _watch(self, res: kube.Resource, what: str) -> None:
        apply = self.index.apply_namespace if what == "namespaces" else self.index.apply_pod
        report = self.istio_app.report_error
        stream = Stream(
            lambda stop: self._follow(res, what, apply, stop),
            name=f"ns-view-{what}",
            on_error=lambda err: self.app.call_from_thread(report, err, f"{what} watch"),
        )
        self._streams.append(stream.start())

    def _follow(
        self, res: kube.Resource, what: str, apply: Callable[[kube.WatchEvent], None], stop: threading.Event
    ) -> None:
        watch = self.istio_app.cluster.watch(res, timeout_seconds=WATCH_TIMEOUT_S)
        with self._watch_lock:
            if stop.is_set():
                watch.stop()
                return
            self._watches.append(watch)
        try:
            for event in watch:
                apply(event)
        except Forbidden as err:
            self.post_message(self.Denied(what, str(err)))

    @on(Denied)
    def _denied(self, event: Denied) -> None:
        """A 403 must read as "no access", never as an empty namespace or a 0/0 that looks like no pods."""
        self.denied[event.what] = event.message
        if event.what == "pods":
            table = self.query_one("#ns-table", DataTable)
            for name in self._rows:
                table.update_cell(name, "sidecars", Text("?", style="red"))
                table.update_cell(name, "restart", Text(""))
        self._update_summary()

    def _apply(self) -> None:
        app = self.istio_app
        app.set_connection("namespace-view", self.index.reconnecting)
        rows = self.index.take_rows()
        self._age_tick += 1
        if rows is None:
            if self._age_tick % 25 == 0 and self._rows:
                self._refresh_ages()
            return
        self._update_table(rows)

    def _update_table(self, rows: Sequence[NamespaceRow]) -> None:
        table = self.query_one("#ns-table", DataTable)
        now = self.istio_app.clock()
        selected = self.selected_namespace()
        fresh = {r.name: r for r in rows}
        reshaped = False
        for name in [n for n in self._rows if n not in fresh]:
            table.remove_row(name)
            reshaped = True
        for row in rows:
            old = self._rows.get(row.name)
            if old == row:
                continue
            cells = _cells(row, now, pods_known="pods" not in self.denied)
            if old is None:
                table.add_row(*(cells[key] for _, key in COLUMNS), key=row.name)
                reshaped = True
            else:
                previous = _cells(old, now, pods_known="pods" not in self.denied)
                for key, value in cells.items():
                    if previous[key] != value:
                        table.update_cell(row.name, key, value, update_width=True)
        self._rows = fresh
        if reshaped:
            table.sort("name", key=lambda name: str(name))
            if selected in fresh:
                table.move_cursor(row=table.get_row_index(selected), animate=False, scroll=False)
        self._update_summary()

    def _refresh_ages(self) -> None:
        table = self.query_one("#ns-table", DataTable)
        now = self.istio_app.clock()
        for name, row in self._rows.items():
            table.update_cell(name, "age", _age(row, now), update_width=True)

    def _update_summary(self) -> None:
        rows = self._rows.values()
        injecting = sum(1 for r in rows if r.mode_kind in ("enabled", "revision"))
        ambient = sum(1 for r in rows if r.mode_kind == "ambient")
        stale = sum(r.out_of_step for r in rows)
        conflicts = sum(r.conflict for r in rows)
        text = Text(f"{len(self._rows)} namespaces · {injecting} injecting sidecars · {ambient} ambient")
        if stale:
            need = "needs" if stale == 1 else "need"
            text.append(f" · {plural(stale, 'pod')} {need} a restart (r)", style="yellow")
        if conflicts:
            text.append(f" · ⚠ {plural(conflicts, 'label conflict')} (i resolves)", style="bold red")
        if "namespaces" in self.denied:
            text = Text(f"⚠ no access to namespaces: {self.denied['namespaces']}", style="bold red")
        elif "pods" in self.denied:
            text.append(
                f"  ⚠ no access to pods in all namespaces, sidecar counts unknown: {self.denied['pods']}",
                style="bold red",
            )
        self.query_one("#ns-summary", Static).update(text)

    def selected_namespace(self) -> str | None:
        table = self.query_one("#ns-table", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key
        return str(key.value) if key.value is not None else None

    @on(DataTable.RowSelected, "#ns-table")
    def _open_pods(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            self.istio_app.switch_namespace(str(event.row_key.value))

    # --- label changes

    def _target_namespace(self, change: str = "") -> str | None:
        """The selected namespace; None when there is none or the read-only app refuses ``change``."""
        if change and self.refuse_if_readonly(change):
            return None
        name = self.selected_namespace()
        if name is None:
            self.notify("no namespace selected", severity="warning")
        return name

    def action_toggle_injection(self) -> None:
        name = self._target_namespace("Changing injection labels")
        if name is not None:
            self._start_watches()  # the labels come from these watches
            self.query_one(InjectionFlow).toggle(name, self.index.labels(name))

    def action_use_revision(self) -> None:
        name = self._target_namespace("Changing injection labels")
        if name is None:
            return
        current = self.index.labels(name).get("istio.io/rev", "")

        def chosen(revision: str | None) -> None:
            if revision:
                self.query_one(InjectionFlow).propose(
                    plan_change(name, self.index.labels(name), Mode.for_revision(revision))
                )

        self.app.push_screen(RevisionScreen(name, current=current), chosen)

    def action_use_ambient(self) -> None:
        name = self._target_namespace("Changing injection labels")
        if name is not None:
            labels = self.index.labels(name)
            target = Mode.none() if namespace_mode(labels).kind is ModeKind.AMBIENT else Mode.ambient()
            self.query_one(InjectionFlow).propose(plan_change(name, labels, target))

    def action_deploy_waypoint(self) -> None:
        name = self._target_namespace("Deploying a waypoint")
        if name is not None:
            self.query_one(WaypointFlow).offer_deploy(name)

    def action_show_waypoints(self) -> None:
        name = self._target_namespace()
        if name is not None:
            self.query_one(WaypointFlow).show_usage(name)

    def action_remove_waypoint(self) -> None:
        name = self._target_namespace("Removing a waypoint")
        if name is not None:
            self.query_one(WaypointFlow).offer_removal(name)

    def action_restart_out_of_step(self) -> None:
        name = self._target_namespace("Restarting Deployments")
        if name is not None:
            self.query_one(InjectionFlow).offer_restart(name)

    def action_cursor(self, direction: str) -> None:
        table = self.query_one("#ns-table", DataTable)
        if direction == "down":
            table.action_cursor_down()
        else:
            table.action_cursor_up()

    # --- the restart panel

    @on(InjectionFlow.RestartListed)
    def _restart_listed(self, event: InjectionFlow.RestartListed) -> None:
        plan = event.plan
        self._show_panel(
            f"{plural(len(plan.pods), 'pod')} in {plan.namespace} {plan.trouble}",
            None,
            [f"{p.name}  ({p.owner})" for p in plan.pods],
        )

    @on(InjectionFlow.RestartDeclined)
    def _restart_declined(self) -> None:
        self._hide_panel()

    @on(InjectionFlow.RestartProgressed)
    def _show_progress(self, event: InjectionFlow.RestartProgressed) -> None:
        plan, deployments, progress = event.plan, event.deployments, event.progress
        namespace = plan.namespace
        wanted = namespace_mode(plan.labels).injects_sidecars
        sidecar = "with istio-proxy" if wanted else "without istio-proxy"
        names = ", ".join(deployments)
        count = f"{progress.done}/{plural(progress.total, 'pod')} ready {sidecar}"
        if progress.finished:
            title = f"✓ Restart of {names} in {namespace} done: {count}"
        else:
            title = f"Restarting {names} in {namespace}: {count}"
        width = max((len(p.name) for p in progress.pods), default=0)
        lines = [
            f"{'✓' if p.done else '…'} {p.name:<{width}}  {p.phase:<17} {p.ready}/{p.containers}  "
            + ("istio-proxy" if p.sidecar else "no sidecar")
            for p in progress.pods
        ]
        self._show_panel(title, progress, lines)

    def _show_panel(self, title: str, progress: RestartProgress | None, lines: Sequence[str]) -> None:
        panel = self.query_one("#ns-restart", Vertical)
        panel.remove_class("-hidden")
        panel.set_class(progress is not None and progress.finished, "-done")
        self.query_one("#ns-restart-title", Static).update(Text(title, style="bold"))
        bar = self.query_one("#ns-restart-progress", ProgressBar)
        bar.display = progress is not None
        if progress is not None:
            bar.update(total=max(progress.total, 1), progress=progress.done)
        shown = list(lines[:8])
        if len(lines) > 8:
            shown.append(f"… and {len(lines) - 8} more")
        self.query_one("#ns-restart-pods", Static).update(Text("\n".join(shown)))

    def _hide_panel(self) -> None:
        self.query_one("#ns-restart", Vertical).add_class("-hidden")

    def action_close_panel(self) -> None:
        self._hide_panel()
