"""The daemonset controller: one pod on every Ready node that matches the template's nodeSelector.

Pods are pinned the way the real controller does it, with a ``metadata.name`` node-affinity term. A template
change replaces pods one node at a time (``maxUnavailable: 1``). ``kubectl rollout status ds`` and helm
``--wait`` read ``desiredNumberScheduled``, ``updatedNumberScheduled``, ``numberReady``/``numberAvailable``
and ``observedGeneration``.
"""

from __future__ import annotations

from tui.sandbox.controllers.base import PodOwner
from tui.sandbox.controllers.common import (
    meta,
    ns_name,
    pod_live,
    pod_ready,
    resolve_int_or_percent,
    template_hash,
)
from tui.sandbox.controllers.revisions import REVISION_LABEL, save_revision
from tui.sandbox.controllers.scheduler import pinned_node, ready_nodes
from tui.sandbox.store import Obj

DAEMONSETS = "daemonsets.apps"
GENERATION_LABEL = "pod-template-generation"


class DaemonSetController(PodOwner):
    key = DAEMONSETS
    owner_kind = "DaemonSet"
    api_version = "apps/v1"
    watches = frozenset({DAEMONSETS, "nodes"})

    def admit(self, obj: Obj) -> None:
        spec = obj.setdefault("spec", {})
        strategy = spec.get("updateStrategy") or {}
        strategy.setdefault("type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            rolling = strategy.setdefault("rollingUpdate", {})
            rolling.setdefault("maxUnavailable", 1)
            rolling.setdefault("maxSurge", 0)
        spec["updateStrategy"] = strategy
        spec.setdefault("revisionHistoryLimit", 10)

    def on_event(self, event_type: str, key: str, obj: Obj) -> None:
        if key == "nodes":
            self.resync()
        else:
            super().on_event(event_type, key, obj)

    def reconcile(self, ds: Obj) -> None:
        name = ns_name(ds)[1]
        spec = ds.get("spec") or {}
        template = spec.get("template") or {}
        revision = template_hash(template)
        save_revision(
            self,
            ds,
            name=f"{name}-{revision}",
            template=template,
            number=int(meta(ds).get("generation") or 1),
        )
        wanted = [str(meta(n)["name"]) for n in self._eligible_nodes(template)]
        by_node: dict[str, Obj] = {}
        for pod in self.owned(ds, "pods"):
            node = pinned_node(pod)
            if not pod_live(pod) or node not in wanted or node in by_node:
                self.remove("pods", pod)
            else:
                by_node[node] = pod
        for node in wanted:
            if node not in by_node:
                created = self._create_pod(ds, node, revision)
                if created is not None:
                    by_node[node] = created
        self._roll(ds, by_node, revision, len(wanted))
        self._status(ds, by_node, revision, len(wanted))

    def _eligible_nodes(self, template: Obj) -> list[Obj]:
        selector = (template.get("spec") or {}).get("nodeSelector") or {}
        return [
            n
            for n in ready_nodes(self.store, cordoned=True)
            if all((meta(n).get("labels") or {}).get(k) == v for k, v in selector.items())
        ]

    def _create_pod(self, ds: Obj, node: str, revision: str) -> Obj | None:
        pod = self.new_pod(ds)
        pod["metadata"]["labels"].update(
            {REVISION_LABEL: revision, GENERATION_LABEL: str(meta(ds).get("generation") or 1)}
        )
        affinity = pod["spec"].setdefault("affinity", {})
        affinity.setdefault("nodeAffinity", {})["requiredDuringSchedulingIgnoredDuringExecution"] = {
            "nodeSelectorTerms": [
                {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}
            ]
        }
        tolerations = list(pod["spec"].get("tolerations") or [])
        for taint in ("not-ready", "unreachable", "disk-pressure", "memory-pressure", "pid-pressure"):
            tolerations.append(
                {"key": f"node.kubernetes.io/{taint}", "operator": "Exists", "effect": "NoSchedule"}
            )
        pod["spec"]["tolerations"] = tolerations
        return self.create_pod(ds, pod)

    def _roll(self, ds: Obj, by_node: dict[str, Obj], revision: str, desired: int) -> None:
        strategy = (ds.get("spec") or {}).get("updateStrategy") or {}
        if strategy.get("type", "RollingUpdate") != "RollingUpdate":
            return
        budget = max(
            1,
            resolve_int_or_percent(
                (strategy.get("rollingUpdate") or {}).get("maxUnavailable", 1), desired, round_up=True
            ),
        )
        unavailable = sum(1 for p in by_node.values() if not pod_ready(p)) + desired - len(by_node)
        outdated = sorted(
            (
                node
                for node, p in by_node.items()
                if (meta(p).get("labels") or {}).get(REVISION_LABEL) != revision
            ),
            key=lambda node: pod_ready(by_node[node]),
        )
        for node in outdated[: max(0, budget - unavailable)]:
            self.remove("pods", by_node.pop(node))

    def _status(self, ds: Obj, by_node: dict[str, Obj], revision: str, desired: int) -> None:
        pods = list(by_node.values())
        ready = sum(1 for p in pods if pod_ready(p))
        updated = sum(1 for p in pods if (meta(p).get("labels") or {}).get(REVISION_LABEL) == revision)
        fresh: Obj = {
            "observedGeneration": meta(ds).get("generation", 1),
            "desiredNumberScheduled": desired,
            "currentNumberScheduled": len(pods),
            "numberMisscheduled": 0,
            "numberReady": ready,
            "updatedNumberScheduled": updated,
            "numberAvailable": ready,
        }
        if desired - ready > 0:
            fresh["numberUnavailable"] = desired - ready
        self.write_status(ds, fresh)
