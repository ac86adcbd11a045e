"""In-cluster load on a Kubernetes Job, for real: the sandbox's kubelet runs each istio-tui load pod as a
local process, whose logs the app follows through the API and merges; the Job and pods are deleted after."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import wait_for
from tests.sandbox.test_dataplane import NS, mesh  # noqa: F401 (mesh: the data-plane tests' fixture)
from tui import kube
from tui.kube import Cluster
from tui.models import IngressInfo
from tui.sandbox.cluster import Sandbox

ROOT = Path(__file__).resolve().parents[2]
LABEL = "app.kubernetes.io/name=istio-tui-load"


@pytest.fixture(scope="module")
def incluster(
    mesh: tuple[Sandbox, Cluster, IngressInfo], tmp_path_factory: pytest.TempPathFactory  # noqa: F811
) -> tuple[Path, Cluster, IngressInfo]:
    """The data-plane tests' sandbox (Istio, injected Bookinfo), with a kubeconfig file for the CLI."""
    sb, cluster, info = mesh
    return sb.write_kubeconfig(tmp_path_factory.mktemp("incluster") / "kubeconfig"), cluster, info


def _cmd(kubeconfig: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "tui", "--kubeconfig", str(kubeconfig), "--context", "sandbox", "traffic",
            *args]


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ROOT))


def _leftovers(cluster: Cluster) -> list[str]:
    jobs = cluster.list(kube.JOBS, namespace=NS, label_selector=LABEL).items
    pods = cluster.list(kube.PODS, namespace=NS, label_selector=LABEL).items
    return [o["metadata"]["name"] for o in [*jobs, *pods]]


def test_three_load_pods_send_exactly_3000_requests_and_leave_nothing(
    incluster: tuple[Path, Cluster, IngressInfo],
) -> None:
    kubeconfig, cluster, info = incluster
    proc = subprocess.run(
        _cmd(kubeconfig, info.productpage_url, "--in-cluster", "3", "--requests", "3000", "--namespace", NS,
             "--concurrency", "4", "--workers", "1", "--json"),
        capture_output=True, text=True, timeout=180, cwd=ROOT, env=_env(), check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(proc.stdout)
    assert sum(data["tally"].values()) == data["requests"] == 3000
    assert data["tally"]["transport_error"] == 0
    pods = data["load_pods"]
    assert len(pods) == 3 and sorted(p["requests"] for p in pods) == [1000, 1000, 1000]
    assert all(p["node"] and p["state"] == "Done" and p["rps"] > 0 for p in pods)
    assert _leftovers(cluster) == []


def test_in_mesh_service_url_resolves_to_the_data_plane(incluster: tuple[Path, Cluster, IngressInfo]) -> None:
    kubeconfig, cluster, _ = incluster
    proc = subprocess.run(
        _cmd(kubeconfig, f"http://productpage.{NS}:9080/productpage", "--in-cluster", "2",
             "--requests", "101", "--namespace", NS, "--workers", "1", "--json"),
        capture_output=True, text=True, timeout=180, cwd=ROOT, env=_env(), check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(proc.stdout)
    assert data["requests"] == 101 and data["tally"]["transport_error"] == 0
    assert sorted(p["requests"] for p in data["load_pods"]) == [50, 51]
    assert _leftovers(cluster) == []


def test_ctrl_c_prints_the_partial_merged_tally_and_cleans_up(
    incluster: tuple[Path, Cluster, IngressInfo],
) -> None:
    kubeconfig, cluster, info = incluster
    proc = subprocess.Popen(
        _cmd(kubeconfig, info.productpage_url, "--in-cluster", "2", "--until-stopped", "--rate", "100",
             "--namespace", NS, "--workers", "1", "--json"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=_env(),
    )
    try:
        wait_for(
            lambda: len([p for p in cluster.list(kube.PODS, namespace=NS, label_selector=LABEL).items
                         if (p.get("status") or {}).get("phase") == "Running"]) == 2,
            "two running load pods", timeout=60,
        )
        # Past the 100 requests a run without a count sends: the pods run until they are stopped.
        wait_for(lambda: _sent(cluster) >= 130, "130 requests in the load pods' logs", timeout=60)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err[-3000:]
    data = json.loads(out)
    assert data["requests"] >= 130 and sum(data["tally"].values()) == data["requests"]
    assert sum(p["requests"] for p in data["load_pods"]) == data["requests"]
    assert [p["state"] for p in data["load_pods"]] == ["Stopped", "Stopped"]
    assert _leftovers(cluster) == []


def _sent(cluster: Cluster) -> int:
    total = 0
    for pod in cluster.list(kube.PODS, namespace=NS, label_selector=LABEL).items:
        lines = cluster.pod_logs(pod["metadata"]["name"], namespace=NS, container="load").splitlines()
        tallies = [json.loads(line) for line in lines if line.startswith("{")]
        total += tallies[-1]["requests"] if tallies else 0
    return total


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if marker.encode() in cmdline and b"traffic" in cmdline:
                found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc to find the container process")
def test_a_process_pod_is_killed_when_its_pod_is_deleted(
    incluster: tuple[Path, Cluster, IngressInfo],
) -> None:
    _, cluster, info = incluster
    marker = "kill-me-on-delete"
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "load-probe", "namespace": "default", "labels": {"probe": marker}},
        "spec": {
            "restartPolicy": "Never",
            "containers": [{
                "name": "load", "image": "istio-tui:latest", "command": ["istio-tui"],
                "args": ["traffic", f"{info.productpage_url}?{marker}", "--duration", "120", "--rate", "5",
                         "--json-lines"],
            }],
        },
    }
    cluster.create(kube.PODS, pod, namespace="default")
    wait_for(lambda: _processes_with(marker), "the container process", timeout=30)
    def tally_lines() -> list[str]:
        log = cluster.pod_logs("load-probe", namespace="default")
        return [line for line in log.splitlines() if line.startswith("{")]

    lines = wait_for(tally_lines, "a tally line in the pod's log", timeout=30)
    assert json.loads(lines[0])["type"] == "progress"
    cluster.delete(kube.PODS, "load-probe", namespace="default")
    wait_for(lambda: not _processes_with(marker), "the process group to be killed", timeout=30)


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc to find the container process")
def test_sandbox_shutdown_kills_its_container_processes(tmp_path: Path) -> None:
    marker = "kill-me-at-shutdown"
    sb = Sandbox(port=0, seed=1, pod_start_seconds=0.05).start()
    try:
        kubeconfig = sb.write_kubeconfig(tmp_path / "kubeconfig")
        cluster = Cluster.from_kubeconfig(path=str(kubeconfig), context="sandbox")
        container = {"name": "load", "image": "registry.example/istio-tui:0.1",
                     "args": ["traffic", f"http://127.0.0.1:9/?{marker}", "--duration", "120", "--rate", "5"]}
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "probe", "namespace": "default"},
               "spec": {"restartPolicy": "Never", "containers": [container]}}
        cluster.create(kube.PODS, pod, namespace="default")
        wait_for(lambda: _processes_with(marker), "the container process", timeout=30)
        cluster.close()
    finally:
        sb.stop()
    wait_for(lambda: not _processes_with(marker), "the processes to be killed at shutdown", timeout=30)
