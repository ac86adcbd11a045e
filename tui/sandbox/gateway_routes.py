"""Gateway API routing as Istio applies it, for the sandbox's controllers and data plane.

* **Attachment.** An HTTPRoute attaches to a Gateway listener when a ``parentRef`` names the Gateway (and,
  when given, the listener's ``sectionName`` or ``port``), the listener's ``allowedRoutes.namespaces``
  admits the route's namespace (``Same`` by default, ``All``, or a ``Selector``), and their hostnames
  intersect. A ``parentRef`` of kind Service (GAMMA) binds the route to in-mesh calls to that Service.
* **Matching.** The route with the most specific matching hostname wins; within it (and among routes
  without hostnames) matches are tried most specific first, as the Gateway API orders them: Exact path
  before the longest PathPrefix before RegularExpression, then method, then more header matches, then more
  query matches, then the older route. A rule without matches matches ``PathPrefix /``. PathPrefix matches
  whole path elements (``/static`` matches ``/static/x``, not ``/staticx``); regular expressions must
  match the whole value.
* **Backends.** ``backendRefs`` split by ``weight`` (default 1; 0 takes no traffic) over Services; the
  share of a missing Service, or of one in another namespace that no ReferenceGrant there opens to the
  route's namespace, answers 500, as Istio does. A ``ResponseHeaderModifier`` (set, add,
  remove) travels with the pick; request header changes are not modelled (Bookinfo ignores them).
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any, Final

from tui.istio.ambient import WAYPOINT_CLASS, serves_services, waypoint_ref
from tui.labels import selector_matches
from tui.sandbox.store import Obj, Store

GROUP: Final = "gateway.networking.k8s.io"
GATEWAYS: Final = f"gateways.{GROUP}"
HTTPROUTES: Final = f"httproutes.{GROUP}"
GATEWAY_CLASSES: Final = f"gatewayclasses.{GROUP}"
REFERENCE_GRANTS: Final = f"referencegrants.{GROUP}"
ROUTING_KEYS: Final = (GATEWAYS, HTTPROUTES, REFERENCE_GRANTS)  # what the data plane's routes depend on
GATEWAY_NAME_LABEL: Final = "gateway.networking.k8s.io/gateway-name"
ISTIO_CLASS: Final = "istio"
HTTP_PROTOCOLS: Final = ("HTTP", "HTTPS")


def gateway_service_name(name: str, cls: str) -> str:
    """Istio names a gateway's Deployment and Service ``<name>-<class>``; a waypoint keeps its own name."""
    return name if cls == WAYPOINT_CLASS else f"{name}-{cls}"


def _ns(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("namespace") or "")


def _is_gateway_ref(ref: Mapping[str, Any]) -> bool:
    return ref.get("group", GROUP) == GROUP and ref.get("kind", "Gateway") == "Gateway"


def is_service_ref(ref: Mapping[str, Any]) -> bool:
    return ref.get("kind") == "Service" and ref.get("group", "") in ("", "core")


def route_parents(route: Obj, gw: Obj) -> list[Mapping[str, Any]]:
    """The route's parentRefs that name ``gw``."""
    gm = gw.get("metadata") or {}
    return [
        ref
        for ref in (route.get("spec") or {}).get("parentRefs") or []
        if _is_gateway_ref(ref)
        and ref.get("name") == gm.get("name")
        and (ref.get("namespace") or _ns(route)) == _ns(gw)
    ]


def _host_matches(pattern: str, host: str) -> bool:
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) or (host.startswith("*.") and host.endswith(pattern[1:]))
    return pattern == host


def hostnames_intersect(listener_host: str, route_hosts: list[str]) -> bool:
    if not listener_host or not route_hosts:
        return True
    return any(_host_matches(listener_host, h) or _host_matches(h, listener_host) for h in route_hosts)


def accepts_route(gw: Obj, listener: Mapping[str, Any], route: Obj, store: Store) -> bool:
    """Whether ``route`` attaches to this listener of ``gw`` (see the module docstring)."""
    if str(listener.get("protocol") or "") not in HTTP_PROTOCOLS:
        return False
    refs = [
        r
        for r in route_parents(route, gw)
        if r.get("sectionName") in (None, listener.get("name"))
        and r.get("port") in (None, listener.get("port"))
    ]
    if not refs:
        return False
    allowed = ((listener.get("allowedRoutes") or {}).get("namespaces")) or {}
    origin = allowed.get("from", "Same")
    if origin == "Same" and _ns(route) != _ns(gw):
        return False
    if origin == "Selector":
        ns_obj = store.try_get("namespaces", _ns(route), copy=False) or {}
        labels = (ns_obj.get("metadata") or {}).get("labels") or {}
        if not selector_matches(allowed.get("selector") or {}, labels):
            return False
    hosts = [str(h) for h in (route.get("spec") or {}).get("hostnames") or []]
    return hostnames_intersect(str(listener.get("hostname") or ""), hosts)


# ------------------------------------------------------------------------------------------------ matching
def _value_matches(cond: Mapping[str, Any], value: str | None) -> bool:
    if value is None:
        return False
    want = str(cond.get("value") or "")
    if cond.get("type", "Exact") == "RegularExpression":
        try:
            return re.fullmatch(want, value) is not None
        except re.error:
            return False
    return value == want


def _path_matches(cond: Mapping[str, Any], path: str) -> bool:
    kind, want = cond.get("type", "PathPrefix"), str(cond.get("value") or "/")
    if kind == "Exact":
        return path == want
    if kind == "RegularExpression":
        return _value_matches(cond, path)
    prefix = want.rstrip("/")
    return not prefix or path == prefix or path.startswith(prefix + "/")


def match_applies(
    match: Mapping[str, Any], *, path: str, method: str, headers: Mapping[str, str], query: Mapping[str, str]
) -> bool:
    """One HTTPRouteMatch: every condition must hold (header names are case-insensitive)."""
    if not _path_matches(match.get("path") or {}, path):
        return False
    if match.get("method") and match["method"] != method:
        return False
    lowered = {k.lower(): v for k, v in headers.items()}
    for h in match.get("headers") or []:
        if not _value_matches(h, lowered.get(str(h.get("name") or "").lower())):
            return False
    return all(_value_matches(q, query.get(str(q.get("name") or ""))) for q in match.get("queryParams") or [])


def _precedence(match: Mapping[str, Any]) -> tuple[int, int, int, int, int]:
    path = match.get("path") or {}
    kind = {"Exact": 0, "PathPrefix": 1}.get(str(path.get("type", "PathPrefix")), 2)
    return (
        kind,
        -len(str(path.get("value") or "/")),
        0 if match.get("method") else 1,
        -len(match.get("headers") or []),
        -len(match.get("queryParams") or []),
    )


@dataclass(frozen=True, slots=True)
class Backend:
    namespace: str
    service: str
    weight: int


@dataclass(frozen=True, slots=True)
class Pick:
    """Where one request goes; ``backend`` None means the rule has none (Istio answers 500)."""

    backend: Backend | None
    response_headers: Mapping[str, Any]


@dataclass(slots=True)
class RouteTable:
    """The matches of every rule that applies at one place (a listener, or a Service for GAMMA), in order."""

    entries: list[tuple[tuple[Any, ...], Mapping[str, Any], Obj, str, tuple[str, ...]]] = field(
        default_factory=list
    )
    denied: set[tuple[str, str]] = field(default_factory=set)  # (namespace, Service) no grant opens

    def add(self, route: Obj, order: int, *, store: Store | None = None) -> None:
        """``store``: check cross-namespace backends against its ReferenceGrants."""
        ns = _ns(route)
        hosts = tuple(str(h) for h in (route.get("spec") or {}).get("hostnames") or [])
        for i, rule in enumerate((route.get("spec") or {}).get("rules") or []):
            for match in rule.get("matches") or [{"path": {"type": "PathPrefix", "value": "/"}}]:
                self.entries.append(((*_precedence(match), order, i), match, rule, ns, hosts))
            for b in rule.get("backendRefs") or []:
                target = (str(b.get("namespace") or ns), str(b.get("name")))
                if store is not None and not backend_permitted(store, route_ns=ns, backend=target):
                    self.denied.add(target)
        self.entries.sort(key=lambda e: e[0])

    def pick(
        self,
        *,
        path: str,
        method: str,
        headers: Mapping[str, str],
        query: Mapping[str, str],
        rng: random.Random,
        host: str = "",
    ) -> Pick | None:
        """The first matching rule's weighted backend; None when no rule matches (404).

        ``host``: the request's Host, checked against the routes' hostnames ("" skips the check, as for mesh
        calls).
        """
        best: tuple[int, Obj, str] | None = None
        for _, match, rule, ns, hosts in self.entries:
            score = _host_score(hosts, host)
            if score is None or (best is not None and score <= best[0]):
                continue
            if match_applies(match, path=path, method=method, headers=headers, query=query):
                best = (score, rule, ns)
        if best is None:
            return None
        pick = _pick_rule(best[1], best[2], rng)
        if pick.backend is not None and (pick.backend.namespace, pick.backend.service) in self.denied:
            return Pick(None, pick.response_headers)
        return pick


def backend_permitted(store: Store, *, route_ns: str, backend: tuple[str, str]) -> bool:
    """A Service in another namespace needs a ReferenceGrant there from HTTPRoutes of ``route_ns``."""
    ns, name = backend
    if ns == route_ns:
        return True
    for grant in store.list(REFERENCE_GRANTS, namespace=ns)[0]:
        spec = grant.get("spec") or {}
        sources = any(
            f.get("group") == GROUP and f.get("kind") == "HTTPRoute" and f.get("namespace") == route_ns
            for f in spec.get("from") or []
        )
        targets = any(
            t.get("group", "") in ("", "core") and t.get("kind") == "Service" and t.get("name", name) == name
            for t in spec.get("to") or []
        )
        if sources and targets:
            return True
    return False


def _host_score(hosts: tuple[str, ...], host: str) -> int | None:
    """How specifically a route's hostnames match ``host`` (more wins); None when they do not."""
    if not hosts or not host:
        return 0
    scores = [len(h) * (1 if h.startswith("*") else 2) for h in hosts if _host_matches(h, host)]
    return max(scores) if scores else None


def _filters(rule: Obj, kind: str) -> Mapping[str, Any]:
    key = kind[0].lower() + kind[1:]
    for f in rule.get("filters") or []:
        if f.get("type") == kind:
            found: Mapping[str, Any] = f.get(key) or {}
            return found
    return {}


def _pick_rule(rule: Obj, ns: str, rng: random.Random) -> Pick:
    backends = [
        Backend(
            str(b.get("namespace") or ns),
            str(b.get("name")),
            int(b.get("weight", 1)),
        )
        for b in rule.get("backendRefs") or []
        if b.get("kind", "Service") == "Service" and b.get("group", "") in ("", "core")
    ]
    live = [b for b in backends if b.weight > 0]
    chosen: Backend | None = None
    if live:
        x = rng.random() * sum(b.weight for b in live)
        for b in live:
            x -= b.weight
            if x < 0:
                chosen = b
                break
        chosen = chosen or live[-1]
    return Pick(chosen, _filters(rule, "ResponseHeaderModifier"))


def modify_headers(headers: MutableMapping[str, str], modifier: Mapping[str, Any]) -> None:
    """Apply an HTTPHeaderFilter: set replaces, add appends (comma-joined), remove drops."""
    lowered = {k.lower(): k for k in headers}
    for h in modifier.get("set") or []:
        name = str(h.get("name"))
        headers.pop(lowered.get(name.lower(), name), None)
        headers[name] = str(h.get("value", ""))
    for h in modifier.get("add") or []:
        name = str(h.get("name"))
        existing = lowered.get(name.lower(), "")
        if existing in headers:
            headers[existing] = f"{headers[existing]},{h.get('value', '')}"
        else:
            headers[name] = str(h.get("value", ""))
    for name in modifier.get("remove") or []:
        headers.pop(lowered.get(str(name).lower(), str(name)), None)


# ------------------------------------------------------------------------------------------------ data plane
@dataclass(slots=True)
class Listener:
    """What one Istio-class Gateway serves on one nodePort."""

    tables: list[tuple[str, RouteTable]]  # (listener hostname, routes) for the listeners on that port


def _istio_gateways(store: Store) -> list[Obj]:
    return [
        g for g in store.list(GATEWAYS)[0] if (g.get("spec") or {}).get("gatewayClassName") == ISTIO_CLASS
    ]


def _ordered_routes(store: Store) -> list[Obj]:
    routes = store.list(HTTPROUTES)[0]
    return sorted(
        routes, key=lambda r: (r["metadata"].get("creationTimestamp", ""), _ns(r), r["metadata"]["name"])
    )


def listeners(store: Store, *, running: Any) -> dict[int, tuple[str, Listener]]:
    """nodePort → (owner "ns/service", listener) for every Istio-class Gateway with a Running pod.

    ``running(pod)`` says whether a pod serves (the data plane's readiness rule).
    """
    out: dict[int, tuple[str, Listener]] = {}
    routes = _ordered_routes(store)
    for gw in _istio_gateways(store):
        ns, name = _ns(gw), str(gw["metadata"]["name"])
        svc = store.try_get("services", gateway_service_name(name, ISTIO_CLASS), namespace=ns, copy=False)
        if svc is None:
            continue
        pods = store.list("pods", namespace=ns)[0]
        if not any(
            running(p) and ((p.get("metadata") or {}).get("labels") or {}).get(GATEWAY_NAME_LABEL) == name
            for p in pods
        ):
            continue
        node_ports = {p.get("port"): p.get("nodePort") for p in (svc.get("spec") or {}).get("ports") or []}
        by_port: dict[int, list[tuple[str, RouteTable]]] = {}
        for lis in (gw.get("spec") or {}).get("listeners") or []:
            node_port = node_ports.get(lis.get("port"))
            if not node_port or str(lis.get("protocol") or "") != "HTTP":
                continue
            table = RouteTable()
            for order, route in enumerate(routes):
                if accepts_route(gw, lis, route, store):
                    table.add(route, order, store=store)
            by_port.setdefault(int(node_port), []).append((str(lis.get("hostname") or ""), table))
        for node_port, tables in by_port.items():
            owner = f"{ns}/{svc['metadata']['name']}"
            out[node_port] = (owner, Listener(tables))
    return out


def table_for(listener: Listener, host: str) -> RouteTable | None:
    """The route table of the listener whose hostname matches the request's Host."""
    for hostname, table in listener.tables:
        if not hostname or _host_matches(hostname, host):
            return table
    return None


def mesh_tables(store: Store, namespace: str) -> dict[str, RouteTable]:
    """GAMMA: Service name → routes whose parentRef is that Service (routes in the Service's namespace)."""
    tables: dict[str, RouteTable] = {}
    for order, route in enumerate(_ordered_routes(store)):
        if _ns(route) != namespace:
            continue
        for ref in (route.get("spec") or {}).get("parentRefs") or []:
            if is_service_ref(ref) and (ref.get("namespace") or namespace) == namespace:
                tables.setdefault(str(ref.get("name")), RouteTable()).add(route, order)
    return tables


def has_instance(store: Store, namespace: str, gateway: str, *, running: Any) -> bool:
    """Whether a Running, ready pod serves the Gateway's Service: istiod reports the Gateway Programmed and
    ztunnel sends through a waypoint only then, so both the controller and the data plane ask this."""
    return any(
        running(p) and ((p.get("metadata") or {}).get("labels") or {}).get(GATEWAY_NAME_LABEL) == gateway
        for p in store.list("pods", namespace=namespace)[0]
    )


def waypointed(store: Store, namespace: str, *, running: Any) -> set[str]:
    """Names of the namespace's Services whose waypoint exists and has a Running pod."""
    ns_obj = store.try_get("namespaces", namespace, copy=False) or {}
    ns_labels = (ns_obj.get("metadata") or {}).get("labels") or {}
    live: dict[tuple[str, str], bool] = {}
    out = set()
    for svc in store.list("services", namespace=namespace)[0]:
        ref = waypoint_ref((svc.get("metadata") or {}).get("labels"), ns_labels, namespace=namespace)
        if ref is None:
            continue
        if ref not in live:
            gw = store.try_get(GATEWAYS, ref[1], namespace=ref[0], copy=False)
            ok = (
                gw is not None
                and (gw.get("spec") or {}).get("gatewayClassName") == WAYPOINT_CLASS
                and serves_services((gw.get("metadata") or {}).get("labels"))
            )
            live[ref] = ok and has_instance(store, ref[0], ref[1], running=running)
        if live[ref]:
            out.add(str(svc["metadata"]["name"]))
    return out
