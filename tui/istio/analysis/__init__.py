"""Mesh analysis: checks that explain why traffic fails and name the object, the field and the fix.

UI-free. ``take_snapshot`` reads the objects through ``tui.kube``; every check is a pure function of a
``Snapshot`` (one module per family: gateways, routes, sidecars, ports, deprecated, ambient, gatewayapi);
``analyze`` runs them all. Codes (``IT0101``…) are stable and listed in the README with the istioctl analyze
code where one matches.
"""

from __future__ import annotations

from tui.istio.analysis.model import KINDS, Finding, Snapshot, path_text
from tui.istio.analysis.runner import analyze, has_errors, in_scope

__all__ = ["KINDS", "Finding", "Snapshot", "analyze", "has_errors", "in_scope", "path_text"]
