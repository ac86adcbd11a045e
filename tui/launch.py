"""``istio-tui`` without a subcommand: build the backends, check the cluster answers, then run the app.

The cluster is asked for its version before the UI starts, so a wrong kubeconfig, context or token ends the
program with one line on stderr instead of a screen full of errors.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from tui.config import APP_DIR, load_settings
from tui.kube import Cluster

SANDBOX_POD_START_SECONDS = 1.5


def state_dir() -> Path:
    """$XDG_STATE_HOME/istio-tui, else ~/.local/state/istio-tui."""
    xdg = os.environ.get("XDG_STATE_HOME", "")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".local" / "state"
    return base / APP_DIR


def sandbox_kubeconfig_path() -> Path:
    return state_dir() / "sandbox.kubeconfig"


def run_tui(args: argparse.Namespace) -> int:
    from tui.app import IstioApp

    settings = load_settings(args)
    sandbox = None
    cluster: Cluster | None = None
    kubeconfig: str | None = None
    try:
        if settings.sandbox:
            from tui.sandbox.cluster import Sandbox

            sandbox = Sandbox(port=0, pod_start_seconds=SANDBOX_POD_START_SECONDS)
            sandbox.start()
            path = sandbox_kubeconfig_path()
            path.parent.mkdir(parents=True, exist_ok=True)
            kubeconfig = str(sandbox.write_kubeconfig(path))
            cluster = Cluster.from_kubeconfig(path=kubeconfig)
        else:
            cluster = Cluster.from_kubeconfig(path=settings.kubeconfig, context=settings.context)
        info = cluster.info()
        IstioApp(settings=settings, cluster=cluster, info=info, sandbox_kubeconfig=kubeconfig).run()
    finally:
        if cluster is not None:
            cluster.close()
        if sandbox is not None:
            sandbox.stop()
    return 0
