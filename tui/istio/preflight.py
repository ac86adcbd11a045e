"""Preflight checks before installing Istio: each check is a pass/warn/fail ``CheckLine`` with reason and fix.

How the UI uses this module (from a thread worker: the checks call the API server and run ``helm version``)
---------------------------------------------------------------------------------------------------------
``run_preflight(cluster, istio_version=..., ingress_type=...)`` returns the lines in display order:

====================  =======================================================================================
key                   what it checks
====================  =======================================================================================
``context``           the kubeconfig context answers, and its Kubernetes version is in the range the chosen
                      Istio release supports (``K8S_SUPPORT``; unknown releases warn)
``admission-api``     ``admissionregistration.k8s.io/v1`` is served (sidecar injection and validation need it)
``permissions``       SelfSubjectAccessReview: create CRDs, cluster roles, mutating and validating webhooks
``existing-istio``    helm release Secrets (``owner=helm``) of the Istio charts, or an istiod Deployment, with
                      the installed version; an install then upgrades in place (warn)
``load-balancer``     some LoadBalancer Service has an address; else warn and recommend NodePort
``gateway-api``       the Gateway API CRDs and their bundle version; missing warns (the wizard offers to
                      install the pinned standard channel, see ``tui.istio.gatewayapi``)
``helm``              helm 3 on PATH, with its version; missing is a fail whose fix says how to install it
====================  =======================================================================================

A cluster that does not answer turns the context line into a fail and the cluster checks into
"skipped" warnings, so the list always has the same rows. A failing line (``not line.ok``) blocks installing;
the wizard may still show and save the plan then.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from tui import kube
from tui.errors import Forbidden, IstioTuiError, KubeError
from tui.istio.gatewayapi import BUNDLE_VERSION, crd_state
from tui.istio.helm import find_helm
from tui.istio.plan import DEFAULT_ISTIO_VERSION
from tui.models import CheckLine

if TYPE_CHECKING:
    from tui.kube import Cluster

# Istio minor -> (oldest, newest) supported Kubernetes minor, from istio.io's supported-releases table.
K8S_SUPPORT: dict[int, tuple[int, int]] = {
    26: (29, 33),
    27: (29, 33),
    28: (30, 34),
    29: (31, 35),
    30: (32, 36),
}
SUPPORT_URL = "https://istio.io/latest/docs/releases/supported-releases/"
ISTIO_RELEASES = ("istio-base", "base", "istiod", "istio-cni", "ztunnel", "istio-ingressgateway")
PERMISSIONS = (
    ("customresourcedefinitions", "apiextensions.k8s.io"),
    ("clusterroles", "rbac.authorization.k8s.io"),
    ("mutatingwebhookconfigurations", "admissionregistration.k8s.io"),
    ("validatingwebhookconfigurations", "admissionregistration.k8s.io"),
)


def run_preflight(
    cluster: Cluster,
    *,
    istio_version: str = DEFAULT_ISTIO_VERSION,
    ingress_type: str | None = None,
    helm_path: str | None = None,
) -> list[CheckLine]:
    """All checks, in display order; ``ingress_type`` None means "not chosen yet" (the LB check advises)."""
    lines = [check_context(cluster, istio_version=istio_version)]
    if not lines[0].ok:
        skipped = "skipped: the cluster did not answer"
        for key, title in (
            ("admission-api", "Admission webhooks API"),
            ("permissions", "Permissions"),
            ("existing-istio", "Existing Istio"),
            ("load-balancer", "LoadBalancer provider"),
            ("gateway-api", "Gateway API CRDs"),
        ):
            lines.append(CheckLine(key, title, "warn", skipped, "fix the context check first"))
    else:
        lines += [
            check_admission_api(cluster),
            check_permissions(cluster),
            check_existing_istio(cluster, istio_version=istio_version),
            check_load_balancer(cluster, ingress_type=ingress_type),
            check_gateway_api(cluster),
        ]
    lines.append(check_helm(path=helm_path))
    return lines


def supported_range(istio_version: str) -> tuple[int, int] | None:
    match = re.match(r"^1\.(\d+)\.", istio_version)
    return K8S_SUPPORT.get(int(match.group(1))) if match else None


def check_context(cluster: Cluster, *, istio_version: str) -> CheckLine:
    title = "Kubernetes context and version"
    try:
        info = cluster.info()
    except IstioTuiError as err:
        return CheckLine(
            "context",
            title,
            "fail",
            f"context '{cluster.context}' ({cluster.server}) did not answer: {err}",
            "check --kubeconfig/--context, the VPN or the cluster, then run preflight again",
        )
    where = f"context '{info.context}' at {info.server}: Kubernetes {info.git_version or f'1.{info.minor}'}"
    span = supported_range(istio_version)
    if span is None:
        return CheckLine(
            "context",
            title,
            "warn",
            f"{where}; no supported-version data for Istio {istio_version} here",
            f"check {SUPPORT_URL}",
        )
    low, high = span
    if info.major == 1 and low <= info.minor <= high:
        return CheckLine(
            "context", title, "pass", f"{where}, within Istio {istio_version}'s 1.{low}-1.{high}"
        )
    if info.major == 1 and info.minor < low:
        return CheckLine(
            "context",
            title,
            "fail",
            f"{where} is older than Istio {istio_version} supports (1.{low}-1.{high})",
            f"upgrade the cluster, or choose an older Istio release (see {SUPPORT_URL})",
        )
    return CheckLine(
        "context",
        title,
        "warn",
        f"{where} is newer than Istio {istio_version} was tested on (1.{low}-1.{high})",
        f"choose a newer Istio release if there is one (see {SUPPORT_URL})",
    )


def check_admission_api(cluster: Cluster) -> CheckLine:
    title = "Admission webhooks API"
    try:
        present = cluster.has_api("admissionregistration.k8s.io/v1")
    except KubeError as err:
        return CheckLine("admission-api", title, "warn", f"discovery failed: {err}", "run preflight again")
    if present:
        return CheckLine("admission-api", title, "pass", "admissionregistration.k8s.io/v1 is served")
    return CheckLine(
        "admission-api",
        title,
        "fail",
        "admissionregistration.k8s.io/v1 is not served: sidecar injection and config validation cannot work",
        "use Kubernetes 1.16 or newer with the admission webhook API enabled",
    )


def check_permissions(cluster: Cluster) -> CheckLine:
    title = "Permissions (SelfSubjectAccessReview)"
    denied: list[str] = []
    try:
        for resource, group in PERMISSIONS:
            if not cluster.can_i(verb="create", resource=resource, group=group):
                denied.append(resource)
    except KubeError as err:
        return CheckLine(
            "permissions", title, "warn", f"could not ask the API server: {err}", "run preflight again"
        )
    if denied:
        return CheckLine(
            "permissions",
            title,
            "fail",
            f"not allowed to create {', '.join(denied)}",
            "use a cluster-admin context (Istio installs cluster-wide objects)",
        )
    return CheckLine("permissions", title, "pass", "may create CRDs, cluster roles and admission webhooks")


def _image_version(image: str) -> str:
    tag = image.rsplit(":", 1)[-1] if ":" in image.rsplit("/", 1)[-1] else ""
    return tag.split("-", 1)[0] if tag else ""


def check_existing_istio(cluster: Cluster, *, istio_version: str = DEFAULT_ISTIO_VERSION) -> CheckLine:
    """Helm releases of the Istio charts (their storage Secrets) or an istiod Deployment, with the version."""
    title = "Existing Istio"
    found: list[str] = []
    version = ""
    try:
        secrets = cluster.list(kube.SECRETS, label_selector="owner=helm").items
        releases: dict[tuple[str, str], int] = {}
        for secret in secrets:
            labels = secret.get("metadata", {}).get("labels") or {}
            name = labels.get("name", "")
            if name in ISTIO_RELEASES:
                ns = secret["metadata"].get("namespace", "")
                revision = int(labels.get("version") or 0)
                releases[(ns, name)] = max(revision, releases.get((ns, name), 0))
        found += [
            f"helm release {name} (revision {rev}) in {ns}" for (ns, name), rev in sorted(releases.items())
        ]
        deployments = cluster.list(kube.DEPLOYMENTS, label_selector="app=istiod").items
        for dep in deployments:
            meta = dep.get("metadata", {})
            containers = dep.get("spec", {}).get("template", {}).get("spec", {}).get("containers") or []
            image = containers[0].get("image", "") if containers else ""
            version = (
                version
                or _image_version(image)
                or (meta.get("labels") or {}).get("app.kubernetes.io/version", "")
            )
            found.append(f"Deployment {meta.get('namespace')}/{meta.get('name')} ({image or 'no image'})")
    except Forbidden as err:
        return CheckLine(
            "existing-istio",
            title,
            "warn",
            f"cannot look for an existing Istio: {err}",
            "use a context that may list secrets and deployments in all namespaces",
        )
    except KubeError as err:
        return CheckLine("existing-istio", title, "warn", f"lookup failed: {err}", "run preflight again")
    if not found:
        return CheckLine("existing-istio", title, "pass", "no Istio found; this is a fresh install")
    shown = f"Istio {version} found" if version else "Istio found"
    fix = "installing again upgrades it in place (helm upgrade --install)"
    if version and version != istio_version:
        fix = f"installing moves the control plane from {version} to {istio_version}; read the upgrade notes"
    return CheckLine("existing-istio", title, "warn", f"{shown}: {'; '.join(found)}", fix)


def check_load_balancer(cluster: Cluster, *, ingress_type: str | None = None) -> CheckLine:
    """Heuristic: a LoadBalancer provider exists when some LoadBalancer Service already has an address."""
    title = "LoadBalancer provider"
    if ingress_type in ("NodePort", "ClusterIP"):
        return CheckLine(
            "load-balancer", title, "pass", f"not needed: the ingress gateway will be {ingress_type}"
        )
    try:
        services = cluster.list(kube.SERVICES).items
    except KubeError as err:
        return CheckLine(
            "load-balancer", title, "warn", f"cannot list services: {err}", "choose NodePort to be safe"
        )
    with_address = []
    pending = []
    for svc in services:
        if svc.get("spec", {}).get("type") != "LoadBalancer":
            continue
        meta = svc.get("metadata", {})
        name = f"{meta.get('namespace')}/{meta.get('name')}"
        if (svc.get("status", {}).get("loadBalancer") or {}).get("ingress"):
            with_address.append(name)
        else:
            pending.append(name)
    if with_address:
        return CheckLine(
            "load-balancer",
            title,
            "pass",
            f"LoadBalancer Services get addresses here (e.g. {with_address[0]})",
        )
    reason = "no LoadBalancer Service has an external address"
    if pending:
        reason += f" ({len(pending)} pending, e.g. {pending[0]})"
    return CheckLine(
        "load-balancer",
        title,
        "warn",
        reason + ": a LoadBalancer gateway would stay <pending>",
        "choose ingress type NodePort (or install a load-balancer provider such as MetalLB)",
    )


def check_gateway_api(cluster: Cluster) -> CheckLine:
    title = "Gateway API CRDs"
    try:
        found = crd_state(cluster)
    except KubeError as err:
        return CheckLine("gateway-api", title, "warn", f"lookup failed: {err}", "run preflight again")
    if found.installed and found.bundle_version == BUNDLE_VERSION:
        return CheckLine("gateway-api", title, "pass", found.summary)
    if found.installed:
        return CheckLine("gateway-api", title, "pass", f"{found.summary} (istio-tui pins {BUNDLE_VERSION})")
    return CheckLine(
        "gateway-api",
        title,
        "warn",
        found.summary + ": Bookinfo can still use Istio's own APIs",
        f"press G to install the {BUNDLE_VERSION} standard channel (kubectl apply --server-side)",
    )


def check_helm(*, path: str | None = None) -> CheckLine:
    title = "helm"
    try:
        info = find_helm(path=path)
    except IstioTuiError as err:
        return CheckLine("helm", title, "fail", err.message, err.hint)
    return CheckLine("helm", title, "pass", f"helm {info.version} at {info.path}")
