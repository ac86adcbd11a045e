"""The pod DataTable: rows keyed by pod uid, changed in place, with the selected pod held still on screen.

Every batch from the watch is applied as a diff: cells that changed are updated with ``update_cell``, new pods
are added, gone pods removed, and the table is re-sorted only when a row was added or a value in the sort
column changed. DataTable's cursor is an index, so after any reorder the cursor is moved back to the pod it
was on and the scroll offset is shifted by the same amount; the user sees the rows around them stay put.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from tui.models import SIDECAR_MISSING, SIDECAR_OK, PodHealth, PodRow, pod_cells

NamespaceLabels = Mapping[str, Mapping[str, str]]


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


class KeyText(Text):
    """A NAME cell that remembers its pod, so ``DataTable.sort`` can order rows by any PodRow field."""

    uid: str = ""


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


class PodTable(DataTable[Text]):
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

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.pods: dict[str, PodRow] = {}
        self._cells: dict[str, tuple[str, ...]] = {}
        self._health: dict[str, PodHealth] = {}
        self.all_namespaces = False
        self.pattern: re.Pattern[str] | None = None
        self.sort_column = "namespace"
        self.sort_reverse = False
        self._column_keys: tuple[str, ...] = ()

    # --- structure

    def configure(self, *, all_namespaces: bool) -> None:
        """Start over for a new namespace or selector: no rows, the columns for this view."""
        self.clear(columns=True)
        self.pods.clear()
        self._cells.clear()
        self._health.clear()
        self.all_namespaces = all_namespaces
        columns = ((NAMESPACE_COLUMN,) if all_namespaces else ()) + COLUMNS
        self._column_keys = tuple(c.key for c in columns)
        for col in columns:
            self.add_column(col.label, key=col.key, width=col.width)
        if not all_namespaces and self.sort_column == "namespace":
            self.sort_column = "name"
        if all_namespaces and self.sort_column == "name":
            self.sort_column = "namespace"

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
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        return self.pods.get(key or "")

    def _sort_key(self, name_cell: KeyText) -> Any:
        row = self.pods[name_cell.uid]
        return SORT_KEYS[self.sort_column](row)

    def _cells_for(self, row: PodRow, now: datetime, labels: NamespaceLabels) -> tuple[str, ...]:
        return pod_cells(
            row, now=now, namespace_labels=labels.get(row.namespace), all_namespaces=self.all_namespaces
        )

    def _add(self, row: PodRow, cells: tuple[str, ...]) -> None:
        rendered: list[Text] = []
        for key, value in zip(self._column_keys, cells, strict=True):
            if key == "name":
                name = KeyText(value, no_wrap=True, end="")
                name.uid = row.uid
                rendered.append(name)
            else:
                rendered.append(self._cell(key, value, row.health))
        self.add_row(*rendered, key=row.uid)
        self._cells[row.uid] = cells
        self._health[row.uid] = row.health

    def _update(self, row: PodRow, cells: tuple[str, ...]) -> None:
        old = self._cells[row.uid]
        health_changed = self._health[row.uid] != row.health
        for key, new, before in zip(self._column_keys, cells, old, strict=True):
            if new != before or (key == "status" and health_changed):
                if key == "name":
                    continue  # a pod's name never changes
                # NODE is content-sized and set once, at scheduling: let the column grow for it.
                self.update_cell(row.uid, key, self._cell(key, new, row.health), update_width=key == "node")
        self._cells[row.uid] = cells
        self._health[row.uid] = row.health

    def _remove(self, uid: str) -> None:
        self.remove_row(uid)
        del self._cells[uid]
        del self._health[uid]

    def apply(
        self, upserts: Mapping[str, PodRow], deletes: set[str], *, now: datetime, labels: NamespaceLabels
    ) -> None:
        anchor = self._anchor()
        resort = False
        sort_fn = SORT_KEYS[self.sort_column]
        for uid in deletes:
            self.pods.pop(uid, None)
            if uid in self._cells:
                self._remove(uid)
        for uid, row in upserts.items():
            before = self.pods.get(uid)
            self.pods[uid] = row
            shown = uid in self._cells
            if not self.matches(row):
                if shown:
                    self._remove(uid)
                continue
            cells = self._cells_for(row, now, labels)
            if shown:
                self._update(row, cells)
                if before is not None and sort_fn(before) != sort_fn(row):
                    resort = True
            else:
                self._add(row, cells)
                resort = True
        if resort:
            self._resort()
        self._restore(anchor)

    def rebuild(self, *, now: datetime, labels: NamespaceLabels) -> None:
        """After a filter change: show exactly the matching pods, keeping the selected one selected."""
        anchor = self._anchor()
        self.clear()
        self._cells.clear()
        self._health.clear()
        for row in self.pods.values():
            if self.matches(row):
                self._add(row, self._cells_for(row, now, labels))
        self._resort()
        self._restore(anchor, fallback_top=True)

    def set_sort(self, column: str) -> None:
        anchor = self._anchor()
        if column == self.sort_column:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_column, self.sort_reverse = column, False
        self._resort()
        self._restore(anchor)

    def _resort(self) -> None:
        if self.row_count:
            self.sort("name", key=self._sort_key, reverse=self.sort_reverse)

    def refresh_cells(self, *, now: datetime, labels: NamespaceLabels) -> None:
        """AGE ticks and SIDECAR marks follow the clock and the namespace labels; update only what changed."""
        for uid, old in self._cells.items():
            row = self.pods[uid]
            cells = self._cells_for(row, now, labels)
            if cells != old:
                self._update(row, cells)

    # --- keeping the cursor on its pod

    def _anchor(self) -> tuple[str, int] | None:
        if not self.row_count:
            return None
        uid = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value or ""
        return uid, self.cursor_row - round(self.scroll_y)

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
