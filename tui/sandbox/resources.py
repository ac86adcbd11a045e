"""Which resource types the sandbox serves: every built-in of Kubernetes 1.32 plus one entry per stored CRD.

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

from tui.sandbox import catalogue
from tui.sandbox.store import Obj, Store, resource_key

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
CRD_KEY = "customresourcedefinitions.apiextensions.k8s.io"


@dataclass(frozen=True)
class Subresource:
    """One subresource as discovery describes it; ``kind`` may live in another group (Scale, Eviction)."""

    name: str
    group: str
    version: str
    kind: str
    verbs: tuple[str, ...]


# The subresources the API server implements itself; the others (exec, proxy...) are only advertised.
SERVED_SUBRESOURCES = frozenset({"status", "scale", "log"})


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
    subresource_details: tuple[Subresource, ...] = field(default=(), compare=False)

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

    def described_subresources(self, version: str) -> tuple[Subresource, ...]:
        """Discovery's view: the catalogue's details, or status/scale in this group-version for a CRD."""
        if self.subresource_details:
            return self.subresource_details
        return tuple(
            Subresource(sub, "autoscaling", "v1", "Scale", ("get", "patch", "update"))
            if sub == "scale"
            else Subresource(sub, self.group, version, self.kind, ("get", "patch", "update"))
            for sub in self.subresources
        )


def _version_priority(version: str) -> tuple[int, int, int]:
    """Kubernetes version ordering: GA before beta before alpha, higher numbers first."""
    m = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", version)
    if not m:
        return (3, 0, 0)
    major = int(m.group(1))
    stage = {"alpha": 2, "beta": 1}.get(m.group(2) or "", 0)
    return (stage, -major, -int(m.group(3) or 0))


def _catalogue_types() -> tuple[ResourceType, ...]:
    """Every built-in of Kubernetes 1.32, one type per group/plural with all its served versions."""
    merged: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for entry in catalogue.resources():
        merged.setdefault((entry["group"], entry["plural"]), []).append(entry)
    out = []
    for (group, plural), entries in merged.items():
        versions = sorted((e["version"] for e in entries), key=_version_priority)
        first = next(e for e in entries if e["version"] == versions[0])
        subs = tuple(
            Subresource(s["name"], s["group"], s["version"], s["kind"], tuple(s["verbs"]))
            for s in first.get("subresources") or ()
        )
        out.append(
            ResourceType(
                group=group,
                versions=tuple(versions),
                plural=plural,
                kind=first["kind"],
                namespaced=first["namespaced"],
                short_names=tuple(first.get("shortNames") or ()),
                categories=tuple(first.get("categories") or ()),
                verbs=tuple(first["verbs"]),
                subresources=tuple(s.name for s in subs if s.name in SERVED_SUBRESOURCES),
                subresource_details=subs,
            )
        )
    return tuple(out)


BUILTINS: tuple[ResourceType, ...] = _catalogue_types()

# Kinds with a status subresource: a write through the main endpoint keeps the stored status, as in kube.
STATUS_OWNED = frozenset(rt.key for rt in BUILTINS if "status" in rt.subresources)


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
