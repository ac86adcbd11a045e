"""The injection label flow both the Namespaces and the Traffic areas run: conflict → preflight → confirm →
merge patch → restart offer → rollout restart, followed until the pods match.

It is a non-visual child widget of the pane that uses it, so no pane has to call another: the pane calls
down (``toggle``, ``propose``, ``offer_restart``) and hears back through the messages below, which bubble to
it. Its own one-off cluster calls are thread workers; following a restart is a ``Stream`` (its own thread),
stopped when the flow is unmounted or a new restart starts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from textual import on, work
from textual.message import Message
from textual.widget import Widget
from textual.worker import Worker

from tui import kube
from tui.istio import waypoints
from tui.istio.injection import LabelPlan, ModeKind, find_conflict, plan_change, toggle_target
from tui.istio.injector import Preflight, preflight_injection
from tui.istio.restarts import (
    RestartPlan,
    RestartProgress,
    find_restart_targets,
    restart_deployments,
    restart_progress,
)
from tui.models import plural
from tui.screens.confirm import ConfirmScreen, PendingChecks
from tui.screens.injection import KEEP_REVISION, ConflictScreen
from tui.widgets.pane import WorkerErrors
from tui.widgets.stream import Stream

FOLLOW_INTERVAL_S = 0.5
FOLLOW_LIMIT_S = 600.0


def _deployments(names: Sequence[str]) -> str:
    return f"Deployment {names[0]}" if len(names) == 1 else f"{len(names)} Deployments"


class InjectionFlow(WorkerErrors, Widget):
    """One toggle-and-restart conversation at a time; every cluster change behind a ConfirmScreen."""

    class Applied(Message):
        """The label patch went through."""

        def __init__(self, plan: LabelPlan) -> None:
            super().__init__()
            self.plan = plan

    class RestartListed(Message):
        """Pods out of step were found and a restart is being offered."""

        def __init__(self, plan: RestartPlan) -> None:
            super().__init__()
            self.plan = plan

    class RestartDeclined(Message):
        def __init__(self, plan: RestartPlan) -> None:
            super().__init__()
            self.plan = plan

    class RestartProgressed(Message):
        """Where a rollout restart stands; ``progress.finished`` once every pod matches the label."""

        def __init__(self, plan: RestartPlan, deployments: Sequence[str], progress: RestartProgress) -> None:
            super().__init__()
            self.plan = plan
            self.deployments = tuple(deployments)
            self.progress = progress

    class _Preflighted(Message):
        bubble = False

        def __init__(self, plan: LabelPlan, result: Preflight, dialog: ConfirmScreen) -> None:
            super().__init__()
            self.plan = plan
            self.result = result
            self.dialog = dialog

    class _ZtunnelChecked(Message):
        bubble = False

        def __init__(self, plan: LabelPlan, ztunnel: waypoints.Ztunnel, dialog: ConfirmScreen) -> None:
            super().__init__()
            self.plan = plan
            self.ztunnel = ztunnel
            self.dialog = dialog

    class _Patched(Message):
        bubble = False

        def __init__(self, plan: LabelPlan, preflight: Preflight | None, restart: RestartPlan | None) -> None:
            super().__init__()
            self.plan = plan
            self.preflight = preflight
            self.restart = restart

    class _Found(Message):
        bubble = False

        def __init__(self, plan: RestartPlan) -> None:
            super().__init__()
            self.plan = plan

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual's own keyword
        super().__init__(id=id)
        self._follow: Stream | None = None
        self._checking = PendingChecks()
        self._preflights: dict[ConfirmScreen, Preflight] = {}

    def on_unmount(self) -> None:
        self._stop_follow()

    # --- label changes

    def toggle(self, namespace: str, labels: Mapping[str, str]) -> None:
        """Enable or disable sidecar injection; a namespace with both labels first asks which one stays."""
        current = dict(labels)
        conflict = find_conflict(namespace, current)
        if conflict is None:
            self.propose(plan_change(namespace, current, toggle_target(current)))
            return

        def chosen(choice: str | None) -> None:
            if choice:
                keep = conflict.keep_revision if choice == KEEP_REVISION else conflict.keep_injection
                self.propose(keep(current))

        self.app.push_screen(ConflictScreen(conflict, context=self.istio_app.context_name), chosen)

    def propose(self, plan: LabelPlan) -> None:
        """Preflight first when the target injects sidecars, so the confirmation can tell the truth.

        The dialog opens at once (pending) while the check runs, so an answer typed right after the key
        reaches it."""
        if plan.is_noop:
            self.notify(f"{plan.namespace} is already {plan.target.label}")
            return
        if not (plan.target.injects_sidecars or plan.target.kind is ModeKind.AMBIENT):
            self._push(plan, self._lines(plan, None), pending=False)
            return
        screen = self._push(plan, ["Checking the cluster…"], pending=True)
        if plan.target.injects_sidecars:
            worker = self._preflight(plan, screen)
        else:
            worker = self._check_ztunnel(plan, screen)
        self._checking.add(worker, screen)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        self._checking.worker_changed(event)

    @work(thread=True, exit_on_error=False, group="injection-flow", description="ztunnel check")
    def _check_ztunnel(self, plan: LabelPlan, screen: ConfirmScreen) -> None:
        self.post_message(self._ZtunnelChecked(plan, waypoints.ztunnel(self.istio_app.cluster), screen))

    @on(_ZtunnelChecked)
    def _ztunnel_checked(self, event: _ZtunnelChecked) -> None:
        ztunnel = event.ztunnel
        ready = f"✓ ztunnel runs on {plural(ztunnel.ready, 'node')}."
        line = f"⚠ {ztunnel.warning}" if ztunnel.warning else ready
        event.dialog.show(self._lines(event.plan, None, extra=[line]))

    @work(thread=True, exit_on_error=False, group="injection-flow", description="injection preflight")
    def _preflight(self, plan: LabelPlan, screen: ConfirmScreen) -> None:
        result = preflight_injection(self.istio_app.cluster, labels_after=plan.labels_after)
        self.post_message(self._Preflighted(plan, result, screen))

    @on(_Preflighted)
    def _preflighted(self, event: _Preflighted) -> None:
        if event.dialog.waiting:
            self._preflights[event.dialog] = event.result
            event.dialog.show(self._lines(event.plan, event.result))

    def _lines(self, plan: LabelPlan, preflight: Preflight | None, *, extra: Sequence[str] = ()) -> list[str]:
        if plan.current == plan.target:
            summary = f"Namespace {plan.namespace} stays {plan.target.label}; the conflicting label goes."
        else:
            summary = f"Namespace {plan.namespace}: {plan.current.label} → {plan.target.label}"
        lines = [summary, ""]
        lines += [f"  • {line}" for line in plan.describe()]
        lines += ["", "Sent as a JSON merge patch: every other label stays as it is."]
        if preflight is not None and not preflight.ok:
            lines += ["", f"⚠ Injection will NOT happen: {preflight.reason}"]
        elif preflight is not None:
            lines += ["", "✓ Preflight: the injector webhook will select this namespace."]
        if plan.notes and (preflight is None or preflight.ok):
            lines += ["", *plan.notes]
        switching = {plan.current.kind, plan.target.kind} & {ModeKind.AMBIENT}
        if switching and (plan.current.injects_sidecars or plan.target.injects_sidecars):
            lines += ["", "A namespace is either sidecar-injected or ambient, not both: this switches it."]
        if extra:
            lines += ["", *extra]
        return lines

    def _push(self, plan: LabelPlan, lines: list[str], *, pending: bool) -> ConfirmScreen:
        first = plan.changes[0]
        if first.new is None:
            title = f"Remove label {first.key} from namespace {plan.namespace}?"
        else:
            title = f"Set label {first.key}={first.new} on namespace {plan.namespace}?"
        screen = ConfirmScreen(
            title, lines, context=self.istio_app.context_name, confirm_label="Apply", pending=pending
        )

        def answered(yes: bool | None) -> None:
            preflight = self._preflights.pop(screen, None)
            if yes:
                self._apply(plan, preflight)

        self.app.push_screen(screen, answered)
        return screen

    @work(thread=True, exit_on_error=False, group="injection-flow", description="namespace label change")
    def _apply(self, plan: LabelPlan, preflight: Preflight | None) -> None:
        cluster = self.istio_app.cluster
        cluster.patch(kube.NAMESPACES, plan.namespace, plan.patch(), patch_type="merge")
        restart = None
        if plan.needs_restart and (preflight is None or preflight.ok):
            restart = find_restart_targets(cluster, plan.namespace)
        self.post_message(self._Patched(plan, preflight, restart))

    @on(_Patched)
    def _patched(self, event: _Patched) -> None:
        plan = event.plan
        self.notify(f"{plan.namespace}: {'; '.join(plan.done())}", markup=False)
        self.post_message(self.Applied(plan))
        if event.preflight is not None and not event.preflight.ok:
            self.notify(
                f"No restart offered: injection will not happen ({event.preflight.reason})",
                severity="warning",
                markup=False,
            )
        elif event.restart is not None and not event.restart.empty:
            self._offer(event.restart)

    # --- restarts

    def offer_restart(self, namespace: str) -> None:
        """Find the pods out of step in ``namespace`` and offer to restart their Deployments."""
        self._find(namespace)

    @work(thread=True, exit_on_error=False, group="injection-flow", description="finding pods to restart")
    def _find(self, namespace: str) -> None:
        self.post_message(self._Found(find_restart_targets(self.istio_app.cluster, namespace)))

    @on(_Found)
    def _found(self, event: _Found) -> None:
        self._offer(event.plan)

    def _offer(self, plan: RestartPlan) -> None:
        if plan.empty:
            self.notify(f"Every pod in {plan.namespace} already matches its injection label")
            return
        self.post_message(self.RestartListed(plan))
        if not plan.deployments:
            self.notify(
                "None of them belongs to a Deployment; recreate them yourself: "
                + ", ".join(p.name for p in plan.pods),
                severity="warning",
                markup=False,
            )
            return
        lines = [f"Rollout restart in namespace {plan.namespace}:", ""]
        lines += [f"  • Deployment {d}" for d in plan.deployments]
        lines += ["", f"Pods that {plan.trouble}:"]
        lines += [f"  {p.name}" for p in plan.pods if p.owner.startswith("Deployment/")]
        if plan.others:
            lines += ["", "Not restarted (no Deployment owns them):"]
            lines += [f"  {p.name} ({p.owner})" for p in plan.others]

        def answered(yes: bool | None) -> None:
            if yes:
                self._start_follow(plan)
            else:
                self.post_message(self.RestartDeclined(plan))

        self.app.push_screen(
            ConfirmScreen(
                f"Restart {_deployments(plan.deployments)} in {plan.namespace}?",
                lines,
                context=self.istio_app.context_name,
                confirm_label="Restart",
            ),
            answered,
        )

    def _start_follow(self, plan: RestartPlan) -> None:
        self._stop_follow()
        report = self.istio_app.report_error
        self._follow = Stream(
            lambda stop: self._restart_and_follow(plan, stop),
            name=f"restart-{plan.namespace}",
            on_error=lambda err: self.app.call_from_thread(report, err, "rollout restart"),
        ).start()

    def _stop_follow(self) -> None:
        if self._follow is not None:
            self._follow.stop()
            self._follow = None

    def _restart_and_follow(self, plan: RestartPlan, stop: threading.Event) -> None:
        """Restart, then list the namespace's pods until every restarted one matches the label (or 10 min)."""
        cluster = self.istio_app.cluster
        restarted = restart_deployments(cluster, plan.namespace, plan.deployments)
        replicasets: dict[str, dict[str, Any]] = {}
        deadline = time.monotonic() + FOLLOW_LIMIT_S
        last: RestartProgress | None = None
        while not stop.is_set():
            pods = cluster.list(kube.PODS, namespace=plan.namespace).items
            owners = {
                ref.get("name", "")
                for p in pods
                for ref in p["metadata"].get("ownerReferences") or ()
                if ref.get("kind") == "ReplicaSet"
            }
            if owners - replicasets.keys():  # a new ReplicaSet appears once per rollout
                listed = cluster.list(kube.REPLICASETS, namespace=plan.namespace).items
                replicasets = {r["metadata"]["name"]: r for r in listed}
            progress = restart_progress(plan.labels, pods, replicasets, restarted)
            if progress != last:
                self.post_message(self.RestartProgressed(plan, restarted, progress))
                last = progress
            if progress.finished or not restarted:
                return
            if time.monotonic() > deadline:
                waiting = ", ".join(progress.pending) or "no pods"
                self.notify(
                    f"Stopped following the restart in {plan.namespace} after {FOLLOW_LIMIT_S / 60:.0f} min; "
                    f"still waiting for: {waiting} ({plural(len(progress.pending), 'pod')})",
                    severity="warning",
                    markup=False,
                )
                return
            stop.wait(FOLLOW_INTERVAL_S)
