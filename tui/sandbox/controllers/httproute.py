"""HTTPRoute status as istiod writes it: one ``parents`` entry per parentRef it handles.

* A Gateway parent of an Istio class, or a Service parent (GAMMA): ``Accepted`` True when it exists and
  (for a Gateway) a listener admits the route; else False, ``NoMatchingParent`` (missing parent) or
  ``NotAllowedByListeners``. Gateways of other classes are left to their own controllers.
* ``ResolvedRefs`` True when every backendRef names an existing Service it may use; else False,
  ``BackendNotFound``, or ``RefNotPermitted`` for another namespace's Service without a ReferenceGrant.
* Entries other controllers wrote are kept.
"""

from __future__ import annotations

from typing import Any

from tui.sandbox.controllers.base import Reconciler
from tui.sandbox.controllers.common import meta, ns_name
from tui.sandbox.controllers.gateway import CLASSES, condition, merge_conditions
from tui.sandbox.gateway_routes import (
    GATEWAYS,
    HTTPROUTES,
    REFERENCE_GRANTS,
    accepts_route,
    backend_permitted,
    is_service_ref,
)
from tui.sandbox.injection import WEBHOOK_KEY, injector_configs
from tui.sandbox.store import Obj

CONTROLLER = "istio.io/gateway-controller"
_OURS = {c for c, _ in CLASSES.values()}


class HTTPRouteController(Reconciler):
    key = HTTPROUTES
    watches = frozenset({HTTPROUTES, GATEWAYS, REFERENCE_GRANTS, "services", WEBHOOK_KEY})

    def on_event(self, event_type: str, key: str, obj: Obj) -> None:
        if key == HTTPROUTES:
            super().on_event(event_type, key, obj)
        else:
            self.resync()

    def reconcile(self, route: Obj) -> None:
        if not injector_configs(self.store):
            return
        ns = ns_name(route)[0]
        gen = meta(route).get("generation")
        resolved = self._resolved(route, ns, gen)
        old = list((route.get("status") or {}).get("parents") or [])
        parents = [p for p in old if p.get("controllerName") not in _OURS]
        for ref in (route.get("spec") or {}).get("parentRefs") or []:
            accepted = self._accepted(route, ref, ns, gen)
            if accepted is None:
                continue
            previous = next(
                (
                    p.get("conditions")
                    for p in old
                    if p.get("parentRef") == ref and p.get("controllerName") in _OURS
                ),
                None,
            )
            parents.append(
                {
                    "parentRef": ref,
                    "controllerName": CONTROLLER,
                    "conditions": merge_conditions(previous, [accepted, resolved]),
                }
            )
        if parents != old:
            self.write_status(route, {"parents": parents})

    def _accepted(self, route: Obj, ref: Any, ns: str, gen: Any) -> Obj | None:
        target_ns = str(ref.get("namespace") or ns)
        name = str(ref.get("name"))
        if is_service_ref(ref):
            if self.store.try_get("services", name, namespace=target_ns, copy=False) is None:
                return condition(
                    "Accepted", False, "NoMatchingParent", f"Service {target_ns}/{name} not found", gen
                )
            return condition("Accepted", True, "Accepted", "Route was valid", gen)
        if ref.get("kind", "Gateway") != "Gateway":
            return None
        gw = self.store.try_get(GATEWAYS, name, namespace=target_ns, copy=False)
        if gw is None:
            return condition(
                "Accepted", False, "NoMatchingParent", f"gateway {target_ns}/{name} not found", gen
            )
        if (gw.get("spec") or {}).get("gatewayClassName") not in CLASSES:
            return None
        listeners = (gw.get("spec") or {}).get("listeners") or []
        if not any(accepts_route(gw, lis, route, self.store) for lis in listeners):
            return condition(
                "Accepted",
                False,
                "NotAllowedByListeners",
                "no listener of the gateway admits this route",
                gen,
            )
        return condition("Accepted", True, "Accepted", "Route was valid", gen)

    def _resolved(self, route: Obj, ns: str, gen: Any) -> Obj:
        for rule in (route.get("spec") or {}).get("rules") or []:
            for b in rule.get("backendRefs") or []:
                if b.get("kind", "Service") != "Service" or b.get("group", "") not in ("", "core"):
                    kind = b.get("kind", "Service")
                    return condition(
                        "ResolvedRefs", False, "InvalidKind", f"unsupported backend kind {kind}", gen
                    )
                target_ns = str(b.get("namespace") or ns)
                if not backend_permitted(self.store, route_ns=ns, backend=(target_ns, str(b.get("name")))):
                    ref = f"{b.get('name')}/{target_ns}"
                    why = f'backendRef {ref} not accessible to a HTTPRoute in namespace "{ns}"'
                    why += " (missing a ReferenceGrant?)"
                    return condition("ResolvedRefs", False, "RefNotPermitted", why, gen)
                if (
                    self.store.try_get("services", str(b.get("name")), namespace=target_ns, copy=False)
                    is None
                ):
                    host = f"{b.get('name')}.{target_ns}.svc.cluster.local"
                    return condition(
                        "ResolvedRefs", False, "BackendNotFound", f"backend({host}) not found", gen
                    )
        return condition("ResolvedRefs", True, "ResolvedRefs", "All references resolved", gen)
