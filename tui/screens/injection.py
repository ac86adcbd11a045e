"""Dialogs of the injection flow that ConfirmScreen cannot express: a two-way choice and a revision prompt."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from tui.istio.injection import INJECTION_LABEL, REV_LABEL, LabelConflict, valid_revision

KEEP_REVISION = "keep-revision"
KEEP_INJECTION = "keep-injection"


class ConflictScreen(ModalScreen[str | None]):
    """Both injection labels are set: the user picks which one survives, or cancels."""

    BINDINGS = [
        Binding("r", "choose('keep-revision')", "Keep revision"),
        Binding("i", "choose('keep-injection')", "Keep istio-injection"),
        Binding("escape,n", "choose('')", "Cancel"),
    ]

    def __init__(self, conflict: LabelConflict, *, context: str) -> None:
        super().__init__()
        self._conflict = conflict
        self._context_name = context

    def compose(self) -> ComposeResult:
        c = self._conflict
        with Vertical(id="conflict-dialog", classes="injection-dialog"):
            title = Text(f"Conflicting injection labels on {c.namespace}", style="bold")
            yield Static(title, id="conflict-title")
            yield Static(Text.assemble("context: ", (self._context_name, "bold")), id="conflict-context")
            yield Static(
                Text(
                    f"{c.describe()}\n\nChoose the label to keep; the other one is removed with a merge "
                    "patch. A confirmation follows."
                ),
                id="conflict-body",
            )
            with Horizontal(id="conflict-buttons"):
                yield Button(f"Keep {REV_LABEL}={c.revision} (r)", id=KEEP_REVISION, variant="primary")
                keep = f"Keep {INJECTION_LABEL}={c.injection_value} (i)"
                yield Button(keep, id=KEEP_INJECTION, variant="primary")
                yield Button("Cancel (esc)", id="conflict-cancel")

    def on_mount(self) -> None:
        self.query_one("#conflict-cancel", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        choice = event.button.id or ""
        self.dismiss(choice if choice in (KEEP_REVISION, KEEP_INJECTION) else None)

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice or None)


class RevisionScreen(ModalScreen[str | None]):
    """Asks for the control-plane revision; a bad value is explained in place and nothing is sent."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, namespace: str, *, current: str = "") -> None:
        super().__init__()
        self._namespace = namespace
        self._current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="revision-dialog", classes="injection-dialog"):
            yield Static(Text(f"Inject {self._namespace} from a control-plane revision", style="bold"))
            yield Static(
                f"Sets {REV_LABEL}=<revision> and removes {INJECTION_LABEL}. Enter continues, esc cancels."
            )
            yield Input(value=self._current, placeholder="revision, e.g. 1-24 or canary", id="revision-input")
            yield Static("", id="revision-error")

    @on(Input.Submitted, "#revision-input")
    def _submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        if not valid_revision(value):
            self.query_one("#revision-error", Static).update(
                f"{value!r} is not a valid revision: 1-63 letters, digits, '-', '_' or '.', "
                "starting and ending with a letter or digit"
            )
            return
        self.dismiss(value)

    def action_cancel(self) -> None:
        self.dismiss(None)
