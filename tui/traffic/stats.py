"""Statistics the traffic pane shows: observed split vs configured weights, and how many requests it takes.

The Istio docs say "refresh 15 or more times" to see a 50/50 split. With 15 requests a 95% interval around
50% is about ±25 points, so "it looks roughly even" is all one can say. The Wilson interval used here stays
honest at small counts and near 0% or 100%, where the textbook normal interval does not.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from statistics import NormalDist

from tui.models import SplitRow
from tui.traffic.snapshot import TallySnapshot


def z_score(confidence: float) -> float:
    """Two-sided z for a confidence level, e.g. 0.95 -> 1.96, 0.999 -> 3.29."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def wilson_interval(successes: int, n: int, *, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion; (0, 1) when there is no data yet."""
    if n <= 0:
        return 0.0, 1.0
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be within 0..{n}, got {successes}")
    z = z_score(confidence)
    p = successes / n
    z2n = z * z / n
    centre = (p + z2n / 2.0) / (1.0 + z2n)
    half = z * math.sqrt(p * (1.0 - p) / n + z2n / (4.0 * n)) / (1.0 + z2n)
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


def required_sample_size(p: float, margin: float, *, confidence: float = 0.95) -> int:
    """Requests needed so the interval around a share near ``p`` is ±``margin`` wide.

    With p=0.5 and margin=0.05 that is 385: the number of page loads it takes to tell 50/50 from 55/45.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be within 0..1, got {p}")
    if not 0.0 < margin < 1.0:
        raise ValueError(f"margin must be between 0 and 1, got {margin}")
    z = z_score(confidence)
    variance = max(p * (1.0 - p), 1e-4)
    return max(1, math.ceil(z * z * variance / (margin * margin)))


def deployment_of_pod(name: str) -> str:
    """A Deployment's pod by its Deployment: ``reviews-v2-5b9c8d7f6c-p7tzn`` -> ``reviews-v2``; a name without
    the ReplicaSet and pod suffixes stays as it is."""
    parts = name.rsplit("-", 2)
    return parts[0] if len(parts) == 3 else name


def pod_version(pod: str, versions: Mapping[str, str]) -> str | None:
    """The reviews version of the pod that served a page: its ``version`` label when the pod is known, else
    the Deployment naming convention (``reviews-v2-5b9c8d7f6c-p7tzn`` -> v2); None when neither tells."""
    if versions.get(pod):
        return versions[pod]
    deployment = deployment_of_pod(pod)
    app, _, version = deployment.partition("-")
    return version if deployment != pod and app == "reviews" and version else None


def version_counts(by_pod: Mapping[str, int], versions: Mapping[str, str]) -> dict[str, int]:
    """Pages per reviews version, by the reviews pod each page names; a pod of no known version counts for
    none. Not by the stars: a page whose ratings call failed shows none, whatever its version."""
    counts: dict[str, int] = {}
    for pod, n in by_pod.items():
        version = pod_version(pod, versions)
        if version is not None:
            counts[version] = counts.get(version, 0) + n
    return counts


def compare_split(
    observed: Mapping[str, int],
    weights: Mapping[str, float],
    *,
    confidence: float = 0.95,
    margin: float = 0.05,
) -> list[SplitRow]:
    """One row per version seen or configured. ``weights`` are VirtualService weights (any scale, e.g. 80/20).

    The share is taken over the pages that identify a version, so errors do not dilute it. With no weights
    configured the rows have ``configured=None`` and never disagree.
    """
    total_weight = sum(weights.values())
    n = sum(observed.values())
    rows = []
    for version in sorted(set(observed) | set(weights)):
        count = observed.get(version, 0)
        low, high = wilson_interval(count, n, confidence=confidence)
        configured = weights.get(version, 0) / total_weight if total_weight > 0 else None
        share = count / n if n else 0.0
        disagrees = configured is not None and n > 0 and not low <= configured <= high
        basis = configured if configured is not None else share
        rows.append(
            SplitRow(
                version=version,
                observed=count,
                share=share,
                low=low,
                high=high,
                configured=configured,
                disagrees=disagrees,
                needed=required_sample_size(basis, margin, confidence=confidence),
            )
        )
    return rows


class SplitSeries:
    """Per-interval category counts from successive cumulative snapshots, for a sparkline of the split.

    Feed it every snapshot; it keeps the last ``maxlen`` buckets of ``bucket_s`` seconds each.
    """

    def __init__(self, *, bucket_s: float = 1.0, maxlen: int = 120) -> None:
        if bucket_s <= 0:
            raise ValueError(f"bucket_s must be positive, got {bucket_s}")
        self.bucket_s = bucket_s
        self._buckets: deque[dict[str, int]] = deque(maxlen=maxlen)
        self._last: Mapping[str, int] = {}
        self._bucket_index = -1

    def add(self, snapshot: TallySnapshot) -> None:
        index = int(snapshot.elapsed_s // self.bucket_s)
        delta = {k: n - self._last.get(k, 0) for k, n in snapshot.counts.items()}
        self._last = dict(snapshot.counts)
        if index != self._bucket_index or not self._buckets:
            for _ in range(max(0, min(index - self._bucket_index - 1, self._buckets.maxlen or 0))):
                self._buckets.append({})
            self._buckets.append(delta)
            self._bucket_index = index
        else:
            current = self._buckets[-1]
            for k, n in delta.items():
                current[k] = current.get(k, 0) + n

    def counts(self) -> list[dict[str, int]]:
        return [dict(b) for b in self._buckets]
