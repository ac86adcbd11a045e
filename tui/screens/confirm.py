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
from textual.worker import Worker, WorkerState

PENDING_HINT = "Still checking — press y once the change is shown."


class ConfirmScreen(ModalScreen[bool]):
    """Dismisses with True only on an explicit yes; ``esc``, ``n`` and the default button say no.

    A long body (a restart of many pods, a big diff) scrolls, so the buttons stay on screen at 80x24.

    A key can reach the bindings before the dialog has mounted (typed ahead, or pressed in the same tick as
    the push), so nothing here may assume the widgets exist: focus goes through ``AUTO_FOCUS`` and the answer
    is taken once.

    ``pending`` opens the dialog at once, before the check that writes its body is done, so an answer typed
    right after the action key reaches it: ``n``/``esc`` cancel straight away, ``y`` only shows a hint until
    ``show`` fills the body in (nobody confirms what they have not seen), and ``refuse`` closes it as a no."""

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
        pending: bool = False,
    ) -> None:
        super().__init__()
        self._title = title
        self._body = list(body_lines)
        self._context_name = context
        self._confirm_label = confirm_label
        self._destructive = destructive
        self._answered = False
        self._pending = pending
        self._hint = False

    @property
    def waiting(self) -> bool:
        """Still open and still pending: a late check result belongs here only while this holds."""
        return self._pending and not self._answered

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-dialog"):
            yield Static(Text(self._title, style="bold"), id="confirm-title")
            yield Static(Text.assemble("context: ", (self._context_name, "bold")), id="confirm-context")
            with VerticalScroll(id="confirm-scroll", can_focus=False):
                yield Static(Text("\n".join(self._body)), id="confirm-body")
            hint = Static(PENDING_HINT, id="confirm-hint")
            hint.display = self._hint and self._pending
            yield hint
            with Horizontal(id="confirm-buttons"):
                yield Button(
                    f"{self._confirm_label} (y)",
                    id="confirm-yes",
                    variant="error" if self._destructive else "primary",
                    disabled=self._pending,
                )
                yield Button("Cancel (n)", id="confirm-no")

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.action_answer(event.button.id == "confirm-yes")

    def action_answer(self, answer: bool) -> None:
        if self._answered:
            return
        if answer and self._pending:
            self._hint = True
            self._sync()
            return
        self._answered = True
        if not self.is_current:
            self.pop_until_active()
        self.dismiss(answer)

    def show(self, body_lines: Sequence[str]) -> None:
        """The check is done: its result becomes the body and ``y`` confirms from now on."""
        if not self.waiting:
            return
        self._pending = False
        self._body = list(body_lines)
        self._sync()

    def on_mount(self) -> None:
        self._sync()

    def _sync(self) -> None:
        """Widgets follow the state whenever they exist: a check can finish while the dialog is still being
        mounted, after its widgets were composed from the pending state."""
        for body in self.query("#confirm-body").results(Static):
            body.update(Text("\n".join(self._body)))
        for hint in self.query("#confirm-hint").results(Static):
            hint.display = self._hint and self._pending
        for yes in self.query("#confirm-yes").results(Button):
            yes.disabled = self._pending

    def refuse(self) -> None:
        """The check found nothing to confirm (its reason is told elsewhere): close as a no."""
        if self.waiting:
            self.action_answer(False)


class PendingChecks:
    """Pending dialogs by the worker whose check fills them in, for the node that started the workers: a
    check that fails closes its dialog (the failure itself is reported by ``WorkerErrors``)."""

    def __init__(self) -> None:
        self._dialogs: dict[Worker[None], ConfirmScreen] = {}

    def add(self, worker: Worker[None], dialog: ConfirmScreen) -> None:
        self._dialogs[worker] = dialog

    def worker_changed(self, event: Worker.StateChanged) -> None:
        if event.state in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            dialog = self._dialogs.pop(event.worker, None)
            if dialog is not None and event.state is not WorkerState.SUCCESS:
                dialog.refuse()
