"""Kubernetes ``metav1.LabelSelector`` objects (matchLabels + matchExpressions) evaluated against labels.

Both the injection preflight (which reads webhook selectors from a real cluster) and the sandbox (which must
decide like the API server does) need the same answer, so the one evaluator lives here, free of UI and cluster
dependencies.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def match_label_selector_object(selector: Mapping[str, Any] | None, labels: Mapping[str, str] | None) -> bool:
    """Evaluate a ``metav1.LabelSelector``; None or {} matches all.

    Raises ValueError for an unknown operator or a malformed expression, as the API server would reject it.
    """
    if not selector:
        return True
    labels = labels or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        if not isinstance(expr, Mapping) or "key" not in expr or "operator" not in expr:
            raise ValueError(f"matchExpressions entry must have key and operator: {expr!r}")
        key, op = str(expr["key"]), expr["operator"]
        values = [str(v) for v in (expr.get("values") or [])]
        present = key in labels
        if op == "In":
            ok = present and labels[key] in values
        elif op == "NotIn":
            ok = not present or labels[key] not in values
        elif op == "Exists":
            ok = present
        elif op == "DoesNotExist":
            ok = not present
        else:
            raise ValueError(f'"{op}" is not a valid label selector operator')
        if not ok:
            return False
    return True


def selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str] | None) -> bool:
    """Like ``match_label_selector_object`` but a selector the API server would reject selects nothing.

    Used where the selector comes from stored objects (webhooks) and must never abort the caller.
    """
    try:
        return match_label_selector_object(selector, labels)
    except ValueError:
        return False
