"""A one-line prompt in the k9s style (``:`` commands, ``/`` filters) with inline completion."""

from __future__ import annotations

import os
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
        """The prefix all matches share, as a shell does (``kub`` → ``kube-``), so tab never picks one
        namespace among several; once the prefix is typed, the first match."""
        if not value:
            return None
        matches = [c for c in self._candidates() if c.startswith(value) and c != value]
        if not matches:
            return None
        shared = os.path.commonprefix(matches)
        return shared if shared != value else matches[0]


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
