"""The pane's "from: in-cluster ×N" runs: a load Job (``tui.traffic.incluster``) on a dedicated Stream.

A Job run lasts as long as the load, so it never takes a slot of Textual's worker pool. Its merged snapshot
and the load pods come to the pane as messages, at most twice a second; stopping ends the run and deletes the
Job and its pods on the stream's thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from textual.message import Message
from textual.message_pump import MessagePump

from tui import kube
from tui.traffic.incluster import InClusterPlan, InClusterRun, LoadPod
from tui.traffic.snapshot import TallySnapshot
from tui.widgets.stream import ErrorSink, Stream


class InClusterLoad:
    """One in-cluster run for ``target``; ``stop`` ends it (the cleanup runs before ``Ended`` is posted)."""

    class Progress(Message):
        def __init__(self, snapshot: TallySnapshot, pods: list[LoadPod]) -> None:
            super().__init__()
            self.snapshot = snapshot
            self.pods = pods

    class Ended(Message):
        """The run is over and its Job deleted (or it failed; the error went to the app's handler)."""

    def __init__(
        self, cluster: Callable[[], kube.Cluster], target: MessagePump, *, plan: InClusterPlan
    ) -> None:
        self._cluster = cluster
        self._target = target
        self.plan = plan
        self._stream: Stream | None = None

    def start(self, *, on_error: ErrorSink) -> None:
        self._stream = Stream(self._run, name="in-cluster-load", on_error=on_error).start()

    def stop(self, *, wait_s: float = 0.0) -> None:
        """End the run; ``wait_s`` > 0 waits that long for the Job's cleanup (when the app is quitting)."""
        if self._stream is not None:
            self._stream.stop()
            if wait_s > 0:
                self._stream.join(wait_s)

    def _run(self, stop: threading.Event) -> None:
        def post(snapshot: TallySnapshot, pods: list[LoadPod]) -> None:
            self._target.post_message(self.Progress(snapshot, pods))

        try:
            post(*InClusterRun(self._cluster(), plan=self.plan).run(stop=stop, on_update=post))
        finally:
            self._target.post_message(self.Ended())
