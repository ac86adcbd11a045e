"""What a pod's spec says about its Envoy proxy: the sidecar facts every other module asks about.

The namespace view, the restart flow, the pod table, Bookinfo's status and the sandbox's data plane all need
to know whether a pod carries ``istio-proxy`` and whether that proxy is a sidecar at all: a gateway pod runs
``istio-proxy`` as its own workload, so it neither lacks nor should drop a sidecar. Pure functions over the
API's plain dicts; no imports from the rest of the package, so the sandbox can use them too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SIDECAR_CONTAINER = "istio-proxy"
INJECT_OVERRIDE = "sidecar.istio.io/inject"
# The injector template a gateway pod asks for (Istio's gateway chart sets it).
TEMPLATES_ANNOTATION = "inject.istio.io/templates"


def _named_proxy(containers: Any, *, native: bool) -> bool:
    return any(
        c.get("name") == SIDECAR_CONTAINER and (not native or c.get("restartPolicy") == "Always")
        for c in containers or ()
    )


def has_sidecar(pod: Mapping[str, Any]) -> bool:
    """Both forms count: a classic container, or a native sidecar (restartable init container, 1.33+)."""
    spec = pod.get("spec") or {}
    return _named_proxy(spec.get("containers"), native=False) or _named_proxy(
        spec.get("initContainers"), native=True
    )


def override_of(labels: Mapping[str, str] | None, annotations: Mapping[str, str] | None) -> str | None:
    """The ``sidecar.istio.io/inject`` label, else the older annotation; None when neither is set."""
    return (labels or {}).get(INJECT_OVERRIDE, (annotations or {}).get(INJECT_OVERRIDE))


def inject_override(pod: Mapping[str, Any]) -> str | None:
    meta = pod.get("metadata") or {}
    return override_of(meta.get("labels"), meta.get("annotations"))


def is_proxy_workload(pod: Mapping[str, Any]) -> bool:
    """A gateway: ``istio-proxy`` is the pod's main container, not a sidecar next to an application.

    That is the case when the pod opts out of injection yet runs ``istio-proxy`` (our charts, istioctl's
    classic gateways), asks for the injector's gateway template (Istio's gateway chart), or runs nothing else.
    Such a pod never needs a restart to gain or drop a sidecar.
    """
    spec = pod.get("spec") or {}
    containers = spec.get("containers") or ()
    if not _named_proxy(containers, native=False):
        return False
    templates = str(((pod.get("metadata") or {}).get("annotations") or {}).get(TEMPLATES_ANNOTATION) or "")
    return (
        inject_override(pod) == "false"
        or "gateway" in templates.split(",")
        or all(c.get("name") == SIDECAR_CONTAINER for c in containers)
    )
