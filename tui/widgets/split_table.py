"""Configured weight next to observed share, with a 95% Wilson interval and the sample size needed to tell.

This is the statistical answer to the docs' "refresh the page 15 or more times": a row is marked as
disagreeing only when the configured share falls outside the interval, and until enough pages arrived it
says how many more it takes instead of pretending.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from tui.models import SplitRow

VERSION_LABELS = {"v1": "v1 no ★", "v2": "v2 black", "v3": "v3 red"}


def _pct(x: float) -> str:
    return f"{x * 100:.0f}%"


def mark(row: SplitRow, n: int) -> Text:
    if row.disagrees:
        return Text("≠ differs", style="bold red")
    if row.configured is None:
        return Text("", style="dim")
    if n >= row.needed:
        return Text("✓ agrees", style="green")
    return Text("… more", style="dim")


def split_table(rows: Sequence[SplitRow], *, n: int, compact: bool = False) -> Table:
    """``compact`` leaves out the interval and NEED columns (the mark still says whether they agree)."""
    table = Table(box=None, padding=(0, 1), pad_edge=False, expand=False, header_style="bold")
    table.add_column("VERSION", no_wrap=True)
    table.add_column("CONF", justify="right", no_wrap=True)
    table.add_column("SEEN", justify="right", no_wrap=True)
    table.add_column("SHARE", justify="right", no_wrap=True)
    if not compact:
        table.add_column("95% INTERVAL", justify="center", no_wrap=True)
    table.add_column("", no_wrap=True)
    if not compact:
        table.add_column("NEED", justify="right", no_wrap=True)
    for row in rows:
        interval = f"{_pct(row.low)}–{_pct(row.high)}" if n else "—"
        cells = [
            VERSION_LABELS.get(row.version, row.version),
            "—" if row.configured is None else _pct(row.configured),
            str(row.observed),
            _pct(row.share) if n else "—",
            *(() if compact else (interval,)),
            mark(row, n),
            *(() if compact else (str(row.needed),)),
        ]
        table.add_row(*cells)
    return table


class SplitTable(Static):
    """A Static holding the table; ``show`` replaces it (the rows are few, so a full redraw is cheap)."""

    def show(self, rows: Sequence[SplitRow], *, n: int, note: str, compact: bool = False) -> None:
        if not rows:
            self.update(Text(note or "no reviews versions seen or configured yet", style="dim"))
            return
        table = split_table(rows, n=n, compact=compact)
        caption = Text(note, style="dim") if note else Text("")
        self.update(Group(table, caption))

