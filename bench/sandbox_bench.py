"""Sandbox API figures: pod creates/s over HTTPS, LIST (whole and in pages of 500) at 10,000 pods, watches.

The sandbox runs in its own process (``istio-tui sandbox serve``) so the client's work does not share its
interpreter lock; the client is aiohttp with ``--concurrency`` keep-alive HTTPS connections (TLS handshakes
happen once, before the clock matters), like a busy controller, and sends request bodies encoded before the
clock starts.

What the figures mean:
- creates/s and LIST ms are wall clock, client included: on a shared machine they move with its load.
- "server CPU" is the sandbox process's user+system CPU over the same span divided by the operations: the
  steadier figure on a busy machine. For pod creates it includes the controllers' reaction that happens
  during the run (scheduling, the kubelet's status writes, Events), as a real cluster would.
- "client CPU" is this process's CPU per operation, to show the client is not the bottleneck.

Prints figures only, or with ``--json`` one JSON object; nothing here asserts on time. Issue 10's targets:
pod creates >= 2,000/s, a LIST of 10,000 pods < 200 ms, the same LIST in pages of 500 < 400 ms.

    .venv/bin/python bench/sandbox_bench.py [--pods 10000] [--concurrency 16] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import yaml

NS = "bench"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


def pod(i: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": f"p-{i:05d}", "labels": {"app": "bench", "shard": str(i % 10)}},
        "spec": {
            "nodeName": "sandbox",
            "containers": [{"name": "app", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}],
        },
    }


def encode(bodies: list[dict[str, Any]]) -> list[bytes]:
    return [json.dumps(b).encode() for b in bodies]


async def create_many(session: aiohttp.ClientSession, url: str, bodies: list[bytes], conc: int) -> float:
    queue = list(reversed(bodies))

    async def worker() -> None:
        while queue:
            body = queue.pop()
            async with session.post(
                url, data=body, headers={"Content-Type": "application/json"}
            ) as r:
                if r.status != 201:
                    raise RuntimeError(f"create failed: {r.status} {await r.text()}")
                await r.read()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(conc)))
    return time.perf_counter() - start


async def watch_count(session: aiohttp.ClientSession, url: str, want: int, started: asyncio.Event) -> float:
    got = 0
    async with session.get(url, timeout=aiohttp.ClientTimeout(total=600)) as r:
        started.set()
        async for _line in r.content:
            got += 1
            if got >= want:
                return time.perf_counter()
    raise RuntimeError(f"watch ended after {got} of {want} events")


def cpu_seconds(pid: int) -> float:
    """User+system CPU the sandbox process has used: on a busy machine, a steadier figure than wall time."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def list_time(s: aiohttp.ClientSession, url: str, *, page: int = 0, table: bool = False) -> float:
    """Seconds until a whole LIST has arrived (following continue tokens when ``page``). Only the list's
    metadata is decoded inside the clock: the figure is the server's, not the client's JSON parser's."""
    headers = {"Accept": TABLE} if table else {}
    token = ""
    t0 = time.perf_counter()
    while True:
        query = f"?limit={page}&continue={token}" if page else ""
        async with s.get(url + query, headers=headers) as r:
            body = await r.read()
        if not page:
            return time.perf_counter() - t0
        head = body[: body.index(b',"items":[')] + b"}"
        token = json.loads(head)["metadata"].get("continue", "")
        if not token:
            return time.perf_counter() - t0


async def settle(session: aiohttp.ClientSession) -> None:
    """Wait until the controllers are idle (the resourceVersion stops moving), so phases do not overlap."""
    last, still = "", 0
    while still < 4:
        async with session.get("/api/v1/namespaces/default/configmaps?limit=1") as r:
            rv = json.loads(await r.read())["metadata"]["resourceVersion"]
        still = still + 1 if rv == last else 0
        last = rv
        await asyncio.sleep(0.25)


async def bench(
    base: str, token: str, ca: bytes, pods: int, conc: int, out: dict[str, Any], pid: int
) -> None:
    ctx = ssl.create_default_context(cadata=ca.decode())
    conn = aiohttp.TCPConnector(ssl=ctx, limit=conc + 8)
    headers = {"Authorization": f"Bearer {token}"}
    say = out["_say"]
    async with aiohttp.ClientSession(base, connector=conn, headers=headers) as s:
        async with s.post("/api/v1/namespaces", json={"metadata": {"name": NS}}) as r:
            assert r.status == 201, await r.text()
        url = f"/api/v1/namespaces/{NS}/pods"
        measured = min(pods, 3000)
        bodies = encode([pod(i) for i in range(measured)])
        cpu0, mine0 = cpu_seconds(pid), time.process_time()
        elapsed = await create_many(s, url, bodies, conc)
        cpu, mine = cpu_seconds(pid) - cpu0, time.process_time() - mine0
        out["pod_creates_per_s"] = round(measured / elapsed)
        out["server_cpu_us_per_pod_create"] = round(cpu / measured * 1e6)
        out["client_cpu_us_per_pod_create"] = round(mine / measured * 1e6)
        say(
            f"pod creates over HTTPS:        {measured / elapsed:8.0f} /s  ({measured} pods, {conc} conns; "
            f"server CPU {cpu / measured * 1e6:.0f} us, client CPU {mine / measured * 1e6:.0f} us each)"
        )
        if pods > measured:
            await create_many(s, url, encode([pod(i) for i in range(measured, pods)]), conc)
        await settle(s)
        cms = encode([{"metadata": {"name": f"plain-{i}"}, "data": {"i": str(i)}} for i in range(3000)])
        cpu0 = cpu_seconds(pid)
        elapsed = await create_many(s, f"/api/v1/namespaces/{NS}/configmaps", cms, conc)
        cpu = cpu_seconds(pid) - cpu0
        out["configmap_creates_per_s"] = round(len(cms) / elapsed)
        out["server_cpu_us_per_configmap_create"] = round(cpu / len(cms) * 1e6)
        say(
            f"configmap creates over HTTPS:  {len(cms) / elapsed:8.0f} /s  (no controller work; "
            f"server CPU {cpu / len(cms) * 1e6:.0f} us each)"
        )
        await settle(s)

        async with s.get(url) as r:
            out["pods"] = len(json.loads(await r.read())["items"])
        for label, key, page, table in (
            ("JSON", "list_ms", 0, False),
            ("Table", "list_table_ms", 0, True),
            ("JSON, pages of 500", "list_paged_500_ms", 500, False),
        ):
            cpu0 = cpu_seconds(pid)
            ms = statistics.median([await list_time(s, url, page=page, table=table) for _ in range(5)]) * 1000
            cpu_ms = (cpu_seconds(pid) - cpu0) / 5 * 1000
            out[key] = round(ms, 1)
            out[f"server_cpu_{key}"] = round(cpu_ms, 1)
            say(f"LIST {out['pods']} pods ({label}): {ms:8.0f} ms median of 5 (server CPU {cpu_ms:.0f} ms)")
        t0 = time.perf_counter()
        async with s.get(f"{url}?labelSelector=shard%3D3") as r:
            n = len(json.loads(await r.read())["items"])
        out["list_selector_ms"] = round((time.perf_counter() - t0) * 1000, 1)
        say(f"LIST with labelSelector:       {out['list_selector_ms']:8.0f} ms ({n} matches)")

        await settle(s)
        async with s.get("/api/v1/namespaces/default/configmaps") as r:
            rv = json.loads(await r.read())["metadata"]["resourceVersion"]
        events = 2000
        watch_url = f"/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={rv}"
        ready = [asyncio.Event() for _ in range(5)]
        watchers = [asyncio.create_task(watch_count(s, watch_url, events, ready[i])) for i in range(5)]
        await asyncio.gather(*(e.wait() for e in ready))
        t0 = time.perf_counter()
        cms = encode([{"metadata": {"name": f"cm-{i}"}, "data": {"i": str(i)}} for i in range(events)])
        write_s = await create_many(s, "/api/v1/namespaces/default/configmaps", cms, conc)
        done = await asyncio.gather(*watchers)
        out["watch_live_events_per_s"] = round(5 * events / (max(done) - t0))
        say(
            f"watch, live (5 watchers):      {out['watch_live_events_per_s']:8.0f} events/s delivered "
            f"({events} writes at {events / write_s:.0f}/s)"
        )
        t0 = time.perf_counter()
        ready = [asyncio.Event() for _ in range(5)]
        replay = await asyncio.gather(*(watch_count(s, watch_url, events, ready[i]) for i in range(5)))
        out["watch_replay_events_per_s"] = round(5 * events / (max(replay) - t0))
        say(
            f"watch, replay (5 watchers):    {out['watch_replay_events_per_s']:8.0f} events/s delivered "
            f"(from the event log)"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=10000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of figures")
    args = parser.parse_args()
    out: dict[str, Any] = {"_say": (lambda _line: None) if args.json else print}
    with tempfile.TemporaryDirectory() as tmp:
        kubeconfig = Path(tmp) / "kubeconfig"
        env = {**os.environ, "XDG_STATE_HOME": tmp}
        proc = subprocess.Popen(
            [sys.executable, "-m", "tui", "sandbox", "serve", "--kubeconfig", str(kubeconfig)],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        try:
            assert proc.stdout is not None
            url = proc.stdout.readline().split()[-1]
            proc.stdout.readline()
            cfg = yaml.safe_load(kubeconfig.read_text())
            token = cfg["users"][0]["user"]["token"]
            ca = base64.b64decode(cfg["clusters"][0]["cluster"]["certificate-authority-data"])
            out["loadavg_before"] = round(os.getloadavg()[0], 2)
            out["_say"](f"sandbox at {url}, {os.cpu_count()} CPUs, load average {out['loadavg_before']}")
            asyncio.run(bench(url, token, ca, args.pods, args.concurrency, out, proc.pid))
            out["loadavg_after"] = round(os.getloadavg()[0], 2)
            out["_say"](f"load average after: {out['loadavg_after']}")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
    if args.json:
        del out["_say"]
        print(json.dumps({"cpus": os.cpu_count(), "concurrency": args.concurrency, **out}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
