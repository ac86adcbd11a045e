"""``kubectl get`` columns of the core (``v1``) kinds, as kubectl 1.32's printers lay them out."""

from __future__ import annotations

from typing import Any

from tui.kubeprint import pod_status
from tui.sandbox.tables.cells import (
    Layout,
    Obj,
    age,
    columns,
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


LAYOUTS: dict[str, Layout] = {
    "namespaces": (
        columns("Name|Status|Age"),
        lambda o: [name(o), status(o).get("phase", "Active"), age(o)],
    ),
    "pods": (
        columns("Name|Ready|Status|Restarts|Age", wide="IP|Node|Nominated Node|Readiness Gates"),
        _pod,
    ),
    "services": (
        columns("Name|Type|Cluster-IP|External-IP|Port(s)|Age", wide="Selector"),
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
        columns("Name|Endpoints|Age"),
        lambda o: [name(o), _endpoints(o), age(o)],
    ),
    "nodes": (
        columns(
            "Name|Status|Roles|Age|Version",
            wide="Internal-IP|External-IP|OS-Image|Kernel-Version|Container-Runtime",
        ),
        _node,
    ),
    "configmaps": (
        columns("Name|Data:integer|Age"),
        lambda o: [name(o), len(o.get("data") or {}) + len(o.get("binaryData") or {}), age(o)],
    ),
    "secrets": (
        columns("Name|Type|Data:integer|Age"),
        lambda o: [name(o), o.get("type", "Opaque"), len(o.get("data") or {}), age(o)],
    ),
    "serviceaccounts": (
        columns("Name|Secrets:integer|Age"),
        lambda o: [name(o), len(o.get("secrets") or []), age(o)],
    ),
    "events": (
        columns("Last Seen|Type|Reason|Object|Message"),
        _event,
    ),
    "persistentvolumeclaims": (
        columns(
            "Name|Status|Volume|Capacity|Access Modes|StorageClass|VolumeAttributesClass|Age",
            wide="VolumeMode",
        ),
        _pvc,
    ),
    "persistentvolumes": (
        columns(
            "Name|Capacity|Access Modes|Reclaim Policy|Status|Claim|StorageClass|VolumeAttributesClass"
            "|Reason|Age",
            wide="VolumeMode",
        ),
        _pv,
    ),
    "limitranges": (columns("Name|Created At:date"), lambda o: [name(o), created_at(o)]),
    "resourcequotas": (columns("Name|Age|Request|Limit"), _quota),
    "podtemplates": (
        columns("Template|Containers|Images|Pod Labels"),
        lambda o: [
            name(o),
            *template_containers(o, template=o.get("template") or {}),
            selector(((o.get("template") or {}).get("metadata") or {}).get("labels")),
        ],
    ),
}
