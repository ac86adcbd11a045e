"""The data plane's view of one namespace's mesh: Services, their Running pods, VirtualService rules and
DestinationRule subsets, built lazily per routing snapshot (see :mod:`tui.sandbox.dataplane`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from tui.istio.ambient import is_captured
from tui.istio.sidecar import has_sidecar
from tui.sandbox.gateway_routes import Listener, RouteTable, mesh_tables, waypointed
from tui.sandbox.ingress import IngressRoute
from tui.sandbox.store import Obj, Store

VIRTUAL_SERVICES: Final = "virtualservices.networking.istio.io"
BOOKINFO_HOSTS: Final = {
    "DETAILS_HOSTNAME": "details",
    "RATINGS_HOSTNAME": "ratings",
    "REVIEWS_HOSTNAME": "reviews",
}
DESTINATION_RULES: Final = "destinationrules.networking.istio.io"


@dataclass(frozen=True, slots=True)
class MeshPod:
    name: str
    labels: Mapping[str, str]
    sidecar: bool
    captured: bool = False  # in the ambient mesh (ztunnel)
    namespace: str = ""
    hosts: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # calls that leave its namespace


@dataclass(slots=True)
class MeshService:
    name: str
    pods: list[MeshPod]
    vs: list[Mapping[str, Any]] | None = None  # the http rules of its VirtualService
    subsets: dict[str, Mapping[str, str]] = field(default_factory=dict)
    route: RouteTable | None = None  # HTTPRoutes whose parentRef is this Service (GAMMA)
    waypoint: bool = False  # it uses a waypoint that runs


@dataclass(frozen=True, slots=True)
class Call:
    """The result of one mesh call: the pod that answered, or a failure; and the injected delay."""

    pod: MeshPod | None
    delay: float = 0.0

    @property
    def ok(self) -> bool:
        return self.pod is not None


FAILED: Final = Call(None)


@dataclass(slots=True)
class Edge:
    """What one gateway port serves: (VirtualService namespace, hosts, http rules) in order."""

    routes: list[tuple[str, tuple[str, ...], list[Mapping[str, Any]]]]
    ingress: bool = False  # Istio's ingress gateway: it also serves Kubernetes Ingress rules
    api: Listener | None = None  # a Gateway API Gateway's listener: HTTPRoutes instead of VirtualServices


class Snapshot:
    """Routing state as of one store generation; meshes per namespace are built on first use."""

    def __init__(self, store: Store, generation: int) -> None:
        self.generation = generation
        self._store = store
        self.edges: dict[int, Edge] = {}
        self.ingress: list[IngressRoute] = []
        self._meshes: dict[str, dict[str, MeshService]] = {}

    def mesh(self, namespace: str) -> dict[str, MeshService]:
        services = self._meshes.get(namespace)
        if services is None:
            services = self._meshes[namespace] = build_mesh(self._store, namespace)
        return services


def running(pod: Obj) -> bool:
    meta, status = pod.get("metadata") or {}, pod.get("status") or {}
    if status.get("phase") != "Running" or meta.get("deletionTimestamp"):
        return False
    for cond in status.get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond.get("status") == "True"
    return True


def selects(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def subset_pods(svc: MeshService, subset: str) -> list[MeshPod]:
    """The Running pods of a DestinationRule subset; none for an undefined subset (Istio answers 503)."""
    if not subset:
        return svc.pods
    labels = svc.subsets.get(subset)
    if labels is None:
        return []
    return [p for p in svc.pods if not labels or selects(labels, p.labels)]


def short_host(host: str, namespace: str) -> str:
    """Short Service name: "reviews", "reviews.ns" and "reviews.ns.svc.cluster.local" all name reviews."""
    target_ns, name = qualified(host, namespace)
    return name if target_ns == namespace else host


def qualified(host: str, namespace: str) -> tuple[str, str]:
    """(namespace, Service) a host names: "reviews", "reviews.ns", "reviews.ns.svc.cluster.local"."""
    parts = host.split(".")
    if len(parts) == 1:
        return namespace, host
    if len(parts) == 2 or parts[2:] in (["svc"], ["svc", "cluster", "local"]):
        return parts[1], parts[0]
    return namespace, host  # not a cluster Service name: nothing answers it


def service_hosts(pod: Obj, namespace: str) -> dict[str, tuple[str, str]]:
    """Where Bookinfo's code sends its calls when its env says another namespace: productpage and reviews
    read ``DETAILS_HOSTNAME``, ``RATINGS_HOSTNAME``, ``REVIEWS_HOSTNAME`` and ``SERVICES_DOMAIN``."""
    env = {
        e.get("name"): e["value"]
        for c in (pod.get("spec") or {}).get("containers") or []
        for e in c.get("env") or []
        if isinstance(e, dict) and isinstance(e.get("value"), str)
    }
    domain = env.get("SERVICES_DOMAIN")
    out = {}
    for var, default in BOOKINFO_HOSTS.items():
        target = qualified(str(env.get(var) or default) + (f".{domain}" if domain else ""), namespace)
        if target != (namespace, default):
            out[default] = target
    return out


def build_mesh(store: Store, namespace: str) -> dict[str, MeshService]:
    pods = [
        MeshPod(
            p["metadata"]["name"],
            p["metadata"].get("labels") or {},
            has_sidecar(p),
            is_captured(p),
            namespace,
            service_hosts(p, namespace),
        )
        for p in store.list("pods", namespace=namespace)[0]
        if running(p)
    ]
    services: dict[str, MeshService] = {}
    for svc in store.list("services", namespace=namespace)[0]:
        selector = (svc.get("spec") or {}).get("selector") or {}
        name = svc["metadata"]["name"]
        services[name] = MeshService(name, [p for p in pods if selects(selector, p.labels)])
    for vs in store.list(VIRTUAL_SERVICES, namespace=namespace)[0]:
        spec = vs.get("spec") or {}
        if spec.get("gateways") and "mesh" not in spec["gateways"]:
            continue  # bound to gateways only: not applied inside the mesh
        for host in spec.get("hosts") or []:
            target = services.get(short_host(str(host), namespace))
            if target is not None and target.vs is None:
                target.vs = list(spec.get("http") or [])
    for name, table in mesh_tables(store, namespace).items():
        if name in services:
            services[name].route = table
    for name in waypointed(store, namespace, running=running):
        services[name].waypoint = True
    for dr in store.list(DESTINATION_RULES, namespace=namespace)[0]:
        spec = dr.get("spec") or {}
        target = services.get(short_host(str(spec.get("host") or ""), namespace))
        if target is not None:
            for subset in spec.get("subsets") or []:
                target.subsets.setdefault(str(subset.get("name")), subset.get("labels") or {})
    return services
