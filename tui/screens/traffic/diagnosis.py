"""The inline explanation under the traffic boxes: when a run sees 503s, 404s or a split far from the
configuration, the analysis findings that explain it ("503: VirtualService reviews routes to subset v3, which
no DestinationRule defines …").

The findings are read in a short thread worker (one snapshot of the cluster, then the pure checks) when the
symptoms change, and at most every ``RECHECK_S`` while they last; the worker reaches the widget through
``Explained``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.message import Message
from textual.widgets import Static

from tui.istio.analysis.explain import explain
from tui.istio.analysis.runner import analyze
from tui.istio.analysis.snapshot import take_snapshot
from tui.models import SplitRow
from tui.screens.traffic.run import RunTally
from tui.traffic.classify import RATINGS_UNAVAILABLE, REVIEWS_UNAVAILABLE
from tui.widgets.pane import WorkerErrors

if TYPE_CHECKING:
    from tui.app import IstioApp

RECHECK_S = 5.0


def run_symptoms(tally: RunTally, rows: Sequence[SplitRow]) -> tuple[str, ...]:
    """What the run saw that configuration can explain: 503 (also an in-mesh one, which the page shows as
    "unavailable"), 404, and a split outside its interval."""
    latest = tally.latest
    if latest is None:
        return ()
    window = tally.window().counts
    codes = latest.status_codes
    found: list[str] = []
    if codes.get(503) or window.get(REVIEWS_UNAVAILABLE) or window.get(RATINGS_UNAVAILABLE):
        found.append("503")
    if codes.get(404):
        found.append("404")
    if any(r.disagrees for r in rows):
        found.append("split")
    return tuple(found)


class FindingsLine(WorkerErrors, Static):
    class Explained(Message):
        def __init__(self, namespace: str, symptoms: tuple[str, ...], lines: list[str]) -> None:
            super().__init__()
            self.ns = namespace
            self.symptoms = symptoms
            self.lines = lines

    def __init__(self, *, id: str) -> None:  # noqa: A002 - Textual's name
        super().__init__("", id=id, classes="-hidden")
        self._asked: tuple[str, tuple[str, ...]] | None = None
        self._asked_at = 0.0
        self.lines: list[str] = []

    def observe(self, *, namespace: str, symptoms: tuple[str, ...]) -> None:
        """Called on every render of the run; reads the cluster only when the question changed or aged."""
        question = (namespace, symptoms)
        if not symptoms:
            self._asked = None
            self._show([])
            return
        if question == self._asked and time.monotonic() - self._asked_at < RECHECK_S:
            return
        self._asked, self._asked_at = question, time.monotonic()
        self._explain(namespace, symptoms)

    @work(thread=True, exclusive=True, exit_on_error=False, group="traffic-explain", description="analysis")
    def _explain(self, namespace: str, symptoms: tuple[str, ...]) -> None:
        app: IstioApp = self.app  # type: ignore[assignment]
        findings = analyze(take_snapshot(app.cluster), namespace=namespace)
        self.post_message(self.Explained(namespace, symptoms, explain(findings, symptoms)))

    @on(Explained)
    def _explained(self, event: Explained) -> None:
        if self._asked == (event.ns, event.symptoms):
            self._show(event.lines)

    def _show(self, lines: list[str]) -> None:
        self.lines = lines
        self.set_class(not lines, "-hidden")
        text = Text(no_wrap=False)
        for i, line in enumerate(lines):
            symptom, _, rest = line.partition(": ")
            text.append(("\n" if i else "") + f"{symptom}: ", style="bold red")
            text.append(rest)
        self.update(text)
