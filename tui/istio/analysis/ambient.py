"""L7 configuration on ambient workloads that no waypoint will ever apply.

Facts: in ambient mode ztunnel handles L4 only. HTTP routing (a mesh VirtualService, an HTTPRoute whose parent
is a Service) and AuthorizationPolicies with L7 rules take effect only through a waypoint, which a Service or
its namespace selects with the ``istio.io/use-waypoint`` label. Without one they are silently ignored.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from tui.istio.analysis.model import Finding, Obj, Path, Snapshot, finding, labels_of, ns_of, spec_of
from tui.istio.analysis.routes import destinations, service_key
from tui.istio.injection import DATAPLANE_LABEL

NO_WAYPOINT = "IT0601"
USE_WAYPOINT = "istio.io/use-waypoint"
_L7_OPERATION_KEYS = ("methods", "notMethods", "paths", "notPaths", "hosts", "notHosts")


def _needs_waypoint(snapshot: Snapshot, namespace: str, service: str) -> bool:
    """True when the Service runs in ambient and nothing points it at a waypoint."""
    ns_labels = snapshot.namespace_labels(namespace)
    if ns_labels.get(DATAPLANE_LABEL) != "ambient" or ns_labels.get(USE_WAYPOINT):
        return False
    svc = snapshot.service(namespace, service)
    return svc is not None and not labels_of(svc).get(USE_WAYPOINT)


def _no_waypoint(obj: Obj, what: str, namespace: str, service: str, path: Path) -> Finding:
    return finding(
        obj,
        code=NO_WAYPOINT,
        level="warning",
        message=f"{what} on {service} needs a waypoint: {namespace} runs in ambient mode and neither the "
        "Service nor the namespace uses one, so ztunnel (L4 only) ignores it",
        fix=f"istioctl waypoint apply -n {namespace} --enroll-namespace (or deploy a waypoint and "
        f"kubectl label service {service} -n {namespace} {USE_WAYPOINT}=waypoint)",
        path=path,
    )


def _mesh_bound(vs: Mapping[str, Any]) -> bool:
    gateways = spec_of(vs).get("gateways") or []
    return not gateways or "mesh" in gateways


def check_virtual_services(snapshot: Snapshot) -> Iterator[Finding]:
    for vs in snapshot.virtual_services:
        if not _mesh_bound(vs):
            continue
        for i, host in enumerate(spec_of(vs).get("hosts") or ()):
            key = service_key(str(host), ns_of(vs))
            if key and _needs_waypoint(snapshot, *key) and any(True for _ in destinations(vs)):
                yield _no_waypoint(vs, "routing", key[0], key[1], ("spec", "hosts", i))


def check_http_routes(snapshot: Snapshot) -> Iterator[Finding]:
    for route in snapshot.http_routes:
        for i, parent in enumerate(spec_of(route).get("parentRefs") or ()):
            if parent.get("kind") != "Service" or parent.get("group") not in (None, "", "core"):
                continue
            ns = str(parent.get("namespace") or ns_of(route))
            if _needs_waypoint(snapshot, ns, str(parent.get("name") or "")):
                yield _no_waypoint(route, "routing", ns, str(parent.get("name")), ("spec", "parentRefs", i))


def _l7_rule(rule: Mapping[str, Any]) -> bool:
    ops = [(to.get("operation") or {}) for to in rule.get("to") or ()]
    if any(op.get(k) for op in ops for k in _L7_OPERATION_KEYS):
        return True
    return any(str(w.get("key") or "").startswith("request.") for w in rule.get("when") or ())


def check_policies(snapshot: Snapshot) -> Iterator[Finding]:
    for policy in snapshot.authorization_policies:
        spec = spec_of(policy)
        rules = spec.get("rules") or ()
        l7 = next((i for i, r in enumerate(rules) if _l7_rule(r)), None)
        if l7 is None:
            continue
        targets = [t for t in spec.get("targetRefs") or () if t.get("kind") == "Service"]
        if targets:
            for t in targets:
                if _needs_waypoint(snapshot, ns_of(policy), str(t.get("name") or "")):
                    yield _no_waypoint(
                        policy, "L7 policy", ns_of(policy), str(t.get("name")), ("spec", "rules", l7)
                    )
            continue
        selector = (spec.get("selector") or {}).get("matchLabels") or {}
        for svc in snapshot.services:
            sel = spec_of(svc).get("selector") or {}
            if ns_of(svc) != ns_of(policy) or not sel or any(sel.get(k) != v for k, v in selector.items()):
                continue
            if _needs_waypoint(snapshot, ns_of(svc), str((svc.get("metadata") or {}).get("name"))):
                yield _no_waypoint(
                    policy, "L7 policy", ns_of(svc), str(svc["metadata"]["name"]), ("spec", "rules", l7)
                )
                break
