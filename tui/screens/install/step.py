"""What every wizard step shares: a status line with a spinner while it works, field rows, and its mark.

A step owns its widgets, its workers and its state; it tells the pane what happened only through messages
(``WizardStep.Marked`` for the step list, and the step's own typed messages), and the pane hands it what it
needs from the other steps as attributes or calls down (never up, never sideways).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, Label, Static
from textual.worker import Worker, WorkerState

from tui.widgets.pane import WorkerErrors

if TYPE_CHECKING:
    from tui.app import IstioApp

SPIN_INTERVAL_S = 0.2
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


class WizardStep(WorkerErrors, Widget):
    """Mix in after the step's container class (``class S(VerticalScroll, WizardStep)``: Textual takes CSS
    type names from the first base only); set ``KEY`` and ``STATUS_ID``."""

    KEY: ClassVar[str] = ""
    STATUS_ID: ClassVar[str] = ""

    class Marked(Message):
        """The step's mark in the step list changed: ✔ done, ✘ failed, ! warning, … running, "" none."""

        def __init__(self, key: str, mark: str) -> None:
            super().__init__()
            self.key = key
            self.mark = mark

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._busy: tuple[str, float] | None = None
        self._tick = 0
        self._mark = ""

    @property
    def istio_app(self) -> IstioApp:
        return self.app  # type: ignore[return-value]

    @property
    def readonly(self) -> bool:
        return bool(getattr(self.app, "readonly", False))

    @property
    def is_busy(self) -> bool:
        return self._busy is not None

    def on_mount(self) -> None:
        self.set_interval(SPIN_INTERVAL_S, self._spin)

    def begin(self, label: str) -> None:
        """Show ``label`` with a spinner and the elapsed seconds until ``done``."""
        started = self._busy[1] if self._busy is not None else time.monotonic()
        self._busy = (label, started)
        self._spin()

    def relabel(self, label: str) -> None:
        if self._busy is not None:
            self._busy = (label, self._busy[1])

    def done(self, text: Text) -> None:
        self._busy = None
        self.set_status(text)

    def set_status(self, text: Text) -> None:
        self.query_one(f"#{self.STATUS_ID}", Static).update(text)

    def _spin(self) -> None:
        if self._busy is None:
            return
        self._tick += 1
        label, started = self._busy
        spin = SPINNER[self._tick % len(SPINNER)]
        self.set_status(Text(f"{spin} {label}… {time.monotonic() - started:.0f}s", style="yellow"))

    def mark(self, mark: str) -> None:
        if mark != self._mark:
            self._mark = mark
            self.post_message(self.Marked(self.KEY, mark))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A failed one-off job already went to the app's error handler; the step stops spinning."""
        if event.state is WorkerState.ERROR and self._busy is not None:
            self.done(Text("failed (see the notification)", style="red"))
            self.mark("✘")

    def show_error(self, widget_id: str, message: str) -> None:
        err = self.query_one(f"#{widget_id}", Static)
        err.update(f"✘ {message}" if message else "")
        err.set_class(not message, "-hidden")


def field_row(name: str, label: str, widget: Widget, *, prefix: str = "") -> ComposeResult:
    """A labelled form field with its error line below it (hidden while the value is good)."""
    with Horizontal(classes="wiz-field", id=f"{prefix}row-{name}"):
        yield Label(label, classes="wiz-label")
        yield widget
    yield Static("", id=f"{prefix}err-{name}", classes="wiz-error -hidden", markup=False)


def button_row(*buttons: Button) -> ComposeResult:
    with Horizontal(classes="wiz-buttons"):
        yield from buttons
