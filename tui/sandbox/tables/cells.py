"""Cell formatters shared by the per-group column tables: kubectl's spellings of ages, selectors, lists."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tui.kubeprint import format_age

Obj = dict[str, Any]
Column = tuple[str, str, int]  # name, type, priority
Row = Callable[[Obj], list[Any]]
Layout = tuple[list[Column], Row]


def human_age(timestamp: str | None, *, now: datetime | None = None) -> str:
    """kubectl's short duration format (45s, 3m12s, 5h, 2d3h, 400d) for an RFC 3339 timestamp."""
    if not timestamp:
        return "<unknown>"
    try:
        then = datetime.fromisoformat(timestamp)
    except ValueError:
        return "<unknown>"
    if then.tzinfo is None:
        then = then.replace(tzinfo=UTC)
    return format_age(then, now or datetime.now(UTC))


def age(o: Obj) -> str:
    return human_age(meta(o).get("creationTimestamp"))


def meta(o: Obj) -> Obj:
    return o.get("metadata") or {}


def spec(o: Obj) -> Obj:
    return o.get("spec") or {}


def status(o: Obj) -> Obj:
    return o.get("status") or {}


def name(o: Obj) -> str:
    return str(meta(o).get("name", ""))


def none(v: Any) -> Any:
    return "<none>" if v in (None, "", []) else v


def selector(sel: Any) -> str:
    if not isinstance(sel, dict):
        return "<none>"
    labels = sel.get("matchLabels", sel if "matchExpressions" not in sel else {})
    parts = [f"{k}={v}" for k, v in labels.items() if isinstance(v, str)]
    for e in sel.get("matchExpressions") or []:
        parts.append(
            f"{e.get('key')} {str(e.get('operator', '')).lower()} ({','.join(e.get('values') or [])})"
        )
    return ",".join(parts) or "<none>"


def template_containers(o: Obj, *, template: Obj | None = None) -> tuple[str, str]:
    """CONTAINERS and IMAGES of a workload's pod template."""
    tmpl = template if template is not None else spec(o).get("template") or {}
    cs = (tmpl.get("spec") or {}).get("containers") or []
    names = ",".join(str(c.get("name")) for c in cs) or "<none>"
    images = ",".join(str(c.get("image")) for c in cs) or "<none>"
    return names, images


def created_at(o: Obj) -> str:
    return str(meta(o).get("creationTimestamp", ""))


def limited(items: list[str], *, shown: int = 3) -> str:
    """kubectl's ``a,b,c + 2 more...``."""
    if len(items) > shown:
        return ",".join(items[:shown]) + f" + {len(items) - shown} more..."
    return ",".join(items) or "<none>"


def columns(names: str, *, wide: str = "") -> list[Column]:
    """Column definitions from ``"Name|Data:integer|Age"`` (a type other than string after the colon);
    ``wide`` are the columns only ``-o wide`` shows."""
    out: list[Column] = []
    for priority, group in ((0, names), (1, wide)):
        for spec_ in filter(None, group.split("|")):
            label, _, ctype = spec_.partition(":")
            out.append((label, ctype or "string", priority))
    return out


POD_TEMPLATE = "Containers|Images|Selector"  # the -o wide columns of every pod-template owner
NAME_AGE: Layout = (columns("Name|Age"), lambda o: [name(o), age(o)])
