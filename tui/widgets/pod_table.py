"""The pod table on Textual's Line API: it draws only the rows on screen, so 50,000 pods cost what 40 do.

The table holds every pod it was given (``pods``) and a sorted index of the ones the filter shows
(``_order``: ``(sort key, uid)`` pairs, ascending). A watch batch edits that index with bisection, or sorts
it once when the batch is a large part of the table (the first list); nothing else scales with the row
count. ``render_line`` turns one visible row into a ``Strip`` and keeps it keyed by the row object (a new
``PodRow`` per change), the cursor, the AGE text, the DATAPLANE mark and the column layout, so a key press
redraws two lines and a clock tick only the rows whose age text moved.

The cursor follows its pod, not its index: after every batch, sort or filter the selected pod keeps its line
on screen while rows come and go above it. Column widths come from the widest value seen; what does not fit
is shortened with ``…`` and whole columns drop in ``pod_columns.DROP_ORDER`` (``ColumnsHidden`` tells the
pane, which names them in its title).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui.istio.pods import pod_cells
from tui.models import DATAPLANE_AMBIENT, DATAPLANE_SIDECAR, SIDECAR_MISSING, PodRow, format_age
from tui.widgets.pod_columns import GAP, INDENT, Column, Layout, clip, columns_for, fit

NamespaceLabels = Mapping[str, Mapping[str, str]]
Clock = Callable[[], datetime]
# Rows applied per frame while a big list arrives, and the batch size from which one linear merge beats a
# bisection (and a list shift) per row.
FRAME_BUDGET = 5_000
BULK_ROWS = 200
CACHE_LIMIT = 2_000


def _created_key(row: PodRow) -> float:
    return -row.created.timestamp() if row.created else float("inf")


def _ip_key(ip: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in ip.split("."))


SORT_KEYS: dict[str, Callable[[PodRow], Any]] = {
    "namespace": lambda r: (r.namespace, r.name),
    "name": lambda r: (r.name, r.namespace),
    "ready": lambda r: (r.ready - r.total, r.namespace, r.name),
    "status": lambda r: (r.status, r.namespace, r.name),
    "restarts": lambda r: (r.restarts, r.namespace, r.name),
    "age": lambda r: (_created_key(r), r.namespace, r.name),
    "ip": lambda r: (_ip_key(r.ip), r.namespace, r.name),
    "node": lambda r: (r.node, r.namespace, r.name),
}
# The values whose width is tracked as rows arrive (the rest have a fixed or clock-driven width).
_MEASURED: dict[str, Callable[[PodRow], int]] = {
    "namespace": lambda r: len(r.namespace),
    "name": lambda r: len(r.name),
    "ready": lambda r: len(r.ready_text),
    "status": lambda r: len(r.status),
    "restarts": lambda r: len(str(r.restarts)),
    "ip": lambda r: len(r.ip or "<none>"),
    "node": lambda r: len(r.node or "<none>"),
}
_FIXED_WIDTHS = {"dataplane": len(DATAPLANE_SIDECAR), "age": 5}


def row_search_text(row: PodRow) -> str:
    return f"{row.namespace}/{row.name} {row.status} {row.ip}"


class PodTable(ScrollView, can_focus=True):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("home,g", "first", "Top", show=False),
        Binding("end,G", "last", "Bottom", show=False),
        Binding("pagedown,ctrl+f", "page_down", "Page down", show=False),
        Binding("pageup,ctrl+b", "page_up", "Page up", show=False),
        Binding("enter", "select", "Select", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "pod-table--header",
        "pod-table--cursor",
        "pod-table--ok",
        "pod-table--pending",
        "pod-table--failing",
        "pod-table--done",
        "pod-table--dataplane-ok",
        "pod-table--dataplane-missing",
    }

    class RowSelected(Message):
        """Enter (or a click on the cursor row): the pane describes this pod."""

        def __init__(self, row: PodRow) -> None:
            super().__init__()
            self.row = row

    class ColumnsHidden(Message):
        """The terminal got narrower or wider and the set of dropped columns changed."""

        def __init__(self, hidden: tuple[str, ...]) -> None:
            super().__init__()
            self.hidden = hidden

    def __init__(self, *, clock: Clock, id: str | None = None) -> None:
        super().__init__(id=id)
        self.clock = clock
        self.pods: dict[str, PodRow] = {}
        self.labels: NamespaceLabels = {}
        self.all_namespaces = False
        self.pattern: re.Pattern[str] | None = None
        self.sort_column = "namespace"
        self.sort_reverse = False
        self.cursor_row = 0
        self.hidden_columns: tuple[str, ...] = ()
        self._columns: tuple[Column, ...] = columns_for(all_namespaces=False)
        self._order: list[tuple[Any, str]] = []
        self._keys: dict[str, tuple[Any, str]] = {}
        self._natural: dict[str, int] = {}
        self._layout: Layout | None = None
        self._layout_for: tuple[Any, ...] = ()
        self._styles: dict[str, Style] = {}
        self._lines: dict[str, tuple[tuple[Any, ...], Strip]] = {}
        self._moved = False  # the user moved the cursor: from then on it follows its pod
        self._waiting: dict[str, PodRow] = {}
        self._gone: set[str] = set()
        self._window: tuple[Any, ...] = ()  # what the last redraw showed

    # --- structure

    def configure(self, *, all_namespaces: bool) -> None:
        """Start over for a new namespace or selector: no rows, the columns for this view."""
        self.pods.clear()
        self._waiting.clear()
        self._gone.clear()
        self.all_namespaces = all_namespaces
        self._columns = columns_for(all_namespaces=all_namespaces)
        if not all_namespaces and self.sort_column == "namespace":
            self.sort_column = "name"
        self._moved = False
        self._reset_rows()
        self.cursor_row = 0
        self._changed(None)

    def _reset_rows(self) -> None:
        self._order.clear()
        self._keys.clear()
        self._lines.clear()
        self._natural = {}

    @property
    def row_count(self) -> int:
        return len(self._order)

    # --- reading rows (the pane and the tests)

    def _uid_at(self, index: int) -> str:
        return self._order[len(self._order) - 1 - index if self.sort_reverse else index][1]

    def row_at(self, index: int) -> PodRow:
        return self.pods[self._uid_at(index)]

    def index_of(self, uid: str) -> int | None:
        key = self._keys.get(uid)
        if key is None:
            return None
        index = bisect.bisect_left(self._order, key)
        return len(self._order) - 1 - index if self.sort_reverse else index

    def cells(self, index: int) -> dict[str, str]:
        """Every column's full text for row ``index`` (also the columns the width hides)."""
        return self._full_texts(self.row_at(index), self.clock())

    def _full_texts(self, row: PodRow, now: datetime) -> dict[str, str]:
        texts = pod_cells(
            row, now=now, namespace_labels=self.labels.get(row.namespace), all_namespaces=self.all_namespaces
        )
        return dict(zip((c.key for c in self._columns), texts, strict=True))

    def header_line(self) -> str:
        layout = self._current_layout()
        pairs = zip(layout.columns, layout.widths, strict=True)
        return self._join(clip(c.label, w) for c, w in pairs).rstrip()

    def selected(self) -> PodRow | None:
        if not self._order:
            return None
        return self.row_at(min(self.cursor_row, len(self._order) - 1))

    def matches(self, row: PodRow) -> bool:
        return self.pattern is None or self.pattern.search(row_search_text(row)) is not None

    # --- changes

    def _order_key(self, row: PodRow) -> tuple[Any, str]:
        return SORT_KEYS[self.sort_column](row), row.uid

    def _measure(self, row: PodRow) -> None:
        natural = self._natural
        for key, measure in _MEASURED.items():
            width = measure(row)
            if width > natural.get(key, 0):
                natural[key] = width

    def apply(self, upserts: Mapping[str, PodRow], deletes: set[str], *, labels: NamespaceLabels) -> None:
        """One watch batch; the selected pod keeps its screen line.

        At most ``FRAME_BUDGET`` upserts are applied per call so a frame stays short while a big list
        arrives; the rest wait in a backlog (``behind``) that later calls drain first.
        """
        waiting, gone = self._waiting, self._gone
        for uid in deletes:
            waiting.pop(uid, None)
            gone.add(uid)
        for uid, row in upserts.items():
            gone.discard(uid)
            waiting[uid] = row
        batch = [waiting.popitem() for _ in range(min(FRAME_BUDGET, len(waiting)))]
        anchor = self._anchor()
        self.labels = labels
        bulk = len(batch) > BULK_ROWS
        for uid in gone:
            self.pods.pop(uid, None)
            self._unshow(uid, bulk=bulk)
        gone.clear()
        fresh: list[tuple[Any, str]] = []
        sort_key = SORT_KEYS[self.sort_column]
        for uid, row in batch:
            self.pods[uid] = row
            if not self.matches(row):
                self._unshow(uid, bulk=bulk)
                continue
            self._measure(row)
            key = (sort_key(row), uid)
            old = self._keys.get(uid)
            if old == key:
                continue
            if old is not None:
                self._unshow(uid, bulk=bulk)
            self._keys[uid] = key
            if bulk:
                fresh.append(key)
            else:
                bisect.insort(self._order, key)
        if bulk:
            keys = self._keys
            # Both parts are sorted runs, so this sort is one linear merge.
            self._order = [k for k in self._order if keys.get(k[1]) is k] + sorted(fresh)
            self._order.sort()
        self._changed(anchor)

    @property
    def behind(self) -> bool:
        """Rows received but not applied yet (a big list is spread over several frames)."""
        return bool(self._waiting or self._gone)

    def _unshow(self, uid: str, *, bulk: bool) -> None:
        key = self._keys.pop(uid, None)
        self._lines.pop(uid, None)
        if key is not None and not bulk:
            del self._order[bisect.bisect_left(self._order, key)]

    def rebuild(self, *, labels: NamespaceLabels) -> None:
        """After a filter change: show exactly the matching pods, keeping the selected one selected."""
        anchor = self._anchor()
        self.labels = labels
        self._reset_rows()
        for uid, row in self.pods.items():
            if self.matches(row):
                self._measure(row)
                self._keys[uid] = self._order_key(row)
        self._order = sorted(self._keys.values())
        self._changed(anchor, fallback_top=True)

    def set_sort(self, column: str) -> None:
        anchor = self._anchor()
        if column == self.sort_column:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_column, self.sort_reverse = column, False
        self._keys = {uid: self._order_key(self.pods[uid]) for uid in self._keys}
        self._order = sorted(self._keys.values())
        self._changed(anchor)

    def refresh_cells(self, *, labels: NamespaceLabels) -> None:
        """Namespace labels changed: DATAPLANE marks are drawn from them, so a redraw is enough."""
        self.labels = labels
        self._window = ()
        self.refresh()

    def tick(self) -> None:
        """A second passed: redraw; only rows whose AGE text changed are rendered again."""
        self.refresh()

    # --- keeping the cursor on its pod

    def _anchor(self) -> tuple[str, int, int] | None:
        """(selected uid, its index, its line on screen) before a change."""
        if not self._order or not self._moved:
            return None
        index = min(self.cursor_row, len(self._order) - 1)
        return self._uid_at(index), index, index - round(self.scroll_y)

    def _changed(self, anchor: tuple[str, int, int] | None, *, fallback_top: bool = False) -> None:
        count = len(self._order)
        self.virtual_size = Size(0, count + 1)
        if anchor is None:
            self.cursor_row = 0 if not self._moved else min(self.cursor_row, max(count - 1, 0))
        else:
            uid, old_index, line = anchor
            index = self.index_of(uid)
            if index is None:
                index = 0 if fallback_top else min(old_index, max(count - 1, 0))
                line = 0 if fallback_top else line
            self.cursor_row = index
            self.scroll_to(y=max(0, index - line), animate=False, immediate=True, force=True)
        self._refresh_if_visible_changed()

    def _refresh_if_visible_changed(self) -> None:
        """Most batches touch no row on screen (40 of 10,000 pods): then there is nothing to redraw."""
        top = round(self.scroll_y)
        end = min(len(self._order), top + self._page)
        window = (self.cursor_row, top, *(self.pods[self._uid_at(i)] for i in range(top, end)))
        if window != self._window:
            self._window = window
            self.refresh()

    # --- cursor

    @property
    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def move_cursor(self, *, row: int) -> None:
        count = len(self._order)
        if not count:
            return
        self._moved = True
        old = self.cursor_row
        self.cursor_row = max(0, min(row, count - 1))
        top = round(self.scroll_y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True, force=True)
        elif self.cursor_row >= top + self._page:
            self.scroll_to(y=self.cursor_row - self._page + 1, animate=False, immediate=True, force=True)
        self.refresh_line(old + 1)
        self.refresh_line(self.cursor_row + 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(row=self.cursor_row + 1)

    def action_cursor_up(self) -> None:
        self.move_cursor(row=self.cursor_row - 1)

    def action_first(self) -> None:
        self.move_cursor(row=0)

    def action_last(self) -> None:
        self.move_cursor(row=len(self._order) - 1)

    def action_page_down(self) -> None:
        self.move_cursor(row=self.cursor_row + self._page)

    def action_page_up(self) -> None:
        self.move_cursor(row=self.cursor_row - self._page)

    def action_select(self) -> None:
        if (row := self.selected()) is not None:
            self.post_message(self.RowSelected(row))

    def on_click(self, event: events.Click) -> None:
        if event.y < 1:
            return
        index = round(self.scroll_y) + event.y - 1
        if index >= len(self._order):
            return
        if index == self.cursor_row and self._moved:
            self.action_select()
        else:
            self.move_cursor(row=index)

    def refresh_line(self, y: int) -> None:
        """Row lines sit one below their index (the header is line 0 and never scrolls)."""
        screen_y = y - round(self.scroll_y)
        if 1 <= screen_y < self.size.height:
            super().refresh_line(y)

    # --- layout

    def _current_layout(self) -> Layout:
        width = self.scrollable_content_region.width or self.size.width
        natural = {**self._natural, **_FIXED_WIDTHS}
        signature = (width, self._columns, tuple(sorted(natural.items())))
        if self._layout is None or signature != self._layout_for:
            self._layout = fit(self._columns, natural, width)
            self._layout_for = signature
            self._lines.clear()
            if self._layout.hidden != self.hidden_columns:
                self.hidden_columns = self._layout.hidden
                self.post_message(self.ColumnsHidden(self._layout.hidden))
        return self._layout

    def on_resize(self) -> None:
        self._current_layout()

    @staticmethod
    def _join(parts: Any) -> str:
        return " " * INDENT + (" " * GAP).join(parts)

    def _texts(self, row: PodRow, layout: Layout, now: datetime) -> list[str]:
        full = self._full_texts(row, now)
        pairs = zip(layout.columns, layout.widths, strict=True)
        return [clip(full[c.key], w, middle=c.key == "name") for c, w in pairs]

    # --- drawing

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()
        self._lines.clear()

    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            style = self._styles[name] = self.get_component_rich_style(name, partial=True)
        return style

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        layout = self._current_layout()
        base = self.rich_style
        if y == 0:
            header = base + self._style("pod-table--header")
            return Strip([Segment(self.header_line(), header)]).extend_cell_length(width, header)
        index = round(self.scroll_y) + y - 1
        if index >= len(self._order):
            return Strip.blank(width, base)
        uid = self._uid_at(index)
        row = self.pods[uid]
        now = self.clock()
        selected = index == self.cursor_row
        age = format_age(row.created, now)
        signature = (row, selected, age, self.labels.get(row.namespace), width)
        cached = self._lines.get(uid)
        if cached is not None and cached[0] == signature:
            return cached[1]
        strip = self._render_row(row, layout, now, base, selected=selected).extend_cell_length(width, base)
        if len(self._lines) > CACHE_LIMIT:
            self._lines.clear()
        self._lines[uid] = (signature, strip)
        return strip

    def _render_row(
        self, row: PodRow, layout: Layout, now: datetime, base: Style, *, selected: bool
    ) -> Strip:
        cursor = self._style("pod-table--cursor") if selected else None
        plain = base + cursor if cursor else base
        segments = [Segment(" " * INDENT, plain)]
        gap = Segment(" " * GAP, plain)
        for i, (column, text) in enumerate(zip(layout.columns, self._texts(row, layout, now), strict=True)):
            if i:
                segments.append(gap)
            style = base
            if column.key == "status":
                style = base + self._style(f"pod-table--{row.health.value}")
            elif column.key == "dataplane":
                mark = text.strip()
                if mark in (DATAPLANE_SIDECAR, DATAPLANE_AMBIENT):
                    style = base + self._style("pod-table--dataplane-ok")
                elif mark == SIDECAR_MISSING:
                    style = base + self._style("pod-table--dataplane-missing")
            segments.append(Segment(text, style + cursor if cursor else style))
        return Strip(segments)
