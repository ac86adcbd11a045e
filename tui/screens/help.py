"""``?``: every binding, the prompt syntax and, on a sandbox, how to reach it with kubectl."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

HelpSection = tuple[str, Sequence[tuple[str, str]]]


def _section(title: str, rows: Sequence[tuple[str, str]]) -> Text:
    width = max([14, *(len(key) + 2 for key, _ in rows)])
    text = Text(title + "\n", style="bold underline")
    for key, line in rows:
        text.append(f"  {key:<{width}}", style="bold")
        text.append(line + "\n")
    return text


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "close", "Close")]

    def __init__(self, sections: Sequence[HelpSection], *, footer_lines: Sequence[str] = ()) -> None:
        super().__init__()
        self._sections = sections
        self._footer = footer_lines

    def compose(self) -> ComposeResult:
        body = Text("\n").join(_section(title, rows) for title, rows in self._sections)
        if self._footer:
            body.append("\n" + "\n".join(self._footer))
        with VerticalScroll(id="help-dialog"):
            yield Static(Text("istio-tui keys  (esc closes)", style="bold"), id="help-title")
            yield Static(body, id="help-body")

    def action_close(self) -> None:
        self.dismiss()
