"""The replicaset controller: keep ``spec.replicas`` live pods, deleting unready and newest ones first."""

from __future__ import annotations

import contextlib

from tui.errors import KubeError
from tui.sandbox.controllers.base import Reconciler
from tui.sandbox.controllers.common import (
    REPLICASETS,
    as_int,
    meta,
    pod_from_template,
    pod_live,
    pod_ready,
)
from tui.sandbox.store import Obj


class ReplicaSetController(Reconciler):
    key = REPLICASETS
    owner_kind = "ReplicaSet"
    watches = frozenset({REPLICASETS})

    def sync(self, ns: str, name: str) -> None:
        rs = self.store.try_get(REPLICASETS, name, namespace=ns, copy=False)
        if rs is None:
            return
        uid = str(meta(rs)["uid"])
        desired = as_int((rs.get("spec") or {}).get("replicas"), 1)
        pods = [p for p in self.ctl.gc.owned(uid, "pods") if pod_live(p)]
        if len(pods) < desired:
            template = (rs.get("spec") or {}).get("template") or {}
            for _ in range(desired - len(pods)):
                pod = pod_from_template(rs, template, api_version="apps/v1", kind="ReplicaSet")
                with contextlib.suppress(KubeError):
                    created = self.store.create("pods", pod)
                    pods.append(created)
                    self.ctl.events.emit(
                        rs,
                        "SuccessfulCreate",
                        f"Created pod: {meta(created)['name']}",
                        component="replicaset-controller",
                    )
        elif len(pods) > desired:
            pods.sort(key=lambda p: str(meta(p).get("creationTimestamp", "")), reverse=True)
            pods.sort(key=pod_ready)
            doomed = pods[: len(pods) - desired]
            doomed_names = {meta(p)["name"] for p in doomed}
            for p in doomed:
                with contextlib.suppress(KubeError):
                    self.store.delete("pods", meta(p)["name"], namespace=ns)
                    self.ctl.events.emit(
                        rs,
                        "SuccessfulDelete",
                        f"Deleted pod: {meta(p)['name']}",
                        component="replicaset-controller",
                    )
            pods = [p for p in pods if meta(p)["name"] not in doomed_names]
        ready = sum(1 for p in pods if pod_ready(p))
        generation = meta(rs).get("generation", 1)

        def mutate(o: Obj) -> None:
            status: Obj = {"replicas": len(pods), "observedGeneration": generation}
            if pods:
                status["fullyLabeledReplicas"] = len(pods)
            if ready:
                status["readyReplicas"] = ready
                status["availableReplicas"] = ready
            o["status"] = status

        self.store.update(REPLICASETS, name, namespace=ns, mutate=mutate)
