"""``istio-tui traffic URL``: the traffic generator without the TUI, for scripts and CI.

Exit codes: 0 when the run completed, whatever the pages said; 2 for bad arguments (one line on stderr);
1 when the run could not happen (e.g. the login was refused); 130 when interrupted (the partial tally is
still printed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from typing import TYPE_CHECKING, Any

from tui.cliargs import count as _count
from tui.cliargs import rate as _rate
from tui.cliargs import seconds as _seconds
from tui.cliargs import zero_or_more as _workers
from tui.errors import ConfigError, print_error
from tui.inputs import check_url
from tui.models import TallySnapshot
from tui.traffic.classify import CATEGORIES

if TYPE_CHECKING:
    from tui.traffic.engine import TrafficConfig

_DEFAULT_REQUESTS = 100
_BAR_WIDTH = 30


def add_parser(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "traffic",
        help="send requests to the Bookinfo product page and tally black / red / no stars",
        description="Send requests to the Bookinfo product page and tally which reviews version answered.",
    )
    p.add_argument("url", metavar="URL", help="product page URL; a bare http://host:port gets /productpage")
    amount = p.add_mutually_exclusive_group()
    amount.add_argument(
        "--requests", type=_count, metavar="N", help=f"send exactly N requests (default {_DEFAULT_REQUESTS})"
    )
    amount.add_argument("--duration", type=_seconds, metavar="S", help="send requests for S seconds")
    p.add_argument("--concurrency", type=_count, default=16, metavar="C", help="in flight (default 16)")
    p.add_argument("--rate", type=_rate, default=0.0, metavar="R", help="requests/s, 0 = max (default)")
    p.add_argument("--user", metavar="NAME", help="log in as NAME first, so end-user routing applies")
    p.add_argument("--timeout", type=_seconds, default=5.0, metavar="S", help="per request (default 5 s)")
    p.add_argument("--workers", type=_workers, metavar="W", help="worker processes (default: CPU count)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the summary")
    p.set_defaults(run=run_cli)


def run_cli(args: argparse.Namespace) -> int:
    from tui.traffic.engine import TrafficConfig  # aiohttp and httpx load only for this subcommand

    try:
        check_url(args.url, what="URL", schemes=("http", "https"), example="http://127.0.0.1:31380/productpage")
        config = TrafficConfig(
            url=args.url,
            requests=args.requests if args.requests or args.duration else _DEFAULT_REQUESTS,
            duration_s=args.duration,
            concurrency=args.concurrency,
            rate=args.rate,
            user=args.user,
            timeout_s=args.timeout,
            workers=args.workers,
        )
    except ConfigError as err:
        print_error("istio-tui traffic", err)
        return 2
    interrupted, final = asyncio.run(_run(config, live=sys.stderr.isatty()))
    print(json.dumps(final.to_dict()) if args.json else render_summary(final))
    return 130 if interrupted else 0


async def _run(config: TrafficConfig, *, live: bool) -> tuple[bool, TallySnapshot]:
    from tui.traffic.engine import run

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, stop.set)
    try:
        final = await run(config, on_snapshot=_progress_line if live else None, stop_event=stop)
    finally:
        loop.remove_signal_handler(signal.SIGINT)
        if live:
            print("\r\033[K", end="", file=sys.stderr, flush=True)
    return stop.is_set(), final


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
