"""VirtualService semantics, routing views, preset previews and the Bookinfo pod view, without a cluster."""

from __future__ import annotations

from typing import Any

import pytest

from tui.errors import ConfigError
from tui.istio import bookinfo
from tui.istio.routing import (
    expected_shares,
    fault_text,
    parse_duration,
    regex_problem,
    route_weights,
    routing_of,
    rule_matches,
    weights_for,
)


def _dest(subset: str, weight: int | None = None) -> dict[str, Any]:
    d: dict[str, Any] = {"destination": {"host": "reviews", "subset": subset}}
    if weight is not None:
        d["weight"] = weight
    return d


def test_route_weights_follow_istio_defaults() -> None:
    assert route_weights([_dest("v1")]) == {"v1": 100}
    assert route_weights([_dest("v1", 80), _dest("v2", 20)]) == {"v1": 80, "v2": 20}
    assert route_weights([_dest("v1"), _dest("v2"), _dest("v3")]) == {"v1": 34, "v2": 33, "v3": 33}
    assert route_weights([{"destination": {"host": "reviews"}}]) == {"*": 100}
    assert route_weights(None) == {}


def test_rule_matching() -> None:
    rule = {"match": [{"headers": {"end-user": {"exact": "jason"}}}, {"uri": {"prefix": "/api"}}]}
    assert rule_matches(rule, path="/", method="GET", headers={"end-user": "jason"})
    assert not rule_matches(rule, path="/", method="GET", headers={"end-user": "jasonx"})
    assert rule_matches(rule, path="/api/v1", method="GET", headers={})
    assert rule_matches({}, path="/anything", method="GET", headers={})
    regex = {"match": [{"headers": {"end-user": {"regex": "ja.*"}}, "method": {"exact": "GET"}}]}
    assert rule_matches(regex, path="/", method="GET", headers={"end-user": "jason"})
    assert not rule_matches(regex, path="/", method="POST", headers={"end-user": "jason"})
    assert not rule_matches(
        {"match": [{"queryParams": {"a": {"exact": "b"}}}]}, path="/", method="GET", headers={}
    )


def test_durations_and_fault_text() -> None:
    assert parse_duration("7s") == 7.0
    assert parse_duration("250ms") == 0.25
    assert parse_duration("1.5s") == 1.5
    assert parse_duration("bogus") == 0.0
    assert fault_text({"delay": {"fixedDelay": "7s", "percentage": {"value": 100.0}}}) == "delay 7s (100%)"
    assert fault_text({"abort": {"httpStatus": 500}}) == "abort 500 (100%)"


def test_routing_view_of_each_preset() -> None:
    jason = routing_of(bookinfo.preset("reviews-jason-v2").doc, namespace="bk")
    assert jason.exists and jason.managed and jason.preset == "reviews-jason-v2"
    assert weights_for(jason, user="jason") == {"v2": 100}
    assert weights_for(jason, user="bob") == {"v1": 100}
    assert weights_for(jason, user=None) == {"v1": 100}
    abort = routing_of(bookinfo.preset("ratings-abort-jason").doc)
    assert abort.matches[0].fault == "abort 500 (100%)" and abort.default_fault == ""
    missing = routing_of(None, host="reviews", namespace="bk")
    assert not missing.exists and weights_for(missing, user="jason") == {}


def test_expected_shares() -> None:
    split = routing_of(bookinfo.preset("reviews-v1-v3-50").doc)
    assert expected_shares(split, user=None, pods_per_subset={"v1": 1, "v2": 1, "v3": 1}) == {
        "v1": 0.5,
        "v3": 0.5,
    }
    none = routing_of(None, host="reviews")
    shares = expected_shares(none, user=None, pods_per_subset={"v1": 1, "v2": 1, "v3": 2})
    assert shares == {"v1": 0.25, "v2": 0.25, "v3": 0.5}


def test_unknown_preset_is_one_precise_error() -> None:
    with pytest.raises(ConfigError, match="unknown routing preset 'nope'"):
        bookinfo.preset("nope")


@pytest.mark.parametrize("name", ["", "Bookinfo", "book_info", "-x", "x" * 64])
def test_bad_namespace_names(name: str) -> None:
    with pytest.raises(ConfigError, match="invalid namespace name"):
        bookinfo.check_namespace_name(name)


def _pod(name: str, app: str, version: str, *, sidecar: bool, ready: bool = True) -> dict[str, Any]:
    containers = [{"name": app}] + ([{"name": "istio-proxy"}] if sidecar else [])
    return {
        "metadata": {"name": name, "labels": {"app": app, "version": version}},
        "spec": {"containers": containers},
        "status": {
            "phase": "Running",
            "containerStatuses": [
                {"name": c["name"], "ready": ready, "state": {"running": {}} if ready else {"waiting": {}}}
                for c in containers
            ],
        },
    }


def test_status_counts_containers_and_warns_without_sidecar() -> None:
    pods = [_pod(f"{d}-x", *d.rsplit("-", 1), sidecar=True) for d in bookinfo.DEPLOYMENTS]
    status = bookinfo.status_of("bk", pods)
    assert status.ready and status.productpage_sidecar is True and not status.warnings
    assert {p.ready_text for p in status.pods} == {"2/2"}
    bare = [_pod(f"{d}-x", *d.rsplit("-", 1), sidecar=False) for d in bookinfo.DEPLOYMENTS]
    status = bookinfo.status_of("bk", bare)
    assert status.productpage_sidecar is False
    assert {p.ready_text for p in status.pods} == {"1/1"}
    assert "VirtualService routing" in status.warnings[0]
    partial = bookinfo.status_of(
        "bk", pods[:2] + [_pod("reviews-v1-x", "reviews", "v1", sidecar=True, ready=False)]
    )
    assert not partial.ready and "reviews-v2" in partial.missing


def test_native_sidecar_counts() -> None:
    pod = _pod("productpage-v1-x", "productpage", "v1", sidecar=False)
    pod["spec"]["initContainers"] = [{"name": "istio-proxy", "restartPolicy": "Always"}]
    pod["status"]["initContainerStatuses"] = [
        {"name": "istio-proxy", "ready": True, "started": True, "state": {"running": {}}}
    ]
    (row,) = bookinfo.status_of("bk", [pod]).pods
    assert row.has_sidecar and row.ready_text == "2/2" and row.ready


@pytest.mark.parametrize("pattern", [r"\pL+", r"\Qa.b\E", r"(?U)ja.*", r"jason\z", "(" * 1000 + ")" * 1000])
def test_patterns_re2_accepts_but_re_rejects_are_unsupported_never_a_crash(pattern: str) -> None:
    """Envoy (RE2) accepts these; Python's re does not. The rule is shown as unsupported and never matches."""
    assert regex_problem(pattern).startswith("unsupported regex")
    entry = {"headers": {"end-user": {"regex": pattern}}}
    assert not rule_matches({"match": [entry]}, path="/", method="GET", headers={"end-user": "jason"})
    vs = {
        "metadata": {"name": "reviews", "namespace": "bookinfo"},
        "spec": {
            "hosts": ["reviews"],
            "http": [
                {"match": [entry], "route": [_dest("v2")]},
                {"route": [_dest("v1")]},
            ],
        },
    }
    view = routing_of(vs)
    assert view.matches[0].problem.startswith("unsupported regex")
    assert weights_for(view, user="jason") == {"v1": 100}
    assert expected_shares(view, user="jason", pods_per_subset={}) == {"v1": 1.0}


def test_a_regex_re_understands_matches_in_full() -> None:
    assert regex_problem("ja.*") == ""
    entry = {"headers": {"end-user": {"regex": "ja.*"}}}
    assert rule_matches({"match": [entry]}, path="/", method="GET", headers={"end-user": "jason"})
    assert not rule_matches({"match": [entry]}, path="/", method="GET", headers={"end-user": "bjason"})
