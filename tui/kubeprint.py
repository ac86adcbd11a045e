"""kubectl's printing rules (STATUS, READY, RESTARTS, AGE), shared by the pod table and the sandbox's tables.

A leaf module: the sandbox must print exactly what the app shows, yet may import neither ``tui.models`` nor
anything that reaches a cluster client.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any


def parse_time(value: str | None) -> datetime | None:
    """RFC 3339 as the API server writes it; None for a missing or malformed value."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def format_age(created: datetime | None, now: datetime) -> str:
    """kubectl's human duration: ``45s``, ``3m20s``, ``5h12m``, ``3d4h``, ``120d``, ``2y30d``."""
    if created is None:
        return "<unknown>"
    seconds = int((now - created).total_seconds())
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        rest = seconds % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if days < 8:
        rest = hours % 24
        return f"{days}d{rest}h" if rest else f"{days}d"
    if days < 365 * 2:
        return f"{days}d"
    years, rest_days = divmod(days, 365)
    if years < 8:
        return f"{years}y{rest_days}d" if rest_days else f"{years}y"
    return f"{years}y"


def _restartable(container: Mapping[str, Any] | None) -> bool:
    return bool(container) and (container or {}).get("restartPolicy") == "Always"


def _terminated_reason(state: Mapping[str, Any], prefix: str = "") -> str:
    term = state.get("terminated") or {}
    if term.get("reason"):
        return prefix + str(term["reason"])
    if term.get("signal"):
        return f"{prefix}Signal:{term['signal']}"
    return f"{prefix}ExitCode:{term.get('exitCode', 0)}"


def pod_status(pod: Mapping[str, Any]) -> tuple[str, int, int, int]:
    """STATUS, ready, total and restarts exactly as ``kubectl get pods`` computes them.

    Restartable init containers (native sidecars such as istio-proxy on 1.33+) count towards READY, so an
    injected pod reads 2/2 in both injection modes.
    """
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    meta = pod.get("metadata") or {}
    init_specs = {c.get("name"): c for c in spec.get("initContainers") or ()}
    total = len(spec.get("containers") or ()) + sum(1 for c in init_specs.values() if _restartable(c))
    ready = 0
    restarts = 0
    sidecar_restarts = 0
    phase = str(status.get("phase") or "Pending")
    reason = str(status.get("reason") or phase)
    for cond in status.get("conditions") or ():
        if cond.get("type") == "PodScheduled" and cond.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"

    initializing = False
    init_statuses = status.get("initContainerStatuses") or ()
    for index, cs in enumerate(init_statuses):
        count = int(cs.get("restartCount") or 0)
        restarts += count
        state = cs.get("state") or {}
        if _restartable(init_specs.get(cs.get("name"))):
            sidecar_restarts += count
            if cs.get("started"):
                if cs.get("ready"):
                    ready += 1
                continue
        term = state.get("terminated")
        waiting = state.get("waiting") or {}
        if term is not None and int(term.get("exitCode") or 0) == 0:
            continue
        if term is not None:
            reason = _terminated_reason(state, "Init:")
        elif waiting.get("reason") and waiting.get("reason") != "PodInitializing":
            reason = f"Init:{waiting['reason']}"
        else:
            reason = f"Init:{index}/{len(init_specs)}"
        initializing = True
        break

    initialized = any(
        c.get("type") == "Initialized" and c.get("status") == "True" for c in status.get("conditions") or ()
    )
    if not initializing or initialized:
        restarts = sidecar_restarts
        has_running = False
        for cs in reversed(status.get("containerStatuses") or ()):
            restarts += int(cs.get("restartCount") or 0)
            state = cs.get("state") or {}
            waiting = state.get("waiting") or {}
            if waiting.get("reason"):
                reason = str(waiting["reason"])
            elif state.get("terminated") is not None:
                reason = _terminated_reason(state)
            elif cs.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            pod_ready = any(
                c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or ()
            )
            reason = "Running" if pod_ready else "NotReady"

    if meta.get("deletionTimestamp"):
        if status.get("reason") == "NodeLost":
            reason = "Unknown"
        elif phase not in ("Succeeded", "Failed"):
            reason = "Terminating"
    return reason, ready, total, restarts
