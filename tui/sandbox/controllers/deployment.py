"""The deployment controller: one ReplicaSet per pod template, rolling or recreating between them.

helm ``--wait`` reads what this writes: a controller ownerReference, the ReplicaSet's template equal to the
Deployment's, and ``observedGeneration`` and ready counts on both (see KUBE-CLIENTS.md, section 4).
"""

from __future__ import annotations

import copy
import logging

from tui.errors import KubeError
from tui.sandbox.controllers.base import Reconciler
from tui.sandbox.controllers.common import (
    DEPLOYMENTS,
    HASH_LABEL,
    REPLICASETS,
    REVISION,
    as_int,
    int_str,
    meta,
    ns_name,
    resolve_int_or_percent,
    set_condition,
    template_hash,
    templates_equal,
)
from tui.sandbox.store import Obj, now_rfc3339

log = logging.getLogger(__name__)


class DeploymentController(Reconciler):
    key = DEPLOYMENTS
    owner_kind = "Deployment"
    api_version = "apps/v1"
    watches = frozenset({DEPLOYMENTS})

    def reconcile(self, dep: Obj) -> None:
        ns = ns_name(dep)[0]
        spec = dep.get("spec") or {}
        desired = as_int(spec.get("replicas"), 1)
        template = spec.get("template") or {}
        rses = self.owned(dep, REPLICASETS)
        new = next(
            (rs for rs in rses if templates_equal((rs.get("spec") or {}).get("template"), template)), None
        )
        olds = [rs for rs in rses if rs is not new]
        max_revision = max((int_str(meta(rs).get("annotations", {}).get(REVISION)) for rs in rses), default=0)
        if new is None:
            self._create_replicaset(dep, template, desired, max_revision + 1, olds)
            return
        new_name = meta(new)["name"]
        revision = int_str((meta(new).get("annotations") or {}).get(REVISION))
        if (new.get("spec") or {}).get("replicas") != desired or revision < max_revision:

            def scale_new(o: Obj) -> None:
                o.setdefault("spec", {})["replicas"] = desired
                if revision < max_revision:
                    o["metadata"].setdefault("annotations", {})[REVISION] = str(max_revision + 1)

            before = as_int((new.get("spec") or {}).get("replicas"), 0)
            new = self.store.update(REPLICASETS, new_name, namespace=ns, mutate=scale_new)
            if before != desired:
                verb = "up" if desired > before else "down"
                self.emit(
                    dep,
                    "ScalingReplicaSet",
                    f"Scaled {verb} replica set {new_name} from {before} to {desired}",
                )
        strategy = (spec.get("strategy") or {}).get("type", "RollingUpdate")
        new_ready = as_int((new.get("status") or {}).get("readyReplicas"), 0)
        if strategy == "Recreate" or new_ready >= desired:
            for rs in olds:
                replicas = as_int((rs.get("spec") or {}).get("replicas"), 0)
                if replicas:
                    self.store.update(
                        REPLICASETS,
                        meta(rs)["name"],
                        namespace=ns,
                        mutate=lambda o: o.setdefault("spec", {}).update(replicas=0),
                    )
                    self.emit(
                        dep,
                        "ScalingReplicaSet",
                        f"Scaled down replica set {meta(rs)['name']} from {replicas} to 0",
                    )
        self._trim_history(spec, olds)
        self._deployment_status(dep, new, self.owned(dep, REPLICASETS), desired)

    def _create_replicaset(
        self, dep: Obj, template: Obj, desired: int, revision: int, olds: list[Obj]
    ) -> None:
        ns, name = ns_name(dep)
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
                    "ownerReferences": [self.owner_ref(dep)],
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
            self.emit(dep, "ScalingReplicaSet", f"Scaled up replica set {name}-{h} from 0 to {desired}")
            if (dep.get("spec") or {}).get("strategy", {}).get("type") == "Recreate":
                self.ctl.mark(DEPLOYMENTS, ns, name)
            return
        log.warning("deployment %s/%s: could not find a free ReplicaSet name", ns, name)

    def _trim_history(self, spec: Obj, olds: list[Obj]) -> None:
        limit = as_int(spec.get("revisionHistoryLimit"), 10)
        idle = [
            rs
            for rs in olds
            if not as_int((rs.get("spec") or {}).get("replicas"), 0)
            and not as_int((rs.get("status") or {}).get("replicas"), 0)
        ]
        idle.sort(key=lambda rs: int_str((meta(rs).get("annotations") or {}).get(REVISION)))
        for rs in idle[: max(0, len(idle) - limit)]:
            self.remove(REPLICASETS, rs)

    def _deployment_status(self, dep: Obj, new: Obj, rses: list[Obj], desired: int) -> None:
        m = meta(dep)
        spec = dep.get("spec") or {}
        statuses = [rs.get("status") or {} for rs in rses]
        replicas = sum(as_int(s.get("replicas"), 0) for s in statuses)
        ready = sum(as_int(s.get("readyReplicas"), 0) for s in statuses)
        available = sum(as_int(s.get("availableReplicas"), 0) for s in statuses)
        new_status = next((rs.get("status") or {} for rs in rses if meta(rs)["uid"] == meta(new)["uid"]), {})
        updated = as_int(new_status.get("replicas"), 0)
        rolling = (spec.get("strategy") or {}).get("rollingUpdate") or {}
        max_unavailable = 0
        if (spec.get("strategy") or {}).get("type", "RollingUpdate") == "RollingUpdate":
            max_unavailable = resolve_int_or_percent(
                rolling.get("maxUnavailable", "25%"), desired, round_up=False
            )
        new_name = meta(new)["name"]
        complete = updated == desired and replicas == desired and available >= desired
        revision = (meta(new).get("annotations") or {}).get(REVISION)

        def mutate(o: Obj) -> None:
            if revision:
                o["metadata"].setdefault("annotations", {})[REVISION] = revision
            status = o.setdefault("status", {})
            now = now_rfc3339()
            conditions = list(status.get("conditions") or [])
            has_min = available >= desired - max_unavailable
            set_condition(
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
            set_condition(
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
            fresh: Obj = {"observedGeneration": meta(o).get("generation", 1)}
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

        self.store.update(DEPLOYMENTS, m["name"], namespace=str(m.get("namespace") or ""), mutate=mutate)
