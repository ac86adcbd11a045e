"""The Analysis work area: the mesh checks' findings, live.

One ``WatchFeed`` per kind the checks read (``tui.istio.analysis.KINDS``), each on its own ``Stream`` thread,
started the first time the pane is shown. A timer drains the feeds; after a change the checks re-run once
the cluster has been quiet for ``DEBOUNCE_S`` (so a rollout of 50 pods is one recompute, not 50), in a short
thread worker. Never polling: nothing is listed again unless a watch says so. ``enter`` opens the finding's
object as YAML with the offending field highlighted.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from tui.istio.analysis.model import KINDS, Finding, Snapshot
from tui.istio.analysis.runner import analyze
from tui.istio.analysis.snapshot import served_resources
from tui.kube import Resource, Watch
from tui.screens.object_yaml import ObjectYamlScreen
from tui.widgets.pane import PaneAction, WorkPane
from tui.widgets.stream import Stream
from tui.widgets.watchfeed import WatchFeed

if TYPE_CHECKING:
    from tui.app import IstioApp

DRAIN_INTERVAL_S = 0.25
DEBOUNCE_S = 0.4
WATCH_TIMEOUT_S = 50
_LEVEL_STYLE = {"error": "bold red", "warning": "yellow", "info": "dim"}
COLUMNS = (("LEVEL", "level"), ("CODE", "code"), ("RESOURCE", "resource"), ("MESSAGE", "message"))


def _with_kind(res: Resource) -> Any:
    def convert(obj: dict[str, Any]) -> dict[str, Any]:
        obj.setdefault("kind", res.kind)
        obj.setdefault("apiVersion", res.api_version)
        return obj

    return convert


class AnalysisPane(WorkPane):
    PANE_ID = "analysis"
    TITLE = "Analysis"
    ACTIONS = (
        PaneAction("open_yaml", "Open YAML", "the finding's object, its field highlighted", show=False),
        PaneAction("recompute", "Recompute", "run the checks again now", key="r"),
    )
    KEY_HELP: ClassVar[tuple[tuple[str, str], ...]] = (
        ("enter", "open the finding's object as YAML, the offending field highlighted"),
    )

    def __init__(self) -> None:
        super().__init__(id="analysis-pane")
        self._feeds: dict[str, WatchFeed[dict[str, Any]]] = {}
        self._objects: dict[str, dict[str, dict[str, Any]]] = {kind: {} for kind in KINDS}
        self._synced: set[str] = set()
        self.unwatched: dict[str, str] = {}  # kind → why its watch failed (e.g. 403): checked as empty
        self._streams: list[Stream] = []
        self._lock = threading.Lock()
        self._started = False
        self._changed_at: float | None = None
        self.findings: list[Finding] = []
        self.computed = 0  # how many times the checks ran (tests wait on it)

    @property
    def istio_app(self) -> IstioApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Static("waiting for the first watch events…", id="analysis-summary")
        table: DataTable[Text | str] = DataTable(id="analysis-table", cursor_type="row", zebra_stripes=True)
        for label, key in COLUMNS:
            table.add_column(label, key=key)
        yield table
        yield Static("", id="analysis-detail")

    def on_mount(self) -> None:
        super().on_mount()
        self.set_interval(DRAIN_INTERVAL_S, self._drain)

    def on_show(self) -> None:
        self._start()

    def on_unmount(self) -> None:
        with self._lock:
            for feed in self._feeds.values():
                feed.stop()
            for stream in self._streams:
                stream.stop()

    def focus_content(self) -> None:
        self._start()
        self.query_one("#analysis-table", DataTable).focus()

    # --- data in

    def _start(self) -> None:
        """Lazily, on first show: the other panes should not pay for eleven cluster-wide watches."""
        if self._started:
            return
        self._started = True
        report = self.istio_app.report_error
        stream = Stream(
            self._open_feeds,
            name="analysis-discovery",
            on_error=lambda err: self.app.call_from_thread(report, err, "analysis watches"),
        )
        self._streams.append(stream.start())

    def _open_feeds(self, stop: threading.Event) -> None:
        cluster = self.istio_app.cluster
        served = served_resources(cluster)
        for kind in KINDS:
            res = served.get(kind)
            if res is None:  # the CRD is not installed: nothing of that kind can be wrong
                with self._lock:
                    self._synced.add(kind)
                continue
            feed: WatchFeed[dict[str, Any]] = WatchFeed(_with_kind(res))
            with self._lock:
                if stop.is_set():
                    return
                self._feeds[kind] = feed
                self._streams.append(self._follow(feed, res, kind))

    def _follow(self, feed: WatchFeed[dict[str, Any]], res: Resource, kind: str) -> Stream:
        cluster = self.istio_app.cluster
        report = self.istio_app.report_error

        def on_error(err: BaseException) -> None:
            self.app.call_from_thread(report, err, f"{kind} watch")

        def open_watch() -> Watch:
            return cluster.watch(res, timeout_seconds=WATCH_TIMEOUT_S)

        return feed.start(open_watch, name=f"analysis-{kind}", on_error=on_error)

    def _drain(self) -> None:
        with self._lock:
            feeds = list(self._feeds.items())
            synced_before = len(self._synced)
        changed = False
        reconnecting = ""
        for kind, feed in feeds:
            batch = feed.drain()
            reconnecting = reconnecting or batch.reconnecting
            if batch.error is not None:
                self.unwatched[kind] = str(batch.error)
                with self._lock:
                    self._synced.add(kind)
                changed = True
            if batch.empty:
                continue
            objects = self._objects[kind]
            for key in batch.deletes:
                objects.pop(key, None)
            objects.update(batch.upserts)
            if batch.synced:
                with self._lock:
                    self._synced.add(kind)
            changed = True
        self.istio_app.set_connection("analysis", reconnecting)
        with self._lock:
            all_synced = len(self._synced) == len(KINDS)
            changed = changed or (all_synced and len(self._synced) != synced_before)
        now = time.monotonic()
        if changed:
            self._changed_at = now
        if self._changed_at is not None and all_synced and now - self._changed_at >= DEBOUNCE_S:
            self._changed_at = None
            self._compute(self._snapshot())

    def _snapshot(self) -> Snapshot:
        return Snapshot(**{kind: list(objs.values()) for kind, objs in self._objects.items()})

    @work(thread=True, exclusive=True, group="analysis", exit_on_error=False, description="mesh analysis")
    def _compute(self, snapshot: Snapshot) -> None:
        findings = analyze(snapshot)
        self.app.call_from_thread(self._show, findings)

    # --- view

    def _show(self, findings: list[Finding]) -> None:
        self.findings = findings
        self.computed += 1
        table = self.query_one("#analysis-table", DataTable)
        cursor = table.cursor_row
        table.clear()
        for i, f in enumerate(findings):
            table.add_row(
                Text(f.level, style=_LEVEL_STYLE[f.level]), f.code, f.resource, f.message, key=str(i)
            )
        if findings:
            table.move_cursor(row=min(cursor, len(findings) - 1))
        counts = {level: sum(1 for f in findings if f.level == level) for level in _LEVEL_STYLE}
        summary = " · ".join(f"{n} {level}{'s' if n != 1 else ''}" for level, n in counts.items())
        text = Text.assemble(("no findings" if not findings else summary, "bold"), "   live from watches")
        if self.unwatched:
            kinds = ", ".join(k.replace("_", " ") for k in sorted(self.unwatched))
            text.append(f" · not watched, so not checked: {kinds}", style="bold yellow")
        self.query_one("#analysis-summary", Static).update(text)
        self._describe(table.cursor_row)

    @on(DataTable.RowHighlighted, "#analysis-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._describe(event.cursor_row)

    def _describe(self, row: int) -> None:
        detail = self.query_one("#analysis-detail", Static)
        if not 0 <= row < len(self.findings):
            detail.update("")
            return
        f = self.findings[row]
        where = f" at {f.path_key}" if f.path else ""
        head = (f"{f.code} {f.resource}{where}\n", "bold")
        detail.update(Text.assemble(head, f.message, "\nfix: ", (f.fix, "green")))

    @on(DataTable.RowSelected, "#analysis-table")
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open_yaml()

    def action_open_yaml(self) -> None:
        row = self.query_one("#analysis-table", DataTable).cursor_row
        if not 0 <= row < len(self.findings):
            return
        f = self.findings[row]
        self.app.push_screen(
            ObjectYamlScreen(
                api_version=f.api_version, kind=f.kind, namespace=f.namespace, name=f.name, highlight=f.path
            )
        )

    def action_recompute(self) -> None:
        self._changed_at = 0.0
