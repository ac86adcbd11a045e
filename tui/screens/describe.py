"""Full-screen viewers for one pod: describe (with events) and YAML (logs: ``tui.screens.logs``).

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
from textual.widgets import Footer, Static
from textual.worker import Worker, WorkerState

from tui import kube
from tui.errors import Invalid
from tui.istio.pods import describe_pod
from tui.models import events_for, pod_yaml
from tui.widgets.pane import WorkerErrors

if TYPE_CHECKING:
    from tui.app import IstioApp


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
    BINDINGS: ClassVar[list[Binding]] = [
        *_PodScreen.BINDINGS,
        Binding("G,end", "bottom", "End", show=False),
        Binding("g,home", "top", "Top", show=False),
        Binding("j", "scroll_down", "Down", show=False),
        Binding("k", "scroll_up", "Up", show=False),
        Binding("ctrl+f,pagedown", "page_down", "Page down", show=False),
        Binding("ctrl+b,pageup", "page_up", "Page up", show=False),
    ]

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

    @property
    def _body(self) -> VerticalScroll:
        return self.query_one(".viewer-body", VerticalScroll)

    def action_bottom(self) -> None:
        self._body.scroll_end(animate=False)

    def action_top(self) -> None:
        self._body.scroll_home(animate=False)

    def action_scroll_down(self) -> None:
        self._body.scroll_down(animate=False)

    def action_scroll_up(self) -> None:
        self._body.scroll_up(animate=False)

    def action_page_down(self) -> None:
        self._body.scroll_page_down(animate=False)

    def action_page_up(self) -> None:
        self._body.scroll_page_up(animate=False)

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
