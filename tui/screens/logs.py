"""A pod's logs with k9s habits: follow, previous run, tail size, all containers, wrap, timestamps.

A one-off read (``r``, a new container or option) is a short thread worker. Following (``f``) never is: each
followed container streams on a ``Stream`` thread of its own, stopped when following stops, the view
changes or the screen closes. Stream threads hand lines over through a lock-guarded buffer and at most one
``LinesArrived`` message waiting at a time, so a chatty container cannot flood the message queue.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, RichLog, Static
from textual.worker import Worker, WorkerState

from tui.errors import Invalid
from tui.kube import LogFollow
from tui.models import PodRow
from tui.widgets.pane import WorkerErrors
from tui.widgets.stream import Stream

if TYPE_CHECKING:
    from tui.app import IstioApp

TAIL_SIZES: tuple[int | None, ...] = (100, 500, 2000, None)  # None: the whole log
DEFAULT_TAIL = 500
MAX_LINES = 20_000


class PodLogsScreen(WorkerErrors, Screen[None]):
    """The app container by default (never istio-proxy unless asked); ``c`` cycles, ``0`` shows them all."""

    BINDINGS: ClassVar[list[Binding]] = [  # type: ignore[assignment]
        Binding("escape,q", "close", "Back"),
        Binding("f", "follow", "Follow"),
        Binding("p", "previous", "Previous"),
        Binding("c", "next_container", "Container"),
        Binding("0", "all_containers", "All containers"),
        Binding("plus", "tail(1)", "More lines", key_display="+"),
        Binding("minus", "tail(-1)", "Fewer lines", key_display="-"),
        Binding("w", "wrap", "Wrap"),
        Binding("t", "timestamps", "Timestamps"),
        Binding("G,end", "bottom", "End", show=False),
        Binding("g,home", "top", "Top", show=False),
        Binding("j", "scroll_down", "Down", show=False),
        Binding("k", "scroll_up", "Up", show=False),
        Binding("r", "reload", "Reload", show=False),
    ]

    class LinesArrived(Message):
        """Followed lines are waiting in the screen's buffer."""

    def __init__(self, row: PodRow, *, previous: bool = False) -> None:
        super().__init__()
        self.pod_namespace = row.namespace
        self.pod_name = row.name
        self.containers = row.containers or (row.default_container,)
        self.container = row.default_container or self.containers[0]
        self.all_containers = False
        self.previous = previous
        self.following = False
        self.wrap = False
        self.timestamps = False
        self.tail: int | None = DEFAULT_TAIL
        self.lines: list[str] = []
        self._streams: list[Stream] = []
        self._follows: list[LogFollow] = []
        self._pending: list[str] = []
        self._lock = threading.Lock()
        self._posted = False

    @property
    def istio_app(self) -> IstioApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Static(self._title(), classes="viewer-title", id="logs-title")
        yield RichLog(id="logs-body", classes="viewer-body", max_lines=MAX_LINES, wrap=False, markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.action_reload()

    def on_unmount(self) -> None:
        self._stop_following()

    @property
    def body(self) -> RichLog:
        return self.query_one("#logs-body", RichLog)

    @property
    def shown_containers(self) -> tuple[str, ...]:
        return self.containers if self.all_containers else (self.container,)

    def _title(self) -> Text:
        which = "all containers" if self.all_containers else f"container {self.container}"
        flags = [
            "following" if self.following else "",
            "previous run" if self.previous else "",
            f"tail {self.tail}" if self.tail is not None else "whole log",
            "wrap" if self.wrap else "",
            "timestamps" if self.timestamps else "",
        ]
        return Text.assemble(  # the modes first: a long pod name must not push them off an 80-column line
            ("Logs", "bold"),
            "  ",
            (which, "bold"),
            ("  " + " · ".join(f for f in flags if f), "dim"),
            f"  {self.pod_namespace}/{self.pod_name}",
        )

    # --- one-off reads

    def action_reload(self) -> None:
        self._stop_following()
        self.following = False
        self.query_one("#logs-title", Static).update(self._title())
        self._replace([f"loading logs of {', '.join(self.shown_containers)}…"])
        self._load(self.shown_containers, self.previous, self.tail, self.timestamps)

    @work(thread=True, exit_on_error=False, group="viewer", exclusive=True, description="pod logs")
    def _load(self, containers: tuple[str, ...], previous: bool, tail: int | None, timestamps: bool) -> None:
        cluster = self.istio_app.cluster
        lines: list[str] = []
        for container in containers:
            try:
                text = cluster.pod_logs(
                    self.pod_name,
                    namespace=self.pod_namespace,
                    container=container,
                    tail_lines=tail,
                    previous=previous,
                    timestamps=timestamps,
                )
            except Invalid as err:  # no log to read (no previous run, still pulling): say so here, no alarm
                text = f"({err})"
            got = text.splitlines()
            lines += [f"[{container}] {line}" for line in got] if len(containers) > 1 else got
        self.app.call_from_thread(self._replace, lines or ["(no log lines)"])

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR:
            self._replace([f"could not load: {event.worker.error}"])

    def _replace(self, lines: list[str]) -> None:
        self.lines = list(lines)
        body = self.body
        body.clear()
        body.wrap = self.wrap
        for line in lines:
            body.write(Text(line), scroll_end=False)
        if self.following:
            body.scroll_end(animate=False)

    # --- following

    def action_follow(self) -> None:
        if self.following:
            self._stop_following()
            self.following = False
        else:
            self._start_following()
        self.query_one("#logs-title", Static).update(self._title())

    def _start_following(self) -> None:
        self._stop_following()
        self.previous = False
        self.following = True
        self._replace([])
        cluster = self.istio_app.cluster
        prefix = len(self.shown_containers) > 1
        for container in self.shown_containers:
            follow = cluster.follow_pod_logs(
                self.pod_name,
                namespace=self.pod_namespace,
                container=container,
                tail_lines=self.tail,
                timestamps=self.timestamps,
            )

            label = f"[{container}] " if prefix else ""

            def run(stopped: threading.Event, follow: LogFollow = follow, label: str = label) -> None:
                for line in follow:
                    if stopped.is_set():
                        return
                    self._push(label + line)

            self._follows.append(follow)
            self._streams.append(Stream(run, name=f"logs-{container}", on_error=self._stream_failed).start())

    def _stream_failed(self, err: BaseException) -> None:
        self.app.call_from_thread(self.istio_app.report_error, err, "log follow")

    def _push(self, line: str) -> None:
        with self._lock:
            self._pending.append(line)
            if self._posted:
                return
            self._posted = True
        self.post_message(self.LinesArrived())

    @on(LinesArrived)
    def _lines_arrived(self) -> None:
        with self._lock:
            lines, self._pending = self._pending, []
            self._posted = False
        if not self.following:
            return
        self.lines += lines
        body = self.body
        for line in lines:
            body.write(Text(line), scroll_end=body.auto_scroll)

    def _stop_following(self) -> None:
        for follow in self._follows:
            follow.stop()
        for stream in self._streams:
            stream.stop()
        self._follows.clear()
        self._streams.clear()
        with self._lock:
            self._pending.clear()  # lines of the old view must not land in the next one

    # --- options

    def action_previous(self) -> None:
        self.previous = not self.previous
        self.action_reload()

    def action_next_container(self) -> None:
        if len(self.containers) > 1:
            index = (self.containers.index(self.container) + 1) % len(self.containers)
            self.container = self.containers[index]
        self.all_containers = False
        self._refetch()

    def action_all_containers(self) -> None:
        self.all_containers = not self.all_containers
        self._refetch()

    def action_tail(self, step: int) -> None:
        index = TAIL_SIZES.index(self.tail) if self.tail in TAIL_SIZES else 1
        self.tail = TAIL_SIZES[max(0, min(len(TAIL_SIZES) - 1, index + step))]
        self._refetch()

    def action_timestamps(self) -> None:
        self.timestamps = not self.timestamps
        self._refetch()

    def _refetch(self) -> None:
        """Same mode, new view: a follow restarts with the new options, a plain read reloads."""
        if self.following:
            self._start_following()
            self.query_one("#logs-title", Static).update(self._title())
        else:
            self.action_reload()

    def action_wrap(self) -> None:
        self.wrap = not self.wrap
        following, self.following = self.following, False
        self._replace(self.lines)
        self.following = following
        self.query_one("#logs-title", Static).update(self._title())

    # --- moving

    def action_bottom(self) -> None:
        self.body.auto_scroll = True
        self.body.scroll_end(animate=False)

    def action_top(self) -> None:
        self.body.auto_scroll = False
        self.body.scroll_home(animate=False)

    def action_scroll_down(self) -> None:
        self.body.scroll_down(animate=False)

    def action_scroll_up(self) -> None:
        self.body.auto_scroll = False
        self.body.scroll_up(animate=False)

    def action_close(self) -> None:
        self.dismiss()
