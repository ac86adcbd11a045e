r"""Pure VirtualService semantics shared by the deploy/preset code and the sandbox data plane.

Both sides must agree on what a VirtualService means (which rule a request hits, how weights split, what a
fault does), otherwise the traffic pane's "configured" column would disagree with what the sandbox serves for
reasons that have nothing to do with Istio. So the rules live here once, as functions over the plain dicts the
API returns, without I/O.

Istio facts these follow:

* ``http`` rules are tried in order; the first whose ``match`` list has one matching entry wins. A rule
  without ``match`` matches everything. Within one match entry all conditions must hold (uri, headers,
  method).
* String matches are ``exact``, ``prefix`` or ``regex`` (RE2, full match). Python's ``re`` agrees with RE2
  on the patterns people write for headers, but rejects some that RE2 accepts (``\pL``, ``\Q…\E``,
  ``(?U)``, ``\z``): such a rule is reported as an unsupported regex and never matches here.
* A single destination without ``weight`` takes 100%. Several destinations split by ``weight``; when none has
  a weight the split is even.
* A fault's ``percentage.value`` defaults to 100 when absent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any


@dataclass(frozen=True, slots=True)
class RouteMatch:
    """A header-matched rule of a VirtualService, e.g. end-user exact "jason" → {"v2": 100}."""

    header: str
    kind: str  # exact, prefix or regex
    value: str
    weights: Mapping[str, int]
    fault: str = ""
    problem: str = ""  # e.g. "unsupported regex …": the rule is shown but never matches here


@dataclass(frozen=True, slots=True)
class RoutingView:
    """The configured routing of one host (reviews, ratings) read from its VirtualService.

    ``default_weights`` is the route for requests no header rule matches, in percent per subset; empty when
    the VirtualService is missing (Istio then balances over all pods). ``preset`` names the istio-tui preset
    it came from, if any; ``managed`` says whether istio-tui created it (revert then deletes it).
    """

    host: str
    namespace: str
    exists: bool
    managed: bool = False
    preset: str = ""
    default_weights: Mapping[str, int] = field(default_factory=dict)
    matches: tuple[RouteMatch, ...] = ()
    default_fault: str = ""


@dataclass(frozen=True, slots=True)
class PresetPreview:
    """What applying a preset would change: a unified diff of the VirtualService spec, before and after."""

    key: str
    title: str
    host: str
    namespace: str
    creates: bool
    diff: tuple[str, ...]
    before: RoutingView
    after: RoutingView

    @property
    def changes(self) -> bool:
        return bool(self.diff)




Obj = dict[str, Any]

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "istio-tui"
PRESET_ANNOTATION = "istio-tui/preset"
PRESET_TITLE_ANNOTATION = "istio-tui/preset-title"
# JSON of the spec a preset replaced on a VirtualService istio-tui did not create; revert puts it back.
PREVIOUS_ANNOTATION = "istio-tui/previous-spec"
ANY_SUBSET = "*"


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str] | str:
    try:
        return re.compile(pattern)
    except re.error as exc:
        return str(exc)
    except RecursionError:
        return "too deeply nested"


def regex_problem(pattern: str) -> str:
    """"" when the pattern can be evaluated here, else one line: "unsupported regex '…': why"."""
    compiled = _compiled(pattern)
    return f"unsupported regex {pattern!r}: {compiled}" if isinstance(compiled, str) else ""


def string_matches(kind: str, pattern: str, value: str | None) -> bool:
    """An Istio StringMatch (``exact`` / ``prefix`` / ``regex``) against a value. A missing value, an unknown
    kind and a regex this side cannot evaluate (see :func:`regex_problem`) never match."""
    if value is None:
        return False
    if kind == "exact":
        return value == pattern
    if kind == "prefix":
        return value.startswith(pattern)
    if kind == "regex":
        compiled = _compiled(pattern)
        return not isinstance(compiled, str) and compiled.fullmatch(value) is not None
    return False


def string_match_of(rule: Mapping[str, Any] | None) -> tuple[str, str]:
    """(kind, pattern) of an Istio StringMatch dict; ("", "") when it names no kind we know."""
    for kind in ("exact", "prefix", "regex"):
        if kind in (rule or {}):
            return kind, str((rule or {})[kind])
    return "", ""


def _rule_matches(rule: Mapping[str, Any] | None, value: str | None) -> bool:
    return string_matches(*string_match_of(rule), value)


def match_entry_matches(
    entry: Mapping[str, Any], *, path: str, method: str, headers: Mapping[str, str]
) -> bool:
    """One HTTPMatchRequest: every condition it names must hold. Unsupported conditions never match."""
    for key, cond in entry.items():
        if key == "uri":
            if not _rule_matches(cond, path):
                return False
        elif key == "method":
            if not _rule_matches(cond, method):
                return False
        elif key == "headers":
            for name, sm in (cond or {}).items():
                if not _rule_matches(sm, headers.get(name.lower())):
                    return False
        elif key in ("name", "ignoreUriCase"):
            continue
        else:
            return False
    return True


def rule_matches(rule: Mapping[str, Any], *, path: str, method: str, headers: Mapping[str, str]) -> bool:
    """An HTTPRoute applies when it has no match list or any entry matches (``headers``: lower-case keys)."""
    entries = rule.get("match")
    if not entries:
        return True
    return any(match_entry_matches(e, path=path, method=method, headers=headers) for e in entries)


def route_weights(route: list[Mapping[str, Any]] | None) -> dict[str, int]:
    """Percent per subset (``"*"`` for a destination without a subset), following Istio's weight defaults."""
    dests = list(route or [])
    if not dests:
        return {}
    if len(dests) == 1 and not dests[0].get("weight"):
        return {_subset(dests[0]): 100}
    out: dict[str, int] = {}
    if not any(d.get("weight") for d in dests):
        share, extra = divmod(100, len(dests))
        for i, d in enumerate(dests):
            out[_subset(d)] = out.get(_subset(d), 0) + share + (1 if i < extra else 0)
        return out
    for d in dests:
        out[_subset(d)] = out.get(_subset(d), 0) + int(d.get("weight") or 0)
    return out


def _subset(dest: Mapping[str, Any]) -> str:
    return str((dest.get("destination") or {}).get("subset") or ANY_SUBSET)


def fault_text(fault: Mapping[str, Any] | None) -> str:
    """A short description of an HTTPFaultInjection, e.g. "delay 7s (100%)" or "abort 500 (50%)"."""
    if not fault:
        return ""
    parts = []
    delay = fault.get("delay") or {}
    if delay:
        parts.append(
            f"delay {delay.get('fixedDelay') or delay.get('exponentialDelay')} ({fault_percent(delay):g}%)"
        )
    abort = fault.get("abort") or {}
    if abort:
        code = abort.get("httpStatus") or abort.get("grpcStatus") or abort.get("http2Error")
        parts.append(f"abort {code} ({fault_percent(abort):g}%)")
    return ", ".join(parts)


def fault_percent(part: Mapping[str, Any]) -> float:
    pct = (part.get("percentage") or {}).get("value")
    return 100.0 if pct is None else float(pct)


def parse_duration(text: str | None) -> float:
    """Seconds from a protobuf Duration string ("7s", "1.5s", "250ms", "1m"); 0 for anything else."""
    if not text:
        return 0.0
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(ms|s|m|h)\s*", str(text))
    if not m:
        return 0.0
    return float(m.group(1)) * {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}[m.group(2)]


def is_ours(obj: Mapping[str, Any]) -> bool:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return labels.get(MANAGED_BY_LABEL) == MANAGED_BY


def routing_of(vs: Mapping[str, Any] | None, *, host: str = "", namespace: str = "") -> RoutingView:
    """The configured routing of a VirtualService as the traffic pane shows it (None: no VirtualService).

    Header-matched rules become :class:`RouteMatch` rows; the first rule without a match list is the default.
    """
    if vs is None:
        return RoutingView(host=host, namespace=namespace, exists=False)
    meta = vs.get("metadata") or {}
    spec = vs.get("spec") or {}
    annotations = meta.get("annotations") or {}
    matches: list[RouteMatch] = []
    default: dict[str, int] = {}
    default_fault = ""
    for rule in spec.get("http") or []:
        weights = route_weights(rule.get("route"))
        fault = fault_text(rule.get("fault"))
        if not rule.get("match"):
            default, default_fault = weights, fault
            break
        for entry in rule["match"]:
            for name, sm in (entry.get("headers") or {}).items():
                kind, value = string_match_of(sm)
                problem = regex_problem(value) if kind == "regex" else ""
                matches.append(
                    RouteMatch(
                        header=name, kind=kind or "exact", value=value, weights=weights, fault=fault,
                        problem=problem,
                    )
                )
    hosts = spec.get("hosts") or []
    return RoutingView(
        host=host or (str(hosts[0]) if hosts else str(meta.get("name", ""))),
        namespace=namespace or str(meta.get("namespace") or ""),
        exists=True,
        managed=is_ours(vs),
        preset=str(annotations.get(PRESET_ANNOTATION) or ""),
        default_weights=default,
        matches=tuple(matches),
        default_fault=default_fault,
    )


def weights_for(view: RoutingView, *, user: str | None) -> Mapping[str, int]:
    """The weights a request by ``user`` (None: logged out) gets, following the first matching rule."""
    for m in view.matches:
        if m.header == "end-user" and user is not None and string_matches(m.kind, m.value, user):
            return m.weights
    return view.default_weights


def expected_shares(
    view: RoutingView, *, user: str | None, pods_per_subset: Mapping[str, int]
) -> dict[str, float]:
    """The share of requests each subset should get: the configured weights, or, with no VirtualService,
    an even spread over the pods (Istio then balances across all endpoints of the Service)."""
    if view.exists:
        weights = weights_for(view, user=user)
        total = sum(weights.values())
        return {k: v / total for k, v in weights.items()} if total else {}
    pods = sum(pods_per_subset.values())
    return {k: n / pods for k, n in pods_per_subset.items()} if pods else {}


def routing_record(view: RoutingView) -> dict[str, Any]:
    """The configured routing as plain JSON, for exported run records."""
    return {
        "exists": view.exists,
        "preset": view.preset or None,
        "default": dict(view.default_weights),
        "default_fault": view.default_fault or None,
        "matches": [
            {
                "header": m.header,
                "kind": m.kind,
                "value": m.value,
                "weights": dict(m.weights),
                "fault": m.fault,
                **({"problem": m.problem} if m.problem else {}),
            }
            for m in view.matches
        ],
    }
