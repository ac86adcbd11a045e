"""A revision-based canary upgrade as a list of steps, for ``istio-tui upgrade`` and the Upgrade view.

The steps follow Istio's canary procedure: install istiod revision R beside the running control plane,
move namespaces to it (``istio.io/rev=R``, ``istio-injection`` removed, with the toggle's label rules),
restart their workloads and wait until every pod's sidecar comes from R, optionally point the ``default``
tag at R, and uninstall the old revision once no proxy belongs to it. Each step runs on its own (the view
confirms them one at a time) and knows its shell commands, so ``--plan-only`` writes the same sequence.
Running a step blocks: call it from a thread worker or the CLI.
"""

from __future__ import annotations

import json
import re
import shlex
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from tui import kube
from tui.errors import ConfigError, IstioTuiError, NotFound
from tui.istio.choices import ISTIO_NAMESPACE
from tui.istio.helm import HelmRunner
from tui.istio.injection import (
    MESH_LABELS,
    InjectionMode,
    LabelPlan,
    find_conflict,
    is_live,
    plan_change,
    valid_revision,
)
from tui.istio.plan import FieldError, InstallPlan, Release, build_plan
from tui.istio.restarts import pod_owner, restart_deployments
from tui.istio.revisions import (
    DEFAULT_REVISION,
    DEFAULT_TAG,
    TAG_PREFIX,
    chart_injector,
    deactivate_patch,
    injector_name,
    namespace_revision,
    pods_on,
    release_name,
    tag_webhook_config,
    tags_of,
)
from tui.istio.sidecar import sidecar_revision
from tui.models import plural, plural_noun

if TYPE_CHECKING:
    from tui.kube import Cluster

Say = Callable[[str], None]
WAIT_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class RevisionPlan(InstallPlan):
    """The install plan of one more istiod: only the ``istiod-R`` release, with ``revision=R``."""

    revision: str = "canary"

    @property
    def charts(self) -> tuple[str, ...]:
        return ("istiod",)

    @property
    def releases(self) -> tuple[Release, ...]:
        values = {**self.istiod_values(), "revision": self.revision}
        name = release_name(self.revision)
        return (self._istio_release(name, "istiod", f"values-{name}.yaml", values),)


class StepRefused(IstioTuiError):
    """A step's precondition does not hold; nothing was changed."""


@dataclass(frozen=True)
class Step:
    """One confirmable step: a title, the shell commands it amounts to, and the run."""

    key: str
    title: str
    commands: tuple[str, ...]
    run: Callable[[Cluster, Say, threading.Event], None] = field(compare=False, repr=False)
    files: Mapping[str, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class UpgradeOptions:
    revision: str = ""
    istio_version: str | None = None
    chart_source: str | None = None
    namespaces: tuple[str, ...] = ()
    promote: str = ""
    remove: str = ""
    timeout_s: float = WAIT_TIMEOUT_S


_NAMESPACE_RE = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
# What the rules call each option: the CLI's flags here; the Upgrade view passes its field labels.
FLAGS: Mapping[str, str] = {
    "revision": "--revision",
    "istio_version": "--istio-version",
    "chart_source": "--chart-source",
    "namespaces": "--namespaces",
    "promote": "--promote",
    "remove": "--remove-revision",
}


def parse_namespaces(text: str | None, *, names: Mapping[str, str] = FLAGS) -> tuple[str, ...]:
    """``A,B`` -> ("A", "B"): each a DNS label, as Kubernetes names namespaces."""
    found = tuple(dict.fromkeys(n.strip() for n in (text or "").split(",") if n.strip()))
    for name in found:
        if not _NAMESPACE_RE.fullmatch(name):
            raise FieldError(
                "namespaces", f"{names['namespaces']}: {name!r} is not a namespace name (lowercase DNS label)"
            )
    return found


def check_options(opts: UpgradeOptions, *, names: Mapping[str, str] = FLAGS) -> None:
    """Every rule on the options; FieldError with one line, before anything touches the cluster."""
    for key, rev in (("revision", opts.revision), ("promote", opts.promote), ("remove", opts.remove)):
        if rev and not valid_revision(rev):
            raise FieldError(
                key, f"{names[key]} {rev!r} is not a revision name (letters, digits, - _ . inside, <= 63)"
            )
    if opts.revision == DEFAULT_REVISION:
        raise FieldError(
            "revision",
            f"{names['revision']} default names the running control plane; choose a new revision name",
        )
    if not (opts.revision or opts.promote or opts.remove):
        raise FieldError(
            "revision", f"nothing to do: give {names['revision']}, {names['promote']} or {names['remove']}"
        )
    if opts.namespaces and not opts.revision:
        raise FieldError(
            "namespaces", f"{names['namespaces']} needs {names['revision']} (the revision to move them to)"
        )
    if opts.remove and opts.remove in (opts.revision, opts.promote):
        raise FieldError("remove", f"{names['remove']} {opts.remove} is the revision this upgrade moves to")


def revision_plan(opts: UpgradeOptions, *, names: Mapping[str, str] = FLAGS) -> RevisionPlan:
    base = build_plan(istio_version=opts.istio_version, profile=None, chart_source=opts.chart_source)
    if base.chart_source.kind == "sandbox":
        raise FieldError(
            "chart_source",
            "the sandbox's own istiod chart serves only the default revision: give the official charts (the "
            f"Istio repository, a mirror, or a directory of the unpacked charts) as {names['chart_source']}",
        )
    return RevisionPlan(
        istio_version=base.istio_version, chart_source=base.chart_source, revision=opts.revision
    )


def build_steps(
    opts: UpgradeOptions,
    *,
    kubeconfig: str | None = None,
    context: str | None = None,
    record: dict[str, dict[str, str]] | None = None,
    names: Mapping[str, str] = FLAGS,
) -> list[Step]:
    """The steps in order. ``record`` collects each moved namespace's labels before the move (for
    :func:`rollback_steps`); ``names`` is what a bad option is called in the error."""
    check_options(opts, names=names)
    steps: list[Step] = []
    if opts.revision:
        plan = revision_plan(opts, names=names)
        steps.append(_install_step(plan, kubeconfig=kubeconfig, context=context))
        for ns in opts.namespaces:
            steps.append(move_step(ns, opts.revision, record=record))
            steps.append(restart_step(ns, opts.revision, timeout_s=opts.timeout_s))
    if opts.promote:
        steps.append(promote_step(opts.promote))
    if opts.remove:
        steps.append(remove_step(opts.remove, kubeconfig=kubeconfig, context=context))
    return steps


# ---- the steps


def _install_step(plan: RevisionPlan, *, kubeconfig: str | None, context: str | None) -> Step:
    rel = plan.releases[0]
    script = plan.install_script().splitlines()
    helm_lines = tuple(line for line in script if line.startswith("helm "))

    def run(cluster: Cluster, say: Say, stop: threading.Event) -> None:
        runner = HelmRunner(plan, kubeconfig=kubeconfig, context=context)
        started = time.monotonic()
        say(f"helm upgrade --install {rel.name} (revision={plan.revision}, Istio {plan.istio_version})")
        runner.install()
        say(f"{rel.name} installed ({time.monotonic() - started:.1f}s)")

    return Step(
        "install",
        f"Install istiod revision {plan.revision} (Istio {plan.istio_version}) as helm release {rel.name}",
        helm_lines,
        run,
        files=plan.values_files(),
    )


def move_plan(cluster: Cluster, namespace: str, revision: str) -> tuple[LabelPlan, str]:
    """The toggle's label plan to ``istio.io/rev=revision``, and the conflict it resolves ("" if none)."""
    try:
        ns = cluster.get(kube.NAMESPACES, namespace)
    except NotFound:
        raise StepRefused(f"namespace {namespace} does not exist") from None
    labels = (ns.get("metadata") or {}).get("labels") or {}
    conflict = find_conflict(namespace, labels)
    return plan_change(namespace, labels, InjectionMode.for_revision(revision)), (
        conflict.describe() if conflict else ""
    )


def move_step(namespace: str, revision: str, *, record: dict[str, dict[str, str]] | None = None) -> Step:
    def run(cluster: Cluster, say: Say, stop: threading.Event) -> None:
        plan, conflict = move_plan(cluster, namespace, revision)
        if record is not None:
            record.setdefault(namespace, {k: v for k, v in _labels_before(plan).items() if v is not None})
        if conflict:
            say(f"{conflict} Resolved: keeping {plan.target.label}.")
        if plan.is_noop:
            say(f"{namespace}: already labelled {plan.target.label}")
            return
        cluster.patch(kube.NAMESPACES, namespace, plan.patch())
        say(f"{namespace}: " + "; ".join(plan.done()))

    return Step(
        f"move:{namespace}",
        f"Move namespace {namespace} to {revision} (istio.io/rev={revision}, istio-injection removed)",
        (
            shlex.join(
                [
                    "kubectl",
                    "label",
                    "namespace",
                    namespace,
                    f"istio.io/rev={revision}",
                    "istio-injection-",
                    "--overwrite",
                ]
            ),
        ),
        run,
    )


def _labels_before(plan: LabelPlan) -> dict[str, str | None]:
    """The mesh labels as they were before ``plan``: what a rollback puts back."""
    before: dict[str, str | None] = {k: v for k, v in plan.labels_after.items() if k in MESH_LABELS}
    for change in plan.changes:
        before[change.key] = change.old
    return before


def move_back_step(namespace: str, labels: Mapping[str, str]) -> Step:
    """Put a namespace's mesh labels back as they were before the upgrade moved it."""
    patch = {"metadata": {"labels": {k: labels.get(k) for k in MESH_LABELS}}}
    args = [f"{k}={labels[k]}" if k in labels else f"{k}-" for k in MESH_LABELS]

    def run(cluster: Cluster, say: Say, stop: threading.Event) -> None:
        cluster.patch(kube.NAMESPACES, namespace, patch)
        shown = ", ".join(f"{k}={v}" for k, v in labels.items() if k in MESH_LABELS) or "no mesh label"
        say(f"{namespace}: labels back to {shown}")

    return Step(
        f"move-back:{namespace}",
        f"Move namespace {namespace} back to its labels before the upgrade",
        (shlex.join(["kubectl", "label", "namespace", namespace, *args, "--overwrite"]),),
        run,
    )


def rollback_steps(
    originals: Mapping[str, Mapping[str, str]], *, timeout_s: float = WAIT_TIMEOUT_S
) -> list[Step]:
    """Rollback: each moved namespace gets its labels back and restarts onto the revision they select."""
    steps: list[Step] = []
    for namespace, labels in originals.items():
        steps.append(move_back_step(namespace, labels))
        steps.append(restart_step(namespace, None, timeout_s=timeout_s))
    return steps


def selected_revision(cluster: Cluster, namespace: str) -> str:
    """The revision the namespace's labels select now (tags resolved); StepRefused when none injects it."""
    labels = (cluster.get(kube.NAMESPACES, namespace).get("metadata") or {}).get("labels") or {}
    revision = namespace_revision(labels, tags_of(cluster.list(kube.MUTATING_WEBHOOKS).items))
    if revision is None:
        raise StepRefused(f"namespace {namespace} asks for no sidecar injection")
    return revision


@dataclass(frozen=True)
class RevisionProgress:
    """Pods of a namespace against the revision they should run: done when all are ready on it."""

    namespace: str
    revision: str
    done: int
    total: int
    stale: tuple[str, ...]  # "pod (rev)" not yet on the revision, or still terminating

    @property
    def finished(self) -> bool:
        return not self.stale and self.done == self.total

    def line(self) -> str:
        rest = (
            f"; waiting for {', '.join(self.stale[:4])}" + (" …" if len(self.stale) > 4 else "")
            if self.stale
            else ""
        )
        return f"{self.namespace}: {self.done}/{plural(self.total, 'pod')} on {self.revision}{rest}"


def _ready(pod: Mapping[str, Any]) -> bool:
    status = pod.get("status") or {}
    return status.get("phase") == "Running" and any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or ()
    )


def revision_progress(namespace: str, revision: str, pods: Iterable[Mapping[str, Any]]) -> RevisionProgress:
    """Pure: every injected application pod, old ones terminating included, measured against ``revision``."""
    done = 0
    total = 0
    stale: list[str] = []
    for pod in pods:
        meta = pod.get("metadata") or {}
        name = str(meta.get("name", ""))
        rev = sidecar_revision(pod)
        if rev is None:
            continue
        if meta.get("deletionTimestamp"):
            stale.append(f"{name} (terminating)")
            continue
        if not is_live(pod):
            continue
        total += 1
        if rev == revision and _ready(pod):
            done += 1
        else:
            stale.append(f"{name} ({rev})")
    return RevisionProgress(namespace, revision, done, total, tuple(sorted(stale)))


def restart_step(namespace: str, revision: str | None, *, timeout_s: float = WAIT_TIMEOUT_S) -> Step:
    """``revision`` None: the one the namespace's labels select when the step runs."""

    def run(cluster: Cluster, say: Say, stop: threading.Event) -> None:
        target = revision or selected_revision(cluster, namespace)
        restart_to_revision(cluster, namespace, target, say=say, stop=stop, timeout_s=timeout_s)

    which = revision or "the revision its labels select"
    return Step(
        f"restart:{namespace}",
        f"Restart the workloads of {namespace} and wait until every sidecar comes from {which}",
        (
            shlex.join(["kubectl", "rollout", "restart", "deployment", "-n", namespace]),
            shlex.join(["kubectl", "rollout", "status", "deployment", "-n", namespace, "--timeout=300s"]),
        ),
        run,
    )


def restart_to_revision(
    cluster: Cluster, namespace: str, revision: str, *, say: Say, stop: threading.Event, timeout_s: float
) -> RevisionProgress:
    """Rollout-restart the Deployments whose pods are not on ``revision``; wait until all are (or refuse)."""
    pods = cluster.list(kube.PODS, namespace=namespace).items
    replicasets = {
        r["metadata"]["name"]: r for r in cluster.list(kube.REPLICASETS, namespace=namespace).items
    }
    owners = {pod_owner(p, replicasets) for p in pods if is_live(p) and sidecar_revision(p) != revision}
    deployments = sorted(o.split("/", 1)[1] for o in owners if o.startswith("Deployment/"))
    others = sorted(o for o in owners if not o.startswith("Deployment/"))
    if others:
        say(f"{namespace}: restart these yourself, istio-tui restarts Deployments only: {', '.join(others)}")
    done = restart_deployments(cluster, namespace, deployments)
    if done:
        say(f"{namespace}: restarted {', '.join(f'deployment/{d}' for d in done)}")
    return wait_for_revision(
        cluster, namespace, revision, say=say, stop=stop, timeout_s=timeout_s, expect_pods=bool(done)
    )


def wait_for_revision(
    cluster: Cluster,
    namespace: str,
    revision: str,
    *,
    say: Say,
    stop: threading.Event,
    timeout_s: float,
    expect_pods: bool = True,
) -> RevisionProgress:
    """Poll until every injected pod is ready on ``revision``. With ``expect_pods``, an empty namespace is
    not done: right after a restart the old pods can be gone before the new ones exist."""
    deadline = time.monotonic() + timeout_s
    started = time.monotonic()
    last_line = ""
    last_said = started
    while True:
        progress = revision_progress(namespace, revision, cluster.list(kube.PODS, namespace=namespace).items)
        now = time.monotonic()
        line = progress.line()
        if progress.finished and (progress.total or not expect_pods):
            say(f"{line} ({now - started:.1f}s)")
            return progress
        if (line != last_line or now - last_said >= 1.0) and now - started >= 1.0:
            say(line)
            last_line, last_said = line, now
        if now >= deadline:
            raise StepRefused(f"timed out after {timeout_s:g}s: {line}")
        if stop.wait(0.25):
            raise StepRefused(f"cancelled: {line}")


def promote_step(revision: str) -> Step:
    doc = tag_webhook_config(tag=DEFAULT_TAG, revision=revision, injector=chart_injector(revision))
    tag_file = f"{TAG_PREFIX}{DEFAULT_TAG}.yaml"

    def run(cluster: Cluster, say: Say, stop: threading.Event) -> None:
        try:
            injector = cluster.get(kube.MUTATING_WEBHOOKS, injector_name(revision))
        except NotFound:
            raise StepRefused(
                f"revision {revision} is not installed ({injector_name(revision)} not found)"
            ) from None
        cluster.apply([tag_webhook_config(tag=DEFAULT_TAG, revision=revision, injector=injector)])
        say(f"tag {DEFAULT_TAG} -> {revision} ({TAG_PREFIX}{DEFAULT_TAG})")
        if revision != DEFAULT_REVISION:
            try:
                old = cluster.get(kube.MUTATING_WEBHOOKS, injector_name(DEFAULT_REVISION))
            except NotFound:
                return
            cluster.patch(
                kube.MUTATING_WEBHOOKS,
                injector_name(DEFAULT_REVISION),
                deactivate_patch(len(old.get("webhooks") or ())),
                patch_type="json",
            )
            say(f"{injector_name(DEFAULT_REVISION)} deactivated: istio-injection=enabled now gets {revision}")

    # The default revision's chart-made injector has four webhooks (rev.namespace, rev.object, namespace,
    # object); the script switches them off as istioctl's `tag set default` does.
    commands: list[str] = [shlex.join(["kubectl", "apply", "-f", tag_file])]
    if revision != DEFAULT_REVISION:
        commands.append(
            shlex.join(
                [
                    "kubectl",
                    "patch",
                    "mutatingwebhookconfiguration",
                    injector_name(DEFAULT_REVISION),
                    "--type=json",
                    "-p",
                    json.dumps(deactivate_patch(4), separators=(",", ":")),
                ]
            )
        )
    return Step(
        "promote",
        f"Point the {DEFAULT_TAG} tag at {revision}: istio-injection=enabled namespaces get it on restart",
        tuple(commands),
        run,
        files={tag_file: yaml.safe_dump(doc, sort_keys=False)},
    )


def removal_blockers(pods: Iterable[Mapping[str, Any]], revision: str) -> str:
    """ "" when no pod runs a sidecar from ``revision``, else one line naming the namespaces and pods."""
    stuck = pods_on(pods, revision)
    if not stuck:
        return ""
    namespaces = sorted({p.split("/", 1)[0] for p in stuck})
    shown = ", ".join(stuck[:6]) + (f" and {len(stuck) - 6} more" if len(stuck) > 6 else "")
    where = f"{plural_noun(len(namespaces), 'namespace')} {', '.join(namespaces)}"
    return (
        f"revision {revision} still runs the proxy of {plural(len(stuck), 'pod')} in {where}: {shown}; "
        f"first move the {plural_noun(len(namespaces), 'namespace')} to another revision "
        "(a gateway: promote one) and restart the pods there"
    )


def remove_step(revision: str, *, kubeconfig: str | None, context: str | None) -> Step:
    rel = Release(release_name(revision), "istiod", "", ISTIO_NAMESPACE, "", {})

    def run(cluster: Cluster, say: Say, stop: threading.Event) -> None:
        found = cluster.list(
            kube.DEPLOYMENTS, namespace=ISTIO_NAMESPACE, label_selector=f"app=istiod,istio.io/rev={revision}"
        ).items
        if not found:
            raise StepRefused(f"no control plane with revision {revision} runs in {ISTIO_NAMESPACE}")
        blockers = removal_blockers(cluster.list(kube.PODS).items, revision)
        if blockers:
            raise StepRefused(blockers)
        tags = tags_of(cluster.list(kube.MUTATING_WEBHOOKS).items)
        still = sorted(
            str(ns["metadata"]["name"])
            for ns in cluster.list(kube.NAMESPACES).items
            if namespace_revision((ns.get("metadata") or {}).get("labels"), tags) == revision
        )
        if still:
            say(f"note: {', '.join(still)} still select revision {revision}; new pods there get no sidecar")
        started = time.monotonic()
        HelmRunner(InstallPlan(), kubeconfig=kubeconfig, context=context).uninstall([rel])
        say(f"{rel.name} uninstalled ({time.monotonic() - started:.1f}s)")

    return Step(
        f"remove:{revision}",
        f"Uninstall revision {revision} (helm release {rel.name}) once no sidecar comes from it",
        (shlex.join(["helm", *rel.uninstall_args()]),),
        run,
    )


# ---- the script


def upgrade_script(steps: Sequence[Step]) -> str:
    lines = [
        "#!/bin/sh",
        "# Written by istio-tui: the canary upgrade steps in order. Check each before running the next.",
        "set -eu",
        'cd "$(dirname "$0")"',
    ]
    for step in steps:
        lines.append(f"# {step.title}")
        if step.key.startswith("remove:"):
            lines.append("# Only once `istio-tui upgrade --remove-revision` finds no pod on that revision.")
        lines.extend(step.commands)
    return "\n".join(lines) + "\n"


def write_plan(steps: Sequence[Step], out_dir: str | Path) -> list[Path]:
    out = Path(out_dir).expanduser()
    try:
        out.mkdir(parents=True, exist_ok=True)
        written: list[Path] = []
        for step in steps:
            for name, text in step.files.items():
                path = out / name
                path.write_text(text, encoding="utf-8")
                written.append(path)
        path = out / "upgrade.sh"
        path.write_text(upgrade_script(steps), encoding="utf-8")
        path.chmod(0o755)
        written.append(path)
    except OSError as err:
        raise ConfigError(f"cannot write the plan to {out}: {err.strerror or err}") from None
    return written
