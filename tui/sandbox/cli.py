"""``istio-tui sandbox serve``: the embedded cluster in the foreground, for kubectl, helm or another TUI."""

from __future__ import annotations

import argparse
import logging
import os
import re
import signal
import sys
import threading
from pathlib import Path

from tui.errors import ConfigError
from tui.inputs import check_printable


def default_kubeconfig() -> Path:
    """Where ``serve`` writes its kubeconfig when --kubeconfig is not given (XDG state dir)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "istio-tui" / "sandbox.kubeconfig"


def configure(parser: argparse.ArgumentParser) -> None:
    """The flags of ``istio-tui sandbox``; ``tui.__main__.COMMANDS`` creates the parser with its help line."""
    parser.description = "The embedded Kubernetes sandbox."
    actions = parser.add_subparsers(dest="sandbox_command", required=True)
    serve = actions.add_parser(
        "serve",
        help="serve the sandbox API in the foreground until Ctrl-C",
        description="Serve a sandbox Kubernetes API on 127.0.0.1 (HTTPS, bearer token) until SIGINT/SIGTERM.",
    )
    serve.add_argument("--port", type=_port, default=0, help="TCP port on 127.0.0.1 (default: a free port)")
    serve.add_argument(
        "--kubeconfig",
        type=str,
        default=None,
        help=f"kubeconfig file to write (default: {default_kubeconfig()})",
    )
    serve.add_argument(
        "--state", type=str, default=None, help="sqlite file that keeps the cluster across restarts"
    )
    serve.add_argument(
        "--kubelet-version",
        type=_version,
        default="v1.32.0",
        help="node kubelet version; v1.33+ uses native sidecars",
    )
    serve.add_argument("--nodes", type=_nodes, default=1, help="how many nodes the sandbox has (default 1)")
    serve.set_defaults(run=run_serve)


# argparse ``type=`` checks, so a bad flag gets one line and exit 2 like every other subcommand's flags.
def _port(value: str) -> int:
    if not (value.isascii() and value.isdigit()) or not 0 <= int(value) <= 65535:
        raise argparse.ArgumentTypeError(f"{value!r} is not a TCP port (use a number from 1 to 65535, or 0)")
    return int(value)


def _version(value: str) -> str:
    if not re.fullmatch(r"v\d+\.\d+\.\d+", value):
        raise argparse.ArgumentTypeError(f"{value!r} is not a version (e.g. v1.32.0)")
    return value


def _nodes(value: str) -> int:
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= 50:
        raise argparse.ArgumentTypeError(f"{value!r} is not a node count (use a number from 1 to 50)")
    return int(value)


def run_serve(args: argparse.Namespace) -> int:
    for flag, value in (("--kubeconfig", args.kubeconfig), ("--state", args.state)):
        if value is not None:
            check_printable(value, what=flag)
    kubeconfig = Path(args.kubeconfig).expanduser() if args.kubeconfig else default_kubeconfig()
    if kubeconfig.is_dir():
        raise ConfigError(f"--kubeconfig {kubeconfig} is a directory", hint="give a file path")
    from tui.sandbox.cluster import Sandbox

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("istio-tui sandbox: %(levelname)s %(message)s"))
    sandbox_log = logging.getLogger("tui.sandbox")
    sandbox_log.addHandler(handler)
    sandbox_log.setLevel(logging.INFO)
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    sandbox = Sandbox(
        port=args.port, state_file=args.state, kubelet_version=args.kubelet_version, nodes=args.nodes
    )
    try:
        sandbox.start()
        try:
            path = sandbox.write_kubeconfig(kubeconfig)
        except OSError as err:
            raise ConfigError(f"cannot write kubeconfig {kubeconfig}: {err.strerror}") from err
        print(f"Sandbox API server: {sandbox.url}", flush=True)
        print(f"Kubeconfig: {path}", flush=True)
        print(f"Try: kubectl --kubeconfig {path} get ns   (Ctrl-C stops the sandbox)", flush=True)
        while not stop.wait(0.5):
            if not sandbox.running:
                print("istio-tui: the sandbox stopped unexpectedly", file=sys.stderr)
                return 1
    finally:
        sandbox.stop()
        sandbox_log.removeHandler(handler)
        for s, on in previous.items():
            signal.signal(s, on)
    return 0
