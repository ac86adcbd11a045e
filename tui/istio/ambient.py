"""Istio's ambient-mode facts: which pods ztunnel captures, which waypoint serves a Service, when L7 applies.

The Namespaces and Traffic panes and the sandbox's data plane must agree on these, so they live here once,
as pure functions over the API's plain dicts (no I/O). Istio's rules, as documented for 1.30:

* A namespace (or a pod) joins ambient with the label ``istio.io/dataplane-mode=ambient``; a pod opts out
  with ``istio.io/dataplane-mode=none``. Pods with a sidecar are never captured. istio-cni marks a captured
  pod with the annotation ``ambient.istio.io/redirection: enabled``, without restarting it.
* ``istio.io/use-waypoint`` on a Service, else on its namespace, names the waypoint (a Gateway of class
  ``istio-waypoint``) that serves it; ``istio.io/use-waypoint-namespace`` points at another namespace; the
  value ``none`` on the Service opts it out of its namespace's waypoint. A waypoint serves Services unless
  its ``istio.io/waypoint-for`` label says ``workload`` or ``none``.
* L7 routing (HTTPRoute on a Service, VirtualService matches and weights) runs in a sidecar (client side) or
  in a waypoint (for an in-mesh caller of a Service that uses one). ztunnel alone is L4: it ignores them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tui.istio.sidecar import has_sidecar

DATAPLANE_LABEL = "istio.io/dataplane-mode"
AMBIENT = "ambient"
OPT_OUT = "none"
REDIRECTION_ANNOTATION = "ambient.istio.io/redirection"
REDIRECTION_ENABLED = "enabled"
USE_WAYPOINT_LABEL = "istio.io/use-waypoint"
USE_WAYPOINT_NAMESPACE_LABEL = "istio.io/use-waypoint-namespace"
WAYPOINT_CLASS = "istio-waypoint"
WAYPOINT_FOR_LABEL = "istio.io/waypoint-for"
WAYPOINT_PORT = 15008


def _meta(obj: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return (obj or {}).get("metadata") or {}


def wants_ambient(pod: Mapping[str, Any], namespace_labels: Mapping[str, str] | None) -> bool:
    """Whether istio-cni would capture ``pod`` (given ztunnel runs): its label, else its namespace's."""
    labels = _meta(pod).get("labels") or {}
    if has_sidecar(pod) or (pod.get("spec") or {}).get("hostNetwork"):
        return False
    mode = labels.get(DATAPLANE_LABEL)
    if mode is not None:
        return bool(mode == AMBIENT)
    return (namespace_labels or {}).get(DATAPLANE_LABEL) == AMBIENT


def is_captured(pod: Mapping[str, Any]) -> bool:
    """The pod is in the ambient mesh: istio-cni has redirected its traffic to ztunnel."""
    return (_meta(pod).get("annotations") or {}).get(REDIRECTION_ANNOTATION) == REDIRECTION_ENABLED


def waypoint_ref(
    service_labels: Mapping[str, str] | None, namespace_labels: Mapping[str, str] | None, *, namespace: str
) -> tuple[str, str] | None:
    """(namespace, name) of the waypoint a Service asks for, or None; the Service's label wins."""
    for labels in (service_labels or {}, namespace_labels or {}):
        name = labels.get(USE_WAYPOINT_LABEL)
        if name is None:
            continue
        if name == OPT_OUT or not name:
            return None
        return str(labels.get(USE_WAYPOINT_NAMESPACE_LABEL) or namespace), str(name)
    return None


def serves_services(waypoint_labels: Mapping[str, str] | None) -> bool:
    """Whether a waypoint takes traffic addressed to Services (``service``, the default, or ``all``)."""
    return (waypoint_labels or {}).get(WAYPOINT_FOR_LABEL, "service") in ("service", "all")


def l7_applies(*, caller_sidecar: bool, caller_captured: bool, waypoint: bool) -> bool:
    """Whether a call's L7 routing runs: in the caller's sidecar, or in the callee's waypoint."""
    return caller_sidecar or (caller_captured and waypoint)
