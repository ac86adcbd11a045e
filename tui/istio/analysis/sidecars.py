"""Injection labels, injectors and the sidecars pods actually run.

Facts: with both ``istio-injection`` and ``istio.io/rev`` on a namespace, Istio's webhooks let
``istio-injection`` win and ignore the revision (so a canary move silently does nothing). A revision is
served when an injector or revision-tag webhook selects ``istio.io/rev`` with that value. Injection only
happens when a pod is created, so pods older than the label need a restart. A sidecar's revision is in the
``sidecar.istio.io/status`` annotation; its version is the ``istio-proxy`` image tag, which should match the
``discovery`` image of that revision's istiod.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from tui.istio.analysis.model import (
    Finding,
    Obj,
    Snapshot,
    annotations_of,
    finding,
    labels_of,
    meta,
    name_of,
    ns_of,
    spec_of,
)
from tui.istio.injection import INJECTION_LABEL, REV_LABEL, find_conflict, pod_wants_injection
from tui.istio.sidecar import SIDECAR_CONTAINER, has_sidecar, is_proxy_workload

BOTH_LABELS = "IT0301"
UNKNOWN_REVISION = "IT0302"
MISSING_SIDECAR = "IT0303"
PROXY_VERSION = "IT0304"
_STATUS_ANNOTATION = "sidecar.istio.io/status"
_WEBHOOK_NAMES = ("istio-sidecar-injector", "istio-revision-tag-")


def _injectors(snapshot: Snapshot) -> list[Obj]:
    return [w for w in snapshot.webhooks if name_of(w).startswith(_WEBHOOK_NAMES)]


def served_revisions(snapshot: Snapshot) -> set[str]:
    """Revisions (and revision tags) some injector webhook selects by ``istio.io/rev``."""
    served: set[str] = set()
    for config in _injectors(snapshot):
        labels = labels_of(config)
        served.update(v for k in (REV_LABEL, "istio.io/tag") if (v := labels.get(k)))
        for hook in config.get("webhooks") or ():
            for selector in (hook.get("namespaceSelector"), hook.get("objectSelector")):
                for expr in (selector or {}).get("matchExpressions") or ():
                    if expr.get("key") == REV_LABEL and expr.get("operator") == "In":
                        served.update(str(v) for v in expr.get("values") or ())
    return served


def check_labels(snapshot: Snapshot) -> Iterator[Finding]:
    served = served_revisions(snapshot)
    for ns in snapshot.namespaces:
        name, labels = name_of(ns), labels_of(ns)
        conflict = find_conflict(name, labels)
        if conflict is not None:
            yield finding(
                ns,
                code=BOTH_LABELS,
                level="error",
                message=f"has both {INJECTION_LABEL}={labels[INJECTION_LABEL]} and "
                f"{REV_LABEL}={labels[REV_LABEL]}; {INJECTION_LABEL} wins and the revision is ignored",
                fix=f"kubectl label namespace {name} {REV_LABEL}- (keep the default injector) or "
                f"kubectl label namespace {name} {INJECTION_LABEL}- (use revision {labels[REV_LABEL]})",
                path=("metadata", "labels", REV_LABEL),
                kind="Namespace",
            )
        elif (rev := labels.get(REV_LABEL)) and _injectors(snapshot) and rev not in served:
            known = ", ".join(sorted(served)) or "none"
            yield finding(
                ns,
                code=UNKNOWN_REVISION,
                level="error",
                message=f"asks for revision {rev}, which no injector serves (served: {known}); new pods get "
                "no sidecar",
                fix=f"install istiod with revision={rev} or a revision tag {rev}, or relabel the namespace "
                f"with a served revision: kubectl label namespace {name} {REV_LABEL}=<revision> --overwrite",
                path=("metadata", "labels", REV_LABEL),
                kind="Namespace",
            )


def _live(pod: Mapping[str, Any]) -> bool:
    return not meta(pod).get("deletionTimestamp") and (pod.get("status") or {}).get("phase") not in (
        "Succeeded",
        "Failed",
    )


def _workload(pod: Mapping[str, Any]) -> str:
    """``deployment/NAME`` from a ReplicaSet owner's name (minus its hash), else ``pod/NAME``."""
    for ref in meta(pod).get("ownerReferences") or ():
        if ref.get("kind") == "ReplicaSet":
            return f"deployment/{str(ref.get('name') or '').rpartition('-')[0]}"
        if ref.get("controller"):
            return f"{str(ref.get('kind') or '').lower()}/{ref.get('name')}"
    return f"pod/{name_of(pod)}"


def check_missing_sidecars(snapshot: Snapshot) -> Iterator[Finding]:
    if not _injectors(snapshot):
        return
    for pod in snapshot.pods:
        if not _live(pod) or spec_of(pod).get("hostNetwork") or has_sidecar(pod) or is_proxy_workload(pod):
            continue
        if not pod_wants_injection(snapshot.namespace_labels(ns_of(pod)), pod):
            continue
        yield finding(
            pod,
            code=MISSING_SIDECAR,
            level="warning",
            message="its namespace asks for injection but the pod has no sidecar: it started before the "
            "label (or while no injector ran) and is outside the mesh",
            fix=f"kubectl rollout restart {_workload(pod)} -n {ns_of(pod)}",
            path=("spec", "containers"),
            kind="Pod",
        )


def _tag(image: str) -> str:
    image = image.split("@", 1)[0]
    name, _, tag = image.rpartition(":")
    return tag if name and "/" not in tag else ""


def _control_planes(snapshot: Snapshot) -> dict[str, str]:
    """Revision → istiod version (its ``discovery`` image tag)."""
    planes: dict[str, str] = {}
    for pod in snapshot.pods:
        if labels_of(pod).get("app") != "istiod" or not _live(pod):
            continue
        for c in spec_of(pod).get("containers") or ():
            if c.get("name") == "discovery" and (tag := _tag(str(c.get("image") or ""))):
                planes[labels_of(pod).get(REV_LABEL) or "default"] = tag
    return planes


def _revision_of(pod: Mapping[str, Any]) -> str:
    try:
        status = json.loads(annotations_of(pod).get(_STATUS_ANNOTATION) or "{}")
    except ValueError:
        status = {}
    rev = status.get("revision") if isinstance(status, dict) else None
    return str(rev or annotations_of(pod).get(REV_LABEL) or "default")


def _proxy_image(pod: Mapping[str, Any]) -> tuple[int, str, str] | None:
    spec = spec_of(pod)
    for section in ("containers", "initContainers"):
        for i, c in enumerate(spec.get(section) or ()):
            if c.get("name") == SIDECAR_CONTAINER:
                return i, section, str(c.get("image") or "")
    return None


def check_proxy_versions(snapshot: Snapshot) -> Iterator[Finding]:
    planes = _control_planes(snapshot)
    if not planes:
        return
    for pod in snapshot.pods:
        found = _proxy_image(pod) if _live(pod) else None
        if found is None:
            continue
        index, section, image = found
        revision = _revision_of(pod)
        want, have = planes.get(revision), _tag(image)
        if not want or not have or want == have or "auto" in (want, have):
            continue
        yield finding(
            pod,
            code=PROXY_VERSION,
            level="warning",
            message=f"runs proxy {have}, but its control plane (revision {revision}) is istiod {want}",
            fix=f"kubectl rollout restart {_workload(pod)} -n {ns_of(pod)} to pick up the {want} proxy",
            path=("spec", section, index, "image"),
            kind="Pod",
        )
