"""``istio-tui sandbox serve`` as a user runs it: a foreground process, a kubeconfig, clean signals."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import KUBECTL


def serve(*args: str, home: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "HOME": str(home), "XDG_STATE_HOME": str(home / "state")}
    return subprocess.Popen(
        [sys.executable, "-m", "tui", "sandbox", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def first_lines(proc: subprocess.Popen[str], n: int) -> list[str]:
    assert proc.stdout is not None
    return [proc.stdout.readline().strip() for _ in range(n)]


def test_serve_writes_kubeconfig_and_exits_0_on_sigterm(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "k" / "config"
    proc = serve("--kubeconfig", str(kubeconfig), home=tmp_path)
    try:
        url_line, path_line = first_lines(proc, 2)
        assert url_line.startswith("Sandbox API server: https://127.0.0.1:")
        assert path_line == f"Kubeconfig: {kubeconfig}"
        assert kubeconfig.stat().st_mode & 0o777 == 0o600
        res = subprocess.run(
            [
                KUBECTL,
                "--kubeconfig",
                str(kubeconfig),
                "--cache-dir",
                str(tmp_path / "c"),
                "get",
                "nodes",
                "-o",
                "name",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert res.stdout.strip() == "node/sandbox", res.stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err


def test_serve_defaults_and_sigint(tmp_path: Path) -> None:
    proc = serve(home=tmp_path)
    try:
        url_line, path_line = first_lines(proc, 2)
        port = int(url_line.rsplit(":", 1)[1])
        assert port > 0
        assert path_line == f"Kubeconfig: {tmp_path / 'state' / 'istio-tui' / 'sandbox.kubeconfig'}"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=20)
    assert proc.returncode == 0


def test_port_in_use_is_one_line_and_non_zero(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = serve("--port", str(port), "--kubeconfig", str(tmp_path / "k"), home=tmp_path)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode != 0 and out == ""
    assert err.count("\n") == 1 and f"port {port}" in err and "in use" in err
    assert not (tmp_path / "k").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "http"], "argument --port: 'http' is not a TCP port"),
        (["--port", "70000"], "argument --port: '70000' is not a TCP port"),
        (["--kubelet-version", "1.33"], "argument --kubelet-version: '1.33' is not a version"),
        (["--nodes", "0"], "argument --nodes: '0' is not a node count"),
    ],
)
def test_bad_flags_are_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    """A bad flag exits 2, as every other subcommand's bad flags do (it was 1 here)."""
    proc = serve(*args, home=tmp_path)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2 and err.count("\n") == 1 and message in err


def test_state_survives_a_restart(tmp_path: Path) -> None:
    state, kubeconfig = tmp_path / "state.db", tmp_path / "kc"
    kubectl = [KUBECTL, "--kubeconfig", str(kubeconfig), "--cache-dir", str(tmp_path / "c")]
    for round_ in range(2):
        proc = serve("--state", str(state), "--kubeconfig", str(kubeconfig), home=tmp_path)
        try:
            first_lines(proc, 2)
            if round_ == 0:
                subprocess.run(
                    [*kubectl, "create", "namespace", "kept"], check=True, capture_output=True, timeout=60
                )
            else:
                deadline = time.monotonic() + 30
                res = subprocess.run(
                    [*kubectl, "get", "ns", "kept", "-o", "name"],
                    capture_output=True,
                    text=True,
                    timeout=max(1, deadline - time.monotonic()),
                )
                assert res.stdout.strip() == "namespace/kept", res.stderr
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=20)
        assert proc.returncode == 0


def test_unusable_state_or_kubeconfig_paths_are_one_line(tmp_path: Path) -> None:
    bad_state = tmp_path / "state.db"
    bad_state.write_text("not a database, not at all, not even close")
    proc = serve("--state", str(bad_state), "--kubeconfig", str(tmp_path / "k"), home=tmp_path)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 1 and err.count("\n") == 1
    assert f"cannot use {bad_state} as the sandbox state file" in err
    assert bad_state.read_text().startswith("not a database")
    proc = serve("--kubeconfig", str(tmp_path), home=tmp_path)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 1 and err.count("\n") == 1 and "is a directory" in err


def test_a_second_serve_on_the_same_state_file_refuses_in_one_line(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    first = serve("--state", str(state), "--kubeconfig", str(tmp_path / "k1"), home=tmp_path)
    try:
        first_lines(first, 2)
        second = serve("--state", str(state), "--kubeconfig", str(tmp_path / "k2"), home=tmp_path)
        try:
            _, err = second.communicate(timeout=30)
        finally:
            second.kill()  # no-op once it has exited; ends it if it wrongly kept serving
        assert second.returncode != 0 and err.count("\n") == 1, err
        assert str(state) in err and "in use" in err
        assert first.poll() is None
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=20)
    assert first.returncode == 0
