"""Sidecar-injection rules, label plans, injector preflight and the restart set.

Istio decides injection in two places: the MutatingWebhookConfiguration's selectors choose which pods
reach the injector at all, and the injector honours the pod's ``sidecar.istio.io/inject`` opt-out. The pure
functions here mirror both so the UI can say *before* a change whether it will take effect, and *after* it
which pods must be restarted to pick it up. Only the functions taking a ``Cluster`` do I/O (blocking: call
them from workers).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tui import kube
from tui.errors import NotFound
from tui.istio.sidecar import has_sidecar, inject_override, is_proxy_workload, override_of
from tui.labels import selector_matches
from tui.models import NamespaceRow, pod_status

if TYPE_CHECKING:
    from tui.kube import Cluster, WatchEvent

INJECTION_LABEL = "istio-injection"
REV_LABEL = "istio.io/rev"
DATAPLANE_LABEL = "istio.io/dataplane-mode"
INJECTOR_PREFIX = "istio-sidecar-injector"
ADMISSION_API = "admissionregistration.k8s.io/v1"
# The injector itself refuses these namespaces whatever their labels say.
IGNORED_NAMESPACES = frozenset({"kube-system", "kube-public"})
_MESH_LABELS = (INJECTION_LABEL, REV_LABEL, DATAPLANE_LABEL)

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
        labels: dict[str, str | None] = dict.fromkeys(_MESH_LABELS)
        if self.kind is ModeKind.ENABLED:
            labels[INJECTION_LABEL] = "enabled"
        elif self.kind is ModeKind.DISABLED:
            labels[INJECTION_LABEL] = "disabled"
        elif self.kind is ModeKind.REVISION:
            labels[REV_LABEL] = self.revision
        elif self.kind is ModeKind.AMBIENT:
            labels[DATAPLANE_LABEL] = "ambient"
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
    if labels.get(DATAPLANE_LABEL) == "ambient":
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
    return _wants(namespace_labels or {}, override, bool((pod_labels or {}).get(REV_LABEL)))


def _wants(ns: Labels, override: str | None, pod_revision: bool) -> bool:
    if ns.get("kubernetes.io/metadata.name") in IGNORED_NAMESPACES:
        return False
    if INJECTION_LABEL in ns:
        return ns[INJECTION_LABEL] == "enabled" and override != "false"
    if ns.get(REV_LABEL):
        return override != "false"
    return override == "true" or (pod_revision and override != "false")


def pod_wants_injection(namespace_labels: Labels | None, pod: Mapping[str, Any]) -> bool:
    labels = (pod.get("metadata") or {}).get("labels") or {}
    return _wants(namespace_labels or {}, inject_override(pod), bool(labels.get(REV_LABEL)))


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


# --- selector matching


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
    mesh = {k: v for k, v in labels_after.items() if k in _MESH_LABELS}
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


# --- restart targets


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


def _is_live(pod: Mapping[str, Any]) -> bool:
    meta = pod.get("metadata") or {}
    phase = (pod.get("status") or {}).get("phase")
    return not meta.get("deletionTimestamp") and phase not in ("Succeeded", "Failed")


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
        if not _is_live(pod):
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


# --- restart progress


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
        if not _is_live(pod):
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


# --- namespace view rows


# A live pod reduced to what its row needs: (has sidecar, inject override, pod asks for a revision, gateway).
PodFacts = tuple[bool, str | None, bool, bool]


def pod_facts(pod: Mapping[str, Any]) -> PodFacts | None:
    """None for a pod that no longer counts (terminating or finished)."""
    if not _is_live(pod):
        return None
    labels = (pod.get("metadata") or {}).get("labels") or {}
    return has_sidecar(pod), inject_override(pod), bool(labels.get(REV_LABEL)), is_proxy_workload(pod)


def row_from_facts(namespace: Mapping[str, Any], facts: Mapping[PodFacts, int]) -> NamespaceRow:
    """One row of the namespace view from the Namespace object and a count of its live pods by facts."""
    meta = namespace.get("metadata") or {}
    labels = meta.get("labels") or {}
    mode = namespace_mode(labels)
    total = sidecars = stale = 0
    for (have, override, pod_revision, gateway), n in facts.items():
        total += n
        sidecars += n * have
        stale += n * (not gateway and have != _wants(labels, override, pod_revision))
    return NamespaceRow(
        name=meta.get("name", ""),
        uid=meta.get("uid", meta.get("name", "")),
        status=(namespace.get("status") or {}).get("phase", "Active"),
        mode=mode.label,
        mode_kind=mode.kind.value,
        pods=total,
        sidecars=sidecars,
        out_of_step=stale,
        conflict=find_conflict(meta.get("name", ""), labels) is not None,
        created=meta.get("creationTimestamp", ""),
    )


class NamespaceIndex:
    """Namespaces and their pods as two watches report them; the namespace view's single source of truth.

    Watch threads call ``apply_*``; the UI calls ``take_rows`` on a timer, so a burst of pod events costs one
    table update. Each namespace keeps a count of its pods by ``PodFacts`` (a handful of distinct values),
    kept up to date per event, so a row costs the same at 10 pods or 10,000. All methods are thread-safe.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._namespaces: dict[str, dict[str, Any]] = {}
        self._pods: dict[str, dict[str, dict[str, Any]]] = {}
        self._where: dict[str, tuple[str, PodFacts | None]] = {}
        self._facts: dict[str, Counter[PodFacts]] = {}
        self._rows: dict[str, NamespaceRow] = {}
        self._dirty: set[str] = set()
        self._changed = False
        self._down: dict[str, str] = {}

    @property
    def reconnecting(self) -> str:
        """Why a watch is down ("" when both stream); the rows stay as last known meanwhile."""
        with self._lock:
            return "; ".join(m for m in self._down.values() if m)

    def apply_namespace(self, event: WatchEvent) -> None:
        with self._lock:
            self._down["namespaces"] = event.message if event.type == "RECONNECTING" else ""
            if event.type == "RECONNECTING":
                return
            if event.type == "SYNCED":
                named = (o for o in event.objects.values() if (o.get("metadata") or {}).get("name"))
                self._namespaces = {o["metadata"]["name"]: o for o in named}
                self._dirty.update(self._namespaces)
                self._dirty.update(self._rows)
            elif event.type in ("ADDED", "MODIFIED", "DELETED"):
                name = (event.object.get("metadata") or {}).get("name", "")
                if event.type == "DELETED":
                    self._namespaces.pop(name, None)
                else:
                    self._namespaces[name] = event.object
                self._dirty.add(name)
            self._changed = True

    def apply_pod(self, event: WatchEvent) -> None:
        with self._lock:
            self._down["pods"] = event.message if event.type == "RECONNECTING" else ""
            if event.type == "RECONNECTING":
                return
            if event.type == "SYNCED":
                self._dirty.update(ns for ns, _ in self._where.values())
                self._pods, self._where, self._facts = {}, {}, {}
                for key, obj in event.objects.items():
                    self._put_pod(key, obj)
            elif event.type in ("ADDED", "MODIFIED"):
                self._put_pod(kube.object_key(event.object), event.object)
            elif event.type == "DELETED":
                self._drop_pod(kube.object_key(event.object))
            self._changed = True

    def _drop_pod(self, key: str) -> None:
        where = self._where.pop(key, None)
        if where is None:
            return
        ns, facts = where
        self._pods.get(ns, {}).pop(key, None)
        if facts is not None:
            self._facts[ns][facts] -= 1
        self._dirty.add(ns)

    def _put_pod(self, key: str, pod: dict[str, Any]) -> None:
        """Watch objects are kept as they came (the watch holds the same dicts), never copied."""
        self._drop_pod(key)
        ns = (pod.get("metadata") or {}).get("namespace", "")
        facts = pod_facts(pod)
        self._where[key] = (ns, facts)
        self._pods.setdefault(ns, {})[key] = pod
        if facts is not None:
            self._facts.setdefault(ns, Counter())[facts] += 1
        self._dirty.add(ns)

    def take_rows(self) -> list[NamespaceRow] | None:
        """The rows sorted by name, or None when nothing changed since the last call."""
        with self._lock:
            if not self._changed:
                return None
            self._changed = False
            for name in self._dirty:
                ns = self._namespaces.get(name)
                if ns is None:
                    self._rows.pop(name, None)
                else:
                    self._rows[name] = row_from_facts(ns, self._facts.get(name, Counter()))
            self._dirty.clear()
            return [self._rows[n] for n in sorted(self._rows)]

    def labels(self, name: str) -> dict[str, str]:
        with self._lock:
            ns = self._namespaces.get(name) or {}
            return dict((ns.get("metadata") or {}).get("labels") or {})

    def pods(self, namespace: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._pods.get(namespace, {}).values())
