"""Runs the sandbox's simulated controllers: routes store events to them and drains their work queues.

Threading: store listeners run in whichever thread wrote. Garbage collection runs right there,
synchronously, so a DELETE answers only once its dependents are gone. Everything else is handed to the
sandbox's event loop, where reconciles are coalesced per object and timers drive the simulated kubelet.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading

from tui.errors import KubeError
from tui.sandbox.controllers.ambient import AmbientEnrolment
from tui.sandbox.controllers.base import Reconciler
from tui.sandbox.controllers.common import meta, ns_name
from tui.sandbox.controllers.cronjob import CronJobController
from tui.sandbox.controllers.daemonset import DaemonSetController
from tui.sandbox.controllers.deployment import DeploymentController
from tui.sandbox.controllers.endpoints import EndpointsController
from tui.sandbox.controllers.events import EventRecorder
from tui.sandbox.controllers.gateway import GatewayController
from tui.sandbox.controllers.gc import GarbageCollector
from tui.sandbox.controllers.hpa import HorizontalPodAutoscalerController
from tui.sandbox.controllers.httproute import HTTPRouteController
from tui.sandbox.controllers.job import JobController
from tui.sandbox.controllers.kubelet import Kubelet
from tui.sandbox.controllers.pdb import DisruptionController
from tui.sandbox.controllers.pods import pod_defaults
from tui.sandbox.controllers.replicaset import ReplicaSetController
from tui.sandbox.controllers.statefulset import StatefulSetController
from tui.sandbox.controllers.storage import VolumeController
from tui.sandbox.injection import make_injection_hook
from tui.sandbox.store import Obj, Store

log = logging.getLogger(__name__)

# Reconcile order within one flush: owners before what they own, endpoints and budgets last.
RECONCILERS: tuple[type[Reconciler], ...] = (
    HorizontalPodAutoscalerController,
    DeploymentController,
    ReplicaSetController,
    VolumeController,
    StatefulSetController,
    DaemonSetController,
    CronJobController,
    JobController,
    EndpointsController,
    DisruptionController,
    GatewayController,
    HTTPRouteController,
    AmbientEnrolment,
)


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
        self.rand = random.Random(seed)
        self.gc = GarbageCollector(store)
        self.events = EventRecorder(store, clock=loop.time, rand=self.rand)
        self.kubelet = Kubelet(self)
        self.reconcilers = [cls(self) for cls in RECONCILERS]
        self._by_key = {r.key: r for r in self.reconcilers}
        self._by_owner_kind = {r.owner_kind: r.key for r in self.reconcilers if r.owner_kind}
        self._watched = {"pods"}.union(*(r.watches for r in self.reconcilers))
        self._dirty: dict[str, set[tuple[str, str]]] = {r.key: set() for r in self.reconcilers}
        self._flush_pending = False
        self._stopped = False
        self._loop_thread = threading.get_ident()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> Controllers:
        for key in list(self.store.keys()):  # noqa: SIM118 (Store is not a mapping)
            items, _ = self.store.list(key)
            for obj in items:
                self.gc.index(key, obj)
        self.store.add_admission(make_injection_hook(self.store, kubelet_version=self.kubelet_version))
        self.store.add_admission(self._defaults)
        self.store.add_listener(self._on_event)
        self.kubelet.start()
        for r in self.reconcilers:
            r.resync()
        return self

    def stop(self) -> None:
        """Detach from the store and cancel timers (call on the sandbox loop)."""
        self._stopped = True
        self.store.remove_listener(self._on_event)
        self.kubelet.stop()
        for r in self.reconcilers:
            r.stop()

    def mark(self, key: str, ns: str, name: str) -> None:
        """Queue a reconcile of ``key``'s object ``ns/name`` (coalesced until the next flush)."""
        self._dirty[key].add((ns, name))
        self._schedule_flush()

    # ------------------------------------------------------------------ admission defaults
    def _defaults(self, operation: str, key: str, obj: Obj, old: Obj | None) -> None:
        if key == "pods":
            if operation == "CREATE":
                pod_defaults(obj)
        elif key in self._by_key:
            self._by_key[key].admit(obj)

    # ------------------------------------------------------------------ events in, work out
    def _on_event(self, event_type: str, key: str, obj: Obj) -> None:
        if self._stopped:
            return
        self.gc.index(key, obj, deleted=event_type == "DELETED")
        if event_type == "DELETED":
            self.gc.collect(key, obj)
        if key in self._watched:
            if threading.get_ident() == self._loop_thread:
                self.loop.call_soon(self._on_loop_event, event_type, key, obj)
            else:
                with contextlib.suppress(RuntimeError):
                    self.loop.call_soon_threadsafe(self._on_loop_event, event_type, key, obj)

    def _on_loop_event(self, event_type: str, key: str, obj: Obj) -> None:
        if self._stopped:
            return
        if key == "pods":
            self.kubelet.on_event(event_type, obj)
        self._mark_owner(obj)
        for r in self.reconcilers:
            if key in r.watches:
                r.on_event(event_type, key, obj)
        self._schedule_flush()

    def _mark_owner(self, obj: Obj) -> None:
        for ref in meta(obj).get("ownerReferences") or []:
            if not isinstance(ref, dict) or not ref.get("controller"):
                continue
            owner_key = self._by_owner_kind.get(str(ref.get("kind")))
            if owner_key is not None:
                self._dirty[owner_key].add((ns_name(obj)[0], str(ref.get("name"))))

    def _schedule_flush(self) -> None:
        if not self._flush_pending and not self._stopped:
            self._flush_pending = True
            self.loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_pending = False
        if self._stopped:
            return
        for r in self.reconcilers:
            batch, self._dirty[r.key] = self._dirty[r.key], set()
            for ns, name in sorted(batch):
                try:
                    r.sync(ns, name)
                except KubeError as err:
                    log.debug("%s %s/%s: %s", r.key, ns, name, err)
                except Exception:
                    log.exception("controller for %s %s/%s failed", r.key, ns, name)


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
