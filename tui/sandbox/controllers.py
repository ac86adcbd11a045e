"""The sandbox's fake control plane: deployment, replicaset, job and endpoints controllers, a kubelet, and GC.

Why fake controllers at all: clients judge a cluster by what its objects do after a write. ``helm --wait``
needs ReplicaSets that own ready pods, ``kubectl rollout restart`` needs new pods to replace old ones, and the
pod table needs pods that go Pending → ContainerCreating → Running. The logic follows the real controllers'
observable results (names, labels, owner references, status fields), not their internals.

Threading: store listeners run in whichever thread wrote. Garbage collection (namespace contents, owned
objects) runs right there, synchronously, so a DELETE answers only once its dependents are gone. Everything
else is handed to the sandbox's event loop, where reconciles are coalesced per object and timers
(``loop.call_later``) drive the simulated kubelet.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import json
import logging
import random
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tui.errors import Conflict, KubeError
from tui.labels import match_label_selector_object
from tui.sandbox.injection import make_injection_hook
from tui.sandbox.procs import COMPLETION_INDEX, ProcessPods, runs_as_process
from tui.sandbox.store import Obj, Store, now_rfc3339

log = logging.getLogger(__name__)

DEPLOYMENTS = "deployments.apps"
REPLICASETS = "replicasets.apps"
JOBS = "jobs.batch"
NODE_NAME = "sandbox"
HOST_IP = "127.0.0.1"
HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
_SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_TERMINAL = ("Succeeded", "Failed")
EVENT_QPS, EVENT_BURST = 50, 100


def template_hash(template: Any, collisions: int = 0) -> str:
    """The ``pod-template-hash``: FNV-1a of the template, encoded like Kubernetes' SafeEncodeString."""
    data = json.dumps(_canonical(template), sort_keys=True, separators=(",", ":")).encode()
    if collisions:
        data += str(collisions).encode()
    h = 0x811C9DC5
    for b in data:
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return "".join(_SAFE_ALPHABET[ord(c) % len(_SAFE_ALPHABET)] for c in str(h))


def _meta(obj: Obj) -> Obj:
    meta: Obj = obj.get("metadata") or {}
    return meta


def _controller_uid(obj: Obj) -> str | None:
    for ref in _meta(obj).get("ownerReferences") or []:
        if isinstance(ref, dict) and ref.get("controller"):
            return str(ref.get("uid"))
    return None


def _owner_ref(owner: Obj, *, api_version: str, kind: str) -> Obj:
    return {
        "apiVersion": api_version,
        "kind": kind,
        "name": _meta(owner)["name"],
        "uid": _meta(owner)["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _strip_hash(template: Any) -> Any:
    t = copy.deepcopy(template) if isinstance(template, dict) else {}
    labels = (t.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(HASH_LABEL, None)
    return t


def _canonical(value: Any) -> Any:
    """A template as typed Go structs see it: null, {} and [] are the same as absent."""
    if isinstance(value, dict):
        out = {k: _canonical(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not None and v != {} and v != []}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def _templates_equal(rs_template: Any, dep_template: Any) -> bool:
    return bool(_canonical(_strip_hash(rs_template)) == _canonical(dep_template))


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _resolve_int_or_percent(value: Any, total: int, *, round_up: bool) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.endswith("%") and value[:-1].isdigit():
        scaled = int(value[:-1]) * total
        return -(-scaled // 100) if round_up else scaled // 100
    return 0


def pod_ready(pod: Obj) -> bool:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond.get("status") == "True"
    return False


def _full_image(image: str) -> str:
    """The reference a container runtime reports: ``nginx`` → ``docker.io/library/nginx:latest``."""
    first, sep, _ = image.partition("/")
    if not sep:
        name = f"docker.io/library/{image}"
    elif "." not in first and ":" not in first and first != "localhost":
        name = f"docker.io/{image}"
    else:
        name = image
    last = name.rsplit("/", 1)[-1]
    if ":" not in last and "@" not in last:
        name += ":latest"
    return name


def _set_condition(conditions: list[Obj], new: Obj, now: str) -> None:
    """Insert or update a condition, keeping its transition time while its status stays the same."""
    for i, cond in enumerate(conditions):
        if cond.get("type") == new["type"]:
            same = cond.get("status") == new["status"]
            merged = {**new}
            for stamp in ("lastTransitionTime", "lastProbeTime"):
                if new.get(stamp):
                    merged[stamp] = cond.get(stamp, now) if same else now
            if "lastUpdateTime" in new:
                unchanged = same and cond.get("reason") == new.get("reason")
                merged["lastUpdateTime"] = cond.get("lastUpdateTime", now) if unchanged else now
            conditions[i] = merged
            return
    conditions.append({**new})


class Controllers:
    """All simulated controllers of one sandbox; create it on the sandbox loop (:func:`start_controllers`)."""

    def __init__(
        self,
        store: Store,
        loop: asyncio.AbstractEventLoop,
        *,
        seed: int,
        pod_start_seconds: float,
        kubelet_version: str,
    ) -> None:
        self.store = store
        self.loop = loop
        self.pod_start_seconds = max(0.0, pod_start_seconds)
        self.kubelet_version = kubelet_version
        self._rand = random.Random(seed)
        self._gc_lock = threading.RLock()
        self._dependents: dict[str, set[tuple[str, str, str]]] = {}
        self._owners_of: dict[tuple[str, str, str], set[str]] = {}
        self._dirty: dict[str, set[tuple[str, str]]] = {DEPLOYMENTS: set(), REPLICASETS: set(), JOBS: set()}
        self._dirty_endpoints: set[str] = set()
        self._flush_pending = False
        self._timers: dict[tuple[str, str], asyncio.TimerHandle] = {}
        self._pod_ips: set[str] = set()
        self._stopped = False
        self._loop_thread = threading.get_ident()
        self._event_tokens = float(EVENT_BURST)
        self._event_refilled = loop.time()
        self._procs = ProcessPods(store, loop, on_exit=self._process_exited)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> Controllers:
        for key in list(self.store.keys()):  # noqa: SIM118 (Store is not a mapping)
            items, _ = self.store.list(key)
            for obj in items:
                self._index(key, obj)
        self.store.add_admission(make_injection_hook(self.store, kubelet_version=self.kubelet_version))
        self.store.add_admission(self._defaults)
        self.store.add_listener(self._on_event)
        pods, _ = self.store.list("pods")
        for pod in pods:
            ip = (pod.get("status") or {}).get("podIP")
            if ip:
                self._pod_ips.add(ip)
            self._kubelet_track(pod)
        for key in self._dirty:
            items, _ = self.store.list(key)
            self._dirty[key].update((_meta(o).get("namespace", ""), _meta(o)["name"]) for o in items)
        namespaces, _ = self.store.list("namespaces")
        self._dirty_endpoints.update(_meta(n)["name"] for n in namespaces)
        self._schedule_flush()
        return self

    def stop(self) -> None:
        """Detach from the store, cancel timers and kill container processes (call on the sandbox loop)."""
        self._stopped = True
        self.store.remove_listener(self._on_event)
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        self._procs.stop()

    # ------------------------------------------------------------------ admission defaults
    def _defaults(self, operation: str, key: str, obj: Obj, old: Obj | None) -> None:
        if operation != "CREATE":
            return
        if key == "pods":
            self._pod_defaults(obj)
        elif key == JOBS:
            self._job_defaults(obj)

    @staticmethod
    def _pod_defaults(pod: Obj) -> None:
        spec = pod.setdefault("spec", {})
        spec.setdefault("restartPolicy", "Always")
        spec.setdefault("terminationGracePeriodSeconds", 30)
        spec.setdefault("dnsPolicy", "ClusterFirst")
        spec.setdefault("schedulerName", "default-scheduler")
        spec.setdefault("serviceAccountName", "default")
        spec.setdefault("serviceAccount", spec["serviceAccountName"])
        spec.setdefault("securityContext", {})
        spec.setdefault("enableServiceLinks", True)
        spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
        spec.setdefault("priority", 0)
        for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
            if not isinstance(c, dict):
                continue
            image = str(c.get("image", ""))
            latest = ":" not in image.rsplit("/", 1)[-1] or image.endswith(":latest")
            c.setdefault("imagePullPolicy", "Always" if latest else "IfNotPresent")
            c.setdefault("terminationMessagePath", "/dev/termination-log")
            c.setdefault("terminationMessagePolicy", "File")
            c.setdefault("resources", {})
            for p in c.get("ports") or []:
                if isinstance(p, dict):
                    p.setdefault("protocol", "TCP")
        containers = [c for c in spec.get("containers") or [] if isinstance(c, dict)]
        has_requests = any((c.get("resources") or {}).get("requests") for c in containers)
        has_limits = any((c.get("resources") or {}).get("limits") for c in containers)
        qos = "Burstable" if has_requests or has_limits else "BestEffort"
        pod["status"] = {"phase": "Pending", "qosClass": qos}

    @staticmethod
    def _job_defaults(job: Obj) -> None:
        meta = _meta(job)
        uid, name = str(meta.get("uid", "")), str(meta.get("name", ""))
        spec = job.setdefault("spec", {})
        spec.setdefault("completions", 1)
        spec.setdefault("parallelism", 1)
        spec.setdefault("backoffLimit", 6)
        spec.setdefault("completionMode", "NonIndexed")
        spec.setdefault("suspend", False)
        if not spec.get("manualSelector"):
            spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
            labels = spec.setdefault("template", {}).setdefault("metadata", {}).setdefault("labels", {})
            labels.update(
                {
                    "batch.kubernetes.io/controller-uid": uid,
                    "batch.kubernetes.io/job-name": name,
                    "controller-uid": uid,
                    "job-name": name,
                }
            )
        spec.setdefault("template", {}).setdefault("spec", {}).setdefault("restartPolicy", "Never")

    # ------------------------------------------------------------------ events in, work out
    def _on_event(self, event_type: str, key: str, obj: Obj) -> None:
        if self._stopped:
            return
        self._index(key, obj, deleted=event_type == "DELETED")
        if event_type == "DELETED":
            self._collect_garbage(key, obj)
        if key in ("pods", "services", DEPLOYMENTS, REPLICASETS, JOBS):
            if threading.get_ident() == self._loop_thread:
                self.loop.call_soon(self._on_loop_event, event_type, key, obj)
            else:
                with contextlib.suppress(RuntimeError):
                    self.loop.call_soon_threadsafe(self._on_loop_event, event_type, key, obj)

    def _index(self, key: str, obj: Obj, *, deleted: bool = False) -> None:
        meta = _meta(obj)
        ident = (key, str(meta.get("namespace") or ""), str(meta.get("name") or ""))
        owners = (
            set()
            if deleted
            else {
                str(r.get("uid"))
                for r in meta.get("ownerReferences") or []
                if isinstance(r, dict) and r.get("uid")
            }
        )
        with self._gc_lock:
            previous = self._owners_of.pop(ident, set())
            for uid in previous - owners:
                deps = self._dependents.get(uid)
                if deps is not None:
                    deps.discard(ident)
                    if not deps:
                        del self._dependents[uid]
            for uid in owners:
                self._dependents.setdefault(uid, set()).add(ident)
            if owners:
                self._owners_of[ident] = owners

    def _collect_garbage(self, key: str, obj: Obj) -> None:
        """Delete what ``obj`` owned, and everything inside a deleted namespace."""
        meta = _meta(obj)
        with self._gc_lock:
            dependents = sorted(self._dependents.pop(str(meta.get("uid")), set()))
        for dep_key, ns, name in dependents:
            with contextlib.suppress(KubeError):
                self.store.delete(dep_key, name, namespace=ns)
        if key == "namespaces":
            ns = str(meta.get("name"))
            for k in list(self.store.keys()):  # noqa: SIM118 (Store is not a mapping)
                if k == "namespaces":
                    continue
                self.store.delete_all(k, namespace=ns)

    def _owned(self, owner_uid: str, key: str) -> list[Obj]:
        with self._gc_lock:
            idents = sorted(i for i in self._dependents.get(owner_uid, ()) if i[0] == key)
        found = []
        for _, ns, name in idents:
            obj = self.store.try_get(key, name, namespace=ns, copy=False)
            if obj is not None and _controller_uid(obj) == owner_uid:
                found.append(obj)
        return found

    def _on_loop_event(self, event_type: str, key: str, obj: Obj) -> None:
        if self._stopped:
            return
        meta = _meta(obj)
        ns, name = str(meta.get("namespace") or ""), str(meta["name"])
        if key in self._dirty:
            self._dirty[key].add((ns, name))
        if key == "pods":
            if event_type == "DELETED":
                self._procs.kill(str(meta.get("uid")))
                handle = self._timers.pop((ns, name), None)
                if handle is not None:
                    handle.cancel()
                ip = (obj.get("status") or {}).get("podIP")
                if ip:
                    self._pod_ips.discard(ip)
            elif event_type == "ADDED":
                self._kubelet_track(obj)
            self._mark_owner(obj)
            self._dirty_endpoints.add(ns)
        elif key == REPLICASETS:
            self._mark_owner(obj)
        elif key == "services":
            self._dirty_endpoints.add(ns)
            if event_type == "DELETED":
                with contextlib.suppress(KubeError):
                    self.store.delete("endpoints", name, namespace=ns)
        self._schedule_flush()

    def _mark_owner(self, obj: Obj) -> None:
        for ref in _meta(obj).get("ownerReferences") or []:
            if not isinstance(ref, dict) or not ref.get("controller"):
                continue
            owner_key = {"ReplicaSet": REPLICASETS, "Deployment": DEPLOYMENTS, "Job": JOBS}.get(
                str(ref.get("kind"))
            )
            if owner_key is not None:
                self._dirty[owner_key].add((str(_meta(obj).get("namespace") or ""), str(ref.get("name"))))

    def _schedule_flush(self) -> None:
        if not self._flush_pending and not self._stopped:
            self._flush_pending = True
            self.loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_pending = False
        if self._stopped:
            return
        for key, sync in (
            (DEPLOYMENTS, self._sync_deployment),
            (REPLICASETS, self._sync_replicaset),
            (JOBS, self._sync_job),
        ):
            batch, self._dirty[key] = self._dirty[key], set()
            for ns, name in sorted(batch):
                try:
                    sync(ns, name)
                except KubeError as err:
                    log.debug("%s %s/%s: %s", key, ns, name, err)
                except Exception:
                    log.exception("controller for %s %s/%s failed", key, ns, name)
        batch_ns, self._dirty_endpoints = self._dirty_endpoints, set()
        for ns in sorted(batch_ns):
            try:
                self._sync_endpoints(ns)
            except KubeError as err:
                log.debug("endpoints %s: %s", ns, err)
            except Exception:
                log.exception("endpoints controller for %s failed", ns)

    # ------------------------------------------------------------------ events (the Event kind)
    def _emit(
        self,
        obj: Obj,
        reason: str,
        message: str,
        *,
        component: str,
        field_path: str = "",
        type_: str = "Normal",
    ) -> None:
        """Record an Event; ``eventTime`` has microseconds so ``kubectl describe`` lists them in order.

        Node-side events share one token bucket, like the kubelet's event recorder (50/s, burst 100), so a
        burst of thousands of pods does not multiply the sandbox's writes tenfold.
        """
        if component in ("kubelet", "default-scheduler"):
            now_t = self.loop.time()
            elapsed, self._event_refilled = now_t - self._event_refilled, now_t
            self._event_tokens = min(float(EVENT_BURST), self._event_tokens + elapsed * EVENT_QPS)
            if self._event_tokens < 1:
                return
            self._event_tokens -= 1
        meta = _meta(obj)
        ns = str(meta.get("namespace") or "default")
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        involved = {
            "kind": obj.get("kind", ""),
            "namespace": ns,
            "name": meta.get("name", ""),
            "uid": meta.get("uid", ""),
            "apiVersion": obj.get("apiVersion", "v1"),
            "resourceVersion": meta.get("resourceVersion", ""),
        }
        if field_path:
            involved["fieldPath"] = field_path
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": f"{meta.get('name')}.{self._event_suffix()}", "namespace": ns},
            "involvedObject": involved,
            "reason": reason,
            "message": message,
            "source": {"component": component, **({"host": NODE_NAME} if component == "kubelet" else {})},
            "firstTimestamp": None,
            "lastTimestamp": None,
            "count": 1,
            "type": type_,
            "eventTime": now,
            "reportingComponent": component,
            "reportingInstance": NODE_NAME if component == "kubelet" else "",
        }
        with contextlib.suppress(KubeError):
            self.store.create("events", event)

    # ------------------------------------------------------------------ deployments
    def _sync_deployment(self, ns: str, name: str) -> None:
        dep = self.store.try_get(DEPLOYMENTS, name, namespace=ns, copy=False)
        if dep is None:
            return
        uid = str(_meta(dep)["uid"])
        spec = dep.get("spec") or {}
        desired = _int(spec.get("replicas"), 1)
        template = spec.get("template") or {}
        rses = self._owned(uid, REPLICASETS)
        new = next(
            (rs for rs in rses if _templates_equal((rs.get("spec") or {}).get("template"), template)), None
        )
        olds = [rs for rs in rses if rs is not new]
        max_revision = max(
            (_int_str(_meta(rs).get("annotations", {}).get(REVISION)) for rs in rses), default=0
        )
        if new is None:
            self._create_replicaset(dep, template, desired, max_revision + 1, olds)
            return
        new_name = _meta(new)["name"]
        revision = _int_str((_meta(new).get("annotations") or {}).get(REVISION))
        if (new.get("spec") or {}).get("replicas") != desired or revision < max_revision:

            def scale_new(o: Obj) -> None:
                o.setdefault("spec", {})["replicas"] = desired
                if revision < max_revision:
                    o["metadata"].setdefault("annotations", {})[REVISION] = str(max_revision + 1)

            before = _int((new.get("spec") or {}).get("replicas"), 0)
            new = self.store.update(REPLICASETS, new_name, namespace=ns, mutate=scale_new)
            if before != desired:
                verb = "up" if desired > before else "down"
                self._emit(
                    dep,
                    "ScalingReplicaSet",
                    f"Scaled {verb} replica set {new_name} from {before} to {desired}",
                    component="deployment-controller",
                )
        strategy = (spec.get("strategy") or {}).get("type", "RollingUpdate")
        new_ready = _int((new.get("status") or {}).get("readyReplicas"), 0)
        if strategy == "Recreate" or new_ready >= desired:
            for rs in olds:
                replicas = _int((rs.get("spec") or {}).get("replicas"), 0)
                if replicas:
                    self.store.update(
                        REPLICASETS,
                        _meta(rs)["name"],
                        namespace=ns,
                        mutate=lambda o: o.setdefault("spec", {}).update(replicas=0),
                    )
                    self._emit(
                        dep,
                        "ScalingReplicaSet",
                        f"Scaled down replica set {_meta(rs)['name']} from {replicas} to 0",
                        component="deployment-controller",
                    )
        self._trim_history(spec, olds, ns)
        self._deployment_status(dep, new, self._owned(uid, REPLICASETS), desired)

    def _create_replicaset(
        self, dep: Obj, template: Obj, desired: int, revision: int, olds: list[Obj]
    ) -> None:
        meta = _meta(dep)
        ns, name = str(meta.get("namespace") or ""), str(meta["name"])
        for collisions in range(5):
            h = template_hash(template, collisions)
            rs_template = copy.deepcopy(template)
            labels = rs_template.setdefault("metadata", {}).setdefault("labels", {})
            labels[HASH_LABEL] = h
            selector = copy.deepcopy((dep.get("spec") or {}).get("selector") or {})
            selector.setdefault("matchLabels", {})[HASH_LABEL] = h
            rs = {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "metadata": {
                    "name": f"{name}-{h}",
                    "namespace": ns,
                    "labels": dict(labels),
                    "annotations": {
                        REVISION: str(revision),
                        "deployment.kubernetes.io/desired-replicas": str(desired),
                        "deployment.kubernetes.io/max-replicas": str(desired + 1),
                    },
                    "ownerReferences": [_owner_ref(dep, api_version="apps/v1", kind="Deployment")],
                },
                "spec": {"replicas": desired, "selector": selector, "template": rs_template},
                "status": {"replicas": 0},
            }
            try:
                self.store.create(REPLICASETS, rs)
            except KubeError as err:
                if err.code == 409:
                    continue
                raise
            self._emit(
                dep,
                "ScalingReplicaSet",
                f"Scaled up replica set {name}-{h} from 0 to {desired}",
                component="deployment-controller",
            )
            if (dep.get("spec") or {}).get("strategy", {}).get("type") == "Recreate":
                self._dirty[DEPLOYMENTS].add((ns, name))
            return
        log.warning("deployment %s/%s: could not find a free ReplicaSet name", ns, name)

    def _trim_history(self, spec: Obj, olds: list[Obj], ns: str) -> None:
        limit = _int(spec.get("revisionHistoryLimit"), 10)
        idle = [
            rs
            for rs in olds
            if not _int((rs.get("spec") or {}).get("replicas"), 0)
            and not _int((rs.get("status") or {}).get("replicas"), 0)
        ]
        idle.sort(key=lambda rs: _int_str((_meta(rs).get("annotations") or {}).get(REVISION)))
        for rs in idle[: max(0, len(idle) - limit)]:
            with contextlib.suppress(KubeError):
                self.store.delete(REPLICASETS, _meta(rs)["name"], namespace=ns)

    def _deployment_status(self, dep: Obj, new: Obj, rses: list[Obj], desired: int) -> None:
        meta = _meta(dep)
        spec = dep.get("spec") or {}
        statuses = [rs.get("status") or {} for rs in rses]
        replicas = sum(_int(s.get("replicas"), 0) for s in statuses)
        ready = sum(_int(s.get("readyReplicas"), 0) for s in statuses)
        available = sum(_int(s.get("availableReplicas"), 0) for s in statuses)
        new_status = next(
            (rs.get("status") or {} for rs in rses if _meta(rs)["uid"] == _meta(new)["uid"]), {}
        )
        updated = _int(new_status.get("replicas"), 0)
        rolling = (spec.get("strategy") or {}).get("rollingUpdate") or {}
        max_unavailable = 0
        if (spec.get("strategy") or {}).get("type", "RollingUpdate") == "RollingUpdate":
            max_unavailable = _resolve_int_or_percent(
                rolling.get("maxUnavailable", "25%"), desired, round_up=False
            )
        new_name = _meta(new)["name"]
        complete = updated == desired and replicas == desired and available >= desired
        revision = (_meta(new).get("annotations") or {}).get(REVISION)

        def mutate(o: Obj) -> None:
            if revision:
                o["metadata"].setdefault("annotations", {})[REVISION] = revision
            status = o.setdefault("status", {})
            now = now_rfc3339()
            conditions = list(status.get("conditions") or [])
            has_min = available >= desired - max_unavailable
            _set_condition(
                conditions,
                {
                    "type": "Available",
                    "status": "True" if has_min else "False",
                    "reason": "MinimumReplicasAvailable" if has_min else "MinimumReplicasUnavailable",
                    "message": "Deployment has minimum availability."
                    if has_min
                    else "Deployment does not have minimum availability.",
                    "lastUpdateTime": now,
                    "lastTransitionTime": now,
                },
                now,
            )
            _set_condition(
                conditions,
                {
                    "type": "Progressing",
                    "status": "True",
                    "reason": "NewReplicaSetAvailable" if complete else "ReplicaSetUpdated",
                    "message": f'ReplicaSet "{new_name}" has successfully progressed.'
                    if complete
                    else f'ReplicaSet "{new_name}" is progressing.',
                    "lastUpdateTime": now,
                    "lastTransitionTime": now,
                },
                now,
            )
            conditions.sort(key=lambda c: 0 if c.get("type") == "Available" else 1)
            fresh: Obj = {"observedGeneration": _meta(o).get("generation", 1)}
            if replicas:
                fresh["replicas"] = replicas
            if updated:
                fresh["updatedReplicas"] = updated
            if ready:
                fresh["readyReplicas"] = ready
            if available:
                fresh["availableReplicas"] = available
            if desired - available > 0:
                fresh["unavailableReplicas"] = desired - available
            fresh["conditions"] = conditions
            o["status"] = fresh

        self.store.update(
            DEPLOYMENTS, meta["name"], namespace=str(meta.get("namespace") or ""), mutate=mutate
        )

    # ------------------------------------------------------------------ replicasets
    def _sync_replicaset(self, ns: str, name: str) -> None:
        rs = self.store.try_get(REPLICASETS, name, namespace=ns, copy=False)
        if rs is None:
            return
        uid = str(_meta(rs)["uid"])
        desired = _int((rs.get("spec") or {}).get("replicas"), 1)
        pods = [p for p in self._owned(uid, "pods") if (p.get("status") or {}).get("phase") not in _TERMINAL]
        if len(pods) < desired:
            template = (rs.get("spec") or {}).get("template") or {}
            for _ in range(desired - len(pods)):
                pod = self._pod_from_template(rs, template, api_version="apps/v1", kind="ReplicaSet")
                with contextlib.suppress(KubeError):
                    created = self.store.create("pods", pod)
                    pods.append(created)
                    self._emit(
                        rs,
                        "SuccessfulCreate",
                        f"Created pod: {_meta(created)['name']}",
                        component="replicaset-controller",
                    )
        elif len(pods) > desired:
            pods.sort(key=lambda p: str(_meta(p).get("creationTimestamp", "")), reverse=True)
            pods.sort(key=pod_ready)
            doomed = pods[: len(pods) - desired]
            doomed_names = {_meta(p)["name"] for p in doomed}
            for p in doomed:
                with contextlib.suppress(KubeError):
                    self.store.delete("pods", _meta(p)["name"], namespace=ns)
                    self._emit(
                        rs,
                        "SuccessfulDelete",
                        f"Deleted pod: {_meta(p)['name']}",
                        component="replicaset-controller",
                    )
            pods = [p for p in pods if _meta(p)["name"] not in doomed_names]
        ready = sum(1 for p in pods if pod_ready(p))
        generation = _meta(rs).get("generation", 1)

        def mutate(o: Obj) -> None:
            status: Obj = {"replicas": len(pods), "observedGeneration": generation}
            if pods:
                status["fullyLabeledReplicas"] = len(pods)
            if ready:
                status["readyReplicas"] = ready
                status["availableReplicas"] = ready
            o["status"] = status

        self.store.update(REPLICASETS, name, namespace=ns, mutate=mutate)

    def _pod_from_template(self, owner: Obj, template: Obj, *, api_version: str, kind: str) -> Obj:
        meta = _meta(owner)
        tmeta = template.get("metadata") or {}
        pod_meta: Obj = {
            "generateName": f"{meta['name']}-",
            "namespace": meta.get("namespace", ""),
            "labels": dict(tmeta.get("labels") or {}),
            "ownerReferences": [_owner_ref(owner, api_version=api_version, kind=kind)],
        }
        if tmeta.get("annotations"):
            pod_meta["annotations"] = dict(tmeta["annotations"])
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": pod_meta,
            "spec": copy.deepcopy(template.get("spec") or {}),
        }

    # ------------------------------------------------------------------ jobs
    def _sync_job(self, ns: str, name: str) -> None:
        job = self.store.try_get(JOBS, name, namespace=ns, copy=False)
        if job is None:
            return
        uid = str(_meta(job)["uid"])
        spec = job.get("spec") or {}
        status = job.get("status") or {}
        completions = _int(spec.get("completions"), 1)
        parallelism = _int(spec.get("parallelism"), 1)
        pods = self._owned(uid, "pods")
        succeeded = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Succeeded")
        failed = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Failed")
        active = [p for p in pods if (p.get("status") or {}).get("phase") not in _TERMINAL]
        finished = any(
            c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
            for c in status.get("conditions") or []
        )
        failed_out = failed > _int(spec.get("backoffLimit"), 6)
        if not finished and not failed_out and not spec.get("suspend"):
            want = min(parallelism, completions - succeeded) - len(active)
            for _ in range(max(0, want)):
                pod = self._pod_from_template(
                    job, spec.get("template") or {}, api_version="batch/v1", kind="Job"
                )
                if spec.get("completionMode") == "Indexed":
                    _set_completion_index(pod, pods + active, completions)
                with contextlib.suppress(KubeError):
                    created = self.store.create("pods", pod)
                    active.append(created)
                    self._emit(
                        job,
                        "SuccessfulCreate",
                        f"Created pod: {_meta(created)['name']}",
                        component="job-controller",
                    )
        ready = sum(1 for p in active if pod_ready(p))
        complete = succeeded >= completions

        def mutate(o: Obj) -> None:
            st = o.setdefault("status", {})
            now = now_rfc3339()
            st.setdefault("startTime", now)
            st["active"] = len(active)
            st["ready"] = ready
            if not st["active"]:
                st.pop("active")
            st["succeeded"] = succeeded
            if failed:
                st["failed"] = failed
            st["terminating"] = 0
            st["uncountedTerminatedPods"] = {}
            outcome = {"type": "Complete"} if complete else None
            if failed_out and not complete:
                outcome = {
                    "type": "Failed",
                    "reason": "BackoffLimitExceeded",
                    "message": "Job has reached the specified backoff limit",
                }
            if outcome is not None:
                if complete:
                    st.setdefault("completionTime", now)
                conditions = list(st.get("conditions") or [])
                first = {"type": "SuccessCriteriaMet" if complete else "FailureTarget"}
                for cond in (first | {k: v for k, v in outcome.items() if k != "type"}, outcome):
                    _set_condition(
                        conditions,
                        {**cond, "status": "True", "lastProbeTime": now, "lastTransitionTime": now},
                        now,
                    )
                st["conditions"] = conditions
            if not succeeded:
                st.pop("succeeded")

        before = json.dumps(status, sort_keys=True)
        after = self.store.update(JOBS, name, namespace=ns, mutate=mutate)
        if not finished and json.dumps(after.get("status"), sort_keys=True) != before:
            if complete:
                self._emit(job, "Completed", "Job completed", component="job-controller")
            elif failed_out:
                self._emit(
                    job,
                    "BackoffLimitExceeded",
                    "Job has reached the specified backoff limit",
                    component="job-controller",
                    type_="Warning",
                )

    # ------------------------------------------------------------------ endpoints
    def _sync_endpoints(self, ns: str) -> None:
        services, _ = self.store.list("services", namespace=ns)
        if not services:
            return
        pods, _ = self.store.list("pods", namespace=ns)
        for svc in services:
            selector = (svc.get("spec") or {}).get("selector")
            if not selector or (svc.get("spec") or {}).get("type") == "ExternalName":
                continue
            matched = [
                p
                for p in pods
                if (p.get("status") or {}).get("podIP")
                and (p.get("status") or {}).get("phase") not in _TERMINAL
                and match_label_selector_object({"matchLabels": selector}, _meta(p).get("labels") or {})
            ]
            self._write_endpoints(svc, matched)

    def _write_endpoints(self, svc: Obj, pods: list[Obj]) -> None:
        meta = _meta(svc)
        ns, name = str(meta.get("namespace") or ""), str(meta["name"])
        ports = []
        for p in (svc.get("spec") or {}).get("ports") or []:
            target = p.get("targetPort", p.get("port"))
            if isinstance(target, str):
                target = next(
                    (
                        cp.get("containerPort")
                        for pod in pods[:1]
                        for c in (pod.get("spec") or {}).get("containers") or []
                        for cp in c.get("ports") or []
                        if cp.get("name") == target
                    ),
                    None,
                )
            if not isinstance(target, int):
                continue
            entry: Obj = {"port": target, "protocol": p.get("protocol", "TCP")}
            if p.get("name"):
                entry["name"] = p["name"]
            ports.append(entry)

        def address(pod: Obj) -> Obj:
            pm = _meta(pod)
            return {
                "ip": (pod.get("status") or {})["podIP"],
                "nodeName": NODE_NAME,
                "targetRef": {"kind": "Pod", "namespace": ns, "name": pm["name"], "uid": pm["uid"]},
            }

        ready = [address(p) for p in pods if pod_ready(p)]
        not_ready = [address(p) for p in pods if not pod_ready(p)]
        subsets: list[Obj] = []
        if (ready or not_ready) and ports:
            subset: Obj = {"ports": ports}
            if ready:
                subset["addresses"] = ready
            if not_ready:
                subset["notReadyAddresses"] = not_ready
            subsets.append(subset)
        existing = self.store.try_get("endpoints", name, namespace=ns, copy=False)
        labels = dict(meta.get("labels") or {})
        if existing is None:
            body: Obj = {
                "apiVersion": "v1",
                "kind": "Endpoints",
                "metadata": {"name": name, "namespace": ns, "labels": labels},
            }
            if subsets:
                body["subsets"] = subsets
            self.store.create("endpoints", body)
            return

        def mutate(o: Obj) -> None:
            o["metadata"]["labels"] = labels
            if subsets:
                o["subsets"] = subsets
            else:
                o.pop("subsets", None)

        self.store.update("endpoints", name, namespace=ns, mutate=mutate)

    # ------------------------------------------------------------------ kubelet
    def _kubelet_track(self, pod: Obj) -> None:
        """Move a pod along its life: schedule, start containers, and finish Job pods."""
        meta = _meta(pod)
        ident = (str(meta.get("namespace") or ""), str(meta["name"]))
        phase = (pod.get("status") or {}).get("phase")
        if phase in _TERMINAL:
            return
        uid = str(meta.get("uid"))
        if phase == "Running":
            spec_containers = (pod.get("spec") or {}).get("containers") or []
            if any(crash_exit_code(c) is not None for c in spec_containers if isinstance(c, dict)):
                self._later(ident, self.pod_start_seconds, self._pod_restart, uid)
            elif self._is_job_pod(pod) and not runs_as_process(pod):
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
        if pod is None or _meta(pod).get("uid") != uid:
            return
        try:
            fn(pod)
        except KubeError as err:
            log.debug("kubelet %s/%s: %s", *ident, err)

    @staticmethod
    def _is_job_pod(pod: Obj) -> bool:
        return any(
            r.get("kind") == "Job" and r.get("controller") for r in _meta(pod).get("ownerReferences") or []
        )

    def _new_pod_ip(self) -> str:
        for _ in range(1000):
            ip = f"10.244.{self._rand.randrange(0, 256)}.{self._rand.randrange(2, 255)}"
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
        meta = _meta(pod)
        ns, name = str(meta.get("namespace") or ""), str(meta["name"])
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
                if _meta(pod).get("uid") != meta.get("uid"):
                    raise
        return self.store.update("pods", name, namespace=ns, mutate=mutate)

    def _event_suffix(self) -> str:
        """16 hex digits; the resourceVersion keeps names unique across restarts of a seeded sandbox."""
        return f"{int(self.store.resource_version):08x}{self._rand.getrandbits(32):08x}"

    def _container_id(self) -> str:
        return f"containerd://{self._rand.getrandbits(256):064x}"

    def _pod_schedule(self, pod: Obj) -> None:
        meta = _meta(pod)
        ns, name = str(meta.get("namespace") or ""), str(meta["name"])
        spec = pod.get("spec") or {}
        now = now_rfc3339()
        init = [c for c in spec.get("initContainers") or [] if isinstance(c, dict)]

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
            o.setdefault("spec", {}).setdefault("nodeName", NODE_NAME)
            st = o.setdefault("status", {})
            st.update(phase="Pending", hostIP=HOST_IP, hostIPs=[{"ip": HOST_IP}], startTime=now)
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
            f"Successfully assigned {ns}/{name} to {NODE_NAME}",
            component="default-scheduler",
        )
        self._later((ns, name), self.pod_start_seconds * 0.7, self._pod_run, str(meta.get("uid")))

    def _pod_run(self, pod: Obj) -> None:
        meta = _meta(pod)
        ns, name = str(meta.get("namespace") or ""), str(meta["name"])
        spec = pod.get("spec") or {}
        now = now_rfc3339()
        ip = (pod.get("status") or {}).get("podIP") or self._new_pod_ip()
        init = [c for c in spec.get("initContainers") or [] if isinstance(c, dict)]
        containers = [c for c in spec.get("containers") or [] if isinstance(c, dict)]
        unpullable = {
            str(c.get("name")) for c in [*init, *containers] if image_missing(str(c.get("image", "")))
        }
        crashing = {str(c.get("name")) for c in containers if crash_exit_code(c) is not None}

        def base(c: Obj) -> Obj:
            image = _full_image(str(c.get("image", "")))
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
            st.update(hostIP=HOST_IP, hostIPs=[{"ip": HOST_IP}])
            st.setdefault("startTime", now)
            if init:
                st["initContainerStatuses"] = [status_of(c, init_container=True) for c in init]
            if blocked_init:
                return
            st.update(podIP=ip, podIPs=[{"ip": ip}])
            st["containerStatuses"] = [status_of(c, init_container=False) for c in containers]
            st["phase"] = "Pending" if unpullable else "Running"
            _set_pod_conditions(st, now)

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
        uid = str(meta.get("uid"))
        if unpullable:
            self._later((ns, name), self.pod_start_seconds, self._pod_pull_backoff, uid)
        elif crashing:
            self._later((ns, name), self.pod_start_seconds, self._pod_crash, uid)
        elif runs_as_process(pod):
            self._procs.start(pod)
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
        meta = _meta(pod)
        ns, name = str(meta.get("namespace") or ""), str(meta["name"])
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
                            f"pod={name}_{ns}({meta.get('uid')})"
                        ),
                    }
                }
                cs.update(ready=False, started=False)
            _set_pod_conditions(st, now)

        pod = self._update_pod(pod, mutate)
        for cname, code in codes.items():
            if code is not None:
                self._emit(
                    pod,
                    "BackOff",
                    f"Back-off restarting failed container {cname} in pod {name}_{ns}({meta.get('uid')})",
                    component="kubelet",
                    type_="Warning",
                    field_path=f"spec.containers{{{cname}}}",
                )
        delay = min(self.pod_start_seconds * 2 ** min(restarts, 10), max(30.0, self.pod_start_seconds))
        self._later((ns, name), delay, self._pod_restart, str(meta.get("uid")))

    def _pod_fail(self, pod: Obj, codes: dict[str, int | None], now: str) -> None:
        """A ``restartPolicy: Never`` pod whose container exits non-zero ends Failed."""
        meta = _meta(pod)

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
            _set_pod_conditions(st, now)

        self.store.update(
            "pods", str(meta["name"]), namespace=str(meta.get("namespace") or ""), mutate=mutate
        )

    def _pod_restart(self, pod: Obj) -> None:
        meta = _meta(pod)
        ns, name = str(meta.get("namespace") or ""), str(meta["name"])
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
            _set_pod_conditions(st, now)

        self._update_pod(pod, mutate)
        self._later((ns, name), self.pod_start_seconds, self._pod_crash, str(meta.get("uid")))

    def _process_exited(self, pod: Obj, container: str, code: int) -> None:
        ns, name = _meta(pod).get("namespace", ""), _meta(pod)["name"]
        pod = self.store.try_get("pods", name, namespace=ns, copy=False) or pod
        if code == 0:
            self._pod_complete(pod)
        else:
            self._pod_fail(pod, {container: code}, now_rfc3339())

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


def _set_completion_index(pod: Obj, siblings: list[Obj], completions: int) -> None:
    """Indexed Jobs: the lowest index no pod holds (a failed pod's index is given again), as annotation and
    label, like the Job controller; the kubelet hands it to the container as ``JOB_COMPLETION_INDEX``."""
    taken = {
        str(_meta(p).get("annotations", {}).get(COMPLETION_INDEX))
        for p in siblings
        if (p.get("status") or {}).get("phase") != "Failed"
    }
    index = next((str(i) for i in range(completions) if str(i) not in taken), str(completions - 1))
    meta = pod["metadata"]
    meta.setdefault("annotations", {})[COMPLETION_INDEX] = index
    meta.setdefault("labels", {})[COMPLETION_INDEX] = index


def image_missing(image: str) -> bool:
    """The sandbox's stand-in for a failed pull: an image whose name says it does not exist."""
    return any(marker in image.lower() for marker in ("doesnotexist", "does-not-exist", "nonexistent"))


def crash_exit_code(container: Obj) -> int | None:
    """The exit code a container's command asks for (``exit 3``, ``false``), or None if it keeps running."""
    words = [str(w) for w in [*(container.get("command") or []), *(container.get("args") or [])]]
    if words and words[0].rsplit("/", 1)[-1] == "false":
        return 1
    m = re.search(r"\bexit\s+(\d+)", " ".join(words))
    if m is None or int(m.group(1)) == 0:
        return None
    return int(m.group(1))


def _set_pod_conditions(status: Obj, now: str) -> None:
    """Derive Ready/ContainersReady from the container statuses, keeping unchanged transition times."""
    statuses = [
        *(
            cs
            for cs in status.get("initContainerStatuses") or []
            if "terminated" not in (cs.get("state") or {})
        ),
        *(status.get("containerStatuses") or []),
    ]
    unready = [str(cs.get("name")) for cs in statuses if not cs.get("ready")]
    init_done = all(
        "terminated" in (cs.get("state") or {}) or cs.get("started")
        for cs in status.get("initContainerStatuses") or []
    )
    conditions: list[Obj] = list(status.get("conditions") or [])
    wanted = {
        "PodReadyToStartContainers": True,
        "Initialized": init_done,
        "Ready": not unready,
        "ContainersReady": not unready,
        "PodScheduled": True,
    }
    for ctype, ok in wanted.items():
        cond: Obj = {
            "type": ctype,
            "status": "True" if ok else "False",
            "lastProbeTime": None,
            "lastTransitionTime": now,
        }
        if not ok and ctype in ("Ready", "ContainersReady"):
            cond.update(
                reason="ContainersNotReady", message=f"containers with unready status: [{' '.join(unready)}]"
            )
        if not ok and ctype == "Initialized":
            cond["reason"] = "ContainersNotInitialized"
        _set_condition(conditions, cond, now)
    status["conditions"] = conditions


def _int_str(value: Any) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


def start_controllers(
    store: Store,
    loop: asyncio.AbstractEventLoop,
    *,
    seed: int,
    pod_start_seconds: float,
    kubelet_version: str,
) -> Controllers:
    """Attach every simulated controller and admission hook to ``store``; returns the handle to ``stop()``."""
    return Controllers(
        store, loop, seed=seed, pod_start_seconds=pod_start_seconds, kubelet_version=kubelet_version
    ).start()


__all__ = ["Controllers", "pod_ready", "start_controllers", "template_hash"]
