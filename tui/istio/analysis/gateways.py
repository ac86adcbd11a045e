"""Istio Gateways: the server port trap, selectors that match no gateway pod, and VirtualServices bound to a
Gateway that does not exist.

Facts: a selector-based Gateway programs listeners on the selected pods at ``servers[].port.number``. Clients
reach those pods through the gateway's Service, so the listener is reachable only when some Service port sends
traffic to that pod port (istiod also accepts a Service ``port`` and translates it to its ``targetPort``).
The official gateway chart's Service maps 80→80 and 443→443, so the docs' ``bookinfo-gateway.yaml`` on 8080
listens where nothing arrives. A Gateway selector is matched against pods in every namespace.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from tui.istio.analysis.model import Finding, Obj, Snapshot, finding, labels_of, name_of, ns_of, spec_of
from tui.labels import selector_matches

GATEWAY_PORT_NOT_ON_SERVICE = "IT0101"
GATEWAY_SELECTS_NOTHING = "IT0102"
GATEWAY_NOT_FOUND = "IT0103"


def _selected_pods(snapshot: Snapshot, selector: Mapping[str, str]) -> list[Obj]:
    return [p for p in snapshot.pods if selector_matches({"matchLabels": selector}, labels_of(p))]


def _services_of(snapshot: Snapshot, pods: list[Obj]) -> list[Obj]:
    found = []
    for svc in snapshot.services:
        sel = spec_of(svc).get("selector") or {}
        if sel and any(
            ns_of(p) == ns_of(svc) and selector_matches({"matchLabels": sel}, labels_of(p)) for p in pods
        ):
            found.append(svc)
    return found


def _container_port(pods: list[Obj], name: str) -> int | None:
    for pod in pods:
        for c in spec_of(pod).get("containers") or ():
            for port in c.get("ports") or ():
                if port.get("name") == name and isinstance(port.get("containerPort"), int):
                    return int(port["containerPort"])
    return None


def _target(port: Mapping[str, Any], pods: list[Obj]) -> int | None:
    target = port.get("targetPort", port.get("port"))
    if isinstance(target, int):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    return _container_port(pods, str(target)) if target else None


def _mapping(port: Mapping[str, Any], pods: list[Obj]) -> str:
    return f"{port.get('port')}→{_target(port, pods)}"


def _suggest(ports: list[Mapping[str, Any]], protocol: str) -> Mapping[str, Any] | None:
    """The Service port a server of this protocol should use: one named for the protocol, else 80/443."""
    want = "https" if protocol.upper() in ("HTTPS", "TLS") else "http"
    default = 443 if want == "https" else 80
    named = [p for p in ports if str(p.get("name") or "").lower().startswith(want)]
    if want == "http":
        named = [p for p in named if not str(p.get("name") or "").lower().startswith("https")]
    return next(iter(named), None) or next((p for p in ports if p.get("port") == default), None)


def _port_trap(gw: Obj, pods: list[Obj], services: list[Obj]) -> Iterator[Finding]:
    ports = [p for svc in services for p in spec_of(svc).get("ports") or ()]
    reachable = {t for p in ports if (t := _target(p, pods)) is not None} | {p.get("port") for p in ports}
    svc_names = ", ".join(f"{ns_of(s)}/{name_of(s)}" for s in services)
    for i, server in enumerate(spec_of(gw).get("servers") or ()):
        port = server.get("port") or {}
        number = port.get("number")
        if not isinstance(number, int) or number in reachable:
            continue
        good = _suggest(ports, str(port.get("protocol") or "HTTP"))
        maps = ", ".join(_mapping(p, pods) for p in ports)
        fix = (
            f"set spec.servers[{i}].port.number to {good.get('port')} (Service port {good.get('port')} → "
            f"targetPort {_target(good, pods)})"
            if good
            else f"add a port to Service {svc_names} whose targetPort is {number}"
        )
        yield finding(
            gw,
            code=GATEWAY_PORT_NOT_ON_SERVICE,
            level="error",
            message=(
                f"server port {number} is served on the gateway pods, but Service {svc_names} sends nothing "
                f"there (its ports map {maps}); traffic through the Service never reaches this server"
            ),
            fix=fix,
            path=("spec", "servers", i, "port", "number"),
        )


def check_gateways(snapshot: Snapshot) -> Iterator[Finding]:
    for gw in snapshot.gateways:
        selector = spec_of(gw).get("selector") or {}
        if not selector:
            continue
        pods = _selected_pods(snapshot, selector)
        if not pods:
            text = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
            yield finding(
                gw,
                code=GATEWAY_SELECTS_NOTHING,
                level="error",
                message=f"selector {text} matches no gateway pod in any namespace; nothing serves it",
                fix="install a gateway whose pods carry these labels, or change spec.selector to match one "
                "(kubectl get pods -A --show-labels)",
                path=("spec", "selector"),
            )
            continue
        services = _services_of(snapshot, pods)
        if services:
            yield from _port_trap(gw, pods, services)


def _known_gateways(snapshot: Snapshot) -> set[tuple[str, str]]:
    return {(ns_of(g), name_of(g)) for g in [*snapshot.gateways, *snapshot.k8s_gateways]}


def check_gateway_refs(snapshot: Snapshot) -> Iterator[Finding]:
    known = _known_gateways(snapshot)
    for vs in snapshot.virtual_services:
        for i, ref in enumerate(spec_of(vs).get("gateways") or ()):
            ref = str(ref)
            if ref == "mesh":
                continue
            ns, _, name = ref.rpartition("/")
            key = (ns or ns_of(vs), name)
            if key in known:
                continue
            yield finding(
                vs,
                code=GATEWAY_NOT_FOUND,
                level="error",
                message=f"bound to gateway {key[0]}/{key[1]}, which does not exist; its routes apply nowhere",
                fix=f"create Gateway {key[0]}/{key[1]}, or name an existing one in spec.gateways[{i}]",
                path=("spec", "gateways", i),
            )
