"""AGE as kubectl spells it (HumanDuration): each unit keeps the next smaller one while it is small."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tui.kubeprint import format_age

NOW = datetime(2026, 1, 1, tzinfo=UTC)
M, H, D = 60, 3600, 86400


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (-5, "0s"),
        (0, "0s"),
        (119, "119s"),
        (120, "2m"),
        (200, "3m20s"),
        (10 * M + 5, "10m"),
        (179 * M, "179m"),
        (180 * M, "3h"),
        (5 * H + 12 * M, "5h12m"),
        (8 * H + 30 * M, "8h"),
        (47 * H, "47h"),
        (48 * H, "2d"),
        (3 * D + 4 * H, "3d4h"),
        (8 * D + 5 * H, "8d"),
        (729 * D, "729d"),
        (730 * D, "2y"),
        (2 * 365 * D + 30 * D, "2y30d"),
        (8 * 365 * D + 30 * D, "8y"),
        (40 * 365 * D, "40y"),
    ],
)
def test_age_spelling(seconds: int, shown: str) -> None:
    assert format_age(NOW - timedelta(seconds=seconds), NOW) == shown


def test_unknown_creation_time() -> None:
    assert format_age(None, NOW) == "<unknown>"
