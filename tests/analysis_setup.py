"""Setup shared by the analysis tests: the CRDs the checks read and an injector webhook like istiod's."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

from tui.kube import Cluster

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
_CRDS = {
    "gateways.networking.istio.io",
    "virtualservices.networking.istio.io",
    "destinationrules.networking.istio.io",
    "serviceentries.networking.istio.io",
    "authorizationpolicies.security.istio.io",
    "gateways.gateway.networking.k8s.io",
    "httproutes.gateway.networking.k8s.io",
}


@functools.cache
def _crds(path: Path) -> list[dict[str, Any]]:
    """Only the CRDs the checks read, parsed once (the files take seconds to parse)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return [d for d in yaml.load_all(path.read_text(), Loader=loader) if d and d["metadata"]["name"] in _CRDS]


def apply_crds(cluster: Cluster) -> None:
    cluster.apply(_crds(DATA / "istio-crds.gen.yaml") + _crds(DATA / "gateway-api-v1.6.1-standard-crds.yaml"))


def injector() -> dict[str, Any]:
    """istiod's default-revision injector: ``istio-injection=enabled``, or ``istio.io/rev=default``."""
    legacy = [{"key": "istio-injection", "operator": "In", "values": ["enabled"]}]
    revision = [
        {"key": "istio.io/rev", "operator": "In", "values": ["default"]},
        {"key": "istio-injection", "operator": "DoesNotExist"},
    ]
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": "istio-sidecar-injector", "labels": {"istio.io/rev": "default"}},
        "webhooks": [
            _hook("namespace.sidecar-injector.istio.io", legacy),
            _hook("rev.namespace.sidecar-injector.istio.io", revision),
        ],
    }


def _hook(name: str, expressions: list[dict[str, Any]]) -> dict[str, Any]:
    rules = [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}]
    return {
        "name": name,
        "admissionReviewVersions": ["v1"],
        "sideEffects": "None",
        "clientConfig": {"service": {"name": "istiod", "namespace": "istio-system"}},
        "rules": rules,
        "namespaceSelector": {"matchExpressions": expressions},
    }
