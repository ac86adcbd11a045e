"""Traffic benchmark: ``istio-tui traffic`` against hey, hot-loop candidates, start-up and rate accuracy.

Prints figures and, with ``--json``, one JSON object; asserts nothing about time. The page server is nginx
(Debian ``nginx-light``) with one worker process, serving a 15 KB Bookinfo product page with red stars (the
tests' page renderer), on loopback; without nginx a raw-asyncio responder stands in (and the output says so).
hey (Debian package ``hey``) is the reference. Both clients are timed as whole processes, wall and CPU (the
process and its children), as a user would time them.

    .venv/bin/python bench/traffic_bench.py [--requests 20000] [--concurrency 16] [--runs 4] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.unit.pages import current_page  # noqa: E402
from tui.traffic.classify import classify  # noqa: E402
from tui.traffic.engine import TrafficConfig, new_event_loop, run  # noqa: E402

PAGE_BYTES = 15_000
ENV = dict(os.environ, PYTHONPATH=str(ROOT))
# The installed program, as a user runs it (``python -m tui`` where it is not installed).
_SCRIPT = Path(sys.executable).with_name("istio-tui")
ISTIO_TUI = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "tui"]


def page() -> bytes:
    return current_page("v3", pod="reviews-v3-bench-1", pad=PAGE_BYTES).encode()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- page servers ---------------------------------------------------------------------------------

_NGINX_CONF = """worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  keepalive_requests 10000000;
  default_type text/html;
  client_body_temp_path {dir}; proxy_temp_path {dir}; fastcgi_temp_path {dir};
  uwsgi_temp_path {dir}; scgi_temp_path {dir};
  server {{ listen 127.0.0.1:{port}; root {dir}; location / {{ try_files $uri =404; }} }}
}}
"""


@contextmanager
def nginx_server() -> Iterator[tuple[str, str]]:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="traffic-bench-") as tmp:
        Path(tmp, "productpage").write_bytes(page())
        Path(tmp, "nginx.conf").write_text(_NGINX_CONF.format(dir=tmp, port=port))
        conf = f"{tmp}/nginx.conf"
        proc = subprocess.Popen([nginx, "-c", conf, "-p", tmp], stderr=subprocess.DEVNULL)
        try:
            _wait_port(port)
            yield f"http://127.0.0.1:{port}/productpage", "nginx-light, 1 worker"
        finally:
            proc.terminate()
            proc.wait(10)


class _Canned(asyncio.Protocol):
    response = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: Any = transport
        self.pending = b""

    def data_received(self, data: bytes) -> None:
        data = self.pending + data
        n = data.count(b"\r\n\r\n")
        self.pending = data[data.rfind(b"\r\n\r\n") + 4 :] if n else data
        if n:
            if FirstHit.at is None:
                FirstHit.at = time.time()
            self.transport.write(self.response * n)


class FirstHit:
    at: float | None = None


def _serve(port: int) -> None:
    body = page()
    _Canned.response = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(_Canned, "127.0.0.1", port, backlog=1024)
        await server.serve_forever()

    asyncio.run(main())


@contextmanager
def asyncio_server() -> Iterator[tuple[str, str]]:
    port = _free_port()
    proc = multiprocessing.get_context("spawn").Process(target=_serve, args=(port,), daemon=True)
    proc.start()
    try:
        _wait_port(port)
        yield f"http://127.0.0.1:{port}/productpage", "raw asyncio responder (nginx not installed)"
    finally:
        proc.terminate()
        proc.join(5)


def _wait_port(port: int) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise RuntimeError(f"page server did not listen on {port}")


# --- whole-process measurements ---------------------------------------------------------------


def timed(cmd: list[str]) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (the process and all its children) and stdout of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT, env=ENV).stdout
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, out


def hey_run(url: str, n: int, c: int) -> dict[str, Any] | None:
    hey = shutil.which("hey")
    if hey is None:
        return None
    wall, cpu, out = timed([hey, "-n", str(n), "-c", str(c), url])
    codes = re.search(r"\[200\]\s+(\d+) responses", out)
    return _row("hey", n, wall, cpu, ok=int(codes.group(1)) if codes else 0)


def cli_run(url: str, n: int, c: int) -> dict[str, Any]:
    cmd = [*ISTIO_TUI, "traffic", url, "--requests", str(n), "--concurrency", str(c)]
    cmd.append("--json")
    wall, cpu, out = timed(cmd)
    data = json.loads(out)
    row = _row("istio-tui traffic", n, wall, cpu, ok=data["tally"]["red"])
    row["engine_rps"] = data["rps"]
    return row


def _row(name: str, n: int, wall: float, cpu: float, *, ok: int) -> dict[str, Any]:
    return {"client": name, "requests": n, "classified_ok": ok, "wall_s": round(wall, 3),
            "rps": round(n / wall, 1), "cpu_ms_per_1000": round(cpu / n * 1e6, 1)}


def first_request_ms(repeat: int) -> list[float]:
    """From launching ``istio-tui traffic`` to its first request reaching a server in this process."""
    port = _free_port()
    FirstHit.at = None
    body = page()
    _Canned.response = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    out = []

    async def one() -> float:
        FirstHit.at = None
        launched = time.time()
        proc = await asyncio.create_subprocess_exec(
            *ISTIO_TUI, "traffic", f"http://127.0.0.1:{port}/productpage",
            "--requests", "1", "--json", cwd=ROOT, env=ENV, stdout=asyncio.subprocess.DEVNULL,
        )
        await proc.wait()
        assert FirstHit.at is not None
        return (FirstHit.at - launched) * 1e3

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(_Canned, "127.0.0.1", port)
        async with server:
            for _ in range(repeat):
                out.append(await one())

    asyncio.run(main())
    return out


# --- hot-loop candidates, one process each ------------------------------------------------------


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def candidate(name: str, fn: Callable[[], Any], n: int) -> dict[str, Any]:
    cpu, started = _cpu(), time.monotonic()
    fn()
    wall, cpu = time.monotonic() - started, _cpu() - cpu
    return {"candidate": name, "rps": round(n / wall, 1), "cpu_ms_per_1000": round(cpu / n * 1e6, 1)}


def engine_loop(url: str, n: int, c: int, loop_factory: Callable[[], asyncio.AbstractEventLoop]) -> None:
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        final = runner.run(run(TrafficConfig(url=url, requests=n, concurrency=c, workers=0)))
    assert final.counts["red"] == n, final.counts


def aiohttp_loop(url: str, n: int, c: int) -> None:
    import aiohttp

    async def main() -> None:
        left = n
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=c)) as session:

            async def lane() -> None:
                nonlocal left
                while left > 0:
                    left -= 1
                    async with session.get(url) as resp:
                        assert classify(resp.status, await resp.read()).category == "red"

            await asyncio.gather(*(lane() for _ in range(c)))

    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        runner.run(main())


def rate_accuracy(url: str, rate: float, seconds: float) -> dict[str, Any]:
    cmd = [*ISTIO_TUI, "traffic", url, "--rate", str(rate), "--duration", str(seconds)]
    cmd.append("--json")
    _, _, out = timed(cmd)
    data = json.loads(out)
    return {"target_rps": rate, "duration_s": data["duration_s"], "requests": data["requests"],
            "rps": data["rps"], "off_pct": round((data["rps"] - rate) / rate * 100, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--runs", type=int, default=4, help="hey / istio-tui pairs (the worst is reported)")
    parser.add_argument("--rate-seconds", type=float, default=10.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    n, c = args.requests, args.concurrency
    say: Callable[..., None] = (lambda *a, **k: None) if args.json else print
    report: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "load_avg": os.getloadavg()}}
    use_nginx = shutil.which("nginx") is not None or Path("/usr/sbin/nginx").exists()
    with (nginx_server() if use_nginx else asyncio_server()) as (url, server):
        report["server"] = server
        say(f"server: {server}, {len(page()):,} byte page; concurrency {c}, {n:,} requests; "
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        subprocess.run([*ISTIO_TUI, "traffic", url, "--requests", "200"], env=ENV,
                       capture_output=True, check=True, cwd=ROOT)
        pairs = []
        for i in range(args.runs):
            # Alternate who goes first, so neither always meets a page cache or a CPU the other warmed.
            if i % 2:
                tui = cli_run(url, n, c)
                hey = hey_run(url, n, c)
            else:
                hey = hey_run(url, n, c)
                tui = cli_run(url, n, c)
            ratio = tui["rps"] / hey["rps"] if hey else None
            pairs.append({"hey": hey, "istio_tui": tui, "x_hey": round(ratio, 2) if ratio else None})
            for row in (hey, tui):
                if row:
                    say(f"run {i + 1}: {row['client']:<18} {row['rps']:>9,.0f} req/s whole process "
                        f"({row['wall_s']:.2f} s)  CPU {row['cpu_ms_per_1000']:6.1f} ms / 1,000 req  "
                        f"classified {row['classified_ok']:,}")
            if hey is None:
                say("hey: not installed (Debian/Ubuntu: apt-get install hey)")
            else:
                say(f"run {i + 1}: istio-tui / hey = {ratio:.2f}x")
        report["comparison"] = pairs
        ratios = [p["x_hey"] for p in pairs if p["x_hey"] is not None]
        report["worst_x_hey"] = min(ratios) if ratios else None
        report["median_x_hey"] = round(statistics.median(ratios), 2) if ratios else None
        if ratios:
            say(f"istio-tui / hey over {len(ratios)} pairs: median {statistics.median(ratios):.2f}x, "
                f"worst {min(ratios):.2f}x")

        import uvloop

        loops = [
            ("httptools Protocol on uvloop (engine)", lambda: engine_loop(url, n, c, uvloop.new_event_loop)),
            ("httptools Protocol on asyncio", lambda: engine_loop(url, n, c, asyncio.new_event_loop)),
            ("aiohttp ClientSession on uvloop", lambda: aiohttp_loop(url, n, c)),
        ]
        report["candidates"] = []
        for name, fn in loops:
            row = candidate(name, fn, n)
            report["candidates"].append(row)
            say(f"one process: {name:<40} {row['rps']:>9,.0f} req/s  "
                f"CPU {row['cpu_ms_per_1000']:6.1f} ms / 1,000")

        starts = first_request_ms(5)
        median = statistics.median(starts)
        report["first_request_ms"] = {"median": round(median, 1), "max": round(max(starts), 1)}
        say(f"time to first request: median {median:.0f} ms, max {max(starts):.0f} ms (5 runs)")

        rate = rate_accuracy(url, 500.0, args.rate_seconds)
        report["rate"] = rate
        say(f"--rate 500 --duration {args.rate_seconds:g}: {rate['requests']:,} requests in "
            f"{rate['duration_s']} s = {rate['rps']} req/s ({rate['off_pct']:+.2f}%)")
    if args.json:
        print(json.dumps(report))


if __name__ == "__main__":
    main()
