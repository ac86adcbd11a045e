"""Full-screen viewers for one pod: describe (with events), YAML and logs. ``esc`` goes back.

Each viewer fetches in a thread worker; a failure lands in the app's single error handler and the viewer
says what it could not load instead of staying blank.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.console import RenderableType
from rich.syntax import Syntax
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Log, Static
from textual.worker import Worker, WorkerState

from tui import kube
from tui.errors import Invalid
from tui.istio.pods import describe_pod
from tui.models import PodRow, events_for, pod_yaml
from tui.widgets.pane import WorkerErrors

if TYPE_CHECKING:
    from tui.app import IstioApp

LOG_TAIL_LINES = 500


class _PodScreen(WorkerErrors, Screen[None]):
    BINDINGS: ClassVar[list[Binding]] = [  # type: ignore[assignment]
        Binding("escape,q", "close", "Back"),
        Binding("r", "reload", "Reload"),
    ]
    KIND = ""

    def __init__(self, namespace: str, name: str) -> None:
        super().__init__()
        self.pod_namespace = namespace
        self.pod_name = name

    @property
    def istio_app(self) -> IstioApp:
        return self.app  # type: ignore[return-value]

    def _title(self) -> Text:
        return Text.assemble(
            (self.KIND, "bold"), f"  {self.pod_namespace}/{self.pod_name}", ("   esc back · r reload", "dim")
        )

    def action_close(self) -> None:
        self.dismiss()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR:
            self.show_failure(f"could not load: {event.worker.error}")

    def show_failure(self, message: str) -> None:
        raise NotImplementedError


class _TextPodScreen(_PodScreen):
    def compose(self) -> ComposeResult:
        yield Static(self._title(), classes="viewer-title")
        with VerticalScroll(classes="viewer-body"):
            yield Static(Text("loading…", style="dim"), id="viewer-text")
        yield Footer()

    def on_mount(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        self._load()

    @work(thread=True, exit_on_error=False, group="viewer", exclusive=True, description="pod fetch")
    def _load(self) -> None:
        content = self.fetch()
        self.app.call_from_thread(self.query_one("#viewer-text", Static).update, content)

    def fetch(self) -> RenderableType:
        raise NotImplementedError

    def show_failure(self, message: str) -> None:
        self.query_one("#viewer-text", Static).update(Text(message, style="bold"))


class PodDescribeScreen(_TextPodScreen):
    KIND = "Describe"

    def fetch(self) -> RenderableType:
        cluster = self.istio_app.cluster
        pod = cluster.get(kube.PODS, self.pod_name, namespace=self.pod_namespace)
        uid = str((pod.get("metadata") or {}).get("uid") or "")
        try:
            listed = cluster.list(
                kube.EVENTS,
                namespace=self.pod_namespace,
                field_selector=f"involvedObject.name={self.pod_name}",
            ).items
        except Invalid:  # a server without that field selector: filter here instead
            listed = cluster.list(kube.EVENTS, namespace=self.pod_namespace).items
        events = events_for(listed, name=self.pod_name, uid=uid)
        return Text(describe_pod(pod, events, now=self.istio_app.clock()))


class PodYamlScreen(_TextPodScreen):
    KIND = "YAML"

    def fetch(self) -> RenderableType:
        pod = self.istio_app.cluster.get(kube.PODS, self.pod_name, namespace=self.pod_namespace)
        return Syntax(pod_yaml(pod), "yaml", theme="ansi_dark", background_color="default")


class PodLogsScreen(_PodScreen):
    """The app container by default (never istio-proxy unless asked); ``c`` cycles through the containers."""

    KIND = "Logs"
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("escape,q", "close", "Back"),
        Binding("r", "reload", "Reload"),
        Binding("c", "next_container", "Container"),
    ]

    def __init__(self, row: PodRow) -> None:
        super().__init__(row.namespace, row.name)
        self.containers = row.containers or (row.default_container,)
        self.container = row.default_container or self.containers[0]

    def _title(self) -> Text:
        return Text.assemble(
            (self.KIND, "bold"),
            f"  {self.pod_namespace}/{self.pod_name}  container ",
            (self.container, "bold"),
            ("   esc back · r reload · c next container", "dim"),
        )

    def compose(self) -> ComposeResult:
        yield Static(self._title(), classes="viewer-title", id="logs-title")
        yield Log(id="logs-body", classes="viewer-body", highlight=False)
        yield Footer()

    def on_mount(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        self.query_one("#logs-title", Static).update(self._title())
        log = self.query_one(Log)
        log.clear()
        log.write_line(f"loading logs of {self.container}…")
        self._load(self.container)

    def action_next_container(self) -> None:
        if len(self.containers) > 1:
            index = (self.containers.index(self.container) + 1) % len(self.containers)
            self.container = self.containers[index]
            self.action_reload()

    @work(thread=True, exit_on_error=False, group="viewer", exclusive=True, description="pod logs")
    def _load(self, container: str) -> None:
        text = self.istio_app.cluster.pod_logs(
            self.pod_name, namespace=self.pod_namespace, container=container, tail_lines=LOG_TAIL_LINES
        )
        self.app.call_from_thread(self._show, text)

    def _show(self, text: str) -> None:
        log = self.query_one(Log)
        log.clear()
        log.write_lines(text.splitlines() or ["(no log lines)"])

    def show_failure(self, message: str) -> None:
        log = self.query_one(Log)
        log.clear()
        log.write_line(message)
