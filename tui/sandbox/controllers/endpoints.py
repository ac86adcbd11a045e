"""The endpoints controller: each selector Service's Endpoints list the IPs of its matching live pods.

It works per namespace, because one pod change can move any Service's endpoints in it.
"""

from __future__ import annotations

import contextlib

from tui.errors import KubeError
from tui.labels import match_label_selector_object
from tui.sandbox.controllers.base import Reconciler
from tui.sandbox.controllers.common import TERMINAL, meta, pod_ready
from tui.sandbox.controllers.endpointslices import write_slice
from tui.sandbox.store import Obj

ENDPOINTS = "endpoints"


class EndpointsController(Reconciler):
    """Keyed by namespace: ``sync(ns, "")``."""

    key = ENDPOINTS
    watches = frozenset({"pods", "services"})

    def on_event(self, event_type: str, key: str, obj: Obj) -> None:
        ns, name = str(meta(obj).get("namespace") or ""), str(meta(obj)["name"])
        self.ctl.mark(ENDPOINTS, ns, "")
        if key == "services" and event_type == "DELETED":
            with contextlib.suppress(KubeError):
                self.store.delete(ENDPOINTS, name, namespace=ns)

    def resync(self) -> None:
        namespaces, _ = self.store.list("namespaces")
        for n in namespaces:
            self.ctl.mark(ENDPOINTS, str(meta(n)["name"]), "")

    def sync(self, ns: str, name: str) -> None:
        services, _ = self.store.list("services", namespace=ns)
        if not services:
            return
        pods, _ = self.store.list("pods", namespace=ns)
        for svc in services:
            selector = (svc.get("spec") or {}).get("selector")
            if not selector or (svc.get("spec") or {}).get("type") == "ExternalName":
                continue
            matched = [
                p
                for p in pods
                if (p.get("status") or {}).get("podIP")
                and (p.get("status") or {}).get("phase") not in TERMINAL
                and match_label_selector_object({"matchLabels": selector}, meta(p).get("labels") or {})
            ]
            ports = endpoint_ports(svc, matched)
            self._write_endpoints(svc, matched, ports)
            write_slice(self.store, svc, matched, ports)

    def _write_endpoints(self, svc: Obj, pods: list[Obj], ports: list[Obj]) -> None:
        m = meta(svc)
        ns, name = str(m.get("namespace") or ""), str(m["name"])

        def address(pod: Obj) -> Obj:
            pm = meta(pod)
            return {
                "ip": (pod.get("status") or {})["podIP"],
                "nodeName": (pod.get("spec") or {}).get("nodeName", ""),
                "targetRef": {"kind": "Pod", "namespace": ns, "name": pm["name"], "uid": pm["uid"]},
            }

        ready = [address(p) for p in pods if pod_ready(p)]
        not_ready = [address(p) for p in pods if not pod_ready(p)]
        subsets: list[Obj] = []
        if (ready or not_ready) and ports:
            subset: Obj = {"ports": ports}
            if ready:
                subset["addresses"] = ready
            if not_ready:
                subset["notReadyAddresses"] = not_ready
            subsets.append(subset)
        existing = self.store.try_get("endpoints", name, namespace=ns, copy=False)
        labels = dict(m.get("labels") or {})
        if existing is None:
            body: Obj = {
                "apiVersion": "v1",
                "kind": "Endpoints",
                "metadata": {"name": name, "namespace": ns, "labels": labels},
            }
            if subsets:
                body["subsets"] = subsets
            self.store.create("endpoints", body)
            return

        def mutate(o: Obj) -> None:
            o["metadata"]["labels"] = labels
            if subsets:
                o["subsets"] = subsets
            else:
                o.pop("subsets", None)

        self.store.update("endpoints", name, namespace=ns, mutate=mutate)


def endpoint_ports(svc: Obj, pods: list[Obj]) -> list[Obj]:
    """The Service's ports with named targetPorts resolved against the backing pods' container ports."""
    ports = []
    for p in (svc.get("spec") or {}).get("ports") or []:
        target = p.get("targetPort", p.get("port"))
        if isinstance(target, str):
            target = next(
                (
                    cp.get("containerPort")
                    for pod in pods[:1]
                    for c in (pod.get("spec") or {}).get("containers") or []
                    for cp in c.get("ports") or []
                    if cp.get("name") == target
                ),
                None,
            )
        if not isinstance(target, int):
            continue
        entry: Obj = {"port": target, "protocol": p.get("protocol", "TCP")}
        if p.get("name"):
            entry["name"] = p["name"]
        ports.append(entry)
    return ports
