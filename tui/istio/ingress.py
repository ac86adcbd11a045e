"""The ingress gateway's address (``INGRESS_HOST:PORT``) read from its Service, as the Istio docs compute it.

The install verifier and the Bookinfo expose step both need it; they differ only in how strict they are
(verify reports what it sees, Bookinfo refuses an address nothing outside the cluster can reach), so the
reading lives here once and each caller judges the result.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tui import kube
from tui.models import IngressInfo

if TYPE_CHECKING:
    from tui.kube import Cluster

HTTP_PORT_NAME = "http2"
DEFAULT_GATEWAY_SELECTOR = {"istio": "ingressgateway"}


def http_port(spec: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The Service port named ``http2`` (what the gateway charts call their HTTP port), if any."""
    return next((p for p in spec.get("ports") or [] if p.get("name") == HTTP_PORT_NAME), None)


def read_ingress(cluster: Cluster, svc: Mapping[str, Any], *, running_only: bool) -> IngressInfo:
    """Where ``svc`` answers; host "" or port 0 when it has no usable address yet (never raises for that).

    The http2 port wins, else the first one. A NodePort address uses a gateway pod's hostIP: only a Running
    pod's when ``running_only``, else a Running one's by preference.
    """
    meta, spec = svc.get("metadata") or {}, svc.get("spec") or {}
    name, ns = str(meta.get("name")), str(meta.get("namespace"))
    ports = spec.get("ports") or []
    port = http_port(spec) or (ports[0] if ports else {})
    svc_type = str(spec.get("type") or "ClusterIP")
    if svc_type not in ("LoadBalancer", "NodePort"):
        return IngressInfo(
            name, ns, svc_type, spec.get("clusterIP", ""), int(port.get("port", 80)), "cluster-ip"
        )
    pending = False
    if svc_type == "LoadBalancer":
        for entry in ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []:
            host = entry.get("ip") or entry.get("hostname")
            if host:
                return IngressInfo(name, ns, svc_type, str(host), int(port.get("port", 80)), "load-balancer")
        pending = True
        if not port.get("nodePort"):
            return IngressInfo(name, ns, svc_type, "", 0, "load-balancer", pending_load_balancer=True)
    node_port = int(port.get("nodePort") or 0)
    host_ip = (
        gateway_host_ip(cluster, namespace=ns, selector=spec.get("selector") or {}, running_only=running_only)
        if node_port
        else ""
    )
    return IngressInfo(name, ns, svc_type, host_ip, node_port, "node-port", pending_load_balancer=pending)


def gateway_host_ip(
    cluster: Cluster, *, namespace: str, selector: Mapping[str, Any], running_only: bool
) -> str:
    """The hostIP of a gateway pod the Service selects ("" when none has one yet)."""
    text = ",".join(f"{k}={v}" for k, v in sorted((selector or DEFAULT_GATEWAY_SELECTOR).items()))
    pods = cluster.list(kube.PODS, namespace=namespace, label_selector=text).items
    with_ip = [p for p in pods if (p.get("status") or {}).get("hostIP")]
    running = [p for p in with_ip if p["status"].get("phase") == "Running"]
    chosen = running if running or running_only else with_ip
    return str(chosen[0]["status"]["hostIP"]) if chosen else ""
