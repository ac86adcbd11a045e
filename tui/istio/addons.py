"""Addon access: ``networking.k8s.io/v1`` Ingresses for the addon UIs, and ``/etc/hosts`` lines to reach them.

How the UI uses this module
---------------------------
* ``validate_ingress_class(raw)`` checks the ingressClassName field (``FieldError`` with ``field ==
  "ingress_class"``); ``DEFAULT_INGRESS_CLASS`` (``istio``) pre-fills it: Istio's own ingress gateway serves
  Kubernetes Ingress, so a cluster needs no other controller. Istio only takes Ingresses whose class is an
  IngressClass with controller ``istio.io/ingress-controller`` (the Istio docs have you create it), so
  ``apply_addon_ingresses`` creates that IngressClass when it is missing and the class is ``istio``.
* ``addon_ingresses(addons, ingress_class=...)`` returns the Ingress manifests (pure; show them as a preview).
* ``apply_addon_ingresses(cluster, addons, ingress_class=...)`` creates or updates them in istio-system and
  returns the stored objects (blocking: call from a worker).
* ``node_ip(cluster)`` finds the address the hosts lines should use, ``gateway_port(cluster)`` the gateway
  port the addon hosts answer on (the http2 nodePort, or 80 behind a LoadBalancer); ``hosts_lines(ip,
  addons, port=...)`` formats the lines, each followed by the URL to open, port included.

Hosts and backends: prometheus.istio.io -> prometheus-server:80, grafana.istio.io -> grafana:80,
kiali.istio.io -> kiali:20001 (UI under /kiali), tracing.istio.io -> jaeger-query:16686, i.e. the Services the
addon charts create (``tui.istio.plan.ADDON_CHARTS``). The seed's YAML used the removed ``extensions/v1beta1``
API; these use ``networking.k8s.io/v1`` with ``pathType: Prefix``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from tui import kube
from tui.errors import KubeError, NotFound
from tui.istio.ingress import read_ingress
from tui.istio.plan import ADDON_CHARTS, ADDONS, ISTIO_NAMESPACE, FieldError
from tui.names import is_dns_subdomain

if TYPE_CHECKING:
    from tui.kube import Cluster

DEFAULT_INGRESS_CLASS = "istio"
ISTIO_INGRESS_CONTROLLER = "istio.io/ingress-controller"
INGRESS_SERVICE = "istio-ingressgateway"
ADDON_PATHS = {"kiali": "/kiali"}
MANAGED_BY = "istio-tui"


def validate_ingress_class(raw: Any) -> str:
    text = str(raw or "").strip()
    if not text:
        raise FieldError(
            "ingress_class",
            "ingressClassName is empty: name the IngressClass of your controller "
            f"(e.g. {DEFAULT_INGRESS_CLASS})",
        )
    if not is_dns_subdomain(text):
        raise FieldError(
            "ingress_class",
            f"ingressClassName {text!r} is not a valid name (lower-case letters, digits, '-' and '.')",
        )
    return text


def _addons(addons: Iterable[str]) -> list[str]:
    chosen = list(dict.fromkeys(addons))
    unknown = [a for a in chosen if a not in ADDONS]
    if unknown:
        raise FieldError("addons", f"unknown addon {unknown[0]!r}: valid addons are {', '.join(ADDONS)}")
    return chosen


def addon_ingresses(
    addons: Iterable[str], *, ingress_class: str, namespace: str = ISTIO_NAMESPACE
) -> list[dict[str, Any]]:
    """One Ingress per addon, named ``<addon>-ingress``."""
    ingress_class = validate_ingress_class(ingress_class)
    docs = []
    for addon in _addons(addons):
        spec = ADDON_CHARTS[addon]
        docs.append(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "Ingress",
                "metadata": {
                    "name": f"{addon}-ingress",
                    "namespace": namespace,
                    "labels": {"app.kubernetes.io/managed-by": MANAGED_BY, "istio-tui/addon": addon},
                },
                "spec": {
                    "ingressClassName": ingress_class,
                    "rules": [
                        {
                            "host": spec.host,
                            "http": {
                                "paths": [
                                    {
                                        "path": "/",
                                        "pathType": "Prefix",
                                        "backend": {
                                            "service": {"name": spec.service, "port": {"number": spec.port}}
                                        },
                                    }
                                ]
                            },
                        }
                    ],
                },
            }
        )
    return docs


def istio_ingress_class() -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "IngressClass",
        "metadata": {"name": DEFAULT_INGRESS_CLASS, "labels": {"app.kubernetes.io/managed-by": MANAGED_BY}},
        "spec": {"controller": ISTIO_INGRESS_CONTROLLER},
    }


def apply_addon_ingresses(
    cluster: Cluster, addons: Iterable[str], *, ingress_class: str, namespace: str = ISTIO_NAMESPACE
) -> list[dict[str, Any]]:
    """Create or update the Ingresses; with class ``istio``, first the IngressClass unless one exists."""
    if ingress_class == DEFAULT_INGRESS_CLASS:
        try:
            cluster.get(kube.INGRESS_CLASSES, DEFAULT_INGRESS_CLASS)
        except NotFound:
            cluster.create(kube.INGRESS_CLASSES, istio_ingress_class())
    return cluster.apply(
        addon_ingresses(addons, ingress_class=ingress_class, namespace=namespace), namespace=namespace
    )


def node_ip(cluster: Cluster) -> str:
    """A node address for /etc/hosts: a node's ExternalIP, else InternalIP, else a gateway pod's hostIP."""
    try:
        nodes = cluster.list(kube.NODES).items
    except KubeError:
        nodes = []
    for kind in ("ExternalIP", "InternalIP"):
        for node in nodes:
            for addr in (node.get("status") or {}).get("addresses") or []:
                if addr.get("type") == kind and addr.get("address"):
                    return str(addr["address"])
    try:
        pods = cluster.list(kube.PODS, namespace=ISTIO_NAMESPACE, label_selector="istio=ingressgateway").items
    except KubeError:
        pods = []
    for pod in pods:
        host = (pod.get("status") or {}).get("hostIP")
        if host:
            return str(host)
    return "127.0.0.1"


def gateway_port(cluster: Cluster) -> int:
    """The port addon hosts answer on: the gateway's http2 nodePort, or its port behind a LoadBalancer."""
    try:
        svc = cluster.get(kube.SERVICES, INGRESS_SERVICE, namespace=ISTIO_NAMESPACE)
    except KubeError:
        return 0
    return read_ingress(cluster, svc, running_only=False).port


def addon_url(addon: str, port: int) -> str:
    """``http://kiali.istio.io:31380/kiali``; the port is left out when it is 80."""
    host = ADDON_CHARTS[addon].host
    shown = f":{port}" if port and port != 80 else ""
    return f"http://{host}{shown}{ADDON_PATHS.get(addon, '/')}"


def hosts_lines(ip: str, addons: Iterable[str], *, port: int = 0) -> list[str]:
    """``/etc/hosts`` lines, one per addon host, e.g. ``192.168.49.2  kiali.istio.io``.

    With ``port`` each line ends in a comment with the URL to open: a hosts file maps names, not ports, and
    a NodePort gateway answers on its nodePort, not 80.
    """
    return [
        f"{ip}  {ADDON_CHARTS[a].host}" + (f"  # open {addon_url(a, port)}" if port else "")
        for a in _addons(addons)
    ]
