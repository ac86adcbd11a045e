"""Plain dataclasses the UI renders. Built from API dicts by pure functions; no I/O here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

# --------------------------------------------------------------------------------------------------
# traffic (owner: traffic-core). Built by tui.traffic.tally / tui.traffic.stats; rendered by the
# traffic pane.
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LatencySummary:
    """Latency percentiles in milliseconds, from a fixed-bucket log histogram (relative error under 1%)."""

    p50_ms: float = 0.0
    p90_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0


@dataclass(frozen=True, slots=True)
class TallySnapshot:
    """The whole run so far, merged across worker processes; the UI gets one of these ~5 times a second.

    ``counts`` always holds all eight categories of ``tui.traffic.classify.CATEGORIES`` and they sum to
    ``requests``. ``planned`` is the request count the run will send when it was given one, else None.
    """

    url: str
    elapsed_s: float
    requests: int
    counts: Mapping[str, int]
    details_unavailable: int
    by_pod: Mapping[str, int]
    status_codes: Mapping[int, int]
    latency: LatencySummary
    transport_errors: Mapping[str, int]
    planned: int | None = None
    done: bool = False

    @property
    def rps(self) -> float:
        return self.requests / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def share(self, category: str) -> float:
        return self.counts.get(category, 0) / self.requests if self.requests else 0.0

    def to_dict(self) -> dict[str, object]:
        """The JSON contract of ``istio-tui traffic --json``; also what the pane exports."""
        return {
            "url": self.url,
            "requests": self.requests,
            "duration_s": round(self.elapsed_s, 3),
            "rps": round(self.rps, 1),
            "tally": dict(self.counts),
            "details_unavailable": self.details_unavailable,
            "by_pod": dict(sorted(self.by_pod.items())),
            "status_codes": {str(code): n for code, n in sorted(self.status_codes.items())},
            "latency_ms": {
                "p50": round(self.latency.p50_ms, 2),
                "p90": round(self.latency.p90_ms, 2),
                "p99": round(self.latency.p99_ms, 2),
                "max": round(self.latency.max_ms, 2),
            },
        }


@dataclass(frozen=True, slots=True)
class SplitRow:
    """One reviews version: configured weight vs observed share with its Wilson interval.

    ``disagrees`` is set when the configured share lies outside the interval. ``needed`` is the sample size
    at which the interval half-width shrinks to the chosen margin, i.e. the requests needed to tell.
    """

    version: str
    observed: int
    share: float
    low: float
    high: float
    configured: float | None
    disagrees: bool
    needed: int


# ----------------------------------------------------------------------------------------------------
# namespaces (owner: namespaces + injection). Built by tui.istio.injection.row_from_facts; rendered by the
# namespaces pane.
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NamespaceRow:
    """One namespace as the namespace view shows it.

    ``mode`` is the label that sets the injection mode (``istio-injection=enabled``, ``istio.io/rev=canary``,
    ``ambient``, ``none``...). ``out_of_step`` counts live pods whose sidecar disagrees with that mode: they
    need a restart before the label means anything for them.
    """

    name: str
    uid: str
    status: str
    mode: str
    mode_kind: str
    pods: int
    sidecars: int
    out_of_step: int
    conflict: bool
    created: str

    @property
    def sidecar_ratio(self) -> str:
        return f"{self.sidecars}/{self.pods}"


# ----------------------------------------------------------------------------------------------------
# pods (owner: ui-shell + pods). Built by build_pod_row from Pod dicts; rendered by the pod table.
# ----------------------------------------------------------------------------------------------------

SIDECAR_OK = "✓"
SIDECAR_MISSING = "⚠"
_FAILING_REASONS = frozenset(
    {
        "CrashLoopBackOff",
        "ImagePullBackOff",
        "ErrImagePull",
        "ErrImageNeverPull",
        "InvalidImageName",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
        "OOMKilled",
        "Error",
        "Failed",
        "Unknown",
        "Evicted",
        "ContainerStatusUnknown",
    }
)


class PodHealth(StrEnum):
    """The colour class of a pod's STATUS cell."""

    OK = "ok"  # running and every container ready
    PENDING = "pending"  # starting, terminating or not ready yet
    FAILING = "failing"  # crash loops, image pulls, errors
    DONE = "done"  # completed: nothing to worry about, nothing running


@dataclass(frozen=True, slots=True)
class PodRow:
    """One pod as the pod table shows it; ``created`` stays a timestamp so AGE is rendered against a clock."""

    uid: str
    namespace: str
    name: str
    ready: int
    total: int
    status: str
    health: PodHealth
    restarts: int
    created: datetime | None
    ip: str
    node: str
    phase: str
    has_sidecar: bool
    terminal: bool
    labels: Mapping[str, str] = field(default_factory=dict)
    inject_annotation: str | None = None
    containers: tuple[str, ...] = ()
    default_container: str = ""

    @property
    def ready_text(self) -> str:
        return f"{self.ready}/{self.total}"


def plural(n: int, noun: str, many: str = "") -> str:
    """"1 pod", "2 pods", "0 pods": the one place English plurals are decided (``many`` for irregulars)."""
    return f"{n} {noun if n == 1 else many or noun + 's'}"


def parse_time(value: str | None) -> datetime | None:
    """RFC 3339 as the API server writes it; None for a missing or malformed value."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def format_age(created: datetime | None, now: datetime) -> str:
    """kubectl's human duration: ``45s``, ``3m20s``, ``5h12m``, ``3d4h``, ``120d``, ``2y30d``."""
    if created is None:
        return "<unknown>"
    seconds = int((now - created).total_seconds())
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        rest = seconds % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if days < 8:
        rest = hours % 24
        return f"{days}d{rest}h" if rest else f"{days}d"
    if days < 365 * 2:
        return f"{days}d"
    years, rest_days = divmod(days, 365)
    if years < 8:
        return f"{years}y{rest_days}d" if rest_days else f"{years}y"
    return f"{years}y"


def _restartable(container: Mapping[str, Any] | None) -> bool:
    return bool(container) and (container or {}).get("restartPolicy") == "Always"


def _terminated_reason(state: Mapping[str, Any], prefix: str = "") -> str:
    term = state.get("terminated") or {}
    if term.get("reason"):
        return prefix + str(term["reason"])
    if term.get("signal"):
        return f"{prefix}Signal:{term['signal']}"
    return f"{prefix}ExitCode:{term.get('exitCode', 0)}"


def pod_status(pod: Mapping[str, Any]) -> tuple[str, int, int, int]:
    """STATUS, ready, total and restarts exactly as ``kubectl get pods`` computes them.

    Restartable init containers (native sidecars such as istio-proxy on 1.33+) count towards READY, so an
    injected pod reads 2/2 in both injection modes.
    """
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    meta = pod.get("metadata") or {}
    init_specs = {c.get("name"): c for c in spec.get("initContainers") or ()}
    total = len(spec.get("containers") or ()) + sum(1 for c in init_specs.values() if _restartable(c))
    ready = 0
    restarts = 0
    sidecar_restarts = 0
    phase = str(status.get("phase") or "Pending")
    reason = str(status.get("reason") or phase)
    for cond in status.get("conditions") or ():
        if cond.get("type") == "PodScheduled" and cond.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"

    initializing = False
    init_statuses = status.get("initContainerStatuses") or ()
    for index, cs in enumerate(init_statuses):
        count = int(cs.get("restartCount") or 0)
        restarts += count
        state = cs.get("state") or {}
        if _restartable(init_specs.get(cs.get("name"))):
            sidecar_restarts += count
            if cs.get("started"):
                if cs.get("ready"):
                    ready += 1
                continue
        term = state.get("terminated")
        waiting = state.get("waiting") or {}
        if term is not None and int(term.get("exitCode") or 0) == 0:
            continue
        if term is not None:
            reason = _terminated_reason(state, "Init:")
        elif waiting.get("reason") and waiting.get("reason") != "PodInitializing":
            reason = f"Init:{waiting['reason']}"
        else:
            reason = f"Init:{index}/{len(init_specs)}"
        initializing = True
        break

    initialized = any(
        c.get("type") == "Initialized" and c.get("status") == "True" for c in status.get("conditions") or ()
    )
    if not initializing or initialized:
        restarts = sidecar_restarts
        has_running = False
        for cs in reversed(status.get("containerStatuses") or ()):
            restarts += int(cs.get("restartCount") or 0)
            state = cs.get("state") or {}
            waiting = state.get("waiting") or {}
            if waiting.get("reason"):
                reason = str(waiting["reason"])
            elif state.get("terminated") is not None:
                reason = _terminated_reason(state)
            elif cs.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            pod_ready = any(
                c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or ()
            )
            reason = "Running" if pod_ready else "NotReady"

    if meta.get("deletionTimestamp"):
        if status.get("reason") == "NodeLost":
            reason = "Unknown"
        elif phase not in ("Succeeded", "Failed"):
            reason = "Terminating"
    return reason, ready, total, restarts


def pod_health(status: str, phase: str, ready: int, total: int) -> PodHealth:
    if status in ("Completed", "Succeeded") or (phase == "Succeeded" and status != "Terminating"):
        return PodHealth.DONE
    base = status.split(":", 1)[1] if status.startswith("Init:") else status
    if (
        base in _FAILING_REASONS
        or base.startswith(("ExitCode:", "Signal:"))
        or (status.startswith("Init:") and not base[:1].isdigit())
        or phase == "Failed"
    ):
        return PodHealth.FAILING
    if status == "Running" and ready == total:
        return PodHealth.OK
    return PodHealth.PENDING


def default_container(pod: Mapping[str, Any]) -> str:
    """The container ``l`` shows: kubectl's default-container annotation, else the first app container."""
    from tui.istio.sidecar import SIDECAR_CONTAINER

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
    from tui.istio.sidecar import INJECT_OVERRIDE, has_sidecar

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
    )


def sidecar_mark(row: PodRow, namespace_labels: Mapping[str, str] | None) -> str:
    """✓ with a sidecar; ⚠ when the namespace asks for one the pod lacks (it needs a restart); else blank."""
    from tui.istio.injection import wants_injection
    from tui.istio.sidecar import INJECT_OVERRIDE

    if row.has_sidecar:
        return SIDECAR_OK
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
        sidecar_mark(row, namespace_labels),
        row.status,
        str(row.restarts),
        format_age(row.created, now),
        row.ip or "<none>",
        row.node or "<none>",
    )
    return (row.namespace, *cells) if all_namespaces else cells


# ----------------------------------------------------------------------------------------------------
# bookinfo (owner: bookinfo + data plane). Built by tui.istio.bookinfo; rendered by the traffic pane.
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BookinfoPod:
    """One Bookinfo pod as the deploy step follows it. ``ready_text`` is kubectl's READY column ("2/2")."""

    name: str
    app: str
    version: str
    phase: str
    ready: bool
    ready_text: str
    has_sidecar: bool


@dataclass(frozen=True, slots=True)
class BookinfoStatus:
    """The Bookinfo pods of one namespace. ``productpage_sidecar`` is None until a productpage pod exists.

    ``warnings`` are sentences for the user, e.g. that routing presets will not apply without a sidecar on
    productpage (the client side of the reviews call is where the VirtualService takes effect).
    """

    namespace: str
    pods: tuple[BookinfoPod, ...]
    missing: tuple[str, ...]
    productpage_sidecar: bool | None
    warnings: tuple[str, ...]

    @property
    def ready(self) -> bool:
        return not self.missing and bool(self.pods) and all(p.ready for p in self.pods)


@dataclass(frozen=True, slots=True)
class IngressInfo:
    """Where the ingress gateway answers, found the way the Istio docs do.

    ``source`` is "load-balancer" (external IP or hostname and the ``http2`` port) or "node-port" (a gateway
    pod's hostIP and the ``http2`` nodePort). ``pending_load_balancer`` is set for a LoadBalancer without an
    address: the UI then offers :func:`tui.istio.bookinfo.patch_to_nodeport` after a confirmation.
    """

    service: str
    namespace: str
    service_type: str
    host: str
    port: int
    source: str
    pending_load_balancer: bool = False

    @property
    def gateway_url(self) -> str:
        """``GATEWAY_URL`` as the Istio docs spell it: host:port, no scheme."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def productpage_url(self) -> str:
        return f"http://{self.gateway_url}/productpage"


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """Outcome of GET /productpage through the gateway; ``message`` is one line for the user."""

    url: str
    ok: bool
    status_code: int | None
    message: str


@dataclass(frozen=True, slots=True)
class RouteMatch:
    """A header-matched rule of a VirtualService, e.g. end-user exact "jason" → {"v2": 100}."""

    header: str
    kind: str  # exact, prefix or regex
    value: str
    weights: Mapping[str, int]
    fault: str = ""
    problem: str = ""  # e.g. "unsupported regex …": the rule is shown but never matches here


@dataclass(frozen=True, slots=True)
class RoutingView:
    """The configured routing of one host (reviews, ratings) read from its VirtualService.

    ``default_weights`` is the route for requests no header rule matches, in percent per subset; empty when
    the VirtualService is missing (Istio then balances over all pods). ``preset`` names the istio-tui preset
    it came from, if any; ``managed`` says whether istio-tui created it (revert then deletes it).
    """

    host: str
    namespace: str
    exists: bool
    managed: bool = False
    preset: str = ""
    default_weights: Mapping[str, int] = field(default_factory=dict)
    matches: tuple[RouteMatch, ...] = ()
    default_fault: str = ""


@dataclass(frozen=True, slots=True)
class PresetPreview:
    """What applying a preset would change: a unified diff of the VirtualService spec, before and after."""

    key: str
    title: str
    host: str
    namespace: str
    creates: bool
    diff: tuple[str, ...]
    before: RoutingView
    after: RoutingView

    @property
    def changes(self) -> bool:
        return bool(self.diff)


@dataclass(frozen=True, slots=True)
class CleanupResult:
    """Objects cleanup deleted ("Kind/name"), VirtualServices it restored, and foreign ones it left alone."""

    deleted: tuple[str, ...]
    restored: tuple[str, ...]
    kept: tuple[str, ...]


# ----------------------------------------------------------------------------------------------------
# install (owner: install-core). Built by tui.istio.preflight / verify / uninstall; rendered by the install
# wizard (preflight list, progress view, verify checklist, leftover audit).
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckLine:
    """One line of a checklist: preflight, verify or the leftover audit.

    ``status`` is "pass", "warn" or "fail" (audit lines: "warn" means something is left). ``key`` is a stable
    id for widget ids and tests; ``reason`` says what was found, ``fix`` what to do (empty on pass).
    """

    key: str
    title: str
    status: str
    reason: str
    fix: str = ""

    @property
    def ok(self) -> bool:
        return self.status != "fail"


@dataclass(frozen=True, slots=True)
class PodProgress:
    """An istio-system pod while the install runs; ``stall`` is set when it is stuck, with the reason."""

    name: str
    phase: str
    ready: str
    stall: str = ""


@dataclass(frozen=True, slots=True)
class LeftoverItem:
    """Something an uninstall left behind: ``kind`` is webhook, crd, namespace-label, object or namespace."""

    kind: str
    name: str
    detail: str = ""


def pod_yaml(pod: Mapping[str, Any]) -> str:
    """The pod as ``kubectl get -o yaml`` shows it, without managedFields noise."""
    import yaml

    meta = dict(pod.get("metadata") or {})
    meta.pop("managedFields", None)
    return str(yaml.safe_dump({**pod, "metadata": meta}, sort_keys=False, default_flow_style=False))


def _describe_state(state: Mapping[str, Any]) -> str:
    for name in ("running", "waiting", "terminated"):
        if name in state:
            detail = state[name] or {}
            reason = detail.get("reason") or ""
            extra = f" ({reason})" if reason else ""
            if name == "terminated":
                extra += f" exit code {detail.get('exitCode', 0)}"
            return f"{name.capitalize()}{extra}"
    return "Unknown"


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
        f"Sidecar:       {'istio-proxy' if row.has_sidecar else '<none>'}",
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
            lines.append(f"    State:         {_describe_state(cs.get('state') or {})}")
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


def events_for(
    events: Sequence[Mapping[str, Any]], *, name: str, uid: str = ""
) -> list[Mapping[str, Any]]:
    """Only this pod's events (some servers ignore the involvedObject field selector)."""
    out = []
    for ev in events:
        obj = ev.get("involvedObject") or ev.get("regarding") or {}
        if obj.get("name") == name and (not uid or not obj.get("uid") or obj.get("uid") == uid):
            out.append(ev)
    return out
