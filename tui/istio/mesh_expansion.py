"""Mesh expansion: register a VM as a ``WorkloadEntry`` plus a ``Service`` or a ``ServiceEntry``.

This is today's form of the seed's ``istioctl register``: the VM's address, ports, labels and service account
become a WorkloadEntry (``networking.istio.io/v1``), and either a Kubernetes Service (selector = the labels;
the mesh then sends ``<name>.<namespace>.svc`` traffic to the VM) or a ServiceEntry with a
``workloadSelector`` (``MESH_INTERNAL``, ``STATIC`` resolution) for a service with no Kubernetes counterpart.

How the UI uses this module
---------------------------
Form fields (``VM_FIELDS``): ``name``, ``namespace``, ``address`` (IP or DNS name), ``ports``
(``http:8080,grpc:9090``), ``labels`` (``app=vm,version=v1``; at least one), ``service_account`` and
``expose`` (``service`` or ``serviceentry``).

* ``validate_vm_field(field, raw)`` checks one field (``FieldError`` with ``.field``) and normalises it.
* ``build_registration(**raw)`` -> ``VmRegistration``; ``registration.manifests()`` is the preview.
* ``register_vm(cluster, registration)`` applies them (blocking) and returns the stored objects.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tui import kube
from tui.errors import NotFound
from tui.istio.plan import FieldError
from tui.names import is_dns_label, is_dns_subdomain, is_label_value, qualified_name_problem

if TYPE_CHECKING:
    from tui.kube import Cluster

PROTOCOL_PREFIXES = {
    "http": "HTTP",
    "http2": "HTTP2",
    "https": "HTTPS",
    "grpc": "GRPC",
    "tcp": "TCP",
    "tls": "TLS",
}
EXPOSE = ("service", "serviceentry")


def _dns_label(field: str, raw: Any, what: str) -> str:
    text = str(raw or "").strip()
    if not text:
        raise FieldError(field, f"{what} is empty")
    if not is_dns_label(text):
        raise FieldError(
            field, f"{what} {text!r} is not a DNS label (lower-case letters, digits and '-', max 63)"
        )
    return text


def _address(raw: Any) -> str:
    text = str(raw or "").strip()
    if not text:
        raise FieldError("address", "address is empty: give the VM's IP address or DNS name")
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    if not is_dns_subdomain(text.lower()) or text.replace(".", "").isdigit():
        raise FieldError("address", f"address {text!r} is neither an IP address nor a DNS name")
    return text.lower()


def _ports(raw: Any) -> dict[str, int]:
    items = (
        raw.items()
        if isinstance(raw, Mapping)
        else [
            tuple(part.split(":", 1)) if ":" in part else (part, "")
            for part in str(raw or "").split(",")
            if part.strip()
        ]
    )
    ports: dict[str, int] = {}
    for name, number in items:
        name = str(name).strip()
        if not is_dns_label(name, max_len=15):
            raise FieldError(
                "ports",
                f"port name {name!r} must be a DNS label of at most 15 characters (e.g. http, grpc-api)",
            )
        try:
            port = int(str(number).strip())
        except ValueError:
            raise FieldError("ports", f"port {name!r} needs a number, as in {name}:8080") from None
        if not 1 <= port <= 65535:
            raise FieldError("ports", f"port {name} {port} is outside 1-65535")
        if name in ports:
            raise FieldError("ports", f"port name {name!r} is given twice")
        ports[name] = port
    if not ports:
        raise FieldError("ports", "no ports: give at least one as name:number, e.g. http:8080")
    return ports


def _labels(raw: Any) -> dict[str, str]:
    items = (
        raw.items()
        if isinstance(raw, Mapping)
        else [
            tuple(part.split("=", 1)) if "=" in part else (part, None)
            for part in str(raw or "").split(",")
            if part.strip()
        ]
    )
    labels: dict[str, str] = {}
    for key, value in items:
        key = str(key).strip()
        if value is None:
            raise FieldError("labels", f"label {key!r} needs a value, as in {key}=vm")
        value = str(value).strip()
        if qualified_name_problem(key):
            raise FieldError("labels", f"label key {key!r} is not a valid Kubernetes label key")
        if not is_label_value(value):
            raise FieldError(
                "labels", f"label value {value!r} of {key} is not a valid Kubernetes label value"
            )
        labels[key] = value
    if not labels:
        raise FieldError(
            "labels", "no labels: give at least one (e.g. app=vm) so a Service can select the VM"
        )
    return labels


def _expose(raw: Any) -> str:
    text = str(raw or "service").strip().lower()
    if text not in EXPOSE:
        raise FieldError("expose", f"expose {text!r} must be service or serviceentry")
    return text


VM_FIELDS: dict[str, Any] = {
    "name": lambda raw: _dns_label("name", raw, "workload name"),
    "namespace": lambda raw: _dns_label("namespace", raw, "namespace"),
    "address": _address,
    "ports": _ports,
    "labels": _labels,
    "service_account": lambda raw: _dns_label("service_account", raw or "default", "service account"),
    "expose": _expose,
}


def validate_vm_field(name: str, raw: Any) -> Any:
    try:
        check = VM_FIELDS[name]
    except KeyError:
        raise FieldError(
            name, f"unknown mesh-expansion field {name!r}: known fields are {', '.join(VM_FIELDS)}"
        ) from None
    return check(raw)


@dataclass(frozen=True)
class VmRegistration:
    name: str
    namespace: str
    address: str
    ports: tuple[tuple[str, int], ...]
    labels: tuple[tuple[str, str], ...]
    service_account: str
    expose: str = "service"

    @property
    def host(self) -> str:
        return f"{self.name}.{self.namespace}.svc.cluster.local"

    def workload_entry(self) -> dict[str, Any]:
        return {
            "apiVersion": "networking.istio.io/v1",
            "kind": "WorkloadEntry",
            "metadata": {"name": self.name, "namespace": self.namespace, "labels": dict(self.labels)},
            "spec": {
                "address": self.address,
                "ports": dict(self.ports),
                "labels": dict(self.labels),
                "serviceAccount": self.service_account,
            },
        }

    def service(self) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": self.name, "namespace": self.namespace, "labels": dict(self.labels)},
            "spec": {
                "selector": dict(self.labels),
                "ports": [{"name": n, "port": p, "targetPort": p, "protocol": "TCP"} for n, p in self.ports],
            },
        }

    def service_entry(self) -> dict[str, Any]:
        ports = [
            {
                "number": p,
                "name": n,
                "protocol": PROTOCOL_PREFIXES.get(n.split("-", 1)[0], "TCP"),
                "targetPort": p,
            }
            for n, p in self.ports
        ]
        return {
            "apiVersion": "networking.istio.io/v1",
            "kind": "ServiceEntry",
            "metadata": {"name": self.name, "namespace": self.namespace, "labels": dict(self.labels)},
            "spec": {
                "hosts": [self.host],
                "location": "MESH_INTERNAL",
                "ports": ports,
                "resolution": "STATIC",
                "workloadSelector": {"labels": dict(self.labels)},
            },
        }

    def manifests(self) -> list[dict[str, Any]]:
        second = self.service() if self.expose == "service" else self.service_entry()
        return [self.workload_entry(), second]


def build_registration(
    *,
    name: Any,
    namespace: Any,
    address: Any,
    ports: Any,
    labels: Any,
    service_account: Any = "default",
    expose: Any = "service",
) -> VmRegistration:
    return VmRegistration(
        name=validate_vm_field("name", name),
        namespace=validate_vm_field("namespace", namespace),
        address=validate_vm_field("address", address),
        ports=tuple(validate_vm_field("ports", ports).items()),
        labels=tuple(validate_vm_field("labels", labels).items()),
        service_account=validate_vm_field("service_account", service_account),
        expose=validate_vm_field("expose", expose),
    )


def register_vm(cluster: Cluster, registration: VmRegistration) -> list[dict[str, Any]]:
    """Apply the WorkloadEntry and its Service/ServiceEntry; the namespace must exist (else FieldError)."""
    try:
        cluster.get(kube.NAMESPACES, registration.namespace)
    except NotFound:
        raise FieldError("namespace", f"namespace {registration.namespace!r} does not exist") from None
    return cluster.apply(registration.manifests(), namespace=registration.namespace)
