"""Kubernetes Ingress as Istio's ingress gateway serves it, for the sandbox data plane.

Istio's rule (``meshConfig.ingressControllerMode: STRICT``, the default): an Ingress is Istio's when its
``kubernetes.io/ingress.class`` annotation is ``istio``, or, without that annotation, when its
``ingressClassName`` names an IngressClass whose ``spec.controller`` is ``istio.io/ingress-controller``.
An ``ingressClassName: istio`` with no such IngressClass object is ignored, as on a real cluster. Istio's
ingress gateway (pods labelled ``istio: ingressgateway``) serves the rules on its http port, next to the
Gateway/VirtualService routes; a rule for the request's exact host wins over a wildcard, and within a host
the longest path wins (Exact before Prefix on a tie).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from tui.sandbox.store import Obj, Store

INGRESSES: Final = "ingresses.networking.k8s.io"
INGRESS_CLASSES: Final = "ingressclasses.networking.k8s.io"
ISTIO_CONTROLLER: Final = "istio.io/ingress-controller"
CLASS_ANNOTATION: Final = "kubernetes.io/ingress.class"
ISTIO_CLASS: Final = "istio"
ADDON_LABEL: Final = "istio-tui/addon"


@dataclass(frozen=True, slots=True)
class IngressRoute:
    """One Ingress path: where it points and what to call the backend on the page."""

    host: str  # "" matches any host
    path: str
    exact: bool
    namespace: str
    service: str
    port: int | str
    name: str  # the addon label, else the Ingress name

    def matches(self, path: str) -> bool:
        if self.exact:
            return path == self.path
        prefix = self.path.rstrip("/")
        return not prefix or path == prefix or path.startswith(prefix + "/")


def is_istio_ingress(ingress: Obj, classes: dict[str, str]) -> bool:
    """``classes`` maps IngressClass name → controller."""
    annotation = ((ingress.get("metadata") or {}).get("annotations") or {}).get(CLASS_ANNOTATION)
    if annotation is not None:
        return bool(annotation == ISTIO_CLASS)
    class_name = (ingress.get("spec") or {}).get("ingressClassName")
    return bool(class_name) and classes.get(str(class_name)) == ISTIO_CONTROLLER


def istio_routes(store: Store) -> list[IngressRoute]:
    """Every path of every Istio Ingress, most specific first (exact hosts, then longer paths)."""
    classes = {
        str((c.get("metadata") or {}).get("name")): str((c.get("spec") or {}).get("controller"))
        for c in store.list(INGRESS_CLASSES)[0]
    }
    routes = []
    for ing in store.list(INGRESSES)[0]:
        if not is_istio_ingress(ing, classes):
            continue
        meta = ing.get("metadata") or {}
        name = str((meta.get("labels") or {}).get(ADDON_LABEL) or meta.get("name"))
        namespace = str(meta.get("namespace") or "")
        for rule in (ing.get("spec") or {}).get("rules") or []:
            for p in ((rule.get("http") or {}).get("paths")) or []:
                svc = (p.get("backend") or {}).get("service") or {}
                port = svc.get("port") or {}
                if not svc.get("name"):
                    continue
                routes.append(
                    IngressRoute(
                        host=str(rule.get("host") or ""),
                        path=str(p.get("path") or "/"),
                        exact=p.get("pathType") == "Exact",
                        namespace=namespace,
                        service=str(svc["name"]),
                        port=port.get("number") or str(port.get("name") or ""),
                        name=name,
                    )
                )
    routes.sort(key=lambda r: (r.host == "", -len(r.path.rstrip("/")), not r.exact))
    return routes


def pick(routes: list[IngressRoute], host: str, path: str, *, exact_host: bool) -> IngressRoute | None:
    """The route for a request; ``exact_host`` limits the search to rules naming ``host`` itself."""
    for route in routes:
        host_ok = route.host == host or (not exact_host and route.host in ("", "*"))
        if host_ok and route.matches(path):
            return route
    return None
