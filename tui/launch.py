"""``istio-tui`` without a subcommand: build the backends, check the cluster answers, then run the app.

The cluster is asked for its version before the UI starts, so a wrong kubeconfig, context or token ends the
program with one line on stderr instead of a screen full of errors.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import signal
import socket
import termios
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from tui.config import APP_DIR, load_settings
from tui.kube import Cluster

if TYPE_CHECKING:
    from tui.sandbox.cluster import Sandbox

SANDBOX_POD_START_SECONDS = 1.5
QUIT_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
_SANDBOX_FILE = re.compile(r"sandbox-(\d{1,5})\.kubeconfig")
TERMINAL_POLL_S = 1.0
QUIT_GRACE_S = 5.0  # after a quit signal, how long the app may take to shut down before the process ends hard


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


def remove_stale_sandbox_kubeconfigs() -> list[Path]:
    """Delete the files of earlier runs whose sandbox no longer listens (the run was killed, e.g. SIGKILL).

    Each file holds a bearer token, so it must not outlive its server. A file whose port still answers may
    belong to another running instance and stays. Returns the removed paths."""
    removed: list[Path] = []
    with contextlib.suppress(OSError):
        for path in state_dir().iterdir():
            match = _SANDBOX_FILE.fullmatch(path.name)
            if match and _refused(int(match.group(1))):
                remove_sandbox_kubeconfig(path)
                removed.append(path)
    return removed


def _refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return False
    except ConnectionRefusedError:
        return True
    except (OSError, OverflowError):
        return False


def watch_quit_signals(on_signal: Callable[[int], None]) -> None:
    """Act on SIGTERM and SIGHUP from a thread of their own, never from the UI thread.

    Python runs signal handlers only on the main thread, between bytecodes. When the terminal closes,
    Textual's main thread can block for good on its output queue, and a handler there never runs: the app
    then spun on and left the kubeconfig with its token behind. The C-level handler still writes each
    signal's number to the wakeup fd, and this thread reads it.
    """
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    for signum in QUIT_SIGNALS:
        signal.signal(signum, lambda *_: None)  # the C handler that feeds the wakeup fd
    signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)

    def run() -> None:
        while data := os.read(read_end, 64):
            for signum in data:
                if signum in QUIT_SIGNALS:
                    on_signal(signum)
                    return

    threading.Thread(target=run, name="quit-signals", daemon=True).start()
    if os.isatty(0):
        threading.Thread(target=_watch_terminal, args=(on_signal,), name="tty-watch", daemon=True).start()


def _watch_terminal(on_signal: Callable[[int], None]) -> None:
    """A closed terminal counts as SIGHUP even when no signal comes: under ``make demo`` make is the session
    leader, and when tmux closes the pane only make is sent SIGHUP; it then waits for us. A hung-up tty
    answers every ioctl with EIO."""
    while True:
        try:
            termios.tcgetattr(0)
        except termios.error:
            on_signal(signal.SIGHUP)
            return
        time.sleep(TERMINAL_POLL_S)


def run_tui(args: argparse.Namespace) -> int:
    from tui.app import IstioApp

    settings = load_settings(args)
    sandbox = None
    cluster: Cluster | None = None
    kubeconfig: Path | None = None

    def leave(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)  # before the app runs: unwind through the cleanup below

    previous = {signum: signal.signal(signum, leave) for signum in QUIT_SIGNALS}
    try:
        if settings.sandbox:
            from tui.sandbox.cluster import Sandbox

            remove_stale_sandbox_kubeconfigs()
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

        def quit_on_signal(signum: int) -> None:
            # SIGTERM, or SIGHUP when the terminal closes: quit like `q`. The kubeconfig (it holds the token)
            # goes first. With the terminal gone the UI thread can be stuck writing to it, so the shutdown
            # gets a grace period and then the process ends anyway.
            if kubeconfig is not None:
                remove_sandbox_kubeconfig(kubeconfig)
            loop = getattr(app, "_loop", None)
            if loop is not None:
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(app.exit)
            hard = threading.Timer(QUIT_GRACE_S, os._exit, args=(128 + signum,))
            hard.daemon = True
            hard.start()

        watch_quit_signals(quit_on_signal)
        app.run()
    finally:
        if kubeconfig is not None:
            remove_sandbox_kubeconfig(kubeconfig)
        if cluster is not None:
            cluster.close()
        if sandbox is not None:
            sandbox.stop()
        signal.set_wakeup_fd(-1)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0
