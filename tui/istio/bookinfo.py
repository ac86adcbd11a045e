"""Deploy, expose, verify and clean up Bookinfo, and apply routing presets: UI-free, through tui.kube.Cluster.

Every function here blocks (it calls the cluster or the network): the UI runs them from thread workers.
The traffic pane and the deploy screen use this API:

* Manifests: :func:`load_app`, :func:`load_gateway`, :func:`load_destination_rules`, :func:`presets`
  (ordered as :data:`PRESET_KEYS`), :func:`preset`.
* Every routing call takes ``api``: ``"istio"`` (Gateway, VirtualService, DestinationRules) or
  ``"gateway-api"`` (a Gateway of class istio, HTTPRoutes, one Service per version; tui.istio.gatewayapi).
* Deploy: :func:`bookinfo_namespaces` (where it already runs), :func:`ensure_namespace`, then :func:`deploy`
  (app, gateway, bookinfo VirtualService and DestinationRules, or their Gateway API counterparts). Follow
  pods with :func:`pod_status` or :func:`wait_ready` (2/2 when injected; warnings when productpage has no
  sidecar, since VirtualService routing is applied by the caller's sidecar). The namespace's injection
  label is the namespaces pane's toggle (tui.istio.injection); offer it before deploying.
* Configured vs observed: :func:`current_routing` gives a ``RoutingView`` and
  :func:`tui.istio.routing.expected_shares` turns it into expected shares per version, counting pods per
  version from :func:`pod_status` when no VirtualService exists (Istio then balances over all pods).
* Expose: :func:`find_ingress` finds the gateway Service the way the Istio docs do (istio-system/
  istio-ingressgateway, else by the Gateway's selector; with the Gateway API ``bookinfo-gateway-istio``)
  and returns an ``IngressInfo`` with ``gateway_url``.
  When ``pending_load_balancer`` is set, ask the user, then call :func:`patch_to_nodeport`.
  :func:`verify` GETs /productpage through it.
* Presets (from tui.istio.presets): :func:`current_routing` (configured weights and header rules of the
  reviews or ratings VirtualService or HTTPRoute, for "configured vs observed"), :func:`preview_preset`
  (a diff to confirm), :func:`apply_preset` and :func:`revert` (puts back what was there before, or
  deletes the object if istio-tui created it).
* :func:`cleanup` deletes only objects labelled ``app.kubernetes.io/managed-by=istio-tui`` and restores
  foreign VirtualServices a preset had changed; other people's routing objects stay untouched (upstream's
  cleanup script deletes every VirtualService in the namespace).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from tui import kube
from tui.errors import ConfigError, IstioTuiError, KubeError, NotFound
from tui.istio.ambient import is_captured
from tui.istio.gatewayapi import find_gateway_ingress
from tui.istio.ingress import HTTP_PORT_NAME, http_port, read_ingress
from tui.istio.presets import (
    PRESET_KEYS as PRESET_KEYS,
)
from tui.istio.presets import (
    Preset as Preset,
)
from tui.istio.presets import (
    RoutingApi,
    load,
    restore,
    try_get,
)
from tui.istio.presets import (
    apply_preset as apply_preset,
)
from tui.istio.presets import (
    current_routing as current_routing,
)
from tui.istio.presets import (
    manifests_dir as manifests_dir,
)
from tui.istio.presets import (
    preset as preset,
)
from tui.istio.presets import (
    presets as presets,
)
from tui.istio.presets import (
    preview_preset as preview_preset,
)
from tui.istio.presets import (
    revert as revert,
)
from tui.istio.routing import MANAGED_BY, MANAGED_BY_LABEL, PREVIOUS_ANNOTATION, is_ours
from tui.istio.sidecar import has_sidecar
from tui.kubeprint import pod_status as kubectl_pod_status
from tui.models import BookinfoPod, BookinfoStatus, CleanupResult, IngressInfo, VerifyResult
from tui.names import is_dns_label

Obj = dict[str, Any]

MANAGED_SELECTOR = f"{MANAGED_BY_LABEL}={MANAGED_BY}"
APPS = ("productpage", "details", "reviews", "ratings")
DEPLOYMENTS = ("productpage-v1", "details-v1", "ratings-v1", "reviews-v1", "reviews-v2", "reviews-v3")
GATEWAY_NAME = "bookinfo-gateway"
DEFAULT_GATEWAY_SERVICE = "istio-ingressgateway"
DEFAULT_GATEWAY_NAMESPACE = "istio-system"
_ROUTING_KINDS = (
    kube.VIRTUAL_SERVICES,
    kube.DESTINATION_RULES,
    kube.GATEWAYS,
    kube.HTTP_ROUTES,
    kube.K8S_GATEWAYS,
)


@dataclass(frozen=True)
class DeployResult:
    """``applied`` and ``skipped`` hold "Kind/name"; skipped are routing objects someone else owns."""

    namespace: str
    applied: tuple[str, ...]
    skipped: tuple[str, ...]


# ----------------------------------------------------------------------------------------------- manifests
def load_app() -> list[Obj]:
    """ServiceAccounts, Services and Deployments, without a namespace."""
    return load("bookinfo.yaml")


def load_gateway(api: RoutingApi = "istio") -> list[Obj]:
    """The ``bookinfo-gateway`` Gateway and the ``bookinfo`` VirtualService, or with the Gateway API a
    Gateway of class istio, the ``bookinfo`` HTTPRoute and one Service per version for backendRefs."""
    if api == "gateway-api":
        return load("gateway-api/gateway.yaml") + load("gateway-api/versions.yaml")
    return load("gateway.yaml")


def load_destination_rules() -> list[Obj]:
    return load("destination-rules.yaml")


# ----------------------------------------------------------------------------------------------- deploy
def check_namespace_name(name: str) -> str:
    """Validate a namespace name before anything touches the cluster (a DNS-1123 label)."""
    if not is_dns_label(name):
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


def require_routing_api(cluster: kube.Cluster, *, api: RoutingApi) -> None:
    """Refuse before anything changes when the cluster does not serve the API Bookinfo's gateway and routing
    are written in: otherwise the first write fails with the server's bare "could not find the requested
    resource", after a namespace or the app may already have been created."""
    if api == "gateway-api" and not cluster.has_api("gateway.networking.k8s.io/v1"):
        raise ConfigError(
            "the cluster does not serve the Gateway API (gateway.networking.k8s.io/v1)",
            hint="install the Gateway API CRDs from the install wizard's preflight step",
        )
    if api == "istio" and not cluster.has_api("networking.istio.io/v1"):
        raise ConfigError(
            "the cluster does not serve Istio's networking.istio.io/v1 API, so the gateway and routing "
            "cannot be applied",
            hint="install Istio (1.22 or newer) first",
        )


def deploy(
    cluster: kube.Cluster, *, namespace: str, routing: bool = True, api: RoutingApi = "istio"
) -> DeployResult:
    """Apply Bookinfo (and, with ``routing``, the gateway, the bookinfo VirtualService and DestinationRules).

    Routing objects of the same name that istio-tui did not create are left alone and listed in ``skipped``:
    taking them over would let cleanup delete someone else's configuration.
    """
    check_namespace_name(namespace)
    if routing:
        require_routing_api(cluster, api=api)
    docs = load_app()
    skipped: list[str] = []
    if routing:
        extra = load_destination_rules() if api == "istio" else []
        for doc in load_gateway(api) + extra:
            res = cluster.resource_for(api_version=doc["apiVersion"], kind=doc["kind"])
            existing = try_get(cluster, res, doc["metadata"]["name"], namespace)
            if existing is not None and not is_ours(existing):
                skipped.append(_ref(doc))
                continue
            docs.append(doc)
    stored = cluster.apply(docs, namespace=namespace)
    return DeployResult(namespace=namespace, applied=tuple(_ref(o) for o in stored), skipped=tuple(skipped))


def _ref(obj: Obj) -> str:
    return f"{obj.get('kind', '?')}/{(obj.get('metadata') or {}).get('name', '?')}"


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
        ambient=is_captured(pod),
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
    if pp_sidecar is False and not all(r.ambient for r in pp):
        warnings.append(
            "productpage has no istio-proxy sidecar, so VirtualService routing (the presets) does not apply: "
            f"label namespace {namespace} istio-injection=enabled and restart the Bookinfo pods"
        )
    if rows and any(r.has_sidecar for r in rows) and not all(r.has_sidecar or r.ambient for r in rows):
        bare = ", ".join(r.name for r in rows if not (r.has_sidecar or r.ambient))
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
    api: RoutingApi = "istio",
) -> IngressInfo:
    """Find the ingress gateway's address like the Istio docs' INGRESS_HOST / INGRESS_PORT steps.

    ``namespace`` is Bookinfo's: when the default Service is missing, the selector of its ``bookinfo-gateway``
    Gateway (default ``istio: ingressgateway``) picks the Service in any namespace.
    """
    if api == "gateway-api" and namespace:
        return find_gateway_ingress(cluster, name=GATEWAY_NAME, namespace=namespace)
    svc = try_get(cluster, kube.SERVICES, service, service_namespace)
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
            gw = try_get(cluster, kube.GATEWAYS, GATEWAY_NAME, namespace)
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
                restore(cluster, res, obj)
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
