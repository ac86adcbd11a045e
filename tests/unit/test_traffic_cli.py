"""`istio-tui traffic`: the JSON contract over a real subprocess, the summary, exit codes and bad flags."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.unit.pages.server import PageServer
from tui.__main__ import main
from tui.traffic.incluster import InClusterPlan

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server() -> Iterator[PageServer]:
    srv = PageServer().start()
    yield srv
    srv.stop()


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "tui", "traffic", *args],
        capture_output=True, text=True, timeout=60, cwd=ROOT, env=env, check=False,
    )


def test_json_contract_over_worker_processes(server: PageServer) -> None:
    before = server.hits["/mixed"]
    proc = _cli(f"{server.url}/mixed", "--requests", "140", "--concurrency", "4", "--workers", "2", "--json")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("\n") == 1
    data = json.loads(proc.stdout)
    assert list(data) == [
        "url", "requests", "duration_s", "rps", "tally", "details_unavailable", "by_pod", "status_codes",
        "transport_errors", "latency_ms", "latency_ms_by_class",
    ]
    assert data["url"] == f"{server.url}/mixed"
    assert data["requests"] == 140 and server.hits["/mixed"] - before == 140
    assert sum(data["tally"].values()) == 140
    assert data["tally"]["http_error"] == 20 and data["status_codes"] == {"200": 120, "503": 20}
    assert set(data["tally"]) == {
        "black", "red", "no_stars", "ratings_unavailable", "reviews_unavailable", "http_error",
        "transport_error", "unrecognized",
    }
    assert data["details_unavailable"] == 0
    assert sum(data["by_pod"].values()) == 80
    assert data["duration_s"] > 0 and data["rps"] > 0
    assert set(data["latency_ms"]) == {"p50", "p90", "p99", "max"}
    assert proc.stderr == ""


def test_json_with_login_and_bare_gateway_url(server: PageServer) -> None:
    proc = _cli(server.url, "--requests", "10", "--user", "jason", "--workers", "1", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["url"] == f"{server.url}/productpage"
    assert data["tally"]["black"] == 10 and data["by_pod"] == {"reviews-v2-jason": 10}


def test_summary_has_bars_and_exit_zero_whatever_the_pages_said(server: PageServer, capsys) -> None:
    code = main(["traffic", f"{server.url}/status/503", "--requests", "8", "--workers", "0"])
    out = capsys.readouterr().out
    assert code == 0
    assert "8 requests in" in out
    assert "http_error" in out and "█" * 30 in out and "100.0%" in out
    assert "HTTP status          503: 8" in out


def test_transport_errors_are_listed_in_the_summary(capsys) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code = main(["traffic", f"http://127.0.0.1:{port}/productpage", "--requests", "3", "--workers", "0"])
    assert code == 0
    assert "transport errors     refused: 3" in capsys.readouterr().out


def test_failed_login_exits_1_with_one_line(server: PageServer) -> None:
    server.login_fails = True
    try:
        proc = _cli(server.url, "--requests", "3", "--user", "jason", "--workers", "1")
    finally:
        server.login_fails = False
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "login as 'jason' failed" in proc.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--requests", "-5"], "argument --requests: must be at least 1"),
        (["--requests", "ten"], "must be a whole number"),
        (["--requests", "5", "--duration", "2"], "not allowed with argument"),
        (["--duration", "0"], "argument --duration: must be a positive number"),
        (["--concurrency", "0"], "argument --concurrency"),
        (["--rate", "-1"], "argument --rate"),
        (["--rate", "nan"], "argument --rate"),
        (["--timeout", "-2"], "argument --timeout"),
        (["--workers", "-1"], "argument --workers"),
        (["--user", " "], "user name must be printable"),
        (["--in-cluster", "1", "--namespace", "Bad_NS"], "argument --namespace: 'Bad_NS' is not a valid"),
    ],
)
def test_bad_flags_exit_2_with_one_line(args, message, capsys) -> None:
    try:
        code = main(["traffic", "http://127.0.0.1:1/productpage", *args])
    except SystemExit as exit_:
        code = exit_.code  # type: ignore[assignment]
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and message in captured.err
    assert captured.err.startswith("istio-tui traffic: ")


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/productpage", "127.0.0.1:8080", "http://"])
def test_bad_url_exits_2_with_one_line(url, capsys) -> None:
    assert main(["traffic", url, "--requests", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "URL must start with http:// or https://" in err


def test_missing_url_is_one_line_in_a_real_process() -> None:
    proc = _cli("--requests", "3")
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "URL" in proc.stderr and "usage" not in proc.stderr


def test_ctrl_c_stops_and_still_prints_the_tally(server: PageServer) -> None:
    before = server.hits["/current/v1"]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui", "traffic", f"{server.url}/current/v1",
         "--duration", "60", "--rate", "100", "--workers", "2", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env,
    )
    try:
        deadline = time.monotonic() + 30
        while server.hits["/current/v1"] - before < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    data = json.loads(out)
    assert data["requests"] >= 20 and data["tally"]["no_stars"] == data["requests"]
    assert data["duration_s"] < 30


def test_timeout_flag_counts_slow_pages_as_transport_errors(server: PageServer, capsys) -> None:
    started = time.monotonic()
    code = main(["traffic", f"{server.url}/slow", "--requests", "2", "--timeout", "0.3", "--workers", "0",
                 "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert data["tally"]["transport_error"] == 2 and data["latency_ms"]["max"] >= 300
    assert data["transport_errors"] == {"timeout": 2}
    assert time.monotonic() - started < 1.9


def test_load_pods_of_an_open_ended_run_are_told_to_run_until_stopped() -> None:
    def args(**amount: Any) -> list[str]:
        plan = InClusterPlan(url="http://gw/productpage", pods=2, namespace="ns", image="img", **amount)
        job: Any = plan.job("run1")
        return list(job["spec"]["template"]["spec"]["containers"][0]["args"])

    assert "--until-stopped" in args()
    assert "--until-stopped" not in args(requests=300)
    assert "--until-stopped" not in args(duration_s=5.0)
