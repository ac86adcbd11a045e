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
  returned. ``on_tally`` gets the merged raw ``Tally`` at the same moments (for exact JSON lines). Setting
  ``stop_event`` ends the run at once; requests still in flight are dropped, not counted. Cancelling the
  calling task stops and reaps the workers too.
* ``duration_s``: no request starts after it; the requests in flight then get their answer or time out
  (counted as ``timeout``), so a run ends within ``timeout_s`` of its duration, and ``elapsed_s`` is the
  time until the last one ended.
* A failed login or a dead worker raises ``tui.errors.TrafficError``. Refused connections, resets and
  timeouts are not errors: they are counted as ``transport_error``.

How it scales: ``workers`` processes (default: the CPUs this process may use; at most 4x that), each with its
own event loop (uvloop when installed), keep-alive connections and share of the concurrency; they take the
requests one by one from a counter they share. The prepared request (address resolved, session cookie in the
header) is built once and the workers are forked from the caller when it has no other thread (the CLI), so
they start in milliseconds; a threaded host (Textual) gets a fork server instead, which is safe there. Each
sends its cumulative ``Tally`` through a pipe every interval; the parent merges the latest one from every
worker, which is exact (see ``tally.py``).
``workers=0`` runs in the caller's event loop (small runs and tests; it competes with the UI for the loop).

Pacing: the workers take the run's request numbers from one shared counter (``client.Tickets``), and with
``rate`` > 0 request k is due at ``start + k / rate``, so the arrivals are evenly spaced whichever worker
sends them. Latency is measured from the due time, not from when a busy client
got round to sending, so a stalled server shows up in the percentiles (no coordinated omission).

Hot loop choice and the comparison with hey, measured with ``bench/traffic_bench.py`` (nginx-light, 1 worker,
serving a 15 KB Bookinfo page with red stars on loopback; concurrency 16, 20,000 requests, every page
classified; hey and istio-tui alternate who goes first; both timed as whole processes, wall and CPU of the
process and its children; istio-tui as the installed ``istio-tui`` script), from a fresh clone. The 2-core
machine ran nothing else (load average 0.5-1.1; the benchmark itself is the load)::

    bench run (6 pairs)   istio-tui / hey                  median  worst
    16:57:03 UTC          1.78 1.34 1.18 1.07 1.53 1.23    1.29    1.07
    16:57:27              1.32 1.39 1.68 1.44 1.48 1.56    1.46    1.32
    16:57:50              1.58 1.55 1.22 1.40 1.35 1.73    1.48    1.22
    16:58:13              1.12 1.37 1.22 1.43 1.15 1.47    1.29    1.12
    16:58:39              1.29 1.60 1.76 1.76 1.74 1.39    1.67    1.29
    16:59:03              1.40 1.28 1.55 1.54 1.32 0.98    1.36    0.98
    16:59:26              1.47 1.15 1.23 1.24 1.61 1.24    1.24    1.15

Whole process: hey 18,330-33,288 req/s with 31.5-57.6 ms CPU per 1,000 requests; istio-tui 25,661-42,249 req/s
with 21.4-32.0 ms. One pair in 42 fell below 1.0 (0.98x): our run took 0.72 s where the other five of that
bench run took 0.48-0.57 s. Five more bench runs at 17:08-17:10 UTC (load 0.6-1.1) gave medians 1.23-1.39x
and 2 of 30 pairs below 1.0: 0.98x on a slow run of ours (0.87 s) and 0.99x on one of hey's fastest (0.64 s
against our 0.65 s). The engine before this round had 4 of 25 pairs below 1.0 (worst 0.89x). What changed
in this round:

* Shared tickets (``client.Tickets``). Each worker had owned a fixed half of the requests; instrumented runs
  showed one worker done at 0.33-0.40 s and the other at 0.51-0.59 s of the same run, the tail running on
  half the connections. Now every lane takes the next request when it is free.
* Start-up and teardown: the traffic command no longer imports ``tui.models`` (11-19 ms), ``make`` compiles
  the bytecode that an editable install leaves out (20-25 ms per start where PYTHONDONTWRITEBYTECODE is set),
  and the program skips the interpreter's teardown after a run (``tui.__main__.entry``, 20-30 ms). Time to the
  first request (launch to the server seeing it, 5 launches in each of the seven runs): median 100-144 ms,
  max 112-154 ms; Python's start and asyncio's imports are most of it.
* Per request: no ``on_header`` callback (about 1 us), a ``NamedTuple`` verdict and direct ``rfind`` calls
  (classification 5.5 -> 3.6 us), a page byte-identical to a recent one reusing its verdict (0.3 us,
  ``classify.RecentPages``), and ``gc.freeze()`` in the workers.

    one process (workers=0)  httptools Protocol on uvloop     34,373-54,270 req/s   CPU 16.2-21.8 ms/1,000
    (the seven runs above)   before this round (3 runs)       31,152-38,245 req/s   CPU 22.8-31.9
    candidates, 16:35 UTC    httptools Protocol on asyncio    11,696-18,170 req/s   CPU 54.7-83.0
    (3 runs)                 aiohttp ClientSession, uvloop     7,191- 8,608 req/s   CPU 115.4-134.7

Workers are ``SCHED_BATCH`` (see ``_run_as_batch``). Without it the default 2 workers preempted nginx on every
response and nginx became the bottleneck: 0.49-0.67 s against 0.35-0.47 s of run time per 20,000 requests
(12 runs each, at 16:12 UTC). A higher nice value (5 or 10) on top did not help: median 1.15x and 1.11x hey
against 1.31x, 12 interleaved pairs each. ``--rate 500 --duration 10``: 5,000 requests at 499.9-500.1 req/s in
all seven runs.

The hot loop is httptools (llhttp, uvicorn's parser) on asyncio ``Protocol``s under uvloop, all callbacks,
one prebuilt request; aiohttp's session costs several times more CPU per request even on uvloop, and plain
asyncio swings between uvloop's rate and a third of it from run to run. httpx stays the project's HTTP API:
the login goes through it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import ipaddress
import math
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from tui import __version__
from tui.errors import ConfigError, TrafficError
from tui.traffic.client import Target, Tickets, Worker, WorkerPlan
from tui.traffic.snapshot import TallySnapshot
from tui.traffic.tally import Tally, merged

SnapshotCallback = Callable[[TallySnapshot], None]
TallyCallback = Callable[[Tally, float], None]

_MAX_CONCURRENCY = 10_000
_WORKER_CAP = 4


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask, e.g. a container's cpuset), not the machine's."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # macOS
        return os.cpu_count() or 1


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
    """The knobs of one run. Invalid values raise ``ConfigError`` here, before anything is sent.

    ``resolve`` maps ``host:port`` to the ``address:port`` to connect to instead (like curl's ``--resolve``):
    the sandbox gives in-cluster load pods the data plane's loopback address for Service names this way.
    """

    url: str
    requests: int | None = None
    duration_s: float | None = None
    concurrency: int = 16
    rate: float = 0.0
    user: str | None = None
    timeout_s: float = 5.0
    workers: int | None = None
    snapshot_interval_s: float = 0.2
    resolve: Mapping[str, str] = field(default_factory=dict)

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
        cap = _WORKER_CAP * usable_cpus()
        if self.workers is not None and not 0 <= self.workers <= cap:
            raise ConfigError(
                f"workers must be within 0..{cap} (0: in this process; at most {_WORKER_CAP}x the "
                f"{usable_cpus()} usable CPUs), got {self.workers}"
            )
        if self.user is not None and (not self.user.strip() or not self.user.isprintable()):
            raise ConfigError(f"user name must be printable and not blank, got {self.user!r}")
        if not self.snapshot_interval_s > 0:
            raise ConfigError(f"snapshot interval must be positive, got {self.snapshot_interval_s}")


def plan_workers(config: TrafficConfig, target: Target, tickets: Tickets) -> list[WorkerPlan]:
    """Split the concurrency so every worker has lanes and the sum matches the config; the workers share the
    run's ``tickets`` (requests) and pacing (``rate``)."""
    wanted = config.workers if config.workers is not None else usable_cpus()
    count = max(1, min(wanted, config.concurrency, config.requests or config.concurrency))
    return [
        WorkerPlan(
            index=i,
            target=target,
            tickets=tickets,
            duration_s=config.duration_s,
            concurrency=split_evenly(config.concurrency, count, i),
            rate=config.rate,
            timeout_s=config.timeout_s,
            interval_s=config.snapshot_interval_s,
        )
        for i in range(count)
    ]


def split_evenly(total: int, parts: int, index: int) -> int:
    """Share ``index`` of ``total`` in ``parts``; the shares differ by at most one and sum to ``total``."""
    return total // parts + (1 if index < total % parts else 0)


# --- the prepared request ---------------------------------------------------------------------------------


async def prepare_target(config: TrafficConfig) -> Target:
    """Log in (when asked), resolve the address and build the one request every lane sends."""
    parts = urlsplit(config.url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    cookie = await _login(config) if config.user is not None else None
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    head = [
        f"GET {path} HTTP/1.1",
        f"Host: {parts.netloc}",
        f"User-Agent: istio-tui/{__version__}",
        "Accept: text/html",
        "Accept-Encoding: identity",
    ]
    if cookie:
        head.append(f"Cookie: {cookie}")
    address, connect_port = await _resolve(config, host, port)
    return Target(
        host=address,
        port=connect_port,
        tls=parts.scheme == "https",
        server_hostname=host,
        request=("\r\n".join(head) + "\r\n\r\n").encode("latin-1"),
    )


async def _resolve(config: TrafficConfig, host: str, port: int) -> tuple[str, int]:
    """One lookup for the whole run; an unknown host is an error before anything is sent."""
    override = config.resolve.get(f"{host}:{port}")
    if override is not None:
        address, _, mapped = override.rpartition(":")
        return address, int(mapped)
    with contextlib.suppress(ValueError):
        return str(ipaddress.ip_address(host)), port
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as err:
        raise TrafficError(f"cannot resolve {host!r}: {err}", hint="check the URL's host name") from err
    return str(infos[0][4][0]), port


async def _login(config: TrafficConfig) -> str:
    """POST the login form through httpx, the project's HTTP API, and return the session cookie header."""
    import httpx  # only runs that log in pay for the import

    assert config.user is not None
    login_url = urljoin(config.url, "/login")

    def failed(why: str) -> TrafficError:
        return TrafficError(
            f"login as {config.user!r} failed: POST {login_url} {why}",
            hint="check that productpage answers /login",
        )

    async with httpx.AsyncClient(timeout=config.timeout_s, follow_redirects=False) as client:
        try:
            resp = await client.post(
                login_url, data={"username": config.user}, headers={"Referer": config.url}
            )
        except httpx.TransportError as err:
            raise failed(f"got no answer ({type(err).__name__})") from err
        if resp.status_code not in (200, 302, 303):
            raise failed(f"answered HTTP {resp.status_code}")
        if not client.cookies:
            raise failed("set no session cookie")
        return "; ".join(f"{c.name}={c.value}" for c in client.cookies.jar)


# --- the parent --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Progress:
    """The parent's view: the latest cumulative tally per worker, and the clock."""

    config: TrafficConfig
    on_snapshot: SnapshotCallback | None
    on_tally: TallyCallback | None
    latest: dict[int, Tally] = field(default_factory=dict)
    started: float | None = None
    ended: float | None = None

    def elapsed(self) -> float:
        if self.started is None:
            return 0.0
        return max(0.0, (self.ended if self.ended is not None else time.monotonic()) - self.started)

    def emit(self, *, done: bool = False) -> TallySnapshot:
        total = merged(list(self.latest.values()))
        elapsed = self.elapsed()
        snap = total.snapshot(url=self.config.url, elapsed_s=elapsed, planned=self.config.requests, done=done)
        if self.on_tally is not None:
            self.on_tally(total, elapsed)
        if self.on_snapshot is not None:
            self.on_snapshot(snap)
        return snap


async def run(
    config: TrafficConfig,
    *,
    on_snapshot: SnapshotCallback | None = None,
    on_tally: TallyCallback | None = None,
    stop_event: asyncio.Event | None = None,
) -> TallySnapshot:
    """Run the traffic described by ``config`` and return the final merged snapshot (``done=True``)."""
    stop_event = stop_event or asyncio.Event()
    ctx = _context()  # before the login or the lookup start a thread, so a thread-free CLI still forks
    target = await prepare_target(config)
    progress = _Progress(config=config, on_snapshot=on_snapshot, on_tally=on_tally)
    if config.workers == 0:
        await _run_inline(plan_workers(config, target, Tickets(config.requests))[0], progress, stop_event)
    else:
        if ctx.get_start_method() != "fork":
            _start_resource_tracker()  # before the tickets' lock, which registers with it
        plans = plan_workers(config, target, Tickets(config.requests, ctx))
        await _run_processes(ctx, plans, progress, stop_event)
    return progress.emit(done=True)


async def _run_inline(plan: WorkerPlan, progress: _Progress, stop_event: asyncio.Event) -> None:
    def report(tally: Tally) -> None:
        progress.latest[0] = tally
        progress.emit()

    worker = Worker(plan, report=report)
    progress.latest[0] = worker.tally
    progress.started = time.monotonic()
    worker.start(progress.started)
    stopper: asyncio.Future[Any] = asyncio.ensure_future(stop_event.wait())
    try:
        await asyncio.wait([worker.finished, stopper], return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
        worker.stop()
    progress.ended = worker.ended


def _context() -> Any:
    """Fork when this process has no other thread yet (called before the run's login or DNS lookup, whose
    helper thread is idle by the time the workers fork); else (Textual) a fork server."""
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and sys.platform == "linux" and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["tui.traffic.engine"])
        return ctx
    return multiprocessing.get_context("spawn")


async def _run_processes(
    ctx: Any, plans: list[WorkerPlan], progress: _Progress, stop_event: asyncio.Event
) -> None:
    procs: list[multiprocessing.process.BaseProcess] = []
    conns: list[multiprocessing.connection.Connection] = []
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, int, Any]] = asyncio.Queue()
    try:
        for plan in plans:
            ours, theirs = ctx.Pipe(duplex=True)
            proc = ctx.Process(
                target=_worker_main, args=(plan, theirs), name=f"istio-tui-traffic-{plan.index}", daemon=True
            )
            proc.start()
            theirs.close()
            procs.append(proc)
            conns.append(ours)
            loop.add_reader(ours.fileno(), _pump, ours, plan.index, queue)
        await _supervise(queue, progress, stop_event, procs=procs, conns=conns)
    finally:
        for conn in conns:
            loop.remove_reader(conn.fileno())
            with contextlib.suppress(OSError):
                conn.send(("stop", 0.0))
        await asyncio.to_thread(_reap, procs)
        for conn in conns:
            conn.close()


def _pump(conn: multiprocessing.connection.Connection, index: int, queue: asyncio.Queue[Any]) -> None:
    try:
        queue.put_nowait(conn.recv())
    except (EOFError, OSError):
        asyncio.get_running_loop().remove_reader(conn.fileno())
        queue.put_nowait(("eof", index, None))


async def _supervise(
    queue: asyncio.Queue[tuple[str, int, Any]],
    progress: _Progress,
    stop_event: asyncio.Event,
    *,
    procs: list[multiprocessing.process.BaseProcess],
    conns: list[multiprocessing.connection.Connection],
) -> None:
    interval = progress.config.snapshot_interval_s
    ready: set[int] = set()
    finished: set[int] = set()
    stopping = False
    next_emit = time.monotonic() + interval
    while len(finished) < len(procs):
        if stop_event.is_set() and not stopping:
            stopping = True
            for conn in conns:
                conn.send(("stop", 0.0))
            if progress.started is None:
                return
        try:
            # Not wait_for: on 3.11 it can swallow a cancellation that races with the queue.
            async with asyncio.timeout(interval / 2):
                kind, index, payload = await queue.get()
        except TimeoutError:
            kind, index, payload = "tick", -1, None
        if kind == "error":
            raise TrafficError(str(payload))
        if kind == "eof" and stopping:
            finished.add(index)
        elif kind == "eof" and index not in finished:
            await asyncio.to_thread(procs[index].join, 1.0)
            raise TrafficError(
                f"traffic worker {index} exited unexpectedly (exit code {procs[index].exitcode})",
                hint="a program that starts a run must guard its entry point with if __name__ == '__main__'",
            )
        if kind == "ready":
            ready.add(index)
            if len(ready) == len(procs) and not stopping:
                progress.started = time.monotonic() + 0.002
                for conn in conns:
                    conn.send(("go", progress.started))
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
            proc.kill()
            proc.join(timeout=1.0)


def _start_resource_tracker() -> None:
    """Hosts like Textual replace ``sys.stderr`` with an object whose ``fileno()`` is -1 (or raises), and
    multiprocessing hands that fd to the resource tracker it spawns on first use ("bad value(s) in
    fds_to_keep"). Start the tracker with stderr on /dev/null then, which also keeps its messages off a
    full-screen UI. With a real stderr multiprocessing starts the tracker itself, as usual."""
    from multiprocessing import resource_tracker

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


# --- a worker process --------------------------------------------------------------------------------------


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop when it is installed (it halves the loop's cost per request), else asyncio's own."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def _run_as_batch() -> None:
    """Make this process a batch task for the Linux scheduler (``SCHED_BATCH``): same CPU share, but its
    wake-ups never preempt a running task. A load generator often shares its machine with what it measures
    (a local gateway, nginx, the sandbox) and always with the TUI; preempting them on every response made the
    server the bottleneck (2 workers beside a 1-worker nginx on 2 CPUs: 0.66 s per 20,000 requests, against
    0.50 s as batch; see bench/traffic_bench.py). Elsewhere, or where the call is refused, nothing changes."""
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))


def _worker_main(plan: WorkerPlan, conn: multiprocessing.connection.Connection) -> None:
    """Entry point of a worker process. Everything it has to say goes through ``conn``, never the terminal."""
    # Ctrl-C and SIGTERM reach the whole process group: the parent decides, and a lost parent is an EOF here.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with contextlib.suppress(ValueError):
        signal.set_wakeup_fd(-1)
    _run_as_batch()
    gc.freeze()  # the modules' objects are permanent: a full collection (every few 1,000 requests) skips them
    asyncio.events._set_running_loop(None)  # a forked child inherits the parent's running loop marker
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    loop = new_event_loop()
    try:
        loop.run_until_complete(_worker_async(plan, conn))
    except BaseException as err:
        message = str(err) if isinstance(err, TrafficError) else (
            f"traffic worker {plan.index} failed: {type(err).__name__}: {err}"
        )
        with contextlib.suppress(OSError):
            conn.send(("error", plan.index, message))
    finally:
        loop.close()
        conn.close()


async def _worker_async(plan: WorkerPlan, conn: multiprocessing.connection.Connection) -> None:
    loop = asyncio.get_running_loop()
    worker = Worker(plan, report=lambda t: conn.send(("progress", plan.index, t)))
    go: asyncio.Future[float] = loop.create_future()

    def on_command() -> None:
        try:
            command, at = conn.recv()
        except (EOFError, OSError):
            command, at = "stop", 0.0  # the parent is gone
        if command == "go" and not go.done():
            go.set_result(at)
        elif command == "stop":
            loop.remove_reader(conn.fileno())
            if not go.done():
                go.set_result(-1.0)
            worker.stop()

    loop.add_reader(conn.fileno(), on_command)
    conn.send(("ready", plan.index, None))
    start = await go
    if start >= 0:
        worker.start(start)
        await worker.finished
    conn.send(("done", plan.index, worker.tally))
