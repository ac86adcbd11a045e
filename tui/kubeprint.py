"""kubectl's printing rules (STATUS, READY, RESTARTS, AGE), shared by the pod table and the sandbox's tables.

A leaf module: the sandbox must print exactly what the app shows, yet may import neither ``tui.models`` nor
anything that reaches a cluster client.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any


def parse_time(value: str | None) -> datetime | None:
    """RFC 3339 as the API server writes it (UTC when no zone is named); None when missing or malformed."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


# Each step of kubectl's HumanDuration: unit, how many of the smaller unit make one, below how many it
# still adds the smaller unit's rest (3m20s), below how many it names the unit alone (5h); years never stop.
_AGE_STEPS: tuple[tuple[str, int, int, int | None], ...] = (
    ("m", 60, 10, 180),
    ("h", 60, 8, 48),
    ("d", 24, 8, 365 * 2),
    ("y", 365, 8, None),
)


def format_age(created: datetime | None, now: datetime) -> str:
    """kubectl's human duration: ``45s``, ``3m20s``, ``5h12m``, ``3d4h``, ``120d``, ``2y30d``."""
    if created is None:
        return "<unknown>"
    seconds = int((now - created).total_seconds())
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return f"{seconds}s"
    value, small = seconds, "s"
    for unit, per, with_rest, alone in _AGE_STEPS:
        value, rest = divmod(value, per)
        if value < with_rest:
            return f"{value}{unit}{rest}{small}" if rest else f"{value}{unit}"
        small = unit
        if alone is not None and value < alone:
            break
    return f"{value}{small}"


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
