"""Sandbox API figures: pod creates/s over HTTPS, LIST latency at 10,000 pods, watch events/s to 5 watchers.

The sandbox runs in its own process (``istio-tui sandbox serve``) so the client's work does not share its
interpreter lock; the client is aiohttp with a small pool of keep-alive connections, like a busy controller.
Prints figures only; nothing here asserts on time.

    .venv/bin/python bench/sandbox_bench.py [--pods 10000] [--concurrency 16]
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


async def create_many(
    session: aiohttp.ClientSession, url: str, bodies: list[dict[str, Any]], conc: int
) -> float:
    queue = list(reversed(bodies))

    async def worker() -> None:
        while queue:
            body = queue.pop()
            async with session.post(
                url, data=json.dumps(body), headers={"Content-Type": "application/json"}
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


async def settle(session: aiohttp.ClientSession) -> None:
    """Wait until the controllers are idle (the resourceVersion stops moving), so phases do not overlap."""
    last, still = "", 0
    while still < 4:
        async with session.get("/api/v1/namespaces/default/configmaps?limit=1") as r:
            rv = json.loads(await r.read())["metadata"]["resourceVersion"]
        still = still + 1 if rv == last else 0
        last = rv
        await asyncio.sleep(0.25)


async def bench(base: str, token: str, ca: bytes, pods: int, conc: int) -> None:
    ctx = ssl.create_default_context(cadata=ca.decode())
    conn = aiohttp.TCPConnector(ssl=ctx, limit=conc + 8)
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(base, connector=conn, headers=headers) as s:
        async with s.post("/api/v1/namespaces", json={"metadata": {"name": NS}}) as r:
            assert r.status == 201, await r.text()
        url = f"/api/v1/namespaces/{NS}/pods"
        measured = min(pods, 3000)
        elapsed = await create_many(s, url, [pod(i) for i in range(measured)], conc)
        print(
            f"pod creates over HTTPS:        {measured / elapsed:8.0f} /s  ({measured} pods, {conc} conns)"
        )
        if pods > measured:
            await create_many(s, url, [pod(i) for i in range(measured, pods)], conc)
        await settle(s)
        cms = [{"metadata": {"name": f"plain-{i}"}, "data": {"i": str(i)}} for i in range(3000)]
        elapsed = await create_many(s, f"/api/v1/namespaces/{NS}/configmaps", cms, conc)
        print(f"configmap creates over HTTPS:  {len(cms) / elapsed:8.0f} /s  (no controller work)")
        await settle(s)

        for label, hdrs in (("JSON", {}), ("Table", {"Accept": TABLE})):
            times = []
            for _ in range(5):
                t0 = time.perf_counter()
                async with s.get(url, headers=hdrs) as r:
                    body = await r.read()
                times.append(time.perf_counter() - t0)
            n = len(json.loads(body).get("items" if label == "JSON" else "rows"))
            print(
                f"LIST {n} pods ({label:5}):       {statistics.median(times) * 1000:8.0f} ms median of 5 "
                f"({len(body) / 1e6:.1f} MB)"
            )
        t0 = time.perf_counter()
        async with s.get(f"{url}?labelSelector=shard%3D3") as r:
            n = len(json.loads(await r.read())["items"])
        print(f"LIST with labelSelector:       {(time.perf_counter() - t0) * 1000:8.0f} ms ({n} matches)")

        await settle(s)
        async with s.get("/api/v1/namespaces/default/configmaps") as r:
            rv = json.loads(await r.read())["metadata"]["resourceVersion"]
        events = 2000
        watch_url = f"/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={rv}"
        ready = [asyncio.Event() for _ in range(5)]
        watchers = [asyncio.create_task(watch_count(s, watch_url, events, ready[i])) for i in range(5)]
        await asyncio.gather(*(e.wait() for e in ready))
        t0 = time.perf_counter()
        cms = [{"metadata": {"name": f"cm-{i}"}, "data": {"i": str(i)}} for i in range(events)]
        write_s = await create_many(s, "/api/v1/namespaces/default/configmaps", cms, conc)
        done = await asyncio.gather(*watchers)
        live = max(done) - t0
        print(
            f"watch, live (5 watchers):      {5 * events / live:8.0f} events/s delivered "
            f"({events} writes at {events / write_s:.0f}/s)"
        )
        t0 = time.perf_counter()
        ready = [asyncio.Event() for _ in range(5)]
        replay = await asyncio.gather(*(watch_count(s, watch_url, events, ready[i]) for i in range(5)))
        print(
            f"watch, replay (5 watchers):    {5 * events / (max(replay) - t0):8.0f} events/s delivered "
            f"(from the event log)"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=10000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
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
            print(f"sandbox at {url}, {os.cpu_count()} CPUs")
            asyncio.run(bench(url, token, ca, args.pods, args.concurrency))
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
