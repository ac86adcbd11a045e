"""Label and field selectors as kubectl and helm send them."""

from __future__ import annotations

import pytest

from tui.sandbox.selectors import parse_field_selector, parse_label_selector

LABELS = {"app": "web", "version": "v1", "tier": "front", "example.com/team": "mesh", "weight": "5"}


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("", True),
        ("app=web", True),
        ("app==web", True),
        ("app=web,version=v1", True),
        ("app=web,version=v2", False),
        ("app!=db", True),
        ("app!=web", False),
        ("missing!=x", True),
        ("version in (v1, v2)", True),
        ("version in (v2,v3)", False),
        ("version notin (v2,v3)", True),
        ("missing notin (a)", True),
        ("tier", True),
        ("missing", False),
        ("!missing", True),
        ("!tier", False),
        ("example.com/team=mesh", True),
        ("  app = web ,  tier  ", True),
        ("weight>3", True),
        ("weight<3", False),
        ("name=r,owner=helm", False),
    ],
)
def test_label_selector_matches(selector: str, expected: bool) -> None:
    assert parse_label_selector(selector).matches(LABELS) is expected


def test_label_selector_empty_value_and_empty_labels() -> None:
    assert parse_label_selector("app=").matches({"app": ""})
    assert not parse_label_selector("app=").matches({})
    assert parse_label_selector("!app").matches(None)
    assert parse_label_selector("").empty


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        ("app=web,", "expected: identifier"),
        ("=web", "expected: identifier"),
        ("app in a,b", "'\\(' after in/notin"),
        ("app in ()", "can't be empty"),
        ("app in (a b)", "',' or '\\)'"),
        ("app web", "expected: one of"),
        ("bad key!=x", "expected: one of"),
        ("-app=x", "invalid label key"),
        ("app=-x", "invalid label value"),
        ("app>x", "integer"),
        ("!", "identifier after '!'"),
        ("app=a=b", "expected: ','"),
    ],
)
def test_label_selector_bad_syntax(selector: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_label_selector(selector)


POD = {
    "metadata": {"name": "web-1", "namespace": "book"},
    "spec": {"nodeName": "sandbox"},
    "status": {"phase": "Running"},
}


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("", True),
        ("metadata.name=web-1", True),
        ("metadata.name==web-1", True),
        ("metadata.name=web-2", False),
        ("metadata.namespace=book,status.phase=Running", True),
        ("status.phase!=Running", False),
        ("spec.nodeName=sandbox", True),
        ("spec.nodeName!=", True),
        ("status.podIP=", True),
    ],
)
def test_field_selector_matches(selector: str, expected: bool) -> None:
    assert parse_field_selector(selector).matches(POD) is expected


def test_field_selector_for_events_and_escapes() -> None:
    event = {
        "involvedObject": {"kind": "Pod", "name": "a,b", "namespace": "book", "uid": "u"},
        "type": "Normal",
    }
    sel = parse_field_selector(
        r"involvedObject.name=a\,b,involvedObject.namespace=book,involvedObject.kind=Pod"
    )
    assert sel.matches(event)
    assert not parse_field_selector("involvedObject.uid=x").matches(event)


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        ("spec.containers=x", "field label not supported: spec.containers"),
        ("metadata.name", "can't understand"),
        ("metadata.name=a,,status.phase=b", "empty requirement"),
        (r"metadata.name=a\x", "escape"),
    ],
)
def test_field_selector_errors(selector: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_field_selector(selector)
