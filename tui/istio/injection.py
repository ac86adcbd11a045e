"""Sidecar-injection rules: what a namespace's labels ask for, whether a pod wants a sidecar, and the label
plans that change a namespace's mode.

Istio decides injection in two places: the MutatingWebhookConfiguration's selectors choose which pods
reach the injector at all (see :mod:`tui.istio.injector`), and the injector honours the pod's
``sidecar.istio.io/inject`` opt-out. The pure functions here mirror the second and the labels, so the UI can
say *before* a change what it means, and :mod:`tui.istio.restarts` which pods must be restarted after it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from tui.istio.ambient import AMBIENT, DATAPLANE_LABEL
from tui.istio.sidecar import has_sidecar, inject_override, is_proxy_workload, override_of

INJECTION_LABEL = "istio-injection"
REV_LABEL = "istio.io/rev"
# The injector itself refuses these namespaces whatever their labels say.
IGNORED_NAMESPACES = frozenset({"kube-system", "kube-public"})
MESH_LABELS = (INJECTION_LABEL, REV_LABEL, DATAPLANE_LABEL)

Labels = Mapping[str, str]


class ModeKind(StrEnum):
    ENABLED = "enabled"
    DISABLED = "disabled"
    REVISION = "revision"
    AMBIENT = "ambient"
    NONE = "none"


@dataclass(frozen=True)
class InjectionMode:
    """What a namespace asks of the mesh, as its labels say."""

    kind: ModeKind
    revision: str = ""

    @classmethod
    def enabled(cls) -> InjectionMode:
        return cls(ModeKind.ENABLED)

    @classmethod
    def disabled(cls) -> InjectionMode:
        return cls(ModeKind.DISABLED)

    @classmethod
    def for_revision(cls, revision: str) -> InjectionMode:
        return cls(ModeKind.REVISION, revision)

    @classmethod
    def ambient(cls) -> InjectionMode:
        return cls(ModeKind.AMBIENT)

    @classmethod
    def none(cls) -> InjectionMode:
        return cls(ModeKind.NONE)

    @property
    def injects_sidecars(self) -> bool:
        return self.kind in (ModeKind.ENABLED, ModeKind.REVISION)

    @property
    def in_mesh(self) -> bool:
        """New pods join the mesh: with a sidecar, or captured by ztunnel."""
        return self.injects_sidecars or self.kind is ModeKind.AMBIENT

    @property
    def label(self) -> str:
        """The text the namespace view shows: the label that produces this mode."""
        return {
            ModeKind.ENABLED: f"{INJECTION_LABEL}=enabled",
            ModeKind.DISABLED: f"{INJECTION_LABEL}=disabled",
            ModeKind.REVISION: f"{REV_LABEL}={self.revision}",
            ModeKind.AMBIENT: "ambient",
            ModeKind.NONE: "none",
        }[self.kind]

    def target_labels(self) -> dict[str, str | None]:
        """The mesh labels a namespace in this mode carries; ``None`` means the label must be absent."""
        labels: dict[str, str | None] = dict.fromkeys(MESH_LABELS)
        if self.kind is ModeKind.ENABLED:
            labels[INJECTION_LABEL] = "enabled"
        elif self.kind is ModeKind.DISABLED:
            labels[INJECTION_LABEL] = "disabled"
        elif self.kind is ModeKind.REVISION:
            labels[REV_LABEL] = self.revision
        elif self.kind is ModeKind.AMBIENT:
            labels[DATAPLANE_LABEL] = AMBIENT
        return labels


def namespace_mode(labels: Labels | None) -> InjectionMode:
    """``istio-injection`` wins over ``istio.io/rev`` because Istio's webhooks give it precedence."""
    labels = labels or {}
    value = labels.get(INJECTION_LABEL)
    if value == "enabled":
        return InjectionMode.enabled()
    if value is not None:
        # The webhooks only select "enabled"; any other value keeps the namespace out of injection.
        return InjectionMode.disabled()
    if labels.get(REV_LABEL):
        return InjectionMode.for_revision(labels[REV_LABEL])
    if labels.get(DATAPLANE_LABEL) == AMBIENT:
        return InjectionMode.ambient()
    return InjectionMode.none()


def wants_injection(
    namespace_labels: Labels | None, pod_labels: Labels | None, pod_annotations: Labels | None = None
) -> bool:
    """Whether a pod created now would get a sidecar, assuming a working injector.

    The pod's ``sidecar.istio.io/inject`` label (or the older annotation) can opt out of a namespace that asks
    for injection, or opt in where the namespace carries no injection label at all.
    """
    override = override_of(pod_labels, pod_annotations)
    return wants_sidecar(namespace_labels or {}, override, bool((pod_labels or {}).get(REV_LABEL)))


def wants_sidecar(ns: Labels, override: str | None, pod_revision: bool) -> bool:
    if ns.get("kubernetes.io/metadata.name") in IGNORED_NAMESPACES:
        return False
    if INJECTION_LABEL in ns:
        return ns[INJECTION_LABEL] == "enabled" and override != "false"
    if ns.get(REV_LABEL):
        return override != "false"
    return override == "true" or (pod_revision and override != "false")


def pod_wants_injection(namespace_labels: Labels | None, pod: Mapping[str, Any]) -> bool:
    labels = (pod.get("metadata") or {}).get("labels") or {}
    return wants_sidecar(namespace_labels or {}, inject_override(pod), bool(labels.get(REV_LABEL)))


def out_of_step(namespace_labels: Labels | None, pod: Mapping[str, Any]) -> bool:
    """The pod's sidecar disagrees with what its namespace asks, so only a restart brings it in line.
    A gateway runs ``istio-proxy`` as its workload, never as a sidecar, so it is never out of step."""
    return not is_proxy_workload(pod) and has_sidecar(pod) != pod_wants_injection(namespace_labels, pod)


# --- label plans


@dataclass(frozen=True)
class LabelChange:
    key: str
    old: str | None
    new: str | None

    def describe(self) -> str:
        """The change still to make, as the confirmation lists it."""
        if self.new is None:
            return f"remove label {self.key} (currently {self.old})"
        if self.old is None:
            return f"set label {self.key}={self.new}"
        return f"set label {self.key}={self.new} (currently {self.old})"

    def done(self) -> str:
        """The change once made, as the notification reports it."""
        if self.new is None:
            return f"removed label {self.key} (was {self.old})"
        if self.old is None:
            return f"set label {self.key}={self.new}"
        return f"changed label {self.key} from {self.old} to {self.new}"


@dataclass(frozen=True)
class LabelPlan:
    """A namespace label change, ready to be confirmed and sent as a JSON merge patch."""

    namespace: str
    current: InjectionMode
    target: InjectionMode
    changes: tuple[LabelChange, ...]
    labels_after: dict[str, str]
    needs_restart: bool
    notes: tuple[str, ...] = ()

    @property
    def is_noop(self) -> bool:
        return not self.changes

    def patch(self) -> dict[str, Any]:
        """Merge patch: only the touched labels, removals as null, so every other label survives."""
        return {"metadata": {"labels": {c.key: c.new for c in self.changes}}}

    def describe(self) -> list[str]:
        return [c.describe() for c in self.changes]

    def done(self) -> list[str]:
        return [c.done() for c in self.changes]


def plan_change(namespace: str, labels: Labels | None, target: InjectionMode) -> LabelPlan:
    """The minimal label edit that puts ``namespace`` into ``target`` mode and nothing else.

    Setting one mesh label removes the others, which also resolves an ``istio.io/rev`` +
    ``istio-injection`` conflict in favour of the target.
    """
    if target.kind is ModeKind.REVISION and not valid_revision(target.revision):
        raise ValueError(f"invalid revision {target.revision!r}")
    labels = dict(labels or {})
    current = namespace_mode(labels)
    notes: list[str] = []
    changes: list[LabelChange] = []
    after = dict(labels)
    for key, new in target.target_labels().items():
        old = labels.get(key)
        if old == new:
            continue
        changes.append(LabelChange(key, old, new))
        if new is None:
            after.pop(key, None)
        else:
            after[key] = new
    # Sets first, then removals, so the confirmation reads in a stable order.
    changes.sort(key=lambda c: (c.new is None, c.key))
    needs_restart = current.injects_sidecars != target.injects_sidecars
    if current.injects_sidecars and target.injects_sidecars and current != target:
        notes.append("Running proxies stay on their current control plane until their pods are recreated.")
    if target.kind is ModeKind.AMBIENT:
        needs_restart = current.injects_sidecars  # sidecars go only when their pods are recreated
        notes.append("Ambient mode needs no restart: ztunnel captures running pods as they are.")
        notes.append(
            "L7 routing (HTTP routes, retries, path-based AuthorizationPolicy) needs a waypoint proxy: "
            f"istioctl waypoint apply -n {namespace}"
        )
        if current.injects_sidecars:
            notes.append("Pods that already have a sidecar keep it and stay outside ambient until restarted.")
    elif needs_restart:
        if target.injects_sidecars:
            notes.append("Running pods get the sidecar only when recreated: a rollout restart is offered.")
        else:
            notes.append("Running pods keep their sidecar until recreated: a rollout restart is offered.")
    return LabelPlan(
        namespace=namespace,
        current=current,
        target=target,
        changes=tuple(changes),
        labels_after=after,
        needs_restart=needs_restart and bool(changes),
        notes=tuple(notes),
    )


def valid_revision(rev: str) -> bool:
    """A label value (revisions are label values): <= 63 chars, alphanumerics with -_. inside."""
    if not rev or len(rev) > 63:
        return False
    if not (rev[0].isascii() and rev[0].isalnum() and rev[-1].isascii() and rev[-1].isalnum()):
        return False
    return all(ch.isascii() and (ch.isalnum() or ch in "-_.") for ch in rev)


@dataclass(frozen=True)
class LabelConflict:
    """Both ``istio-injection`` and ``istio.io/rev`` set: Istio obeys the first, people expect the rev."""

    namespace: str
    injection_value: str
    revision: str

    def describe(self) -> str:
        return (
            f"{self.namespace} has both {INJECTION_LABEL}={self.injection_value} and "
            f"{REV_LABEL}={self.revision}. Istio follows {INJECTION_LABEL} and ignores the revision label."
        )

    def keep_revision(self, labels: Labels) -> LabelPlan:
        return plan_change(self.namespace, labels, InjectionMode.for_revision(self.revision))

    def keep_injection(self, labels: Labels) -> LabelPlan:
        return plan_change(self.namespace, labels, namespace_mode({INJECTION_LABEL: self.injection_value}))


def find_conflict(namespace: str, labels: Labels | None) -> LabelConflict | None:
    labels = labels or {}
    if INJECTION_LABEL in labels and labels.get(REV_LABEL):
        return LabelConflict(namespace, labels[INJECTION_LABEL], labels[REV_LABEL])
    return None


def toggle_target(labels: Labels | None) -> InjectionMode:
    """The toggle key: a namespace that injects sidecars gets disabled, any other gets enabled."""
    return InjectionMode.disabled() if namespace_mode(labels).injects_sidecars else InjectionMode.enabled()


def is_live(pod: Mapping[str, Any]) -> bool:
    """Counts for the namespace view and restarts: not terminating, not finished."""
    meta = pod.get("metadata") or {}
    phase = (pod.get("status") or {}).get("phase")
    return not meta.get("deletionTimestamp") and phase not in ("Succeeded", "Failed")
