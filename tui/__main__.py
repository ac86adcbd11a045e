"""Command line: the TUI is the default command; subcommands run the core headless."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from tui import __version__
from tui.errors import IstioTuiError, print_error, user_line


class OneLineParser(argparse.ArgumentParser):
    """Flag errors as one line on stderr and exit 2, never a usage dump; subcommand parsers inherit it."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {user_line(message)}\n")


def build_parser() -> argparse.ArgumentParser:
    from tui.istio import cli as install_cli
    from tui.istio.analysis import cli as analyze_cli
    from tui.sandbox import cli as sandbox_cli
    from tui.traffic import cli as traffic_cli

    parser = OneLineParser(prog="istio-tui", description=__doc__)
    parser.add_argument("--version", action="version", version=f"istio-tui {__version__}")
    parser.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
    parser.add_argument("--context", help="kubeconfig context (default: the current context)")
    parser.add_argument("-n", "--namespace", help="namespace to open in the pod table")
    parser.add_argument("--readonly", action="store_true", help="never change the cluster")
    parser.add_argument("--sandbox", action="store_true", help="start an embedded sandbox cluster and use it")
    sub = parser.add_subparsers(dest="command")
    sandbox_cli.add_parser(sub)
    install_cli.add_parser(sub)
    traffic_cli.add_parser(sub)
    analyze_cli.add_parser(sub)
    return parser


def _unrecognized(args: Sequence[str]) -> str:
    return f"unrecognized arguments: {' '.join(args)}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # a subcommand may promise its own usage exit code (analyze: 1)
        parser.exit(getattr(args, "usage_exit", 2), f"{parser.prog}: {user_line(_unrecognized(unknown))}\n")
    try:
        if args.command is None:
            from tui.launch import run_tui

            return run_tui(args)
        code: int = args.run(args)
        return code
    except IstioTuiError as err:
        print_error("istio-tui", err)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as err:  # a bug still gets one line, never a traceback that may carry a credential
        print_error("istio-tui", err)
        return 1


if __name__ == "__main__":
    sys.exit(main())
