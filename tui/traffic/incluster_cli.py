"""``istio-tui traffic URL --in-cluster N``: the CLI side of a Job-based load run (see ``incluster.py``).

Ctrl-C or SIGTERM stops the run: the partial merged tally is printed, and the Job and its pods are deleted
before the command exits (130 / 143).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from types import FrameType

from tui.config import load_settings, refuse_sandbox_flag
from tui.errors import ConfigError, print_error
from tui.kube import Cluster
from tui.traffic.engine import TrafficConfig
from tui.traffic.incluster import InClusterPlan, InClusterRun, LoadPod
from tui.traffic.snapshot import TallySnapshot


def run_in_cluster(args: argparse.Namespace, config: TrafficConfig) -> int:
    from tui.traffic.cli import render_summary

    try:
        refuse_sandbox_flag(args)
    except ConfigError as err:
        print_error("istio-tui traffic", err)
        return 2
    settings = load_settings(args)
    if config.requests is not None and config.requests < args.in_cluster:
        print_error(
            "istio-tui traffic",
            ConfigError(f"--requests {config.requests} is fewer than the {args.in_cluster} load pods"),
        )
        return 2
    cluster = Cluster.from_kubeconfig(path=settings.kubeconfig, context=settings.context)
    engine_args = ["--concurrency", str(config.concurrency), "--timeout", f"{config.timeout_s:g}"]
    if config.user is not None:
        engine_args += ["--user", config.user]
    if config.workers is not None:
        engine_args += ["--workers", str(config.workers)]
    plan = InClusterPlan(
        url=config.url,
        pods=args.in_cluster,
        namespace=args.load_namespace or settings.namespace or cluster.namespace,
        image=args.image or settings.load_image,
        requests=config.requests,
        duration_s=config.duration_s,
        rate=config.rate,
        engine_args=tuple(engine_args),
    )
    stop = threading.Event()
    received: list[int] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)
        stop.set()

    saved = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    live = sys.stderr.isatty()
    try:
        final, pods = InClusterRun(cluster, plan=plan).run(stop=stop, on_update=_live_line if live else None)
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)
        if live:
            print("\r\033[K", end="", file=sys.stderr, flush=True)
        cluster.close()
    if args.json:
        print(json.dumps({**final.to_dict(), "load_pods": [p.to_dict() for p in pods]}))
    else:
        print(render_summary(final))
        print(render_pods(pods))
    return 128 + received[0] if received else 0


def _live_line(snap: TallySnapshot, pods: list[LoadPod]) -> None:
    running = sum(1 for p in pods if p.state == "Running")
    print(
        f"\r\033[K{snap.requests} requests from {len(pods)} pods ({running} running)  {snap.rps:,.0f} rps",
        end="",
        file=sys.stderr,
        flush=True,
    )


def render_pods(pods: list[LoadPod]) -> str:
    lines = ["", f"  {'load pod':<32} {'node':<16} {'requests':>9} {'req/s':>9}  state"]
    for pod in pods:
        lines.append(f"  {pod.name:<32} {pod.node:<16} {pod.requests:>9} {pod.rps:>9,.1f}  {pod.state}")
    return "\n".join(lines)
