"""``kubectl get`` columns of the workload kinds (apps, batch, autoscaling, policy), as in kubectl 1.32."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tui.sandbox.tables.cells import (
    POD_TEMPLATE,
    Layout,
    Obj,
    age,
    columns,
    human_age,
    meta,
    name,
    none,
    selector,
    spec,
    status,
    template_containers,
)


def _wide(o: Obj, *, template: Obj | None = None, sel: Any = None) -> list[Any]:
    return [
        *template_containers(o, template=template),
        selector(sel if sel is not None else spec(o).get("selector")),
    ]


def _job_status(job: Obj) -> str:
    for c in status(job).get("conditions") or []:
        if c.get("status") == "True" and c.get("type") in ("Complete", "Failed", "Suspended"):
            return str(c["type"])
    return "Running"


def _job_duration(job: Obj) -> str:
    start, end = status(job).get("startTime"), status(job).get("completionTime")
    if not start:
        return ""
    try:
        ended = datetime.fromisoformat(end) if end else datetime.now(UTC)
    except ValueError:
        return ""
    return human_age(start, now=ended)


def _cronjob(o: Obj) -> list[Any]:
    job_spec = (spec(o).get("jobTemplate") or {}).get("spec") or {}
    last = status(o).get("lastScheduleTime")
    return [
        name(o),
        spec(o).get("schedule", ""),
        none(spec(o).get("timeZone")),
        str(bool(spec(o).get("suspend"))),
        len(status(o).get("active") or []),
        human_age(last) if last else "<none>",
        age(o),
        *_wide(o, template=job_spec.get("template") or {}, sel=job_spec.get("selector")),
    ]


def _metric(spec_m: Obj, status_m: Obj | None) -> str:
    mtype = str(spec_m.get("type", ""))
    field = {"Resource": "resource", "ContainerResource": "containerResource"}.get(mtype)
    if field is None:
        source = spec_m.get(mtype[:1].lower() + mtype[1:]) or {}
        target = source.get("target") or {}
        value = target.get("averageValue") or target.get("value") or "<unknown>"
        return f"<unknown>/{value}"
    source = spec_m.get(field) or {}
    target = source.get("target") or {}
    current = ((status_m or {}).get(field) or {}).get("current") or {}
    if target.get("averageValue") is not None:
        return f"{source.get('name')}: {current.get('averageValue', '<unknown>')}/{target['averageValue']}"
    now = (
        f"{current['averageUtilization']}%" if current.get("averageUtilization") is not None else "<unknown>"
    )
    want = f"{target['averageUtilization']}%" if target.get("averageUtilization") is not None else "<auto>"
    return f"{source.get('name')}: {now}/{want}"


def _hpa_targets(o: Obj) -> str:
    s = spec(o)
    if "targetCPUUtilizationPercentage" in s:  # stored through autoscaling/v1
        current = status(o).get("currentCPUUtilizationPercentage")
        now = f"{current}%" if current is not None else "<unknown>"
        return f"cpu: {now}/{s['targetCPUUtilizationPercentage']}%"
    specs = s.get("metrics") or []
    if not specs:
        return "<none>"
    statuses = status(o).get("currentMetrics") or []
    shown = [_metric(m, statuses[i] if i < len(statuses) else None) for i, m in enumerate(specs[:2])]
    more = f" + {len(specs) - 2} more..." if len(specs) > 2 else ""
    return ", ".join(shown) + more


def _hpa(o: Obj) -> list[Any]:
    ref = spec(o).get("scaleTargetRef") or {}
    return [
        name(o),
        f"{ref.get('kind', '')}/{ref.get('name', '')}",
        _hpa_targets(o),
        spec(o).get("minReplicas", 1),
        spec(o).get("maxReplicas", 0),
        status(o).get("currentReplicas", 0),
        age(o),
    ]


def _pdb(o: Obj) -> list[Any]:
    s = spec(o)
    return [
        name(o),
        str(s["minAvailable"]) if "minAvailable" in s else "N/A",
        str(s["maxUnavailable"]) if "maxUnavailable" in s else "N/A",
        status(o).get("disruptionsAllowed", 0),
        age(o),
    ]


def _controller(o: Obj) -> str:
    for ref in meta(o).get("ownerReferences") or []:
        if ref.get("controller"):
            group = str(ref.get("apiVersion", "")).rpartition("/")[0]
            kind = str(ref.get("kind", "")).lower()
            return f"{kind}.{group}/{ref.get('name')}" if group else f"{kind}/{ref.get('name')}"
    return "<none>"


def _node_selector(o: Obj) -> str:
    sel = ((spec(o).get("template") or {}).get("spec") or {}).get("nodeSelector") or {}
    return ",".join(f"{k}={v}" for k, v in sel.items()) or "<none>"


REPLICAS: Layout = (
    columns("Name|Desired:integer|Current:integer|Ready:integer|Age", wide=POD_TEMPLATE),
    lambda o: [
        name(o),
        spec(o).get("replicas", 1),
        status(o).get("replicas", 0),
        status(o).get("readyReplicas", 0),
        age(o),
        *_wide(o),
    ],
)

LAYOUTS: dict[str, Layout] = {
    "deployments.apps": (
        columns("Name|Ready|Up-to-date:integer|Available:integer|Age", wide=POD_TEMPLATE),
        lambda o: [
            name(o),
            f"{status(o).get('readyReplicas', 0)}/{spec(o).get('replicas', 1)}",
            status(o).get("updatedReplicas", 0),
            status(o).get("availableReplicas", 0),
            age(o),
            *_wide(o),
        ],
    ),
    "replicasets.apps": REPLICAS,
    "replicationcontrollers": REPLICAS,
    "statefulsets.apps": (
        columns("Name|Ready|Age", wide="Containers|Images"),
        lambda o: [
            name(o),
            f"{status(o).get('readyReplicas', 0)}/{spec(o).get('replicas', 1)}",
            age(o),
            *template_containers(o),
        ],
    ),
    "daemonsets.apps": (
        columns(
            "Name|Desired:integer|Current:integer|Ready:integer|Up-to-date:integer|Available:integer"
            "|Node Selector|Age",
            wide=POD_TEMPLATE,
        ),
        lambda o: [
            name(o),
            status(o).get("desiredNumberScheduled", 0),
            status(o).get("currentNumberScheduled", 0),
            status(o).get("numberReady", 0),
            status(o).get("updatedNumberScheduled", 0),
            status(o).get("numberAvailable", 0),
            _node_selector(o),
            age(o),
            *_wide(o),
        ],
    ),
    "controllerrevisions.apps": (
        columns("Name|Controller|Revision:integer|Age"),
        lambda o: [name(o), _controller(o), o.get("revision", 0), age(o)],
    ),
    "jobs.batch": (
        columns("Name|Status|Completions|Duration|Age", wide=POD_TEMPLATE),
        lambda o: [
            name(o),
            _job_status(o),
            f"{status(o).get('succeeded', 0)}/{spec(o).get('completions', 1)}",
            _job_duration(o),
            age(o),
            *_wide(o),
        ],
    ),
    "cronjobs.batch": (
        columns(
            "Name|Schedule|Timezone|Suspend:boolean|Active:integer|Last Schedule|Age",
            wide=POD_TEMPLATE,
        ),
        _cronjob,
    ),
    "horizontalpodautoscalers.autoscaling": (
        columns("Name|Reference|Targets|MinPods|MaxPods:integer|Replicas:integer|Age"),
        _hpa,
    ),
    "poddisruptionbudgets.policy": (
        columns("Name|Min Available|Max Unavailable|Allowed Disruptions:integer|Age"),
        _pdb,
    ),
}

# Kinds with a time-dependent cell besides Age, whose rows cannot be cached per resourceVersion.
TIME_DEPENDENT = frozenset({"jobs.batch", "cronjobs.batch"})
