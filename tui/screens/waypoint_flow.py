"""Waypoints for an ambient namespace: deploy one, see which Services use which, remove one. Every change
goes through a ConfirmScreen naming the context; the removal says which L7 policy stops applying.

A non-visual child widget of the Namespaces pane, like ``InjectionFlow``: the pane calls down
(``offer_deploy``, ``show_usage``, ``offer_removal``) and cluster calls are one-off thread workers; the
pane's own watches show the result.
"""

from __future__ import annotations

from textual import on, work
from textual.message import Message
from textual.widget import Widget

from tui.istio import waypoints
from tui.istio.waypoints import DEFAULT_WAYPOINT, AmbientView
from tui.models import plural
from tui.screens.confirm import ConfirmScreen
from tui.widgets.pane import WorkerErrors


def usage_lines(view: AmbientView) -> list[str]:
    """Which Service goes through which waypoint (and whether that waypoint exists)."""
    lines = [f"Waypoints in {view.namespace}: {', '.join(view.waypoints) or 'none'}"]
    if not view.ambient:
        lines.append("⚠ the namespace is not ambient: its Services' callers do not use waypoints")
    if view.ztunnel.warning:
        lines.append(f"⚠ {view.ztunnel.warning}")
    lines.append("")
    width = max((len(u.service) for u in view.uses), default=8)
    for use in view.uses:
        if not use.waypoint:
            where = "no waypoint (L4 only)" + (": opted out" if use.source == "service" else "")
        else:
            where = f"→ {use.waypoint} (label on the {use.source})"
            if use.waypoint not in view.waypoints:
                where += " ⚠ missing"
        lines.append(f"  {use.service:<{width}}  {where}")
    return lines


class WaypointFlow(WorkerErrors, Widget):
    class _Read(Message):
        bubble = False

        def __init__(self, view: AmbientView, purpose: str, lost: list[str]) -> None:
            super().__init__()
            self.view = view
            self.purpose = purpose
            self.lost = lost

    def _ask(
        self, title: str, lines: list[str], then: object, *, label: str, destructive: bool = True
    ) -> None:
        def answered(yes: bool | None) -> None:
            if yes and callable(then):
                then()

        screen = ConfirmScreen(
            title, lines, context=self.istio_app.context_name, confirm_label=label, destructive=destructive
        )
        self.app.push_screen(screen, answered)

    def offer_deploy(self, namespace: str) -> None:
        self._read(namespace, "deploy")

    def show_usage(self, namespace: str) -> None:
        self._read(namespace, "show")

    def offer_removal(self, namespace: str) -> None:
        self._read(namespace, "remove")

    @work(thread=True, exit_on_error=False, group="waypoint-flow", description="reading waypoints")
    def _read(self, namespace: str, purpose: str) -> None:
        cluster = self.istio_app.cluster
        view = waypoints.read(cluster, namespace=namespace)
        lost: list[str] = []
        if purpose == "remove" and view.waypoints:
            name = view.waypoints[0]
            served = [u.service for u in view.uses if u.waypoint == name]
            lost = waypoints.l7_policies(cluster, namespace=namespace, waypoint=name, services=served)
        self.post_message(self._Read(view, purpose, lost))

    @on(_Read)
    def _answer(self, event: _Read) -> None:
        view, ns = event.view, event.view.namespace
        if event.purpose == "show":
            self._ask(f"Waypoints in {ns}", usage_lines(view), None, label="OK", destructive=False)
        elif event.purpose == "deploy":
            self._confirm_deploy(view)
        elif not view.waypoints:
            self.notify(f"{ns} has no waypoint to remove", markup=False)
        else:
            self._confirm_remove(view, event.lost)

    def _confirm_deploy(self, view: AmbientView) -> None:
        ns = view.namespace
        if DEFAULT_WAYPOINT in view.waypoints:
            self.notify(f"{ns} already has waypoint {DEFAULT_WAYPOINT}: u shows who uses it", markup=False)
            return
        lines = [
            f"In namespace {ns}:",
            f"  • Gateway {DEFAULT_WAYPOINT} of class istio-waypoint, listener mesh",
            "    (HBONE, port 15008), labelled istio.io/waypoint-for=service",
            f"  • label the namespace istio.io/use-waypoint={DEFAULT_WAYPOINT}",
            "",
            "Calls to the namespace's Services then pass the waypoint, so",
            "HTTPRoutes, VirtualService routing and L7 AuthorizationPolicies apply.",
        ]
        if not view.ambient:
            lines += ["", "⚠ The namespace is not ambient (a in Namespaces): sidecars ignore waypoints."]
        if view.ztunnel.warning:
            lines += ["", f"⚠ {view.ztunnel.warning}"]
        self._ask(
            f"Deploy a waypoint in {ns}?", lines, lambda: self._deploy(ns), label="Deploy", destructive=False
        )

    @work(thread=True, exit_on_error=False, group="waypoint-flow", description="deploying a waypoint")
    def _deploy(self, namespace: str) -> None:
        waypoints.deploy_waypoint(self.istio_app.cluster, namespace=namespace)
        self.notify(
            f"Deployed waypoint {DEFAULT_WAYPOINT} in {namespace}; labelled the namespace "
            f"istio.io/use-waypoint={DEFAULT_WAYPOINT}",
            markup=False,
        )

    def _confirm_remove(self, view: AmbientView, lost: list[str]) -> None:
        ns, name = view.namespace, view.waypoints[0]
        users = [u.service for u in view.uses if u.waypoint == name]
        lines = [
            f"Deletes Gateway {ns}/{name} and the istio.io/use-waypoint labels naming it.",
            f"{plural(len(users), 'Service')} lose it: {', '.join(users) or 'none'}",
            "",
        ]
        if lost:
            lines += ["This L7 policy stops applying (ambient traffic becomes L4 only):"]
            lines += [f"  • {item}" for item in lost]
        else:
            lines += ["No HTTPRoute, VirtualService or L7 AuthorizationPolicy targets them."]
        self._ask(f"Remove waypoint {name} from {ns}?", lines, lambda: self._remove(ns, name), label="Remove")

    @work(thread=True, exit_on_error=False, group="waypoint-flow", description="removing a waypoint")
    def _remove(self, namespace: str, name: str) -> None:
        unlabelled = waypoints.remove_waypoint(self.istio_app.cluster, namespace=namespace, name=name)
        extra = f"; unlabelled {', '.join(unlabelled)}" if unlabelled else ""
        self.notify(f"Removed waypoint {name} from {namespace}{extra}", markup=False)
