"""Addon access: ``networking.k8s.io/v1`` Ingresses for the addon UIs, and ``/etc/hosts`` lines to reach them.

How the UI uses this module
---------------------------
* ``validate_ingress_class(raw)`` checks the ingressClassName field (``FieldError`` with ``field ==
  "ingress_class"``); ``DEFAULT_INGRESS_CLASS`` pre-fills it.
* ``addon_ingresses(addons, ingress_class=...)`` returns the Ingress manifests (pure; show them as a preview).
* ``apply_addon_ingresses(cluster, addons, ingress_class=...)`` creates or updates them in istio-system and
  returns the stored objects (blocking: call from a worker).
* ``node_ip(cluster)`` finds the address the hosts lines should use; ``hosts_lines(ip, addons)`` formats them.

Hosts and backends: prometheus.istio.io -> prometheus-server:80, grafana.istio.io -> grafana:80,
kiali.istio.io -> kiali:20001 (UI under /kiali), tracing.istio.io -> jaeger-query:16686, i.e. the Services the
addon charts create (``tui.istio.plan.ADDON_CHARTS``). The seed's YAML used the removed ``extensions/v1beta1``
API; these use ``networking.k8s.io/v1`` with ``pathType: Prefix``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from tui import kube
from tui.errors import KubeError
from tui.istio.plan import ADDON_CHARTS, ADDONS, ISTIO_NAMESPACE, FieldError

if TYPE_CHECKING:
    from tui.kube import Cluster

DEFAULT_INGRESS_CLASS = "nginx"
MANAGED_BY = "istio-tui"
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def validate_ingress_class(raw: Any) -> str:
    text = str(raw or "").strip()
    if not text:
        raise FieldError(
            "ingress_class",
            "ingressClassName is empty: name the IngressClass of your controller "
            f"(e.g. {DEFAULT_INGRESS_CLASS})",
        )
    if len(text) > 253 or not _DNS_SUBDOMAIN.match(text):
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


def apply_addon_ingresses(
    cluster: Cluster, addons: Iterable[str], *, ingress_class: str, namespace: str = ISTIO_NAMESPACE
) -> list[dict[str, Any]]:
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


def hosts_lines(ip: str, addons: Iterable[str]) -> list[str]:
    """``/etc/hosts`` lines, one per addon host, e.g. ``192.168.49.2  kiali.istio.io``."""
    return [f"{ip}  {ADDON_CHARTS[a].host}" for a in _addons(addons)]
