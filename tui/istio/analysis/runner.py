"""Runs every check over a snapshot and scopes, orders and de-duplicates the findings."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from tui.istio.analysis import ambient, deprecated, gatewayapi, gateways, ports, routes, sidecars
from tui.istio.analysis.model import LEVELS, Finding, Snapshot

Check = Callable[[Snapshot], Iterator[Finding]]
CHECKS: tuple[Check, ...] = (
    gateways.check_gateways,
    gateways.check_gateway_refs,
    routes.check_destinations,
    routes.check_subsets,
    sidecars.check_labels,
    sidecars.check_missing_sidecars,
    sidecars.check_proxy_versions,
    ports.check_ports,
    deprecated.check_api_versions,
    deprecated.check_annotations,
    ambient.check_virtual_services,
    ambient.check_http_routes,
    ambient.check_policies,
    gatewayapi.check_routes,
)


def in_scope(item: Finding, namespace: str | None) -> bool:
    """A namespace's findings are those about its objects and about the Namespace itself."""
    if namespace is None:
        return True
    return item.namespace == namespace or (item.kind == "Namespace" and item.name == namespace)


def order(findings: Iterable[Finding]) -> list[Finding]:
    """Errors first, then by resource and code; exact repeats dropped."""
    unique = dict.fromkeys(findings)
    return sorted(unique, key=lambda f: (LEVELS.index(f.level), f.resource, f.code, f.path_key))


def analyze(snapshot: Snapshot, *, namespace: str | None = None) -> list[Finding]:
    return order(f for check in CHECKS for f in check(snapshot) if in_scope(f, namespace))


def has_errors(findings: Iterable[Finding]) -> bool:
    return any(f.level == "error" for f in findings)
