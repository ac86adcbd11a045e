"""The Pods work area: a live pod table per namespace (or all), with k9s keys.

One list+watch per view runs on its own ``Stream`` thread and feeds a ``WatchFeed`` (pods become rows on that
thread); a timer applies the net change, one batch per frame, a few times a second. Switching namespace or
label selector stops that watch and starts another. A 403 is shown as "no access to pods in X" in place of
the table, never as an empty table.
"""

from __future__ import annotations

import gc
import re
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from tui import kube
from tui.errors import Forbidden, Invalid, IstioTuiError
from tui.istio.pods import build_pod_row
from tui.models import PodRow
from tui.screens.confirm import ConfirmScreen
from tui.screens.describe import PodDescribeScreen, PodYamlScreen
from tui.screens.logs import PodLogsScreen
from tui.widgets.pane import PaneAction, WorkPane
from tui.widgets.pod_table import PodTable
from tui.widgets.prompt import PromptInput
from tui.widgets.watchfeed import WatchFeed

if TYPE_CHECKING:
    from tui.app import IstioApp

APPLY_INTERVAL_S = 0.2
AGE_INTERVAL_S = 1.0
# A full cyclic GC over 10,000 pod dicts (ours and the watches') stalls the UI for 0.5-0.9 s. What is alive
# after a sync is long-lived by nature, so it moves to the permanent generation; pod dicts hold no cycles,
# so the ones deleted later are still freed by reference counting.
GC_FREEZE_INTERVAL_S = 5.0
GC_FREEZE_ROWS = 1_000  # also right after a batch this big, so a loading list never meets a full collection
WATCH_TIMEOUT_S = 50
_SELECTOR_SPLIT = re.compile(r"(?:^|\s)-l\s*(\S.*)?$")


def parse_filter(text: str) -> tuple[str, str | None]:
    """``/`` input: a regex, optionally followed by ``-l SELECTOR`` (or only the selector).

    Returns (regex, selector); selector None means "no -l given". ``-l`` with nothing after it clears it.
    """
    match = _SELECTOR_SPLIT.search(text)
    if match is None:
        return text.strip(), None
    return text[: match.start()].strip(), (match.group(1) or "").strip()


class PodsPane(WorkPane):
    PANE_ID = "pods"
    TITLE = "Pods"
    ACTIONS = (
        PaneAction(
            "filter", "Filter", "filter by regex; '-l key=value' filters by label selector", "slash", "/"
        ),
        PaneAction(
            "clear_filter",
            "Clear filter",
            "clear the regex filter and the label selector",
            "escape",
            "esc",
            show=False,  # k9s habit, listed in help: at 80 columns the footer needs its room for "q Quit"
        ),
        PaneAction(
            "describe", "Describe pod", "describe the selected pod, with its events", "d", short="Describe"
        ),
        PaneAction("yaml", "Pod YAML", "show the selected pod's YAML", "y", short="YAML"),
        PaneAction(
            "logs", "Pod logs", "logs of the app container (f follow, c container, 0 all)", "l", short="Logs"
        ),
        PaneAction(
            "logs_previous",
            "Previous logs",
            "logs of the app container's previous run (before its last restart)",
            "p",
            show=False,
        ),
        PaneAction(
            "delete",
            "Delete pod",
            "delete the selected pod after a confirmation",
            "ctrl+d",
            destructive=True,
            short="Delete",
        ),
        PaneAction(
            "sort('name')", "Sort by name", "sort by NAME (again: reverse)", "N", "shift+n", show=False
        ),
        PaneAction(
            "sort('age')",
            "Sort by age",
            "sort by AGE, newest first (again: reverse)",
            "A",
            "shift+a",
            show=False,
        ),
        PaneAction("sort('status')", "Sort by status", "sort by STATUS", "S", "shift+s", show=False),
        PaneAction("sort('restarts')", "Sort by restarts", "sort by RESTARTS", "R", "shift+r", show=False),
        PaneAction(
            "sort('ready')", "Sort by ready", "sort by READY, least ready first", "E", "shift+e", show=False
        ),
        PaneAction("sort('ip')", "Sort by IP", "sort by IP", "I", "shift+i", show=False),
        PaneAction("sort('node')", "Sort by node", "sort by NODE", "O", "shift+o", show=False),
        PaneAction("sort('namespace')", "Sort by namespace", "sort by NAMESPACE", "P", "shift+p", show=False),
    )
    BINDINGS: ClassVar[list[Any]] = [
        Binding(str(i), f"recent({i})", f"namespace {i}", show=False, id=f"pods.recent-{i}")
        for i in range(10)
    ]
    KEY_HELP = (
        ("0", "all namespaces"),
        ("1-9", "recently used namespaces (listed above the table)"),
        ("/text -l app=x", "regex and label selector together"),
        ("enter", "describe"),
    )

    def __init__(self) -> None:
        super().__init__(id="pods-pane")
        self._feed: WatchFeed[PodRow] | None = None
        self.synced = False
        self.selector = ""
        self._kept_selector = ""  # in force before the last change; a rejected selector reverts to it
        self.filter_text = ""
        self.error = ""
        self.reconnecting = ""
        self._shown_title = Text()
        self._shown_hint: str | None = None

    @property
    def istio_app(self) -> IstioApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Static(id="pods-title")
        yield Static(id="pods-recent")
        yield Static(id="pods-message", classes="-hidden")
        yield Static(id="pods-empty", classes="-hidden")
        yield PodTable(clock=self.istio_app.clock, id="pod-table")
        yield PromptInput(placeholder="regex   or   -l app=reviews", id="pods-filter", classes="-hidden")

    def on_mount(self) -> None:
        self.watch(self.app, "namespace", self._namespace_changed, init=False)
        self.watch(self.app, "namespace_labels", self._labels_changed, init=False)
        self.set_interval(APPLY_INTERVAL_S, self._apply)
        self.set_interval(AGE_INTERVAL_S, self._tick)
        self.set_interval(GC_FREEZE_INTERVAL_S, self._freeze_gc)
        self._restart_watch()

    def on_unmount(self) -> None:
        if self._feed is not None:
            self._feed.stop()

    def focus_content(self) -> None:
        self.query_one(PodTable).focus()

    @property
    def table(self) -> PodTable:
        return self.query_one(PodTable)

    @property
    def namespace(self) -> str | None:
        return self.istio_app.namespace

    # --- the watch

    def _restart_watch(self) -> None:
        if self._feed is not None:
            self._feed.stop()
        self.synced = False
        feed: WatchFeed[PodRow] = WatchFeed(build_pod_row)
        self._feed = feed
        self.error = ""
        self.reconnecting = ""
        self.table.configure(all_namespaces=self.namespace is None)
        self._show_message("")
        namespace, selector = self.namespace, self.selector or None
        feed.start(
            lambda: self.istio_app.cluster.watch(
                kube.PODS, namespace=namespace, label_selector=selector, timeout_seconds=WATCH_TIMEOUT_S
            ),
            name="pods",
            on_error=self._watch_failed,
        )
        self._render_title()

    def _watch_failed(self, err: BaseException) -> None:
        """Forbidden and Invalid are recorded in the feed and shown in place of the table; the rest notify."""
        if not isinstance(err, Forbidden | Invalid):
            self.app.call_from_thread(self.istio_app.report_error, err, "pod watch")

    def _apply(self) -> None:
        feed = self._feed
        if feed is None:
            return
        batch = feed.drain()
        if batch.reconnecting != self.reconnecting:
            self.reconnecting = batch.reconnecting
            self.istio_app.set_connection("pods", batch.reconnecting)
            self._render_title()
        if batch.error is not None:
            self._show_error(batch.error)
        if batch.synced and not self.synced:
            self.synced = True
            self._render_title()
            self._freeze_gc()
        table = self.table
        if batch.upserts or batch.deletes or table.behind:
            table.apply(batch.upserts, batch.deletes, labels=self.istio_app.namespace_labels)
            self._render_title()
            if len(batch.upserts) >= GC_FREEZE_ROWS or table.behind:
                self._freeze_gc()

    def _freeze_gc(self) -> None:
        gc.freeze()

    def _show_error(self, err: IstioTuiError) -> None:
        where = f"namespace {self.namespace}" if self.namespace else "all namespaces"
        if isinstance(err, Forbidden):
            self.error = f"no access to pods in {self.namespace or 'all namespaces'}"
            detail = err.message
        elif isinstance(err, Invalid) and self.selector:
            bad, self.selector, self._kept_selector = self.selector, self._kept_selector, ""
            kept = f"-l {self.selector}" if self.selector else "no selector"
            line = f"invalid label selector {bad!r}: {err.message} (still {kept})"
            self.notify(line, severity="warning", markup=False)
            self._restart_watch()
            return
        else:
            self.error = f"cannot watch pods in {where}"
            detail = str(err)
        self._show_message(f"{self.error}\n{detail}")
        self._render_title()

    def _show_message(self, text: str) -> None:
        message = self.query_one("#pods-message", Static)
        message.update(Text(text))
        message.set_class(not text, "-hidden")
        self.table.set_class(bool(text), "-hidden")

    def _tick(self) -> None:
        self.table.tick()

    def _labels_changed(self) -> None:
        self.table.refresh_cells(labels=self.istio_app.namespace_labels)
        self._render_recent()

    def _namespace_changed(self) -> None:
        self._restart_watch()
        self._render_recent()

    # --- header lines

    def _render_title(self) -> None:
        table = self.table
        scope = self.namespace or "all"
        shown, total = table.row_count, len(table.pods)
        count = f"{shown}/{total}" if table.pattern is not None else str(total)
        parts: list[str | tuple[str, str]] = [("Pods", "bold"), f"({scope})[{count}]"]
        if self.filter_text:
            parts.append(("  /" + self.filter_text, "bold"))
        if self.selector:
            parts.append(("  -l " + self.selector, "bold"))
        arrow = "↓" if table.sort_reverse else "↑"
        parts.append(f"  sort: {table.sort_column}{arrow}")
        if table.hidden_columns:
            hidden = table.hidden_columns
            parts.append((f"  +{len(hidden)} cols", "bold"))
            parts.append((f" ({' '.join(hidden)}: widen the terminal)", "dim"))
        if self.reconnecting:
            parts.append(("  reconnecting…", "bold"))
        title = Text.assemble(*parts)
        if title != self._shown_title:  # a title is one line: no layout pass, and none at all when unchanged
            self._shown_title = title
            self.query_one("#pods-title", Static).update(title, layout=False)
        self._render_empty(total)

    def _render_empty(self, total: int) -> None:
        """An empty table must say why: still loading, or really no pods (a 403 has its own message)."""
        hint = ""
        if not self.synced and not self.error:
            hint = "loading…"
        elif not total and not self.error:
            where = f"namespace {self.namespace}" if self.namespace else "any namespace"
            hint = f"No pods in {where}" + (f" matching -l {self.selector}" if self.selector else "") + "."
            kubeconfig = self.istio_app.sandbox_kubeconfig
            if kubeconfig:
                hint += (
                    f"\nSeed the sandbox from a shell:  kubectl --kubeconfig {kubeconfig} "
                    "create deployment web --image=nginx --replicas=2"
                )
        if hint == self._shown_hint:
            return
        self._shown_hint = hint
        empty = self.query_one("#pods-empty", Static)
        empty.update(Text(hint))
        empty.set_class(not hint, "-hidden")

    def _render_recent(self) -> None:
        recent = self.istio_app.recent_namespaces
        items = ["0 all", *[f"{i} {name}" for i, name in enumerate(recent[:9], start=1)]]
        self.query_one("#pods-recent", Static).update(Text("   ".join(items), style="dim"))

    def on_show(self) -> None:
        self._render_recent()

    # --- keys

    def action_recent(self, index: int) -> None:
        if index == 0:
            self.istio_app.switch_namespace(None)
            return
        recent = self.istio_app.recent_namespaces
        if index <= len(recent):
            self.istio_app.switch_namespace(recent[index - 1])

    def action_sort(self, column: str) -> None:
        if column == "namespace" and self.namespace is not None:
            return
        self.table.set_sort(column)
        self._render_title()

    def action_filter(self) -> None:
        text = self.filter_text + (f" -l {self.selector}" if self.selector else "")
        self.query_one("#pods-filter", PromptInput).open(text)

    def action_clear_filter(self) -> None:
        if self.filter_text or self.table.pattern is not None:
            self._set_regex("")
        if self.selector:
            self.label_selector_set("")

    def action_label_selector(self, selector: str) -> None:
        self.label_selector_set(selector.strip())

    def label_selector_set(self, selector: str) -> None:
        if selector == self.selector:
            return
        self._kept_selector, self.selector = self.selector, selector
        self._restart_watch()

    def _set_regex(self, text: str) -> bool:
        if text:
            try:
                pattern = re.compile(text, re.IGNORECASE)
            except re.error as err:
                self.notify(f"bad regex {text!r}: {err}", severity="warning")
                return False
        else:
            pattern = None
        self.filter_text = text
        self.table.pattern = pattern
        self.table.rebuild(labels=self.istio_app.namespace_labels)
        self._render_title()
        return True

    @on(PromptInput.Changed, "#pods-filter")
    def _filter_typed(self, event: PromptInput.Changed) -> None:
        regex, _ = parse_filter(event.value)
        if regex != self.filter_text:
            try:
                re.compile(regex)
            except re.error:
                return  # half-typed pattern: wait for more input
            self._set_regex(regex)

    @on(PromptInput.Submitted, "#pods-filter")
    def _filter_submitted(self, event: PromptInput.Submitted) -> None:
        regex, selector = parse_filter(event.value)
        if self._set_regex(regex):
            self.label_selector_set(selector or "")
            self._close_filter()

    @on(PromptInput.Cancelled, "#pods-filter")
    def _filter_cancelled(self) -> None:
        self._close_filter()

    def _close_filter(self) -> None:
        self.query_one("#pods-filter", PromptInput).close()
        self.table.focus()

    @on(PodTable.RowSelected)
    def _row_selected(self) -> None:
        self.action_describe()

    @on(PodTable.ColumnsHidden)
    def _columns_hidden(self) -> None:
        self._render_title()

    def _selected(self) -> PodRow | None:
        row = self.table.selected()
        if row is None:
            self.notify("no pod selected", severity="warning")
        return row

    def action_describe(self) -> None:
        if (row := self._selected()) is not None:
            self.app.push_screen(PodDescribeScreen(row.namespace, row.name))

    def action_yaml(self) -> None:
        if (row := self._selected()) is not None:
            self.app.push_screen(PodYamlScreen(row.namespace, row.name))

    def action_logs(self) -> None:
        if (row := self._selected()) is not None:
            self.app.push_screen(PodLogsScreen(row))

    def action_logs_previous(self) -> None:
        if (row := self._selected()) is not None:
            self.app.push_screen(PodLogsScreen(row, previous=True))

    def action_delete(self) -> None:
        if self.refuse_if_readonly("delete"):
            return
        row = self._selected()
        if row is None:
            return
        screen = ConfirmScreen(
            f"Delete pod {row.name}?",
            [
                f"namespace: {row.namespace}",
                f"pod: {row.name}",
                "Its controller, if any, will create a new one.",
            ],
            context=self.istio_app.context_name,
            confirm_label="Delete",
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self._delete_pod(row.namespace, row.name)

        self.app.push_screen(screen, answered)

    @work(thread=True, exit_on_error=False, group="pods-delete", description="pod delete")
    def _delete_pod(self, namespace: str, name: str) -> None:
        self.istio_app.cluster.delete(kube.PODS, name, namespace=namespace)
        self.app.call_from_thread(self.notify, f"deleted pod {namespace}/{name}")
