"""The replicaset controller: keep ``spec.replicas`` live pods, deleting unready and newest ones first."""

from __future__ import annotations

from tui.sandbox.controllers.base import PodOwner
from tui.sandbox.controllers.common import REPLICASETS, as_int, meta, pod_live, pod_ready
from tui.sandbox.store import Obj


class ReplicaSetController(PodOwner):
    key = REPLICASETS
    owner_kind = "ReplicaSet"
    api_version = "apps/v1"
    watches = frozenset({REPLICASETS})

    def reconcile(self, rs: Obj) -> None:
        desired = as_int((rs.get("spec") or {}).get("replicas"), 1)
        pods = [p for p in self.owned(rs, "pods") if pod_live(p)]
        if len(pods) < desired:
            for _ in range(desired - len(pods)):
                created = self.create_pod(rs, self.new_pod(rs))
                if created is not None:
                    pods.append(created)
        elif len(pods) > desired:
            pods.sort(key=lambda p: str(meta(p).get("creationTimestamp", "")), reverse=True)
            pods.sort(key=pod_ready)
            doomed = pods[: len(pods) - desired]
            doomed_names = {meta(p)["name"] for p in doomed}
            for p in doomed:
                if self.remove("pods", p):
                    self.emit(rs, "SuccessfulDelete", f"Deleted pod: {meta(p)['name']}")
            pods = [p for p in pods if meta(p)["name"] not in doomed_names]
        ready = sum(1 for p in pods if pod_ready(p))
        status: Obj = {"replicas": len(pods), "observedGeneration": meta(rs).get("generation", 1)}
        if pods:
            status["fullyLabeledReplicas"] = len(pods)
        if ready:
            status["readyReplicas"] = ready
            status["availableReplicas"] = ready
        self.write_status(rs, status)
