"""Pod table figures: the real app, headless (Pilot), against a sandbox with 10,000 pods in 50 namespaces.

Prints, with no asserts:
- the time from app start until every pod is a row of the all-namespaces table;
- key-press-to-screen latency (median, p99) for cursor moves while the sandbox makes 200 pod changes/s;
- the app process's memory (RSS; the sandbox runs in a child process so it is not counted);
- the table's rows once the churn stopped and the watch caught up, next to the server's pod count.

    .venv/bin/python bench/pod_table_bench.py [--pods 10000] [--namespaces 50] [--rate 200] [--presses 200]
        [--json]

``--json`` prints only one JSON object: pods, namespaces, rows_shown_s, key_latency_ms {p50, p99, max},
rss_mb_loaded, rss_mb_after_churn, rows_after_churn, server_pods_after_churn and load_avg_1m (at the end).

The child seeds pods straight into the sandbox's store (its Python API) because 10,000 HTTP creates would
measure the sandbox, not the table; the app still receives everything over HTTPS list+watch.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _pod(namespace: str, name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": name.rsplit("-", 1)[0]}},
        "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]},
    }


def serve(args: argparse.Namespace) -> int:
    """Child process: a seeded sandbox, then pod changes at ``rate``/s between "churn" and "stop" on stdin."""
    from tui.sandbox.cluster import Sandbox

    sb = Sandbox(port=0, seed=1, pod_start_seconds=0.2)
    sb.start()
    store = sb.store
    assert store is not None
    namespaces = [f"team-{i:02d}" for i in range(args.namespaces)]
    for ns in namespaces:
        store.create("namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    names: list[tuple[str, str]] = []
    for i in range(args.pods):
        ns = namespaces[i % len(namespaces)]
        name = f"svc{i % 97:02d}-{i:05d}"
        store.create("pods", _pod(ns, name))
        names.append((ns, name))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        items, _ = store.list("pods")
        if sum(1 for p in items if (p.get("status") or {}).get("phase") == "Running") >= args.pods:
            break
        time.sleep(0.5)
    kubeconfig = sb.write_kubeconfig(Path(args.workdir) / "kubeconfig")
    print(json.dumps({"kubeconfig": str(kubeconfig)}), flush=True)

    stop = threading.Event()
    done = {"changes": 0}

    def churn() -> None:
        rng = random.Random(7)
        serial = args.pods
        interval = 1.0 / args.rate
        next_at = time.monotonic()
        while not stop.is_set():
            index = rng.randrange(len(names))
            ns, name = names[index]
            roll = rng.random()
            try:
                if roll < 0.8:

                    def bump(obj: dict[str, Any]) -> None:
                        cs = (obj.get("status") or {}).get("containerStatuses") or []
                        if cs:
                            cs[0]["restartCount"] = int(cs[0].get("restartCount") or 0) + 1

                    store.update("pods", name, namespace=ns, mutate=bump)
                elif roll < 0.9:
                    store.delete("pods", name, namespace=ns)
                    names[index] = names[-1]  # O(1): a list.remove per delete costs the child 10% of a core
                    names.pop()
                else:
                    serial += 1
                    new = (ns, f"new-{serial:06d}")
                    store.create("pods", _pod(*new))
                    names.append(new)
                done["changes"] += 1
            except Exception:  # a pod deleted meanwhile; the rate is what matters here
                pass
            next_at += interval
            time.sleep(max(0.0, next_at - time.monotonic()))

    worker = threading.Thread(target=churn, daemon=True)
    for line in sys.stdin:
        if line.strip() == "churn":
            worker.start()
        elif line.strip() == "stop":
            stop.set()
            break
    if worker.is_alive():
        worker.join(2)
    done["pods"] = len(store.list("pods")[0])
    print(json.dumps(done), flush=True)
    sb.stop()
    return 0


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def say(args: argparse.Namespace, text: str) -> None:
    if not args.json:
        print(text, flush=True)


async def drive(kubeconfig: str, args: argparse.Namespace, child: subprocess.Popen[str]) -> dict[str, Any]:
    from textual import events

    from tui.app import IstioApp
    from tui.config import Settings
    from tui.kube import Cluster
    from tui.widgets.pod_table import PodTable

    cluster = Cluster.from_kubeconfig(path=kubeconfig)
    app = IstioApp(settings=Settings(), cluster=cluster, info=cluster.info(), initial_pane="pods")
    started = time.perf_counter()
    async with app.run_test(size=(120, 36)) as pilot:
        table = app.query_one(PodTable)
        while table.row_count < args.pods:
            await pilot.pause(0.05)
            if time.perf_counter() - started > 300:
                break
        await pilot.pause()
        loaded = time.perf_counter() - started
        rss_loaded = rss_mb()
        say(args, f"rows shown: {table.row_count} of {args.pods} pods in {args.namespaces} namespaces")
        say(args, f"time until all rows shown: {loaded:.2f} s")
        say(args, f"app RSS after load: {rss_loaded:.0f} MB")

        assert child.stdin is not None
        child.stdin.write("churn\n")
        child.stdin.flush()
        await pilot.pause(1.0)
        latencies: list[float] = []
        probe: dict[str, Any] = {}
        render_lines = table.render_lines

        def spy(crop: Any) -> Any:
            """The table drawing itself with the cursor on another pod: the frame the user sees."""
            strips = render_lines(crop)
            if probe and table.selected() != probe["before"]:
                latencies.append((time.perf_counter() - probe["t0"]) * 1000)
                probe.pop("done").set()
                probe.clear()
            return strips

        table.render_lines = spy  # type: ignore[method-assign]
        rng = random.Random(3)
        for i in range(args.presses):
            key = "j" if (i // 10) % 2 == 0 else "k"
            done = asyncio.Event()
            probe.update(before=table.selected(), t0=time.perf_counter(), done=done)
            app.post_message(events.Key(key, key))  # what the terminal driver does with a key press
            try:
                await asyncio.wait_for(done.wait(), 5)
            except TimeoutError:
                probe.clear()
                latencies.append(5000.0)
            await asyncio.sleep(rng.uniform(0.02, 0.08))
        table.render_lines = render_lines  # type: ignore[method-assign]
        child.stdin.write("stop\n")
        child.stdin.flush()
        assert child.stdout is not None
        done = json.loads(await asyncio.to_thread(child.stdout.readline) or "{}")
        server_pods = int(done.get("pods", -1))
        settle = time.perf_counter()
        while table.row_count != server_pods and time.perf_counter() - settle < 15:
            await pilot.pause(0.1)
        await pilot.pause(0.5)  # one more apply period: anything still arriving would change the count
        latencies.sort()
        p50 = statistics.median(latencies)
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        say(
            args,
            f"key-press-to-screen latency during {args.rate} changes/s: "
            f"median {p50:.1f} ms, p99 {p99:.1f} ms, max {latencies[-1]:.1f} ms ({len(latencies)} presses)",
        )
        say(args, f"pod changes made by the sandbox while measuring: {done.get('changes', '?')}")
        say(args, f"rows shown after churn: {table.row_count} (the server has {server_pods} pods)")
        rss_churned = rss_mb()
        say(args, f"app RSS after churn: {rss_churned:.0f} MB")
        rows_after = table.row_count
    cluster.close()
    return {
        "pods": args.pods,
        "namespaces": args.namespaces,
        "rows_shown_s": round(loaded, 2),
        "key_latency_ms": {"p50": round(p50, 1), "p99": round(p99, 1), "max": round(latencies[-1], 1)},
        "rss_mb_loaded": round(rss_loaded, 1),
        "rss_mb_after_churn": round(rss_churned, 1),
        "rows_after_churn": rows_after,
        "server_pods_after_churn": server_pods,
        "load_avg_1m": round(os.getloadavg()[0], 2),  # the machine may be shared: read figures with this
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--namespaces", type=int, default=50)
    parser.add_argument("--rate", type=int, default=200, help="pod changes per second while measuring")
    parser.add_argument("--presses", type=int, default=200)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve(args)

    with tempfile.TemporaryDirectory() as workdir:
        seeding = time.perf_counter()
        child = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--serve",
                "--workdir",
                workdir,
                "--pods",
                str(args.pods),
                "--namespaces",
                str(args.namespaces),
                "--rate",
                str(args.rate),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert child.stdout is not None
            ready = json.loads(child.stdout.readline())
            seeded = time.perf_counter() - seeding
            say(args, f"sandbox seeded with {args.pods} Running pods in {seeded:.1f} s")
            figures = asyncio.run(drive(ready["kubeconfig"], args, child))
            if args.json:
                print(json.dumps(figures))
        finally:
            if child.poll() is None:
                child.terminate()
            child.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
