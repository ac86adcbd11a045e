"""Which resource types the sandbox serves: the built-ins of issue 2 plus one entry per stored CRD.

The registry is the single answer to "does /apis/<g>/<v>/<plural> exist, is it namespaced, what is its
Kind", so discovery, OpenAPI, routing and tables cannot disagree. CRD-backed types come and go with the CRD
objects in the store (a store listener keeps them in sync), which is how a freshly applied CRD shows up in
discovery.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any

from tui.sandbox.store import Obj, Store, resource_key

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
CRD_KEY = "customresourcedefinitions.apiextensions.k8s.io"


@dataclass(frozen=True)
class ResourceType:
    """One served resource. ``versions`` lists every served version, the preferred (storage) one first."""

    group: str
    versions: tuple[str, ...]
    plural: str
    kind: str
    namespaced: bool
    singular: str = ""
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    subresources: tuple[str, ...] = ()
    builtin: bool = True
    printer_columns: tuple[dict[str, Any], ...] = field(default=(), compare=False)

    @property
    def key(self) -> str:
        return resource_key(self.group, self.plural)

    @property
    def version(self) -> str:
        return self.versions[0]

    def api_version(self, version: str | None = None) -> str:
        v = version or self.versions[0]
        return f"{self.group}/{v}" if self.group else v

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @property
    def singular_name(self) -> str:
        return self.singular or self.kind.lower()


def _rt(
    group: str,
    version: str,
    plural: str,
    kind: str,
    namespaced: bool,
    short: tuple[str, ...] = (),
    *,
    all_: bool = False,
    sub: tuple[str, ...] = (),
    verbs: tuple[str, ...] = ALL_VERBS,
) -> ResourceType:
    return ResourceType(
        group=group,
        versions=(version,),
        plural=plural,
        kind=kind,
        namespaced=namespaced,
        short_names=short,
        categories=("all",) if all_ else (),
        subresources=sub,
        verbs=verbs,
    )


BUILTINS: tuple[ResourceType, ...] = (
    _rt("", "v1", "namespaces", "Namespace", False, ("ns",), sub=("status",)),
    _rt("", "v1", "pods", "Pod", True, ("po",), all_=True, sub=("log", "status")),
    _rt("", "v1", "services", "Service", True, ("svc",), all_=True, sub=("status",)),
    _rt("", "v1", "endpoints", "Endpoints", True, ("ep",)),
    _rt("", "v1", "nodes", "Node", False, ("no",), sub=("status",)),
    _rt("", "v1", "configmaps", "ConfigMap", True, ("cm",)),
    _rt("", "v1", "secrets", "Secret", True),
    _rt("", "v1", "serviceaccounts", "ServiceAccount", True, ("sa",)),
    _rt("", "v1", "events", "Event", True, ("ev",)),
    _rt("apps", "v1", "deployments", "Deployment", True, ("deploy",), all_=True, sub=("scale", "status")),
    _rt("apps", "v1", "replicasets", "ReplicaSet", True, ("rs",), all_=True, sub=("scale", "status")),
    _rt("batch", "v1", "jobs", "Job", True, all_=True, sub=("status",)),
    _rt("networking.k8s.io", "v1", "ingresses", "Ingress", True, ("ing",), sub=("status",)),
    # Served for the official charts and samples until the generated catalogue (h10a) replaces this list.
    _rt("apps", "v1", "statefulsets", "StatefulSet", True, ("sts",), all_=True, sub=("scale", "status")),
    _rt("apps", "v1", "daemonsets", "DaemonSet", True, ("ds",), all_=True, sub=("status",)),
    _rt("apps", "v1", "controllerrevisions", "ControllerRevision", True),
    _rt("batch", "v1", "cronjobs", "CronJob", True, ("cj",), all_=True, sub=("status",)),
    _rt(
        "autoscaling",
        "v2",
        "horizontalpodautoscalers",
        "HorizontalPodAutoscaler",
        True,
        ("hpa",),
        all_=True,
        sub=("status",),
    ),
    _rt("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", True, ("pdb",), sub=("status",)),
    _rt("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True),
    _rt("networking.k8s.io", "v1", "ingressclasses", "IngressClass", False),
    _rt("coordination.k8s.io", "v1", "leases", "Lease", True),
    _rt("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True, ("pvc",), sub=("status",)),
    _rt("", "v1", "persistentvolumes", "PersistentVolume", False, ("pv",), sub=("status",)),
    _rt("storage.k8s.io", "v1", "storageclasses", "StorageClass", False, ("sc",)),
    _rt(
        "admissionregistration.k8s.io",
        "v1",
        "mutatingwebhookconfigurations",
        "MutatingWebhookConfiguration",
        False,
    ),
    _rt(
        "admissionregistration.k8s.io",
        "v1",
        "validatingwebhookconfigurations",
        "ValidatingWebhookConfiguration",
        False,
    ),
    _rt(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        False,
        ("crd", "crds"),
        sub=("status",),
    ),
    _rt("rbac.authorization.k8s.io", "v1", "roles", "Role", True),
    _rt("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True),
    _rt("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False),
    _rt("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False),
    _rt(
        "authorization.k8s.io",
        "v1",
        "selfsubjectaccessreviews",
        "SelfSubjectAccessReview",
        False,
        verbs=("create",),
    ),
)

# Kinds whose status belongs to a controller: a write through the main endpoint keeps the stored status.
STATUS_OWNED = frozenset(
    {
        "pods",
        "services",
        "namespaces",
        "nodes",
        "deployments.apps",
        "replicasets.apps",
        "jobs.batch",
        "ingresses.networking.k8s.io",
        "statefulsets.apps",
        "daemonsets.apps",
        "cronjobs.batch",
        "horizontalpodautoscalers.autoscaling",
        "poddisruptionbudgets.policy",
        "persistentvolumeclaims",
        "persistentvolumes",
        CRD_KEY,
    }
)


def crd_resource_type(crd: Obj) -> ResourceType | None:
    """The ResourceType a CRD object defines, or None when it is incomplete."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group = spec.get("group")
    plural = names.get("plural")
    kind = names.get("kind")
    versions_spec = [v for v in spec.get("versions") or [] if isinstance(v, dict) and v.get("served", True)]
    if not (group and plural and kind and versions_spec):
        return None
    storage = [v["name"] for v in versions_spec if v.get("storage")]
    ordered = storage + [v["name"] for v in versions_spec if v["name"] not in storage]
    columns: tuple[dict[str, Any], ...] = ()
    subresources: list[str] = []
    for v in versions_spec:
        if v["name"] == ordered[0]:
            columns = tuple(v.get("additionalPrinterColumns") or ())
            subresources = sorted((v.get("subresources") or {}).keys())
    return ResourceType(
        group=str(group),
        versions=tuple(ordered),
        plural=str(plural),
        kind=str(kind),
        namespaced=spec.get("scope", "Namespaced") == "Namespaced",
        singular=str(names.get("singular") or ""),
        short_names=tuple(names.get("shortNames") or ()),
        categories=tuple(names.get("categories") or ()),
        subresources=tuple(subresources),
        builtin=False,
        printer_columns=columns,
    )


class Registry:
    """Built-in types plus CRD-defined ones, kept in sync with the store's CRDs."""

    def __init__(self, store: Store) -> None:
        self._lock = threading.Lock()
        self._store = store
        self._builtin = {rt.key: rt for rt in BUILTINS}
        self._custom: dict[str, ResourceType] = {}  # CRD name -> type
        self.generation = 0  # bumps whenever the set of types changes (discovery caches key on it)
        items, _ = store.list(CRD_KEY)
        for crd in items:
            self._sync("ADDED", crd)
        store.add_listener(self._on_event)

    def _on_event(self, event_type: str, key: str, obj: Obj) -> None:
        if key == CRD_KEY:
            self._sync(event_type, obj)

    def _sync(self, event_type: str, crd: Obj) -> None:
        name = (crd.get("metadata") or {}).get("name", "")
        rt = None if event_type == "DELETED" else crd_resource_type(crd)
        with self._lock:
            gone = self._custom.pop(name, None) if rt is None else None
            if rt is not None and rt.key not in self._builtin:
                self._custom[name] = rt
            self.generation += 1
        if gone is not None and event_type == "DELETED":
            self._store.delete_all(gone.key)  # custom resources do not outlive their CRD

    def all(self) -> list[ResourceType]:
        with self._lock:
            return [*self._builtin.values(), *self._custom.values()]

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        """The type served at ``/apis/<group>/<version>/<plural>`` (``/api/v1/<plural>`` for group "")."""
        key = resource_key(group, plural)
        with self._lock:
            rt = self._builtin.get(key)
            if rt is None:
                rt = next((c for c in self._custom.values() if c.key == key), None)
        if rt is None or version not in rt.versions:
            return None
        return rt

    def by_key(self, key: str) -> ResourceType | None:
        with self._lock:
            rt = self._builtin.get(key)
            if rt is None:
                rt = next((c for c in self._custom.values() if c.key == key), None)
        return rt

    def by_kind(self, api_version: str, kind: str) -> ResourceType | None:
        group, _, version = api_version.rpartition("/")
        return next(
            (rt for rt in self.all() if rt.group == group and rt.kind == kind and version in rt.versions),
            None,
        )

    def group_versions(self) -> dict[str, list[str]]:
        """Group name -> served versions, preferred first; the core group is ``""``."""
        out: dict[str, list[str]] = {}
        for rt in self.all():
            versions = out.setdefault(rt.group, [])
            for v in rt.versions:
                if v not in versions:
                    versions.append(v)
        for group, versions in out.items():
            out[group] = sorted(versions, key=_version_priority)
        return out

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        return [rt for rt in self.all() if rt.group == group and version in rt.versions]


def _version_priority(version: str) -> tuple[int, int, int]:
    """Kubernetes version ordering: GA before beta before alpha, higher numbers first."""
    m = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", version)
    if not m:
        return (3, 0, 0)
    major = int(m.group(1))
    stage = {"alpha": 2, "beta": 1}.get(m.group(2) or "", 0)
    return (stage, -major, -int(m.group(3) or 0))
