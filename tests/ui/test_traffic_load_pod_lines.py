"""The load pods' lines: named by the suffix that tells a Job's pods apart, one line each in the width given,
and a summary of all of them once there are more pods than rows."""

from __future__ import annotations

from tui.screens.traffic.loadpods import load_pod_lines, short_names
from tui.traffic.incluster import LoadPod


def pod(name: str, state: str = "Running", *, rps: float = 17.0, requests: int = 163) -> LoadPod:
    return LoadPod(name, "sandbox", requests, rps, state)


def test_short_names_keep_what_differs() -> None:
    assert short_names(["istio-tui-load-mpr4c-qd5dg", "istio-tui-load-mpr4c-qrbr6"]) == {
        "istio-tui-load-mpr4c-qd5dg": "qd5dg",
        "istio-tui-load-mpr4c-qrbr6": "qrbr6",
    }
    # an Indexed Job on a real cluster puts the completion index before the suffix
    indexed = short_names(["istio-tui-load-x-0-ab1cd", "istio-tui-load-x-1-ef2gh"])
    assert indexed == {"istio-tui-load-x-0-ab1cd": "0-ab1cd", "istio-tui-load-x-1-ef2gh": "1-ef2gh"}
    assert short_names(["istio-tui-load-mpr4c-qd5dg"]) == {"istio-tui-load-mpr4c-qd5dg": "qd5dg"}


def test_lines_give_way_until_they_fit() -> None:
    pods = [
        pod("istio-tui-load-mpr4c-qd5dg"),
        pod("istio-tui-load-mpr4c-qrbr6", "Pending", rps=0, requests=0),
    ]
    full = load_pod_lines(pods).plain.splitlines()
    assert full[0] == "load pod istio-tui-load-mpr4c-qd5dg on sandbox: Running 17/s 163 req"
    wide = load_pod_lines(pods, width=54).plain.splitlines()
    assert wide == [
        "load pod qd5dg on sandbox: Running 17/s 163 req",
        "load pod qrbr6 on sandbox: Pending  0/s   0 req",
    ]
    narrow = load_pod_lines(pods, width=36).plain.splitlines()
    assert narrow == ["load pod qd5dg: Running 17/s 163 req", "load pod qrbr6: Pending  0/s   0 req"]
    assert all(len(line) <= 30 for line in load_pod_lines(pods, width=30).plain.splitlines())


def test_more_pods_than_rows_end_in_a_summary() -> None:
    pods = [pod(f"istio-tui-load-j-p{i}", "Failed" if i == 4 else "Running", rps=10) for i in range(6)]
    lines = load_pod_lines(pods, rows=3).plain.splitlines()
    assert lines == [
        "load pod istio-tui-load-j-p0 on sandbox: Running 10/s 163 req",
        "load pod istio-tui-load-j-p1 on sandbox: Running 10/s 163 req",
        "+4 more · 6 load pods · 60/s · 1 Failed 5 Running",
    ]
    narrow = load_pod_lines(pods, width=36, rows=3).plain.splitlines()
    summary = ["+5 more · 6 load pods · 60/s", "1 Failed 5 Running"]
    assert narrow == ["load pod p0: Running 10/s 163 req", *summary]
    assert load_pod_lines(pods[:3], width=36, rows=3).plain.count("\n") == 2


def test_only_a_failed_pod_is_drawn_as_an_alarm() -> None:
    """A pod the user stopped is not a failure: it must not take the failure's bold red."""
    states = ["Running", "Done", "Pending", "Stopped", "Failed"]
    text = load_pod_lines([pod(f"istio-tui-load-j-{s.lower()}", s) for s in states])
    styles = {text.plain[span.start : span.end].strip(): str(span.style) for span in text.spans}
    assert [s for s in states if styles[s] == "bold red"] == ["Failed"]
