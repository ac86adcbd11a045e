"""The load engine over real HTTP against a loopback page server: counts, login, errors, pacing, stopping."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import multiprocessing
import os
import socket
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.pages import current_page
from tests.unit.pages.server import PageServer
from tui.errors import TrafficError
from tui.traffic.engine import TrafficConfig, run
from tui.traffic.snapshot import TallySnapshot


@pytest.fixture(scope="module")
def server() -> Iterator[PageServer]:
    srv = PageServer().start()
    yield srv
    srv.stop()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_exact_request_count_in_process(server: PageServer) -> None:
    before = server.hits["/current/v3"]
    url = f"{server.url}/current/v3"
    config = TrafficConfig(url=url, requests=57, concurrency=8, workers=0)
    final = await run(config)
    assert final.done and final.requests == 57
    assert server.hits["/current/v3"] - before == 57
    assert final.counts["red"] == 57
    assert final.by_pod == {"reviews-v3-1": 57}
    assert final.status_codes == {200: 57}
    assert 0 < final.latency.p50_ms <= final.latency.p99_ms <= final.latency.max_ms


async def test_exact_request_count_across_worker_processes(server: PageServer) -> None:
    before = server.hits["/legacy/v2"]
    snapshots: list[TallySnapshot] = []
    final = await run(
        TrafficConfig(url=f"{server.url}/legacy/v2", requests=301, concurrency=6, workers=2),
        on_snapshot=snapshots.append,
    )
    assert final.requests == 301 and final.counts["black"] == 301
    assert server.hits["/legacy/v2"] - before == 301
    assert snapshots[-1] is final and final.done
    assert all(not s.done for s in snapshots[:-1])
    assert [s.requests for s in snapshots] == sorted(s.requests for s in snapshots)
    assert not multiprocessing.active_children()


class _KeepAliveServer:
    """A raw keep-alive HTTP/1.1 server that records every connection and every request head."""

    def __init__(self) -> None:
        body = current_page("v1", pod="reviews-v1-ka").encode()
        self.response = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        self.connections = 0
        self.heads: list[bytes] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while head := await reader.readuntil(b"\r\n\r\n"):
                self.heads.append(head.lower())
                writer.write(self.response)
                await writer.drain()
        writer.close()


class _OneSlowConnectionServer(_KeepAliveServer):
    """Keep-alive; the first connection answers each request only after ``delay_s``. Counts per connection."""

    def __init__(self, delay_s: float) -> None:
        super().__init__()
        self.delay_s = delay_s
        self.served: list[int] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        index = len(self.served)
        self.served.append(0)
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while await reader.readuntil(b"\r\n\r\n"):
                if index == 0:
                    await asyncio.sleep(self.delay_s)
                writer.write(self.response)
                self.served[index] += 1
                await writer.drain()
        writer.close()


async def test_a_fast_worker_takes_the_requests_a_slow_one_cannot() -> None:
    """Two workers, one lane each, one of them on a slow connection: the requests are not split in fixed
    halves (the fast worker would idle while the slow one runs its half), and the count stays exact."""
    slow = _OneSlowConnectionServer(delay_s=0.05)
    server = await asyncio.start_server(slow.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        url = f"http://127.0.0.1:{port}/productpage"
        config = TrafficConfig(url=url, requests=200, concurrency=2, workers=2)
        final = await asyncio.wait_for(run(config), timeout=60)
    finally:
        server.close()
        await server.wait_closed()
    assert final.requests == 200 and final.counts["no_stars"] == 200
    assert len(slow.served) == 2 and sum(slow.served) == 200
    assert slow.served[0] < 50 < slow.served[1]


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [("gzip", gzip.compress), ("deflate", zlib.compress), ("identity", lambda body: b"x" + body)],
)
async def test_compressed_pages_are_classified_though_identity_was_asked(encoding, encode) -> None:
    """A server may compress anyway; a plain page that merely starts with "x" stays as it is."""
    ka = _KeepAliveServer()
    body = encode(current_page("v3", pod="reviews-v3-gz").encode())
    ka.response = b"HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\nContent-Length: %d\r\n\r\n%s" % (
        encoding.encode(), len(body), body
    )
    server = await asyncio.start_server(ka.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        final = await run(TrafficConfig(url=f"http://127.0.0.1:{port}/", requests=5, workers=0))
    finally:
        server.close()
        await server.wait_closed()
    assert final.counts["red"] == 5 and final.by_pod == {"reviews-v3-gz": 5}


_REPLACED_STDERR_RUN = """
import asyncio, sys
from tui.traffic.engine import TrafficConfig, run

class Capture:  # like Textual's stand-in for stderr/stdout: no usable file descriptor
    def write(self, text): return len(text)
    def flush(self): pass
    def fileno(self): return -1

sys.stderr = sys.stdout = Capture()
final = asyncio.run(run(TrafficConfig(url=sys.argv[1], requests=40, concurrency=2, workers=2)))
print(final.requests, final.counts.get("black", 0), file=sys.__stdout__)
"""


def test_worker_processes_start_when_the_host_replaced_stderr(server: PageServer) -> None:
    """A fresh interpreter, so multiprocessing's resource tracker is not already running from other tests."""
    proc = subprocess.run(
        [sys.executable, "-c", _REPLACED_STDERR_RUN, f"{server.url}/legacy/v2"],
        capture_output=True, text=True, timeout=60, cwd=Path(__file__).resolve().parents[2],
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["40", "40"]
    assert "fds_to_keep" not in proc.stderr


async def test_keep_alive_reuses_one_connection_per_lane() -> None:
    ka = _KeepAliveServer()
    server = await asyncio.start_server(ka.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        config = TrafficConfig(
            url=f"http://127.0.0.1:{port}/productpage", requests=60, concurrency=3, workers=0
        )
        final = await run(config)
    finally:
        server.close()
        await server.wait_closed()
    assert final.counts["no_stars"] == 60 and len(ka.heads) == 60
    assert 1 <= ka.connections <= 3
    assert all(b"\r\naccept-encoding: identity\r\n" in head for head in ka.heads)


async def test_every_category_counts_and_they_sum(server: PageServer) -> None:
    config = TrafficConfig(url=f"{server.url}/mixed", requests=70, concurrency=1, workers=0)
    final = await run(config)
    assert sum(final.counts.values()) == final.requests == 70
    assert final.counts == {
        "black": 10, "red": 10, "no_stars": 10, "ratings_unavailable": 10, "reviews_unavailable": 10,
        "http_error": 10, "transport_error": 0, "unrecognized": 10,
    }
    assert final.status_codes == {200: 60, 503: 10}


async def test_details_unavailable_is_counted_beside_the_category(server: PageServer) -> None:
    final = await run(TrafficConfig(url=f"{server.url}/current/details_down", requests=9, workers=0))
    assert final.counts["no_stars"] == 9 and final.details_unavailable == 9


async def test_503_is_http_error_even_with_a_page_body(server: PageServer) -> None:
    final = await run(TrafficConfig(url=f"{server.url}/status/503", requests=20, workers=0))
    assert final.counts["http_error"] == 20 and final.counts["black"] == 0
    assert final.status_codes == {503: 20}


async def test_refused_connections_are_transport_errors() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/productpage"
    final = await run(TrafficConfig(url=url, requests=12, concurrency=3, workers=0))
    assert final.counts["transport_error"] == 12
    assert final.transport_errors == {"refused": 12}
    assert final.status_codes == {}


async def test_timeouts_are_transport_errors_and_end_on_time(server: PageServer) -> None:
    started = time.monotonic()
    final = await run(
        TrafficConfig(
            url=f"{server.url}/slow", requests=4, concurrency=4, timeout_s=0.3, workers=0
        )
    )
    assert final.counts["transport_error"] == 4
    assert final.transport_errors == {"timeout": 4}
    assert time.monotonic() - started < 1.9
    assert final.latency.max_ms >= 300


@pytest.mark.parametrize("workers", [0, 1])
async def test_login_keeps_the_session_cookie(server: PageServer, workers) -> None:
    before = server.hits["/login"]
    config = TrafficConfig(url=f"{server.url}/productpage", requests=15, user="jason", workers=workers)
    jason = await run(config)
    assert jason.counts["black"] == 15 and jason.by_pod == {"reviews-v2-jason": 15}
    assert server.hits["/login"] - before == 1
    anon = await run(TrafficConfig(url=f"{server.url}/productpage", requests=15, workers=0))
    assert anon.counts["no_stars"] == 15


@pytest.mark.parametrize("workers", [0, 1])
async def test_refused_login_is_a_traffic_error(server: PageServer, workers) -> None:
    server.login_fails = True
    config = TrafficConfig(url=f"{server.url}/productpage", requests=5, user="jason", workers=workers)
    try:
        with pytest.raises(TrafficError, match=r"login as 'jason' failed: POST .*/login answered HTTP 503"):
            await run(config)
    finally:
        server.login_fails = False
    assert not multiprocessing.active_children()


async def test_unreachable_login_is_a_traffic_error() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/productpage"
    with pytest.raises(TrafficError, match="got no answer"):
        await run(TrafficConfig(url=url, requests=1, user="jason", workers=0))


async def test_rate_paces_requests_against_the_schedule(server: PageServer) -> None:
    started = time.monotonic()
    final = await run(TrafficConfig(url=f"{server.url}/current/v1", requests=30, rate=100.0, workers=0))
    elapsed = time.monotonic() - started
    assert final.requests == 30
    assert elapsed >= 29 / 100
    assert final.elapsed_s >= 29 / 100


async def test_duration_ends_the_run(server: PageServer) -> None:
    final = await run(TrafficConfig(url=f"{server.url}/current/v1", duration_s=0.4, concurrency=2, workers=0))
    assert final.done and final.requests > 0
    assert 0.4 <= final.elapsed_s < 3.0


@pytest.mark.parametrize("workers", [0, 2])
async def test_stop_event_ends_an_open_ended_run(server: PageServer, workers) -> None:
    stop = asyncio.Event()

    def on_snapshot(snap: TallySnapshot) -> None:
        if snap.requests >= 20:
            stop.set()

    final = await asyncio.wait_for(
        run(TrafficConfig(url=f"{server.url}/current/v2", concurrency=2, rate=200.0, workers=workers),
            on_snapshot=on_snapshot, stop_event=stop),
        timeout=30,
    )
    assert stop.is_set() and final.done
    assert final.requests >= 20 and final.counts["black"] == final.requests
    assert not multiprocessing.active_children()


async def test_cancelling_the_caller_reaps_the_workers(server: PageServer) -> None:
    seen = asyncio.Event()
    task = asyncio.create_task(
        run(TrafficConfig(url=f"{server.url}/current/v1", concurrency=2, rate=100.0, workers=2),
            on_snapshot=lambda s: seen.set() if s.requests else None)
    )
    await asyncio.wait_for(seen.wait(), timeout=30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not multiprocessing.active_children()


@pytest.mark.skipif(not hasattr(os, "SCHED_BATCH"), reason="Linux scheduler policies")
async def test_workers_run_as_batch_tasks_and_the_host_does_not(server: PageServer) -> None:
    """Workers must not preempt the server they load or the TUI on every response (see the engine)."""
    stop = asyncio.Event()
    policies: dict[int, int] = {}

    def look(snapshot: TallySnapshot) -> None:
        if snapshot.requests and not stop.is_set():
            policies.update({p.pid: os.sched_getscheduler(p.pid) for p in multiprocessing.active_children()})
            stop.set()

    config = TrafficConfig(url=f"{server.url}/current/v1", concurrency=2, rate=200.0, workers=2)
    final = await asyncio.wait_for(run(config, on_snapshot=look, stop_event=stop), timeout=30)
    assert final.done and len(policies) == 2
    assert set(policies.values()) == {os.SCHED_BATCH}
    assert os.sched_getscheduler(0) == os.SCHED_OTHER
