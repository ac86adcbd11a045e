"""Plain dataclasses the UI renders. Built from API dicts by pure functions; no I/O here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from tui.kubeprint import format_age as format_age
from tui.kubeprint import parse_time as parse_time
from tui.kubeprint import pod_status as pod_status

# --------------------------------------------------------------------------------------------------
# traffic (owner: traffic-core). Built by tui.traffic.stats; rendered by the traffic pane. The run's own
# tally (TallySnapshot) lives in tui.traffic.snapshot, off this module's import cost.
# --------------------------------------------------------------------------------------------------


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

DATAPLANE_SIDECAR = "sidecar"
DATAPLANE_AMBIENT = "ambient"
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
    ambient: bool = False

    @property
    def ready_text(self) -> str:
        return f"{self.ready}/{self.total}"


def plural(n: int, noun: str, many: str = "") -> str:
    """"1 pod", "2 pods", "0 pods": the one place English plurals are decided (``many`` for irregulars)."""
    return f"{n} {plural_noun(n, noun, many)}"


def plural_noun(n: int, noun: str, many: str = "") -> str:
    """The noun alone, for a count shown as a list of names: "namespace a" but "namespaces a, b"."""
    return noun if n == 1 else many or noun + "s"


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
    ambient: bool = False  # captured by ztunnel (ambient mode), no sidecar needed


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
