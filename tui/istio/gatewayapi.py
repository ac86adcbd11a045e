"""The Kubernetes Gateway API as Istio uses it: are its CRDs there (and which bundle), how to install them,
what an ``HTTPRoute`` configures, and where a ``Gateway`` of class ``istio`` answers.

Istio facts these follow (istio.io, "Getting started" and "Kubernetes Gateway API"):

* The CRDs are not part of Istio: the docs install the upstream release's standard channel with
  ``kubectl apply --server-side -f .../standard-install.yaml``. Each CRD carries the annotation
  ``gateway.networking.k8s.io/bundle-version``.
* For a Gateway of class ``istio``, istiod deploys ``<name>-istio`` (a Deployment and a Service). The
  Gateway's ``status.addresses`` gives its address once a load balancer assigns one; without one, the
  Service's nodePort and a node's IP reach it. The Gateway annotation ``networking.istio.io/service-type``
  sets the Service's type (e.g. ``ClusterIP`` or ``NodePort``).
* An ``HTTPRoute``'s ``backendRefs`` name Services (``reviews-v1``), not subsets; weights default to 1.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources as _files
from typing import Any

from tui import kube
from tui.errors import ConfigError, IstioTuiError, NotFound
from tui.istio.ingress import gateway_host_ip
from tui.istio.routing import PRESET_ANNOTATION, RouteMatch, RoutingView, is_ours
from tui.models import IngressInfo

Obj = dict[str, Any]

GROUP = "gateway.networking.k8s.io"
BUNDLE_VERSION = "v1.6.1"
BUNDLE_URL = (
    f"https://github.com/kubernetes-sigs/gateway-api/releases/download/{BUNDLE_VERSION}/standard-install.yaml"
)
BUNDLE_ANNOTATION = f"{GROUP}/bundle-version"
CHANNEL_ANNOTATION = f"{GROUP}/channel"
REQUIRED_CRDS = tuple(f"{p}.{GROUP}" for p in ("gatewayclasses", "gateways", "httproutes", "referencegrants"))
SERVICE_TYPE_ANNOTATION = "networking.istio.io/service-type"
BUNDLED_CRDS = "gateway-api-standard-crds.json.gz"

Runner = Callable[..., "subprocess.CompletedProcess[str]"]


@dataclass(frozen=True, slots=True)
class CrdState:
    """The Gateway API CRDs the cluster has. ``bundle_version`` is "" when none are installed, or
    "mixed" when the CRDs disagree."""

    present: tuple[str, ...]
    missing: tuple[str, ...]
    bundle_version: str
    channel: str

    @property
    def installed(self) -> bool:
        return not self.missing

    @property
    def summary(self) -> str:
        if self.installed:
            return f"Gateway API CRDs {self.bundle_version or '(no bundle version)'} {self.channel}".rstrip()
        if not self.present:
            return "Gateway API CRDs are not installed"
        return "Gateway API CRDs incomplete: missing " + ", ".join(m.split(".", 1)[0] for m in self.missing)


def crd_state(cluster: kube.Cluster) -> CrdState:
    """Which Gateway API CRDs exist and the bundle version they were published in."""
    crds = [c for c in cluster.list(kube.CRDS).items if (c.get("spec") or {}).get("group") == GROUP]
    names = {str(c["metadata"]["name"]): c for c in crds}
    versions = {str(((c["metadata"].get("annotations") or {}).get(BUNDLE_ANNOTATION)) or "") for c in crds}
    channels = {str(((c["metadata"].get("annotations") or {}).get(CHANNEL_ANNOTATION)) or "") for c in crds}
    return CrdState(
        present=tuple(sorted(names)),
        missing=tuple(n for n in REQUIRED_CRDS if n not in names),
        bundle_version=(versions.pop() if len(versions) == 1 else "mixed") if versions else "",
        channel=channels.pop() if len(channels) == 1 else "",
    )


def bundled_crds() -> list[Obj]:
    """The standard-channel CRDs of :data:`BUNDLE_VERSION`, generated from the upstream release (see
    ``tui/istio/_gateway_crds.py``): what the sandbox gets, since it cannot fetch the release."""
    data = _files.files("tui.istio").joinpath(BUNDLED_CRDS).read_bytes()
    return list(json.loads(gzip.decompress(data))["items"])


def install_command(*, context: str) -> list[str]:
    """``kubectl apply --server-side`` of the pinned upstream release, as Istio's docs run it."""
    return ["kubectl", "apply", "--server-side", "-f", BUNDLE_URL, "--context", context]


def install_crds(cluster: kube.Cluster, *, sandbox: bool, run: Runner = subprocess.run) -> CrdState:
    """Install the standard channel: on the sandbox from the bundled data, elsewhere from the upstream
    release through kubectl. Failures raise with kubectl's own last line."""
    if sandbox:
        cluster.apply(bundled_crds())
        return crd_state(cluster)
    cmd = install_command(context=cluster.context)
    env = {**os.environ, **({"KUBECONFIG": cluster.kubeconfig} if cluster.kubeconfig else {})}
    try:
        done = run(cmd, capture_output=True, text=True, timeout=120, check=False, env=env)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise IstioTuiError(f"kubectl apply of {BUNDLE_URL} failed: {exc}", hint="is kubectl on PATH?") from (
            exc
        )
    if done.returncode != 0:
        lines = [ln for ln in (done.stderr or done.stdout or "").splitlines() if ln.strip()]
        raise IstioTuiError(
            f"kubectl apply of the Gateway API {BUNDLE_VERSION} CRDs failed: "
            + (lines[-1] if lines else f"exit {done.returncode}"),
            hint="run it yourself: " + " ".join(cmd[:5]),
        )
    return crd_state(cluster)


# ----------------------------------------------------------------------------------------------- routes
def version_of(backend: str, *, host: str) -> str:
    """``reviews-v3`` → ``v3``; the host Service itself → ``*`` (any version)."""
    return backend[len(host) + 1 :] if backend.startswith(f"{host}-") else "*"


def backend_weights(refs: Sequence[Mapping[str, Any]] | None, *, host: str) -> dict[str, int]:
    """Percent per version of a rule's ``backendRefs`` (weight defaults to 1, as in the API)."""
    weights: dict[str, int] = {}
    for ref in refs or ():
        w = int(ref.get("weight", 1))
        key = version_of(str(ref.get("name", "")), host=host)
        weights[key] = weights.get(key, 0) + w
    total = sum(weights.values())
    return {k: round(100 * v / total) for k, v in weights.items()} if total else {}


def _matches_all(entry: Mapping[str, Any]) -> bool:
    """No condition but the path ``/`` prefix, which the API server fills in for a rule without matches."""
    path = entry.get("path") or {}
    plain = not any(entry.get(k) for k in ("headers", "queryParams", "method"))
    root = path.get("type", "PathPrefix") == "PathPrefix" and path.get("value") == "/"
    return plain and (not path or root)


def route_routing(route: Mapping[str, Any] | None, *, host: str, namespace: str) -> RoutingView:
    """The configured routing of an HTTPRoute whose parent is ``host``'s Service, as the traffic pane shows
    it: header matches become :class:`RouteMatch` rows, the first rule without matches is the default."""
    if route is None:
        return RoutingView(host=host, namespace=namespace, exists=False)
    matches: list[RouteMatch] = []
    default: dict[str, int] = {}
    for rule in (route.get("spec") or {}).get("rules") or ():
        weights = backend_weights(rule.get("backendRefs"), host=host)
        entries = rule.get("matches") or ()
        if not entries or any(_matches_all(e) for e in entries):
            default = weights
            break
        for entry in entries:
            for h in entry.get("headers") or ():
                kind = "regex" if h.get("type") == "RegularExpression" else "exact"
                matches.append(
                    RouteMatch(
                        header=str(h.get("name", "")).lower(),
                        kind=kind,
                        value=str(h.get("value", "")),
                        weights=weights,
                    )
                )
    annotations = (route.get("metadata") or {}).get("annotations") or {}
    return RoutingView(
        host=host,
        namespace=namespace,
        exists=True,
        managed=is_ours(route),
        preset=str(annotations.get(PRESET_ANNOTATION) or ""),
        default_weights=default,
        matches=tuple(matches),
    )


def targets_service(route: Mapping[str, Any], service: str) -> bool:
    """A GAMMA route: one of its parentRefs is the Service ``service``."""
    return any(
        p.get("kind") == "Service" and p.get("group", "") in ("", "core") and p.get("name") == service
        for p in (route.get("spec") or {}).get("parentRefs") or ()
    )


# ----------------------------------------------------------------------------------------------- ingress
def find_gateway_ingress(cluster: kube.Cluster, *, name: str, namespace: str) -> IngressInfo:
    """Where a Gateway of class istio answers, as Istio's docs find it: ``status.addresses`` when a load
    balancer gave one, else the nodePort of the generated ``<name>-istio`` Service on a gateway pod's node."""
    try:
        gw = cluster.get(kube.K8S_GATEWAYS, name, namespace=namespace)
    except NotFound:
        raise ConfigError(f"Gateway {namespace}/{name} does not exist", hint="deploy Bookinfo") from None
    listeners = (gw.get("spec") or {}).get("listeners") or []
    listen = next((int(x["port"]) for x in listeners if x.get("protocol") == "HTTP"), 80)
    service = f"{name}-istio"
    try:
        svc = cluster.get(kube.SERVICES, service, namespace=namespace)
    except NotFound:
        raise IstioTuiError(
            f"Istio has not created Service {namespace}/{service} for Gateway {name} yet",
            hint="check that istiod runs and the GatewayClass istio exists (kubectl get gatewayclass)",
        ) from None
    spec = svc.get("spec") or {}
    svc_type = str(spec.get("type") or "ClusterIP")
    ports: list[Mapping[str, Any]] = spec.get("ports") or []
    port = next((p for p in ports if int(p.get("port", 0)) == listen), {})
    wanted = ((gw.get("metadata") or {}).get("annotations") or {}).get(SERVICE_TYPE_ANNOTATION)
    addresses = [a.get("value") for a in (gw.get("status") or {}).get("addresses") or () if a.get("value")]
    if svc_type == "LoadBalancer" and addresses and wanted in (None, "LoadBalancer"):
        ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        if ingress:
            return IngressInfo(service, namespace, svc_type, str(addresses[0]), listen, "load-balancer")
    node_port = int(port.get("nodePort") or 0)
    if svc_type == "ClusterIP" or not node_port:
        raise ConfigError(
            f"Service {namespace}/{service} is {svc_type}, so nothing outside the cluster reaches it",
            hint=f"annotate the Gateway: kubectl annotate gateway {name} {SERVICE_TYPE_ANNOTATION}=NodePort",
        )
    host = gateway_host_ip(
        cluster, namespace=namespace, selector=spec.get("selector") or {}, running_only=True
    )
    if not host:
        raise IstioTuiError(f"no running pod of {service} in {namespace} yet", hint="wait for it to start")
    # A LoadBalancer without an address still answers on its nodePort; istiod owns the Service, so the
    # fix is the Gateway annotation above, never a patch to the Service.
    return IngressInfo(service, namespace, svc_type, host, node_port, "node-port")
