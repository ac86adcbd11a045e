"""Shared fixtures: a real sandbox cluster over HTTPS, its kubeconfig, and the stock kubectl against it."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tui.kube import Cluster
from tui.sandbox.cluster import Sandbox

KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"

Kubectl = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(autouse=True)
def private_state(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Choices the app remembers per cluster go to a private state dir, never the user's."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A started sandbox on a free port; pods become Running in about 0.1 s."""
    sb = Sandbox(port=0, seed=0, pod_start_seconds=0.1)
    sb.start()
    try:
        yield sb
    finally:
        sb.stop()


@pytest.fixture
def kubeconfig(sandbox: Sandbox, tmp_path: Path) -> Path:
    """The sandbox's kubeconfig (mode 0600) in the test's tmp_path."""
    return sandbox.write_kubeconfig(tmp_path / "kubeconfig")


@pytest.fixture
def cluster(kubeconfig: Path) -> Iterator[Cluster]:
    """tui.kube.Cluster for the sandbox's kubeconfig, context "sandbox"."""
    c = Cluster.from_kubeconfig(path=str(kubeconfig), context="sandbox")
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def kubectl(kubeconfig: Path, tmp_path: Path) -> Kubectl:
    """Run the stock kubectl against the sandbox with a private cache dir.

    ``kubectl("get", "ns")`` returns the CompletedProcess (text mode); pass ``input=`` for stdin and
    ``check=False`` to inspect failures. Without ``check=False`` a non-zero exit fails the test with stderr.
    """
    cache = tmp_path / "kube-cache"
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "HOME": str(tmp_path)}

    def run(
        *args: str, input: str | None = None, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [KUBECTL, "--kubeconfig", str(kubeconfig), "--cache-dir", str(cache), *args],
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
        )
        if check and proc.returncode != 0:
            pytest.fail(f"kubectl {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
        return proc

    return run
