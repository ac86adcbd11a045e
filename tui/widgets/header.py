"""The top bar: which cluster this is, always, so nobody deletes in the wrong context."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from tui.kube import ClusterInfo


class AppHeader(Horizontal):
    """Context, API server URL and server version; a READ-ONLY badge; the connection state of the watches."""

    def __init__(self, info: ClusterInfo, *, readonly: bool) -> None:
        super().__init__(id="app-header")
        self._info = info
        self._readonly = readonly

    def compose(self) -> ComposeResult:
        line = Text.assemble(
            ("istio-tui", "bold"),
            "  context ",
            (self._info.context, "bold"),
            "  ",
            self._info.server,
            "  ",
            self._info.git_version or "unknown version",
        )
        yield Static(line, id="header-cluster")
        yield Static("reconnecting…", id="header-connection", classes="-hidden")
        if self._readonly:
            yield Static(" READ-ONLY ", id="header-readonly")

    def show_connection(self, message: str) -> None:
        """An empty message means every watch is connected."""
        conn = self.query_one("#header-connection", Static)
        conn.set_class(not message, "-hidden")
        conn.tooltip = message or None
