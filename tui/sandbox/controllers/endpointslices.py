"""EndpointSlices (``discovery.k8s.io/v1``) beside Endpoints: one IPv4 slice per selector Service.

kube-proxy, Istio and ``kubectl get endpointslices`` read these rather than Endpoints. The endpoints
controller hands over the pods and ports it has just matched, so both views come from one scan.
"""

from __future__ import annotations

import hashlib

from tui.sandbox.controllers.common import meta, ns_name, owner_ref, pod_ready
from tui.sandbox.store import Obj, Store

SLICES = "endpointslices.discovery.k8s.io"
SERVICE_LABEL = "kubernetes.io/service-name"
MANAGED_BY = "endpointslice.kubernetes.io/managed-by"


def slice_name(svc: Obj) -> str:
    digest = hashlib.sha256(str(meta(svc).get("uid")).encode()).hexdigest()
    return f"{meta(svc)['name']}-{digest[:5]}"


def write_slice(store: Store, svc: Obj, pods: list[Obj], ports: list[Obj]) -> None:
    ns, svc_name = ns_name(svc)
    name = slice_name(svc)
    endpoints = []
    for pod in pods:
        pm = meta(pod)
        ready = pod_ready(pod)
        endpoint: Obj = {
            "addresses": [(pod.get("status") or {})["podIP"]],
            "conditions": {"ready": ready, "serving": ready, "terminating": False},
            "targetRef": {"kind": "Pod", "namespace": ns, "name": pm["name"], "uid": pm["uid"]},
        }
        node = (pod.get("spec") or {}).get("nodeName")
        if node:
            endpoint["nodeName"] = node
        endpoints.append(endpoint)
    labels = {
        **(meta(svc).get("labels") or {}),
        SERVICE_LABEL: svc_name,
        MANAGED_BY: "endpointslice-controller.k8s.io",
    }
    body: Obj = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": name,
            "namespace": ns,
            "labels": labels,
            "ownerReferences": [owner_ref(svc, api_version="v1", kind="Service")],
        },
        "addressType": "IPv4",
        "endpoints": endpoints,
        "ports": ports,
    }
    if store.try_get(SLICES, name, namespace=ns, copy=False) is None:
        store.create(SLICES, body)
        return

    def mutate(o: Obj) -> None:
        o["metadata"]["labels"] = labels
        o["endpoints"] = endpoints
        o["ports"] = ports

    store.update(SLICES, name, namespace=ns, mutate=mutate)
