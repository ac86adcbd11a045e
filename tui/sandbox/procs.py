"""Containers that really run: an istio-tui image is started by the sandbox's kubelet as a local process.

The sandbox has no container runtime, but a container whose image is istio-tui's own needs none: it is this
package. So an in-cluster load Job (``istio-tui traffic URL --in-cluster N``) runs for real in the sandbox:
the kubelet starts ``sys.executable -m tui`` with the container's args (a leading ``istio-tui`` command word
is the entry point and is dropped), its stdout and stderr become the container's log (``tui.sandbox.logs``
serves them, stamped with the time each line was read, follow included), and its exit code ends the
container (pod Succeeded or Failed, which completes or fails the Job).

What the process sees, as a pod would:
* the container's literal ``env`` values, and ``JOB_COMPLETION_INDEX`` from the pod's completion-index
  annotation (the real Job controller injects the same variable);
* ``ISTIO_TUI_RESOLVE``: Service names of productpage (``productpage.bookinfo:9080``, with the ``.svc`` and
  ``.svc.cluster.local`` forms) mapped to the data plane's gateway listener on loopback, since the sandbox
  data plane serves Bookinfo pages there with the mesh's routing; the traffic CLI reads it like curl's
  ``--resolve``.

Processes are bounded: at most ``MAX_PROCESSES`` at a time (a pod beyond that waits for a slot, its log
empty until then); each process group is killed when its pod is deleted, and all at sandbox shutdown; a log
keeps its last ``MAX_LOG_LINES`` lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final

from tui.sandbox.store import Obj, Store

log = logging.getLogger(__name__)

MAX_PROCESSES: Final = 16
MAX_LOG_LINES: Final = 20_000
COMPLETION_INDEX: Final = "batch.kubernetes.io/job-completion-index"
_IMAGE: Final = re.compile(r"(?:^|/)istio-tui(?::[\w.-]+)?(?:@sha256:[0-9a-f]+)?$")
_GATEWAY_LABELS: Final = {"istio": "ingressgateway"}
_GATEWAY_PORT: Final = "http2"

ExitCallback = Callable[[Obj, str, int], None]


def runs_as_process(pod: Obj) -> bool:
    """True when ``pod`` has an istio-tui container, which the kubelet runs as a process (an injected
    sidecar beside it stays simulated, and the pod ends when the process exits)."""
    return _process_container(pod) is not None


def _process_container(pod: Obj) -> Obj | None:
    containers = (pod.get("spec") or {}).get("containers") or []
    return next((c for c in containers if _IMAGE.search(str(c.get("image", "")))), None)


_TICK: Final = timedelta(microseconds=1)


@dataclass(slots=True)
class ProcessLog:
    """What one container process wrote, line by line with the time it was read; ``done`` once it exited.

    Stamps strictly increase, so a follow that sends "the lines it has not sent yet" never mistakes two
    equal lines for one."""

    lines: list[tuple[datetime, str]] = field(default_factory=list)
    done: bool = False
    _next: asyncio.Event = field(default_factory=asyncio.Event)

    def add(self, line: str) -> None:
        stamp = datetime.now(UTC)
        if self.lines and stamp <= self.lines[-1][0]:
            stamp = self.lines[-1][0] + _TICK
        self.lines.append((stamp, line))
        if len(self.lines) > MAX_LOG_LINES:
            del self.lines[: len(self.lines) - MAX_LOG_LINES]
        self.wake()

    def woken(self) -> asyncio.Event:
        """Set at the next line or at exit; a fresh event per change, so every follower sees each one."""
        return self._next

    def wake(self) -> None:
        self._next.set()
        self._next = asyncio.Event()


# Logs by (pod uid, container): the pods/log endpoint reads them. Kept until the pod is deleted.
_LOGS: dict[tuple[str, str], ProcessLog] = {}


def _log_key(pod: Obj) -> tuple[str, str]:
    container = _process_container(pod) or {}
    return str((pod.get("metadata") or {}).get("uid")), str(container.get("name"))


def process_log(pod: Obj, container: str) -> ProcessLog | None:
    """The real output of a container the kubelet runs as a process, or None for a simulated one."""
    return _LOGS.get((str((pod.get("metadata") or {}).get("uid")), container))


class ProcessPods:
    """Starts, follows and kills the processes of istio-tui containers; one per sandbox, on its loop."""

    def __init__(self, store: Store, loop: asyncio.AbstractEventLoop, *, on_exit: ExitCallback) -> None:
        self._store = store
        self._loop = loop
        self._on_exit = on_exit
        self._procs: dict[str, asyncio.SubprocessTransport] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(MAX_PROCESSES)
        self._stopped = False

    def start(self, pod: Obj) -> None:
        """Run the pod's istio-tui container; its log exists from now on (empty while it waits for a slot)."""
        _LOGS.setdefault(_log_key(pod), ProcessLog())
        task = self._loop.create_task(self._run(pod))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def kill(self, uid: str) -> None:
        """The pod is gone: end its processes and forget their logs."""
        for key in [k for k in self._procs if k.startswith(f"{uid}/")]:
            _kill_group(self._procs.pop(key))
        for log_key in [k for k in _LOGS if k[0] == uid]:
            _LOGS.pop(log_key)

    def stop(self) -> None:
        """Sandbox shutdown: kill every container process group now; their tasks end with the loop."""
        self._stopped = True
        for proc in self._procs.values():
            _kill_group(proc)
        self._procs.clear()
        for task in list(self._tasks):
            task.cancel()

    async def _run(self, pod: Obj) -> None:
        meta = pod.get("metadata") or {}
        uid, name = _log_key(pod)
        container = _process_container(pod) or {}
        output = _LOGS.get((uid, name))
        if output is None:  # deleted before it started
            return
        async with self._slots:
            live = self._store.try_get("pods", str(meta.get("name")), namespace=meta.get("namespace", ""))
            if self._stopped or live is None:
                return
            reader = _Reader(output, self._loop.create_future())
            transport, _ = await self._loop.subprocess_exec(
                lambda: reader,
                sys.executable, "-m", "tui", *container_args(container),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=self._env(pod, container),
                start_new_session=True,
            )
            key = f"{uid}/{name}"
            self._procs[key] = transport
            try:
                await reader.closed
                code = transport.get_returncode()
            finally:
                output.done = True
                output.wake()
                if self._procs.get(key) is transport:
                    del self._procs[key]
                if transport.get_returncode() is None:
                    _kill_group(transport)
                transport.close()
        if not self._stopped and code is not None and (uid, name) in _LOGS:
            self._on_exit(pod, name, code)

    def _env(self, pod: Obj, container: Obj) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "PYTHONPATH", "TMPDIR")}
        for item in container.get("env") or []:
            if isinstance(item, dict) and "value" in item:
                env[str(item["name"])] = str(item["value"])
        index = ((pod.get("metadata") or {}).get("annotations") or {}).get(COMPLETION_INDEX)
        if index is not None:
            env["JOB_COMPLETION_INDEX"] = str(index)
        resolve = self._resolve()
        if resolve:
            env["ISTIO_TUI_RESOLVE"] = ",".join(f"{k}={v}" for k, v in sorted(resolve.items()))
        return env

    def _resolve(self) -> dict[str, str]:
        """productpage Service names → the gateway listener on loopback (see the module docstring)."""
        services, _ = self._store.list("services")
        gateway = next(
            (
                f"127.0.0.1:{p['nodePort']}"
                for s in services
                if _selects(s, _GATEWAY_LABELS)
                for p in (s.get("spec") or {}).get("ports") or []
                if p.get("name") == _GATEWAY_PORT and p.get("nodePort")
            ),
            None,
        )
        if gateway is None:
            return {}
        out = {}
        for svc in services:
            meta = svc.get("metadata") or {}
            if meta.get("name") != "productpage":
                continue
            for port in (svc.get("spec") or {}).get("ports") or []:
                ns = meta.get("namespace")
                for suffix in ("", ".svc", ".svc.cluster.local"):
                    out[f"productpage.{ns}{suffix}:{port.get('port')}"] = gateway
        return out


class _Reader(asyncio.SubprocessProtocol):
    """The container's output, line by line, into its log; ``closed`` resolves when it exited and its pipe
    is drained."""

    def __init__(self, output: ProcessLog, closed: asyncio.Future[None]) -> None:
        self.output = output
        self.closed = closed
        self._partial = b""

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        *lines, self._partial = (self._partial + data).split(b"\n")
        for line in lines:
            self.output.add(line.decode("utf-8", "replace"))

    def connection_lost(self, exc: Exception | None) -> None:
        if self._partial:
            self.output.add(self._partial.decode("utf-8", "replace"))
        if not self.closed.done():
            self.closed.set_result(None)


def _kill_group(transport: asyncio.SubprocessTransport) -> None:
    """The container is its own session (a process group), so its worker processes go with it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(transport.get_pid(), signal.SIGKILL)


def _selects(service: Obj, labels: dict[str, str]) -> bool:
    selector = (service.get("spec") or {}).get("selector") or {}
    return all(selector.get(k) == v for k, v in labels.items())


def container_args(container: Obj) -> list[str]:
    """The container's command and args as ``python -m tui`` arguments (istio-tui is the entry point)."""
    words = [str(w) for w in [*(container.get("command") or []), *(container.get("args") or [])]]
    if words and os.path.basename(words[0]) == "istio-tui":
        words = words[1:]
    return words


__all__ = ["ProcessLog", "ProcessPods", "container_args", "process_log", "runs_as_process"]
