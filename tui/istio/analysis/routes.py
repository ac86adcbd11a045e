"""VirtualService destinations and DestinationRule subsets.

Facts: a destination ``host`` is a Service name resolved in the VirtualService's namespace (``reviews``), or
``name.namespace[.svc.cluster.local]``; other names must come from a ServiceEntry. A route to a subset that no
DestinationRule for that host defines has no cluster in Envoy, so those requests get 503.
A subset's labels select pods among the Service's own pods.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from tui.istio.analysis.model import Finding, Path, Snapshot, finding, labels_of, name_of, ns_of, spec_of
from tui.labels import selector_matches

SUBSET_NOT_DEFINED = "IT0201"
SUBSET_SELECTS_NOTHING = "IT0202"
HOST_NOT_FOUND = "IT0203"
_CLUSTER_SUFFIX = ".svc.cluster.local"


def service_key(host: str, namespace: str) -> tuple[str, str] | None:
    """(namespace, name) of the Service a host names, or None for a name outside the cluster's Services."""
    if host.endswith(_CLUSTER_SUFFIX):
        host = host[: -len(_CLUSTER_SUFFIX)]
    parts = host.split(".")
    if len(parts) == 1:
        return (namespace, parts[0])
    if len(parts) == 2 or (len(parts) == 3 and parts[2] == "svc"):
        return (parts[1], parts[0])
    return None


def destinations(vs: Mapping[str, Any]) -> Iterator[tuple[Path, Mapping[str, Any]]]:
    """Every ``destination`` of the http, tls and tcp routes, with its field path."""
    spec = spec_of(vs)
    for section in ("http", "tls", "tcp"):
        for i, rule in enumerate(spec.get(section) or ()):
            for j, route in enumerate(rule.get("route") or ()):
                dest = route.get("destination")
                if isinstance(dest, Mapping):
                    yield ("spec", section, i, "route", j, "destination"), dest
            mirror = rule.get("mirror")
            if isinstance(mirror, Mapping):
                yield ("spec", section, i, "mirror"), mirror


def defined_subsets(snapshot: Snapshot, key: tuple[str, str] | None, host: str) -> set[str]:
    found: set[str] = set()
    for dr in snapshot.destination_rules:
        dr_host = str(spec_of(dr).get("host") or "")
        if (key is not None and service_key(dr_host, ns_of(dr)) == key) or dr_host == host:
            found.update(str(s.get("name")) for s in spec_of(dr).get("subsets") or () if s.get("name"))
    return found


def _external_hosts(snapshot: Snapshot) -> set[str]:
    return {str(h) for se in snapshot.service_entries for h in spec_of(se).get("hosts") or ()}


def _host_missing(snapshot: Snapshot, host: str, namespace: str) -> tuple[str, str] | None:
    """The Service key a cluster-local host names when no such Service exists."""
    key = service_key(host, namespace)
    if key is None or host in _external_hosts(snapshot) or snapshot.service(*key) is not None:
        return None
    return key


def check_destinations(snapshot: Snapshot) -> Iterator[Finding]:
    for vs in snapshot.virtual_services:
        seen: set[tuple[str, str]] = set()
        for path, dest in destinations(vs):
            host = str(dest.get("host") or "")
            if not host:
                continue
            missing = _host_missing(snapshot, host, ns_of(vs))
            if missing is not None:
                if (host, "") not in seen:
                    seen.add((host, ""))
                    yield finding(
                        vs,
                        code=HOST_NOT_FOUND,
                        level="error",
                        message=f"routes to host {host}, but there is no Service {missing[0]}/{missing[1]}",
                        fix=f"create Service {missing[1]} in {missing[0]}, or correct the host "
                        "(name, or name.namespace for another namespace)",
                        path=(*path, "host"),
                    )
                continue
            subset = str(dest.get("subset") or "")
            if not subset or (host, subset) in seen:
                continue
            seen.add((host, subset))
            if subset not in defined_subsets(snapshot, service_key(host, ns_of(vs)), host):
                yield finding(
                    vs,
                    code=SUBSET_NOT_DEFINED,
                    level="error",
                    message=f"VirtualService {name_of(vs)} routes to subset {subset}, which no "
                    f"DestinationRule defines (host {host}); those requests get 503",
                    fix=f"add subset {subset} (with its pod labels) to a DestinationRule for host {host}, "
                    "e.g. samples/bookinfo/networking/destination-rule-all.yaml",
                    path=(*path, "subset"),
                )


def check_subsets(snapshot: Snapshot) -> Iterator[Finding]:
    for dr in snapshot.destination_rules:
        host = str(spec_of(dr).get("host") or "")
        missing = _host_missing(snapshot, host, ns_of(dr))
        if missing is not None:
            yield finding(
                dr,
                code=HOST_NOT_FOUND,
                level="warning",
                message=f"host {host} names no Service ({missing[0]}/{missing[1]} does not exist); "
                "this rule applies to nothing",
                fix="correct spec.host, or create the Service",
                path=("spec", "host"),
            )
            continue
        key = service_key(host, ns_of(dr))
        svc = snapshot.service(*key) if key else None
        if svc is None:
            continue
        selector = spec_of(svc).get("selector") or {}
        pods = [
            p
            for p in snapshot.pods_in(ns_of(svc))
            if selector and selector_matches({"matchLabels": selector}, labels_of(p))
        ]
        routed = _routed_subsets(snapshot, key)
        for i, subset in enumerate(spec_of(dr).get("subsets") or ()):
            wanted = subset.get("labels") or {}
            if any(selector_matches({"matchLabels": wanted}, labels_of(p)) for p in pods):
                continue
            text = ",".join(f"{k}={v}" for k, v in sorted(wanted.items())) or "(none)"
            users = routed.get(str(subset.get("name")), [])
            yield finding(
                dr,
                code=SUBSET_SELECTS_NOTHING,
                level="error" if users else "info",
                message=f"subset {subset.get('name')} selects no pod of Service {name_of(svc)} "
                f"(labels {text}); "
                + (
                    f"VirtualService {', '.join(users)} routes there, so those requests get 503"
                    if users
                    else "no route uses it yet"
                ),
                fix="deploy the version these labels name, or correct the subset's labels",
                path=("spec", "subsets", i, "labels"),
            )


def _routed_subsets(snapshot: Snapshot, key: tuple[str, str] | None) -> dict[str, list[str]]:
    """Subset name → the VirtualServices that route to it on the Service ``key``."""
    routed: dict[str, list[str]] = {}
    for vs in snapshot.virtual_services:
        for _, dest in destinations(vs):
            subset = str(dest.get("subset") or "")
            if subset and service_key(str(dest.get("host") or ""), ns_of(vs)) == key:
                users = routed.setdefault(subset, [])
                if name_of(vs) not in users:
                    users.append(name_of(vs))
    return routed
