"""``istio-tui upgrade``: a revision-based canary upgrade, headless (``--yes``) or as a script.

Examples::

    istio-tui upgrade --yes --revision canary --chart-source sandbox --namespaces bookinfo
    istio-tui upgrade --yes --promote canary
    istio-tui upgrade --yes --remove-revision default
    istio-tui upgrade --plan-only --out plan/ --revision canary --namespaces bookinfo --promote canary

Steps run in this order: install istiod-R, for each namespace move it to R and restart it until every
sidecar comes from R, point the default tag at R, uninstall the old revision (refused while any pod still
runs a sidecar from it). A refused or failed step prints one line and exits 1; bad flags exit 2.
"""

from __future__ import annotations

import argparse
import threading

from tui import cliargs
from tui.config import refuse_sandbox_flag
from tui.errors import ConfigError, IstioTuiError, print_error
from tui.inputs import check_printable
from tui.istio.upgrade import WAIT_TIMEOUT_S, UpgradeOptions, build_steps, parse_namespaces, write_plan

PROG = "istio-tui upgrade"


def configure(p: argparse.ArgumentParser) -> None:
    """The flags of ``istio-tui upgrade``; ``tui.__main__.COMMANDS`` creates the parser with its help line."""
    p.description = __doc__
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("--yes", action="store_true", help="run the steps now, without questions")
    p.add_argument(
        "--plan-only", action="store_true", help="write upgrade.sh and its files, touch no cluster"
    )
    p.add_argument("--out", metavar="DIR", help="directory for the plan files (needed by --plan-only)")
    p.add_argument(
        "--revision", metavar="R", default="", help="install istiod revision R (helm release istiod-R)"
    )
    p.add_argument("--istio-version", metavar="V", help="Istio release 1.N.P of revision R")
    p.add_argument(
        "--chart-source", metavar="SRC", help="as for install: repo, https:// mirror, sandbox, dir"
    )
    p.add_argument("--namespaces", metavar="A,B", help="namespaces to move to R and restart")
    p.add_argument("--promote", metavar="R", default="", help="point the default revision tag at R")
    p.add_argument("--remove-revision", metavar="OLD", default="", help="uninstall revision OLD when unused")
    p.add_argument(
        "--timeout",
        type=cliargs.seconds,
        metavar="SECONDS",
        default=WAIT_TIMEOUT_S,
        help=f"how long to wait for each namespace's pods ({WAIT_TIMEOUT_S:g})",
    )
    p.set_defaults(run=run)


def _usage_error(message: str) -> int:
    print_error(PROG, message)
    return 2


def run(args: argparse.Namespace) -> int:
    if args.plan_only == args.yes:
        return _usage_error("choose exactly one of --plan-only (write the script) or --yes (upgrade now)")
    if args.plan_only and not args.out:
        return _usage_error("--plan-only needs --out DIR")
    if args.yes:
        try:
            refuse_sandbox_flag(args)
        except ConfigError as err:
            return _usage_error(str(err))
    settings = None
    if args.yes:
        from tui.config import load_settings

        settings = load_settings(args)
    try:
        if args.out is not None:
            check_printable(args.out, what="--out")
        opts = UpgradeOptions(
            revision=args.revision,
            istio_version=args.istio_version,
            chart_source=args.chart_source,
            namespaces=parse_namespaces(args.namespaces),
            promote=args.promote,
            remove=args.remove_revision,
            timeout_s=args.timeout,
        )
        steps = build_steps(
            opts,
            kubeconfig=settings.kubeconfig if settings else None,
            context=settings.context if settings else None,
        )
    except ConfigError as err:
        return _usage_error(str(err))
    if args.plan_only:
        for path in write_plan(steps, args.out):
            print(f"wrote {path}")
        return 0
    from tui.kube import Cluster

    assert settings is not None
    cluster = Cluster.from_kubeconfig(path=settings.kubeconfig, context=settings.context)
    stop = threading.Event()
    for index, step in enumerate(steps, start=1):
        print(f"[{index}/{len(steps)}] {step.title}", flush=True)
        try:
            step.run(cluster, lambda line: print(f"  {line}", flush=True), stop)
        except IstioTuiError as err:
            print_error(PROG, f"step {index}/{len(steps)} stopped: {err}")
            return 1
    return 0
