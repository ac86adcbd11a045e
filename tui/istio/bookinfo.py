"""Deploy, expose, verify and clean up Bookinfo, and apply routing presets: UI-free, through tui.kube.Cluster.

Every function here blocks (it calls the cluster or the network): the UI runs them from thread workers.
The traffic pane and the deploy screen use this API:

* Manifests: :func:`load_app`, :func:`load_gateway`, :func:`load_destination_rules`, :func:`presets`
  (ordered as :data:`PRESET_KEYS`), :func:`preset`.
* Deploy: :func:`bookinfo_namespaces` (where it already runs), :func:`ensure_namespace`, then :func:`deploy`
  (app, gateway, bookinfo VirtualService and DestinationRules). Follow pods with :func:`pod_status` or
  :func:`wait_ready` (2/2 when injected; warnings when productpage has no sidecar, since VirtualService
  routing is applied by the caller's sidecar). The namespace's injection label is the namespaces pane's
  toggle (tui.istio.injection); offer it before deploying.
* Configured vs observed: :func:`current_routing` gives a ``RoutingView`` and
  :func:`tui.istio.routing.expected_shares` turns it into expected shares per version, counting pods per
  version from :func:`pod_status` when no VirtualService exists (Istio then balances over all pods).
* Expose: :func:`find_ingress` finds the gateway Service the way the Istio docs do (istio-system/
  istio-ingressgateway, else by the Gateway's selector) and returns an ``IngressInfo`` with ``gateway_url``.
  When ``pending_load_balancer`` is set, ask the user, then call :func:`patch_to_nodeport`.
  :func:`verify` GETs /productpage through it.
* Presets: :func:`current_routing` (configured weights and header rules of the reviews or ratings
  VirtualService, for "configured vs observed"), :func:`preview_preset` (a diff to confirm),
  :func:`apply_preset` and :func:`revert` (puts back what was there before, or deletes the VirtualService
  if istio-tui created it).
* :func:`cleanup` deletes only objects labelled ``app.kubernetes.io/managed-by=istio-tui`` and restores
  foreign VirtualServices a preset had changed; other people's routing objects stay untouched (upstream's
  cleanup script deletes every VirtualService in the namespace).
"""

from __future__ import annotations

import contextlib
import copy
import difflib
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import yaml

from tui import kube
from tui.errors import ConfigError, IstioTuiError, KubeError, NotFound
from tui.istio.ingress import HTTP_PORT_NAME, http_port, read_ingress
from tui.istio.routing import (
    MANAGED_BY,
    MANAGED_BY_LABEL,
    PRESET_ANNOTATION,
    PRESET_TITLE_ANNOTATION,
    PREVIOUS_ANNOTATION,
    PresetPreview,
    RoutingView,
    is_ours,
    routing_of,
)
from tui.istio.sidecar import has_sidecar
from tui.models import (
    BookinfoPod,
    BookinfoStatus,
    CleanupResult,
    IngressInfo,
    VerifyResult,
)
from tui.models import (
    pod_status as kubectl_pod_status,
)

Obj = dict[str, Any]

MANAGED_SELECTOR = f"{MANAGED_BY_LABEL}={MANAGED_BY}"
APPS = ("productpage", "details", "reviews", "ratings")
DEPLOYMENTS = ("productpage-v1", "details-v1", "ratings-v1", "reviews-v1", "reviews-v2", "reviews-v3")
GATEWAY_NAME = "bookinfo-gateway"
DEFAULT_GATEWAY_SERVICE = "istio-ingressgateway"
DEFAULT_GATEWAY_NAMESPACE = "istio-system"
PRESET_KEYS = (
    "reviews-v1",
    "reviews-jason-v2",
    "reviews-v1-v3-50",
    "reviews-v1-v2-80",
    "reviews-v2-v3-50",
    "reviews-v3",
    "ratings-delay-jason",
    "ratings-abort-jason",
)
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_ROUTING_KINDS = (kube.VIRTUAL_SERVICES, kube.DESTINATION_RULES, kube.GATEWAYS)


@dataclass(frozen=True)
class Preset:
    """A routing preset: one VirtualService document for ``host`` (reviews or ratings)."""

    key: str
    title: str
    description: str
    host: str
    doc: Obj


@dataclass(frozen=True)
class DeployResult:
    """``applied`` and ``skipped`` hold "Kind/name"; skipped are routing objects someone else owns."""

    namespace: str
    applied: tuple[str, ...]
    skipped: tuple[str, ...]


# ----------------------------------------------------------------------------------------------- manifests
def manifests_dir() -> Path:
    """The manifests shipped with istio-tui: ``tui/_manifests`` in a wheel, ``manifests/`` in a checkout."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "_manifests", here.parent / "manifests"):
        if (candidate / "bookinfo").is_dir():
            return candidate / "bookinfo"
    raise ConfigError("the Bookinfo manifests are missing from this installation", hint="reinstall istio-tui")


def _load(name: str) -> list[Obj]:
    return copy.deepcopy(_load_cached(name))


@cache
def _load_cached(name: str) -> list[Obj]:
    path = manifests_dir() / name
    try:
        return [d for d in yaml.safe_load_all(path.read_text()) if d]
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}", hint="reinstall istio-tui") from exc


def load_app() -> list[Obj]:
    """ServiceAccounts, Services and Deployments, without a namespace."""
    return _load("bookinfo.yaml")


def load_gateway() -> list[Obj]:
    """The ``bookinfo-gateway`` Gateway and the ``bookinfo`` VirtualService."""
    return _load("gateway.yaml")


def load_destination_rules() -> list[Obj]:
    return _load("destination-rules.yaml")


@cache
def _presets() -> tuple[Preset, ...]:
    folder = manifests_dir() / "presets"
    found: dict[str, Preset] = {}
    for path in sorted(folder.glob("*.yaml")):
        text = path.read_text()
        (doc,) = [d for d in yaml.safe_load_all(text) if d]
        annotations = doc["metadata"].get("annotations") or {}
        key = str(annotations.get(PRESET_ANNOTATION) or path.stem)
        comment = " ".join(line.lstrip("#").strip() for line in text.splitlines() if line.startswith("#"))
        found[key] = Preset(
            key=key,
            title=str(annotations.get(PRESET_TITLE_ANNOTATION) or key),
            description=comment,
            host=str(doc["metadata"]["name"]),
            doc=doc,
        )
    return tuple(found[k] for k in PRESET_KEYS if k in found) + tuple(
        p for k, p in found.items() if k not in PRESET_KEYS
    )


def presets() -> list[Preset]:
    """All routing and fault presets in menu order."""
    return [Preset(p.key, p.title, p.description, p.host, copy.deepcopy(p.doc)) for p in _presets()]


def preset(key: str) -> Preset:
    for p in presets():
        if p.key == key:
            return p
    raise ConfigError(f"unknown routing preset {key!r}", hint="one of: " + ", ".join(PRESET_KEYS))


# ----------------------------------------------------------------------------------------------- deploy
def check_namespace_name(name: str) -> str:
    """Validate a namespace name before anything touches the cluster (a DNS-1123 label)."""
    if not name or len(name) > 63 or not _DNS_LABEL.fullmatch(name):
        raise ConfigError(
            f"invalid namespace name {name!r}",
            hint="use at most 63 lower-case letters, digits and '-', starting and ending alphanumeric",
        )
    return name


def ensure_namespace(cluster: kube.Cluster, *, name: str) -> bool:
    """Create the namespace unless it exists; True when it was created."""
    check_namespace_name(name)
    try:
        cluster.get(kube.NAMESPACES, name)
        return False
    except NotFound:
        pass
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    try:
        cluster.create(kube.NAMESPACES, body)
    except KubeError as exc:
        if exc.reason != "AlreadyExists":
            raise
        return False
    return True


def bookinfo_namespaces(cluster: kube.Cluster) -> list[str]:
    """Namespaces where istio-tui deployed Bookinfo (its productpage Deployment), to preselect one."""
    found = cluster.list(kube.DEPLOYMENTS, label_selector=f"{MANAGED_SELECTOR},app=productpage").items
    return sorted({str(d["metadata"]["namespace"]) for d in found})


def deploy(cluster: kube.Cluster, *, namespace: str, routing: bool = True) -> DeployResult:
    """Apply Bookinfo (and, with ``routing``, the gateway, the bookinfo VirtualService and DestinationRules).

    Routing objects of the same name that istio-tui did not create are left alone and listed in ``skipped``:
    taking them over would let cleanup delete someone else's configuration.
    """
    check_namespace_name(namespace)
    if routing and not cluster.has_api("networking.istio.io/v1"):
        raise ConfigError(
            "the cluster does not serve Istio's networking.istio.io/v1 API, so the gateway and routing "
            "cannot be applied",
            hint="install Istio (1.22 or newer) first",
        )
    docs = load_app()
    skipped: list[str] = []
    if routing:
        for doc in load_gateway() + load_destination_rules():
            res = cluster.resource_for(api_version=doc["apiVersion"], kind=doc["kind"])
            existing = _try_get(cluster, res, doc["metadata"]["name"], namespace)
            if existing is not None and not is_ours(existing):
                skipped.append(_ref(doc))
                continue
            docs.append(doc)
    stored = cluster.apply(docs, namespace=namespace)
    return DeployResult(namespace=namespace, applied=tuple(_ref(o) for o in stored), skipped=tuple(skipped))


def _ref(obj: Obj) -> str:
    return f"{obj.get('kind', '?')}/{(obj.get('metadata') or {}).get('name', '?')}"


def _try_get(cluster: kube.Cluster, res: kube.Resource, name: str, namespace: str | None) -> Obj | None:
    try:
        return cluster.get(res, name, namespace=namespace)
    except NotFound:
        return None


def _pod_row(pod: Obj) -> BookinfoPod:
    meta, status = pod.get("metadata") or {}, pod.get("status") or {}
    labels = meta.get("labels") or {}
    _, ready_n, total, _ = kubectl_pod_status(pod)
    phase = str(status.get("phase") or "Pending")
    ready = phase == "Running" and total > 0 and ready_n == total and not meta.get("deletionTimestamp")
    return BookinfoPod(
        name=str(meta.get("name", "")),
        app=str(labels.get("app", "")),
        version=str(labels.get("version", "")),
        phase="Terminating" if meta.get("deletionTimestamp") else phase,
        ready=ready,
        ready_text=f"{ready_n}/{total}",
        has_sidecar=has_sidecar(pod),
    )


def status_of(namespace: str, pods: list[Obj]) -> BookinfoStatus:
    """Pure: the Bookinfo view of a namespace's pods (those labelled with a Bookinfo app)."""
    rows = tuple(
        sorted(
            (_pod_row(p) for p in pods if (p.get("metadata") or {}).get("labels", {}).get("app") in APPS),
            key=lambda r: r.name,
        )
    )
    present = {f"{r.app}-{r.version}" for r in rows}
    missing = tuple(d for d in DEPLOYMENTS if d not in present)
    pp = [r for r in rows if r.app == "productpage"]
    pp_sidecar = None if not pp else all(r.has_sidecar for r in pp)
    warnings: list[str] = []
    if pp_sidecar is False:
        warnings.append(
            "productpage has no istio-proxy sidecar, so VirtualService routing (the presets) does not apply: "
            f"label namespace {namespace} istio-injection=enabled and restart the Bookinfo pods"
        )
    if rows and any(r.has_sidecar for r in rows) and not all(r.has_sidecar for r in rows):
        bare = ", ".join(r.name for r in rows if not r.has_sidecar)
        warnings.append(f"some Bookinfo pods have no sidecar ({bare}): restart them to inject it")
    return BookinfoStatus(
        namespace=namespace,
        pods=rows,
        missing=missing,
        productpage_sidecar=pp_sidecar,
        warnings=tuple(warnings),
    )


def pod_status(cluster: kube.Cluster, *, namespace: str) -> BookinfoStatus:
    pods = cluster.list(
        kube.PODS, namespace=namespace, label_selector="app in (" + ",".join(APPS) + ")"
    ).items
    return status_of(namespace, pods)


def wait_ready(
    cluster: kube.Cluster,
    *,
    namespace: str,
    timeout: float = 300.0,
    interval: float = 0.5,
    on_update: Callable[[BookinfoStatus], None] | None = None,
    cancel: threading.Event | None = None,
) -> BookinfoStatus:
    """Poll until every Bookinfo pod is Ready, the deadline passes or ``cancel`` is set; return the last view.

    ``on_update`` gets each view that differs from the previous one (post it to the UI from there).
    """
    deadline = time.monotonic() + timeout
    last: BookinfoStatus | None = None
    while True:
        current = pod_status(cluster, namespace=namespace)
        if current != last and on_update is not None:
            on_update(current)
        last = current
        if current.ready or time.monotonic() >= deadline:
            return current
        if cancel is not None:
            if cancel.wait(interval):
                return current
        else:
            time.sleep(interval)


# ----------------------------------------------------------------------------------------------- expose
def find_ingress(
    cluster: kube.Cluster,
    *,
    namespace: str | None = None,
    service: str = DEFAULT_GATEWAY_SERVICE,
    service_namespace: str = DEFAULT_GATEWAY_NAMESPACE,
) -> IngressInfo:
    """Find the ingress gateway's address like the Istio docs' INGRESS_HOST / INGRESS_PORT steps.

    ``namespace`` is Bookinfo's: when the default Service is missing, the selector of its ``bookinfo-gateway``
    Gateway (default ``istio: ingressgateway``) picks the Service in any namespace.
    """
    svc = _try_get(cluster, kube.SERVICES, service, service_namespace)
    if svc is None:
        svc = _service_by_gateway_selector(cluster, namespace=namespace)
    meta, spec = svc.get("metadata") or {}, svc.get("spec") or {}
    name, ns = str(meta.get("name")), str(meta.get("namespace"))
    if http_port(spec) is None:
        raise ConfigError(
            f"Service {ns}/{name} has no port named {HTTP_PORT_NAME}",
            hint="the Istio gateway charts name the HTTP port http2; check the gateway installation",
        )
    info = read_ingress(cluster, svc, running_only=True)
    if info.source == "load-balancer" and not info.pending_load_balancer:
        return info
    if info.source == "cluster-ip" or not info.port:
        raise ConfigError(
            f"Service {ns}/{name} is {info.service_type}, so nothing outside the cluster reaches it",
            hint="patch it to NodePort",
        )
    if not spec.get("selector"):
        raise ConfigError(f"the gateway Service in {ns} has no selector, so its pods cannot be found")
    if not info.host:
        text = ",".join(f"{k}={v}" for k, v in spec["selector"].items())
        raise IstioTuiError(
            f"no running gateway pod matches {text} in {ns}", hint="wait for the gateway pods to start"
        )
    return info


def _service_by_gateway_selector(cluster: kube.Cluster, *, namespace: str | None) -> Obj:
    selector: dict[str, str] = {"istio": "ingressgateway"}
    if namespace:
        try:
            gw = _try_get(cluster, kube.GATEWAYS, GATEWAY_NAME, namespace)
        except KubeError:
            gw = None
        if gw is not None and (gw.get("spec") or {}).get("selector"):
            selector = {str(k): str(v) for k, v in gw["spec"]["selector"].items()}
    wanted = selector.items()
    for svc in cluster.list(kube.SERVICES).items:
        svc_selector = (svc.get("spec") or {}).get("selector") or {}
        labels = (svc.get("metadata") or {}).get("labels") or {}
        if wanted <= svc_selector.items() or wanted <= labels.items():
            return svc
    text = ",".join(f"{k}={v}" for k, v in selector.items())
    raise IstioTuiError(
        f"no ingress gateway Service found ({DEFAULT_GATEWAY_NAMESPACE}/{DEFAULT_GATEWAY_SERVICE} is missing "
        f"and no Service selects {text})",
        hint="install Istio's ingress gateway first",
    )


def patch_to_nodeport(cluster: kube.Cluster, *, ingress: IngressInfo) -> IngressInfo:
    """The seed's fix for a LoadBalancer stuck pending: make the gateway Service a NodePort. Ask first."""
    cluster.patch(
        kube.SERVICES,
        ingress.service,
        {"spec": {"type": "NodePort"}},
        namespace=ingress.namespace,
        patch_type="merge",
    )
    return find_ingress(cluster, service=ingress.service, service_namespace=ingress.namespace)


def verify(url: str, *, timeout: float = 5.0) -> VerifyResult:
    """GET the product page through the gateway; ``url`` is ``productpage_url`` or a GATEWAY_URL."""
    if "://" not in url:
        url = f"http://{url}"
    if not url.rstrip("/").endswith("/productpage"):
        url = url.rstrip("/") + "/productpage"
    started = time.monotonic()
    try:
        resp = httpx.get(url, timeout=timeout)
    except httpx.HTTPError as exc:
        return VerifyResult(url, False, None, f"GET {url} failed: {exc or type(exc).__name__}")
    ms = (time.monotonic() - started) * 1000
    if resp.status_code == 200 and "Simple Bookstore App" in resp.text:
        return VerifyResult(url, True, 200, f"GET {url} → 200 in {ms:.0f} ms")
    detail = resp.text.strip().splitlines()[0][:80] if resp.text.strip() else "empty body"
    return VerifyResult(url, False, resp.status_code, f"GET {url} → {resp.status_code}: {detail}")


# ----------------------------------------------------------------------------------------------- presets
def current_routing(cluster: kube.Cluster, *, namespace: str, host: str = "reviews") -> RoutingView:
    """The configured routing of ``host`` (reviews or ratings) for the "configured vs observed" view."""
    vs = _try_get(cluster, kube.VIRTUAL_SERVICES, host, namespace)
    return routing_of(vs, host=host, namespace=namespace)


def _spec_lines(spec: Any) -> list[str]:
    if spec is None:
        return []
    return yaml.safe_dump(spec, sort_keys=False, default_flow_style=False).splitlines()


def preview_preset(cluster: kube.Cluster, *, namespace: str, key: str) -> PresetPreview:
    """A unified diff of the VirtualService spec the preset would write, against what is there now."""
    p = preset(key)
    current = _try_get(cluster, kube.VIRTUAL_SERVICES, p.host, namespace)
    before = _spec_lines(current.get("spec") if current else None)
    after = _spec_lines(p.doc["spec"])
    diff = tuple(
        difflib.unified_diff(
            before,
            after,
            fromfile=f"{namespace}/{p.host} (now)" if current else "(no VirtualService)",
            tofile=f"{namespace}/{p.host} ({p.key})",
            lineterm="",
        )
    )
    return PresetPreview(
        key=p.key,
        title=p.title,
        host=p.host,
        namespace=namespace,
        creates=current is None,
        diff=diff,
        before=routing_of(current, host=p.host, namespace=namespace),
        after=routing_of(p.doc, host=p.host, namespace=namespace),
    )


def apply_preset(cluster: kube.Cluster, *, namespace: str, key: str) -> RoutingView:
    """Write the preset's VirtualService, remembering what to revert to.

    A VirtualService istio-tui did not create keeps its labels and gets the replaced spec in an annotation,
    so :func:`revert` and :func:`cleanup` can put it back. A new one is labelled as ours.
    """
    p = preset(key)
    current = _try_get(cluster, kube.VIRTUAL_SERVICES, p.host, namespace)
    if current is None:
        body = copy.deepcopy(p.doc)
        body["metadata"]["namespace"] = namespace
        stored = cluster.create(kube.VIRTUAL_SERVICES, body, namespace=namespace)
    else:
        body = copy.deepcopy(current)
        annotations = body["metadata"].setdefault("annotations", {})
        if not is_ours(current) and PREVIOUS_ANNOTATION not in annotations:
            annotations[PREVIOUS_ANNOTATION] = json.dumps(current.get("spec") or {}, sort_keys=True)
        annotations[PRESET_ANNOTATION] = p.key
        annotations[PRESET_TITLE_ANNOTATION] = p.title
        body["spec"] = copy.deepcopy(p.doc["spec"])
        stored = cluster.replace(kube.VIRTUAL_SERVICES, p.host, body, namespace=namespace)
    return routing_of(stored, host=p.host, namespace=namespace)


def revert(cluster: kube.Cluster, *, namespace: str, host: str = "reviews") -> RoutingView:
    """Undo presets on ``host``: restore the spec a preset replaced, or delete a VirtualService we created."""
    current = _try_get(cluster, kube.VIRTUAL_SERVICES, host, namespace)
    if current is None:
        return routing_of(None, host=host, namespace=namespace)
    annotations = (current.get("metadata") or {}).get("annotations") or {}
    if PREVIOUS_ANNOTATION in annotations:
        return routing_of(_restore(cluster, current), host=host, namespace=namespace)
    if is_ours(current):
        cluster.delete(kube.VIRTUAL_SERVICES, host, namespace=namespace)
        return routing_of(None, host=host, namespace=namespace)
    raise ConfigError(
        f"VirtualService {namespace}/{host} was not changed by istio-tui, so there is nothing to revert",
        hint="edit it with kubectl if it must change",
    )


def _restore(cluster: kube.Cluster, vs: Obj) -> Obj:
    body = copy.deepcopy(vs)
    meta = body["metadata"]
    annotations = meta.get("annotations") or {}
    try:
        body["spec"] = json.loads(annotations.pop(PREVIOUS_ANNOTATION))
    except ValueError as exc:
        raise ConfigError(
            f"VirtualService {meta.get('namespace')}/{meta.get('name')} has a damaged {PREVIOUS_ANNOTATION}",
            hint="fix its spec with kubectl",
        ) from exc
    annotations.pop(PRESET_ANNOTATION, None)
    annotations.pop(PRESET_TITLE_ANNOTATION, None)
    meta["annotations"] = annotations
    return cluster.replace(kube.VIRTUAL_SERVICES, str(meta["name"]), body, namespace=str(meta["namespace"]))


# ----------------------------------------------------------------------------------------------- cleanup
def cleanup(cluster: kube.Cluster, *, namespace: str) -> CleanupResult:
    """Delete what istio-tui applied in ``namespace``; restore foreign VirtualServices presets changed."""
    check_namespace_name(namespace)
    deleted: list[str] = []
    restored: list[str] = []
    kept: list[str] = []
    for res in _ROUTING_KINDS:
        try:
            items = cluster.list(res, namespace=namespace).items
        except NotFound:
            continue  # the Istio CRDs are not installed: nothing of that kind can exist
        for obj in items:
            ref = f"{res.kind}/{obj['metadata']['name']}"
            if is_ours(obj):
                _delete(cluster, res, obj, namespace)
                deleted.append(ref)
            elif PREVIOUS_ANNOTATION in ((obj.get("metadata") or {}).get("annotations") or {}):
                _restore(cluster, obj)
                restored.append(ref)
            else:
                kept.append(ref)
    for res in (kube.DEPLOYMENTS, kube.SERVICES, kube.SERVICEACCOUNTS):
        for obj in cluster.list(res, namespace=namespace, label_selector=MANAGED_SELECTOR).items:
            _delete(cluster, res, obj, namespace)
            deleted.append(f"{res.kind}/{obj['metadata']['name']}")
    return CleanupResult(deleted=tuple(deleted), restored=tuple(restored), kept=tuple(kept))


def _delete(cluster: kube.Cluster, res: kube.Resource, obj: Obj, namespace: str) -> None:
    with contextlib.suppress(NotFound):
        cluster.delete(res, obj["metadata"]["name"], namespace=namespace)
