"""``istio-tui analyze [-n NS | -A] [--json]``: the mesh checks without the TUI, for scripts and CI.

Exit codes: 0 when no error-level finding remains (warnings and infos may), 3 when one does, 1 for a usage
or cluster error (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import NoReturn

from tui.errors import ConfigError, user_line
from tui.istio.analysis.model import Finding

EXIT_FINDINGS = 3
_PROG = "istio-tui analyze"


class _UsageExit1(argparse.ArgumentParser):
    """analyze promises exit 1 for usage errors (not argparse's 2); still one line, never a usage dump."""

    def error(self, message: str) -> NoReturn:
        self.exit(1, f"{_PROG}: {user_line(message)}\n")


def configure(p: argparse.ArgumentParser) -> None:
    """The flags of ``istio-tui analyze``; ``tui.__main__.COMMANDS`` creates the parser with its help line."""
    p.description = (
        "Check Gateways, routes, subsets, injection, ports, API versions, annotations, ambient "
        "waypoints and Gateway API status; print each finding with its fix."
    )
    p.error = _UsageExit1.error.__get__(p)  # type: ignore[method-assign]
    scope = p.add_mutually_exclusive_group()
    scope.add_argument("-n", "--namespace", dest="analyze_namespace", metavar="NS", help="one namespace")
    scope.add_argument("-A", "--all-namespaces", action="store_true", help="every namespace (the default)")
    p.add_argument("--json", action="store_true", help="print the findings as one JSON list")
    p.set_defaults(run=run, usage_exit=1)


def render(findings: Sequence[Finding], *, scope: str) -> str:
    """Human output: findings grouped by level, one line each with its fix."""
    if not findings:
        return f"no findings in {scope}"
    lines: list[str] = []
    for level in ("error", "warning", "info"):
        group = [f for f in findings if f.level == level]
        if not group:
            continue
        lines.append(f"{level.upper()}S ({len(group)})" if len(group) > 1 else level.upper())
        lines.extend(f"  [{f.code}] {f.resource}: {f.message} -> fix: {f.fix}" for f in group)
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from tui.config import check_namespace, load_settings, refuse_sandbox_flag
    from tui.istio.analysis.runner import analyze, has_errors
    from tui.istio.analysis.snapshot import take_snapshot
    from tui.kube import Cluster

    namespace = args.analyze_namespace
    refuse_sandbox_flag(args)
    if namespace is not None and not namespace.strip():
        raise ConfigError("-n needs a namespace name", hint="or use -A for every namespace")
    if namespace is not None:
        check_namespace(namespace, "-n")
    settings = load_settings(args)
    cluster = Cluster.from_kubeconfig(path=settings.kubeconfig, context=settings.context)
    try:
        findings = analyze(take_snapshot(cluster), namespace=namespace)
    finally:
        cluster.close()
    if args.json:
        print(json.dumps([f.to_dict() for f in findings], indent=2))
    else:
        print(render(findings, scope=f"namespace {namespace}" if namespace else "all namespaces"))
    return EXIT_FINDINGS if has_errors(findings) else 0
