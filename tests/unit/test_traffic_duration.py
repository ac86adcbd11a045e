"""Duration, rate accuracy, SIGTERM and per-class latency, over real loopback servers and real processes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import wait_for
from tests.unit.pages.server import PageServer
from tui.traffic.engine import TrafficConfig, run
from tui.traffic.tally import Tally

ROOT = Path(__file__).resolve().parents[2]
ENV = dict(os.environ, PYTHONPATH=str(ROOT))


@pytest.fixture(scope="module")
def server() -> Iterator[PageServer]:
    srv = PageServer().start()
    yield srv
    srv.stop()


class SilentServer:
    """Accepts connections and reads requests, never answers: a hung upstream."""

    def __init__(self) -> None:
        self.requests = 0
        self.port = 0
        self._loop = asyncio.new_event_loop()
        owner = self

        class Silent(asyncio.Protocol):
            def data_received(self, data: bytes) -> None:
                owner.requests += data.count(b"\r\n\r\n")

        self._protocol = Silent
        self._listening = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        server = self._loop.run_until_complete(self._loop.create_server(self._protocol, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._listening.set()
        self._loop.run_forever()
        server.close()
        self._loop.close()

    def __enter__(self) -> SilentServer:
        self._thread.start()
        self._listening.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


def _cli(*args: str, env: dict[str, str] | None = None) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "tui", "traffic", *args], capture_output=True, text=True, timeout=60,
        cwd=ROOT, env={**ENV, **(env or {})}, check=False,
    )
    return time.monotonic() - started, proc


def test_duration_against_a_server_that_never_answers_ends_within_the_timeout() -> None:
    with SilentServer() as silent:
        wall, proc = _cli(f"http://127.0.0.1:{silent.port}/productpage", "--duration", "5", "--timeout", "1",
                          "--concurrency", "4", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    # Requests in flight at 5 s are waited for up to the timeout, then counted as timeouts.
    assert 5.0 <= data["duration_s"] <= 5.0 + 1.0 + 0.15
    assert wall < 5.0 + 1.0 + 3.0  # start-up on a loaded machine
    assert data["tally"]["transport_error"] == data["requests"] > 0
    assert data["requests"] == silent.requests
    assert json.loads(proc.stdout)["latency_ms_by_class"]["errors"]["max"] >= 1000


async def test_duration_counts_requests_in_flight_at_the_end() -> None:
    with SilentServer() as silent:
        config = TrafficConfig(
            url=f"http://127.0.0.1:{silent.port}/", duration_s=0.5, timeout_s=0.4, concurrency=3, workers=0
        )
        final = await run(config)
    assert final.transport_errors == {"timeout": final.requests}
    assert final.requests == silent.requests  # nothing sent was dropped: every request is in the tally
    assert 0.5 <= final.elapsed_s <= 0.5 + 0.4 + 0.15


def test_rate_500_for_10_seconds_is_within_one_percent(server: PageServer) -> None:
    before = server.hits["/current/v2"]
    _, proc = _cli(f"{server.url}/current/v2", "--rate", "500", "--duration", "10", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["requests"] == 5000 == server.hits["/current/v2"] - before
    assert data["tally"]["black"] == 5000
    assert abs(data["rps"] - 500) <= 5, data["rps"]


def test_sigterm_prints_the_partial_tally_of_a_run_until_stopped(server: PageServer) -> None:
    """--until-stopped runs past the 100 requests a run without an amount sends, until the signal."""
    before = server.hits["/current/v3"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui", "traffic", f"{server.url}/current/v3", "--until-stopped",
         "--rate", "300", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=ENV,
    )
    try:
        wait_for(lambda: server.hits["/current/v3"] - before >= 150, "150 requests", timeout=30)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 143, err
    data = json.loads(out)
    assert data["requests"] >= 150 and data["tally"]["red"] == data["requests"]
    assert data["duration_s"] < 30


async def test_latency_is_kept_per_class_and_merges_exactly(server: PageServer) -> None:
    tallies: list[Tally] = []
    final = await run(TrafficConfig(url=f"{server.url}/mixed", requests=70, concurrency=1, workers=2),
                      on_tally=lambda t, _: tallies.append(t))
    by_class = final.latency_by_class
    assert set(by_class) == {"black", "red", "no_stars", "errors"}
    # mixed: 10 each of v1, v2, v3, ratings down, reviews down, 503, garbage; the last four are errors.
    assert sum(by_class["errors"].buckets) == 40 and sum(by_class["red"].buckets) == 10
    assert sum(sum(s.buckets) for s in by_class.values()) == 70
    data = final.to_dict()["latency_ms_by_class"]
    assert set(data["red"]) == {"p50", "p90", "p99", "max", "buckets"}  # type: ignore[index]
    # The raw tally survives a JSON round trip exactly (what in-cluster load pods print).
    again = Tally.from_json(json.loads(json.dumps(tallies[-1].to_json())))
    assert again.to_json() == tallies[-1].to_json() and again.requests == 70


@pytest.mark.parametrize(
    ("args", "env", "expect"),
    [
        (["--workers", "100000"], {}, "workers must be within 0.."),
        (["--in-cluster", "0"], {}, "--in-cluster: must be at least 1"),
        (["--in-cluster", "99999999", "--requests", "99999999"], {}, "--in-cluster: must be at most 100"),
        (["--in-cluster", "3", "--requests", "2"], {}, "--requests 2 is fewer than the 3 load pods"),
        (["--shard-of", "3"], {"JOB_COMPLETION_INDEX": "3"}, "needs JOB_COMPLETION_INDEX in 0..2, got '3'"),
        (["--shard-of", "3"], {}, "needs JOB_COMPLETION_INDEX in 0..2, got ''"),
    ],
)
def test_bad_in_cluster_and_worker_flags_are_one_line(
    args: list[str], env: dict[str, str], expect: str
) -> None:
    _, proc = _cli("http://127.0.0.1:9/productpage", *args, env=env)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and expect in proc.stderr, proc.stderr


def test_a_load_pod_sends_its_exact_share(server: PageServer) -> None:
    before = server.hits["/current/v1"]
    shares = []
    for index in range(3):
        _, proc = _cli(f"{server.url}/current/v1", "--requests", "100", "--shard-of", "3", "--json-lines",
                       env={"JOB_COMPLETION_INDEX": str(index)})
        assert proc.returncode == 0, proc.stderr
        lines = [json.loads(line) for line in proc.stdout.splitlines()]
        assert lines[-1]["type"] == "final" and all(line["type"] == "progress" for line in lines[:-1])
        shares.append(lines[-1]["requests"])
    assert shares == [34, 33, 33] and server.hits["/current/v1"] - before == 100

