"""The only importer of ``kubernetes``: kubeconfig, typed calls, list+watch with resume.

CONTRACT STUB written by the lead: signatures are fixed, bodies are being filled in by the kube.py owner.
Everything returns plain ``dict`` objects (the JSON the server sent) or the dataclasses below.
Every failure raises a subclass of ``tui.errors.KubeError`` (or ``ConfigError`` for kubeconfig problems).
All calls block: call them from thread workers only.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

Obj = dict[str, Any]
PatchType = Literal["merge", "strategic", "json", "apply"]
EventType = Literal["ADDED", "MODIFIED", "DELETED", "SYNCED", "RECONNECTING"]


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
JOBS = Resource("batch", "v1", "jobs", "Job", True)
INGRESSES = Resource("networking.k8s.io", "v1", "ingresses", "Ingress", True)
MUTATING_WEBHOOKS = Resource(
    "admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations", "MutatingWebhookConfiguration", False
)
VALIDATING_WEBHOOKS = Resource(
    "admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations", "ValidatingWebhookConfiguration", False
)
CRDS = Resource("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", False)
GATEWAYS = Resource("networking.istio.io", "v1", "gateways", "Gateway", True)
VIRTUAL_SERVICES = Resource("networking.istio.io", "v1", "virtualservices", "VirtualService", True)
DESTINATION_RULES = Resource("networking.istio.io", "v1", "destinationrules", "DestinationRule", True)
SERVICE_ENTRIES = Resource("networking.istio.io", "v1", "serviceentries", "ServiceEntry", True)
WORKLOAD_ENTRIES = Resource("networking.istio.io", "v1", "workloadentries", "WorkloadEntry", True)


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


@dataclass(frozen=True)
class WatchEvent:
    """ADDED/MODIFIED/DELETED carry the object.

    SYNCED follows a (re)list: ``objects`` then holds the full current state, keyed by uid, so a consumer may
    replace its view. RECONNECTING carries ``message`` while the stream is down; the last known state stays valid.
    """

    type: EventType
    object: Obj = field(default_factory=dict)
    message: str = ""


class Watch:
    """Iterator of WatchEvent from list, then watch from its resourceVersion, reconnecting forever.

    Asks for bookmarks, always passes timeoutSeconds, relists on 410 and emits the difference as events.
    ``stop()`` (from any thread) makes iteration end within one second.
    """

    def __iter__(self) -> Iterator[WatchEvent]:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError


class Cluster:
    """One kubeconfig context."""

    context: str
    server: str

    @classmethod
    def from_kubeconfig(cls, *, path: str | None = None, context: str | None = None) -> Cluster:
        """Load (exec plugins included). Raises ConfigError for a missing/malformed file or unknown context."""
        raise NotImplementedError

    def info(self) -> ClusterInfo:
        """GET /version. Raises Unreachable/Unauthorized."""
        raise NotImplementedError

    def has_api(self, group_version: str) -> bool:
        """True if discovery serves e.g. "admissionregistration.k8s.io/v1"."""
        raise NotImplementedError

    def resource_for(self, *, api_version: str, kind: str) -> Resource:
        """Map apiVersion+kind to a Resource (built-ins from the table above, others through discovery)."""
        raise NotImplementedError

    def get(self, res: Resource, name: str, *, namespace: str | None = None) -> Obj:
        raise NotImplementedError

    def list(
        self,
        res: Resource,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> ObjectList:
        """namespace=None on a namespaced resource lists across all namespaces."""
        raise NotImplementedError

    def create(self, res: Resource, body: Obj, *, namespace: str | None = None) -> Obj:
        raise NotImplementedError

    def replace(self, res: Resource, name: str, body: Obj, *, namespace: str | None = None) -> Obj:
        raise NotImplementedError

    def patch(
        self, res: Resource, name: str, patch: Any, *, namespace: str | None = None, patch_type: PatchType = "merge"
    ) -> Obj:
        raise NotImplementedError

    def delete(self, res: Resource, name: str, *, namespace: str | None = None) -> None:
        """NotFound is raised, not swallowed."""
        raise NotImplementedError

    def apply(self, docs: Iterable[Obj], *, namespace: str | None = None) -> list[Obj]:
        """Create each manifest document, or merge-patch it when it exists. Returns the stored objects."""
        raise NotImplementedError

    def pod_logs(
        self, name: str, *, namespace: str, container: str | None = None, tail_lines: int = 500
    ) -> str:
        raise NotImplementedError

    def can_i(self, *, verb: str, resource: str, group: str = "", namespace: str | None = None) -> bool:
        """SelfSubjectAccessReview."""
        raise NotImplementedError

    def rollout_restart(self, name: str, *, namespace: str) -> Obj:
        """Patch the Deployment template annotation kubectl.kubernetes.io/restartedAt, as kubectl does."""
        raise NotImplementedError

    def watch(
        self,
        res: Resource,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        timeout_seconds: int = 60,
    ) -> Watch:
        raise NotImplementedError
