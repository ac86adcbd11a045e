"""Tally merging, latency percentiles, the JSON contract, the split statistics and config validation."""

from __future__ import annotations

import math
import pickle
import random

import pytest

from tui.errors import ConfigError
from tui.traffic.classify import CATEGORIES, Verdict
from tui.traffic.client import Target, Tickets
from tui.traffic.engine import TrafficConfig, normalize_url, plan_workers
from tui.traffic.snapshot import TallySnapshot
from tui.traffic.stats import (
    SplitSeries,
    compare_split,
    required_sample_size,
    version_counts,
    wilson_interval,
)
from tui.traffic.tally import LatencyHistogram, Tally, merged


def _exact_percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def test_histogram_percentiles_are_within_one_percent() -> None:
    rng = random.Random(7)
    values = [rng.lognormvariate(math.log(0.004), 0.8) for _ in range(20_000)]
    hist = LatencyHistogram()
    for v in values:
        hist.record(v)
    for q in (0.5, 0.9, 0.99):
        exact = _exact_percentile(values, q)
        assert hist.percentile(q) == pytest.approx(exact, rel=0.011)
    assert hist.max_s == max(values)
    assert hist.percentile(1.0) <= hist.max_s


def test_histogram_merge_equals_recording_everything_in_one() -> None:
    rng = random.Random(1)
    values = [rng.expovariate(200) for _ in range(5000)]
    one, a, b = LatencyHistogram(), LatencyHistogram(), LatencyHistogram()
    for i, v in enumerate(values):
        one.record(v)
        (a if i % 3 else b).record(v)
    a.merge(pickle.loads(pickle.dumps(b)))
    assert a.buckets == one.buckets
    assert (a.count, a.max_s) == (one.count, one.max_s)
    assert a.summary() == one.summary()


def test_histogram_extremes_land_in_end_buckets() -> None:
    hist = LatencyHistogram()
    for v in (0.0, 1e-9, 5000.0):
        hist.record(v)
    assert hist.count == 3
    assert hist.buckets[0] == 2 and hist.buckets[-1] == 1
    assert hist.summary().max_ms == 5_000_000.0
    assert LatencyHistogram().summary().p99_ms == 0.0


def _tally(pages: list[tuple[int, Verdict]], errors: int = 0) -> Tally:
    tally = Tally()
    for status, verdict in pages:
        tally.record(status, verdict, 0.01)
    for _ in range(errors):
        tally.record_transport_error("refused", 0.001)
    return tally


def test_tallies_merge_across_pickling_and_sum_to_requests() -> None:
    black, red = Verdict("black", False, "reviews-v2-a"), Verdict("red", True, "reviews-v3-b")
    a = _tally([(200, black), (200, red)], 1)
    b = _tally([(503, Verdict("http_error")), (200, Verdict("black", False, "reviews-v2-a"))], 2)
    total = merged([a, pickle.loads(pickle.dumps(b))])
    assert total.requests == 7
    assert sum(total.counts.values()) == total.requests
    assert total.counts["black"] == 2 and total.counts["transport_error"] == 3
    assert total.counts["http_error"] == 1
    assert total.by_pod == {"reviews-v2-a": 2, "reviews-v3-b": 1}
    assert total.status_codes == {200: 3, 503: 1}
    assert total.details_unavailable == 1
    assert total.transport_errors == {"refused": 3}
    assert total.latency.count == 7


def test_snapshot_to_dict_is_the_json_contract() -> None:
    tally = _tally([(200, Verdict("red", False, "reviews-v3-x"))] * 3 + [(503, Verdict("http_error"))])
    snap = tally.snapshot(url="http://h/productpage", elapsed_s=2.0, planned=4, done=True)
    data = snap.to_dict()
    assert list(data) == [
        "url", "requests", "duration_s", "rps", "tally", "details_unavailable", "by_pod", "status_codes",
        "transport_errors", "latency_ms", "latency_ms_by_class",
    ]
    assert list(data["tally"]) == list(CATEGORIES)  # type: ignore[call-overload]
    assert data["requests"] == 4 and data["rps"] == 2.0 and data["duration_s"] == 2.0
    assert data["status_codes"] == {"200": 3, "503": 1}
    assert data["by_pod"] == {"reviews-v3-x": 3}
    assert set(data["latency_ms"]) == {"p50", "p90", "p99", "max"}  # type: ignore[arg-type]
    assert snap.share("red") == 0.75


def test_wilson_interval_known_values() -> None:
    low, high = wilson_interval(50, 100)
    assert low == pytest.approx(0.4038, abs=1e-4) and high == pytest.approx(0.5962, abs=1e-4)
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and high == pytest.approx(0.2775, abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    wide = wilson_interval(200, 400, confidence=0.999)
    narrow = wilson_interval(200, 400)
    assert wide[0] < narrow[0] and wide[1] > narrow[1]
    with pytest.raises(ValueError):
        wilson_interval(5, 4)


def test_required_sample_size() -> None:
    assert required_sample_size(0.5, 0.05) == 385
    assert required_sample_size(0.5, 0.25) == 16  # the docs' "refresh 15 or more times"
    assert required_sample_size(0.2, 0.05) == 246
    assert required_sample_size(0.0, 0.05) >= 1
    for bad in ((1.5, 0.1), (0.5, 0.0), (0.5, 1.0)):
        with pytest.raises(ValueError):
            required_sample_size(*bad)


def test_compare_split_marks_disagreement_with_weights() -> None:
    rows = {r.version: r for r in compare_split({"v1": 205, "v3": 195}, {"v1": 50, "v3": 50})}
    assert rows["v1"].configured == 0.5 and not rows["v1"].disagrees and not rows["v3"].disagrees
    assert rows["v1"].low < 0.5 < rows["v1"].high
    assert rows["v1"].needed == 385
    rows = {r.version: r for r in compare_split({"v1": 390, "v2": 10}, {"v1": 50, "v3": 50})}
    assert rows["v1"].disagrees and rows["v3"].disagrees and rows["v2"].disagrees
    assert rows["v3"].observed == 0 and rows["v2"].configured == 0.0
    rows = {r.version: r for r in compare_split({"v1": 10}, {})}
    assert rows["v1"].configured is None and not rows["v1"].disagrees


def _snap(elapsed: float, **counts: int) -> TallySnapshot:
    full = dict.fromkeys(CATEGORIES, 0) | counts
    return Tally(counts=full).snapshot(url="u", elapsed_s=elapsed)


def test_version_counts_go_by_the_serving_pod_not_the_stars() -> None:
    """A v3 page whose ratings call failed shows no stars; it still counts for v3 (its pod's label), a pod
    gone from the cluster by its name, and a pod that tells neither is counted as of no known version."""
    by_pod = {"reviews-v1-abc12-x1": 3, "rv3-pod": 4, "reviews-v2-7d9f8-k2": 2, "odd": 1}
    counts = version_counts(by_pod, {"rv3-pod": "v3", "reviews-v1-abc12-x1": "v1"})
    assert counts == {"v1": 3, "v3": 4, "v2": 2} and sum(by_pod.values()) - sum(counts.values()) == 1


def test_split_series_buckets_deltas_of_cumulative_snapshots() -> None:
    series = SplitSeries(bucket_s=1.0, maxlen=5)
    series.add(_snap(0.2, red=1, no_stars=1))
    series.add(_snap(0.8, red=2, no_stars=2))
    series.add(_snap(1.2, red=2, no_stars=6))
    series.add(_snap(3.5, red=6, no_stars=6))
    assert [b.get("red", 0) for b in series.counts()] == [2, 0, 0, 4]
    assert [sum(b.values()) for b in series.counts()] == [4, 4, 0, 4]
    for t in range(4, 12):
        series.add(_snap(t + 0.1, red=6 + t, no_stars=6))
    assert len(series.counts()) == 5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"url": "ftp://h/productpage"}, "http:// or https://"),
        ({"url": "http:///productpage"}, "http:// or https://"),
        ({"url": "http://h:99999/"}, "bad port"),
        ({"requests": 0}, "at least 1"),
        ({"requests": 5, "duration_s": 1.0}, "not both"),
        ({"duration_s": -1.0}, "duration"),
        ({"concurrency": 0}, "concurrency"),
        ({"rate": -5.0}, "rate"),
        ({"rate": math.inf}, "rate"),
        ({"timeout_s": 0.0}, "timeout"),
        ({"workers": -1}, "workers"),
        ({"user": "  "}, "user name"),
        ({"user": "ja\nson"}, "user name"),
    ],
)
def test_config_rejects_bad_values_with_one_line(kwargs, message) -> None:
    args = {"url": "http://127.0.0.1:8080/productpage"} | kwargs
    with pytest.raises(ConfigError) as err:
        TrafficConfig(**args)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_bare_gateway_address_gets_productpage() -> None:
    assert normalize_url("http://1.2.3.4:31380") == "http://1.2.3.4:31380/productpage"
    assert normalize_url("https://gw.example/") == "https://gw.example/productpage"
    assert normalize_url("http://h/productpage?u=1") == "http://h/productpage?u=1"


_TARGET = Target(host="127.0.0.1", port=80, tls=False, server_hostname=None, request=b"GET / HTTP/1.1\r\n")


def test_worker_plans_add_up_to_the_config() -> None:
    config = TrafficConfig(url="http://h/", requests=1001, concurrency=10, rate=300.0, workers=4)
    tickets = Tickets(config.requests)
    plans = plan_workers(config, _TARGET, tickets)
    assert len(plans) == 4
    assert sum(p.concurrency for p in plans) == 10
    assert all(p.tickets is tickets and p.rate == 300.0 for p in plans)
    three = TrafficConfig(url="http://h/", requests=3, concurrency=16, workers=8)
    assert len(plan_workers(three, _TARGET, tickets)) == 3
    assert len(plan_workers(TrafficConfig(url="http://h/", concurrency=2, workers=8), _TARGET, tickets)) == 2
    assert len(plan_workers(TrafficConfig(url="http://h/", requests=5, workers=0), _TARGET, tickets)) == 1
