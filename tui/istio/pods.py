"""Pods as the app shows them: table rows, the DATAPLANE column and ``describe``, which need Istio's sidecar
and ambient rules; ``tui.models`` holds only the plain rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from tui.istio.ambient import is_captured
from tui.istio.injection import wants_injection
from tui.istio.sidecar import INJECT_OVERRIDE, SIDECAR_CONTAINER, has_sidecar
from tui.kubeprint import format_age, parse_time, pod_status
from tui.models import DATAPLANE_AMBIENT, DATAPLANE_SIDECAR, SIDECAR_MISSING, PodRow, pod_health


def default_container(pod: Mapping[str, Any]) -> str:
    """The container ``l`` shows: kubectl's default-container annotation, else the first app container."""
    names = [str(c.get("name", "")) for c in (pod.get("spec") or {}).get("containers") or ()]
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    annotated = annotations.get("kubectl.kubernetes.io/default-container")
    if annotated in names:
        return str(annotated)
    for name in names:
        if name != SIDECAR_CONTAINER:
            return name
    return names[0] if names else ""


def build_pod_row(pod: Mapping[str, Any]) -> PodRow:
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    reason, ready, total, restarts = pod_status(pod)
    phase = str(status.get("phase") or "Pending")
    init_names = [
        str(c.get("name", "")) for c in spec.get("initContainers") or () if c.get("restartPolicy") == "Always"
    ]
    return PodRow(
        uid=str(meta.get("uid") or f"{meta.get('namespace')}/{meta.get('name')}"),
        namespace=str(meta.get("namespace") or ""),
        name=str(meta.get("name") or ""),
        ready=ready,
        total=total,
        status=reason,
        health=pod_health(reason, phase, ready, total),
        restarts=restarts,
        created=parse_time(meta.get("creationTimestamp")),
        ip=str(status.get("podIP") or ""),
        node=str(spec.get("nodeName") or ""),
        phase=phase,
        has_sidecar=has_sidecar(pod),
        terminal=phase in ("Succeeded", "Failed") or bool(meta.get("deletionTimestamp")),
        labels=dict(meta.get("labels") or {}),
        inject_annotation=(meta.get("annotations") or {}).get(INJECT_OVERRIDE),
        containers=tuple(str(c.get("name", "")) for c in spec.get("containers") or ()) + tuple(init_names),
        default_container=default_container(pod),
        ambient=is_captured(pod),
    )


def dataplane_mark(row: PodRow, namespace_labels: Mapping[str, str] | None) -> str:
    """``sidecar`` or ``ambient``; ⚠ when the namespace asks for a sidecar the pod lacks (it needs a
    restart); else blank."""
    if row.has_sidecar:
        return DATAPLANE_SIDECAR
    if row.ambient:
        return DATAPLANE_AMBIENT
    if row.terminal or namespace_labels is None:
        return ""
    annotations = {INJECT_OVERRIDE: row.inject_annotation} if row.inject_annotation is not None else None
    return SIDECAR_MISSING if wants_injection(namespace_labels, row.labels, annotations) else ""


def pod_cells(
    row: PodRow, *, now: datetime, namespace_labels: Mapping[str, str] | None, all_namespaces: bool
) -> tuple[str, ...]:
    """The table's text cells in column order (NAMESPACE only when showing all namespaces)."""
    cells = (
        row.name,
        row.ready_text,
        dataplane_mark(row, namespace_labels),
        row.status,
        str(row.restarts),
        format_age(row.created, now),
        row.ip or "<none>",
        row.node or "<none>",
    )
    return (row.namespace, *cells) if all_namespaces else cells


def _describe_state(title: str, state: Mapping[str, Any]) -> list[str]:
    """``kubectl describe``'s State / Last State block: the state, then its reason, exit code and times."""
    for name in ("running", "waiting", "terminated"):
        if name in state:
            detail = state[name] or {}
            lines = [f"    {title + ':':<15}{name.capitalize()}"]
            fields = (
                ("Reason", detail.get("reason")),
                ("Message", detail.get("message")),
                ("Exit Code", detail.get("exitCode") if name == "terminated" else None),
                ("Signal", detail.get("signal")),
                ("Started", detail.get("startedAt")),
                ("Finished", detail.get("finishedAt")),
            )
            lines += [f"      {label + ':':<13}{value}" for label, value in fields if value not in (None, "")]
            return lines
    return [f"    {title + ':':<15}Unknown"] if title == "State" else []


def describe_pod(pod: Mapping[str, Any], events: Sequence[Mapping[str, Any]], *, now: datetime) -> str:
    """A ``kubectl describe pod`` style summary: identity, containers with their state, conditions, events."""
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    row = build_pod_row(pod)
    lines = [
        f"Name:          {row.name}",
        f"Namespace:     {row.namespace}",
        f"Node:          {row.node or '<none>'}",
        f"Start Time:    {meta.get('creationTimestamp', '<unknown>')} ({format_age(row.created, now)} ago)",
        f"Labels:        {_kv(meta.get('labels'))}",
        f"Annotations:   {_kv(meta.get('annotations'))}",
        f"Status:        {row.status}",
        f"Ready:         {row.ready_text}",
        f"IP:            {row.ip or '<none>'}",
        f"Data plane:    {dataplane_mark(row, None) or '<none>'}",
    ]
    owners = [f"{o.get('kind')}/{o.get('name')}" for o in meta.get("ownerReferences") or ()]
    lines.append(f"Controlled By: {', '.join(owners) or '<none>'}")
    statuses = {
        cs.get("name"): cs
        for cs in [*(status.get("initContainerStatuses") or ()), *(status.get("containerStatuses") or ())]
    }
    sections = (("Init Containers", spec.get("initContainers")), ("Containers", spec.get("containers")))
    for title, containers in sections:
        if not containers:
            continue
        lines.append(f"{title}:")
        for c in containers:
            cs = statuses.get(c.get("name")) or {}
            sidecar = "  (native sidecar)" if c.get("restartPolicy") == "Always" else ""
            lines.append(f"  {c.get('name')}:{sidecar}")
            lines.append(f"    Image:         {c.get('image', '')}")
            ports = ", ".join(
                f"{p.get('containerPort')}/{p.get('protocol', 'TCP')}" for p in c.get("ports") or ()
            )
            lines.append(f"    Ports:         {ports or '<none>'}")
            lines += _describe_state("State", cs.get("state") or {})
            lines += _describe_state("Last State", cs.get("lastState") or {})
            lines.append(f"    Ready:         {bool(cs.get('ready'))}")
            lines.append(f"    Restart Count: {cs.get('restartCount', 0)}")
    lines.append("Conditions:")
    for cond in status.get("conditions") or ():
        lines.append(f"  {cond.get('type', ''):<26}{cond.get('status', '')}")
    lines.append("Events:")
    if not events:
        lines.append("  <none>")
    for ev in sorted(events, key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or "")):
        when = parse_time(ev.get("lastTimestamp") or ev.get("eventTime") or ev.get("firstTimestamp"))
        age = format_age(when, now) if when else "<unknown>"
        source = (ev.get("source") or {}).get("component") or ev.get("reportingComponent") or ""
        kind, reason = ev.get("type", "Normal"), ev.get("reason", "")
        lines.append(f"  {kind:<8}{reason:<18}{age:>8}  {source:<18}{ev.get('message', '')}")
    return "\n".join(lines)


def _kv(mapping: Mapping[str, Any] | None) -> str:
    if not mapping:
        return "<none>"
    return ("\n" + " " * 15).join(f"{k}={v}" for k, v in sorted(mapping.items()))

