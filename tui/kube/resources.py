"""The API's shapes: where each kind lives in the REST API, and the plain results our calls return."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Obj = dict[str, Any]
PatchType = Literal["merge", "strategic", "json", "apply"]


@dataclass(frozen=True)
class Resource:
    """Where a kind lives in the REST API."""

    group: str  # "" for core
    version: str
    plural: str
    kind: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


NAMESPACES = Resource("", "v1", "namespaces", "Namespace", False)
NODES = Resource("", "v1", "nodes", "Node", False)
PODS = Resource("", "v1", "pods", "Pod", True)
SERVICES = Resource("", "v1", "services", "Service", True)
ENDPOINTS = Resource("", "v1", "endpoints", "Endpoints", True)
CONFIGMAPS = Resource("", "v1", "configmaps", "ConfigMap", True)
SECRETS = Resource("", "v1", "secrets", "Secret", True)
SERVICEACCOUNTS = Resource("", "v1", "serviceaccounts", "ServiceAccount", True)
EVENTS = Resource("", "v1", "events", "Event", True)
DEPLOYMENTS = Resource("apps", "v1", "deployments", "Deployment", True)
REPLICASETS = Resource("apps", "v1", "replicasets", "ReplicaSet", True)
DAEMONSETS = Resource("apps", "v1", "daemonsets", "DaemonSet", True)
JOBS = Resource("batch", "v1", "jobs", "Job", True)
INGRESSES = Resource("networking.k8s.io", "v1", "ingresses", "Ingress", True)
INGRESS_CLASSES = Resource("networking.k8s.io", "v1", "ingressclasses", "IngressClass", False)
MUTATING_WEBHOOKS = Resource(
    "admissionregistration.k8s.io",
    "v1",
    "mutatingwebhookconfigurations",
    "MutatingWebhookConfiguration",
    False,
)
VALIDATING_WEBHOOKS = Resource(
    "admissionregistration.k8s.io",
    "v1",
    "validatingwebhookconfigurations",
    "ValidatingWebhookConfiguration",
    False,
)
CRDS = Resource("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", False)
GATEWAYS = Resource("networking.istio.io", "v1", "gateways", "Gateway", True)
VIRTUAL_SERVICES = Resource("networking.istio.io", "v1", "virtualservices", "VirtualService", True)
DESTINATION_RULES = Resource("networking.istio.io", "v1", "destinationrules", "DestinationRule", True)
SERVICE_ENTRIES = Resource("networking.istio.io", "v1", "serviceentries", "ServiceEntry", True)
WORKLOAD_ENTRIES = Resource("networking.istio.io", "v1", "workloadentries", "WorkloadEntry", True)
AUTHORIZATION_POLICIES = Resource(
    "security.istio.io", "v1", "authorizationpolicies", "AuthorizationPolicy", True
)
K8S_GATEWAYS = Resource("gateway.networking.k8s.io", "v1", "gateways", "Gateway", True)
HTTP_ROUTES = Resource("gateway.networking.k8s.io", "v1", "httproutes", "HTTPRoute", True)
GATEWAY_CLASSES = Resource("gateway.networking.k8s.io", "v1", "gatewayclasses", "GatewayClass", False)

# Istio kinds are deliberately absent: whether they are served depends on the CRDs, so discovery decides.
BUILTINS: dict[tuple[str, str], Resource] = {
    (r.api_version, r.kind): r
    for r in (
        NAMESPACES,
        NODES,
        PODS,
        SERVICES,
        ENDPOINTS,
        CONFIGMAPS,
        SECRETS,
        SERVICEACCOUNTS,
        EVENTS,
        DEPLOYMENTS,
        REPLICASETS,
        JOBS,
        INGRESSES,
        MUTATING_WEBHOOKS,
        VALIDATING_WEBHOOKS,
        CRDS,
    )
}


@dataclass(frozen=True)
class ClusterInfo:
    context: str
    server: str
    git_version: str  # e.g. "v1.32.0"
    major: int
    minor: int


@dataclass(frozen=True)
class ObjectList:
    items: list[Obj]
    resource_version: str
