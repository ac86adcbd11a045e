"""``istio-tui install``: write the install plan (``--plan-only --out DIR``) or run it headless (``--yes``).

Examples::

    istio-tui install --plan-only --out plan/ --profile demo --ingress-type NodePort --addons prometheus,kiali
    istio-tui --kubeconfig sb.yaml install --yes --profile demo --ingress-type NodePort --chart-source sandbox

Every flag value is checked by ``tui.istio.plan.validate_field``; a bad value prints one line and exits 2.
``--yes`` prints the preflight lines, one line per helm step, the verify checklist and ``INGRESS_HOST:PORT``;
it exits 1 with the reason when a preflight check fails, a step fails, or verify stays red.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from tui import cliargs
from tui.config import refuse_sandbox_flag
from tui.errors import ConfigError, print_error
from tui.inputs import check_printable
from tui.istio.helm import StepEvent
from tui.istio.installer import Installer, InstallListener
from tui.istio.plan import ADDONS, DEFAULT_ISTIO_VERSION, INGRESS_TYPES, PROFILES, InstallPlan, build_plan
from tui.models import CheckLine


def configure(p: argparse.ArgumentParser) -> None:
    """The flags of ``istio-tui install``; ``tui.__main__.COMMANDS`` creates the parser with its help line."""
    p.description = __doc__
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    mode = p.add_argument_group("mode")
    mode.add_argument(
        "--plan-only", action="store_true", help="write values files and scripts, touch no cluster"
    )
    mode.add_argument("--out", metavar="DIR", help="directory for the plan files (needed by --plan-only)")
    mode.add_argument("--yes", action="store_true", help="install now, without questions")
    mode.add_argument(
        "--timeout",
        type=cliargs.seconds,
        metavar="SECONDS",
        default=180.0,
        help="verify deadline for --yes (180)",
    )
    c = p.add_argument_group("choices")
    c.add_argument(
        "--istio-version", metavar="V", help=f"Istio release 1.N.P (default {DEFAULT_ISTIO_VERSION})"
    )
    c.add_argument("--profile", metavar="P", help=f"{' | '.join(PROFILES)} (default default)")
    c.add_argument("--ingress-type", metavar="T", help=f"{' | '.join(INGRESS_TYPES)} (default LoadBalancer)")
    c.add_argument(
        "--node-port-http2", metavar="N", help="fixed nodePort for http2 (30000-32767; NodePort only)"
    )
    c.add_argument(
        "--node-port-https", metavar="N", help="fixed nodePort for https (30000-32767; NodePort only)"
    )
    c.add_argument(
        "--no-ingress-gateway",
        dest="ingress_gateway",
        action="store_false",
        help="no istio-ingressgateway release (Gateway API Gateways get their own proxy from istiod)",
    )
    c.add_argument(
        "--egress-gateway", action="store_true", help="also install istio-egressgateway (ClusterIP)"
    )
    c.add_argument(
        "--tracing",
        action="store_true",
        default=None,
        help="turn on tracing (meshConfig.enableTracing); on by default with the jaeger addon",
    )
    c.add_argument("--no-tracing", dest="tracing", action="store_false", help="tracing off, even with jaeger")
    c.add_argument(
        "--sampling", metavar="R", help="trace sampling percentage 0-100 (with tracing on; default 1)"
    )
    c.add_argument("--addons", metavar="A,B", help=f"comma-separated subset of {','.join(ADDONS)}")
    c.add_argument(
        "--chart-source",
        metavar="SRC",
        help="official repo (default), an https:// mirror, 'sandbox', a chart directory, or .tgz files",
    )
    p.set_defaults(run=run)


def plan_from_args(args: argparse.Namespace) -> InstallPlan:
    plan = build_plan(
        istio_version=args.istio_version,
        profile=args.profile,
        ingress_type=args.ingress_type,
        node_port_http2=args.node_port_http2,
        node_port_https=args.node_port_https,
        ingress_gateway=args.ingress_gateway,
        egress_gateway=args.egress_gateway,
        tracing=args.tracing,
        sampling=args.sampling,
        addons=args.addons,
        chart_source=args.chart_source,
    )
    if args.sampling is not None and not plan.tracing:
        raise ConfigError("--sampling needs --tracing")
    return plan


def _usage_error(message: str) -> int:
    print_error("istio-tui install", message)
    return 2


def run(args: argparse.Namespace) -> int:
    if not args.plan_only and not args.yes:
        return _usage_error("choose --plan-only (write the files) or --yes (install now)")
    if args.plan_only and args.yes:
        return _usage_error("--plan-only and --yes exclude each other")
    if args.plan_only and not args.out:
        return _usage_error("--plan-only needs --out DIR")
    try:
        if args.yes:
            refuse_sandbox_flag(args)
        if args.out is not None:
            check_printable(args.out, what="--out")
        plan = plan_from_args(args)
    except ConfigError as err:
        return _usage_error(str(err))
    if args.out:
        for path in plan.write(args.out):
            print(f"wrote {path}")
    if args.plan_only:
        return 0
    return _install(plan, args, timeout_s=args.timeout)


def _check_line(stage: str, line: CheckLine) -> str:
    return f"{stage} {line.status:4} {line.title}: {line.reason}" + (f" -> {line.fix}" if line.fix else "")


class _Printer(InstallListener):
    """``--yes`` output: the preflight lines, one line per finished helm step, the verify checklist."""

    def preflight(self, lines: Sequence[CheckLine]) -> None:
        for line in lines:
            print(_check_line("preflight", line))

    def step(self, event: StepEvent) -> None:
        step = f"[{event.index + 1}/{event.total}] {event.release}"
        if event.kind == "done":
            print(f"{step}: installed ({event.elapsed_s:.1f}s)", flush=True)
        elif event.kind == "failed":
            print(f"{step}: FAILED: {event.line}", flush=True)


def _install(plan: InstallPlan, args: argparse.Namespace, *, timeout_s: float) -> int:
    from tui.config import load_settings
    from tui.kube import Cluster

    settings = load_settings(args)
    cluster = Cluster.from_kubeconfig(path=settings.kubeconfig, context=settings.context)
    print(f"plan: {plan.summary()}")
    installer = Installer(
        cluster,
        plan=plan,
        kubeconfig=settings.kubeconfig,
        context=settings.context,
        listener=_Printer(),
        verify_timeout_s=timeout_s,
    )
    result = installer.run()
    if result.outcome == "blocked":
        print_error("istio-tui install", "preflight failed; nothing was installed")
        return 1
    if result.report is None:
        print_error("istio-tui install", result.reason)
        return 1
    report = result.report
    for line in report.lines:
        print(_check_line("verify", line))
    if report.ingress is not None and report.ingress.host and report.ingress.port:
        print(f"INGRESS_HOST:PORT={report.ingress.gateway_url}")
    bad = [line for line in report.lines if not line.ok]
    if bad:
        print_error("istio-tui install", f"verify failed: {bad[0].title}: {bad[0].reason}")
        return 1
    return 0
