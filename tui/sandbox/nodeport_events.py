"""The Warning Event the data plane records when a gateway's nodePort cannot be bound on this machine."""

from __future__ import annotations

import contextlib
import uuid
from datetime import UTC, datetime

from tui.errors import KubeError
from tui.sandbox.store import Store


def report_unbound(store: Store, owner: str, port: int, *, retry: float) -> None:
    """A Warning Event on the gateway Service, so ``kubectl describe`` and the TUI show why its nodePort
    serves nothing (another program or sandbox on this machine holds it)."""
    namespace, _, name = owner.partition("/")
    svc = store.try_get("services", name, namespace=namespace)
    if svc is None:
        return
    meta = svc.get("metadata") or {}
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{name}.{uuid.uuid4().hex[:16]}", "namespace": namespace},
        "involvedObject": {
            "kind": "Service",
            "namespace": namespace,
            "name": name,
            "uid": meta.get("uid", ""),
            "apiVersion": "v1",
            "resourceVersion": meta.get("resourceVersion", ""),
        },
        "reason": "NodePortInUse",
        "message": f"nodePort {port} is already in use on this machine; the gateway is not reachable "
        f"there until it is freed (retrying every {retry:g}s)",
        "source": {"component": "sandbox-dataplane"},
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
        "type": "Warning",
        "reportingComponent": "sandbox-dataplane",
        "reportingInstance": "",
    }
    with contextlib.suppress(KubeError):
        store.create("events", event)
