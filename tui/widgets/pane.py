"""The base of every work area (tab) and the one declaration each action needs.

A pane lists its actions once, in ``ACTIONS``. That single list yields its key bindings, its command-palette
entries and its lines in the help screen, so the three can never disagree. Destructive actions are not
bound at all in read-only mode (as in k9s); the palette shows them greyed out with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from textual.binding import Binding, BindingType
from textual.containers import Container
from textual.worker import Worker, WorkerState

if TYPE_CHECKING:
    from tui.app import IstioApp

READ_ONLY_REASON = "read-only mode"


@dataclass(frozen=True)
class PaneAction:
    """One user-facing action of a pane: ``action`` names the ``action_*`` method on the pane."""

    action: str
    title: str
    help: str
    key: str | None = None
    key_display: str | None = None
    destructive: bool = False
    show: bool = True
    short: str = ""  # footer label when ``title`` is too long for it

    @property
    def name(self) -> str:
        """The method part of ``action``: Textual hands ``check_action`` ``preset`` for ``preset('x')``."""
        return self.action.split("(", 1)[0]


class WorkerErrors:
    """Mixin for any node that starts workers: route failures to the app's single error handler.

    Textual posts ``Worker.StateChanged`` only to the node that started the worker (it does not bubble), and
    finds this handler by name along the MRO, so a subclass's own handler does not replace it.
    """

    @property
    def istio_app(self) -> IstioApp:
        """The app with its backends (cluster, settings), typed."""
        return self.app  # type: ignore[attr-defined]

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR:
            self.istio_app.report_worker_error(event.worker)


class WorkPane(WorkerErrors, Container):
    """Subclass, set ``PANE_ID``, ``TITLE`` and ``ACTIONS``, and add the class to ``tui.app.PANES``."""

    PANE_ID: ClassVar[str] = ""
    TITLE: ClassVar[str] = ""
    ACTIONS: ClassVar[tuple[PaneAction, ...]] = ()
    KEY_HELP: ClassVar[tuple[tuple[str, str], ...]] = ()  # extra help lines (key, text) that are not actions

    def __init_subclass__(cls, **kwargs: Any) -> None:
        own: list[BindingType] = list(cls.__dict__.get("BINDINGS", []))
        own += [
            Binding(
                a.key,
                a.action,
                a.short or a.title,
                show=a.show,
                key_display=a.key_display,
                id=f"{cls.PANE_ID}.{a.action}",
            )
            for a in cls.__dict__.get("ACTIONS", ())
            if a.key
        ]
        cls.BINDINGS = own
        super().__init_subclass__(**kwargs)

    @property
    def readonly(self) -> bool:
        return bool(getattr(self.app, "readonly", False))

    def on_mount(self) -> None:
        if self.readonly:
            destructive = {a.action for a in self.ACTIONS if a.destructive}
            for key, bindings in list(self._bindings.key_to_bindings.items()):
                kept = [b for b in bindings if b.action not in destructive]
                if kept:
                    self._bindings.key_to_bindings[key] = kept
                else:
                    del self._bindings.key_to_bindings[key]
            self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Second line of defence: the palette and ``:`` commands cannot run a destructive action either."""
        return not (self.readonly and any(a.destructive and a.name == action for a in self.ACTIONS))

    def refuse_if_readonly(self, what: str) -> bool:
        """For destructive action bodies: True (and a notification) when the app must not change anything."""
        if self.readonly:
            self.notify(f"{what} is disabled in {READ_ONLY_REASON}", severity="warning")
            return True
        return False

    def focus_content(self) -> None:
        """Called when the pane's tab becomes active; override to focus the main widget."""
