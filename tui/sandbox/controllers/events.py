"""The Event kind as controllers and the kubelet record it (what ``kubectl describe`` and the TUI list)."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable
from datetime import UTC, datetime

from tui.errors import KubeError
from tui.sandbox.controllers.common import meta
from tui.sandbox.store import Obj, Store

EVENT_QPS, EVENT_BURST = 50, 100
NODE_COMPONENTS = ("kubelet", "default-scheduler")


class EventRecorder:
    """Writes Events; node-side ones share one token bucket, like the kubelet's recorder (50/s, burst 100).

    Why the bucket: a burst of thousands of pods would otherwise multiply the sandbox's writes tenfold.
    """

    def __init__(self, store: Store, *, clock: Callable[[], float], rand: random.Random) -> None:
        self.store = store
        self._clock = clock
        self._rand = rand
        self._tokens = float(EVENT_BURST)
        self._refilled = clock()

    def emit(
        self,
        obj: Obj,
        reason: str,
        message: str,
        *,
        component: str,
        field_path: str = "",
        type_: str = "Normal",
        host: str = "",
    ) -> None:
        """Record an Event; ``eventTime`` has microseconds so ``kubectl describe`` lists them in order."""
        if component in NODE_COMPONENTS:
            now_t = self._clock()
            elapsed, self._refilled = now_t - self._refilled, now_t
            self._tokens = min(float(EVENT_BURST), self._tokens + elapsed * EVENT_QPS)
            if self._tokens < 1:
                return
            self._tokens -= 1
        m = meta(obj)
        ns = str(m.get("namespace") or "default")
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        involved = {
            "kind": obj.get("kind", ""),
            "namespace": ns,
            "name": m.get("name", ""),
            "uid": m.get("uid", ""),
            "apiVersion": obj.get("apiVersion", "v1"),
            "resourceVersion": m.get("resourceVersion", ""),
        }
        if field_path:
            involved["fieldPath"] = field_path
        kubelet = component == "kubelet"
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": f"{m.get('name')}.{self._suffix()}", "namespace": ns},
            "involvedObject": involved,
            "reason": reason,
            "message": message,
            "source": {"component": component, **({"host": host} if kubelet else {})},
            "firstTimestamp": None,
            "lastTimestamp": None,
            "count": 1,
            "type": type_,
            "eventTime": now,
            "reportingComponent": component,
            "reportingInstance": host if kubelet else "",
        }
        with contextlib.suppress(KubeError):
            self.store.create("events", event)

    def _suffix(self) -> str:
        """16 hex digits; the resourceVersion keeps names unique across restarts of a seeded sandbox."""
        return f"{int(self.store.resource_version):08x}{self._rand.getrandbits(32):08x}"
