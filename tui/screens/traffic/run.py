"""One traffic run as the pane counts it: the latest merged tally, the per-second series, and the epoch the
configured-vs-observed comparison counts from.

When the configured routing changes during a run, counts gathered under the old routing say nothing about the
new weights. So a change opens a new epoch: until it settles (pages sent before the change may still be in
flight or in a worker's unreported tally) nothing is compared, and afterwards only pages counted since the
epoch began are. The bars and the export count the same window.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

from tui.istio.routing import RoutingView, expected_shares
from tui.models import SplitRow
from tui.traffic.engine import TrafficConfig
from tui.traffic.incluster import LoadPod
from tui.traffic.snapshot import TallySnapshot
from tui.traffic.stats import SplitSeries, compare_split, version_counts

BUCKET_S = 1.0
HISTORY_BUCKETS = 600
SETTLE_S = 1.0
MARGIN = 0.05


def _delta(now: Mapping[str, int], base: Mapping[str, int] | None) -> dict[str, int]:
    if not base:
        return dict(now)
    return {k: n - base.get(k, 0) for k, n in now.items() if n - base.get(k, 0)}


class Split(NamedTuple):
    """The comparison over the window: ``pages`` of a known reviews version, ``unknown`` pages of none
    (errors, and pages from a pod whose version neither its label nor its name tells)."""

    rows: list[SplitRow]
    pages: int
    unknown: int


@dataclass(frozen=True)
class Window:
    """What was counted in the current epoch: pages per category and per pod, and the epoch's age."""

    counts: Mapping[str, int]
    by_pod: Mapping[str, int]
    since_s: float | None  # seconds since the epoch began; None when it began with the run
    settling: bool = False


class RunTally:
    """Fed by the engine's snapshot callback (in the app's loop); read by the pane's render timer."""

    def __init__(self, config: TrafficConfig | None = None) -> None:
        self.config = config
        self.latest: TallySnapshot | None = None
        self.series = SplitSeries(bucket_s=BUCKET_S, maxlen=HISTORY_BUCKETS)
        self.baseline: TallySnapshot | None = None
        self._settle_until: float | None = None
        self.load_pods: list[LoadPod] = []  # an in-cluster run's pods; empty when load comes from here

    def feed(self, snapshot: TallySnapshot) -> None:
        self.latest = snapshot
        self.series.add(snapshot)
        if self._settle_until is not None and snapshot.elapsed_s >= self._settle_until:
            self.baseline = snapshot
            self._settle_until = None

    def new_epoch(self) -> None:
        """The configuration changed: stop comparing now, and count afresh once the change has settled."""
        if self.latest is None:
            return
        self._settle_until = self.latest.elapsed_s + SETTLE_S

    @property
    def settling(self) -> bool:
        return self._settle_until is not None

    def window(self) -> Window:
        if self.latest is None:
            return Window({}, {}, None)
        if self.settling:
            return Window({}, {}, 0.0, settling=True)
        base = self.baseline
        return Window(
            _delta(self.latest.counts, base.counts if base else None),
            _delta(self.latest.by_pod, base.by_pod if base else None),
            self.latest.elapsed_s - base.elapsed_s if base else None,
        )

    def split_rows(
        self,
        routing: RoutingView | None,
        *,
        pods_per_subset: Mapping[str, int],
        user: str | None,
        pod_versions: Mapping[str, str],
    ) -> Split:
        """Configured vs observed for the reviews versions over the window; ``routing`` None: no routing
        applies (no VirtualService, or productpage without a sidecar), so the pods share evenly. A page counts
        for the version of the reviews pod that served it (``pod_versions``: pod name -> version label)."""
        window = self.window()
        observed = version_counts(window.by_pod, pod_versions)
        n = sum(observed.values())
        view = routing if routing is not None else RoutingView(host="reviews", namespace="", exists=False)
        weights = expected_shares(view, user=user, pods_per_subset=pods_per_subset)
        seen = {v: c for v, c in observed.items() if c or v in weights}
        return Split(compare_split(seen, weights, margin=MARGIN), n, sum(window.counts.values()) - n)
