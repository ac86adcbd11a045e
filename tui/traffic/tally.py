"""Mergeable counters for a traffic run.

Each worker process keeps its own ``Tally`` and ships it (pickled) to the parent, which merges the latest one
from every worker. Everything here merges exactly: plain counts, and a latency histogram with fixed
logarithmic buckets, so percentiles of the merged run are the percentiles of all requests, not an average of
per-worker percentiles.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from tui.models import LatencySummary, TallySnapshot
from tui.traffic.classify import CATEGORIES, TRANSPORT_ERROR, Verdict

_GROWTH = 1.02
_LOG_GROWTH = math.log(_GROWTH)
_MIN_S = 1e-6
# 1 microsecond up to ~1000 s; one bucket spans 2%, so a reported percentile is within 1% of the truth.
_BUCKETS = int(math.log(1e3 / _MIN_S) / _LOG_GROWTH) + 1


class LatencyHistogram:
    """Log-bucketed latency histogram; ``merge`` is an element-wise add, so it is exact across processes."""

    __slots__ = ("buckets", "count", "max_s", "total_s")

    def __init__(self) -> None:
        self.buckets = [0] * _BUCKETS
        self.count = 0
        self.max_s = 0.0
        self.total_s = 0.0

    def record(self, seconds: float) -> None:
        index = 0 if seconds <= _MIN_S else min(int(math.log(seconds / _MIN_S) / _LOG_GROWTH), _BUCKETS - 1)
        self.buckets[index] += 1
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
                middle = _MIN_S * _GROWTH ** (index + 0.5)
                return min(middle, self.max_s)
        return self.max_s

    def summary(self) -> LatencySummary:
        return LatencySummary(
            p50_ms=self.percentile(0.50) * 1e3,
            p90_ms=self.percentile(0.90) * 1e3,
            p99_ms=self.percentile(0.99) * 1e3,
            max_ms=self.max_s * 1e3,
        )


@dataclass(slots=True)
class Tally:
    """Counts for one worker, or for the whole run once merged. Categories always sum to ``requests``."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CATEGORIES, 0))
    details_unavailable: int = 0
    by_pod: Counter[str] = field(default_factory=Counter)
    status_codes: Counter[int] = field(default_factory=Counter)
    transport_errors: Counter[str] = field(default_factory=Counter)
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)

    @property
    def requests(self) -> int:
        return sum(self.counts.values())

    def record(self, status: int, verdict: Verdict, latency_s: float) -> None:
        self.counts[verdict.category] += 1
        self.status_codes[status] += 1
        if verdict.details_unavailable:
            self.details_unavailable += 1
        if verdict.pod is not None:
            self.by_pod[verdict.pod] += 1
        self.latency.record(latency_s)

    def record_transport_error(self, kind: str, latency_s: float) -> None:
        """A request that got no HTTP answer (refused, reset, timeout); ``kind`` says which, for diagnosis."""
        self.counts[TRANSPORT_ERROR] += 1
        self.transport_errors[kind] += 1
        self.latency.record(latency_s)

    def merge(self, other: Tally) -> None:
        for category, n in other.counts.items():
            self.counts[category] += n
        self.details_unavailable += other.details_unavailable
        self.by_pod.update(other.by_pod)
        self.status_codes.update(other.status_codes)
        self.transport_errors.update(other.transport_errors)
        self.latency.merge(other.latency)

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
        )


def merged(tallies: list[Tally]) -> Tally:
    total = Tally()
    for tally in tallies:
        total.merge(tally)
    return total
