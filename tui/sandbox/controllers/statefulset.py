"""The statefulset controller: ordinal pods ``<name>-0..N-1`` with their own PVCs, rolled out in order.

What clients read: ``kubectl rollout status sts`` waits for ``observedGeneration``, ``readyReplicas`` and
``updateRevision == currentRevision``; helm ``--wait`` also compares ``updatedReplicas`` with the replicas
above the partition. Each pod carries ``controller-revision-hash``, the ControllerRevision it was made from.
"""

from __future__ import annotations

import copy

from tui.sandbox.controllers.base import PodOwner
from tui.sandbox.controllers.common import as_int, meta, ns_name, pod_live, pod_ready, template_hash
from tui.sandbox.controllers.revisions import REVISION_LABEL, REVISIONS, save_revision
from tui.sandbox.store import Obj

STATEFULSETS = "statefulsets.apps"
POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"


class StatefulSetController(PodOwner):
    key = STATEFULSETS
    owner_kind = "StatefulSet"
    api_version = "apps/v1"
    watches = frozenset({STATEFULSETS})

    def admit(self, obj: Obj) -> None:
        spec = obj.setdefault("spec", {})
        if spec.get("replicas") is None:
            spec["replicas"] = 1
        spec.setdefault("podManagementPolicy", "OrderedReady")
        strategy = spec.get("updateStrategy") or {}
        strategy.setdefault("type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate" and isinstance(strategy.get("rollingUpdate"), dict):
            strategy["rollingUpdate"].setdefault("partition", 0)
        spec["updateStrategy"] = strategy
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault(
            "persistentVolumeClaimRetentionPolicy", {"whenDeleted": "Retain", "whenScaled": "Retain"}
        )
        for claim in spec.get("volumeClaimTemplates") or []:
            if isinstance(claim, dict):
                claim.setdefault("apiVersion", "v1")
                claim.setdefault("kind", "PersistentVolumeClaim")
                claim.setdefault("spec", {}).setdefault("volumeMode", "Filesystem")
                claim.setdefault("status", {"phase": "Pending"})

    def reconcile(self, sts: Obj) -> None:
        name = ns_name(sts)[1]
        spec = sts.get("spec") or {}
        desired = as_int(spec.get("replicas"), 1)
        template = spec.get("template") or {}
        update_revision = f"{name}-{template_hash(template)}"
        status = sts.get("status") or {}
        current_revision = str(status.get("currentRevision") or update_revision)
        number = as_int(status.get("collisionCount"), 0) + len(self.owned(sts, REVISIONS))
        save_revision(self, sts, name=update_revision, template=template, number=number + 1)
        pods = {self._ordinal(p, name): p for p in self.owned(sts, "pods") if pod_live(p)}
        parallel = spec.get("podManagementPolicy") == "Parallel"
        self._scale(sts, pods, desired, update_revision, parallel=parallel)
        self._roll(sts, pods, desired, update_revision, parallel=parallel)
        self._status(sts, list(pods.values()), desired, current_revision, update_revision)

    @staticmethod
    def _ordinal(pod: Obj, name: str) -> int:
        suffix = str(meta(pod)["name"])[len(name) + 1 :]
        return int(suffix) if suffix.isdigit() else -1

    def _scale(self, sts: Obj, pods: dict[int, Obj], desired: int, revision: str, *, parallel: bool) -> None:
        name = str(meta(sts)["name"])
        for i in range(desired):
            if i in pods:
                if not parallel and not pod_ready(pods[i]):
                    return
                continue
            created = self._create_pod(sts, i, revision)
            if created is not None:
                pods[i] = created
            if not parallel:
                return
        for i in sorted((o for o in pods if o >= desired or o < 0), reverse=True):
            if not parallel and not all(pod_ready(p) for o, p in pods.items() if o < i):
                return
            if self.remove("pods", pods.pop(i)):
                self.emit(sts, "SuccessfulDelete", f"delete Pod {name}-{i} in StatefulSet {name} successful")
            if not parallel:
                return

    def _roll(self, sts: Obj, pods: dict[int, Obj], desired: int, revision: str, *, parallel: bool) -> None:
        """RollingUpdate: replace the highest-ordinal outdated pod once every pod is Ready."""
        strategy = (sts.get("spec") or {}).get("updateStrategy") or {}
        if strategy.get("type", "RollingUpdate") != "RollingUpdate":
            return
        partition = as_int((strategy.get("rollingUpdate") or {}).get("partition"), 0)
        if len(pods) < desired or not all(pod_ready(p) for p in pods.values()):
            return
        outdated = [
            o
            for o, p in pods.items()
            if o >= partition and (meta(p).get("labels") or {}).get(REVISION_LABEL) != revision
        ]
        if outdated:
            self.remove("pods", pods.pop(max(outdated)))

    def _create_pod(self, sts: Obj, ordinal: int, revision: str) -> Obj | None:
        name = str(meta(sts)["name"])
        spec = sts.get("spec") or {}
        pod_name = f"{name}-{ordinal}"
        pod = self.new_pod(sts, name=pod_name)
        pod["metadata"]["labels"].update(
            {REVISION_LABEL: revision, POD_NAME_LABEL: pod_name, POD_INDEX_LABEL: str(ordinal)}
        )
        pod_spec = pod["spec"]
        pod_spec["hostname"] = pod_name
        if spec.get("serviceName"):
            pod_spec["subdomain"] = spec["serviceName"]
        volumes = [v for v in pod_spec.get("volumes") or [] if isinstance(v, dict)]
        for claim in spec.get("volumeClaimTemplates") or []:
            claim_name = str(meta(claim).get("name"))
            pvc_name = f"{claim_name}-{pod_name}"
            self._ensure_claim(sts, claim, pvc_name)
            volumes = [v for v in volumes if v.get("name") != claim_name]
            volumes.append({"name": claim_name, "persistentVolumeClaim": {"claimName": pvc_name}})
        if volumes:
            pod_spec["volumes"] = volumes
        return self.create_owned(
            sts, "pods", pod, message=f"create Pod {pod_name} in StatefulSet {name} successful"
        )

    def _ensure_claim(self, sts: Obj, claim: Obj, pvc_name: str) -> None:
        ns, name = ns_name(sts)
        selector = ((sts.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        body = {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {
                "name": pvc_name,
                "namespace": ns,
                "labels": {**(meta(claim).get("labels") or {}), **selector},
            },
            "spec": copy.deepcopy(claim.get("spec") or {}),
        }
        pod_name = pvc_name[len(str(meta(claim).get("name"))) + 1 :]
        self.create_owned(
            sts,
            "persistentvolumeclaims",
            body,
            message=f"create Claim {pvc_name} Pod {pod_name} in StatefulSet {name} success",
        )

    def _status(self, sts: Obj, pods: list[Obj], desired: int, current: str, update: str) -> None:
        def rev(p: Obj) -> str:
            return str((meta(p).get("labels") or {}).get(REVISION_LABEL))

        ready = sum(1 for p in pods if pod_ready(p))
        updated = sum(1 for p in pods if rev(p) == update)
        done = updated == desired == len(pods) and ready == desired
        current_revision = update if done else current
        current_replicas = sum(1 for p in pods if rev(p) == current_revision)
        generation = meta(sts).get("generation", 1)
        fresh: Obj = {
            "observedGeneration": generation,
            "replicas": len(pods),
            "readyReplicas": ready,
            "currentReplicas": current_replicas,
            "updatedReplicas": updated,
            "currentRevision": current_revision,
            "updateRevision": update,
            "collisionCount": 0,
            "availableReplicas": ready,
        }
        self.write_status(sts, fresh)
