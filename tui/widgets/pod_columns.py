"""Which pod-table columns fit a given width, and how wide each one is.

A value is never cut silently. Each column is as wide as its widest value; when the terminal is too
narrow the table first shrinks the columns whose values are long free text (NODE, NAME, NAMESPACE, STATUS,
each down to a floor) and shows the rest of such a value as ``…``; then it drops whole columns in
``DROP_ORDER`` and says how many it dropped. NAME, READY and STATUS always stay.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    label: str
    floor: int | None = None  # shrinks to this many cells (with …); None: never narrower than its values


NAMESPACE = Column("namespace", "NAMESPACE", floor=10)
COLUMNS = (
    Column("name", "NAME", floor=24),
    Column("ready", "READY"),
    Column("dataplane", "DATAPLANE"),
    Column("status", "STATUS", floor=12),
    Column("restarts", "RESTARTS"),
    Column("age", "AGE"),
    Column("ip", "IP"),
    Column("node", "NODE", floor=10),
)
# The least useful first: a narrow terminal loses NODE, then IP, AGE, RESTARTS and last DATAPLANE.
DROP_ORDER = ("node", "ip", "age", "restarts", "dataplane")
SHRINK_ORDER = ("node", "name", "namespace", "status")
GAP = 2  # blank cells between two columns
INDENT = 1  # blank cells before the first column


@dataclass(frozen=True, slots=True)
class Layout:
    columns: tuple[Column, ...]
    widths: tuple[int, ...]
    hidden: tuple[str, ...]  # labels of the dropped columns, in table order


def columns_for(*, all_namespaces: bool) -> tuple[Column, ...]:
    return ((NAMESPACE,) if all_namespaces else ()) + COLUMNS


def _total(widths: Sequence[int]) -> int:
    return INDENT + sum(widths) + GAP * max(0, len(widths) - 1)


def fit(columns: Sequence[Column], natural: Mapping[str, int], width: int) -> Layout:
    """The widest layout that fits ``width``: shrink free-text columns to their floors, then drop columns."""
    wanted = {c.key: max(len(c.label), natural.get(c.key, 0)) for c in columns}
    droppable = [k for k in DROP_ORDER if k in wanted]
    for dropped in range(len(droppable) + 1):
        gone = set(droppable[:dropped])
        kept = [c for c in columns if c.key not in gone]
        widths = {c.key: wanted[c.key] for c in kept}
        excess = _total(list(widths.values())) - width
        for key in SHRINK_ORDER:
            if excess <= 0:
                break
            column = next((c for c in kept if c.key == key), None)
            if column is None or column.floor is None:
                continue
            floor = max(column.floor, len(column.label))
            give = min(excess, max(0, widths[key] - floor))
            widths[key] -= give
            excess -= give
        if excess <= 0 or dropped == len(droppable):
            hidden = tuple(c.label for c in columns if c.key in gone)
            return Layout(tuple(kept), tuple(widths[c.key] for c in kept), hidden)
    raise AssertionError("unreachable: the last round always returns")


def clip(text: str, width: int, *, middle: bool = False) -> str:
    """``text`` in exactly ``width`` cells: padded, or shortened with ``…`` (never cut without a mark).

    ``middle`` keeps both ends, for pod names whose unique suffix matters more than their middle.
    """
    if len(text) <= width:
        return text.ljust(width)
    if width <= 1:
        return "…"[:width]
    if middle:
        tail = (width - 1) // 2
        return text[: width - 1 - tail] + "…" + (text[-tail:] if tail else "")
    return text[: width - 1] + "…"
