"""The namespace view: injection mode and sidecar count per namespace, the label toggle and the restart flow.

Two watches (namespaces, and pods in all namespaces) feed a ``NamespaceIndex`` from thread workers; a timer
applies the net change to the table a few times a second, so a storm of pod events costs one repaint. Every
change to the cluster goes through a confirmation that names the context and the exact labels, and is sent
as a merge patch.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.coordinate import Coordinate
from textual.widgets import DataTable, ProgressBar, Static
from textual.worker import get_current_worker

from tui import kube
from tui.errors import Forbidden
from tui.istio.injection import InjectionMode as Mode
from tui.istio.injection import (
    LabelPlan,
    NamespaceIndex,
    Preflight,
    RestartPlan,
    RestartProgress,
    find_conflict,
    find_restart_targets,
    namespace_mode,
    plan_change,
    preflight_injection,
    restart_deployments,
    restart_progress,
    toggle_target,
)
from tui.models import NamespaceRow
from tui.screens.confirm import ConfirmScreen
from tui.screens.injection import KEEP_REVISION, ConflictScreen, RevisionScreen
from tui.widgets.pane import PaneAction, WorkPane

if TYPE_CHECKING:
    from tui.app import IstioApp

WATCH_TIMEOUT_S = 50
APPLY_INTERVAL_S = 0.2
FOLLOW_INTERVAL_S = 0.2
FOLLOW_LIMIT_S = 600.0
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


def format_age(created: str, now: datetime) -> str:
    """k9s-style age: 45s, 12m, 5h, 3d."""
    if not created:
        return ""
    try:
        then = datetime.fromisoformat(created.replace("Z", "+00:00"))
    except ValueError:
        return ""
    seconds = max(0, int((now - then).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _cells(row: NamespaceRow, now: datetime, *, pods_known: bool = True) -> dict[str, Text | str]:
    mode = Text(row.mode, style=_MODE_STYLE.get(row.mode_kind, ""))
    if row.conflict:
        mode.append("  ⚠ conflict", style="bold red")
    if not pods_known:
        sidecars = Text("?", style="red")
    elif not row.pods:
        sidecars = Text(row.sidecar_ratio, style="dim")
    else:
        sidecars = Text(row.sidecar_ratio, style="green" if row.sidecars == row.pods else "")
    restart = Text(f"{row.out_of_step} pod{'s' if row.out_of_step != 1 else ''}", style="yellow") if (
        row.out_of_step
    ) else Text("")
    status = Text(row.status, style="red" if row.status != "Active" else "")
    return {
        "name": row.name,
        "status": status,
        "mode": mode,
        "sidecars": sidecars,
        "restart": restart,
        "age": format_age(row.created, now),
    }


def _deployments(names: Sequence[str]) -> str:
    return f"Deployment {names[0]}" if len(names) == 1 else f"{len(names)} Deployments"


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
        ),
        PaneAction(
            "use_revision",
            "Inject from a revision",
            "label the selected namespace istio.io/rev=<revision>",
            key="v",
            destructive=True,
        ),
        PaneAction(
            "use_ambient",
            "Ambient mode",
            "label the selected namespace istio.io/dataplane-mode=ambient (no restart)",
            key="a",
            destructive=True,
        ),
        PaneAction(
            "restart_out_of_step",
            "Restart out-of-step pods",
            "rollout-restart the Deployments whose pods lack, or should drop, the sidecar",
            key="r",
            destructive=True,
        ),
    )
    BINDINGS = [Binding("escape", "close_panel", "Close panel", show=False, id="namespaces.close_panel")]
    KEY_HELP: ClassVar[tuple[tuple[str, str], ...]] = (
        ("enter", "show the selected namespace's pods"),
        ("esc", "close the restart panel"),
    )

    def __init__(self) -> None:
        super().__init__(id="namespaces-pane")
        self.index = NamespaceIndex()
        self._rows: dict[str, NamespaceRow] = {}
        self._watches: list[kube.Watch] = []
        self._watch_lock = threading.Lock()
        self._started = False
        self._stopping = threading.Event()
        self._age_tick = 0
        self.denied: dict[str, str] = {}

    @property
    def istio_app(self) -> IstioApp:
        return self.app  # type: ignore[return-value]

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

    def on_mount(self) -> None:
        self.set_interval(APPLY_INTERVAL_S, self._apply)

    def on_show(self) -> None:
        self._start_watches()

    def on_unmount(self) -> None:
        self._stopping.set()
        with self._watch_lock:
            for w in self._watches:
                w.stop()

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

    @work(thread=True, exit_on_error=False, group="ns-watch", description="namespace view watch")
    def _watch(self, res: kube.Resource, what: str) -> None:
        watch = self.istio_app.cluster.watch(res, timeout_seconds=WATCH_TIMEOUT_S)
        with self._watch_lock:
            if self._stopping.is_set():
                return
            self._watches.append(watch)
        apply = self.index.apply_namespace if what == "namespaces" else self.index.apply_pod
        try:
            for event in watch:
                apply(event)
        except Forbidden as err:
            self.app.call_from_thread(self._denied, what, str(err))

    def _denied(self, what: str, message: str) -> None:
        """A 403 must read as "no access", never as an empty namespace or a 0/0 that looks like no pods."""
        self.denied[what] = message
        if what == "pods":
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
            table.update_cell(name, "age", format_age(row.created, now), update_width=True)

    def _update_summary(self) -> None:
        rows = self._rows.values()
        injecting = sum(1 for r in rows if r.mode_kind in ("enabled", "revision"))
        ambient = sum(1 for r in rows if r.mode_kind == "ambient")
        stale = sum(r.out_of_step for r in rows)
        text = Text(f"{len(self._rows)} namespaces · {injecting} injecting sidecars · {ambient} ambient")
        if stale:
            text.append(f" · {stale} pods need a restart (r)", style="yellow")
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

    def _target_namespace(self) -> str | None:
        name = self.selected_namespace()
        if name is None:
            self.notify("no namespace selected", severity="warning")
        return name

    def action_toggle_injection(self) -> None:
        if self.refuse_if_readonly("Changing injection labels"):
            return
        name = self._target_namespace()
        if name is not None:
            self.offer_injection_toggle(name)

    def offer_injection_toggle(self, namespace: str, labels: Mapping[str, str] | None = None) -> None:
        """Toggle sidecar injection for ``namespace`` through this area's whole flow (conflict choice,
        preflight, confirmation, merge patch, restart offer), so other areas such as Traffic reuse it.
        ``labels``: the namespace's labels when the caller has just read them (this area's watches may not
        have seen a namespace created a moment ago); by default this area's index."""
        if self.refuse_if_readonly("Changing injection labels"):
            return
        self._start_watches()  # the restart follow-up reads pods from these watches
        current = dict(labels) if labels is not None else self.index.labels(namespace)
        conflict = find_conflict(namespace, current)
        if conflict is None:
            self.propose(plan_change(namespace, current, toggle_target(current)))
            return

        def chosen(choice: str | None) -> None:
            if choice:
                fresh = self.index.labels(namespace) or current
                keep = conflict.keep_revision if choice == KEEP_REVISION else conflict.keep_injection
                self.propose(keep(fresh))

        self.app.push_screen(ConflictScreen(conflict, context=self.istio_app.context_name), chosen)

    def action_use_revision(self) -> None:
        if self.refuse_if_readonly("Changing injection labels"):
            return
        name = self._target_namespace()
        if name is None:
            return
        current = self.index.labels(name).get("istio.io/rev", "")

        def chosen(revision: str | None) -> None:
            if revision:
                self.propose(plan_change(name, self.index.labels(name), Mode.for_revision(revision)))

        self.app.push_screen(RevisionScreen(name, current=current), chosen)

    def action_use_ambient(self) -> None:
        if self.refuse_if_readonly("Changing injection labels"):
            return
        name = self._target_namespace()
        if name is not None:
            self.propose(plan_change(name, self.index.labels(name), Mode.ambient()))

    def propose(self, plan: LabelPlan) -> None:
        """Preflight first when the target injects sidecars, so the confirmation can tell the truth."""
        if plan.is_noop:
            self.notify(f"{plan.namespace} is already {plan.target.label}")
            return
        if plan.target.injects_sidecars:
            self._preflight(plan)
        else:
            self._confirm(plan, None)

    @work(thread=True, exit_on_error=False, group="ns-change", description="injection preflight")
    def _preflight(self, plan: LabelPlan) -> None:
        result = preflight_injection(self.istio_app.cluster, labels_after=plan.labels_after)
        self.app.call_from_thread(self._confirm, plan, result)

    def _confirm(self, plan: LabelPlan, preflight: Preflight | None) -> None:
        if plan.current == plan.target:
            summary = f"Namespace {plan.namespace} stays {plan.target.label}; the conflicting label goes."
        else:
            summary = f"Namespace {plan.namespace}: {plan.current.label} → {plan.target.label}"
        lines = [summary, ""]
        lines += [f"  • {line}" for line in plan.describe()]
        lines += ["", "Sent as a JSON merge patch: every other label stays as it is."]
        if preflight is not None and not preflight.ok:
            lines += ["", f"⚠ Injection will NOT happen: {preflight.reason}"]
        elif preflight is not None:
            lines += ["", "✓ Preflight: the injector webhook will select this namespace."]
        if plan.notes and (preflight is None or preflight.ok):
            lines += ["", *plan.notes]
        first = plan.changes[0]
        if first.new is None:
            title = f"Remove label {first.key} from namespace {plan.namespace}?"
        else:
            title = f"Set label {first.key}={first.new} on namespace {plan.namespace}?"

        def answered(yes: bool | None) -> None:
            if yes:
                self._apply_plan(plan, preflight)

        self.app.push_screen(
            ConfirmScreen(title, lines, context=self.istio_app.context_name, confirm_label="Apply"), answered
        )

    @work(thread=True, exit_on_error=False, group="ns-change", description="namespace label change")
    def _apply_plan(self, plan: LabelPlan, preflight: Preflight | None) -> None:
        cluster = self.istio_app.cluster
        cluster.patch(kube.NAMESPACES, plan.namespace, plan.patch(), patch_type="merge")
        done = f"{plan.namespace}: {'; '.join(plan.describe())}"
        self.app.call_from_thread(self.notify, done, markup=False)
        if not plan.needs_restart:
            return
        if preflight is not None and not preflight.ok:
            self.app.call_from_thread(
                self.notify,
                f"No restart offered: injection will not happen ({preflight.reason})",
                severity="warning",
                markup=False,
            )
            return
        self.app.call_from_thread(self.offer_restart, find_restart_targets(cluster, plan.namespace))

    # --- restarts

    def action_restart_out_of_step(self) -> None:
        if self.refuse_if_readonly("Restarting Deployments"):
            return
        name = self._target_namespace()
        if name is not None:
            self._find_restart_targets(name)

    @work(thread=True, exit_on_error=False, group="ns-change", description="finding pods to restart")
    def _find_restart_targets(self, namespace: str) -> None:
        plan = find_restart_targets(self.istio_app.cluster, namespace)
        self.app.call_from_thread(self.offer_restart, plan)

    def offer_restart(self, plan: RestartPlan) -> None:
        """List the pods out of step in the panel, then ask before restarting their Deployments."""
        if plan.empty:
            self.notify(f"Every pod in {plan.namespace} already matches its injection label")
            return
        lacking = [p for p in plan.pods if p.wants_sidecar]
        verb = "still lack a sidecar" if lacking else "still have a sidecar they should drop"
        self._show_panel(
            f"{len(plan.pods)} pods in {plan.namespace} {verb}",
            None,
            [f"{p.name}  ({p.owner})" for p in plan.pods],
        )
        if not plan.deployments:
            self.notify(
                "None of them belongs to a Deployment; recreate them yourself: "
                + ", ".join(p.name for p in plan.pods),
                severity="warning",
                markup=False,
            )
            return
        lines = [f"Rollout restart in namespace {plan.namespace}:", ""]
        lines += [f"  • Deployment {d}" for d in plan.deployments]
        lines += ["", f"Pods that {verb}:"]
        lines += [f"  {p.name}" for p in plan.pods if p.owner.startswith("Deployment/")]
        if plan.others:
            lines += ["", "Not restarted (no Deployment owns them):"]
            lines += [f"  {p.name} ({p.owner})" for p in plan.others]

        def answered(yes: bool | None) -> None:
            if yes:
                self._restart(plan)
            else:
                self._hide_panel()

        self.app.push_screen(
            ConfirmScreen(
                f"Restart {_deployments(plan.deployments)} in {plan.namespace}?",
                lines,
                context=self.istio_app.context_name,
                confirm_label="Restart",
            ),
            answered,
        )

    @work(thread=True, exit_on_error=False, exclusive=True, group="ns-restart", description="rollout restart")
    def _restart(self, plan: RestartPlan) -> None:
        cluster = self.istio_app.cluster
        restarted = restart_deployments(cluster, plan.namespace, plan.deployments)
        replicasets: dict[str, dict[str, Any]] = {}
        looked_up: set[str] = set()
        deadline = time.monotonic() + FOLLOW_LIMIT_S
        last: RestartProgress | None = None
        worker = get_current_worker()
        while not (self._stopping.is_set() or worker.is_cancelled):
            pods = self.index.pods(plan.namespace)
            owners = {
                ref.get("name", "")
                for p in pods
                for ref in p["metadata"].get("ownerReferences") or ()
                if ref.get("kind") == "ReplicaSet"
            }
            # A new ReplicaSet appears once per rollout: look it up then, not on every tick.
            if owners - replicasets.keys() - looked_up:
                looked_up |= owners
                listed = cluster.list(kube.REPLICASETS, namespace=plan.namespace).items
                replicasets = {r["metadata"]["name"]: r for r in listed}
            progress = restart_progress(plan.labels, pods, replicasets, restarted)
            if progress != last:
                self.app.call_from_thread(self._show_progress, plan, restarted, progress)
                last = progress
            if progress.finished:
                return
            if time.monotonic() > deadline:
                waiting = ", ".join(progress.pending) or "no pods"
                self.app.call_from_thread(
                    self.notify,
                    f"Stopped following the restart in {plan.namespace} after {FOLLOW_LIMIT_S / 60:.0f} min; "
                    f"still waiting for: {waiting}",
                    severity="warning",
                    markup=False,
                )
                return
            self._stopping.wait(FOLLOW_INTERVAL_S)

    def _show_progress(
        self, plan: RestartPlan, deployments: Sequence[str], progress: RestartProgress
    ) -> None:
        namespace = plan.namespace
        wanted = namespace_mode(plan.labels).injects_sidecars
        sidecar = "with istio-proxy" if wanted else "without istio-proxy"
        names = ", ".join(deployments)
        count = f"{progress.done}/{progress.total} pods ready {sidecar}"
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
