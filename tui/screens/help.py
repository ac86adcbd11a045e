"""``?``: every binding, the prompt syntax and, on a sandbox, how to reach it with kubectl."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

HelpSection = tuple[str, Sequence[tuple[str, str]]]


def _section(title: str, rows: Sequence[tuple[str, str]]) -> RenderableType:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True, min_width=14)
    table.add_column()
    for key, text in rows:
        table.add_row(key, text)
    return Group(Text(title, style="bold underline"), table, Text(""))


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "close", "Close")]

    def __init__(self, sections: Sequence[HelpSection], *, footer_lines: Sequence[str] = ()) -> None:
        super().__init__()
        self._sections = sections
        self._footer = footer_lines

    def compose(self) -> ComposeResult:
        parts = [_section(title, rows) for title, rows in self._sections]
        if self._footer:
            parts.append(Text("\n".join(self._footer)))
        with VerticalScroll(id="help-dialog"):
            yield Static(Text("istio-tui keys  (esc closes)", style="bold"), id="help-title")
            yield Static(Group(*parts), id="help-body")

    def action_close(self) -> None:
        self.dismiss()
