"""The pod DataTable: rows keyed by pod uid, changed in place, with the selected pod held still on screen.

Every batch from the watch is applied as a diff: cells that changed are updated with ``update_cell``, new pods
are added, gone pods removed, and rows move only when a pod was added or its value in the sort column changed.
DataTable's cursor is an index, so after any reorder the cursor is moved back to the pod it was on and the
scroll offset is shifted by the same amount; the user sees the rows around them stay put.

Scale (10,000 pods, hundreds of changes a second) needs what stock DataTable does per call in O(rows log rows)
or O(rows) done once per batch or not at all: the sort order is kept as a sorted list (bisect on insert, so no
comparison sort per batch) and rows are re-indexed once per batch; row geometry comes from the index (every
row is one line tall) instead of summing the heights of all rows above; and AGE cells render against the clock
when drawn, so a second passing re-renders only the visible rows.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from rich.console import Console, ConsoleOptions, RenderResult
from rich.style import Style
from rich.text import Text
from textual._two_way_dict import TwoWayDict
from textual.binding import Binding, BindingType
from textual.geometry import Region, Spacing
from textual.widgets import DataTable
from textual.widgets.data_table import CellKey, RowKey

from tui.istio.pods import pod_cells
from tui.models import SIDECAR_MISSING, SIDECAR_OK, PodHealth, PodRow, format_age

NamespaceLabels = Mapping[str, Mapping[str, str]]
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: int | None  # None: sized to the content (only for values that never change)


NAMESPACE_COLUMN = Column("namespace", "NAMESPACE", None)
# SIDECAR sits next to READY so the mesh columns stay visible on a narrow terminal; NODE is clipped first.
COLUMNS = (
    Column("name", "NAME", None),
    Column("ready", "READY", 5),
    Column("sidecar", "SIDECAR", 7),
    Column("status", "STATUS", 17),
    Column("restarts", "RESTARTS", 8),
    Column("age", "AGE", 6),
    Column("ip", "IP", 15),
    Column("node", "NODE", None),
)


class AgeCell:
    """AGE, rendered against the app's clock whenever the row is drawn (a ticking clock costs no updates)."""

    def __init__(self, created: datetime | None, clock: Clock) -> None:
        self.created = created
        self.clock = clock

    @property
    def plain(self) -> str:
        return format_age(self.created, self.clock())

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield Text(self.plain, no_wrap=True, end="")


def _created_key(row: PodRow) -> float:
    return -row.created.timestamp() if row.created else float("inf")


SORT_KEYS: dict[str, Callable[[PodRow], Any]] = {
    "namespace": lambda r: (r.namespace, r.name),
    "name": lambda r: (r.name, r.namespace),
    "ready": lambda r: (r.ready - r.total, r.namespace, r.name),
    "status": lambda r: (r.status, r.namespace, r.name),
    "restarts": lambda r: (r.restarts, r.namespace, r.name),
    "age": lambda r: (_created_key(r), r.namespace, r.name),
    "ip": lambda r: (tuple(int(p) if p.isdigit() else 0 for p in r.ip.split(".")), r.namespace, r.name),
    "node": lambda r: (r.node, r.namespace, r.name),
}


def row_search_text(row: PodRow) -> str:
    return f"{row.namespace}/{row.name} {row.status} {row.ip}"


class PodTable(DataTable[Any]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("g", "scroll_top", "Top", show=False),
        Binding("G", "scroll_bottom", "Bottom", show=False),
        Binding("ctrl+f", "page_down", "Page down", show=False),
        Binding("ctrl+b", "page_up", "Page up", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "pod-table--ok",
        "pod-table--pending",
        "pod-table--failing",
        "pod-table--done",
        "pod-table--sidecar-ok",
        "pod-table--sidecar-missing",
    }

    def __init__(self, *, clock: Clock, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.clock = clock
        self.pods: dict[str, PodRow] = {}
        self._cells: dict[str, tuple[str, ...]] = {}
        self._health: dict[str, PodHealth] = {}
        self.all_namespaces = False
        self.pattern: re.Pattern[str] | None = None
        self.sort_column = "namespace"
        self.sort_reverse = False
        self._column_keys: tuple[str, ...] = ()
        self._row_keys: dict[str, RowKey] = {}
        self._order: list[tuple[Any, str]] = []  # (sort key, uid), always sorted ascending
        self._order_keys: dict[str, tuple[Any, str]] = {}
        self._reindex_due = False

    # --- structure

    def configure(self, *, all_namespaces: bool) -> None:
        """Start over for a new namespace or selector: no rows, the columns for this view."""
        self._clear_rows()
        self.clear(columns=True)
        self.pods.clear()
        self.all_namespaces = all_namespaces
        columns = ((NAMESPACE_COLUMN,) if all_namespaces else ()) + COLUMNS
        self._column_keys = tuple(c.key for c in columns)
        for col in columns:
            self.add_column(col.label, key=col.key, width=col.width)
        if not all_namespaces and self.sort_column == "namespace":
            self.sort_column = "name"

    # --- styles

    def _style(self, component: str) -> Style:
        return self.get_component_rich_style(component, partial=True)

    def _cell(self, key: str, value: str, health: PodHealth) -> Text:
        if key == "status":
            return Text(value, style=self._style(f"pod-table--{health.value}"), no_wrap=True, end="")
        if key == "sidecar" and value:
            kind = "ok" if value == SIDECAR_OK else "missing" if value == SIDECAR_MISSING else ""
            return Text(value, style=self._style(f"pod-table--sidecar-{kind}") if kind else "", end="")
        return Text(value, no_wrap=True, end="")

    # --- data

    def matches(self, row: PodRow) -> bool:
        return self.pattern is None or self.pattern.search(row_search_text(row)) is not None

    def selected(self) -> PodRow | None:
        if not self.row_count:
            return None
        key = self._row_locations.get_key(self.cursor_row)
        return self.pods.get(key.value or "") if key is not None else None

    def _order_key(self, row: PodRow) -> tuple[Any, str]:
        return SORT_KEYS[self.sort_column](row), row.uid

    def _cells_for(self, row: PodRow, labels: NamespaceLabels) -> tuple[str, ...]:
        cells = pod_cells(
            row,
            now=self.clock(),
            namespace_labels=labels.get(row.namespace),
            all_namespaces=self.all_namespaces,
        )
        return tuple("" if key == "age" else cell for key, cell in zip(self._column_keys, cells, strict=True))

    def _add(self, row: PodRow, cells: tuple[str, ...]) -> None:
        rendered: list[Any] = []
        for key, value in zip(self._column_keys, cells, strict=True):
            if key == "age":
                rendered.append(AgeCell(row.created, self.clock))
            else:
                rendered.append(self._cell(key, value, row.health))
        self._row_keys[row.uid] = self.add_row(*rendered, key=row.uid)
        self._cells[row.uid] = cells
        self._health[row.uid] = row.health
        order_key = self._order_key(row)
        self._order_keys[row.uid] = order_key
        bisect.insort(self._order, order_key)
        self._reindex_due = True

    def _update(self, row: PodRow, cells: tuple[str, ...]) -> None:
        old = self._cells[row.uid]
        health_changed = self._health[row.uid] != row.health
        for key, new, before in zip(self._column_keys, cells, old, strict=True):
            if (new != before or (key == "status" and health_changed)) and key != "name":
                # NODE is content-sized and set once, at scheduling: let the column grow for it.
                self.update_cell(row.uid, key, self._cell(key, new, row.health), update_width=key == "node")
        self._cells[row.uid] = cells
        self._health[row.uid] = row.health
        order_key = self._order_key(row)
        if order_key != self._order_keys[row.uid]:
            self._unorder(row.uid)
            self._order_keys[row.uid] = order_key
            bisect.insort(self._order, order_key)
            self._reindex_due = True

    def _unorder(self, uid: str) -> None:
        order_key = self._order_keys.pop(uid)
        index = bisect.bisect_left(self._order, order_key)
        del self._order[index]

    def _remove_many(self, uids: Iterable[str]) -> None:
        """``remove_row`` re-indexes every row per call; here one re-index at the end of the batch does."""
        for uid in uids:
            if uid not in self._cells:
                continue
            key = self._row_keys.pop(uid)
            del self.rows[key]
            del self._data[key]
            del self._cells[uid]
            del self._health[uid]
            self._unorder(uid)
            self._new_rows.discard(key)
            for column_key in self.columns:
                self._updated_cells.discard(CellKey(key, column_key))
            self._reindex_due = True

    def _reindex(self) -> None:
        """Row positions from the maintained sort order: O(rows) dict building, no comparison sort."""
        if not self._reindex_due:
            return
        self._reindex_due = False
        keys = self._row_keys
        ordered = reversed(self._order) if self.sort_reverse else iter(self._order)
        self._row_locations = TwoWayDict({keys[uid]: index for index, (_, uid) in enumerate(ordered)})
        self._require_update_dimensions = True
        self.check_idle()
        self.cursor_coordinate = self.cursor_coordinate
        self._update_count += 1
        self.refresh(layout=True)

    def apply(self, upserts: Mapping[str, PodRow], deletes: set[str], *, labels: NamespaceLabels) -> None:
        anchor = self._anchor()
        hide: list[str] = list(deletes)
        for uid in deletes:
            self.pods.pop(uid, None)
        for uid, row in upserts.items():
            self.pods[uid] = row
            shown = uid in self._cells
            if not self.matches(row):
                if shown:
                    hide.append(uid)
                continue
            cells = self._cells_for(row, labels)
            if shown:
                self._update(row, cells)
            else:
                self._add(row, cells)
        self._remove_many(hide)
        self._reindex()
        self._restore(anchor)

    def _clear_rows(self) -> None:
        self.clear()
        self._cells.clear()
        self._health.clear()
        self._row_keys.clear()
        self._order.clear()
        self._order_keys.clear()
        self._reindex_due = False

    def rebuild(self, *, labels: NamespaceLabels) -> None:
        """After a filter change: show exactly the matching pods, keeping the selected one selected."""
        anchor = self._anchor()
        self._clear_rows()
        for row in self.pods.values():
            if self.matches(row):
                self._add(row, self._cells_for(row, labels))
        self._reindex()
        self._restore(anchor, fallback_top=True)

    def set_sort(self, column: str) -> None:
        anchor = self._anchor()
        if column == self.sort_column:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_column, self.sort_reverse = column, False
        self._order_keys = {uid: self._order_key(self.pods[uid]) for uid in self._cells}
        self._order = sorted(self._order_keys.values())
        self._reindex_due = True
        self._reindex()
        self._restore(anchor)

    def refresh_cells(self, *, labels: NamespaceLabels) -> None:
        """SIDECAR marks follow the namespace labels; update only the cells that changed."""
        for uid, old in list(self._cells.items()):
            row = self.pods[uid]
            cells = self._cells_for(row, labels)
            if cells != old:
                self._update(row, cells)

    def tick(self) -> None:
        """A second passed: redraw (only the visible rows are rendered) so AGE cells show the new time."""
        self._update_count += 1
        self.refresh()

    # --- keeping the cursor on its pod

    def _anchor(self) -> tuple[str, int] | None:
        if not self.row_count:
            return None
        key = self._row_locations.get_key(self.cursor_row)
        if key is None:
            return None
        return key.value or "", self.cursor_row - round(self.scroll_y)

    def _restore(self, anchor: tuple[str, int] | None, *, fallback_top: bool = False) -> None:
        if anchor is None:
            return
        uid, offset = anchor
        if uid not in self._cells:
            if fallback_top:
                self.move_cursor(row=0)
            return
        index = self.get_row_index(uid)
        if index == self.cursor_row and not fallback_top:
            return
        self.move_cursor(row=index, scroll=False)
        target = max(0, index - offset)

        def scroll() -> None:
            self.scroll_to(y=target, animate=False, immediate=True)

        self.call_after_refresh(scroll)

    # --- geometry: every row is one line, so positions come from the index, not from summing heights

    @property
    def _total_row_height(self) -> int:
        return len(self.rows)

    def _get_offsets(self, y: int) -> tuple[RowKey, int]:
        if self.show_header:
            if y < self.header_height:
                return self._header_row_key, y
            y -= self.header_height
        key = self._row_locations.get_key(y)
        if key is None:
            raise LookupError(f"Y coord {y!r} is greater than total height")
        return key, 0

    def _row_y(self, row_index: int) -> int:
        return row_index + (self.header_height if self.show_header else 0)

    def _get_cell_region(self, coordinate: Any) -> Region:
        if not self.is_valid_coordinate(coordinate):
            return Region(0, 0, 0, 0)
        row_index, column_index = coordinate
        columns = self.ordered_columns
        x = sum(c.get_render_width(self) for c in columns[:column_index]) + self._row_label_column_width
        return Region(x, self._row_y(row_index), columns[column_index].get_render_width(self), 1)

    def _get_row_region(self, row_index: int) -> Region:
        if not self.is_valid_row_index(row_index):
            return Region(0, 0, 0, 0)
        width = sum(c.get_render_width(self) for c in self.columns.values()) + self._row_label_column_width
        return Region(0, self._row_y(row_index), max(self.size.width, width), 1)

    def _get_fixed_offset(self) -> Spacing:
        top = self.header_height if self.show_header else 0
        return Spacing(top, 0, 0, self._row_label_column_width)
