"""Service ports that declare no protocol to Istio.

Facts (Istio's protocol selection): a port's protocol comes from ``appProtocol``, else from its name as
``<protocol>`` or ``<protocol>-<suffix>``; otherwise Istio sniffs HTTP and falls back to plain TCP, so HTTP
routing, retries and metrics may silently not apply. UDP ports are exempt. Only namespaces in the mesh matter.
"""

from __future__ import annotations

from collections.abc import Iterator

from tui.istio.analysis.model import Finding, Snapshot, finding, ns_of, spec_of
from tui.istio.injection import DATAPLANE_LABEL, INJECTION_LABEL, REV_LABEL

PORT_NO_PROTOCOL = "IT0401"
PROTOCOLS = frozenset(
    {"http", "http2", "https", "tcp", "tls", "grpc", "grpc-web", "mongo", "mysql", "redis", "udp"}
)
APP_PROTOCOLS = PROTOCOLS | {"kubernetes.io/h2c", "kubernetes.io/ws", "kubernetes.io/wss"}


def port_protocol(name: str, app_protocol: str) -> str:
    """The protocol Istio reads from a port, or "" when it has to guess."""
    if app_protocol:
        return app_protocol.lower() if app_protocol.lower() in APP_PROTOCOLS else ""
    lowered = name.lower()
    if lowered in PROTOCOLS:
        return lowered
    head = lowered.split("-", 1)[0]
    if head in PROTOCOLS:
        return head
    return "grpc-web" if lowered.startswith("grpc-web") else ""


def in_mesh(labels: dict[str, str]) -> bool:
    return (
        labels.get(INJECTION_LABEL) == "enabled"
        or bool(labels.get(REV_LABEL))
        or labels.get(DATAPLANE_LABEL) == "ambient"
    )


def check_ports(snapshot: Snapshot) -> Iterator[Finding]:
    for svc in snapshot.services:
        if not in_mesh(snapshot.namespace_labels(ns_of(svc))):
            continue
        for i, port in enumerate(spec_of(svc).get("ports") or ()):
            if str(port.get("protocol") or "TCP").upper() == "UDP":
                continue
            name, app = str(port.get("name") or ""), str(port.get("appProtocol") or "")
            if port_protocol(name, app):
                continue
            what = f"appProtocol {app!r}" if app else (f"name {name!r}" if name else "no name")
            suggestion = f"http-{name}" if name else "http"
            yield finding(
                svc,
                code=PORT_NO_PROTOCOL,
                level="warning",
                message=f"port {port.get('port')} has {what}, which gives Istio no protocol; it will guess, "
                "and treat what it cannot recognise as plain TCP",
                fix=f"name the port {suggestion!r} (or {'tcp'!r}-… for raw TCP), or set appProtocol: http",
                path=("spec", "ports", i, "appProtocol" if app else "name"),
                kind="Service",
            )


__all__ = ["PORT_NO_PROTOCOL", "check_ports", "in_mesh", "port_protocol"]
