"""After install: the verify checklist, the ingress address, and live progress of the istio-system pods.

How the UI uses this module (from thread workers: every function here calls the API server)
------------------------------------------------------------------------------------------
* ``run_verify(cluster, plan=plan)`` -> ``VerifyReport``: ``lines`` (``CheckLine``, keys ``istiod``,
  ``injector``, ``validator``, ``crds``, ``gateway``, ``tracing``, ``node-agents`` (ambient plans only),
  ``version``), ``ingress`` (an ``IngressInfo`` whose ``gateway_url`` is the ``INGRESS_HOST:PORT`` to show,
  or None), ``version`` (the control plane's) and ``ok``. ``plan`` may be None to verify whatever is
  installed.
* ``wait_for_verify(cluster, plan=..., timeout_s=..., stop=event)`` polls ``run_verify`` until it is green,
  the deadline passes or ``stop`` is set, and returns the last report (the progress view can show each one via
  ``on_report``).
* ``install_progress(cluster)`` -> ``InstallProgress``: one ``PodProgress`` per istio-system pod with a
  ``stall`` reason read from pod and event status (ImagePullBackOff, CrashLoopBackOff, Pending on
  resources...), plus ``notes`` such as a LoadBalancer Service still pending. Poll it about once a second
  during install.

The ingress address follows the Istio docs: a LoadBalancer uses its ingress IP or hostname and the ``http2``
port; a NodePort uses the hostIP of a running gateway pod (127.0.0.1 in the sandbox) and the http2 nodePort.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import yaml

from tui import kube, yamlsafe
from tui.config import MAX_YAML_DEPTH
from tui.errors import KubeError, NotFound
from tui.istio.ingress import read_ingress
from tui.istio.plan import INGRESS_RELEASE, ISTIO_NAMESPACE, InstallPlan
from tui.models import CheckLine, IngressInfo, PodProgress

if TYPE_CHECKING:
    from tui.kube import Cluster

INJECTOR_WEBHOOK = "istio-sidecar-injector"
VALIDATOR_WEBHOOK = f"istio-validator-{ISTIO_NAMESPACE}"
ISTIO_CRDS = (
    "gateways.networking.istio.io",
    "virtualservices.networking.istio.io",
    "destinationrules.networking.istio.io",
    "serviceentries.networking.istio.io",
    "workloadentries.networking.istio.io",
    "sidecars.networking.istio.io",
    "authorizationpolicies.security.istio.io",
    "peerauthentications.security.istio.io",
    "requestauthentications.security.istio.io",
    "telemetries.telemetry.istio.io",
)
STALL_REASONS = frozenset(
    {
        "ImagePullBackOff",
        "ErrImagePull",
        "InvalidImageName",
        "CrashLoopBackOff",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
    }
)


@dataclass(frozen=True)
class VerifyReport:
    lines: tuple[CheckLine, ...]
    ingress: IngressInfo | None
    version: str

    @property
    def ok(self) -> bool:
        return all(line.status == "pass" for line in self.lines)

    def line(self, key: str) -> CheckLine:
        return next(line for line in self.lines if line.key == key)


@dataclass(frozen=True)
class InstallProgress:
    pods: tuple[PodProgress, ...]
    notes: tuple[str, ...]


def _get(
    cluster: Cluster, res: kube.Resource, name: str, namespace: str | None = None
) -> dict[str, Any] | None:
    try:
        return cluster.get(res, name, namespace=namespace)
    except NotFound:
        return None


def _image_version(image: str) -> str:
    last = image.rsplit("/", 1)[-1]
    return last.split(":", 1)[1].split("-", 1)[0] if ":" in last else ""


def check_istiod(cluster: Cluster) -> tuple[CheckLine, str]:
    title = "istiod ready"
    dep = _get(cluster, kube.DEPLOYMENTS, "istiod", ISTIO_NAMESPACE)
    if dep is None:
        return CheckLine(
            "istiod", title, "fail", f"no istiod Deployment in {ISTIO_NAMESPACE}", "install the istiod chart"
        ), ""
    containers = dep.get("spec", {}).get("template", {}).get("spec", {}).get("containers") or []
    version = _image_version(containers[0].get("image", "")) if containers else ""
    want = int(dep.get("spec", {}).get("replicas", 1) or 1)
    ready = int(dep.get("status", {}).get("readyReplicas", 0) or 0)
    if ready >= want:
        return CheckLine("istiod", title, "pass", f"istiod {ready}/{want} ready"), version
    return CheckLine(
        "istiod",
        title,
        "fail",
        f"istiod {ready}/{want} ready",
        "see the pod list below for the reason (image pull, resources)",
    ), version


NODE_AGENTS = ("ztunnel", "istio-cni-node")


def check_node_agents(cluster: Cluster) -> CheckLine:
    """Ambient needs ztunnel and the CNI agent Ready on every node, or pods there get no mesh."""
    title = "ztunnel and istio-cni on every node"
    nodes = len(cluster.list(kube.NODES).items)
    problems = []
    for name in NODE_AGENTS:
        ds = _get(cluster, kube.DAEMONSETS, name, ISTIO_NAMESPACE)
        if ds is None:
            problems.append(f"no DaemonSet {name}")
            continue
        st = ds.get("status") or {}
        observed = int(st.get("observedGeneration") or 0) >= int(
            ds.get("metadata", {}).get("generation") or 1
        )
        ready = int(st.get("numberReady") or 0)
        updated = int(st.get("updatedNumberScheduled") or 0)
        if not observed or ready < nodes or updated < nodes:
            problems.append(f"{name} ready on {ready}/{nodes} nodes")
    if problems:
        return CheckLine(
            "node-agents",
            title,
            "fail",
            "; ".join(problems),
            "install the cni and ztunnel charts (profile ambient)",
        )
    return CheckLine(
        "node-agents", title, "pass", f"{' and '.join(NODE_AGENTS)} ready on {nodes}/{nodes} nodes"
    )


def _requires_injection_label(hook: Mapping[str, Any]) -> bool:
    selector = hook.get("namespaceSelector") or {}
    if (selector.get("matchLabels") or {}).get("istio-injection") == "enabled":
        return True
    return any(
        expr.get("key") == "istio-injection"
        and expr.get("operator") == "In"
        and "enabled" in expr.get("values", [])
        for expr in selector.get("matchExpressions") or []
    )


def check_injector(cluster: Cluster) -> CheckLine:
    title = "Sidecar injector webhook"
    mwc = _get(cluster, kube.MUTATING_WEBHOOKS, INJECTOR_WEBHOOK)
    if mwc is None:
        return CheckLine(
            "injector",
            title,
            "fail",
            f"MutatingWebhookConfiguration {INJECTOR_WEBHOOK} is missing",
            "install (or re-install) the istiod chart",
        )
    hooks = mwc.get("webhooks") or []
    if not any(_requires_injection_label(h) for h in hooks):
        return CheckLine(
            "injector",
            title,
            "warn",
            f"{INJECTOR_WEBHOOK} has no webhook for namespaces labelled istio-injection=enabled",
            "namespaces must use istio.io/rev labels with this control plane",
        )
    return CheckLine("injector", title, "pass", f"{INJECTOR_WEBHOOK} present ({len(hooks)} webhooks)")


def check_validator(cluster: Cluster) -> CheckLine:
    title = "Config validation webhook"
    if _get(cluster, kube.VALIDATING_WEBHOOKS, VALIDATOR_WEBHOOK) is None:
        return CheckLine(
            "validator",
            title,
            "fail",
            f"ValidatingWebhookConfiguration {VALIDATOR_WEBHOOK} is missing",
            "install (or re-install) the istiod chart",
        )
    return CheckLine("validator", title, "pass", f"{VALIDATOR_WEBHOOK} present")


def _established(crd: Mapping[str, Any]) -> bool:
    return any(
        c.get("type") == "Established" and c.get("status") == "True"
        for c in (crd.get("status") or {}).get("conditions") or []
    )


def check_crds(cluster: Cluster) -> CheckLine:
    title = "Istio CRDs established"
    present = {c["metadata"]["name"]: c for c in cluster.list(kube.CRDS).items}
    missing = [name for name in ISTIO_CRDS if name not in present]
    waiting = [name for name in ISTIO_CRDS if name in present and not _established(present[name])]
    if missing:
        return CheckLine(
            "crds", title, "fail", f"{len(missing)} missing, e.g. {missing[0]}", "install the base chart"
        )
    if waiting:
        return CheckLine(
            "crds",
            title,
            "fail",
            f"{len(waiting)} not Established yet, e.g. {waiting[0]}",
            "wait a few seconds; if it stays, the API server rejected the CRD",
        )
    total = sum(1 for name in present if name.endswith(".istio.io"))
    return CheckLine("crds", title, "pass", f"{total} Istio CRDs established")


def check_gateway(cluster: Cluster, plan: InstallPlan | None) -> tuple[CheckLine, IngressInfo | None]:
    title = "Ingress gateway address"
    if plan is not None and not plan.has_ingress:
        return CheckLine("gateway", title, "pass", "skipped: profile minimal installs no gateway"), None
    svc = _get(cluster, kube.SERVICES, INGRESS_RELEASE, ISTIO_NAMESPACE)
    info = None if svc is None else read_ingress(cluster, svc, running_only=False)
    if info is None:
        return CheckLine(
            "gateway",
            title,
            "fail",
            f"no Service {INGRESS_RELEASE} in {ISTIO_NAMESPACE}",
            "install the gateway chart as release istio-ingressgateway",
        ), None
    if info.pending_load_balancer:
        meanwhile = f"; its http2 nodePort answers at {info.gateway_url}" if info.host and info.port else ""
        return CheckLine(
            "gateway",
            title,
            "fail",
            f"LoadBalancer pending: the Service has no external address{meanwhile}",
            "no load-balancer provider answers here; re-install with ingress type NodePort",
        ), info
    if info.source == "cluster-ip":
        return CheckLine(
            "gateway",
            title,
            "warn",
            f"ClusterIP {info.gateway_url} is reachable only inside the cluster",
            f"kubectl -n {ISTIO_NAMESPACE} port-forward svc/{INGRESS_RELEASE} 8080:80",
        ), info
    if not info.host or not info.port:
        return CheckLine(
            "gateway",
            title,
            "fail",
            "NodePort set but no running gateway pod has a host IP yet",
            "wait for the gateway pod (see the pod list)",
        ), info
    return CheckLine(
        "gateway", title, "pass", f"INGRESS_HOST:PORT = {info.gateway_url} ({info.service_type})"
    ), info


def read_mesh_config(cluster: Cluster) -> dict[str, Any] | None:
    cm = _get(cluster, kube.CONFIGMAPS, "istio", ISTIO_NAMESPACE)
    if cm is None:
        return None
    try:
        mesh = yamlsafe.load((cm.get("data") or {}).get("mesh") or "", max_depth=MAX_YAML_DEPTH) or {}
    except yaml.YAMLError:
        return None
    return mesh if isinstance(mesh, dict) else None


def check_tracing(cluster: Cluster, plan: InstallPlan | None) -> CheckLine:
    title = "Tracing"
    mesh = read_mesh_config(cluster)
    if mesh is None:
        return CheckLine(
            "tracing",
            title,
            "fail",
            f"ConfigMap {ISTIO_NAMESPACE}/istio has no mesh config",
            "re-install the istiod chart",
        )
    on = bool(mesh.get("enableTracing"))
    providers = [p.get("name") for p in mesh.get("extensionProviders") or [] if isinstance(p, dict)]
    shown = f"enableTracing {str(on).lower()}" + (
        f", providers {', '.join(map(str, providers))}" if providers else ""
    )
    if plan is not None and plan.tracing != on:
        return CheckLine(
            "tracing",
            title,
            "fail",
            f"mesh config says {shown}, the plan asked for tracing {'on' if plan.tracing else 'off'}",
            "re-run the install (helm upgrade --install)",
        )
    return CheckLine("tracing", title, "pass", shown)


def run_verify(cluster: Cluster, *, plan: InstallPlan | None = None) -> VerifyReport:
    istiod, version = check_istiod(cluster)
    gateway, ingress = check_gateway(cluster, plan)
    lines = [
        istiod,
        check_injector(cluster),
        check_validator(cluster),
        check_crds(cluster),
        gateway,
        check_tracing(cluster, plan),
    ]
    if plan is not None and plan.profile == "ambient":
        lines.append(check_node_agents(cluster))
    title = "Control plane version"
    if not version:
        lines.append(CheckLine("version", title, "fail", "istiod runs no image with a version tag", ""))
    elif plan is not None and version != plan.istio_version:
        lines.append(
            CheckLine(
                "version",
                title,
                "warn",
                f"istiod runs {version}, the plan is {plan.istio_version}",
                "re-run the install to move to the planned version",
            )
        )
    else:
        lines.append(CheckLine("version", title, "pass", f"Istio {version}"))
    return VerifyReport(tuple(lines), ingress, version)


def settled(report: VerifyReport) -> bool:
    """Green enough to stop waiting: every line passes, or only a ClusterIP gateway warns (no address)."""
    return all(
        line.status == "pass" or (line.key == "gateway" and line.status == "warn") for line in report.lines
    )


def wait_for_verify(
    cluster: Cluster,
    *,
    plan: InstallPlan | None = None,
    timeout_s: float = 120.0,
    poll_s: float = 0.5,
    stop: threading.Event | None = None,
    on_report: Callable[[VerifyReport], None] | None = None,
) -> VerifyReport:
    """Poll until every line passes (a ClusterIP gateway's warn counts as done), the deadline, or ``stop``."""
    deadline = time.monotonic() + timeout_s
    halt = stop or threading.Event()
    while True:
        report = run_verify(cluster, plan=plan)
        if on_report is not None:
            on_report(report)
        if settled(report) or time.monotonic() >= deadline or halt.wait(poll_s):
            return report


def pod_stall_reason(pod: Mapping[str, Any], events: list[Mapping[str, Any]]) -> str:
    status = pod.get("status", {})
    for cs in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
        waiting = (cs.get("state") or {}).get("waiting") or {}
        reason = waiting.get("reason", "")
        if reason in STALL_REASONS:
            message = waiting.get("message", "")
            return f"{reason}: {cs.get('name')}" + (
                f" ({message})" if message else f" ({cs.get('image', '')})"
            )
    if status.get("phase") == "Pending":
        for cond in status.get("conditions") or []:
            if cond.get("type") == "PodScheduled" and cond.get("status") == "False":
                return f"Pending: {cond.get('reason', 'Unschedulable')}: {cond.get('message', '')}".rstrip(
                    ": "
                )
    warnings = [e for e in events if e.get("type") == "Warning"]
    if warnings and status.get("phase") != "Running":
        last = warnings[-1]
        return f"{last.get('reason', 'Warning')}: {last.get('message', '')}"
    return ""


def _ready(pod: Mapping[str, Any]) -> str:
    spec = pod.get("spec", {})
    statuses = pod.get("status", {}).get("containerStatuses") or []
    sidecars = [c for c in spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"]
    init_ready = {
        s.get("name") for s in pod.get("status", {}).get("initContainerStatuses") or [] if s.get("ready")
    }
    total = len(spec.get("containers") or []) + len(sidecars)
    ready = sum(1 for s in statuses if s.get("ready")) + sum(
        1 for c in sidecars if c.get("name") in init_ready
    )
    return f"{ready}/{total}"


def install_progress(cluster: Cluster, *, namespace: str = ISTIO_NAMESPACE) -> InstallProgress:
    """Pods in istio-system with stall reasons, and notes for Services waiting on a load balancer."""
    try:
        pods = cluster.list(kube.PODS, namespace=namespace).items
        events = cluster.list(kube.EVENTS, namespace=namespace).items
        services = cluster.list(kube.SERVICES, namespace=namespace).items
    except NotFound:
        return InstallProgress((), ())
    except KubeError as err:
        return InstallProgress((), (f"cannot read {namespace}: {err}",))
    by_pod: dict[str, list[Mapping[str, Any]]] = {}
    for event in sorted(events, key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or "")):
        involved = event.get("involvedObject") or {}
        if involved.get("kind") == "Pod":
            by_pod.setdefault(str(involved.get("name")), []).append(event)
    rows = []
    for pod in sorted(pods, key=lambda p: p["metadata"]["name"]):
        name = pod["metadata"]["name"]
        phase = pod.get("status", {}).get("phase", "Pending")
        if pod["metadata"].get("deletionTimestamp"):
            phase = "Terminating"
        rows.append(PodProgress(name, phase, _ready(pod), pod_stall_reason(pod, by_pod.get(name, []))))
    notes = []
    for svc in services:
        if svc.get("spec", {}).get("type") == "LoadBalancer" and not (
            (svc.get("status", {}).get("loadBalancer") or {}).get("ingress")
        ):
            notes.append(f"Service {svc['metadata']['name']}: LoadBalancer pending, no external address yet")
    return InstallProgress(tuple(rows), tuple(notes))
