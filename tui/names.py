"""Kubernetes' name rules, checked one way wherever a name, a host or a label comes in: RFC 1123 labels and
subdomains, qualified names (label and annotation keys) and label values.

A leaf module, so the sandbox's validation, the CLI and the panes agree. Every check is a ``fullmatch``:
``re.match`` with ``$`` also accepts a trailing newline, and a newline in a name is how text gets into a
script or a log line it does not belong to.
"""

from __future__ import annotations

import re

DNS_LABEL_MAX = 63
DNS_SUBDOMAIN_MAX = 253
_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS_LABEL = re.compile(_LABEL)
_DNS_SUBDOMAIN = re.compile(rf"{_LABEL}(\.{_LABEL})*")
_NAME_PART = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")


def is_dns_label(text: str, *, max_len: int = DNS_LABEL_MAX) -> bool:
    """Lower-case letters, digits and '-', alphanumeric at both ends (namespaces, Service and port names)."""
    return 0 < len(text) <= max_len and _DNS_LABEL.fullmatch(text) is not None


def is_dns_subdomain(text: str) -> bool:
    """Dot-separated DNS labels, at most 253 characters (most object names, hosts, key prefixes)."""
    return 0 < len(text) <= DNS_SUBDOMAIN_MAX and _DNS_SUBDOMAIN.fullmatch(text) is not None


def is_name_part(text: str) -> bool:
    """The name of a qualified name, or a non-empty label value: alphanumerics, '-', '_', '.', at most 63."""
    return 0 < len(text) <= DNS_LABEL_MAX and _NAME_PART.fullmatch(text) is not None


def is_label_value(text: str) -> bool:
    return text == "" or is_name_part(text)


def qualified_name_problem(key: str) -> str | None:
    """Why ``key`` is no label or annotation key (``[prefix/]name``), as kube-apiserver says; None if fine."""
    prefix, slash, name = key.rpartition("/")
    if slash and not is_dns_subdomain(prefix):
        return "prefix part must be a lowercase RFC 1123 subdomain"
    if not name:
        return "name part must be non-empty"
    if len(name) > DNS_LABEL_MAX:
        return f"name part must be no more than {DNS_LABEL_MAX} characters"
    if not is_name_part(name):
        return (
            "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
            "with an alphanumeric character"
        )
    return None
