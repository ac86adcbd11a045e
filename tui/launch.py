"""``istio-tui`` without a subcommand: build the backends, check the cluster answers, then run the app.

The cluster is asked for its version before the UI starts, so a wrong kubeconfig, context or token ends the
program with one line on stderr instead of a screen full of errors.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING

from tui.config import APP_DIR, load_settings
from tui.kube import Cluster

if TYPE_CHECKING:
    from tui.sandbox.cluster import Sandbox

SANDBOX_POD_START_SECONDS = 1.5


def state_dir() -> Path:
    """$XDG_STATE_HOME/istio-tui, else ~/.local/state/istio-tui."""
    xdg = os.environ.get("XDG_STATE_HOME", "")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".local" / "state"
    return base / APP_DIR


def sandbox_kubeconfig_path(port: int) -> Path:
    """One file per sandbox run, named after its port: helm and kubectl re-read the kubeconfig on every call,
    so a shared file would let a second ``--sandbox`` instance re-point the first one's tools at itself."""
    return state_dir() / f"sandbox-{port}.kubeconfig"


def write_sandbox_kubeconfig(sandbox: Sandbox) -> Path:
    """Writes the running sandbox's own kubeconfig (mode 0600) and returns its path."""
    path = sandbox_kubeconfig_path(sandbox.port)
    path.parent.mkdir(parents=True, exist_ok=True)
    return Path(sandbox.write_kubeconfig(path))


def remove_sandbox_kubeconfig(path: Path) -> None:
    """The file names a server that is gone once the run ends, so it must not outlive it."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def run_tui(args: argparse.Namespace) -> int:
    from tui.app import IstioApp

    settings = load_settings(args)
    sandbox = None
    cluster: Cluster | None = None
    kubeconfig: Path | None = None
    try:
        if settings.sandbox:
            from tui.sandbox.cluster import Sandbox

            sandbox = Sandbox(port=0, pod_start_seconds=SANDBOX_POD_START_SECONDS)
            sandbox.start()
            kubeconfig = write_sandbox_kubeconfig(sandbox)
            cluster = Cluster.from_kubeconfig(path=str(kubeconfig))
        else:
            cluster = Cluster.from_kubeconfig(path=settings.kubeconfig, context=settings.context)
        info = cluster.info()
        app = IstioApp(
            settings=settings,
            cluster=cluster,
            info=info,
            sandbox_kubeconfig=str(kubeconfig) if kubeconfig else None,
        )
        # SIGTERM quits like `q`: the terminal is restored, the sandbox and its kubeconfig cleaned up.
        signal.signal(signal.SIGTERM, lambda _signum, _frame: app.exit())
        app.run()
    finally:
        if cluster is not None:
            cluster.close()
        if kubeconfig is not None:
            remove_sandbox_kubeconfig(kubeconfig)
        if sandbox is not None:
            sandbox.stop()
    return 0
