"""Traffic generator benchmark: istio-tui traffic against hey, rate accuracy, CPU per 1,000 requests.

Prints figures; asserts nothing. The page server is a minimal keep-alive HTTP/1.1 responder written on raw
asyncio (no request parsing beyond counting request ends), one process per core with SO_REUSEPORT, so that
on a small machine the server costs as little CPU as possible and the clients are what is measured. It
serves a 15 KB Bookinfo page with red stars, so classification runs on a realistic body.

    .venv/bin/python bench/traffic_bench.py [--requests 20000] [--concurrency 16] [--server-procs 1]
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
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.unit.pages import current_page  # noqa: E402
from tui.traffic.engine import ClientKind, TrafficConfig, run  # noqa: E402

PAGE_BYTES = 15_000


def _response() -> bytes:
    body = current_page("v3", pod="reviews-v3-bench-1", pad=PAGE_BYTES).encode()
    head = (
        "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
    ).encode()
    return head + body


class _Canned(asyncio.Protocol):
    response = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.pending = b""

    def data_received(self, data: bytes) -> None:
        data = self.pending + data
        n = data.count(b"\r\n\r\n")
        self.pending = data[data.rfind(b"\r\n\r\n") + 4 :] if n else data
        if n:
            self.transport.write(self.response * n)


def _serve(port: int, ready: multiprocessing.synchronize.Event) -> None:
    _Canned.response = _response()

    async def main() -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(("127.0.0.1", port))
        server = await asyncio.get_running_loop().create_server(_Canned, sock=sock, backlog=1024)
        ready.set()
        await server.serve_forever()

    asyncio.run(main())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_hey(url: str, requests: int, concurrency: int) -> tuple[float, float] | None:
    hey = shutil.which("hey")
    if hey is None:
        return None
    before = _children_cpu()
    out = subprocess.run(
        [hey, "-n", str(requests), "-c", str(concurrency), url], capture_output=True, text=True, check=True
    ).stdout
    cpu = _children_cpu() - before
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert match, out
    return float(match.group(1)), cpu


def run_cli(url: str, requests: int, concurrency: int, workers: int | None) -> tuple[float, float, dict]:
    """Runs `python -m tui traffic --json` as a user would; CPU includes its worker processes."""
    cmd = [sys.executable, "-m", "tui", "traffic", url, "--requests", str(requests),
           "--concurrency", str(concurrency), "--json"]
    if workers is not None:
        cmd += ["--workers", str(workers)]
    before = _children_cpu()
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT).stdout
    cpu = _children_cpu() - before
    data = json.loads(out)
    return float(data["rps"]), cpu, data


async def run_api(config: TrafficConfig) -> tuple[float, float, int, float]:
    """rps, CPU seconds (this process plus its workers), requests, p99 ms."""
    before = _children_cpu() + _self_cpu()
    final = await run(config)
    cpu = _children_cpu() + _self_cpu() - before
    return final.rps, cpu, final.requests, final.latency.p99_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--server-procs", type=int, default=1)
    parser.add_argument("--rate-seconds", type=float, default=10.0)
    args = parser.parse_args()
    n, c = args.requests, args.concurrency
    cores = os.cpu_count() or 1

    ctx = multiprocessing.get_context("spawn")
    port = _free_port()
    servers = []
    for _ in range(args.server_procs):
        ready = ctx.Event()
        proc = ctx.Process(target=_serve, args=(port, ready), daemon=True)
        proc.start()
        ready.wait(30)
        servers.append(proc)
    url = f"http://127.0.0.1:{port}/productpage"
    print(f"machine: {cores} cores; server: {args.server_procs} raw-asyncio process(es), "
          f"{len(_response()):,} byte responses; concurrency {c}, {n:,} requests")
    try:
        subprocess.run([sys.executable, "-m", "tui", "traffic", url, "--requests", "500", "--json"],
                       capture_output=True, check=True, cwd=ROOT)

        hey = run_hey(url, n, c)
        if hey is None:
            print("hey: not installed; skipping the comparison (Debian/Ubuntu: sudo apt-get install hey; "
                  "elsewhere: go install github.com/rakyll/hey@latest)")
        else:
            hey_ms = hey[1] / n * 1e6
            print(f"{'hey':<41} {hey[0]:>9,.0f} req/s   CPU {hey_ms:6.1f} ms per 1,000 req")

        # A run of one request per worker measures start-up CPU (interpreter, imports), which is subtracted.
        base_cpu = run_cli(url, cores, cores, None)[1]
        rps, cpu, data = run_cli(url, n, c, None)
        per_k = max(0.0, cpu - base_cpu) / (n - cores) * 1e3
        assert data["tally"]["red"] == n, data["tally"]
        ratio = f"   = {rps / hey[0]:.2f}x hey" if hey else ""
        label = f"istio-tui traffic --json ({cores} workers)"
        print(f"{label:<41} {rps:>9,.0f} req/s   CPU {per_k * 1e3:6.1f} ms per 1,000 req{ratio}")

        clients: tuple[ClientKind, ...] = ("aiohttp", "httpx")
        for client in clients:
            for workers in sorted({1, cores}):
                startup = TrafficConfig(url=url, requests=workers, workers=workers, client=client)
                base = asyncio.run(run_api(startup))
                config = TrafficConfig(url=url, requests=n, concurrency=c, workers=workers, client=client)
                rps, cpu, done, _ = asyncio.run(run_api(config))
                ratio = f"   = {rps / hey[0]:.2f}x hey" if hey else ""
                label = f"engine client={client} workers={workers}"
                print(f"{label:<41} {rps:>9,.0f} req/s   CPU "
                      f"{(cpu - base[1]) / (done - workers) * 1e6:6.1f} ms per 1,000 req{ratio}")

        target = 500.0
        config = TrafficConfig(url=url, duration_s=args.rate_seconds, rate=target, concurrency=c)
        rps, _, done, p99 = asyncio.run(run_api(config))
        print(f"rate accuracy: --rate {target:.0f} for {args.rate_seconds:.0f} s -> {done:,} requests, "
              f"{rps:,.1f} req/s ({(rps - target) / target * 100:+.2f}% off target), p99 {p99:.2f} ms")
    finally:
        for proc in servers:
            proc.terminate()
            proc.join(5)


if __name__ == "__main__":
    t0 = time.monotonic()
    main()
    print(f"bench took {time.monotonic() - t0:.0f} s")
