"""Any object's YAML with one field marked: where an analysis finding's ``enter`` lands.

The pod YAML viewer (``describe.PodYamlScreen``) already fetches in a worker, reloads and goes back on
``esc``; this one fetches any kind through discovery, numbers the lines, highlights the field at
``highlight`` (a finding's path) and scrolls it into view.
"""

from __future__ import annotations

from rich.console import RenderableType
from rich.syntax import Syntax
from textual.containers import VerticalScroll
from textual.worker import Worker, WorkerState

from tui.istio.analysis.locate import field_lines
from tui.istio.analysis.model import Path
from tui.models import pod_yaml
from tui.screens.describe import PodYamlScreen


class ObjectYamlScreen(PodYamlScreen):
    """Any object's YAML; ``highlight`` (a field path) is marked and scrolled into view, e.g. the field an
    analysis finding names."""

    def __init__(
        self, *, api_version: str, kind: str, namespace: str, name: str, highlight: Path = ()
    ) -> None:
        super().__init__(namespace, name)
        self.KIND = f"YAML {kind}"
        self.api_version = api_version
        self.kind = kind
        self.highlight = highlight
        self.highlighted: tuple[int, int] | None = None
        self.yaml_text = ""

    def fetch(self) -> RenderableType:
        cluster = self.istio_app.cluster
        res = cluster.resource_for(api_version=self.api_version, kind=self.kind)
        obj = cluster.get(res, self.pod_name, namespace=self.pod_namespace or None)
        text = pod_yaml(obj)  # any object: it only drops managedFields
        self.yaml_text = text
        self.highlighted = field_lines(text, self.highlight)
        lines = set(range(self.highlighted[0], self.highlighted[1] + 1)) if self.highlighted else None
        return Syntax(
            text,
            "yaml",
            theme="ansi_dark",
            background_color="default",
            line_numbers=True,
            highlight_lines=lines,
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.SUCCESS and self.highlighted:
            self.call_after_refresh(self._scroll_to_highlight)

    def _scroll_to_highlight(self) -> None:
        if self.highlighted:
            body = self.query_one(".viewer-body", VerticalScroll)
            body.scroll_to(y=max(0, self.highlighted[0] - 4), animate=False)
