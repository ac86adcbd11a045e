"""The split over time: one stacked column per second, black / red / no stars / errors from the bottom up.

Cumulative bars react slowly once a run is long; this chart shows a routing change the second it lands.
Each cell holds two slots (a half block with foreground and background colours), so a chart five rows high
resolves a bucket's split to 10%.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.style import Style
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from tui.widgets.split_bars import ROWS, fold_errors

_STACK_ORDER = tuple(key for key, _, _ in ROWS)
COLOURS = dict(zip(_STACK_ORDER, ("bright_white", "red", "grey50", "yellow"), strict=True))
_EMPTY = "grey19"


def stack(counts: Mapping[str, int], slots: int) -> list[str]:
    """The category of each slot from the bottom; largest remainders, so they fill ``slots`` exactly."""
    folded = fold_errors(counts)
    total = sum(folded.values())
    if total == 0 or slots <= 0:
        return []
    exact = {k: folded[k] * slots / total for k in _STACK_ORDER}
    whole = {k: int(v) for k, v in exact.items()}
    spare = slots - sum(whole.values())
    for k in sorted(_STACK_ORDER, key=lambda k: (whole[k] - exact[k], _STACK_ORDER.index(k)))[:spare]:
        whole[k] += 1
    out: list[str] = []
    for k in _STACK_ORDER:
        out += [k] * whole[k]
    return out


class SplitHistory(Widget):
    """Newest bucket on the right; as many buckets as the widget is wide."""

    buckets: reactive[tuple[dict[str, int], ...]] = reactive(tuple, layout=False)

    def set_buckets(self, buckets: Sequence[Mapping[str, int]]) -> None:
        self.buckets = tuple(dict(b) for b in buckets)

    def render(self) -> Text:
        width, rows = self.size.width, max(1, self.size.height - 1)
        shown = self.buckets[-width:] if width > 0 else ()
        columns = [stack(b, rows * 2) for b in shown]
        pad = width - len(columns)
        text = Text(no_wrap=True, overflow="crop")
        for row in range(rows):
            if pad > 0:
                text.append(" " * pad)
            upper_slot = (rows - row) * 2 - 1
            lower_slot = upper_slot - 1
            for column in columns:
                if not column:
                    text.append("▁" if row == rows - 1 else " ", style=_EMPTY)
                else:
                    upper, lower = COLOURS[column[upper_slot]], COLOURS[column[lower_slot]]
                    text.append("▀", style=Style(color=upper, bgcolor=lower))
            text.append("\n")
        text.append(f"per second, {len(shown)} s " if shown else "per second ", "dim")
        for key, label, _ in ROWS:
            text.append(" ■", style=COLOURS[key])
            text.append(label.replace(" ★", "") + " ", style="dim")
        return text
