"""Deprecated Istio API versions and unknown or deprecated ``*.istio.io`` annotations.

Facts: Istio serves ``v1`` of its networking and security kinds since 1.22; ``v1alpha3`` and ``v1beta1`` are
deprecated aliases. The version a user wrote survives in the object's ``apiVersion`` (as this server returns
it), in ``kubectl.kubernetes.io/last-applied-configuration`` and in ``managedFields``. Annotations follow
istio/api's annotation list (istio.io/api ``annotation`` package, 1.2x); a misspelt one is silently ignored.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from tui.istio.analysis.model import Finding, Obj, Snapshot, annotations_of, finding, meta

DEPRECATED_API = "IT0501"
UNKNOWN_ANNOTATION = "IT0502"
DEPRECATED_ANNOTATION = "IT0503"

_DEPRECATED_VERSIONS = {
    "networking.istio.io/v1alpha3": "networking.istio.io/v1",
    "networking.istio.io/v1beta1": "networking.istio.io/v1",
    "security.istio.io/v1beta1": "security.istio.io/v1",
}
_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

KNOWN_ANNOTATIONS = frozenset(
    {
        "ambient.istio.io/bypass-inbound-capture",
        "ambient.istio.io/dns-capture",
        "ambient.istio.io/redirection",
        "galley.istio.io/analyze-suppress",
        "gateway.istio.io/controller-version",
        "gateway.istio.io/service-account",
        "gateway.istio.io/name-override",
        "inject.istio.io/templates",
        "install.operator.istio.io/chart-owner",
        "install.operator.istio.io/owner-generation",
        "install.operator.istio.io/version",
        "istio.io/dry-run",
        "istio.io/rev",
        "networking.istio.io/address-type",
        "networking.istio.io/exportTo",
        "networking.istio.io/service-type",
        "networking.istio.io/traffic-distribution",
        "prometheus.istio.io/merge-metrics",
        "proxy.istio.io/config",
        "proxy.istio.io/overrides",
        "readiness.status.sidecar.istio.io/applicationPorts",
        "readiness.status.sidecar.istio.io/failureThreshold",
        "readiness.status.sidecar.istio.io/initialDelaySeconds",
        "readiness.status.sidecar.istio.io/periodSeconds",
        "sidecar.istio.io/agentLogLevel",
        "sidecar.istio.io/bootstrapOverride",
        "sidecar.istio.io/componentLogLevel",
        "sidecar.istio.io/discoveryAddress",
        "sidecar.istio.io/enableCoreDump",
        "sidecar.istio.io/extraStatTags",
        "sidecar.istio.io/inject",
        "sidecar.istio.io/interceptionMode",
        "sidecar.istio.io/logLevel",
        "sidecar.istio.io/nativeSidecar",
        "sidecar.istio.io/proxyCPU",
        "sidecar.istio.io/proxyCPULimit",
        "sidecar.istio.io/proxyImage",
        "sidecar.istio.io/proxyImageType",
        "sidecar.istio.io/proxyMemory",
        "sidecar.istio.io/proxyMemoryLimit",
        "sidecar.istio.io/rewriteAppHTTPProbers",
        "sidecar.istio.io/statsHistogramBuckets",
        "sidecar.istio.io/statsInclusionPrefixes",
        "sidecar.istio.io/statsInclusionRegexps",
        "sidecar.istio.io/statsInclusionSuffixes",
        "sidecar.istio.io/status",
        "sidecar.istio.io/userVolume",
        "sidecar.istio.io/userVolumeMount",
        "status.sidecar.istio.io/port",
        "topology.istio.io/controlPlaneClusters",
        "traffic.sidecar.istio.io/excludeInboundPorts",
        "traffic.sidecar.istio.io/excludeInterfaces",
        "traffic.sidecar.istio.io/excludeOutboundIPRanges",
        "traffic.sidecar.istio.io/excludeOutboundPorts",
        "traffic.sidecar.istio.io/includeInboundPorts",
        "traffic.sidecar.istio.io/includeOutboundIPRanges",
        "traffic.sidecar.istio.io/includeOutboundPorts",
        "traffic.sidecar.istio.io/kubevirtInterfaces",
    }
)
# Deprecated in istio/api (the alpha.* identities) or gone with Mixer (policy.istio.io, removed in 1.8).
DEPRECATED_ANNOTATIONS = {
    "alpha.istio.io/canonical-serviceaccounts": "remove it; Istio ignores it",
    "alpha.istio.io/identity": "remove it; Istio ignores it",
    "alpha.istio.io/kubernetes-serviceaccounts": "remove it; Istio ignores it",
    "policy.istio.io/check": "remove it; Mixer is gone",
    "policy.istio.io/checkRetries": "remove it; Mixer is gone",
    "policy.istio.io/checkBaseRetryWaitTime": "remove it; Mixer is gone",
    "policy.istio.io/checkMaxRetryWaitTime": "remove it; Mixer is gone",
    "policy.istio.io/lang": "remove it; Mixer is gone",
}


def _written_versions(obj: Mapping[str, Any]) -> Iterator[str]:
    yield str(obj.get("apiVersion") or "")
    try:
        applied = json.loads(annotations_of(obj).get(_LAST_APPLIED) or "{}")
    except ValueError:
        applied = {}
    if isinstance(applied, dict):
        yield str(applied.get("apiVersion") or "")
    for entry in meta(obj).get("managedFields") or ():
        yield str(entry.get("apiVersion") or "")


def _istio_objects(snapshot: Snapshot) -> Iterator[Obj]:
    yield from snapshot.gateways
    yield from snapshot.virtual_services
    yield from snapshot.destination_rules
    yield from snapshot.service_entries
    yield from snapshot.authorization_policies


def check_api_versions(snapshot: Snapshot) -> Iterator[Finding]:
    for obj in _istio_objects(snapshot):
        old = next((v for v in _written_versions(obj) if v in _DEPRECATED_VERSIONS), None)
        if old is None:
            continue
        yield finding(
            obj,
            code=DEPRECATED_API,
            level="warning",
            message=f"written as {old}, a deprecated API version",
            fix=f"change apiVersion to {_DEPRECATED_VERSIONS[old]} in the manifest and apply it again",
            path=("apiVersion",),
        )


def _is_istio(key: str) -> bool:
    domain = key.partition("/")[0] if "/" in key else ""
    return domain == "istio.io" or domain.endswith(".istio.io")


def check_annotations(snapshot: Snapshot) -> Iterator[Finding]:
    for obj in [*snapshot.namespaces, *snapshot.pods, *snapshot.services, *_istio_objects(snapshot)]:
        for key in annotations_of(obj):
            if not _is_istio(key) or key in KNOWN_ANNOTATIONS:
                continue
            path = ("metadata", "annotations", key)
            if key in DEPRECATED_ANNOTATIONS:
                yield finding(
                    obj,
                    code=DEPRECATED_ANNOTATION,
                    level="warning",
                    message=f"annotation {key} is deprecated",
                    fix=DEPRECATED_ANNOTATIONS[key],
                    path=path,
                )
                continue
            yield finding(
                obj,
                code=UNKNOWN_ANNOTATION,
                level="warning",
                message=f"annotation {key} is not one Istio knows; it has no effect",
                fix="check the spelling against Istio's resource annotations reference, or remove it",
                path=path,
            )
