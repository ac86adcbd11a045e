"""What the checks read and what they return: a snapshot of plain API objects, and findings.

A snapshot is the whole cluster's relevant objects (Gateways may select pods in another namespace, a
VirtualService may route to a Service elsewhere), so scoping to a namespace happens on the findings, not on
the input. Checks are pure functions of a snapshot, which keeps them testable and lets the UI recompute them
from watch caches without a single extra API call.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Obj = dict[str, Any]
Level = Literal["error", "warning", "info"]
Path = tuple[str | int, ...]
LEVELS: tuple[Level, ...] = ("error", "warning", "info")

# Snapshot fields, one per kind the checks read; the UI watches exactly these.
KINDS = (
    "namespaces",
    "pods",
    "services",
    "gateways",
    "virtual_services",
    "destination_rules",
    "service_entries",
    "authorization_policies",
    "k8s_gateways",
    "http_routes",
    "webhooks",
)


@dataclass(frozen=True)
class Finding:
    """One problem with one object. ``path`` is the offending field inside that object (for highlighting)."""

    code: str
    level: Level
    kind: str
    namespace: str
    name: str
    message: str
    fix: str
    path: Path = ()
    api_version: str = ""  # which API serves the object (an Istio Gateway and a Gateway API one share a kind)

    @property
    def resource(self) -> str:
        """``Kind ns/name``, or ``Kind name`` for cluster-scoped objects."""
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"

    @property
    def path_key(self) -> str:
        return path_text(self.path)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "level": self.level,
            "resource": self.resource,
            "message": self.message,
            "fix": self.fix,
            "path": self.path_key,
        }


def path_text(path: Path) -> str:
    """``spec.servers[0].port.number``: the field path as kubectl explain and JSONPath users write it."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


@dataclass
class Snapshot:
    """Lists of API objects as the server sent them, keyed by kind (see ``KINDS``)."""

    namespaces: list[Obj] = field(default_factory=list)
    pods: list[Obj] = field(default_factory=list)
    services: list[Obj] = field(default_factory=list)
    gateways: list[Obj] = field(default_factory=list)
    virtual_services: list[Obj] = field(default_factory=list)
    destination_rules: list[Obj] = field(default_factory=list)
    service_entries: list[Obj] = field(default_factory=list)
    authorization_policies: list[Obj] = field(default_factory=list)
    k8s_gateways: list[Obj] = field(default_factory=list)
    http_routes: list[Obj] = field(default_factory=list)
    webhooks: list[Obj] = field(default_factory=list)

    def namespace_labels(self, namespace: str) -> dict[str, str]:
        for ns in self.namespaces:
            if name_of(ns) == namespace:
                return dict(labels_of(ns))
        return {}

    def service(self, namespace: str, name: str) -> Obj | None:
        return next((s for s in self.services if ns_of(s) == namespace and name_of(s) == name), None)

    def pods_in(self, namespace: str) -> Iterator[Obj]:
        return (p for p in self.pods if ns_of(p) == namespace)


def meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def name_of(obj: Mapping[str, Any]) -> str:
    return str(meta(obj).get("name") or "")


def ns_of(obj: Mapping[str, Any]) -> str:
    return str(meta(obj).get("namespace") or "")


def labels_of(obj: Mapping[str, Any]) -> Mapping[str, str]:
    return meta(obj).get("labels") or {}


def annotations_of(obj: Mapping[str, Any]) -> Mapping[str, str]:
    return meta(obj).get("annotations") or {}


def spec_of(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    spec = obj.get("spec")
    return spec if isinstance(spec, Mapping) else {}


def finding(
    obj: Mapping[str, Any],
    *,
    code: str,
    level: Level,
    message: str,
    fix: str,
    path: Path = (),
    kind: str = "",
) -> Finding:
    """A finding about ``obj`` (its kind, namespace and name come from the object)."""
    return Finding(
        code=code,
        level=level,
        kind=kind or str(obj.get("kind") or ""),
        namespace=ns_of(obj),
        name=name_of(obj),
        message=message,
        fix=fix,
        path=path,
        api_version=str(obj.get("apiVersion") or ""),
    )
