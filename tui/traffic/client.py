"""The hot loop of one worker: keep-alive lanes on asyncio ``Protocol``s, httptools (llhttp) parsing replies.

A lane is one connection that sends the one prebuilt request, waits for the whole response, classifies it and
sends again. Everything is a callback: no coroutine, future or timer per request, which is what makes this
about 5x cheaper in CPU than aiohttp's session (see ``engine.py`` for the figures). A lane takes a ticket
from the run's ``Tickets`` for every request, so the request count is exact whatever fails; every ticket is
tallied exactly once, as a page or as a transport error, unless the run is stopped while it is in flight.

Timeouts are swept, not armed per request: every ``_SWEEP_S`` the worker fails requests past their deadline
(counted as ``timeout``), so a request never waits more than ``timeout + _SWEEP_S``.
"""

from __future__ import annotations

import asyncio
import errno
import math
import ssl
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from time import monotonic
from typing import Any, cast

import httptools

from tui.traffic.classify import RecentPages
from tui.traffic.tally import Tally

_SWEEP_S = 0.05


@dataclass(frozen=True, slots=True)
class Target:
    """Where a worker connects and what it sends; resolved and built once, before the workers fork."""

    host: str
    port: int
    tls: bool
    server_hostname: str | None
    request: bytes


class Tickets:
    """The numbers 0, 1, 2, ... of a run's requests, below ``budget`` (None: no limit), each given out once.

    With a multiprocessing context the counter is in shared memory under a lock, and every worker of the run
    takes from it whenever one of its lanes is free: all lanes stay busy until the last request, whichever
    worker is faster. (With a fixed share per worker, one was done at 0.33 s and the other at 0.53 s of the
    same 20,000-request run, which ended on half the connections; see ``engine.py``.) Without a
    context it is a plain counter for one worker in one process. Picklable while a process is being started.
    """

    __slots__ = ("_lock", "_shared", "budget", "_next")

    def __init__(self, budget: int | None, ctx: Any = None) -> None:
        self.budget = budget if budget is not None else sys.maxsize
        self._next = 0
        self._shared: Any = ctx.RawValue("q", 0) if ctx is not None else None
        self._lock: Any = ctx.Lock() if ctx is not None else None

    def __getstate__(self) -> tuple[int, Any, Any]:
        return self.budget, self._shared, self._lock

    def __setstate__(self, state: tuple[int, Any, Any]) -> None:
        self.budget, self._shared, self._lock = state
        self._next = 0

    def take(self) -> int | None:
        """The next request's number, or None when the budget is spent."""
        if self._lock is None:
            ticket = self._next
            if ticket >= self.budget:
                return None
            self._next = ticket + 1
            return ticket
        with self._lock:
            ticket = self._shared.value
            if ticket >= self.budget:
                return None
            self._shared.value = ticket + 1
        return ticket


@dataclass(frozen=True, slots=True)
class WorkerPlan:
    """One worker's part of a run: its lanes, and the run's shared tickets and pacing. Picklable while a
    process is being started: it crosses into the worker process."""

    index: int
    target: Target
    tickets: Tickets
    duration_s: float | None
    concurrency: int
    rate: float
    timeout_s: float
    interval_s: float


def error_kind(err: BaseException) -> str:
    """A short name for a request that got no HTTP answer: refused, reset, timeout, tls, dns or the class."""
    code = getattr(err, "errno", None)
    if isinstance(err, ConnectionRefusedError) or code == errno.ECONNREFUSED:
        return "refused"
    if isinstance(err, ConnectionResetError | BrokenPipeError) or code == errno.ECONNRESET:
        return "reset"
    if isinstance(err, TimeoutError):
        return "timeout"
    if isinstance(err, ssl.SSLError):
        return "tls"
    if isinstance(err, OSError) and type(err).__name__ == "gaierror":
        return "dns"
    return type(err).__name__


class _Conn(asyncio.Protocol):
    """One TCP connection of a lane, and the httptools callbacks for its responses.

    No ``on_header``: httptools would call it for every header of every response (about 1 us a response).
    The one header that mattered, Content-Encoding, is told by the body's first bytes instead (see
    ``_decoded``)."""

    __slots__ = ("chunks", "lane", "parser", "transport")

    def __init__(self, lane: _Lane) -> None:
        self.lane = lane
        self.parser = httptools.HttpResponseParser(self)
        self.chunks: list[bytes] = []
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass asyncio's
        self.lane.connected(self)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.lane.failed(self, "bad_response")

    def connection_lost(self, exc: Exception | None) -> None:
        self.lane.lost(self, exc)

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)

    def on_message_complete(self) -> None:
        body = b"".join(self.chunks) if len(self.chunks) != 1 else self.chunks[0]
        self.chunks = []
        if body[:1] in _COMPRESSED_STARTS:
            body = _decoded(body)
        self.lane.completed(self, self.parser.get_status_code(), body, self.parser.should_keep_alive())


# The first byte of a gzip member (1f 8b) and of a zlib stream (78 ..): HTTP's gzip and deflate encodings.
_COMPRESSED_STARTS = (b"\x1f", b"x")


def _decoded(body: bytes) -> bytes:
    """We ask for ``identity``; a server that compresses anyway still gets its pages classified. A page that
    only looks compressed (text starting with "x") fails to decompress at its first bytes and is kept."""
    try:
        return zlib.decompress(body, 47)  # 32 + 15: a gzip or a zlib header, whichever it is
    except zlib.error:
        return body


class _Lane:
    """One in-flight slot: at most one request at a time on at most one connection."""

    __slots__ = ("conn", "connecting", "deadline", "due", "worker")

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.conn: _Conn | None = None
        self.connecting: asyncio.Task[object] | None = None
        self.due = -1.0  # due time of the request in flight; negative when idle
        self.deadline = math.inf

    def next(self) -> None:
        due = self.worker.take()
        if due is None:
            self.due = -1.0
            self.drop_connection()
            self.worker.lane_finished()
            return
        self.due = due
        self.deadline = due + self.worker.timeout_s
        wait = due - monotonic()
        if wait > 0:
            self.worker.loop.call_later(wait, self.send)
        else:
            self.send()

    def send(self) -> None:
        if self.due < 0:
            return
        now = monotonic()
        self.deadline = (now if now > self.due else self.due) + self.worker.timeout_s
        conn = self.conn
        if conn is not None and conn.transport is not None:
            conn.transport.write(self.worker.request)
        elif self.connecting is None:
            self.connecting = self.worker.loop.create_task(self._connect())

    async def _connect(self) -> None:
        w = self.worker
        try:
            await w.loop.create_connection(
                lambda: _Conn(self), w.target.host, w.target.port, ssl=w.ssl, server_hostname=w.server_name
            )
        except (OSError, ValueError) as err:
            if self.connecting is asyncio.current_task():
                self.connecting = None
            if self.due >= 0:
                self._record_error(error_kind(err))

    def connected(self, conn: _Conn) -> None:
        self.connecting = None
        self.conn = conn
        if self.due >= 0 and conn.transport is not None:
            conn.transport.write(self.worker.request)

    def completed(self, conn: _Conn, status: int, body: bytes, keep_alive: bool) -> None:
        if conn is not self.conn or self.due < 0:
            return
        self.worker.tally.record(status, self.worker.pages.verdict(status, body), monotonic() - self.due)
        self.due = -1.0
        if not keep_alive:
            self.drop_connection()
        self.next()

    def failed(self, conn: _Conn, kind: str) -> None:
        if conn is self.conn and self.due >= 0:
            self._record_error(kind)

    def lost(self, conn: _Conn, exc: Exception | None) -> None:
        if conn is not self.conn:
            return
        self.conn = None
        if self.due >= 0:
            self._record_error(error_kind(exc) if exc is not None else "closed")

    def timed_out(self, now: float) -> None:
        if self.due >= 0 and now >= self.deadline:
            self._record_error("timeout")

    def _record_error(self, kind: str) -> None:
        self.worker.tally.record_transport_error(kind, monotonic() - self.due)
        self.due = -1.0
        self.drop_connection()
        self.next()

    def drop_connection(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None and conn.transport is not None:
            conn.transport.abort()
        task, self.connecting = self.connecting, None
        if task is not None:
            task.cancel()

    def abandon(self) -> None:
        """The run was stopped: this request is neither waited for nor counted."""
        self.due = -1.0
        self.drop_connection()


class Worker:
    """Sends one worker's share of a run from ``start`` (a ``time.monotonic()`` value) on the running loop.

    ``report`` gets the cumulative tally every plan interval. ``finished`` resolves when every lane is done:
    the request budget is spent, or the duration passed and the requests in flight answered or timed out.
    """

    def __init__(self, plan: WorkerPlan, *, report: Callable[[Tally], None] | None = None) -> None:
        self.loop = asyncio.get_running_loop()
        self.plan = plan
        self.target = plan.target
        self.request = plan.target.request
        self.timeout_s = plan.timeout_s
        self.ssl: ssl.SSLContext | None = ssl.create_default_context() if plan.target.tls else None
        self.server_name = plan.target.server_hostname if plan.target.tls else None
        self.tally = Tally()
        self.pages = RecentPages()
        self.finished: asyncio.Future[None] = self.loop.create_future()
        self.ended: float | None = None
        self._report = report
        self._lanes = [_Lane(self) for _ in range(plan.concurrency)]
        self._running = len(self._lanes)
        self._first_due = 0.0
        self._end = math.inf
        self._spacing = 1.0 / plan.rate if plan.rate > 0 else 0.0
        self._stopping = False
        self._timers: dict[str, asyncio.TimerHandle] = {}

    def start(self, start: float) -> None:
        self._first_due = start
        self._end = start + self.plan.duration_s if self.plan.duration_s is not None else math.inf
        self.loop.call_later(max(0.0, start - monotonic()), self._begin)

    def _begin(self) -> None:
        self._sweep()
        self._tick()
        for lane in self._lanes:
            if not self._stopping:
                lane.next()

    def take(self) -> float | None:
        """The due time of the next request, or None when the run has sent all it should."""
        if self._stopping:
            return None
        ticket = self.plan.tickets.take()
        if ticket is None:
            return None
        due = self._first_due + ticket * self._spacing if self._spacing else monotonic()
        return due if due < self._end else None

    def lane_finished(self) -> None:
        self._running -= 1
        if self._running == 0 and not self.finished.done():
            self.ended = monotonic()
            for timer in self._timers.values():
                timer.cancel()
            self.finished.set_result(None)

    def stop(self) -> None:
        """Stop now: requests in flight are dropped, not counted."""
        if self._stopping:
            return
        self._stopping = True
        for lane in self._lanes:
            lane.abandon()
        self._running = 1
        self.lane_finished()

    def _sweep(self) -> None:
        now = monotonic()
        for lane in self._lanes:
            lane.timed_out(now)
        if not self.finished.done():
            self._timers["sweep"] = self.loop.call_later(_SWEEP_S, self._sweep)

    def _tick(self) -> None:
        if self._report is not None:
            self._report(self.tally)
        if not self.finished.done():
            self._timers["tick"] = self.loop.call_later(self.plan.interval_s, self._tick)
