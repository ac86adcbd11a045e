"""Reading a snapshot from a cluster: one list call per kind, kinds whose CRDs are absent left empty."""

from __future__ import annotations

from tui.errors import NotFound
from tui.istio.analysis.model import KINDS, Snapshot
from tui.kube import Cluster, Resource

# Snapshot field → (apiVersion, kind) as the API serves it.
SOURCES: dict[str, tuple[str, str]] = {
    "namespaces": ("v1", "Namespace"),
    "pods": ("v1", "Pod"),
    "services": ("v1", "Service"),
    "gateways": ("networking.istio.io/v1", "Gateway"),
    "virtual_services": ("networking.istio.io/v1", "VirtualService"),
    "destination_rules": ("networking.istio.io/v1", "DestinationRule"),
    "service_entries": ("networking.istio.io/v1", "ServiceEntry"),
    "authorization_policies": ("security.istio.io/v1", "AuthorizationPolicy"),
    "k8s_gateways": ("gateway.networking.k8s.io/v1", "Gateway"),
    "http_routes": ("gateway.networking.k8s.io/v1", "HTTPRoute"),
    "webhooks": ("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration"),
}
assert tuple(SOURCES) == KINDS


def served_resources(cluster: Cluster) -> dict[str, Resource]:
    """The snapshot fields this cluster can serve (Istio and Gateway API kinds need their CRDs)."""
    found: dict[str, Resource] = {}
    for field, (api_version, kind) in SOURCES.items():
        try:
            found[field] = cluster.resource_for(api_version=api_version, kind=kind)
        except NotFound:
            continue
    return found


def take_snapshot(cluster: Cluster) -> Snapshot:
    """Every namespace's objects: a Gateway or a route may reach across namespaces."""
    snapshot = Snapshot()
    for field, res in served_resources(cluster).items():
        try:
            items = cluster.list(res).items
        except NotFound:  # the CRD went away between discovery and the list
            continue
        setattr(snapshot, field, items)
    return snapshot
