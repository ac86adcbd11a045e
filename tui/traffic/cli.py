"""``istio-tui traffic URL``: the traffic generator without the TUI, for scripts and CI.

Exit codes: 0 when the run completed, whatever the pages said; 2 for bad arguments (one line on stderr);
1 when the run could not happen (e.g. the login was refused); 130 when interrupted by SIGINT (Ctrl-C) and
143 by SIGTERM (the partial tally is still printed either way).

Start-up counts (users time the whole command), so this module imports only argparse-level things; the
engine, uvloop and httptools load when a run starts, and httpx only for a login.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
from typing import TYPE_CHECKING

from tui.cliargs import count as _count
from tui.cliargs import count_up_to
from tui.cliargs import namespace as _namespace
from tui.cliargs import rate as _rate
from tui.cliargs import seconds as _seconds
from tui.cliargs import zero_or_more as _workers
from tui.errors import ConfigError, print_error
from tui.inputs import check_url
from tui.traffic import MAX_LOAD_PODS
from tui.traffic.classify import CATEGORIES
from tui.traffic.snapshot import TallySnapshot

if TYPE_CHECKING:
    from tui.traffic.engine import TrafficConfig
    from tui.traffic.tally import Tally

_DEFAULT_REQUESTS = 100
_BAR_WIDTH = 30


def configure(p: argparse.ArgumentParser) -> None:
    """The flags of ``istio-tui traffic``; ``tui.__main__.COMMANDS`` creates the parser with its help line."""
    p.description = "Send requests to the Bookinfo product page and tally which reviews version answered."
    p.add_argument("url", metavar="URL", help="product page URL; a bare http://host:port gets /productpage")
    amount = p.add_mutually_exclusive_group()
    amount.add_argument(
        "--requests", type=_count, metavar="N", help=f"send exactly N requests (default {_DEFAULT_REQUESTS})"
    )
    amount.add_argument("--duration", type=_seconds, metavar="S", help="send requests for S seconds")
    amount.add_argument(
        "--until-stopped", action="store_true", help="send until Ctrl-C or SIGTERM, then print the tally"
    )
    p.add_argument("--concurrency", type=_count, default=16, metavar="C", help="in flight (default 16)")
    p.add_argument("--rate", type=_rate, default=0.0, metavar="R", help="requests/s, 0 = max (default)")
    p.add_argument("--user", metavar="NAME", help="log in as NAME first, so end-user routing applies")
    p.add_argument("--timeout", type=_seconds, default=5.0, metavar="S", help="per request (default 5 s)")
    p.add_argument("--workers", type=_workers, metavar="W", help="processes (default: usable CPUs, max 4x)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the summary")
    p.add_argument(
        "--json-lines", action="store_true",
        help="print the cumulative raw tally as a JSON line every second and at the end (load pods do)",
    )
    p.add_argument(
        "--in-cluster", type=count_up_to(MAX_LOAD_PODS), metavar="N",
        help=f"send from N pods (at most {MAX_LOAD_PODS}) of a Kubernetes Job instead of this machine "
        "(requests and rate are split; concurrency is per pod)",
    )
    p.add_argument(
        "--namespace", dest="load_namespace", type=_namespace, metavar="NS", help="namespace of the load Job"
    )
    p.add_argument("--image", metavar="IMG", help="image of the load pods (default: the load_image setting)")
    p.add_argument("--shard-of", type=_count, metavar="N", help=argparse.SUPPRESS)
    p.set_defaults(run=run_cli, skip_teardown=True)


def run_cli(args: argparse.Namespace) -> int:
    from tui.traffic.engine import TrafficConfig, new_event_loop, split_evenly

    try:
        check_url(args.url, what="URL", schemes=("http", "https"), example="http://127.0.0.1:31380/productpage")
        counted = args.requests or args.duration or args.until_stopped
        requests = args.requests if counted else _DEFAULT_REQUESTS
        rate = args.rate
        if args.shard_of:
            index = _completion_index(args.shard_of)
            requests = split_evenly(requests, args.shard_of, index) if requests else None
            rate = rate / args.shard_of
        config = TrafficConfig(
            url=args.url,
            requests=requests,
            duration_s=args.duration,
            concurrency=args.concurrency,
            rate=rate,
            user=args.user,
            timeout_s=args.timeout,
            workers=args.workers,
            resolve=_resolve_env(),
        )
    except ConfigError as err:
        print_error("istio-tui traffic", err)
        return 2
    if args.in_cluster:
        from tui.traffic.incluster_cli import run_in_cluster

        return run_in_cluster(args, config)
    lines = _JsonLines() if args.json_lines else None
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        signum, final = runner.run(_run(config, live=sys.stderr.isatty() and not lines, lines=lines))
    if lines is not None:
        lines.final()
    else:
        print(json.dumps(final.to_dict()) if args.json else render_summary(final))
    return 128 + signum if signum else 0


def _completion_index(shards: int) -> int:
    """A load pod's index in its Indexed Job, which the Job controller gives as JOB_COMPLETION_INDEX."""
    text = os.environ.get("JOB_COMPLETION_INDEX", "")
    if not text.isdigit() or int(text) >= shards:
        raise ConfigError(f"--shard-of {shards} needs JOB_COMPLETION_INDEX in 0..{shards - 1}, got {text!r}")
    return int(text)


def _resolve_env() -> dict[str, str]:
    """ISTIO_TUI_RESOLVE=host:port=address:port,...: where the sandbox's kubelet sends Service names."""
    pairs = [item.split("=", 1) for item in os.environ.get("ISTIO_TUI_RESOLVE", "").split(",") if "=" in item]
    return {host: address for host, address in pairs}


class _JsonLines:
    """``--json-lines``: the cumulative raw tally at most once a second, then a final line."""

    def __init__(self) -> None:
        self.last: tuple[Tally, float] | None = None
        self._next = 0.0

    def __call__(self, tally: Tally, elapsed: float) -> None:
        self.last = (tally, elapsed)
        if time.monotonic() >= self._next:
            self._print("progress")
            self._next = time.monotonic() + 1.0

    def final(self) -> None:
        self._print("final")

    def _print(self, kind: str) -> None:
        if self.last is not None:
            tally, elapsed = self.last
            line = {"type": kind, "elapsed_s": round(elapsed, 4), "requests": tally.requests,
                    "tally": tally.to_json()}
            print(json.dumps(line, separators=(",", ":")), flush=True)


async def _run(
    config: TrafficConfig, *, live: bool, lines: _JsonLines | None = None
) -> tuple[int, TallySnapshot]:
    """Run to the end or to the first SIGINT/SIGTERM; returns the signal number (0 for none) and the tally."""
    from tui.traffic.engine import run

    stop = asyncio.Event()
    received: list[int] = []
    loop = asyncio.get_running_loop()

    def on_signal(signum: int) -> None:
        received.append(signum)
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)
    try:
        final = await run(
            config, on_snapshot=_progress_line if live else None, on_tally=lines, stop_event=stop
        )
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        if live:
            print("\r\033[K", end="", file=sys.stderr, flush=True)
    return (received[0] if received else 0), final


def _progress_line(snap: TallySnapshot) -> None:
    total = f"/{snap.planned}" if snap.planned else ""
    print(
        f"\r\033[K{snap.requests}{total} requests  {snap.rps:,.0f} rps  p50 {snap.latency.p50_ms:.1f} ms",
        end="",
        file=sys.stderr,
        flush=True,
    )


def render_summary(snap: TallySnapshot) -> str:
    """The human summary: one bar per category, then pods, status codes and latency."""
    lines = [f"{snap.url}", f"{snap.requests} requests in {snap.elapsed_s:.2f} s ({snap.rps:,.1f} req/s)", ""]
    for category in CATEGORIES:
        n = snap.counts.get(category, 0)
        share = snap.share(category)
        filled = round(share * _BAR_WIDTH)
        bar = "█" * filled + "·" * (_BAR_WIDTH - filled)
        lines.append(f"  {category:<20} {bar} {n:>8}  {share * 100:5.1f}%")
    lines.append("")
    lines.append(f"  details unavailable  {snap.details_unavailable}")
    if snap.by_pod:
        pods = ", ".join(f"{pod} {n}" for pod, n in sorted(snap.by_pod.items()))
        lines.append(f"  reviews pods         {pods}")
    if snap.status_codes:
        codes = ", ".join(f"{code}: {n}" for code, n in sorted(snap.status_codes.items()))
        lines.append(f"  HTTP status          {codes}")
    if snap.transport_errors:
        errors = ", ".join(f"{kind}: {n}" for kind, n in sorted(snap.transport_errors.items()))
        lines.append(f"  transport errors     {errors}")
    lat = snap.latency
    lines.append(
        f"  latency ms           p50 {lat.p50_ms:.2f}  p90 {lat.p90_ms:.2f}  p99 {lat.p99_ms:.2f}"
        f"  max {lat.max_ms:.2f}"
    )
    return "\n".join(lines)
