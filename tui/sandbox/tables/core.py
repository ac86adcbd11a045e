"""``kubectl get`` columns of the core (``v1``) kinds, as kubectl 1.32's printers lay them out."""

from __future__ import annotations

from typing import Any

from tui.models import pod_status
from tui.sandbox.tables.cells import (
    Layout,
    Obj,
    age,
    created_at,
    human_age,
    limited,
    meta,
    name,
    none,
    selector,
    spec,
    status,
    template_containers,
)

ACCESS_MODES = {
    "ReadWriteOnce": "RWO",
    "ReadOnlyMany": "ROX",
    "ReadWriteMany": "RWX",
    "ReadWriteOncePod": "RWOP",
}


def _pod(o: Obj) -> list[Any]:
    phase, ready, total, restarts = pod_status(o)
    return [
        name(o),
        f"{ready}/{total}",
        phase,
        str(restarts),
        age(o),
        none(status(o).get("podIP")),
        none(spec(o).get("nodeName")),
        "<none>",
        "<none>",
    ]


def _ports(svc: Obj) -> str:
    out = []
    for p in spec(svc).get("ports") or []:
        proto = p.get("protocol", "TCP")
        out.append(
            f"{p.get('port')}:{p['nodePort']}/{proto}" if p.get("nodePort") else f"{p.get('port')}/{proto}"
        )
    return ",".join(out) or "<none>"


def _external_ip(svc: Obj) -> str:
    s = spec(svc)
    kind = s.get("type", "ClusterIP")
    ips = list(s.get("externalIPs") or [])
    if kind == "ExternalName":
        return str(s.get("externalName") or "<none>")
    if kind == "LoadBalancer":
        ingress = (status(svc).get("loadBalancer") or {}).get("ingress") or []
        ips += [i.get("ip") or i.get("hostname") for i in ingress]
        return ",".join(str(i) for i in ips) if ips else "<pending>"
    return ",".join(ips) if ips else "<none>"


def _endpoints(o: Obj) -> str:
    out = []
    for subset in o.get("subsets") or []:
        for a in subset.get("addresses") or []:
            for p in subset.get("ports") or [{}]:
                out.append(f"{a.get('ip')}:{p.get('port')}" if p.get("port") else str(a.get("ip")))
    return limited(out)


def _node_ready(node: Obj) -> str:
    conds = status(node).get("conditions") or []
    ready = next((c for c in conds if c.get("type") == "Ready"), None)
    state = "Ready" if ready and ready.get("status") == "True" else "NotReady"
    if spec(node).get("unschedulable"):
        state += ",SchedulingDisabled"
    return state


def _node_roles(node: Obj) -> str:
    labels = meta(node).get("labels") or {}
    roles = sorted(k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/"))
    return ",".join(r for r in roles if r) or "<none>"


def _node_ip(node: Obj, kind: str) -> str:
    for a in status(node).get("addresses") or []:
        if a.get("type") == kind:
            return str(a.get("address"))
    return "<none>"


def _node(o: Obj) -> list[Any]:
    info = status(o).get("nodeInfo") or {}
    return [
        name(o),
        _node_ready(o),
        _node_roles(o),
        age(o),
        info.get("kubeletVersion", ""),
        _node_ip(o, "InternalIP"),
        _node_ip(o, "ExternalIP"),
        info.get("osImage", "<unknown>"),
        info.get("kernelVersion", "<unknown>"),
        info.get("containerRuntimeVersion", "<unknown>"),
    ]


def access_modes(modes: Any) -> str:
    return ",".join(ACCESS_MODES.get(m, m) for m in modes or []) or ""


def _pvc(o: Obj) -> list[Any]:
    bound = status(o).get("phase") == "Bound"
    capacity = (status(o).get("capacity") or {}).get("storage", "") if bound else ""
    return [
        name(o),
        status(o).get("phase", "Pending"),
        spec(o).get("volumeName", ""),
        capacity,
        access_modes(status(o).get("accessModes")) if bound else "",
        none(spec(o).get("storageClassName")),
        none(spec(o).get("volumeAttributesClassName") or status(o).get("currentVolumeAttributesClassName")),
        age(o),
        spec(o).get("volumeMode", "Filesystem"),
    ]


def _pv(o: Obj) -> list[Any]:
    ref = spec(o).get("claimRef") or {}
    claim = f"{ref.get('namespace')}/{ref.get('name')}" if ref.get("name") else ""
    return [
        name(o),
        (spec(o).get("capacity") or {}).get("storage", ""),
        access_modes(spec(o).get("accessModes")),
        spec(o).get("persistentVolumeReclaimPolicy", "Retain"),
        status(o).get("phase", "Pending"),
        claim,
        spec(o).get("storageClassName", ""),
        none(spec(o).get("volumeAttributesClassName")),
        status(o).get("reason", ""),
        age(o),
        spec(o).get("volumeMode", "Filesystem"),
    ]


def _event(o: Obj) -> list[Any]:
    involved = o.get("involvedObject") or {}
    return [
        human_age(o.get("lastTimestamp") or o.get("eventTime") or meta(o).get("creationTimestamp")),
        o.get("type", ""),
        o.get("reason", ""),
        f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}",
        o.get("message", ""),
    ]


def _quota(o: Obj) -> list[Any]:
    hard, used = status(o).get("hard") or spec(o).get("hard") or {}, status(o).get("used") or {}
    req = [f"{k}: {used.get(k, '0')}/{v}" for k, v in sorted(hard.items()) if not k.startswith("limits.")]
    lim = [f"{k}: {used.get(k, '0')}/{v}" for k, v in sorted(hard.items()) if k.startswith("limits.")]
    return [name(o), age(o), ", ".join(req), ", ".join(lim)]


S, N = "string", "integer"

LAYOUTS: dict[str, Layout] = {
    "namespaces": (
        [("Name", S, 0), ("Status", S, 0), ("Age", S, 0)],
        lambda o: [name(o), status(o).get("phase", "Active"), age(o)],
    ),
    "pods": (
        [
            ("Name", S, 0),
            ("Ready", S, 0),
            ("Status", S, 0),
            ("Restarts", S, 0),
            ("Age", S, 0),
            ("IP", S, 1),
            ("Node", S, 1),
            ("Nominated Node", S, 1),
            ("Readiness Gates", S, 1),
        ],
        _pod,
    ),
    "services": (
        [
            ("Name", S, 0),
            ("Type", S, 0),
            ("Cluster-IP", S, 0),
            ("External-IP", S, 0),
            ("Port(s)", S, 0),
            ("Age", S, 0),
            ("Selector", S, 1),
        ],
        lambda o: [
            name(o),
            spec(o).get("type", "ClusterIP"),
            none(spec(o).get("clusterIP")),
            _external_ip(o),
            _ports(o),
            age(o),
            selector(spec(o).get("selector")),
        ],
    ),
    "endpoints": (
        [("Name", S, 0), ("Endpoints", S, 0), ("Age", S, 0)],
        lambda o: [name(o), _endpoints(o), age(o)],
    ),
    "nodes": (
        [
            ("Name", S, 0),
            ("Status", S, 0),
            ("Roles", S, 0),
            ("Age", S, 0),
            ("Version", S, 0),
            ("Internal-IP", S, 1),
            ("External-IP", S, 1),
            ("OS-Image", S, 1),
            ("Kernel-Version", S, 1),
            ("Container-Runtime", S, 1),
        ],
        _node,
    ),
    "configmaps": (
        [("Name", S, 0), ("Data", N, 0), ("Age", S, 0)],
        lambda o: [name(o), len(o.get("data") or {}) + len(o.get("binaryData") or {}), age(o)],
    ),
    "secrets": (
        [("Name", S, 0), ("Type", S, 0), ("Data", N, 0), ("Age", S, 0)],
        lambda o: [name(o), o.get("type", "Opaque"), len(o.get("data") or {}), age(o)],
    ),
    "serviceaccounts": (
        [("Name", S, 0), ("Secrets", N, 0), ("Age", S, 0)],
        lambda o: [name(o), len(o.get("secrets") or []), age(o)],
    ),
    "events": (
        [("Last Seen", S, 0), ("Type", S, 0), ("Reason", S, 0), ("Object", S, 0), ("Message", S, 0)],
        _event,
    ),
    "persistentvolumeclaims": (
        [
            ("Name", S, 0),
            ("Status", S, 0),
            ("Volume", S, 0),
            ("Capacity", S, 0),
            ("Access Modes", S, 0),
            ("StorageClass", S, 0),
            ("VolumeAttributesClass", S, 0),
            ("Age", S, 0),
            ("VolumeMode", S, 1),
        ],
        _pvc,
    ),
    "persistentvolumes": (
        [
            ("Name", S, 0),
            ("Capacity", S, 0),
            ("Access Modes", S, 0),
            ("Reclaim Policy", S, 0),
            ("Status", S, 0),
            ("Claim", S, 0),
            ("StorageClass", S, 0),
            ("VolumeAttributesClass", S, 0),
            ("Reason", S, 0),
            ("Age", S, 0),
            ("VolumeMode", S, 1),
        ],
        _pv,
    ),
    "replicationcontrollers": (
        [
            ("Name", S, 0),
            ("Desired", N, 0),
            ("Current", N, 0),
            ("Ready", N, 0),
            ("Age", S, 0),
            ("Containers", S, 1),
            ("Images", S, 1),
            ("Selector", S, 1),
        ],
        lambda o: [
            name(o),
            spec(o).get("replicas", 1),
            status(o).get("replicas", 0),
            status(o).get("readyReplicas", 0),
            age(o),
            *template_containers(o),
            selector(spec(o).get("selector")),
        ],
    ),
    "limitranges": ([("Name", S, 0), ("Created At", "date", 0)], lambda o: [name(o), created_at(o)]),
    "resourcequotas": ([("Name", S, 0), ("Age", S, 0), ("Request", S, 0), ("Limit", S, 0)], _quota),
    "podtemplates": (
        [("Template", S, 0), ("Containers", S, 0), ("Images", S, 0), ("Pod Labels", S, 0)],
        lambda o: [
            name(o),
            *template_containers(o, template=o.get("template") or {}),
            selector(((o.get("template") or {}).get("metadata") or {}).get("labels")),
        ],
    ),
}
