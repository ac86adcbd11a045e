"""The confirmation every destructive action goes through; it always names the kubeconfig context."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class ConfirmScreen(ModalScreen[bool]):
    """Dismisses with True only on an explicit yes; ``esc``, ``n`` and the default button say no.

    A long body (a restart of many pods, a big diff) scrolls, so the buttons stay on screen at 80x24.

    A key can reach the bindings before the dialog has mounted (typed ahead, or pressed in the same tick as
    the push), so nothing here may assume the widgets exist: focus goes through ``AUTO_FOCUS`` and the answer
    is taken once."""

    AUTO_FOCUS = "#confirm-no"
    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(
        self,
        title: str,
        body_lines: Sequence[str],
        *,
        context: str,
        confirm_label: str = "Yes",
        destructive: bool = True,
    ) -> None:
        super().__init__()
        self._title = title
        self._body = list(body_lines)
        self._context_name = context
        self._confirm_label = confirm_label
        self._destructive = destructive
        self._answered = False

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-dialog"):
            yield Static(Text(self._title, style="bold"), id="confirm-title")
            yield Static(Text.assemble("context: ", (self._context_name, "bold")), id="confirm-context")
            with VerticalScroll(id="confirm-scroll", can_focus=False):
                yield Static(Text("\n".join(self._body)), id="confirm-body")
            with Horizontal(id="confirm-buttons"):
                yield Button(
                    f"{self._confirm_label} (y)",
                    id="confirm-yes",
                    variant="error" if self._destructive else "primary",
                )
                yield Button("Cancel (n)", id="confirm-no")

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.action_answer(event.button.id == "confirm-yes")

    def action_answer(self, answer: bool) -> None:
        if self._answered:
            return
        self._answered = True
        self.dismiss(answer)
