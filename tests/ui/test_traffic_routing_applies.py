"""When the Traffic pane counts the reviews routing as applied: the data plane's rule (``l7_applies``) over
the pane's view, so its configured column and epochs follow what the pages actually get."""

from __future__ import annotations

import dataclasses

from tui.istio.routing import RoutingView
from tui.istio.waypoints import AmbientView, WaypointUse, Ztunnel
from tui.models import BookinfoPod, BookinfoStatus
from tui.screens.traffic.cluster import ClusterView

ROUTE = RoutingView(host="reviews", namespace="bookinfo", exists=True, default_weights={"v1": 50, "v3": 50})
AMBIENT = AmbientView(
    namespace="bookinfo",
    ambient=True,
    waypoints=("waypoint",),
    uses=(WaypointUse("reviews", "waypoint", "namespace"),),
    ztunnel=Ztunnel(True, 1, 1),
    programmed=("waypoint",),
)


def status(*, captured: bool = True, sidecar: bool = False) -> BookinfoStatus:
    pods = tuple(
        BookinfoPod(f"{app}-v1-x", app, "v1", "Running", True, "1/1", sidecar, ambient=captured)
        for app in ("productpage", "reviews")
    )
    return BookinfoStatus("bookinfo", pods, (), sidecar, ())


def view(**changes: object) -> ClusterView:
    base = ClusterView(namespace="bookinfo", status=status(), reviews=ROUTE, ambient=AMBIENT)
    return dataclasses.replace(base, **changes)


def test_a_programmed_waypoint_and_a_captured_caller_apply_the_route() -> None:
    assert view().routing_applies() and not view().needs_waypoint


def test_a_waypoint_applies_nothing_until_it_is_programmed() -> None:
    starting = view(ambient=dataclasses.replace(AMBIENT, programmed=()))
    assert not starting.routing_applies() and starting.needs_waypoint
    assert starting.ambient is not None and starting.ambient.starting_waypoint("reviews") == "waypoint"
    assert AMBIENT.starting_waypoint("reviews") == ""


def test_a_caller_ztunnel_has_not_captured_bypasses_the_waypoint() -> None:
    assert not view(status=status(captured=False)).routing_applies()


def test_a_sidecar_on_the_caller_applies_the_route_without_a_waypoint() -> None:
    starting = dataclasses.replace(AMBIENT, programmed=())
    sidecar = view(status=status(captured=False, sidecar=True), ambient=starting)
    assert sidecar.routing_applies()
