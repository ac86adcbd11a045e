"""What a traffic run has counted so far: the snapshot the pane renders and ``--json`` prints.

Apart from ``tui.models`` because ``istio-tui traffic`` imports it before its first request: the model module
and what it pulls in cost 11-19 ms of start-up on the 2-CPU machine (see ``engine.py`` on start-up).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# Upper bounds (ms) of the coarse latency buckets shown per class; a last, open bucket holds the rest.
LATENCY_BOUNDS_MS: tuple[float, ...] = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)


@dataclass(frozen=True, slots=True)
class LatencySummary:
    """Latency percentiles in milliseconds, from a fixed-bucket log histogram (relative error under 1%).

    ``buckets`` counts requests per ``LATENCY_BOUNDS_MS`` bucket plus one open bucket (empty when unknown).
    """

    p50_ms: float = 0.0
    p90_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    buckets: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "p50": round(self.p50_ms, 2),
            "p90": round(self.p90_ms, 2),
            "p99": round(self.p99_ms, 2),
            "max": round(self.max_ms, 2),
        }


@dataclass(frozen=True, slots=True)
class TallySnapshot:
    """The whole run so far, merged across worker processes; the UI gets one of these ~5 times a second.

    ``counts`` always holds all eight categories of ``tui.traffic.classify.CATEGORIES`` and they sum to
    ``requests``. ``planned`` is the request count the run will send when it was given one, else None.
    """

    url: str
    elapsed_s: float
    requests: int
    counts: Mapping[str, int]
    details_unavailable: int
    by_pod: Mapping[str, int]
    status_codes: Mapping[int, int]
    latency: LatencySummary
    transport_errors: Mapping[str, int]
    planned: int | None = None
    done: bool = False
    latency_by_class: Mapping[str, LatencySummary] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def share(self, category: str) -> float:
        return self.counts.get(category, 0) / self.requests if self.requests else 0.0

    def to_dict(self) -> dict[str, object]:
        """The JSON contract of ``istio-tui traffic --json``; also what the pane exports."""
        return {
            "url": self.url,
            "requests": self.requests,
            "duration_s": round(self.elapsed_s, 3),
            "rps": round(self.rps, 1),
            "tally": dict(self.counts),
            "details_unavailable": self.details_unavailable,
            "by_pod": dict(sorted(self.by_pod.items())),
            "status_codes": {str(code): n for code, n in sorted(self.status_codes.items())},
            "transport_errors": dict(sorted(self.transport_errors.items())),
            "latency_ms": self.latency.to_dict(),
            "latency_ms_by_class": {
                cls: {
                    **summary.to_dict(),
                    "buckets": [
                        {"le_ms": bound, "count": n}
                        for bound, n in zip((*LATENCY_BOUNDS_MS, None), summary.buckets, strict=False)
                    ],
                }
                for cls, summary in self.latency_by_class.items()
            },
        }
