"""LabelSelector objects: the strict evaluator the sandbox serves and the lenient one webhook checks use."""

from __future__ import annotations

from typing import Any

import pytest

from tui.labels import match_label_selector_object, selector_matches


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        (None, {}, True),
        ({}, {"a": "b"}, True),
        ({"matchLabels": {"a": "b"}}, {"a": "b", "c": "d"}, True),
        ({"matchLabels": {"a": "b"}}, {"a": "c"}, False),
        ({"matchExpressions": [{"key": "a", "operator": "In", "values": ["x", "y"]}]}, {"a": "y"}, True),
        ({"matchExpressions": [{"key": "a", "operator": "In", "values": ["x"]}]}, {}, False),
        ({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["x"]}]}, {}, True),
        ({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["x"]}]}, {"a": "x"}, False),
        ({"matchExpressions": [{"key": "a", "operator": "Exists"}]}, {"a": ""}, True),
        ({"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}, {"a": "1"}, False),
        ({"matchExpressions": [{"key": "a", "operator": "Bogus"}]}, {"a": "1"}, False),
        (
            {"matchLabels": {"a": "1"}, "matchExpressions": [{"key": "b", "operator": "DoesNotExist"}]},
            {"a": "1", "b": "2"},
            False,
        ),
    ],
)
def test_selector_matches(selector: dict[str, Any] | None, labels: dict[str, str], expected: bool) -> None:
    assert selector_matches(selector, labels) is expected


def test_label_selector_object() -> None:
    labels = {"istio-injection": "enabled", "team": "a"}
    assert match_label_selector_object(None, labels)
    assert match_label_selector_object({}, labels)
    assert match_label_selector_object({"matchLabels": {"istio-injection": "enabled"}}, labels)
    assert not match_label_selector_object({"matchLabels": {"istio-injection": "enabled"}}, {})
    istio_ns_selector = {
        "matchExpressions": [
            {"key": "istio-injection", "operator": "In", "values": ["enabled"]},
            {"key": "istio.io/rev", "operator": "DoesNotExist"},
        ]
    }
    assert match_label_selector_object(istio_ns_selector, labels)
    assert not match_label_selector_object(istio_ns_selector, {**labels, "istio.io/rev": "canary"})
    obj_selector = {
        "matchExpressions": [{"key": "sidecar.istio.io/inject", "operator": "NotIn", "values": ["false"]}]
    }
    assert match_label_selector_object(obj_selector, {})
    assert not match_label_selector_object(obj_selector, {"sidecar.istio.io/inject": "false"})
    assert match_label_selector_object({"matchExpressions": [{"key": "team", "operator": "Exists"}]}, labels)
    with pytest.raises(ValueError, match="not a valid label selector operator"):
        match_label_selector_object({"matchExpressions": [{"key": "a", "operator": "Gt"}]}, labels)
    with pytest.raises(ValueError, match="key and operator"):
        match_label_selector_object({"matchExpressions": [{"key": "a"}]}, labels)
