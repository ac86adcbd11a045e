"""Which pods must restart to match their namespace's injection mode, and how far a rollout restart has come.

A label change does nothing to running pods: only recreated pods gain or drop the sidecar. The pure
functions find the pods out of step and their Deployments, and measure a restart from the live pod list;
the functions taking a ``Cluster`` do I/O (blocking: call them from workers or a Stream).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tui import kube
from tui.errors import NotFound
from tui.istio.injection import Labels, is_live, out_of_step
from tui.istio.sidecar import has_sidecar
from tui.models import pod_status

if TYPE_CHECKING:
    from tui.kube import Cluster


@dataclass(frozen=True)
class PodRef:
    name: str
    has_sidecar: bool
    wants_sidecar: bool
    owner: str  # "Deployment/reviews-v1", "StatefulSet/db", "Pod" for a bare pod


@dataclass(frozen=True)
class RestartPlan:
    """The pods out of step with their namespace's injection mode, grouped by what can restart them."""

    namespace: str
    pods: tuple[PodRef, ...]
    deployments: tuple[str, ...]
    others: tuple[PodRef, ...] = field(default=())
    # The namespace labels the plan was read against: the restart's goal. A watch-fed copy can lag behind
    # the label change that prompted the restart, and the old pods would then look already done.
    labels: Labels = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.pods

    @property
    def trouble(self) -> str:
        """What is wrong with the pods, for "Pods that …" and "3 pods in shop …"."""
        lacking = any(p.wants_sidecar for p in self.pods)
        return "still lack a sidecar" if lacking else "still have a sidecar they should drop"


def _controller(obj: Mapping[str, Any]) -> tuple[str, str] | None:
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or ():
        if ref.get("controller"):
            return ref.get("kind", ""), ref.get("name", "")
    return None


def pod_owner(pod: Mapping[str, Any], replicasets: Mapping[str, Mapping[str, Any]]) -> str:
    """Follow Pod -> ReplicaSet -> Deployment through controller ownerReferences."""
    ctl = _controller(pod)
    if ctl is None:
        return "Pod"
    kind, name = ctl
    if kind == "ReplicaSet" and name in replicasets:
        rs_ctl = _controller(replicasets[name])
        if rs_ctl is not None:
            return f"{rs_ctl[0]}/{rs_ctl[1]}"
    return f"{kind}/{name}"


def plan_restart(
    namespace: str,
    namespace_labels: Labels | None,
    pods: Iterable[Mapping[str, Any]],
    replicasets: Iterable[Mapping[str, Any]],
) -> RestartPlan:
    """Pure: pods whose sidecar presence disagrees with what the namespace now asks, and their Deployments."""
    rs_by_name = {(r.get("metadata") or {}).get("name", ""): r for r in replicasets}
    out: list[PodRef] = []
    for pod in pods:
        if not is_live(pod):
            continue
        if not out_of_step(namespace_labels, pod):
            continue
        have = has_sidecar(pod)
        out.append(PodRef(pod["metadata"]["name"], have, not have, pod_owner(pod, rs_by_name)))
    out.sort(key=lambda p: p.name)
    deployments = sorted({p.owner.split("/", 1)[1] for p in out if p.owner.startswith("Deployment/")})
    others = tuple(p for p in out if not p.owner.startswith("Deployment/"))
    return RestartPlan(namespace, tuple(out), tuple(deployments), others, dict(namespace_labels or {}))


def find_restart_targets(cluster: Cluster, namespace: str) -> RestartPlan:
    ns = cluster.get(kube.NAMESPACES, namespace)
    labels = (ns.get("metadata") or {}).get("labels") or {}
    pods = cluster.list(kube.PODS, namespace=namespace).items
    replicasets = cluster.list(kube.REPLICASETS, namespace=namespace).items
    return plan_restart(namespace, labels, pods, replicasets)


def restart_deployments(cluster: Cluster, namespace: str, names: Iterable[str]) -> list[str]:
    """Rollout-restart each Deployment; returns those restarted. A Deployment deleted meanwhile is skipped."""
    done: list[str] = []
    for name in names:
        try:
            cluster.rollout_restart(name, namespace=namespace)
        except NotFound:
            continue
        done.append(name)
    return done


@dataclass(frozen=True)
class PodStep:
    """One pod of a restart as the progress panel lists it: ``2/2 Running ✓ istio-proxy``."""

    name: str
    phase: str
    ready: int
    containers: int
    sidecar: bool
    done: bool
    terminating: bool = False


@dataclass(frozen=True)
class RestartProgress:
    """How far a rollout restart has come, computed from the live pod list."""

    done: int
    total: int
    pending: tuple[str, ...]
    pods: tuple[PodStep, ...] = ()

    @property
    def finished(self) -> bool:
        return self.total > 0 and self.done == self.total and not self.pending


def restart_progress(
    namespace_labels: Labels | None,
    pods: Iterable[Mapping[str, Any]],
    replicasets: Mapping[str, Mapping[str, Any]],
    deployments: Iterable[str],
) -> RestartProgress:
    """Pods of ``deployments`` that are Running, fully ready and have the sidecar iff the namespace asks.

    Old pods still terminating count as pending, so the restart is finished only when nothing stale remains.
    """
    targets = {f"Deployment/{d}" for d in deployments}
    steps: list[PodStep] = []
    for pod in pods:
        if pod_owner(pod, replicasets) not in targets:
            continue
        meta = pod.get("metadata") or {}
        phase = str((pod.get("status") or {}).get("phase") or "Pending")
        _, ready, count, _ = pod_status(pod)
        sidecar = has_sidecar(pod)
        if meta.get("deletionTimestamp"):
            steps.append(PodStep(meta.get("name", ""), "Terminating", ready, count, sidecar, False, True))
            continue
        if not is_live(pod):
            continue
        done = phase == "Running" and ready == count and count > 0 and not out_of_step(namespace_labels, pod)
        steps.append(PodStep(meta.get("name", ""), phase, ready, count, sidecar, done))
    steps.sort(key=lambda p: (p.done, p.terminating, p.name))
    live = [p for p in steps if not p.terminating]
    return RestartProgress(
        done=sum(p.done for p in live),
        total=len(live),
        pending=tuple(sorted(p.name for p in steps if not p.done)),
        pods=tuple(steps),
    )
