"""Ambient mode as Istio defines it: ztunnel gives every captured pod L4 (mTLS, L4 policy), and L7 (HTTP
routing, retries, path rules) happens only in a waypoint, an Envoy the namespace or Service opts into.

Istio facts these follow (istio.io, "Ambient mode" and "Use waypoint proxies"):

* ``istio.io/dataplane-mode=ambient`` on a namespace puts its pods in the mesh with no restart; ztunnel (a
  DaemonSet) must run on their nodes or their traffic is not captured.
* A waypoint is a Gateway of class ``istio-waypoint`` with one listener ``mesh``, protocol HBONE, port 15008,
  labelled ``istio.io/waypoint-for: service`` (what ``istioctl waypoint apply`` writes).
* ``istio.io/use-waypoint=<name>`` on a namespace or a Service sends that traffic through the waypoint; the
  Service's label wins over the namespace's, and the value ``none`` opts a Service out.
* Without a waypoint, an HTTPRoute whose parent is a Service, VirtualService routing and L7 rules of an
  AuthorizationPolicy do not apply to ambient traffic.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from tui import kube
from tui.errors import ConfigError, NotFound
from tui.istio.ambient import USE_WAYPOINT_LABEL, WAYPOINT_CLASS, serves_services, waypoint_ref
from tui.istio.gatewayapi import targets_service
from tui.istio.injection import DATAPLANE_LABEL
from tui.istio.presets import manifests_dir
from tui.istio.routing import MANAGED_BY, MANAGED_BY_LABEL

Obj = dict[str, Any]

USE_WAYPOINT = USE_WAYPOINT_LABEL
DEFAULT_WAYPOINT = "waypoint"
ZTUNNEL = "ztunnel"


def is_ambient(labels: Mapping[str, str] | None) -> bool:
    return (labels or {}).get(DATAPLANE_LABEL) == "ambient"


def waypoint_doc(*, name: str = DEFAULT_WAYPOINT, namespace: str) -> Obj:
    """``manifests/ambient/waypoint.yaml`` (what ``istioctl waypoint apply`` writes) for ``namespace``,
    labelled as ours so cleanup can find it."""
    path = manifests_dir().parent / "ambient" / "waypoint.yaml"
    try:
        (doc,) = [d for d in yaml.safe_load_all(path.read_text()) if d]
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}", hint="reinstall istio-tui") from exc
    meta = doc["metadata"]
    meta.update(name=name, namespace=namespace)
    meta.setdefault("labels", {})[MANAGED_BY_LABEL] = MANAGED_BY
    return dict(doc)


@dataclass(frozen=True, slots=True)
class Ztunnel:
    """ztunnel's DaemonSet: ``ready`` of ``desired`` nodes; ``found`` False when it is not installed."""

    found: bool
    ready: int = 0
    desired: int = 0

    @property
    def ok(self) -> bool:
        return self.found and self.desired > 0 and self.ready >= self.desired

    @property
    def warning(self) -> str:
        """ "" when ztunnel runs everywhere, else one sentence for the user."""
        if not self.found:
            return (
                "ztunnel is not installed: ambient pods stay outside the mesh (install the ambient profile)"
            )
        if not self.ok:
            return f"ztunnel is ready on {self.ready} of {self.desired} nodes: some pods are not captured yet"
        return ""


def ztunnel(cluster: kube.Cluster) -> Ztunnel:
    for ds in cluster.list(kube.DAEMONSETS).items:
        if ds["metadata"]["name"] == ZTUNNEL:
            status = ds.get("status") or {}
            return Ztunnel(
                True, int(status.get("numberReady") or 0), int(status.get("desiredNumberScheduled") or 0)
            )
    return Ztunnel(False)


@dataclass(frozen=True, slots=True)
class WaypointUse:
    """Which waypoint a Service's traffic goes through, and where that choice comes from."""

    service: str
    waypoint: str  # "" for none
    source: str  # "service", "namespace" or ""


def usage(namespace_labels: Mapping[str, str] | None, services: Iterable[Obj]) -> list[WaypointUse]:
    """Every Service of a namespace with the waypoint it uses (sorted by name). Services Istio made for a
    Gateway (the gateways' own and the waypoints') are proxies, not destinations, and are left out."""
    out = []
    for svc in services:
        meta = svc.get("metadata") or {}
        if any(o.get("kind") == "Gateway" for o in meta.get("ownerReferences") or ()):
            continue
        labels = meta.get("labels") or {}
        ref = waypoint_ref(labels, namespace_labels, namespace=str(meta.get("namespace") or ""))
        source = "service" if USE_WAYPOINT_LABEL in labels else "namespace" if ref else ""
        out.append(WaypointUse(str(meta.get("name")), ref[1] if ref else "", source))
    return sorted(out, key=lambda u: u.service)


@dataclass(frozen=True, slots=True)
class AmbientView:
    """One namespace's ambient picture: its mode, the waypoints that take Service traffic, who uses them,
    and ztunnel."""

    namespace: str
    ambient: bool
    waypoints: tuple[str, ...]
    uses: tuple[WaypointUse, ...]
    ztunnel: Ztunnel
    programmed: tuple[str, ...] = ()  # the waypoints whose proxy runs (status Programmed)

    def waypoint_for(self, service: str) -> str:
        """The waypoint ``service`` uses, only once that waypoint is programmed ("" otherwise): until its
        proxy runs, traffic still goes straight through ztunnel."""
        use = next((u for u in self.uses if u.service == service), None)
        return use.waypoint if use and use.waypoint in self.programmed else ""

    def starting_waypoint(self, service: str) -> str:
        """The waypoint ``service`` uses while it exists but is not programmed yet ("" otherwise)."""
        use = next((u for u in self.uses if u.service == service), None)
        waiting = use is not None and use.waypoint in self.waypoints and use.waypoint not in self.programmed
        return use.waypoint if use is not None and waiting else ""

    def needs_waypoint(self, service: str, *, l7_configured: bool) -> bool:
        """Ambient, L7 routing configured on ``service``, and no existing waypoint in its path."""
        return self.ambient and l7_configured and not self.waypoint_for(service)


def read(cluster: kube.Cluster, *, namespace: str) -> AmbientView:
    ns = cluster.get(kube.NAMESPACES, namespace)
    labels = (ns.get("metadata") or {}).get("labels") or {}
    serving = [
        w for w in waypoints(cluster, namespace=namespace) if serves_services(w["metadata"].get("labels"))
    ]
    return AmbientView(
        namespace=namespace,
        ambient=is_ambient(labels),
        waypoints=tuple(w["metadata"]["name"] for w in serving),
        uses=tuple(usage(labels, cluster.list(kube.SERVICES, namespace=namespace).items)),
        ztunnel=ztunnel(cluster),
        programmed=tuple(w["metadata"]["name"] for w in serving if _programmed(w)),
    )


def _programmed(gateway: Mapping[str, Any]) -> bool:
    conditions = (gateway.get("status") or {}).get("conditions") or ()
    return any(c.get("type") == "Programmed" and c.get("status") == "True" for c in conditions)


def waypoints(cluster: kube.Cluster, *, namespace: str) -> list[Obj]:
    """Gateways of class istio-waypoint in ``namespace`` (none when the Gateway API is not served)."""
    try:
        gateways = cluster.list(kube.K8S_GATEWAYS, namespace=namespace).items
    except NotFound:
        return []
    return [g for g in gateways if (g.get("spec") or {}).get("gatewayClassName") == WAYPOINT_CLASS]


def deploy_waypoint(
    cluster: kube.Cluster, *, namespace: str, name: str = DEFAULT_WAYPOINT, service: str = ""
) -> Obj:
    """Apply the waypoint and enroll the namespace (or only ``service``) with ``istio.io/use-waypoint``."""
    stored = cluster.apply([waypoint_doc(name=name, namespace=namespace)], namespace=namespace)[0]
    patch = {"metadata": {"labels": {USE_WAYPOINT: name}}}
    if service:
        cluster.patch(kube.SERVICES, service, patch, namespace=namespace, patch_type="merge")
    else:
        cluster.patch(kube.NAMESPACES, namespace, patch, patch_type="merge")
    return stored


def remove_waypoint(cluster: kube.Cluster, *, namespace: str, name: str = DEFAULT_WAYPOINT) -> list[str]:
    """Delete the waypoint and the ``use-waypoint`` labels naming it; returns what was unlabelled."""
    unlabelled: list[str] = []
    drop = {"metadata": {"labels": {USE_WAYPOINT: None}}}
    ns = cluster.get(kube.NAMESPACES, namespace)
    if ((ns.get("metadata") or {}).get("labels") or {}).get(USE_WAYPOINT) == name:
        cluster.patch(kube.NAMESPACES, namespace, drop, patch_type="merge")
        unlabelled.append(f"Namespace/{namespace}")
    for svc in cluster.list(
        kube.SERVICES, namespace=namespace, label_selector=f"{USE_WAYPOINT}={name}"
    ).items:
        cluster.patch(kube.SERVICES, svc["metadata"]["name"], drop, namespace=namespace, patch_type="merge")
        unlabelled.append(f"Service/{svc['metadata']['name']}")
    with contextlib.suppress(NotFound):
        cluster.delete(kube.K8S_GATEWAYS, name, namespace=namespace)
    return unlabelled


# ----------------------------------------------------------------------------------------------- L7 policy
def _has_l7_rule(vs: Mapping[str, Any]) -> bool:
    for rule in (vs.get("spec") or {}).get("http") or ():
        if rule.get("match") or rule.get("fault") or len(rule.get("route") or ()) > 1 or rule.get("retries"):
            return True
        if any((d.get("destination") or {}).get("subset") for d in rule.get("route") or ()):
            return True
    return False


def _authz_is_l7(policy: Mapping[str, Any]) -> bool:
    for rule in (policy.get("spec") or {}).get("rules") or ():
        for to in rule.get("to") or ():
            op = to.get("operation") or {}
            if any(op.get(k) for k in ("methods", "paths", "hosts", "notMethods", "notPaths", "notHosts")):
                return True
        if any(str(w.get("key", "")).startswith("request.") for w in rule.get("when") or ()):
            return True
    return False


def l7_policies(
    cluster: kube.Cluster, *, namespace: str, waypoint: str, services: Iterable[str]
) -> list[str]:
    """What stops applying when ``waypoint`` goes: "Kind/name (why)" for each HTTPRoute on one of its
    ``services``, VirtualService with L7 rules for them, and AuthorizationPolicy with L7 rules that targets
    the waypoint or the namespace."""
    served = set(services)
    out: list[str] = []

    def listed(res: kube.Resource) -> list[Obj]:
        try:
            return cluster.list(res, namespace=namespace).items
        except NotFound:
            return []

    for route in listed(kube.HTTP_ROUTES):
        hit = sorted(s for s in served if targets_service(route, s))
        if hit:
            out.append(f"HTTPRoute/{route['metadata']['name']} (routes {', '.join(hit)})")
    for vs in listed(kube.VIRTUAL_SERVICES):
        hosts = {str(h).split(".", 1)[0] for h in (vs.get("spec") or {}).get("hosts") or ()}
        if hosts & served and _has_l7_rule(vs) and not (vs.get("spec") or {}).get("gateways"):
            out.append(
                f"VirtualService/{vs['metadata']['name']} (L7 rules for {', '.join(sorted(hosts & served))})"
            )
    for policy in listed(kube.AUTHORIZATION_POLICIES):
        refs = (policy.get("spec") or {}).get("targetRefs") or ()
        targeted = any(r.get("kind") == "Gateway" and r.get("name") == waypoint for r in refs) or any(
            r.get("kind") == "Service" and r.get("name") in served for r in refs
        )
        if _authz_is_l7(policy) and (targeted or not refs):
            out.append(f"AuthorizationPolicy/{policy['metadata']['name']} (L7 rules)")
    return out
