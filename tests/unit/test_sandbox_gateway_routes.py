"""HTTPRoute matching and backend picks as the sandbox's data plane applies them (Gateway API precedence)."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

from tui.sandbox.gateway_routes import RouteTable, hostnames_intersect, match_applies, modify_headers


def route(name: str, rules: list[dict[str, Any]], hostnames: list[str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"rules": rules}
    if hostnames:
        spec["hostnames"] = hostnames
    return {"metadata": {"name": name, "namespace": "ns"}, "spec": spec}


def to(*names: str, weight: int | None = None) -> list[dict[str, Any]]:
    return [{"name": n, **({"weight": weight} if weight is not None else {})} for n in names]


def pick(
    table: RouteTable, path: str, *, host: str = "", headers: dict[str, str] | None = None
) -> str | None:
    p = table.pick(path=path, method="GET", headers=headers or {}, query={}, rng=random.Random(1), host=host)
    return None if p is None or p.backend is None else p.backend.service


def test_path_prefix_matches_whole_elements_and_regex_the_whole_path() -> None:
    prefix = {"path": {"type": "PathPrefix", "value": "/static"}}
    assert match_applies(prefix, path="/static/a.css", method="GET", headers={}, query={})
    assert match_applies(prefix, path="/static", method="GET", headers={}, query={})
    assert not match_applies(prefix, path="/staticx", method="GET", headers={}, query={})
    regex = {"path": {"type": "RegularExpression", "value": "/api/v[0-9]"}}
    assert match_applies(regex, path="/api/v1", method="GET", headers={}, query={})
    assert not match_applies(regex, path="/api/v1/x", method="GET", headers={}, query={})
    header = {
        "headers": [{"name": "End-User", "value": "jason"}],
        "queryParams": [{"name": "q", "value": "1"}],
    }
    assert match_applies(header, path="/", method="GET", headers={"end-user": "jason"}, query={"q": "1"})
    assert not match_applies(header, path="/", method="GET", headers={"end-user": "jason"}, query={})


def test_exact_beats_longest_prefix_beats_shorter_prefix_across_routes() -> None:
    table = RouteTable()
    table.add(
        route(
            "a", [{"matches": [{"path": {"type": "PathPrefix", "value": "/"}}], "backendRefs": to("root")}]
        ),
        0,
    )
    table.add(
        route(
            "b", [{"matches": [{"path": {"type": "PathPrefix", "value": "/api"}}], "backendRefs": to("api")}]
        ),
        1,
    )
    table.add(
        route("c", [{"matches": [{"path": {"type": "Exact", "value": "/api"}}], "backendRefs": to("exact")}]),
        2,
    )
    assert pick(table, "/api") == "exact"
    assert pick(table, "/api/x") == "api"
    assert pick(table, "/other") == "root"


def test_the_most_specific_hostname_wins() -> None:
    table = RouteTable()
    table.add(route("any", [{"backendRefs": to("any")}]), 0)
    table.add(route("wild", [{"backendRefs": to("wild")}], ["*.example"]), 1)
    table.add(route("exact", [{"backendRefs": to("exact")}], ["a.example"]), 2)
    assert pick(table, "/", host="a.example") == "exact"
    assert pick(table, "/", host="b.example") == "wild"
    assert pick(table, "/", host="other") == "any"
    assert hostnames_intersect("*.example", ["a.example"]) and not hostnames_intersect(
        "a.example", ["b.example"]
    )


def test_weights_split_and_zero_takes_nothing() -> None:
    table = RouteTable()
    rule = {"backendRefs": [*to("v1", weight=80), *to("v3", weight=20), *to("v2", weight=0)]}
    table.add(route("r", [rule]), 0)
    rng = random.Random(7)
    counts = Counter(
        p.backend.service
        for p in (table.pick(path="/", method="GET", headers={}, query={}, rng=rng) for _ in range(1000))
        if p is not None and p.backend is not None
    )
    assert counts["v2"] == 0 and 740 <= counts["v1"] <= 860, counts


def test_a_rule_without_backends_has_none_and_response_headers_are_modified() -> None:
    table = RouteTable()
    table.add(route("r", [{"backendRefs": to("zero", weight=0)}]), 0)
    p = table.pick(path="/", method="GET", headers={}, query={}, rng=random.Random(1))
    assert p is not None and p.backend is None
    headers = {"X-A": "1", "X-Drop": "x"}
    modify_headers(
        headers,
        {
            "set": [{"name": "x-a", "value": "2"}],
            "add": [{"name": "X-B", "value": "b"}],
            "remove": ["x-drop"],
        },
    )
    assert headers == {"x-a": "2", "X-B": "b"}
