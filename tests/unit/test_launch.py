"""Each ``--sandbox`` run gets its own kubeconfig: two instances never re-point each other's helm/kubectl."""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import pty
import signal
import struct
import subprocess
import sys
import termios
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import cli_env, closed_port, wait_for
from tui.__main__ import build_parser
from tui.app import IstioApp
from tui.kube import Cluster
from tui.launch import (
    remove_sandbox_kubeconfig,
    remove_stale_sandbox_kubeconfigs,
    run_tui,
    sandbox_kubeconfig_path,
    write_sandbox_kubeconfig,
)
from tui.sandbox.cluster import Sandbox


@pytest.fixture
def state_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return tmp_path / "state" / "istio-tui"


@pytest.fixture
def second_sandbox() -> Iterator[Sandbox]:
    sb = Sandbox(port=0, seed=1, pod_start_seconds=0.1)
    sb.start()
    try:
        yield sb
    finally:
        sb.stop()


def test_two_sandboxes_get_two_private_files(
    state_home: Path, sandbox: Sandbox, second_sandbox: Sandbox
) -> None:
    first = write_sandbox_kubeconfig(sandbox)
    second = write_sandbox_kubeconfig(second_sandbox)
    assert first != second
    assert {first.parent, second.parent} == {state_home}
    assert first == sandbox_kubeconfig_path(sandbox.port) == state_home / f"sandbox-{sandbox.port}.kubeconfig"
    for path in (first, second):
        assert path.stat().st_mode & 0o777 == 0o600
    # Writing the second did not re-point the first: each still reaches its own server.
    for path, sb in ((first, sandbox), (second, second_sandbox)):
        c = Cluster.from_kubeconfig(path=str(path))
        try:
            assert c.server.rstrip("/") == sb.url
            assert c.info().git_version == "v1.32.0"
        finally:
            c.close()
    remove_sandbox_kubeconfig(first)
    assert not first.exists() and second.exists()
    remove_sandbox_kubeconfig(first)  # already gone is fine: exit paths may run it twice


def test_run_tui_uses_and_then_removes_its_own_file(
    state_home: Path, monkeypatch: pytest.MonkeyPatch, second_sandbox: Sandbox
) -> None:
    seen: dict[str, Any] = {}
    # A running instance's file must survive this run untouched.
    other = state_home / f"sandbox-{second_sandbox.port}.kubeconfig"
    other.parent.mkdir(parents=True)
    other.write_text("another run\n")

    def fake_run(self: IstioApp) -> None:
        path = Path(self.sandbox_kubeconfig or "")
        seen["path"] = path
        seen["exists"] = path.is_file()
        seen["mode"] = path.stat().st_mode & 0o777
        seen["cluster"] = self.cluster.kubeconfig

    monkeypatch.setattr(IstioApp, "run", fake_run)
    args: argparse.Namespace = build_parser().parse_args(["--sandbox"])
    assert run_tui(args) == 0
    path = seen["path"]
    assert path.parent == state_home and path.name.startswith("sandbox-") and path != other
    assert seen["exists"] and seen["mode"] == 0o600 and seen["cluster"] == str(path)
    assert not path.exists()
    assert other.read_text() == "another run\n"


def test_the_file_is_removed_when_the_app_fails(state_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Path] = []

    def failing_run(self: IstioApp) -> None:
        seen.append(Path(self.sandbox_kubeconfig or ""))
        raise RuntimeError("boom")

    monkeypatch.setattr(IstioApp, "run", failing_run)
    with pytest.raises(RuntimeError, match="boom"):
        run_tui(build_parser().parse_args(["--sandbox"]))
    assert len(seen) == 1 and not seen[0].exists()



def test_next_start_removes_files_of_runs_whose_sandbox_is_gone(
    state_home: Path, second_sandbox: Sandbox
) -> None:
    """The last resort after a SIGKILL: the token must not stay on disk once its server is gone."""
    state_home.mkdir(parents=True)
    stale = state_home / f"sandbox-{closed_port()}.kubeconfig"
    live = state_home / f"sandbox-{second_sandbox.port}.kubeconfig"
    unrelated = state_home / "notes.kubeconfig"
    for path in (stale, live, unrelated):
        path.write_text("x\n")
    assert remove_stale_sandbox_kubeconfigs() == [stale]
    assert not stale.exists() and live.exists() and unrelated.exists()


@pytest.mark.parametrize(
    ("signum", "terminal_first"),
    [(signal.SIGHUP, False), (signal.SIGHUP, True), (None, True), (signal.SIGTERM, False)],
    ids=["SIGHUP", "SIGHUP-after-the-terminal-went", "terminal-gone-no-signal", "SIGTERM"],
)
def test_closing_the_terminal_removes_the_sandbox_kubeconfig(
    tmp_path: Path, signum: int | None, terminal_first: bool
) -> None:
    """The no-signal case is ``make demo`` in tmux: make leads the session, so only make gets SIGHUP."""
    state = tmp_path / "state" / "istio-tui"
    env = cli_env(tmp_path, TERM="xterm-256color")
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 36, 120, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui", "--sandbox"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    screen = bytearray()

    def drain() -> None:
        with contextlib.suppress(OSError):
            while chunk := os.read(master, 65536):
                screen.extend(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        files = wait_for(lambda: list(state.glob("sandbox-*.kubeconfig")), "the kubeconfig", timeout=60)
        wait_for(lambda: b"Install" in screen, "the app on screen", timeout=60)
        if terminal_first:  # as tmux does: the terminal goes, then the hangup arrives (or never does)
            os.close(master)
        if signum is not None:
            proc.send_signal(signum)
        if signum == signal.SIGHUP and not terminal_first:
            os.close(master)  # the terminal is gone as well
        assert proc.wait(timeout=30) is not None
        assert not any(path.exists() for path in files), files
        assert not list(state.glob("sandbox-*.kubeconfig"))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        with contextlib.suppress(OSError):
            os.close(master)
