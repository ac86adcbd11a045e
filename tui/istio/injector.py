"""Will the label have any effect? The injector webhook's selectors, checked before a label change.

A namespace label only brings sidecars when the cluster serves the admission API and an
``istio-sidecar-injector`` MutatingWebhookConfiguration selects a plain pod in a namespace with the new
labels (a revision that is not installed selects nothing). :func:`preflight_injection` does I/O: call it
from workers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tui import kube
from tui.istio.injection import MESH_LABELS, Labels
from tui.labels import selector_matches

if TYPE_CHECKING:
    from tui.kube import Cluster

INJECTOR_PREFIX = "istio-sidecar-injector"
ADMISSION_API = "admissionregistration.k8s.io/v1"


def _intercepts_pod_create(webhook: Mapping[str, Any]) -> bool:
    for rule in webhook.get("rules") or ():
        ops = rule.get("operations") or []
        resources = rule.get("resources") or []
        if ("CREATE" in ops or "*" in ops) and ("pods" in resources or "*" in resources):
            return True
    return not webhook.get("rules")


def _describe_selector(selector: Mapping[str, Any] | None) -> str:
    if not selector:
        return "every namespace"
    parts = [f"{k}={v}" for k, v in (selector.get("matchLabels") or {}).items()]
    for expr in selector.get("matchExpressions") or ():
        values = ",".join(expr.get("values") or [])
        op = expr.get("operator", "")
        parts.append(f"{expr.get('key')} {op} [{values}]" if values else f"{expr.get('key')} {op}")
    return ", ".join(parts)


# --- preflight


@dataclass(frozen=True)
class PreflightCheck:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Preflight:
    checks: tuple[PreflightCheck, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def reason(self) -> str:
        """Why injection will not happen: the first failed check, or empty when it will."""
        return next((c.detail for c in self.checks if not c.ok), "")


def check_webhooks(configs: Iterable[Mapping[str, Any]], labels_after: Labels) -> PreflightCheck:
    """Does any injector webhook select a plain pod in a namespace carrying ``labels_after``?"""
    injectors = [c for c in configs if (c.get("metadata") or {}).get("name", "").startswith(INJECTOR_PREFIX)]
    if not injectors:
        return PreflightCheck(
            "injector webhook",
            False,
            f"no {INJECTOR_PREFIX} MutatingWebhookConfiguration exists, so nothing injects sidecars: "
            "install Istio (istiod) first.",
        )
    wanted = []
    for cfg in injectors:
        for hook in cfg.get("webhooks") or ():
            if not _intercepts_pod_create(hook):
                continue
            if selector_matches(hook.get("namespaceSelector"), labels_after) and selector_matches(
                hook.get("objectSelector"), {}
            ):
                return PreflightCheck(
                    "namespace selector",
                    True,
                    f"webhook {hook.get('name')} in {cfg['metadata']['name']} selects this namespace",
                )
            wanted.append(f"{hook.get('name')}: {_describe_selector(hook.get('namespaceSelector'))}")
    mesh = {k: v for k, v in labels_after.items() if k in MESH_LABELS}
    shown = ", ".join(f"{k}={v}" for k, v in sorted(mesh.items())) or "no mesh labels"
    return PreflightCheck(
        "namespace selector",
        False,
        f"no injector webhook selects a namespace with {shown}"
        + (f" (they select: {'; '.join(wanted)})" if wanted else " (the injector has no pod webhooks)")
        + ". Is that revision installed?",
    )


def preflight_injection(cluster: Cluster, *, labels_after: Labels) -> Preflight:
    """The three conditions for the label to have any effect, checked against the live cluster."""
    if not cluster.has_api(ADMISSION_API):
        return Preflight(
            (
                PreflightCheck(
                    "admission API",
                    False,
                    f"the cluster does not serve {ADMISSION_API}, so no webhook can inject sidecars.",
                ),
            )
        )
    api = PreflightCheck("admission API", True, f"{ADMISSION_API} is served")
    configs = cluster.list(kube.MUTATING_WEBHOOKS).items
    return Preflight((api, check_webhooks(configs, labels_after)))
