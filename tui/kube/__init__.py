"""The only importer of ``kubernetes``: kubeconfig, typed calls, list+watch with resume.

Everything returns plain ``dict`` objects (the JSON the server sent) or small dataclasses, so the rest of the
program never sees a client model and the client stays swappable. Every failure raises a subclass of
``tui.errors.KubeError`` (or ``ConfigError`` for kubeconfig problems). All calls block: call them from
thread workers or streams.

Modules: ``config`` (kubeconfig), ``errors`` (server and transport failures → our error tree), ``resources``
(kinds and result shapes), ``client`` (``Cluster``), ``watch`` (list+watch).
"""

from __future__ import annotations

from tui.kube.client import CONNECT_TIMEOUT, FIELD_MANAGER, READ_TIMEOUT, Cluster
from tui.kube.logs import LogFollow
from tui.kube.resources import (
    AUTHORIZATION_POLICIES,
    CONFIGMAPS,
    CRDS,
    DAEMONSETS,
    DEPLOYMENTS,
    DESTINATION_RULES,
    ENDPOINTS,
    EVENTS,
    GATEWAY_CLASSES,
    GATEWAYS,
    HTTP_ROUTES,
    INGRESS_CLASSES,
    INGRESSES,
    JOBS,
    K8S_GATEWAYS,
    MUTATING_WEBHOOKS,
    NAMESPACES,
    NODES,
    PODS,
    REPLICASETS,
    SECRETS,
    SERVICE_ENTRIES,
    SERVICEACCOUNTS,
    SERVICES,
    VALIDATING_WEBHOOKS,
    VIRTUAL_SERVICES,
    WORKLOAD_ENTRIES,
    ClusterInfo,
    Obj,
    ObjectList,
    PatchType,
    Resource,
)
from tui.kube.watch import BACKOFF_CAP, EventType, Watch, WatchEvent, object_key

__all__ = [
    "BACKOFF_CAP",
    "CONFIGMAPS",
    "CONNECT_TIMEOUT",
    "CRDS",
    "DAEMONSETS",
    "DEPLOYMENTS",
    "DESTINATION_RULES",
    "ENDPOINTS",
    "EVENTS",
    "FIELD_MANAGER",
    "AUTHORIZATION_POLICIES",
    "GATEWAY_CLASSES",
    "GATEWAYS",
    "HTTP_ROUTES",
    "K8S_GATEWAYS",
    "INGRESSES",
    "INGRESS_CLASSES",
    "JOBS",
    "MUTATING_WEBHOOKS",
    "NAMESPACES",
    "NODES",
    "PODS",
    "READ_TIMEOUT",
    "REPLICASETS",
    "SECRETS",
    "SERVICEACCOUNTS",
    "SERVICES",
    "SERVICE_ENTRIES",
    "VALIDATING_WEBHOOKS",
    "VIRTUAL_SERVICES",
    "WORKLOAD_ENTRIES",
    "Cluster",
    "ClusterInfo",
    "EventType",
    "LogFollow",
    "Obj",
    "ObjectList",
    "PatchType",
    "Resource",
    "Watch",
    "WatchEvent",
    "object_key",
]
