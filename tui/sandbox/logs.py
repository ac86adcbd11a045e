"""What each container of a sandbox pod has written: lines that agree with the container's state.

A running container logs its start-up, then one line every ``HEARTBEAT_S`` seconds, so ``follow`` sees new
lines arrive. A crashing container's run ends with its crash output and exit code (``previous=true`` reads
the run in ``lastState``, as the kubelet does). A container still waiting to start (image pull, creating)
has no log at all: the API answers 400 with the kubelet's reason. ``istio-proxy`` reports the version of the
image the injecting revision chose. Every line is a pure function of the pod and the clock, so a follow
is "the lines stamped after the last one sent". The exception: an istio-tui container, which the kubelet
runs as a real process (``tui.sandbox.procs``), has the lines it wrote, stamped as they were read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tui.sandbox.procs import process_log

Obj = dict[str, Any]
HEARTBEAT_S = 5.0
MAX_HEARTBEATS = 2_000  # a pod running for weeks still answers with a bounded log
PROXY = "istio-proxy"


class LogUnavailable(Exception):
    """The apiserver's 400 for a container with nothing to read (yet)."""


@dataclass(frozen=True, slots=True)
class Run:
    """One run of a container: when it started, and when and how it ended (None while it runs)."""

    started: datetime
    finished: datetime | None = None
    exit_code: int | None = None
    reason: str = ""
    ready: bool = False


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def _terminated_run(state: Mapping[str, Any]) -> Run | None:
    term = state.get("terminated")
    if not isinstance(term, Mapping):
        return None
    started = _time(term.get("startedAt")) or _time(term.get("finishedAt"))
    finished = _time(term.get("finishedAt")) or started
    if started is None:
        return None
    return Run(started, finished, int(term.get("exitCode") or 0), str(term.get("reason") or ""))


def _named(entries: list[Any], container: str) -> Mapping[str, Any]:
    return next((e for e in entries if isinstance(e, Mapping) and e.get("name") == container), {})


def _status_of(pod: Obj, container: str) -> Mapping[str, Any]:
    status = pod.get("status") or {}
    statuses = [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]
    return _named(statuses, container)


def run_for(pod: Obj, container: str, *, previous: bool) -> Run:
    """The run whose log the request reads, or LogUnavailable with the apiserver's words."""
    name = (pod.get("metadata") or {}).get("name")
    cs = _status_of(pod, container)
    state = cs.get("state") or {}
    last = _terminated_run(cs.get("lastState") or {})
    if previous:
        if last is None:
            raise LogUnavailable(f'previous terminated container "{container}" in pod "{name}" not found')
        return last
    if isinstance(state.get("running"), Mapping):
        started = _time(state["running"].get("startedAt"))
        return Run(started or datetime.now(UTC), ready=bool(cs.get("ready")))
    if (run := _terminated_run(state)) is not None:
        return run
    waiting = state.get("waiting") or {}
    if last is not None:  # back-off between crashes: the kubelet still serves the run that just ended
        return last
    reason = str(waiting.get("reason") or "ContainerCreating")
    if reason in ("ErrImagePull", "ImagePullBackOff"):
        reason = "trying and failing to pull image"
    raise LogUnavailable(f'container "{container}" in pod "{name}" is waiting to start: {reason}')


def _spec_of(pod: Obj, container: str) -> Mapping[str, Any]:
    spec = pod.get("spec") or {}
    return _named([*(spec.get("containers") or []), *(spec.get("initContainers") or [])], container)


def _version(image: str) -> str:
    tail = image.rsplit("/", 1)[-1]
    tag = tail.split("@", 1)[0].rsplit(":", 1)[1] if ":" in tail else ""
    return tag.split("-", 1)[0] or "unknown"


def _echoed(spec: Mapping[str, Any]) -> list[str]:
    """What ``echo`` in the container's shell command prints before it exits."""
    words = " ".join(str(w) for w in [*(spec.get("command") or []), *(spec.get("args") or [])])
    out = []
    for part in words.replace("&&", ";").split(";"):
        at = part.find("echo ")
        if at >= 0:
            out.append(part[at + 5 :].strip().strip("'\""))
    return out


def _start_lines(pod: Obj, container: str, spec: Mapping[str, Any]) -> list[str]:
    meta = pod.get("metadata") or {}
    pod_ip = (pod.get("status") or {}).get("podIP") or "0.0.0.0"
    image = str(spec.get("image", ""))
    if container == PROXY:
        version = _version(image)
        return [
            'info\tFLAG: --concurrency="2"',
            f"info\tVersion {version}",
            f"info\tProxy role\tips=[{pod_ip}] type=sidecar id={meta.get('name')}.{meta.get('namespace')}",
            "info\txds\tADS: new connection for node",
            "info\tEnvoy proxy is ready",
        ]
    if container == "istio-init":
        return [
            "info\tIstio iptables environment: ENVOY_PORT=15001 INBOUND_CAPTURE_PORT=15006",
            "info\tRunning iptables-restore with the generated rules",
        ]
    port = next((p.get("containerPort") for p in spec.get("ports") or [] if isinstance(p, Mapping)), 8080)
    name = image.rsplit("/", 1)[-1] or container
    return [f"INFO starting {name} in pod {meta.get('name')}", f"INFO listening on {pod_ip}:{port}"]


def _heartbeat(container: str, n: int, seed: str) -> str:
    if container == PROXY:
        return f"info\txds\tADS: PUSH request for node resources:{12 + n % 5}"
    millis = int(hashlib.sha256(f"{seed}/{n}".encode()).hexdigest()[:4], 16) % 40 + 1
    return f"INFO GET /healthz 200 {millis}ms"


def log_lines(pod: Obj, container: str, *, previous: bool, now: datetime) -> list[tuple[datetime, str]]:
    """The stamped lines of the run a request reads, up to ``now``; a container the kubelet runs as a
    process (``tui.sandbox.procs``) has what it really wrote."""
    run = run_for(pod, container, previous=previous)
    output = None if previous else process_log(pod, container)
    if output is not None:
        return list(output.lines)
    spec = _spec_of(pod, container)
    lines = [(run.started, text) for text in _start_lines(pod, container, spec)]
    end = run.finished or now
    if run.ready:
        lines.append((run.started, "INFO ready" if container != PROXY else "info\tReadiness probe succeeded"))
    if run.finished is None:
        seed = str((pod.get("metadata") or {}).get("uid") or "")
        beats = int((end - run.started).total_seconds() // HEARTBEAT_S)
        first = max(1, beats - MAX_HEARTBEATS + 1)
        step = timedelta(seconds=HEARTBEAT_S)
        lines += [(run.started + step * n, _heartbeat(container, n, seed)) for n in range(first, beats + 1)]
        return lines
    if run.exit_code:
        said = _echoed(spec) or [f"FATAL {container}: unrecoverable error"]
        lines += [(end, text) for text in said]
        lines.append((end, f"{container} exited with code {run.exit_code} ({run.reason or 'Error'})"))
    else:
        lines.append((end, "INFO done"))
    return lines


def render(
    lines: list[tuple[datetime, str]],
    *,
    timestamps: bool,
    tail: int | None = None,
    since: datetime | None = None,
) -> str:
    """The response body: ``tailLines``, ``sinceSeconds`` and ``timestamps`` as the apiserver applies them."""
    if since is not None:
        lines = [line for line in lines if line[0] >= since]
    if tail is not None:
        lines = lines[-tail:] if tail else []
    if timestamps:
        return "".join(f"{when.strftime('%Y-%m-%dT%H:%M:%S.%f')}000Z {text}\n" for when, text in lines)
    return "".join(text + "\n" for _, text in lines)
