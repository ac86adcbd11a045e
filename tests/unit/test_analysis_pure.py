"""The pure parts of analysis: field paths in YAML, protocol names, host resolution, explanations, output."""

from __future__ import annotations

import pytest

from tui.istio.analysis.cli import render
from tui.istio.analysis.explain import explain
from tui.istio.analysis.locate import field_lines
from tui.istio.analysis.model import Finding, path_text
from tui.istio.analysis.ports import port_protocol
from tui.istio.analysis.routes import service_key
from tui.models import pod_yaml

GATEWAY = {
    "apiVersion": "networking.istio.io/v1",
    "kind": "Gateway",
    "metadata": {"name": "g", "namespace": "bookinfo", "managedFields": [{"manager": "kubectl"}]},
    "spec": {
        "selector": {"istio": "ingressgateway"},
        "servers": [{"port": {"number": 8080, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}],
    },
}


@pytest.mark.parametrize(
    ("path", "first", "last_line"),
    [
        (("spec", "servers", 0, "port", "number"), "number: 8080", "number: 8080"),
        (("spec", "selector"), "selector:", "istio: ingressgateway"),
        (("spec", "servers", 0), "- port:", "- '*'"),
        (("spec", "servers", 3), "servers:", "- '*'"),  # the deepest part that exists
    ],
)
def test_field_lines_cover_the_key_through_its_value(
    path: tuple[str | int, ...], first: str, last_line: str
) -> None:
    text = pod_yaml(GATEWAY)
    found = field_lines(text, path)
    assert found is not None
    lines = text.splitlines()
    assert lines[found[0] - 1].strip() == first and lines[found[1] - 1].strip() == last_line
    assert "managedFields" not in text


def test_field_lines_without_a_path_or_yaml() -> None:
    assert field_lines(pod_yaml(GATEWAY), ()) is None
    assert field_lines("a: [", ("a",)) is None


@pytest.mark.parametrize(
    ("name", "app", "protocol"),
    [
        ("http", "", "http"),
        ("http-web", "", "http"),
        ("grpc-web", "", "grpc-web"),
        ("tcp-db", "", "tcp"),
        ("web", "", ""),
        ("", "", ""),
        ("httpweb", "", ""),
        ("web", "http", "http"),
        ("http", "weird", ""),
        ("x", "kubernetes.io/h2c", "kubernetes.io/h2c"),
    ],
)
def test_port_protocol_follows_istios_naming(name: str, app: str, protocol: str) -> None:
    assert port_protocol(name, app) == protocol


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("reviews", ("bookinfo", "reviews")),
        ("reviews.other", ("other", "reviews")),
        ("reviews.other.svc.cluster.local", ("other", "reviews")),
        ("reviews.other.svc", ("other", "reviews")),
        ("www.example.com", None),
    ],
)
def test_service_key_resolves_like_istio(host: str, key: tuple[str, str] | None) -> None:
    assert service_key(host, "bookinfo") == key


def _finding(code: str, level: str = "error", message: str = "m") -> Finding:
    return Finding(
        code=code,
        level=level,
        kind="VirtualService",
        namespace="bookinfo",
        name="reviews",  # type: ignore[arg-type]
        message=message,
        fix="f",
        path=("spec", "http", 0),
    )


def test_explain_leads_with_the_symptom_and_names_each_finding_once() -> None:
    subset = _finding(
        "IT0201", message="VirtualService reviews routes to subset v3, which no DestinationRule defines"
    )
    trap = _finding("IT0101", message="server port 8080 …")
    unused = _finding("IT0202", level="info")
    lines = explain([subset, trap, unused], ["503", "split", "404"])
    assert lines == [f"503: {subset.message}", f"404: VirtualService reviews: {trap.message}"]
    assert explain([subset], []) == []


def test_render_groups_by_level_with_the_fix() -> None:
    assert render([], scope="namespace x") == "no findings in namespace x"
    out = render([_finding("IT0201"), _finding("IT0401", "warning")], scope="all namespaces").splitlines()
    assert out[0] == "ERROR" and out[1].startswith("  [IT0201] VirtualService bookinfo/reviews: m -> fix: f")
    assert out[2] == "WARNING"
    assert path_text(("spec", "http", 0, "route", 1, "destination")) == "spec.http[0].route[1].destination"
