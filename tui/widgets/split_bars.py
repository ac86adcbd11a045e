"""Live bars of the reviews split: black stars, red stars, no stars and errors, each with its count and share.

The four bars are what a person refreshing the product page would tally by eye; errors fold the five failure
categories into one bar and name the biggest ones beside it, so a ratings fault is visible at a glance.
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from tui.traffic.classify import (
    BLACK,
    HTTP_ERROR,
    NO_STARS,
    RATINGS_UNAVAILABLE,
    RED,
    REVIEWS_UNAVAILABLE,
    TRANSPORT_ERROR,
    UNRECOGNIZED,
)

ERROR_CATEGORIES = (RATINGS_UNAVAILABLE, REVIEWS_UNAVAILABLE, HTTP_ERROR, TRANSPORT_ERROR, UNRECOGNIZED)
ERRORS = "errors"
# (key, label, bar style): black stars are drawn white so they show on a dark terminal.
ROWS = (
    (BLACK, "black ★", "bold bright_white"),
    (RED, "red ★", "bold red"),
    (NO_STARS, "no stars", "grey58"),
    (ERRORS, "errors", "bold yellow"),
)
ERROR_NAMES = {
    RATINGS_UNAVAILABLE: "ratings unavailable",
    REVIEWS_UNAVAILABLE: "reviews unavailable",
    HTTP_ERROR: "HTTP error",
    TRANSPORT_ERROR: "transport",
    UNRECOGNIZED: "unrecognized",
}
_LABEL_W = 9
_NUMBERS_W = 16


def fold_errors(counts: Mapping[str, int]) -> dict[str, int]:
    """The four bar values from the eight categories."""
    return {
        BLACK: counts.get(BLACK, 0),
        RED: counts.get(RED, 0),
        NO_STARS: counts.get(NO_STARS, 0),
        ERRORS: sum(counts.get(c, 0) for c in ERROR_CATEGORIES),
    }


class SplitBars(Widget):
    """Four horizontal bars sized to the widget's width, plus one line naming the errors."""

    counts: reactive[dict[str, int]] = reactive(dict, layout=False)

    def render(self) -> Text:
        folded = fold_errors(self.counts)
        total = sum(folded.values())
        width = max(4, self.size.width - _LABEL_W - _NUMBERS_W - 2)
        text = Text(no_wrap=True, overflow="crop")
        for key, label, style in ROWS:
            n = folded[key]
            share = n / total if total else 0.0
            filled = round(share * width)
            text.append(f"{label:<{_LABEL_W}}", style=style if n else "dim")
            text.append("█" * filled, style=style)
            text.append("·" * (width - filled), style="grey30")
            text.append(f" {n:>7} {share * 100:5.1f}%\n", style="bold" if n else "dim")
        text.append(self._error_line(), style="yellow")
        return text

    def _error_line(self) -> str:
        counts = self.counts
        parts = [f"{ERROR_NAMES[c]} {counts[c]}" for c in ERROR_CATEGORIES if counts.get(c, 0)]
        return " · ".join(parts) if parts else ""
