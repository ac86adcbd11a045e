"""Command line: the TUI is the default command; subcommands run the core headless."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from tui import __version__
from tui.errors import IstioTuiError, print_error, user_line


class OneLineParser(argparse.ArgumentParser):
    """Flag errors as one line on stderr and exit 2, never a usage dump; subcommand parsers inherit it."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {user_line(message)}\n")


# name -> (module with ``configure(parser)``, help line). The table, not the modules, lists the commands, so
# ``--version``, ``--help`` and one command's start-up import nothing of the commands not run.
COMMANDS: dict[str, tuple[str, str]] = {
    "sandbox": ("tui.sandbox.cli", "run the embedded sandbox cluster"),
    "install": ("tui.istio.cli", "write the Istio install plan, or install it without the TUI"),
    "analyze": ("tui.istio.analysis.cli", "check the mesh configuration and explain what breaks traffic"),
    "upgrade": ("tui.istio.upgrade_cli", "canary-upgrade Istio with a second control plane revision"),
    "traffic": (
        "tui.traffic.cli",
        "send requests to the Bookinfo product page and tally black / red / no stars",
    ),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """Only ``command``'s module is imported and its flags added; the other commands are help-line stubs."""
    parser = OneLineParser(prog="istio-tui", description=__doc__)
    parser.add_argument("--version", action="version", version=f"istio-tui {__version__}")
    parser.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
    parser.add_argument("--context", help="kubeconfig context (default: the current context)")
    parser.add_argument("-n", "--namespace", help="namespace to open in the pod table")
    parser.add_argument("--readonly", action="store_true", help="never change the cluster")
    parser.add_argument("--sandbox", action="store_true", help="start an embedded sandbox cluster and use it")
    sub = parser.add_subparsers(dest="command")
    for name, (module, help_line) in COMMANDS.items():
        if name == command:
            try:
                configure = importlib.import_module(module).configure
            except ImportError as err:  # a broken install (a dependency missing): one line, not a traceback
                parser.exit(1, f"istio-tui {name}: cannot load this command: {err}; reinstall istio-tui\n")
            configure(sub.add_parser(name, help=help_line))
        else:  # a stub swallows its arguments (even --help) for the second pass
            sub.add_parser(name, help=help_line, add_help=False)
    return parser


def _parse(argv: Sequence[str]) -> tuple[argparse.Namespace, list[str], argparse.ArgumentParser]:
    """Pass one finds the command (and answers --version/--help); pass two parses with its real flags."""
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if args.command is not None:
        parser = build_parser(args.command)
        args, unknown = parser.parse_known_args(argv)
    return args, unknown, parser


def _unrecognized(args: Sequence[str]) -> str:
    return f"unrecognized arguments: {' '.join(args)}"


def main(argv: Sequence[str] | None = None) -> int:
    return _main(argv)[0]


def entry() -> NoReturn:
    """The ``istio-tui`` program. A command whose parser sets ``skip_teardown`` (``traffic``: its output is
    written and its workers reaped when it returns) ends without the interpreter's teardown of every module,
    20-30 ms on the 2-CPU machine that a whole-process timing of a run would count."""
    code, args = _main(sys.argv[1:])
    if getattr(args, "skip_teardown", False):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def _main(argv: Sequence[str] | None) -> tuple[int, argparse.Namespace]:
    argv = sys.argv[1:] if argv is None else argv
    args, unknown, parser = _parse(argv)
    if unknown:  # a subcommand may promise its own usage exit code (analyze: 1)
        parser.exit(getattr(args, "usage_exit", 2), f"{parser.prog}: {user_line(_unrecognized(unknown))}\n")
    return _run(args), args


def _run(args: argparse.Namespace) -> int:
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
    entry()
