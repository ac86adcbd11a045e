"""The simulated kubelet: it schedules pods, starts their containers, and finishes Job pods.

Timers (``loop.call_later``) move each pod Pending → ContainerCreating → Running, so the pod table sees the
phases a real node goes through; images that cannot exist and commands that exit fail the way a node would.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tui.errors import Conflict, KubeError
from tui.sandbox.controllers.common import TERMINAL, meta
from tui.sandbox.controllers.podstatus import (
    crash_exit_code,
    full_image,
    image_missing,
    set_pod_conditions,
)
from tui.sandbox.controllers.scheduler import Scheduler
from tui.sandbox.store import Obj, now_rfc3339

if TYPE_CHECKING:
    from tui.sandbox.controllers.manager import Controllers

log = logging.getLogger(__name__)


class Kubelet:
    """Every pod's node agent; ``on_event`` hears pod events on the sandbox loop."""

    def __init__(self, ctl: Controllers) -> None:
        self.ctl = ctl
        self.store = ctl.store
        self.loop = ctl.loop
        self.rand = ctl.rand
        self.pod_start_seconds = ctl.pod_start_seconds
        self.scheduler = Scheduler(ctl.store)
        self._timers: dict[tuple[str, str], Any] = {}
        self._pod_ips: set[str] = set()
        self._stopped = False

    def start(self) -> None:
        pods, _ = self.store.list("pods")
        for pod in pods:
            ip = (pod.get("status") or {}).get("podIP")
            if ip:
                self._pod_ips.add(ip)
            self.scheduler.track(pod)
            self.track(pod)

    def stop(self) -> None:
        self._stopped = True
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()

    def on_event(self, event_type: str, obj: Obj) -> None:
        m = meta(obj)
        ident = (str(m.get("namespace") or ""), str(m["name"]))
        if event_type == "DELETED":
            handle = self._timers.pop(ident, None)
            if handle is not None:
                handle.cancel()
            ip = (obj.get("status") or {}).get("podIP")
            if ip:
                self._pod_ips.discard(ip)
            self.scheduler.forget(obj)
        elif event_type == "ADDED":
            self.track(obj)

    def _emit(self, obj: Obj, reason: str, message: str, **kwargs: Any) -> None:
        host = str((obj.get("spec") or {}).get("nodeName") or "")
        self.ctl.events.emit(obj, reason, message, host=host, **kwargs)

    def track(self, pod: Obj) -> None:
        """Move a pod along its life: schedule, start containers, and finish Job pods."""
        m = meta(pod)
        ident = (str(m.get("namespace") or ""), str(m["name"]))
        phase = (pod.get("status") or {}).get("phase")
        if phase in TERMINAL:
            return
        uid = str(m.get("uid"))
        if phase == "Running":
            spec_containers = (pod.get("spec") or {}).get("containers") or []
            if any(crash_exit_code(c) is not None for c in spec_containers if isinstance(c, dict)):
                self._later(ident, self.pod_start_seconds, self._pod_restart, uid)
            elif self._is_job_pod(pod):
                self._later(ident, self.pod_start_seconds, self._pod_complete, uid)
            return
        if (pod.get("status") or {}).get("containerStatuses"):
            self._later(ident, self.pod_start_seconds * 0.7, self._pod_run, uid)
        else:
            self._later(ident, self.pod_start_seconds * 0.3, self._pod_schedule, uid)

    def _later(self, ident: tuple[str, str], delay: float, fn: Any, uid: str) -> None:
        old = self._timers.pop(ident, None)
        if old is not None:
            old.cancel()
        self._timers[ident] = self.loop.call_later(delay, self._fire, ident, fn, uid)

    def _fire(self, ident: tuple[str, str], fn: Any, uid: str) -> None:
        self._timers.pop(ident, None)
        if self._stopped:
            return
        pod = self.store.try_get("pods", ident[1], namespace=ident[0], copy=False)
        if pod is None or meta(pod).get("uid") != uid:
            return
        try:
            fn(pod)
        except KubeError as err:
            log.debug("kubelet %s/%s: %s", *ident, err)

    @staticmethod
    def _is_job_pod(pod: Obj) -> bool:
        return any(
            r.get("kind") == "Job" and r.get("controller") for r in meta(pod).get("ownerReferences") or []
        )

    def _new_pod_ip(self) -> str:
        for _ in range(1000):
            ip = f"10.244.{self.rand.randrange(0, 256)}.{self.rand.randrange(2, 255)}"
            if ip not in self._pod_ips:
                self._pod_ips.add(ip)
                return ip
        raise RuntimeError("the sandbox ran out of pod IPs")

    def _update_pod(self, pod: Obj, mutate: Callable[[Obj], None]) -> Obj:
        """Write a kubelet change to ``pod``: ``mutate`` may edit ``status`` and top-level ``spec`` fields.

        Why not ``store.update``: that deep-copies the whole pod twice, and pod writes are most of the
        sandbox's controller work. Here only the status is copied before ``replace`` copies once, with the
        stored resourceVersion as the guard; on a conflict it retries from the fresh object.
        """
        m = meta(pod)
        ns, name = str(m.get("namespace") or ""), str(m["name"])
        for _ in range(3):
            draft = {
                **pod,
                "spec": dict(pod.get("spec") or {}),
                "status": json.loads(json.dumps(pod.get("status") or {})),
            }
            mutate(draft)
            try:
                return self.store.replace("pods", draft, check_rv=True)
            except Conflict:
                pod = self.store.get("pods", name, namespace=ns, copy=False)
                if meta(pod).get("uid") != m.get("uid"):
                    raise
        return self.store.update("pods", name, namespace=ns, mutate=mutate)

    def _container_id(self) -> str:
        return f"containerd://{self.rand.getrandbits(256):064x}"

    def _pod_schedule(self, pod: Obj) -> None:
        m = meta(pod)
        ns, name = str(m.get("namespace") or ""), str(m["name"])
        spec = pod.get("spec") or {}
        now = now_rfc3339()
        init = [c for c in spec.get("initContainers") or [] if isinstance(c, dict)]
        node, host_ip = self.scheduler.place(pod)

        def waiting(c: Obj, reason: str) -> Obj:
            return {
                "name": c.get("name"),
                "image": c.get("image", ""),
                "imageID": "",
                "ready": False,
                "restartCount": 0,
                "started": False,
                "state": {"waiting": {"reason": reason}},
                "lastState": {},
            }

        def mutate(o: Obj) -> None:
            o["spec"]["nodeName"] = node
            st = o.setdefault("status", {})
            st.update(phase="Pending", hostIP=host_ip, hostIPs=[{"ip": host_ip}], startTime=now)
            st["conditions"] = [
                {
                    "type": "PodReadyToStartContainers",
                    "status": "False",
                    "lastProbeTime": None,
                    "lastTransitionTime": now,
                },
                {
                    "type": "Initialized",
                    "status": "False" if init else "True",
                    "lastProbeTime": None,
                    "lastTransitionTime": now,
                    **({"reason": "ContainersNotInitialized"} if init else {}),
                },
                {
                    "type": "Ready",
                    "status": "False",
                    "lastProbeTime": None,
                    "lastTransitionTime": now,
                    "reason": "ContainersNotReady",
                },
                {
                    "type": "ContainersReady",
                    "status": "False",
                    "lastProbeTime": None,
                    "lastTransitionTime": now,
                    "reason": "ContainersNotReady",
                },
                {"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": now},
            ]
            if init:
                st["initContainerStatuses"] = [waiting(c, "PodInitializing") for c in init]
            st["containerStatuses"] = [
                waiting(c, "PodInitializing" if init else "ContainerCreating")
                for c in spec.get("containers") or []
                if isinstance(c, dict)
            ]

        pod = self._update_pod(pod, mutate)
        self._emit(
            pod,
            "Scheduled",
            f"Successfully assigned {ns}/{name} to {node}",
            component="default-scheduler",
        )
        self._later((ns, name), self.pod_start_seconds * 0.7, self._pod_run, str(m.get("uid")))

    def _pod_run(self, pod: Obj) -> None:
        m = meta(pod)
        ns, name = str(m.get("namespace") or ""), str(m["name"])
        spec = pod.get("spec") or {}
        now = now_rfc3339()
        host_ip = self.scheduler.host_ip(str(spec.get("nodeName") or ""))
        ip = (
            host_ip
            if spec.get("hostNetwork")
            else (pod.get("status") or {}).get("podIP") or self._new_pod_ip()
        )
        init = [c for c in spec.get("initContainers") or [] if isinstance(c, dict)]
        containers = [c for c in spec.get("containers") or [] if isinstance(c, dict)]
        unpullable = {
            str(c.get("name")) for c in [*init, *containers] if image_missing(str(c.get("image", "")))
        }
        crashing = {str(c.get("name")) for c in containers if crash_exit_code(c) is not None}

        def base(c: Obj) -> Obj:
            image = full_image(str(c.get("image", "")))
            return {
                "name": c.get("name"),
                "image": image,
                "imageID": f"{image.rsplit(':', 1)[0]}@sha256:"
                f"{hashlib.sha256(str(c.get('image', '')).encode()).hexdigest()}",
                "containerID": self._container_id(),
                "restartCount": 0,
                "lastState": {},
            }

        def status_of(c: Obj, *, init_container: bool) -> Obj:
            cname = str(c.get("name"))
            if cname in unpullable:
                image = str(c.get("image", ""))
                return {
                    "name": cname,
                    "image": image,
                    "imageID": "",
                    "ready": False,
                    "restartCount": 0,
                    "started": False,
                    "lastState": {},
                    "state": {
                        "waiting": {
                            "reason": "ErrImagePull",
                            "message": f'failed to pull image "{image}": not found',
                        }
                    },
                }
            if init_container and c.get("restartPolicy") != "Always":
                cs = base(c)
                return {
                    **cs,
                    "ready": False,
                    "started": False,
                    "state": {
                        "terminated": {
                            "exitCode": 0,
                            "reason": "Completed",
                            "startedAt": now,
                            "finishedAt": now,
                            "containerID": cs["containerID"],
                        }
                    },
                }
            ready = cname not in crashing
            return {**base(c), "ready": ready, "started": True, "state": {"running": {"startedAt": now}}}

        def mutate(o: Obj) -> None:
            st = o.setdefault("status", {})
            blocked_init = any(str(c.get("name")) in unpullable for c in init)
            st.update(hostIP=host_ip, hostIPs=[{"ip": host_ip}])
            st.setdefault("startTime", now)
            if init:
                st["initContainerStatuses"] = [status_of(c, init_container=True) for c in init]
            if blocked_init:
                return
            st.update(podIP=ip, podIPs=[{"ip": ip}])
            st["containerStatuses"] = [status_of(c, init_container=False) for c in containers]
            st["phase"] = "Pending" if unpullable else "Running"
            set_pod_conditions(st, now)

        pod = self._update_pod(pod, mutate)
        for c in [*init, *containers]:
            cname = str(c.get("name"))
            path = f"spec.{'initContainers' if c in init else 'containers'}{{{cname}}}"
            image = str(c.get("image", ""))
            if cname in unpullable:
                self._emit(pod, "Pulling", f'Pulling image "{image}"', component="kubelet", field_path=path)
                self._emit(
                    pod,
                    "Failed",
                    f'Failed to pull image "{image}": not found',
                    component="kubelet",
                    field_path=path,
                    type_="Warning",
                )
                continue
            self._emit(
                pod,
                "Pulled",
                f'Container image "{image}" already present on machine',
                component="kubelet",
                field_path=path,
            )
            self._emit(pod, "Created", f"Created container {cname}", component="kubelet", field_path=path)
            self._emit(pod, "Started", f"Started container {cname}", component="kubelet", field_path=path)
        uid = str(m.get("uid"))
        if unpullable:
            self._later((ns, name), self.pod_start_seconds, self._pod_pull_backoff, uid)
        elif crashing:
            self._later((ns, name), self.pod_start_seconds, self._pod_crash, uid)
        elif self._is_job_pod(pod):
            self._later((ns, name), self.pod_start_seconds, self._pod_complete, uid)

    def _pod_pull_backoff(self, pod: Obj) -> None:

        def mutate(o: Obj) -> None:
            st = o.get("status") or {}
            for cs in [*(st.get("initContainerStatuses") or []), *(st.get("containerStatuses") or [])]:
                waiting = (cs.get("state") or {}).get("waiting") or {}
                if waiting.get("reason") == "ErrImagePull":
                    cs["state"] = {
                        "waiting": {
                            "reason": "ImagePullBackOff",
                            "message": f'Back-off pulling image "{cs.get("image", "")}"',
                        }
                    }

        pod = self._update_pod(pod, mutate)
        self._emit(pod, "BackOff", "Back-off pulling image", component="kubelet", type_="Normal")

    def _pod_crash(self, pod: Obj) -> None:
        """A crashing container exits: count the restart and back off, as the kubelet's CrashLoopBackOff."""
        m = meta(pod)
        ns, name = str(m.get("namespace") or ""), str(m["name"])
        codes = {
            str(c.get("name")): crash_exit_code(c) for c in (pod.get("spec") or {}).get("containers") or []
        }
        now = now_rfc3339()
        if (pod.get("spec") or {}).get("restartPolicy") == "Never":
            self._pod_fail(pod, codes, now)
            return
        restarts = 0

        def mutate(o: Obj) -> None:
            nonlocal restarts
            st = o.setdefault("status", {})
            for cs in st.get("containerStatuses") or []:
                code = codes.get(str(cs.get("name")))
                if code is None:
                    continue
                started = ((cs.get("state") or {}).get("running") or {}).get("startedAt", now)
                cs["lastState"] = {
                    "terminated": {
                        "exitCode": code,
                        "reason": "Error",
                        "startedAt": started,
                        "finishedAt": now,
                        "containerID": cs.get("containerID", ""),
                    }
                }
                cs["restartCount"] = restarts = int(cs.get("restartCount") or 0) + 1
                backoff = min(10 * 2 ** (restarts - 1), 300)
                cs["state"] = {
                    "waiting": {
                        "reason": "CrashLoopBackOff",
                        "message": (
                            f"back-off {backoff}s restarting failed container={cs.get('name')} "
                            f"pod={name}_{ns}({m.get('uid')})"
                        ),
                    }
                }
                cs.update(ready=False, started=False)
            set_pod_conditions(st, now)

        pod = self._update_pod(pod, mutate)
        for cname, code in codes.items():
            if code is not None:
                self._emit(
                    pod,
                    "BackOff",
                    f"Back-off restarting failed container {cname} in pod {name}_{ns}({m.get('uid')})",
                    component="kubelet",
                    type_="Warning",
                    field_path=f"spec.containers{{{cname}}}",
                )
        delay = min(self.pod_start_seconds * 2 ** min(restarts, 10), max(30.0, self.pod_start_seconds))
        self._later((ns, name), delay, self._pod_restart, str(m.get("uid")))

    def _pod_fail(self, pod: Obj, codes: dict[str, int | None], now: str) -> None:
        """A ``restartPolicy: Never`` pod whose container exits non-zero ends Failed."""
        m = meta(pod)

        def mutate(o: Obj) -> None:
            st = o.setdefault("status", {})
            st["phase"] = "Failed"
            for cs in st.get("containerStatuses") or []:
                started = ((cs.get("state") or {}).get("running") or {}).get("startedAt", now)
                code = codes.get(str(cs.get("name")))
                terminated = {
                    "exitCode": code or 0,
                    "reason": "Error" if code else "Completed",
                    "startedAt": started,
                    "finishedAt": now,
                    "containerID": cs.get("containerID", ""),
                }
                cs.update(ready=False, started=False, state={"terminated": terminated})
            set_pod_conditions(st, now)

        self.store.update("pods", str(m["name"]), namespace=str(m.get("namespace") or ""), mutate=mutate)

    def _pod_restart(self, pod: Obj) -> None:
        m = meta(pod)
        ns, name = str(m.get("namespace") or ""), str(m["name"])
        now = now_rfc3339()

        def mutate(o: Obj) -> None:
            st = o.setdefault("status", {})
            for cs in st.get("containerStatuses") or []:
                if ((cs.get("state") or {}).get("waiting") or {}).get("reason") == "CrashLoopBackOff":
                    cs.update(
                        state={"running": {"startedAt": now}},
                        started=True,
                        ready=False,
                        containerID=self._container_id(),
                    )
            set_pod_conditions(st, now)

        self._update_pod(pod, mutate)
        self._later((ns, name), self.pod_start_seconds, self._pod_crash, str(m.get("uid")))

    def _pod_complete(self, pod: Obj) -> None:
        now = now_rfc3339()

        def mutate(o: Obj) -> None:
            st = o.setdefault("status", {})
            st["phase"] = "Succeeded"
            for cond in st.get("conditions") or []:
                if cond.get("type") in ("Ready", "ContainersReady", "PodReadyToStartContainers"):
                    cond.update(status="False", lastTransitionTime=now)
                    if cond["type"] != "PodReadyToStartContainers":
                        cond["reason"] = "PodCompleted"
            for cs in st.get("containerStatuses") or []:
                started = ((cs.get("state") or {}).get("running") or {}).get("startedAt", now)
                cs.update(
                    ready=False,
                    started=False,
                    state={
                        "terminated": {
                            "exitCode": 0,
                            "reason": "Completed",
                            "startedAt": started,
                            "finishedAt": now,
                            "containerID": cs.get("containerID", ""),
                        }
                    },
                )

        self._update_pod(pod, mutate)
