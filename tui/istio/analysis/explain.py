"""Which findings explain what a traffic run saw: 503s, 404s, or a split far from the configuration.

Facts: a route to an undefined subset, a subset with no pods or a host with no Service answers 503; a request
that no gateway server or route takes answers 404; a split differs from its VirtualService when routing is
not applied at all (the caller has no sidecar, the namespace is ambient without a waypoint, the revision label
is ignored) or when a subset cannot be reached.
"""

from __future__ import annotations

from collections.abc import Iterable

from tui.istio.analysis.model import Finding

SYMPTOMS: dict[str, frozenset[str]] = {
    "503": frozenset({"IT0201", "IT0202", "IT0203"}),
    "404": frozenset({"IT0101", "IT0102", "IT0103", "IT0203", "IT0701"}),
    "split": frozenset({"IT0201", "IT0202", "IT0301", "IT0303", "IT0601"}),
}


def explain(findings: Iterable[Finding], symptoms: Iterable[str]) -> list[str]:
    """One line per finding that explains a symptom, led by the symptom: ``503: VirtualService reviews …``.
    Infos never explain anything; each finding is named once, under the first symptom it explains."""
    lines: list[str] = []
    named: set[Finding] = set()
    findings = [f for f in findings if f.level != "info"]
    for symptom in symptoms:
        for f in findings:
            if f.code in SYMPTOMS.get(symptom, ()) and f not in named:
                named.add(f)
                lines.append(f"{symptom}: {_about(f)}")
    return lines


def _about(f: Finding) -> str:
    """The message, led by the object it is about unless it already names it."""
    who = f"{f.kind} {f.name}"
    return f.message if f.message.startswith(who) else f"{who}: {f.message}"
