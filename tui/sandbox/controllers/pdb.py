"""PodDisruptionBudget status: how many selected pods are healthy and how many may be evicted now.

Worked per namespace, since any pod change there can move any budget. ``expectedPods`` counts the selected
live pods (the real controller asks their owners' scale, which is the same number once they have rolled out).
"""

from __future__ import annotations

from tui.labels import match_label_selector_object
from tui.sandbox.controllers.base import Reconciler
from tui.sandbox.controllers.common import (
    meta,
    ns_name,
    pod_live,
    pod_ready,
    resolve_int_or_percent,
    set_condition,
)
from tui.sandbox.store import Obj, now_rfc3339

PDBS = "poddisruptionbudgets.policy"


class DisruptionController(Reconciler):
    """Keyed by namespace: ``sync(ns, "")``."""

    key = PDBS
    watches = frozenset({PDBS, "pods"})

    def on_event(self, event_type: str, key: str, obj: Obj) -> None:
        ns, _ = ns_name(obj)
        if key == PDBS or self.store.count(PDBS):
            self.ctl.mark(PDBS, ns, "")

    def resync(self) -> None:
        budgets, _ = self.store.list(PDBS)
        for ns in {ns_name(b)[0] for b in budgets}:
            self.ctl.mark(PDBS, ns, "")

    def sync(self, ns: str, name: str) -> None:
        budgets, _ = self.store.list(PDBS, namespace=ns)
        if not budgets:
            return
        pods, _ = self.store.list("pods", namespace=ns)
        for pdb in budgets:
            self._sync_one(pdb, [p for p in pods if pod_live(p)])

    def _sync_one(self, pdb: Obj, pods: list[Obj]) -> None:
        spec = pdb.get("spec") or {}
        selector = spec.get("selector")
        chosen = (
            [p for p in pods if match_label_selector_object(selector, meta(p).get("labels") or {})]
            if selector
            else []
        )
        expected = len(chosen)
        healthy = sum(1 for p in chosen if pod_ready(p))
        if spec.get("minAvailable") is not None:
            desired = resolve_int_or_percent(spec["minAvailable"], expected, round_up=True)
        elif spec.get("maxUnavailable") is not None:
            desired = max(
                0, expected - resolve_int_or_percent(spec["maxUnavailable"], expected, round_up=True)
            )
        else:
            desired = expected
        allowed = max(0, healthy - desired)
        now = now_rfc3339()

        def mutate(o: Obj) -> None:
            st = o.setdefault("status", {})
            conditions = list(st.get("conditions") or [])
            set_condition(
                conditions,
                {
                    "type": "DisruptionAllowed",
                    "status": "True" if allowed else "False",
                    "reason": "SufficientPods" if allowed else "InsufficientPods",
                    "message": "",
                    "observedGeneration": meta(o).get("generation", 1),
                    "lastTransitionTime": now,
                },
                now,
            )
            st.update(
                observedGeneration=meta(o).get("generation", 1),
                currentHealthy=healthy,
                desiredHealthy=desired,
                expectedPods=expected,
                disruptionsAllowed=allowed,
                conditions=conditions,
            )

        pns, pname = ns_name(pdb)
        self.store.update(PDBS, pname, namespace=pns, mutate=mutate)
