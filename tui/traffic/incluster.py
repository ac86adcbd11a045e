"""Load from inside the cluster: a Kubernetes Job whose pods run the same engine, their tallies merged live.

``istio-tui traffic URL --in-cluster N`` creates one Job (``parallelism`` = ``completions`` = N, Indexed, so
pod *i* reads its index from ``JOB_COMPLETION_INDEX`` and sends exactly its share of the requests). Each pod
runs ``istio-tui traffic URL --json-lines ...``: a cumulative, lossless tally line (``Tally.to_json``) at
least once a second and a final one. The app follows every pod's log through the API, each on its own
dedicated thread (a follow never ends while the pod runs, so never in a pool), keeps the latest tally of each
pod and merges them, which is exact: the merged count is the sum of what the pods sent. The Job is deleted
(propagation Background, and the pods by label too) when the run ends, fails or is stopped, so no Job or pod
is left behind.

Blocking API (call it from a thread; the CLI runs it on its main thread)::

    plan = InClusterPlan(url=..., pods=3, namespace="default", image=..., requests=3000)
    run = InClusterRun(cluster, plan=plan)
    final, pods = run.run(stop=threading.Event(), on_update=callback)
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from tui.errors import KubeError, TrafficError
from tui.kube import JOBS, PODS, Cluster, LogFollow
from tui.traffic.snapshot import TallySnapshot
from tui.traffic.tally import Tally, merged

RUN_LABEL = "istio-tui/load-run"
CONTAINER = "load"
_POLL_S = 0.25
_CLEANUP_S = 20.0
_FINAL_GRACE_S = 5.0

UpdateCallback = Callable[[TallySnapshot, list["LoadPod"]], None]


@dataclass(frozen=True, slots=True)
class LoadPod:
    """One load pod as the run shows it: its rate is its own requests over its own elapsed time."""

    name: str
    node: str
    requests: int
    rps: float
    state: str

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "node": self.node, "requests": self.requests, "rps": round(self.rps, 1),
                "state": self.state}


@dataclass(frozen=True, slots=True)
class InClusterPlan:
    """What to run where; ``engine_args`` are the per-pod ``traffic`` flags (concurrency, timeout, user)."""

    url: str
    pods: int
    namespace: str
    image: str
    requests: int | None = None
    duration_s: float | None = None
    rate: float = 0.0
    engine_args: tuple[str, ...] = ()

    def job(self, run_id: str) -> dict[str, object]:
        args = ["traffic", self.url, "--json-lines", "--shard-of", str(self.pods), *self.engine_args]
        if self.requests is not None:
            args += ["--requests", str(self.requests)]
        if self.duration_s is not None:
            args += ["--duration", f"{self.duration_s:g}"]
        if self.requests is None and self.duration_s is None:
            args.append("--until-stopped")  # else each pod would send the command's default count
        if self.rate > 0:
            args += ["--rate", f"{self.rate:g}"]
        labels = {"app.kubernetes.io/name": "istio-tui-load", RUN_LABEL: run_id}
        return {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"generateName": "istio-tui-load-", "namespace": self.namespace, "labels": labels},
            "spec": {
                "parallelism": self.pods,
                "completions": self.pods,
                "completionMode": "Indexed",
                "backoffLimit": 0,
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [
                            {"name": CONTAINER, "image": self.image, "command": ["istio-tui"], "args": args}
                        ],
                    },
                },
            },
        }


@dataclass(slots=True)
class _PodView:
    name: str
    node: str = ""
    phase: str = "Pending"
    tally: Tally = field(default_factory=Tally)
    elapsed_s: float = 0.0
    final: bool = False
    follow: LogFollow | None = None
    ended: bool = False  # the log follow ended (the container exited or the pod went away)
    terminal_since: float = 0.0

    def show(self) -> LoadPod:
        n = self.tally.requests
        state = "Done" if self.final and self.phase in ("Running", "Succeeded") else self.phase
        return LoadPod(self.name, self.node, n, n / self.elapsed_s if self.elapsed_s > 0 else 0.0, state)


class InClusterRun:
    def __init__(self, cluster: Cluster, *, plan: InClusterPlan) -> None:
        self.cluster = cluster
        self.plan = plan
        self.run_id = uuid.uuid4().hex[:10]
        self.job_name: str | None = None
        self._pods: dict[str, _PodView] = {}
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def run(
        self, *, stop: threading.Event, on_update: UpdateCallback | None = None, interval_s: float = 0.5
    ) -> tuple[TallySnapshot, list[LoadPod]]:
        """Run to the end (every pod printed its final tally), a failure, or ``stop``; always cleans up."""
        started = time.monotonic()
        try:
            job = self.cluster.create(JOBS, self.plan.job(self.run_id), namespace=self.plan.namespace)
            self.job_name = str(job["metadata"]["name"])
            next_update = 0.0
            while not stop.is_set():
                failed = self._poll()
                if on_update is not None and time.monotonic() >= next_update:
                    on_update(*self.snapshot(started, done=False))
                    next_update = time.monotonic() + interval_s
                if self._finished():
                    break
                if failed:
                    raise TrafficError(f"in-cluster load failed: {failed}", hint="see the load pod's log")
                stop.wait(_POLL_S)
        finally:
            self.cleanup()
            self._mark_stopped()
        return self.snapshot(started, done=True)

    def snapshot(self, started: float, *, done: bool) -> tuple[TallySnapshot, list[LoadPod]]:
        with self._lock:
            views = sorted(self._pods.values(), key=lambda v: v.name)
            total = merged([v.tally for v in views])
            elapsed = max((v.elapsed_s for v in views), default=0.0) or (time.monotonic() - started)
            pods = [v.show() for v in views]
        snap = total.snapshot(url=self.plan.url, elapsed_s=elapsed, planned=self.plan.requests, done=done)
        return snap, pods

    def _mark_stopped(self) -> None:
        """A pod deleted before its final tally was stopped, whatever phase it was last seen in."""
        with self._lock:
            for view in self._pods.values():
                if not view.final and view.phase in ("Pending", "Running"):
                    view.phase = "Stopped"

    def _finished(self) -> bool:
        with self._lock:
            views = list(self._pods.values())
        return len(views) >= self.plan.pods and all(v.final for v in views)

    def _poll(self) -> str | None:
        """Refresh the pods and follow the log of each started one. Returns why the run failed, if it did."""
        selector = f"{RUN_LABEL}={self.run_id}"
        pods = self.cluster.list(PODS, namespace=self.plan.namespace, label_selector=selector)
        for pod in pods.items:
            name = str(pod["metadata"]["name"])
            phase = str((pod.get("status") or {}).get("phase") or "Pending")
            with self._lock:
                view = self._pods.setdefault(name, _PodView(name))
                view.phase = phase
                view.node = str((pod.get("spec") or {}).get("nodeName") or "")
                follow_now = view.follow is None and phase in ("Running", "Succeeded", "Failed")
                if follow_now:
                    view.follow = self.cluster.follow_pod_logs(
                        name, namespace=self.plan.namespace, container=CONTAINER
                    )
            if follow_now:
                thread = threading.Thread(
                    target=self._follow, args=(view,), name=f"load-log-{name}", daemon=True
                )
                self._threads.append(thread)
                thread.start()
            if phase in ("Succeeded", "Failed") and not view.final:
                view.terminal_since = view.terminal_since or time.monotonic()
                if time.monotonic() - view.terminal_since > _FINAL_GRACE_S:
                    return f"load pod {name} ended ({phase}) without printing its final tally"
        return None

    def _follow(self, view: _PodView) -> None:
        assert view.follow is not None
        try:
            for line in view.follow:
                self._take(view, line)
        except KubeError:
            pass  # the pod went away; its last tally stays
        finally:
            view.ended = True

    def _take(self, view: _PodView, line: str) -> None:
        if not line.startswith("{"):
            return
        try:
            data = json.loads(line)
            tally = Tally.from_json(data["tally"])
            elapsed = float(data["elapsed_s"])
        except (ValueError, KeyError, TypeError):
            return  # not one of our lines (a warning, a traceback): it stays in the pod's log
        with self._lock:
            view.tally, view.elapsed_s = tally, elapsed
            view.final = view.final or data.get("type") == "final"

    def cleanup(self) -> None:
        """Delete the Job and its pods and wait until they are gone; stop the log follows."""
        ns, selector = self.plan.namespace, f"{RUN_LABEL}={self.run_id}"
        if self.job_name is not None:
            with contextlib.suppress(KubeError):
                self.cluster.delete(JOBS, self.job_name, namespace=ns)
        deadline = time.monotonic() + _CLEANUP_S
        while time.monotonic() < deadline:
            try:
                left = self.cluster.list(PODS, namespace=ns, label_selector=selector).items
            except KubeError:
                break
            if not left:
                break
            for pod in left:
                with contextlib.suppress(KubeError):
                    self.cluster.delete(PODS, str(pod["metadata"]["name"]), namespace=ns)
            time.sleep(_POLL_S)
        with self._lock:
            follows = [v.follow for v in self._pods.values() if v.follow is not None]
        for follow in follows:
            follow.stop()
        for thread in self._threads:
            thread.join(timeout=2)

