"""Mergeable counters for a traffic run.

Each worker process keeps its own ``Tally`` and ships it to the parent (pickled through a pipe, or as one JSON
line from an in-cluster load pod), which merges the latest one from every worker. Everything here merges
exactly: plain counts, and latency histograms with fixed logarithmic buckets, so percentiles of the merged run
are the percentiles of all requests, not an average of per-worker percentiles.

Latency is kept per class (black / red / no stars / errors): a slow reviews version shows up without
Prometheus. The run's overall histogram is the sum of the four, built only when a snapshot is taken, so the
hot path records into one histogram per request.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Final

from tui.traffic.classify import BLACK, CATEGORIES, NO_STARS, RED, TRANSPORT_ERROR, Verdict
from tui.traffic.snapshot import LATENCY_BOUNDS_MS, LatencySummary, TallySnapshot

ERRORS: Final = "errors"
# The latency classes; every category that is not a star colour (failures, unrecognized pages) is an error.
LATENCY_CLASSES: Final[tuple[str, ...]] = (BLACK, RED, NO_STARS, ERRORS)
_CLASS_OF: Final = {c: (c if c in LATENCY_CLASSES else ERRORS) for c in CATEGORIES}

_GROWTH = 1.02
_LOG_GROWTH = math.log(_GROWTH)
_MIN_S = 1e-6
# 1 microsecond up to ~1000 s; one bucket spans 2%, so a reported percentile is within 1% of the truth.
_BUCKETS = int(math.log(1e3 / _MIN_S) / _LOG_GROWTH) + 1
_log = math.log


class LatencyHistogram:
    """Log-bucketed latency histogram; ``merge`` is an element-wise add, so it is exact across processes."""

    __slots__ = ("buckets", "count", "max_s", "total_s")

    def __init__(self) -> None:
        self.buckets = [0] * _BUCKETS
        self.count = 0
        self.max_s = 0.0
        self.total_s = 0.0

    def record(self, seconds: float) -> None:
        index = int(_log(seconds / _MIN_S) / _LOG_GROWTH) if seconds > _MIN_S else 0
        self.buckets[index if index < _BUCKETS else _BUCKETS - 1] += 1
        self.count += 1
        self.total_s += seconds
        if seconds > self.max_s:
            self.max_s = seconds

    def merge(self, other: LatencyHistogram) -> None:
        self.buckets = [a + b for a, b in zip(self.buckets, other.buckets, strict=True)]
        self.count += other.count
        self.total_s += other.total_s
        self.max_s = max(self.max_s, other.max_s)

    def percentile(self, q: float) -> float:
        """Seconds at quantile ``q`` (0..1): the geometric middle of its bucket, never above the max."""
        if self.count == 0:
            return 0.0
        rank = max(1, math.ceil(q * self.count))
        seen = 0
        for index, n in enumerate(self.buckets):
            seen += n
            if seen >= rank:
                return min(_middle_s(index), self.max_s)
        return self.max_s

    def coarse_buckets(self) -> tuple[int, ...]:
        """Counts per ``LATENCY_BOUNDS_MS`` bucket (upper bounds; the last one is open), for a small chart."""
        out = [0] * (len(LATENCY_BOUNDS_MS) + 1)
        for index, n in enumerate(self.buckets):
            if n:
                ms = _middle_s(index) * 1e3
                slot = next((i for i, bound in enumerate(LATENCY_BOUNDS_MS) if ms <= bound), len(out) - 1)
                out[slot] += n
        return tuple(out)

    def summary(self) -> LatencySummary:
        return LatencySummary(
            p50_ms=self.percentile(0.50) * 1e3,
            p90_ms=self.percentile(0.90) * 1e3,
            p99_ms=self.percentile(0.99) * 1e3,
            max_ms=self.max_s * 1e3,
            buckets=self.coarse_buckets(),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "total_s": self.total_s,
            "max_s": self.max_s,
            "buckets": {str(i): n for i, n in enumerate(self.buckets) if n},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LatencyHistogram:
        hist = cls()
        for index, n in data["buckets"].items():
            hist.buckets[int(index)] = int(n)
        hist.count = int(data["count"])
        hist.total_s = float(data["total_s"])
        hist.max_s = float(data["max_s"])
        if sum(hist.buckets) != hist.count:
            raise ValueError("latency histogram buckets do not add up to its count")
        return hist


def _middle_s(index: int) -> float:
    return _MIN_S * _GROWTH ** (index + 0.5)


@dataclass(slots=True)
class Tally:
    """Counts for one worker, or for the whole run once merged. Categories always sum to ``requests``."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CATEGORIES, 0))
    details_unavailable: int = 0
    by_pod: Counter[str] = field(default_factory=Counter)
    status_codes: Counter[int] = field(default_factory=Counter)
    transport_errors: Counter[str] = field(default_factory=Counter)
    latency_by_class: dict[str, LatencyHistogram] = field(
        default_factory=lambda: {c: LatencyHistogram() for c in LATENCY_CLASSES}
    )

    @property
    def requests(self) -> int:
        return sum(self.counts.values())

    @property
    def latency(self) -> LatencyHistogram:
        """All requests together (built on demand; the hot path records per class only)."""
        total = LatencyHistogram()
        for hist in self.latency_by_class.values():
            total.merge(hist)
        return total

    def record(self, status: int, verdict: Verdict, latency_s: float) -> None:
        category = verdict.category
        self.counts[category] += 1
        self.status_codes[status] += 1
        if verdict.details_unavailable:
            self.details_unavailable += 1
        if verdict.pod is not None:
            self.by_pod[verdict.pod] += 1
        self.latency_by_class[_CLASS_OF[category]].record(latency_s)

    def record_transport_error(self, kind: str, latency_s: float) -> None:
        """A request that got no HTTP answer (refused, reset, timeout); ``kind`` says which, for diagnosis."""
        self.counts[TRANSPORT_ERROR] += 1
        self.transport_errors[kind] += 1
        self.latency_by_class[ERRORS].record(latency_s)

    def merge(self, other: Tally) -> None:
        for category, n in other.counts.items():
            self.counts[category] += n
        self.details_unavailable += other.details_unavailable
        self.by_pod.update(other.by_pod)
        self.status_codes.update(other.status_codes)
        self.transport_errors.update(other.transport_errors)
        for cls, hist in other.latency_by_class.items():
            self.latency_by_class[cls].merge(hist)

    def snapshot(
        self, *, url: str, elapsed_s: float, planned: int | None = None, done: bool = False
    ) -> TallySnapshot:
        return TallySnapshot(
            url=url,
            elapsed_s=elapsed_s,
            requests=self.requests,
            counts=dict(self.counts),
            details_unavailable=self.details_unavailable,
            by_pod=dict(self.by_pod),
            status_codes=dict(self.status_codes),
            latency=self.latency.summary(),
            transport_errors=dict(self.transport_errors),
            planned=planned,
            done=done,
            latency_by_class={cls: hist.summary() for cls, hist in self.latency_by_class.items()},
        )

    def to_json(self) -> dict[str, Any]:
        """The exact, lossless form one load pod prints per ``--json-lines`` line; ``from_json`` reads it."""
        return {
            "counts": dict(self.counts),
            "details_unavailable": self.details_unavailable,
            "by_pod": dict(self.by_pod),
            "status_codes": {str(code): n for code, n in self.status_codes.items()},
            "transport_errors": dict(self.transport_errors),
            "latency_by_class": {cls: hist.to_json() for cls, hist in self.latency_by_class.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Tally:
        """Raises ``KeyError``/``ValueError``/``TypeError`` on a line that is not a tally."""
        tally = cls()
        for category, n in data["counts"].items():
            if category not in tally.counts:
                raise ValueError(f"unknown category {category!r}")
            tally.counts[category] = int(n)
        tally.details_unavailable = int(data["details_unavailable"])
        tally.by_pod = Counter({str(k): int(v) for k, v in data["by_pod"].items()})
        tally.status_codes = Counter({int(k): int(v) for k, v in data["status_codes"].items()})
        tally.transport_errors = Counter({str(k): int(v) for k, v in data["transport_errors"].items()})
        for name, hist in data["latency_by_class"].items():
            if name not in tally.latency_by_class:
                raise ValueError(f"unknown latency class {name!r}")
            tally.latency_by_class[name] = LatencyHistogram.from_json(hist)
        return tally


def merged(tallies: list[Tally]) -> Tally:
    total = Tally()
    for tally in tallies:
        total.merge(tally)
    return total
