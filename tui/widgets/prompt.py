"""A one-line prompt in the k9s style (``:`` commands, ``/`` filters) with inline completion."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from textual.binding import Binding
from textual.message import Message
from textual.suggester import Suggester
from textual.widgets import Input


class CandidateSuggester(Suggester):
    """Completes from a list that changes while the app runs (namespace names, commands)."""

    def __init__(self, candidates: Callable[[], Iterable[str]]) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self._candidates = candidates

    async def get_suggestion(self, value: str) -> str | None:
        if not value:
            return None
        for candidate in self._candidates():
            if candidate.startswith(value) and candidate != value:
                return candidate
        return None


class PromptInput(Input):
    """Hidden until opened; ``tab`` or ``→`` accepts the completion, ``esc`` cancels, ``enter`` submits."""

    BINDINGS = [
        Binding("tab", "cursor_right", "Complete", show=False),
        Binding("escape", "cancel", "Cancel", show=False),
    ]

    class Cancelled(Message):
        def __init__(self, prompt: PromptInput) -> None:
            super().__init__()
            self.prompt = prompt

        @property
        def control(self) -> PromptInput:
            return self.prompt

    def open(self, value: str = "") -> None:
        self.remove_class("-hidden")
        self.value = value
        self.cursor_position = len(value)
        # Focus now, not on the next message loop turn (``focus()``): keys typed right after ``/`` or ``:``
        # are already queued and must land here, not on the table where ``d`` would describe a pod.
        self.screen.set_focus(self, scroll_visible=False)

    def close(self) -> None:
        self.add_class("-hidden")

    @property
    def is_open(self) -> bool:
        return not self.has_class("-hidden")

    def action_cancel(self) -> None:
        self.post_message(self.Cancelled(self))
