"""Istio's gateway deployment controller, simulated: Gateway API Gateways get a Deployment, a Service, status.

What istiod does and clients see (``kubectl wait --for=condition=programmed gtw/NAME``, ``kubectl get gtw``):

* Once istiod runs (its sidecar injector webhook configuration exists) and the GatewayClass CRD is served,
  the built-in classes ``istio`` (``istio.io/gateway-controller``) and ``istio-waypoint``
  (``istio.io/mesh-controller``) exist and are Accepted.
* A Gateway of one of those classes gets a Deployment and a Service owned by it, named ``<name>-istio``
  (``<name>`` for a waypoint), selecting pods labelled ``gateway.networking.k8s.io/gateway-name``. The
  Service's ports are ``status-port`` 15021 plus one per distinct listener port; its type is LoadBalancer
  for ``istio`` (ClusterIP for waypoints) unless the annotation ``networking.istio.io/service-type`` says
  otherwise. The pods carry ``sidecar.istio.io/inject: "false"``: the proxy is the workload.
* Status: ``Accepted`` and ``Programmed`` with ``observedGeneration``, per-listener statuses with
  ``attachedRoutes``, and an address: the LoadBalancer ingress when there is one, else the Service's
  cluster hostname (the sandbox's LoadBalancers get no external IP, as on kind: clients reach the
  gateway through the nodePort and a node's IP).
* ``Programmed`` stays False (``AddressNotAssigned``, "no instances found for hostname") until a ready pod
  backs the Service, as istiod reports it; ``kubectl wait --for=condition=programmed`` waits for the proxy.
"""

from __future__ import annotations

from typing import Any

from tui.errors import KubeError
from tui.istio.ambient import DATAPLANE_LABEL, OPT_OUT, WAYPOINT_CLASS, WAYPOINT_PORT
from tui.sandbox.controllers import common
from tui.sandbox.controllers.base import Reconciler
from tui.sandbox.controllers.common import DEPLOYMENTS, canonical, meta, owner_ref, set_condition
from tui.sandbox.gateway_routes import (
    GATEWAY_CLASSES,
    GATEWAY_NAME_LABEL,
    GATEWAYS,
    HTTPROUTES,
    ISTIO_CLASS,
    accepts_route,
    gateway_service_name,
    has_instance,
    route_parents,
)
from tui.sandbox.injection import WEBHOOK_KEY, injector_configs, proxy_image
from tui.sandbox.mesh import running
from tui.sandbox.store import Obj, now_rfc3339

GATEWAY_API = "gateway.networking.k8s.io/v1"
CLASSES = {
    ISTIO_CLASS: ("istio.io/gateway-controller", "The default Istio GatewayClass"),
    WAYPOINT_CLASS: ("istio.io/mesh-controller", "The default Istio waypoint GatewayClass"),
}
SERVICE_TYPE_ANNOTATION = "networking.istio.io/service-type"
MANAGED_LABEL = "gateway.istio.io/managed"
STATUS_PORT = 15021
_ROUTE_KINDS = [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute"}]


def condition(type_: str, ok: bool, reason: str, message: str, generation: Any) -> Obj:
    """Gateway API conditions carry the generation they describe, stamped now."""
    return common.condition(type_, ok, reason, message, now=now_rfc3339(), generation=generation)


def merge_conditions(old: list[Obj] | None, new: list[Obj]) -> list[Obj]:
    """``new`` with each condition's transition time kept while its status stays the same."""
    merged = [dict(c) for c in old or [] if any(c.get("type") == n["type"] for n in new)]
    for cond in new:
        set_condition(merged, cond, cond["lastTransitionTime"])
    order = {c["type"]: i for i, c in enumerate(new)}
    return sorted(merged, key=lambda c: order[c["type"]])


class GatewayController(Reconciler):
    """Reconciles every Istio-class Gateway (and the built-in classes) whenever anything they read changes."""

    key = GATEWAYS
    watches = frozenset({GATEWAYS, GATEWAY_CLASSES, HTTPROUTES, WEBHOOK_KEY, "services", DEPLOYMENTS, "pods"})

    def on_event(self, event_type: str, key: str, obj: Obj) -> None:
        if key in (GATEWAYS, GATEWAY_CLASSES, HTTPROUTES, WEBHOOK_KEY) or (
            GATEWAY_NAME_LABEL in (meta(obj).get("labels") or {})
        ):
            self.ctl.mark(self.key, "", "*")

    def resync(self) -> None:
        self.ctl.mark(self.key, "", "*")

    def sync(self, ns: str, name: str) -> None:
        configs = injector_configs(self.store)
        if not configs or not self._classes_served():
            return
        self._ensure_classes()
        image = proxy_image(self.store, configs[0])
        for gw in self.store.list(GATEWAYS)[0]:
            cls = (gw.get("spec") or {}).get("gatewayClassName")
            if cls in CLASSES:
                try:
                    self._gateway(gw, str(cls), image)
                except KubeError:
                    continue

    # ------------------------------------------------------------------ classes
    def _classes_served(self) -> bool:
        crds = "customresourcedefinitions.apiextensions.k8s.io"
        return self.store.try_get(crds, GATEWAY_CLASSES, copy=False) is not None

    def _ensure_classes(self) -> None:
        for name, (controller, description) in CLASSES.items():
            if self.store.try_get(GATEWAY_CLASSES, name, copy=False) is None:
                body = {
                    "apiVersion": GATEWAY_API,
                    "kind": "GatewayClass",
                    "metadata": {"name": name},
                    "spec": {"controllerName": controller, "description": description},
                }
                try:
                    self.store.create(GATEWAY_CLASSES, body)
                except KubeError:
                    continue
        controllers = {c for c, _ in CLASSES.values()}
        for gc in self.store.list(GATEWAY_CLASSES)[0]:
            if (gc.get("spec") or {}).get("controllerName") in controllers:
                accepted = condition(
                    "Accepted", True, "Accepted", "Handled by Istio controller", meta(gc).get("generation")
                )
                self._set_status(GATEWAY_CLASSES, gc, {"conditions": [accepted]})

    # ------------------------------------------------------------------ one Gateway
    def _gateway(self, gw: Obj, cls: str, image: str) -> None:
        m = meta(gw)
        ns, name = str(m.get("namespace") or ""), str(m["name"])
        svc_name = gateway_service_name(name, cls)
        listeners = list((gw.get("spec") or {}).get("listeners") or [])
        labels = {GATEWAY_NAME_LABEL: name, MANAGED_LABEL: CLASSES[cls][0].replace("/", "-")}
        owner = owner_ref(gw, api_version=GATEWAY_API, kind="Gateway")
        self._apply(DEPLOYMENTS, ns, svc_name, self._deployment(ns, svc_name, labels, owner, image, cls))
        self._apply("services", ns, svc_name, self._service(gw, ns, svc_name, labels, owner, listeners, cls))
        svc = self.store.try_get("services", svc_name, namespace=ns, copy=False) or {}
        status = self._gateway_status(
            gw,
            svc,
            listeners,
            f"{svc_name}.{ns}",
            waypoint=cls == WAYPOINT_CLASS,
            serving=has_instance(self.store, ns, name, running=running),
        )
        self._set_status(GATEWAYS, gw, status)

    def _deployment(self, ns: str, name: str, labels: Obj, owner: Obj, image: str, cls: str) -> Obj:
        pod_labels = {**labels, "sidecar.istio.io/inject": "false", "service.istio.io/canonical-name": name}
        if cls == WAYPOINT_CLASS:
            pod_labels[DATAPLANE_LABEL] = OPT_OUT
        ports = [{"containerPort": 15021, "name": "status-port", "protocol": "TCP"}]
        if cls == WAYPOINT_CLASS:
            ports.append({"containerPort": WAYPOINT_PORT, "name": "mesh", "protocol": "TCP"})
        return {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns, "labels": dict(labels), "ownerReferences": [owner]},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {GATEWAY_NAME_LABEL: labels[GATEWAY_NAME_LABEL]}},
                "template": {
                    "metadata": {"labels": pod_labels, "annotations": {"istio.io/rev": "default"}},
                    "spec": {
                        "serviceAccountName": name,
                        "containers": [
                            {
                                "name": "istio-proxy",
                                "image": image,
                                "args": ["proxy", "waypoint" if cls == WAYPOINT_CLASS else "router"],
                                "ports": ports,
                            }
                        ],
                    },
                },
            },
        }

    def _service(
        self, gw: Obj, ns: str, name: str, labels: Obj, owner: Obj, listeners: list[Obj], cls: str
    ) -> Obj:
        annotations = meta(gw).get("annotations") or {}
        default = "ClusterIP" if cls == WAYPOINT_CLASS else "LoadBalancer"
        ports: list[Obj] = [
            {"name": "status-port", "port": STATUS_PORT, "protocol": "TCP", "appProtocol": "tcp"}
        ]
        seen = {STATUS_PORT}
        for i, lis in enumerate(listeners):
            port = lis.get("port")
            if not isinstance(port, int) or port in seen:
                continue
            seen.add(port)
            protocol = str(lis.get("protocol") or "HTTP").lower()
            ports.append(
                {
                    "name": str(lis.get("name") or f"{protocol}-{i}"),
                    "port": port,
                    "protocol": "TCP",
                    "appProtocol": protocol,
                }
            )
        return {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "namespace": ns, "labels": dict(labels), "ownerReferences": [owner]},
            "spec": {
                "type": str(annotations.get(SERVICE_TYPE_ANNOTATION) or default),
                "selector": {GATEWAY_NAME_LABEL: labels[GATEWAY_NAME_LABEL]},
                "ports": ports,
            },
        }

    def _apply(self, key: str, ns: str, name: str, desired: Obj) -> None:
        """Create, or bring spec, labels and owner back to ``desired``, keeping the allocated nodePorts."""
        current = self.store.try_get(key, name, namespace=ns, copy=False)
        if current is None:
            self.store.create(key, desired)
            return
        want = desired["spec"]
        if key == "services":
            allocated = {
                p.get("port"): p.get("nodePort") for p in (current.get("spec") or {}).get("ports") or []
            }
            for p in want["ports"]:
                if allocated.get(p["port"]) and want["type"] in ("NodePort", "LoadBalancer"):
                    p["nodePort"] = allocated[p["port"]]
        have = current.get("spec") or {}
        same = all(canonical(have.get(k)) == canonical(v) for k, v in want.items())
        if same and (meta(current).get("labels") or {}) == desired["metadata"]["labels"]:
            return

        def mutate(obj: Obj) -> None:
            spec = obj.setdefault("spec", {})
            spec.update(want)
            if key == "services" and want["type"] == "ClusterIP":
                for p in spec["ports"]:
                    p.pop("nodePort", None)
            obj["metadata"]["labels"] = dict(desired["metadata"]["labels"])
            obj["metadata"]["ownerReferences"] = desired["metadata"]["ownerReferences"]

        self.store.update(key, name, namespace=ns, mutate=mutate)

    def _gateway_status(
        self, gw: Obj, svc: Obj, listeners: list[Obj], host: str, *, waypoint: bool, serving: bool
    ) -> Obj:
        """A waypoint's address is its ClusterIP (ztunnel sends to it); a gateway's its load balancer's,
        else the Service's cluster hostname. ``serving``: a ready pod backs the Service."""
        gen = meta(gw).get("generation")
        cluster_ip = (svc.get("spec") or {}).get("clusterIP")
        ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        addresses = [
            {"type": "IPAddress", "value": i["ip"]}
            if i.get("ip")
            else {"type": "Hostname", "value": i["hostname"]}
            for i in ingress
            if i.get("ip") or i.get("hostname")
        ]
        if waypoint and cluster_ip:
            addresses = [{"type": "IPAddress", "value": str(cluster_ip)}]
        addresses = addresses or [{"type": "Hostname", "value": f"{host}.svc.cluster.local"}]
        ports = ", ".join(f"{host}.svc.cluster.local:{lis.get('port')}" for lis in listeners)
        routes = [r for r in self.store.list(HTTPROUTES)[0] if route_parents(r, gw)]
        listener_status: list[Obj] = []
        for lis in listeners:
            attached = sum(1 for r in routes if accepts_route(gw, lis, r, self.store))
            listener_status.append(
                {
                    "name": lis.get("name"),
                    "attachedRoutes": attached,
                    "supportedKinds": _ROUTE_KINDS,
                    "conditions": [
                        condition("Accepted", True, "Accepted", "No errors found", gen),
                        condition("NoConflicts", False, "NoConflicts", "No errors found", gen),
                        condition("Programmed", True, "Programmed", "No errors found", gen),
                        condition("ResolvedRefs", True, "ResolvedRefs", "No errors found", gen),
                    ],
                }
            )
        old: Obj = gw.get("status") or {}
        old_listeners = {str(s.get("name")): s.get("conditions") for s in old.get("listeners") or []}
        for st in listener_status:
            st["conditions"] = merge_conditions(old_listeners.get(str(st["name"])), st["conditions"])
        return {
            "addresses": addresses,
            "conditions": merge_conditions(
                old.get("conditions"),
                [
                    condition("Accepted", True, "Accepted", "Resource accepted", gen),
                    condition(
                        "Programmed",
                        True,
                        "Programmed",
                        f"Resource programmed, assigned to service(s) {ports}",
                        gen,
                    )
                    if serving
                    else condition(
                        "Programmed",
                        False,
                        "AddressNotAssigned",
                        "Failed to assign to any requested addresses: "
                        f'no instances found for hostname "{host}.svc.cluster.local"',
                        gen,
                    ),
                ],
            ),
            "listeners": listener_status,
        }

    def _set_status(self, key: str, obj: Obj, status: Obj) -> None:
        if key == GATEWAY_CLASSES:
            status = {
                "conditions": merge_conditions(
                    (obj.get("status") or {}).get("conditions"), status["conditions"]
                )
            }
        self.write_status(obj, status, key=key)
