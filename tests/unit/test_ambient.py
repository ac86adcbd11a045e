"""Ambient-mode rules shared by the panes and the sandbox: capture, DATAPLANE column, waypoint, L7."""

from __future__ import annotations

from typing import Any

import pytest

from tui.istio.ambient import l7_applies, serves_services, wants_ambient, waypoint_ref
from tui.istio.pods import build_pod_row, dataplane_mark

AMBIENT_NS = {"istio.io/dataplane-mode": "ambient"}


def pod(
    *, labels: dict[str, str] | None = None, sidecar: bool = False, captured: bool = False
) -> dict[str, Any]:
    containers = [{"name": "app"}] + ([{"name": "istio-proxy"}] if sidecar else [])
    annotations = {"ambient.istio.io/redirection": "enabled"} if captured else {}
    return {
        "metadata": {"labels": labels or {}, "annotations": annotations},
        "spec": {"containers": containers},
    }


@pytest.mark.parametrize(
    ("p", "ns_labels", "expected"),
    [
        (pod(), AMBIENT_NS, True),
        (pod(), {}, False),
        (pod(labels={"istio.io/dataplane-mode": "none"}), AMBIENT_NS, False),
        (pod(labels={"istio.io/dataplane-mode": "ambient"}), {}, True),
        (pod(sidecar=True), AMBIENT_NS, False),
    ],
)
def test_which_pods_ztunnel_captures(p: dict[str, Any], ns_labels: dict[str, str], expected: bool) -> None:
    assert wants_ambient(p, ns_labels) is expected


def test_dataplane_column() -> None:
    assert dataplane_mark(build_pod_row(pod(sidecar=True)), None) == "sidecar"
    assert dataplane_mark(build_pod_row(pod(captured=True)), None) == "ambient"
    assert dataplane_mark(build_pod_row(pod()), None) == ""


def test_waypoint_of_a_service_wins_over_its_namespace_and_none_opts_out() -> None:
    ns = {"istio.io/use-waypoint": "waypoint"}
    assert waypoint_ref({}, ns, namespace="bookinfo") == ("bookinfo", "waypoint")
    assert waypoint_ref({"istio.io/use-waypoint": "reviews-wp"}, ns, namespace="b") == ("b", "reviews-wp")
    assert waypoint_ref({"istio.io/use-waypoint": "none"}, ns, namespace="b") is None
    other = {"istio.io/use-waypoint": "wp", "istio.io/use-waypoint-namespace": "shared"}
    assert waypoint_ref(other, {}, namespace="b") == ("shared", "wp")
    assert waypoint_ref({}, {}, namespace="b") is None


def test_l7_runs_in_a_sidecar_or_a_waypoint_never_in_ztunnel_alone() -> None:
    assert l7_applies(caller_sidecar=True, caller_captured=False, waypoint=False)
    assert not l7_applies(caller_sidecar=False, caller_captured=True, waypoint=False)
    assert l7_applies(caller_sidecar=False, caller_captured=True, waypoint=True)
    assert not l7_applies(caller_sidecar=False, caller_captured=False, waypoint=True)


def test_a_waypoint_serves_services_unless_it_is_for_workloads_only() -> None:
    assert serves_services({}) and serves_services({"istio.io/waypoint-for": "all"})
    assert not serves_services({"istio.io/waypoint-for": "workload"})
    assert not serves_services({"istio.io/waypoint-for": "none"})
