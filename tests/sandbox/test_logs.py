"""``pods/log`` against the sandbox: lines that match each container's state, and the apiserver's options."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.conftest import Kubectl
from tests.helpers import wait_for
from tui.sandbox import logs
from tui.sandbox.cluster import Sandbox

BASE = "/api/v1/namespaces/default/pods"


def make_pod(api: httpx.Client, name: str, *containers: dict[str, Any]) -> None:
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {"containers": containers}}
    assert api.post(BASE, json=body).status_code == 201


def status_of(api: httpx.Client, name: str) -> dict[str, Any]:
    return api.get(f"{BASE}/{name}").json()["status"]


def running(api: httpx.Client, name: str) -> bool:
    statuses = status_of(api, name).get("containerStatuses") or []
    return bool(statuses) and all(cs.get("ready") for cs in statuses)


def test_running_container_logs_start_up_and_honours_options(api: httpx.Client) -> None:
    make_pod(api, "web", {"name": "web", "image": "nginx:1.27", "ports": [{"containerPort": 80}]})
    wait_for(lambda: running(api, "web"), "web running")
    text = api.get(f"{BASE}/web/log").text
    assert "starting nginx:1.27 in pod web" in text and ":80" in text and "INFO ready" in text
    assert len(api.get(f"{BASE}/web/log?tailLines=1").text.splitlines()) == 1
    assert api.get(f"{BASE}/web/log?tailLines=0").text == ""
    stamped = api.get(f"{BASE}/web/log?timestamps=true").text.splitlines()[0]
    assert stamped[:4].isdigit() and stamped.split(" ", 1)[0].endswith("Z")
    r = api.get(f"{BASE}/web/log?previous=true")
    assert r.status_code == 400
    assert 'previous terminated container "web" in pod "web" not found' in r.json()["message"]
    assert api.get(f"{BASE}/web/log?tailLines=-3").status_code == 400


def test_crash_loop_logs_the_crash_and_exit_code(api: httpx.Client) -> None:
    crash = ["sh", "-c", "echo config missing; exit 3"]
    make_pod(api, "boom", {"name": "app", "image": "busybox", "command": crash})

    def crashed() -> bool:
        statuses = status_of(api, "boom").get("containerStatuses") or []
        return bool(statuses) and int(statuses[0].get("restartCount") or 0) >= 1

    wait_for(crashed, "a crash")
    for query in ("", "?previous=true"):
        text = api.get(f"{BASE}/boom/log{query}").text
        assert "config missing" in text and "exited with code 3" in text, query
        assert "INFO ready" not in text


def test_image_pull_failure_has_no_log(api: httpx.Client) -> None:
    make_pod(api, "nopull", {"name": "app", "image": "example/doesnotexist:1"})
    def pulling() -> bool:
        state = (status_of(api, "nopull").get("containerStatuses") or [{}])[0].get("state") or {}
        return (state.get("waiting") or {}).get("reason") in ("ErrImagePull", "ImagePullBackOff")

    wait_for(pulling, "a failed pull")
    r = api.get(f"{BASE}/nopull/log")
    assert r.status_code == 400
    assert "is waiting to start: trying and failing to pull image" in r.json()["message"]


def test_proxy_reports_the_injected_version(api: httpx.Client) -> None:
    make_pod(
        api,
        "meshed",
        {"name": "app", "image": "nginx:1.27"},
        {"name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.30.3"},
    )
    wait_for(lambda: running(api, "meshed"), "meshed running")
    text = api.get(f"{BASE}/meshed/log?container=istio-proxy").text
    assert "Version 1.30.3" in text and "1.28" not in text


def test_follow_streams_new_lines_and_ends_with_the_pod(
    api: httpx.Client, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logs, "HEARTBEAT_S", 0.3)
    make_pod(api, "tail", {"name": "app", "image": "nginx:1.27"})
    wait_for(lambda: running(api, "tail"), "tail running")
    got: list[str] = []
    with api.stream("GET", f"{BASE}/tail/log?follow=true&tailLines=1", timeout=20) as r:
        assert r.status_code == 200
        lines = r.iter_lines()
        got.append(next(lines))
        started = time.monotonic()
        got.append(next(lines))  # a line written after the request began
        assert time.monotonic() - started > 0.1
        assert api.delete(f"{BASE}/tail").status_code == 200
        got += list(lines)  # the stream ends once the pod is gone
    assert len(got) >= 2 and all("GET /healthz 200" in line for line in got[1:])


def test_kubectl_logs_previous_and_tail(api: httpx.Client, kubectl: Kubectl) -> None:
    crash = ["sh", "-c", "echo bad input; exit 2"]
    make_pod(api, "crashy", {"name": "app", "image": "busybox", "command": crash})
    wait_for(lambda: (status_of(api, "crashy").get("containerStatuses") or [{}])[0].get("lastState"), "crash")
    out = kubectl("logs", "crashy", "-p").stdout
    assert "bad input" in out and "exited with code 2" in out
    assert len(kubectl("logs", "crashy", "--tail=1").stdout.splitlines()) == 1
