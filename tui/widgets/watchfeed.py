"""A thread-safe buffer between a watch running on its own thread and the UI that samples it.

Watch streams can deliver hundreds of events a second; the UI must see a snapshot at a fixed rate instead of
one message per event. The worker thread pushes every event here (converting objects to rows off the UI
thread), and a timer on the UI side calls ``drain()`` a few times a second to get the net change since the
last call: later events for the same object replace earlier ones, and an add followed by a delete vanishes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from tui.errors import IstioTuiError
from tui.kube import Watch, WatchEvent, object_key
from tui.widgets.stream import ErrorSink, Stream

T = TypeVar("T")


@dataclass
class FeedBatch(Generic[T]):
    """The net change since the previous drain. ``reconnecting`` is the current stream state, not a change."""

    upserts: dict[str, T] = field(default_factory=dict)
    deletes: set[str] = field(default_factory=set)
    synced: bool = False
    reconnecting: str = ""
    error: IstioTuiError | None = None

    @property
    def empty(self) -> bool:
        return not self.upserts and not self.deletes and not self.synced and self.error is None


class WatchFeed(Generic[T]):
    """Accumulates one watch's events as converted rows.

    ``start`` runs the watch on a dedicated ``Stream`` thread; ``run`` is the blocking loop it uses.
    """

    def __init__(self, convert: Callable[[dict[str, Any]], T]) -> None:
        self._convert = convert
        self._lock = threading.Lock()
        self._pending: FeedBatch[T] = FeedBatch()
        self._known: dict[str, str] = {}
        self._reconnecting = ""
        self._watch: Watch | None = None
        self._stopped = False

    def run(self, watch: Watch) -> None:
        """Iterate the watch until it ends or ``stop()``; a KubeError it raises is recorded and re-raised."""
        with self._lock:
            if self._stopped:
                watch.stop()
                return
            self._watch = watch
        try:
            for event in watch:
                self._push(event)
        except IstioTuiError as err:
            with self._lock:
                self._pending.error = err
            raise

    def start(self, open_watch: Callable[[], Watch], *, name: str, on_error: ErrorSink) -> Stream:
        """Open and iterate the watch on a thread of its own; failures (also recorded in the batch) go to
        ``on_error`` unless the feed was stopped first."""

        def loop(_stopped: threading.Event) -> None:
            self.run(open_watch())

        return Stream(loop, name=name, on_error=on_error).start()

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            watch = self._watch
        if watch is not None:
            watch.stop()

    def _push(self, event: WatchEvent) -> None:
        if event.type in ("ADDED", "MODIFIED"):
            key = object_key(event.object)
            rv = str((event.object.get("metadata") or {}).get("resourceVersion") or "")
            if self._known.get(key) == rv and rv:
                return
            row = self._convert(event.object)
            with self._lock:
                self._known[key] = rv
                self._pending.upserts[key] = row
                self._pending.deletes.discard(key)
                self._reconnecting = ""
        elif event.type == "DELETED":
            key = object_key(event.object)
            with self._lock:
                self._known.pop(key, None)
                self._pending.upserts.pop(key, None)
                self._pending.deletes.add(key)
        elif event.type == "SYNCED":
            # The watch already emitted the difference; this reconciles anything our buffer could have missed.
            missing = {k: o for k, o in event.objects.items() if k not in self._known}
            rows = {k: self._convert(o) for k, o in missing.items()}
            with self._lock:
                for key in [k for k in self._known if k not in event.objects]:
                    del self._known[key]
                    self._pending.upserts.pop(key, None)
                    self._pending.deletes.add(key)
                for key, obj in missing.items():
                    self._known[key] = str((obj.get("metadata") or {}).get("resourceVersion") or "")
                self._pending.upserts.update(rows)
                self._pending.synced = True
                self._reconnecting = ""
        elif event.type == "RECONNECTING":
            with self._lock:
                self._reconnecting = event.message or "reconnecting"

    def drain(self) -> FeedBatch[T]:
        with self._lock:
            batch = self._pending
            batch.reconnecting = self._reconnecting
            self._pending = FeedBatch()
        return batch
