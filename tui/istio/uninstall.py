"""Uninstall Istio and audit what is left: releases in reverse (addons first), then CRDs and namespace.

How the UI uses this module (from a thread worker: it runs helm and calls the API server)
--------------------------------------------------------------------------------------
* ``installed_releases(cluster)`` lists the Istio/addon helm releases present in istio-system, in uninstall
  order (addons first). Show it in the confirmation, together with ``CRD_WARNING`` when the user ticks
  "delete CRDs" and the context name.
* ``run_uninstall(cluster, kubeconfig=..., context=..., delete_crds=..., delete_namespace=..., on_event=...)``
  runs ``helm uninstall`` for those releases (events as in ``tui.istio.helm``), deletes the ``*.istio.io``
  CRDs and the istio-system namespace if asked (waiting until the namespace is gone), then returns the
  ``UninstallReport`` with the leftover audit.
* ``leftover_audit(cluster)`` alone lists what is still there (``LeftoverItem``): Istio webhooks,
  ``*.istio.io`` CRDs, namespaces still labelled ``istio-injection`` / ``istio.io/rev`` /
  ``istio.io/dataplane-mode``, Istio objects in any namespace, and istio-system itself. Empty means the
  cluster is clean.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tui import kube
from tui.errors import KubeError, NotFound
from tui.istio.helm import HelmRunner, StepEvent
from tui.istio.injection import MESH_LABELS
from tui.istio.plan import (
    ADDON_CHARTS,
    EGRESS_RELEASE,
    INGRESS_RELEASE,
    ISTIO_NAMESPACE,
    InstallPlan,
    Release,
)
from tui.models import LeftoverItem

if TYPE_CHECKING:
    from tui.kube import Cluster

CRD_WARNING = (
    "Deleting the Istio CRDs deletes every Istio object (Gateways, VirtualServices, DestinationRules, "
    "policies...) in every namespace of this cluster. This cannot be undone."
)
# Uninstall order: addons first, then gateways, the ambient node agents, istiod, base last.
UNINSTALL_ORDER = (
    *(ADDON_CHARTS[a].release for a in ("kiali", "jaeger", "grafana", "prometheus")),
    EGRESS_RELEASE,
    INGRESS_RELEASE,
    "ztunnel",
    "istio-cni",
    "istiod",
    "istio-base",
    "base",
)


@dataclass(frozen=True)
class UninstallReport:
    releases: tuple[str, ...]
    deleted_crds: tuple[str, ...]
    namespace_deleted: bool
    leftovers: tuple[LeftoverItem, ...]

    @property
    def clean(self) -> bool:
        return not self.leftovers


def installed_releases(cluster: Cluster, *, namespace: str = ISTIO_NAMESPACE) -> list[str]:
    """Istio/addon helm releases in ``namespace`` (a canary's ``istiod-R`` too), in uninstall order."""
    try:
        secrets = cluster.list(kube.SECRETS, namespace=namespace, label_selector="owner=helm").items
    except NotFound:
        return []
    present = {(s.get("metadata", {}).get("labels") or {}).get("name", "") for s in secrets}
    at = UNINSTALL_ORDER.index("istiod")
    revisions = sorted(name for name in present if name.startswith("istiod-"))  # canary control planes
    order = (*UNINSTALL_ORDER[:at], *revisions, *UNINSTALL_ORDER[at:])
    return [name for name in order if name in present]


def run_uninstall(
    cluster: Cluster,
    *,
    kubeconfig: str | None = None,
    context: str | None = None,
    delete_crds: bool = False,
    delete_namespace: bool = False,
    on_event: Callable[[StepEvent], None] | None = None,
    timeout_s: float = 60.0,
) -> UninstallReport:
    names = installed_releases(cluster)
    if names:
        releases = [Release(n, "", "", ISTIO_NAMESPACE, "", {}) for n in names]
        runner = HelmRunner(InstallPlan(), kubeconfig=kubeconfig, context=context, on_event=on_event)
        runner.uninstall(releases)
    deleted: list[str] = []
    if delete_crds:
        for crd in cluster.list(kube.CRDS).items:
            name = crd["metadata"]["name"]
            if name.endswith(".istio.io"):
                try:
                    cluster.delete(kube.CRDS, name)
                except NotFound:
                    continue
                deleted.append(name)
    gone = False
    if delete_namespace:
        with contextlib.suppress(NotFound):
            cluster.delete(kube.NAMESPACES, ISTIO_NAMESPACE)
        gone = _wait_gone(cluster, kube.NAMESPACES, ISTIO_NAMESPACE, timeout_s=timeout_s)
    return UninstallReport(tuple(names), tuple(deleted), gone, tuple(leftover_audit(cluster)))


def _wait_gone(cluster: Cluster, res: kube.Resource, name: str, *, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    pause = threading.Event()
    while True:
        try:
            cluster.get(res, name)
        except NotFound:
            return True
        if time.monotonic() >= deadline:
            return False
        pause.wait(0.2)


def leftover_audit(cluster: Cluster) -> list[LeftoverItem]:
    items: list[LeftoverItem] = []
    for res, kind in (
        (kube.MUTATING_WEBHOOKS, "MutatingWebhookConfiguration"),
        (kube.VALIDATING_WEBHOOKS, "ValidatingWebhookConfiguration"),
    ):
        for hook in cluster.list(res).items:
            name = hook["metadata"]["name"]
            if _is_istio_webhook(hook):
                items.append(LeftoverItem("webhook", name, kind))
    istio_crds = [c for c in cluster.list(kube.CRDS).items if c["metadata"]["name"].endswith(".istio.io")]
    for crd in istio_crds:
        items.append(LeftoverItem("crd", crd["metadata"]["name"], "CustomResourceDefinition"))
    for ns in cluster.list(kube.NAMESPACES).items:
        meta = ns["metadata"]
        labels = meta.get("labels") or {}
        found = [f"{k}={labels[k]}" for k in MESH_LABELS if k in labels]
        if found:
            items.append(LeftoverItem("namespace-label", meta["name"], ", ".join(found)))
        if meta["name"] == ISTIO_NAMESPACE:
            items.append(
                LeftoverItem("namespace", ISTIO_NAMESPACE, (ns.get("status") or {}).get("phase", ""))
            )
    for crd in istio_crds:
        items += _objects_of(cluster, crd)
    return items


def _is_istio_webhook(hook: dict[str, Any]) -> bool:
    meta = hook["metadata"]
    labels = meta.get("labels") or {}
    if meta["name"].startswith(("istio-", "istiod-")) or labels.get("app") in ("sidecar-injector", "istiod"):
        return True
    return any(str(h.get("name", "")).endswith(".istio.io") for h in hook.get("webhooks") or [])


def _objects_of(cluster: Cluster, crd: dict[str, Any]) -> list[LeftoverItem]:
    spec = crd.get("spec") or {}
    versions = [v for v in spec.get("versions") or [] if v.get("served", True)]
    if not versions:
        return []
    storage = next((v for v in versions if v.get("storage")), versions[0])
    names = spec.get("names") or {}
    res = kube.Resource(
        spec.get("group", ""),
        storage["name"],
        names.get("plural", ""),
        names.get("kind", ""),
        spec.get("scope", "Namespaced") == "Namespaced",
    )
    try:
        objs = cluster.list(res).items
    except KubeError:
        return []
    return [
        LeftoverItem("object", f"{o['metadata'].get('namespace', '')}/{o['metadata']['name']}", res.kind)
        for o in objs
    ]
