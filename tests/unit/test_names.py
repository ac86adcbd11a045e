"""Kubernetes' name rules, one implementation for the sandbox's validation, the CLI and the panes."""

from __future__ import annotations

import pytest

from tui.names import is_dns_label, is_dns_subdomain, is_label_value, qualified_name_problem


@pytest.mark.parametrize(
    ("text", "label", "subdomain"),
    [
        ("demo", True, True),
        ("a-1", True, True),
        ("a.b", False, True),
        ("a" * 63, True, True),
        ("a" * 64, False, True),
        ("Demo", False, False),
        ("-a", False, False),
        ("a.", False, False),
        ("demo\n", False, False),  # re.match with "$" accepted this
        ("", False, False),
    ],
)
def test_dns_names(text: str, label: bool, subdomain: bool) -> None:
    assert is_dns_label(text) is label
    assert is_dns_subdomain(text) is subdomain


def test_port_names_take_a_shorter_limit() -> None:
    assert is_dns_label("http-web", max_len=15) and not is_dns_label("h" * 16, max_len=15)


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("app", None),
        ("app.kubernetes.io/name", None),
        ("Under_Score.ok", None),
        ("/app", "prefix part must be a lowercase RFC 1123 subdomain"),
        ("Ex.com/app", "prefix part must be a lowercase RFC 1123 subdomain"),
        ("ex.com/", "name part must be non-empty"),
        ("a" * 64, "name part must be no more than 63 characters"),
        ("a b", "name part must consist of alphanumeric characters"),
        ("app\n", "name part must consist of alphanumeric characters"),
    ],
)
def test_qualified_names(key: str, problem: str | None) -> None:
    found = qualified_name_problem(key)
    assert found == problem if problem is None else found is not None and found.startswith(problem)


def test_label_values() -> None:
    assert is_label_value("") and is_label_value("v1.2_x") and is_label_value("a" * 63)
    assert not is_label_value("a" * 64) and not is_label_value("-a") and not is_label_value("a\n")
