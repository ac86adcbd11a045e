"""Server-side Table rendering (``as=Table``): the columns ``kubectl get`` prints for each kind.

kubectl never computes columns itself: with a Table it prints the server's cells verbatim (AGE included), and
without one it falls back to NAME/AGE. So the familiar READY/STATUS/RESTARTS columns exist only if we build
them here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tui.kubeprint import format_age, pod_status
from tui.sandbox.resources import ResourceType

Obj = dict[str, Any]
Column = tuple[str, str, int]  # name, type, priority
Row = Callable[[Obj], list[Any]]


def human_age(timestamp: str | None, *, now: datetime | None = None) -> str:
    """kubectl's short duration format (45s, 3m12s, 5h, 2d3h, 400d) for an RFC 3339 timestamp."""
    if not timestamp:
        return "<unknown>"
    try:
        then = datetime.fromisoformat(timestamp)
    except ValueError:
        return "<unknown>"
    if then.tzinfo is None:
        then = then.replace(tzinfo=UTC)
    return format_age(then, now or datetime.now(UTC))


def _age(o: Obj) -> str:
    return human_age((o.get("metadata") or {}).get("creationTimestamp"))


def _name(o: Obj) -> str:
    return str((o.get("metadata") or {}).get("name", ""))


def _none(v: Any) -> Any:
    return "<none>" if v in (None, "", []) else v


def _pod_columns(o: Obj) -> list[Any]:
    status, ready, total, restarts = pod_status(o)
    return [f"{ready}/{total}", status, str(restarts)]


def _ports(svc: Obj) -> str:
    out = []
    for p in (svc.get("spec") or {}).get("ports") or []:
        proto = p.get("protocol", "TCP")
        out.append(
            f"{p.get('port')}:{p['nodePort']}/{proto}" if p.get("nodePort") else f"{p.get('port')}/{proto}"
        )
    return ",".join(out) or "<none>"


def _external_ip(svc: Obj) -> str:
    spec = svc.get("spec") or {}
    kind = spec.get("type", "ClusterIP")
    ips = list(spec.get("externalIPs") or [])
    if kind == "ExternalName":
        return str(spec.get("externalName") or "<none>")
    if kind == "LoadBalancer":
        ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        ips += [i.get("ip") or i.get("hostname") for i in ingress]
        return ",".join(str(i) for i in ips) if ips else "<pending>"
    return ",".join(ips) if ips else "<none>"


def _selector(sel: Any) -> str:
    if not isinstance(sel, dict):
        return "<none>"
    labels = sel.get("matchLabels", sel if "matchExpressions" not in sel else {})
    parts = [f"{k}={v}" for k, v in labels.items() if isinstance(v, str)]
    for e in sel.get("matchExpressions") or []:
        parts.append(
            f"{e.get('key')} {str(e.get('operator', '')).lower()} ({','.join(e.get('values') or [])})"
        )
    return ",".join(parts) or "<none>"


def _containers(o: Obj) -> tuple[str, str]:
    cs = (((o.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []
    return ",".join(str(c.get("name")) for c in cs) or "<none>", ",".join(
        str(c.get("image")) for c in cs
    ) or "<none>"


def _node_ready(node: Obj) -> str:
    conds = (node.get("status") or {}).get("conditions") or []
    ready = next((c for c in conds if c.get("type") == "Ready"), None)
    status = "Ready" if ready and ready.get("status") == "True" else "NotReady"
    if (node.get("spec") or {}).get("unschedulable"):
        status += ",SchedulingDisabled"
    return status


def _node_roles(node: Obj) -> str:
    labels = (node.get("metadata") or {}).get("labels") or {}
    roles = sorted(k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/"))
    return ",".join(r for r in roles if r) or "<none>"


def _node_ip(node: Obj, kind: str) -> str:
    for a in (node.get("status") or {}).get("addresses") or []:
        if a.get("type") == kind:
            return str(a.get("address"))
    return "<none>"


def _job_status(job: Obj) -> str:
    conds = (job.get("status") or {}).get("conditions") or []
    for c in conds:
        if c.get("status") == "True" and c.get("type") in ("Complete", "Failed", "Suspended"):
            return str(c["type"])
    return "Running"


def _job_duration(job: Obj) -> str:
    status = job.get("status") or {}
    start, end = status.get("startTime"), status.get("completionTime")
    if not start:
        return ""
    try:
        began = datetime.fromisoformat(start)
        ended = datetime.fromisoformat(end) if end else datetime.now(UTC)
    except ValueError:
        return ""
    return human_age(start, now=ended) if began.tzinfo else ""


_T: dict[str, tuple[list[Column], Row]] = {
    "namespaces": (
        [("Name", "string", 0), ("Status", "string", 0), ("Age", "string", 0)],
        lambda o: [_name(o), (o.get("status") or {}).get("phase", "Active"), _age(o)],
    ),
    "pods": (
        [
            ("Name", "string", 0),
            ("Ready", "string", 0),
            ("Status", "string", 0),
            ("Restarts", "string", 0),
            ("Age", "string", 0),
            ("IP", "string", 1),
            ("Node", "string", 1),
            ("Nominated Node", "string", 1),
            ("Readiness Gates", "string", 1),
        ],
        lambda o: [
            _name(o),
            *_pod_columns(o),
            _age(o),
            _none((o.get("status") or {}).get("podIP")),
            _none((o.get("spec") or {}).get("nodeName")),
            "<none>",
            "<none>",
        ],
    ),
    "services": (
        [
            ("Name", "string", 0),
            ("Type", "string", 0),
            ("Cluster-IP", "string", 0),
            ("External-IP", "string", 0),
            ("Port(s)", "string", 0),
            ("Age", "string", 0),
            ("Selector", "string", 1),
        ],
        lambda o: [
            _name(o),
            (o.get("spec") or {}).get("type", "ClusterIP"),
            _none((o.get("spec") or {}).get("clusterIP")),
            _external_ip(o),
            _ports(o),
            _age(o),
            _selector((o.get("spec") or {}).get("selector")),
        ],
    ),
    "deployments.apps": (
        [
            ("Name", "string", 0),
            ("Ready", "string", 0),
            ("Up-to-date", "integer", 0),
            ("Available", "integer", 0),
            ("Age", "string", 0),
            ("Containers", "string", 1),
            ("Images", "string", 1),
            ("Selector", "string", 1),
        ],
        lambda o: [
            _name(o),
            f"{(o.get('status') or {}).get('readyReplicas', 0)}/{(o.get('spec') or {}).get('replicas', 1)}",
            (o.get("status") or {}).get("updatedReplicas", 0),
            (o.get("status") or {}).get("availableReplicas", 0),
            _age(o),
            *_containers(o),
            _selector((o.get("spec") or {}).get("selector")),
        ],
    ),
    "replicasets.apps": (
        [
            ("Name", "string", 0),
            ("Desired", "integer", 0),
            ("Current", "integer", 0),
            ("Ready", "integer", 0),
            ("Age", "string", 0),
            ("Containers", "string", 1),
            ("Images", "string", 1),
            ("Selector", "string", 1),
        ],
        lambda o: [
            _name(o),
            (o.get("spec") or {}).get("replicas", 1),
            (o.get("status") or {}).get("replicas", 0),
            (o.get("status") or {}).get("readyReplicas", 0),
            _age(o),
            *_containers(o),
            _selector((o.get("spec") or {}).get("selector")),
        ],
    ),
    "nodes": (
        [
            ("Name", "string", 0),
            ("Status", "string", 0),
            ("Roles", "string", 0),
            ("Age", "string", 0),
            ("Version", "string", 0),
            ("Internal-IP", "string", 1),
            ("External-IP", "string", 1),
            ("OS-Image", "string", 1),
            ("Kernel-Version", "string", 1),
            ("Container-Runtime", "string", 1),
        ],
        lambda o: [
            _name(o),
            _node_ready(o),
            _node_roles(o),
            _age(o),
            ((o.get("status") or {}).get("nodeInfo") or {}).get("kubeletVersion", ""),
            _node_ip(o, "InternalIP"),
            _node_ip(o, "ExternalIP"),
            ((o.get("status") or {}).get("nodeInfo") or {}).get("osImage", "<unknown>"),
            ((o.get("status") or {}).get("nodeInfo") or {}).get("kernelVersion", "<unknown>"),
            ((o.get("status") or {}).get("nodeInfo") or {}).get("containerRuntimeVersion", "<unknown>"),
        ],
    ),
    "configmaps": (
        [("Name", "string", 0), ("Data", "integer", 0), ("Age", "string", 0)],
        lambda o: [_name(o), len(o.get("data") or {}) + len(o.get("binaryData") or {}), _age(o)],
    ),
    "secrets": (
        [("Name", "string", 0), ("Type", "string", 0), ("Data", "integer", 0), ("Age", "string", 0)],
        lambda o: [_name(o), o.get("type", "Opaque"), len(o.get("data") or {}), _age(o)],
    ),
    "serviceaccounts": (
        [("Name", "string", 0), ("Secrets", "integer", 0), ("Age", "string", 0)],
        lambda o: [_name(o), len(o.get("secrets") or []), _age(o)],
    ),
    "endpoints": (
        [("Name", "string", 0), ("Endpoints", "string", 0), ("Age", "string", 0)],
        lambda o: [_name(o), _endpoints(o), _age(o)],
    ),
    "events": (
        [
            ("Last Seen", "string", 0),
            ("Type", "string", 0),
            ("Reason", "string", 0),
            ("Object", "string", 0),
            ("Message", "string", 0),
        ],
        lambda o: [
            human_age(o.get("lastTimestamp") or (o.get("metadata") or {}).get("creationTimestamp")),
            o.get("type", ""),
            o.get("reason", ""),
            f"{str((o.get('involvedObject') or {}).get('kind', '')).lower()}/"
            f"{(o.get('involvedObject') or {}).get('name', '')}",
            o.get("message", ""),
        ],
    ),
    "jobs.batch": (
        [
            ("Name", "string", 0),
            ("Status", "string", 0),
            ("Completions", "string", 0),
            ("Duration", "string", 0),
            ("Age", "string", 0),
        ],
        lambda o: [
            _name(o),
            _job_status(o),
            f"{(o.get('status') or {}).get('succeeded', 0)}/{(o.get('spec') or {}).get('completions', 1)}",
            _job_duration(o),
            _age(o),
        ],
    ),
    "ingresses.networking.k8s.io": (
        [
            ("Name", "string", 0),
            ("Class", "string", 0),
            ("Hosts", "string", 0),
            ("Address", "string", 0),
            ("Ports", "string", 0),
            ("Age", "string", 0),
        ],
        lambda o: [
            _name(o),
            _none((o.get("spec") or {}).get("ingressClassName")),
            ",".join(str(r.get("host", "*")) for r in (o.get("spec") or {}).get("rules") or []) or "*",
            _none(
                ",".join(
                    str(i.get("ip") or i.get("hostname"))
                    for i in ((o.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
                )
            ),
            "80, 443" if (o.get("spec") or {}).get("tls") else "80",
            _age(o),
        ],
    ),
    "mutatingwebhookconfigurations.admissionregistration.k8s.io": (
        [("Name", "string", 0), ("Webhooks", "integer", 0), ("Age", "string", 0)],
        lambda o: [_name(o), len(o.get("webhooks") or []), _age(o)],
    ),
    "validatingwebhookconfigurations.admissionregistration.k8s.io": (
        [("Name", "string", 0), ("Webhooks", "integer", 0), ("Age", "string", 0)],
        lambda o: [_name(o), len(o.get("webhooks") or []), _age(o)],
    ),
    "customresourcedefinitions.apiextensions.k8s.io": (
        [("Name", "string", 0), ("Created At", "date", 0)],
        lambda o: [_name(o), (o.get("metadata") or {}).get("creationTimestamp", "")],
    ),
}


def _endpoints(o: Obj) -> str:
    out = []
    for subset in o.get("subsets") or []:
        for a in subset.get("addresses") or []:
            for p in subset.get("ports") or [{}]:
                out.append(f"{a.get('ip')}:{p.get('port')}" if p.get("port") else str(a.get("ip")))
    if len(out) > 3:
        return ",".join(out[:3]) + f" + {len(out) - 3} more..."
    return ",".join(out) or "<none>"


_JSONPATH_PART = re.compile(r"\.?([^.\[\]]+)|\[(\d+)\]")


def json_path(obj: Any, path: str) -> Any:
    """The simple ``.spec.hosts[0]`` paths CRD printer columns use; None when absent."""
    cur = obj
    for m in _JSONPATH_PART.finditer(path.strip().strip("{}")):
        if m.group(1) is not None:
            if not isinstance(cur, dict):
                return None
            cur = cur.get(m.group(1))
        else:
            idx = int(m.group(2))
            if not isinstance(cur, list) or idx >= len(cur):
                return None
            cur = cur[idx]
    return cur


def _custom(rt: ResourceType) -> tuple[list[Column], Row]:
    cols: list[Column] = [("Name", "string", 0)]
    paths: list[tuple[str, str]] = []
    for c in rt.printer_columns:
        name, ctype = str(c.get("name", "")), str(c.get("type", "string"))
        if name.lower() == "age" and c.get("jsonPath") == ".metadata.creationTimestamp":
            continue
        cols.append((name, ctype, int(c.get("priority") or 0)))
        paths.append((str(c.get("jsonPath", "")), ctype))
    cols.append(("Age", "string", 0))

    def row(o: Obj) -> list[Any]:
        cells: list[Any] = [_name(o)]
        for path, ctype in paths:
            v = json_path(o, path)
            if isinstance(v, list | dict):
                v = json_dumps_compact(v)
            elif v is not None and ctype == "date" and isinstance(v, str):
                v = human_age(v)
            cells.append("<none>" if v is None else v)
        cells.append(_age(o))
        return cells

    return cols, row


def json_dumps_compact(v: Any) -> str:
    return json.dumps(v, separators=(",", ":"))


_GENERIC: tuple[list[Column], Row] = (
    [("Name", "string", 0), ("Age", "string", 0)],
    lambda o: [_name(o), _age(o)],
)


def layout(rt: ResourceType) -> tuple[list[Obj], Row]:
    """The columnDefinitions for ``rt`` and the function computing one row's cells."""
    if rt.builtin:
        cols, row = _T.get(rt.key, _GENERIC)
    else:
        cols, row = _custom(rt)
    defs = [
        {"name": n, "type": t, "format": "name" if n == "Name" else "", "description": "", "priority": p}
        for n, t, p in cols
    ]
    return defs, row


def table(rt: ResourceType, items: list[Obj], *, resource_version: str, columns: bool = True) -> Obj:
    """A ``meta.k8s.io/v1`` Table of ``items``; ``columns=False`` leaves columnDefinitions empty (watch)."""
    defs, row = layout(rt)
    rows = [
        {
            "cells": row(o),
            "object": {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": o.get("metadata"),
            },
        }
        for o in items
    ]
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": defs if columns else [],
        "rows": rows,
    }
