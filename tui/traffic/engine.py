"""The load engine: many keep-alive requests, each response classified and tallied, spread over processes.

API (the traffic pane and the CLI both use exactly this)::

    from tui.traffic.engine import TrafficConfig, run

    config = TrafficConfig(url="http://127.0.0.1:31380/productpage", requests=400, concurrency=16)
    final = await run(config, on_snapshot=callback, stop_event=stop)   # -> tui.models.TallySnapshot

* ``TrafficConfig`` validates on construction and raises ``tui.errors.ConfigError`` with a one-line message,
  so a form can show it as is. A URL without a path gets ``/productpage``. Neither ``requests`` nor
  ``duration_s`` means: run until ``stop_event`` is set.
* ``run`` is a coroutine; call it from an async Textual worker or from ``asyncio.run``. ``on_snapshot`` is a
  plain (non-async) callable, called from the caller's event loop about every ``snapshot_interval_s`` (0.2 s)
  with a merged ``TallySnapshot``, never once per request; the last one has ``done=True`` and is also
  returned. Setting ``stop_event`` (an ``asyncio.Event``) ends the run within about one interval; requests
  still in flight are dropped, not counted. Cancelling the calling task stops and reaps the workers too.
* A failed login or a dead worker raises ``tui.errors.TrafficError``. Refused connections, resets and
  timeouts are not errors: they are counted as ``transport_error``.

How it scales: ``workers`` processes (default ``os.cpu_count()``; spawn start method, so it is safe under
Textual and on macOS, and the caller's ``__main__`` must be import-safe), each with its own event loop,
keep-alive connections and share of the concurrency, requests and rate. Each sends its cumulative ``Tally``
through a pipe every interval; the parent merges the latest one from every worker, which is exact (see
``tally.py``). ``workers=0`` runs in the caller's event loop (small runs and tests; it competes with the UI
for the loop).

Pacing: with ``rate`` > 0 request k of a worker is due at ``start + phase + k / rate``; workers are phased
so the global arrivals are evenly spaced. Latency is measured from the due time, not from when a busy client
got round to sending, so a stalled server shows up in the percentiles (no coordinated omission).

Client choice (``TrafficConfig.client``), measured with ``bench/traffic_bench.py`` on the shared 2-core box
(load average 4-8 from other work, so absolute rates swing by +-30% between runs; hey runs in the same bench
run as the reference): 15 KB page from a raw asyncio server, concurrency 16, 20,000 requests, classification
on. The last bench run (the CLI, 2 workers, did 3,766 req/s = 0.45x hey in it)::

    client            workers   req/s    x hey   CPU ms / 1,000 req
    hey                  -       8,315   1.00      61
    aiohttp (default)    1       4,277   0.51     190
    aiohttp              2       2,106   0.25     213
    httpx                1         626   0.08     641
    httpx                2         988   0.12     621
    own HTTP/1.1 client  -      rejected: outside the architecture (it measured ~0.8x hey)

The design makes httpx the API and allows one escape hatch: the hot loop may use aiohttp's session directly.
httpx on the aiohttp transport costs 2.6-3.4x aiohttp's CPU per request (several runs), so ``"aiohttp"`` is
the default hot loop and ``"httpx"`` stays selectable; the login always goes through httpx. What the aiohttp
loop costs per request: a bare ``get`` + ``read`` loop 120-150 us CPU, ``classify`` ~20 us, ``Tally.record``
~4 us. Tried and not kept, because interleaved runs showed no difference beyond the run-to-run noise: a
trimmed session (no User-Agent/Accept headers, no decompressor, no response context manager), an unlimited
connector, disabling the GC. uvloop is not installed, so it is not used. Workers: with the page server on the
same two cores, one worker usually beat two (the bench's single server process competes with them), but
against two server processes two workers reached up to 2x one; the default stays one per core, for a
gateway that runs on other CPUs.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import math
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing import resource_tracker
from typing import Any, Literal, Protocol
from urllib.parse import urljoin, urlsplit, urlunsplit

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport
from yarl import URL

from tui.errors import ConfigError, TrafficError
from tui.models import TallySnapshot
from tui.traffic.classify import classify
from tui.traffic.tally import Tally, merged

ClientKind = Literal["aiohttp", "httpx"]
SnapshotCallback = Callable[[TallySnapshot], None]

_MAX_CONCURRENCY = 10_000
_TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (
    aiohttp.ClientError,
    httpx.TransportError,
    OSError,
    TimeoutError,
)


def normalize_url(url: str) -> str:
    """Validate a page URL; a bare gateway address (``http://host:port``) gets ``/productpage``."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"URL must start with http:// or https:// and name a host, got {url!r}",
            hint="e.g. http://127.0.0.1:31380/productpage",
        )
    try:
        _ = parts.port
    except ValueError as err:
        raise ConfigError(f"URL has a bad port: {url!r}") from err
    path = parts.path if parts.path not in ("", "/") else "/productpage"
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


@dataclass(frozen=True, slots=True)
class TrafficConfig:
    """The knobs of one run. Invalid values raise ``ConfigError`` here, before anything is sent."""

    url: str
    requests: int | None = None
    duration_s: float | None = None
    concurrency: int = 16
    rate: float = 0.0
    user: str | None = None
    timeout_s: float = 5.0
    workers: int | None = None
    client: ClientKind = "aiohttp"
    snapshot_interval_s: float = 0.2

    def __post_init__(self) -> None:
        object.__setattr__(self, "url", normalize_url(self.url))
        if self.requests is not None and self.duration_s is not None:
            raise ConfigError("give either a request count or a duration, not both")
        if self.requests is not None and self.requests < 1:
            raise ConfigError(f"request count must be at least 1, got {self.requests}")
        if self.duration_s is not None and not (self.duration_s > 0 and math.isfinite(self.duration_s)):
            raise ConfigError(f"duration must be a positive number of seconds, got {self.duration_s}")
        if not 1 <= self.concurrency <= _MAX_CONCURRENCY:
            raise ConfigError(f"concurrency must be within 1..{_MAX_CONCURRENCY}, got {self.concurrency}")
        if not (self.rate >= 0 and math.isfinite(self.rate)):
            raise ConfigError(f"rate must be 0 (as fast as possible) or a positive number, got {self.rate}")
        if not (self.timeout_s > 0 and math.isfinite(self.timeout_s)):
            raise ConfigError(f"timeout must be a positive number of seconds, got {self.timeout_s}")
        if self.workers is not None and self.workers < 0:
            raise ConfigError(f"workers must be 0 (in this process) or more, got {self.workers}")
        if self.user is not None and (not self.user.strip() or not self.user.isprintable()):
            raise ConfigError(f"user name must be printable and not blank, got {self.user!r}")
        if self.client not in ("aiohttp", "httpx"):
            raise ConfigError(f"client must be 'aiohttp' or 'httpx', got {self.client!r}")
        if not self.snapshot_interval_s > 0:
            raise ConfigError(f"snapshot interval must be positive, got {self.snapshot_interval_s}")


@dataclass(frozen=True, slots=True)
class WorkerPlan:
    """One worker's share of a run. Picklable: it crosses into the spawned process."""

    index: int
    url: str
    requests: int | None
    duration_s: float | None
    concurrency: int
    rate: float
    phase_s: float
    user: str | None
    timeout_s: float
    client: ClientKind
    interval_s: float


def plan_workers(config: TrafficConfig) -> list[WorkerPlan]:
    """Split concurrency, requests and rate so every worker has work and the sums match the config."""
    wanted = config.workers if config.workers is not None else (os.cpu_count() or 1)
    count = max(1, min(wanted, config.concurrency, config.requests or config.concurrency))
    plans = []
    for i in range(count):
        share = 1.0 / count
        plans.append(
            WorkerPlan(
                index=i,
                url=config.url,
                requests=_split(config.requests, count, i) if config.requests is not None else None,
                duration_s=config.duration_s,
                concurrency=_split(config.concurrency, count, i),
                rate=config.rate * share,
                phase_s=i / config.rate if config.rate > 0 else 0.0,
                user=config.user,
                timeout_s=config.timeout_s,
                client=config.client,
                interval_s=config.snapshot_interval_s,
            )
        )
    return plans


def _split(total: int, parts: int, index: int) -> int:
    return total // parts + (1 if index < total % parts else 0)


# --- HTTP clients ------------------------------------------------------------------------------------------


class Fetcher(Protocol):
    async def login(self, user: str) -> None: ...

    async def get(self) -> tuple[int, bytes]: ...

    async def aclose(self) -> None: ...


def _login_failed(user: str, url: str, why: str) -> TrafficError:
    return TrafficError(
        f"login as {user!r} failed: POST {url} {why}", hint="check that productpage answers /login"
    )


class AiohttpFetcher:
    """The default hot path: aiohttp's session directly, keep-alive, redirects not followed.

    No cookie jar: the login goes through httpx, and its session cookie is then sent as a fixed header.
    ``Accept-Encoding: identity`` keeps a gateway from compressing pages that would only be decompressed
    again to be classified (decompression stays on, for a server that compresses anyway).
    """

    def __init__(self, plan: WorkerPlan) -> None:
        self._plan = plan
        self._url = URL(plan.url)
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=plan.concurrency, ttl_dns_cache=300),
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(total=plan.timeout_s),
            headers={"Accept-Encoding": "identity"},
        )

    async def login(self, user: str) -> None:
        browser = HttpxFetcher(self._plan)
        try:
            await browser.login(user)
            self._session.headers["Cookie"] = browser.cookie_header()
        finally:
            await browser.aclose()

    async def get(self) -> tuple[int, bytes]:
        async with self._session.get(self._url, allow_redirects=False) as resp:
            return resp.status, await resp.read()

    async def aclose(self) -> None:
        await self._session.close()


class HttpxFetcher:
    """httpx, the project's HTTP API, on the ``httpx-aiohttp`` transport."""

    def __init__(self, plan: WorkerPlan) -> None:
        limits = httpx.Limits(max_connections=plan.concurrency, max_keepalive_connections=plan.concurrency)
        self._client = httpx.AsyncClient(
            transport=AiohttpTransport(limits=limits), timeout=plan.timeout_s, follow_redirects=False
        )
        self._url = plan.url

    async def login(self, user: str) -> None:
        login_url = urljoin(self._url, "/login")
        try:
            resp = await self._client.post(login_url, data={"username": user}, headers={"Referer": self._url})
        except _TRANSPORT_ERRORS as err:
            raise _login_failed(user, login_url, f"got no answer ({error_kind(err)})") from err
        if resp.status_code not in (200, 302, 303):
            raise _login_failed(user, login_url, f"answered HTTP {resp.status_code}")
        if not self._client.cookies:
            raise _login_failed(user, login_url, "set no session cookie")

    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self._client.cookies.jar)

    async def get(self) -> tuple[int, bytes]:
        resp = await self._client.get(self._url)
        return resp.status_code, resp.content

    async def aclose(self) -> None:
        await self._client.aclose()


def make_fetcher(plan: WorkerPlan) -> Fetcher:
    if plan.client == "httpx":
        return HttpxFetcher(plan)
    return AiohttpFetcher(plan)


def error_kind(err: BaseException) -> str:
    """A short name for a failed request: refused, reset, timeout or the exception class.

    The OS error underneath decides first: httpx-aiohttp maps a refused connection to ``ConnectTimeout``.
    """
    chain: list[BaseException] = [err]
    if err.__cause__ is not None:
        chain.append(err.__cause__)
    reset_types = ConnectionResetError | aiohttp.ServerDisconnectedError
    for exc in chain:
        code = getattr(exc, "errno", None)
        if isinstance(exc, ConnectionRefusedError) or code == errno.ECONNREFUSED:
            return "refused"
        if code == errno.ECONNRESET or isinstance(exc, reset_types):
            return "reset"
    for exc in chain:
        if isinstance(exc, TimeoutError | httpx.TimeoutException):
            return "timeout"
    return type(err).__name__


# --- one worker's loop -------------------------------------------------------------------------------------


async def drive(
    plan: WorkerPlan,
    fetcher: Fetcher,
    *,
    start: float,
    should_stop: Callable[[], bool],
    report: Callable[[Tally], None],
) -> Tally:
    """Send this worker's requests from ``start`` (a ``time.monotonic()`` value) and tally them.

    ``report`` gets the cumulative tally every interval; ``should_stop`` is polled as often.
    """
    tally = Tally()
    monotonic = time.monotonic
    limit = plan.requests
    end = start + plan.duration_s if plan.duration_s is not None else math.inf
    spacing = 1.0 / plan.rate if plan.rate > 0 else 0.0
    first_due = start + plan.phase_s
    next_ticket = 0

    async def lane() -> None:
        nonlocal next_ticket
        while True:
            ticket = next_ticket
            if limit is not None and ticket >= limit:
                return
            next_ticket = ticket + 1
            if spacing:
                due = first_due + ticket * spacing
                if due >= end:
                    return
                wait = due - monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
            else:
                due = monotonic()
                if due >= end:
                    return
            try:
                status, body = await fetcher.get()
            except _TRANSPORT_ERRORS as err:
                tally.record_transport_error(error_kind(err), monotonic() - due)
                continue
            tally.record(status, classify(status, body), monotonic() - due)

    delay = start - monotonic()
    if delay > 0:
        await asyncio.sleep(delay)
    lanes = asyncio.gather(*(lane() for _ in range(plan.concurrency)))
    try:
        while True:
            done, _ = await asyncio.wait({lanes}, timeout=plan.interval_s)
            if done:
                lanes.result()
                break
            if should_stop():
                break
            report(tally)
    finally:
        if not lanes.done():
            lanes.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await lanes
    return tally


async def _worker_async(
    plan: WorkerPlan,
    conn: multiprocessing.connection.Connection,
    stop: Any,
    go: Any,
    start_at: Any,
) -> None:
    parent = multiprocessing.parent_process()

    def should_stop() -> bool:
        return bool(stop.is_set()) or (parent is not None and not parent.is_alive())

    fetcher = make_fetcher(plan)
    try:
        if plan.user is not None:
            await fetcher.login(plan.user)
        conn.send(("ready", plan.index, None))
        while not await asyncio.to_thread(go.wait, 0.5):
            if should_stop():
                return
        if should_stop():
            return
        tally = await drive(
            plan,
            fetcher,
            start=float(start_at.value),
            should_stop=should_stop,
            report=lambda t: conn.send(("progress", plan.index, t)),
        )
        conn.send(("done", plan.index, tally))
    finally:
        await fetcher.aclose()


def _worker_main(
    plan: WorkerPlan,
    conn: multiprocessing.connection.Connection,
    stop: Any,
    go: Any,
    start_at: Any,
) -> None:
    """Entry point of a spawned worker. Everything it has to say goes through ``conn``, never the terminal."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    try:
        asyncio.run(_worker_async(plan, conn, stop, go, start_at))
    except BaseException as err:
        message = str(err) if isinstance(err, TrafficError) else (
            f"traffic worker {plan.index} failed: {type(err).__name__}: {err}"
        )
        with contextlib.suppress(OSError):
            conn.send(("error", plan.index, message))
    finally:
        conn.close()


# --- the parent --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Progress:
    """The parent's view: the latest cumulative tally per worker, and the clock."""

    config: TrafficConfig
    workers: int
    on_snapshot: SnapshotCallback | None
    latest: dict[int, Tally] = field(default_factory=dict)
    started: float | None = None
    ended: float | None = None

    def snapshot(self, *, done: bool = False) -> TallySnapshot:
        if self.started is None:
            elapsed = 0.0
        else:
            elapsed = (self.ended if self.ended is not None else time.monotonic()) - self.started
        return merged(list(self.latest.values())).snapshot(
            url=self.config.url, elapsed_s=elapsed, planned=self.config.requests, done=done
        )

    def emit(self, *, done: bool = False) -> TallySnapshot:
        snap = self.snapshot(done=done)
        if self.on_snapshot is not None:
            self.on_snapshot(snap)
        return snap


async def run(
    config: TrafficConfig,
    *,
    on_snapshot: SnapshotCallback | None = None,
    stop_event: asyncio.Event | None = None,
) -> TallySnapshot:
    """Run the traffic described by ``config`` and return the final merged snapshot (``done=True``)."""
    stop_event = stop_event or asyncio.Event()
    plans = plan_workers(config)
    progress = _Progress(config=config, workers=len(plans), on_snapshot=on_snapshot)
    if config.workers == 0:
        await _run_inline(plans[0], progress, stop_event)
    else:
        await _run_processes(plans, progress, stop_event)
    return progress.emit(done=True)


async def _run_inline(plan: WorkerPlan, progress: _Progress, stop_event: asyncio.Event) -> None:
    fetcher = make_fetcher(plan)
    try:
        if plan.user is not None:
            await fetcher.login(plan.user)
        progress.started = time.monotonic()

        def report(tally: Tally) -> None:
            progress.latest[0] = tally
            progress.emit()

        progress.latest[0] = await drive(
            plan, fetcher, start=progress.started, should_stop=stop_event.is_set, report=report
        )
        progress.ended = time.monotonic()
    finally:
        await fetcher.aclose()


class _PipeReader:
    """A thread that waits on the worker pipes and hands each message to the event loop's queue."""

    def __init__(self, conns: dict[multiprocessing.connection.Connection, int]) -> None:
        self.queue: asyncio.Queue[tuple[str, int, Any]] = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        self._conns = dict(conns)
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._pump, name="traffic-pipes", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        while self._conns and not self._closing.is_set():
            for conn in multiprocessing.connection.wait(list(self._conns), timeout=0.1):
                assert isinstance(conn, multiprocessing.connection.Connection)
                try:
                    message = conn.recv()
                except (EOFError, OSError):
                    message = ("eof", self._conns.pop(conn), None)
                self._loop.call_soon_threadsafe(self.queue.put_nowait, message)

    def close(self) -> None:
        self._closing.set()
        self._thread.join(timeout=2)


def _start_resource_tracker() -> None:
    """Hosts like Textual replace ``sys.stderr`` with an object whose ``fileno()`` is -1 (or raises), and
    multiprocessing hands that fd to the resource tracker it spawns on first use ("bad value(s) in
    fds_to_keep"). Start the tracker with stderr on /dev/null then, which also keeps its messages off a
    full-screen UI. With a real stderr multiprocessing starts the tracker itself, as usual."""
    try:
        usable = sys.stderr is not None and sys.stderr.fileno() >= 0
    except (AttributeError, OSError, ValueError):
        usable = False
    if usable:
        return
    saved = sys.stderr
    with open(os.devnull, "w") as devnull:
        sys.stderr = devnull
        try:
            resource_tracker.ensure_running()
        finally:
            sys.stderr = saved


async def _run_processes(plans: list[WorkerPlan], progress: _Progress, stop_event: asyncio.Event) -> None:
    _start_resource_tracker()
    ctx = multiprocessing.get_context("spawn")
    stop, go = ctx.Event(), ctx.Event()
    start_at = ctx.Value("d", 0.0)
    procs: list[multiprocessing.process.BaseProcess] = []
    conns: dict[multiprocessing.connection.Connection, int] = {}
    for plan in plans:
        receiver, sender = ctx.Pipe(duplex=False)
        proc = ctx.Process(
            target=_worker_main,
            args=(plan, sender, stop, go, start_at),
            name=f"istio-tui-traffic-{plan.index}",
            daemon=True,
        )
        proc.start()
        sender.close()
        procs.append(proc)
        conns[receiver] = plan.index
    reader = _PipeReader(conns)
    try:
        await _supervise(reader.queue, progress, stop_event, procs=procs, stop=stop, go=go, start_at=start_at)
    finally:
        stop.set()
        go.set()
        await asyncio.to_thread(_reap, procs)
        reader.close()
        for conn in conns:
            conn.close()


async def _supervise(
    queue: asyncio.Queue[tuple[str, int, Any]],
    progress: _Progress,
    stop_event: asyncio.Event,
    *,
    procs: list[multiprocessing.process.BaseProcess],
    stop: Any,
    go: Any,
    start_at: Any,
) -> None:
    interval = progress.config.snapshot_interval_s
    ready: set[int] = set()
    finished: set[int] = set()
    next_emit = time.monotonic() + interval
    while len(finished) < progress.workers:
        if stop_event.is_set() and not stop.is_set():
            stop.set()
            if not go.is_set():
                return
        try:
            # Not wait_for: on 3.11 it can swallow a cancellation that races with the queue.
            async with asyncio.timeout(interval / 2):
                kind, index, payload = await queue.get()
        except TimeoutError:
            kind, index, payload = "tick", -1, None
        if kind == "error":
            raise TrafficError(str(payload))
        if kind == "eof" and index not in finished:
            await asyncio.to_thread(procs[index].join, 1.0)
            raise TrafficError(
                f"traffic worker {index} exited unexpectedly (exit code {procs[index].exitcode})",
                hint="a program that starts a run must guard its entry point with if __name__ == '__main__'",
            )
        if kind == "ready":
            ready.add(index)
            if len(ready) == progress.workers:
                progress.started = time.monotonic() + 0.01
                start_at.value = progress.started
                go.set()
        elif kind in ("progress", "done"):
            progress.latest[index] = payload
            if kind == "done":
                finished.add(index)
        if progress.started is not None and time.monotonic() >= next_emit:
            progress.emit()
            next_emit = time.monotonic() + interval
    progress.ended = time.monotonic()


def _reap(procs: list[multiprocessing.process.BaseProcess]) -> None:
    deadline = time.monotonic() + 3.0
    for proc in procs:
        proc.join(timeout=max(0.0, deadline - time.monotonic()))
    for proc in procs:
        if proc.is_alive():
            proc.terminate()
            proc.join(timeout=1.0)
