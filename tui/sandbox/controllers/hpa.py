"""The horizontal pod autoscaler: keep the target's replicas within ``minReplicas``..``maxReplicas``.

The sandbox has no metrics API (like a cluster without metrics-server), so metric-driven scaling never
happens and ``ScalingActive`` says so; the bounds still apply, which is what the gateway and istiod charts
rely on (they leave ``spec.replicas`` out when autoscaling is on).
"""

from __future__ import annotations

from tui.sandbox.controllers.base import Reconciler
from tui.sandbox.controllers.common import as_int, condition, meta, ns_name, set_condition
from tui.sandbox.store import Obj, now_rfc3339

HPAS = "horizontalpodautoscalers.autoscaling"
SCALABLE = {
    "Deployment": "deployments.apps",
    "StatefulSet": "statefulsets.apps",
    "ReplicaSet": "replicasets.apps",
}


class HorizontalPodAutoscalerController(Reconciler):
    key = HPAS
    component = "horizontal-pod-autoscaler"
    watches = frozenset({HPAS, *SCALABLE.values()})

    def admit(self, obj: Obj) -> None:
        spec = obj.setdefault("spec", {})
        if spec.get("minReplicas") is None:
            spec["minReplicas"] = 1

    def on_event(self, event_type: str, key: str, obj: Obj) -> None:
        if key == HPAS:
            super().on_event(event_type, key, obj)
            return
        ns, name = ns_name(obj)
        hpas, _ = self.store.list(HPAS, namespace=ns)
        for hpa in hpas:
            ref = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
            if ref.get("name") == name and SCALABLE.get(str(ref.get("kind"))) == key:
                self.ctl.mark(HPAS, ns, str(meta(hpa)["name"]))

    def reconcile(self, hpa: Obj) -> None:
        ns, name = ns_name(hpa)
        spec = hpa.get("spec") or {}
        ref = spec.get("scaleTargetRef") or {}
        target_key = SCALABLE.get(str(ref.get("kind")))
        target = (
            self.store.try_get(target_key, str(ref.get("name")), namespace=ns, copy=False)
            if target_key
            else None
        )
        low = as_int(spec.get("minReplicas"), 1)
        high = max(low, as_int(spec.get("maxReplicas"), low))
        now = now_rfc3339()
        conditions = list((hpa.get("status") or {}).get("conditions") or [])
        scaled = False
        current = desired = 0
        if target is None or target_key is None:
            set_condition(
                conditions,
                condition(
                    "AbleToScale",
                    False,
                    "FailedGetScale",
                    f"the HPA controller was unable to get the target's current scale: {ref.get('kind')} "
                    f'"{ref.get("name")}" not found',
                    now=now,
                ),
                now,
            )
        else:
            current = as_int((target.get("spec") or {}).get("replicas"), 1)
            desired = min(max(current, low), high)
            if desired != current:
                self.store.update(
                    target_key,
                    str(ref.get("name")),
                    namespace=ns,
                    mutate=lambda o: o.setdefault("spec", {}).update(replicas=desired),
                )
                scaled = True
                self.emit(
                    hpa,
                    "SuccessfulRescale",
                    f"New size: {desired}; reason: Current number of replicas "
                    f"{'below Spec.MinReplicas' if desired > current else 'above Spec.MaxReplicas'}",
                )
            set_condition(
                conditions,
                condition(
                    "AbleToScale", True, "ReadyForNewScale", "recommended size matches current size", now=now
                ),
                now,
            )
            set_condition(
                conditions,
                condition(
                    "ScalingActive",
                    False,
                    "FailedGetResourceMetric",
                    "the HPA was unable to compute the replica count: the sandbox serves no metrics API",
                    now=now,
                ),
                now,
            )
            limited = desired in (low, high) and current != desired
            set_condition(
                conditions,
                condition(
                    "ScalingLimited",
                    limited,
                    ("TooFewReplicas" if desired == low else "TooManyReplicas")
                    if limited
                    else "DesiredWithinRange",
                    "the desired replica count is "
                    + (
                        ("less than the minimum" if desired == low else "more than the maximum")
                        if limited
                        else "within the acceptable range"
                    ),
                    now=now,
                ),
                now,
            )
        running = as_int(((target or {}).get("status") or {}).get("replicas"), 0)

        def mutate(o: Obj) -> None:
            st = o.setdefault("status", {})
            st["currentReplicas"] = running
            st["desiredReplicas"] = desired
            st["conditions"] = conditions
            if scaled:
                st["lastScaleTime"] = now
            o["status"]["observedGeneration"] = meta(o).get("generation", 1)

        self.store.update(HPAS, name, namespace=ns, mutate=mutate)
