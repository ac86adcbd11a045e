"""Issue 12's acceptance: the official demo install, Bookinfo from the official samples, the docs' mistakes.

``bookinfo-gateway.yaml`` on 8080 against the official gateway chart (Service 80→80), both injection labels
on the namespace and ``virtual-service-all-v1.yaml`` without DestinationRules: ``istio-tui analyze -n bookinfo
--json`` reports the port trap, the missing subsets and the double label and exits 3. After the fixes (port
80, ``destination-rule-all.yaml``, one label, a restart) it exits 0 with no error finding.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import KUBECTL
from tui.sandbox.cluster import Sandbox

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "istio-1.30.3"
SAMPLES = DATA / "samples" / "bookinfo"
HELM = shutil.which("helm") or "/usr/local/bin/helm"

pytestmark = pytest.mark.skipif(
    not DATA.is_dir() or not Path(HELM).exists() or not Path(KUBECTL).exists(),
    reason="needs ../shared/data, helm and kubectl",
)


class Mesh:
    def __init__(self, sandbox: Sandbox, workdir: Path) -> None:
        self.kubeconfig = sandbox.write_kubeconfig(workdir / "kubeconfig")
        self.env = {
            **os.environ,
            "HOME": str(workdir),
            "KUBECONFIG": str(self.kubeconfig),
            "HELM_CACHE_HOME": str(workdir / "hc"),
            "HELM_CONFIG_HOME": str(workdir / "hcfg"),
            "HELM_DATA_HOME": str(workdir / "hd"),
        }
        self.cache = workdir / "kube-cache"

    def run(self, *cmd: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(cmd, capture_output=True, text=True, env=self.env, timeout=120)

    def ok(self, *cmd: str) -> str:
        proc = self.run(*cmd)
        assert proc.returncode == 0, f"{' '.join(cmd[:4])}: {proc.stdout[-600:]}{proc.stderr[-600:]}"
        return proc.stdout

    def kubectl(self, *args: str) -> str:
        return self.ok(KUBECTL, "--kubeconfig", str(self.kubeconfig), "--cache-dir", str(self.cache), *args)

    def helm(self, release: str, chart: str, namespace: str, *args: str) -> None:
        chart_dir = str(DATA / "charts" / chart)
        self.ok(HELM, "install", release, chart_dir, "-n", namespace, "--create-namespace", "--wait", *args)

    def analyze(self, *args: str) -> tuple[int, list[dict[str, Any]]]:
        proc = self.run(sys.executable, "-m", "tui", "--kubeconfig", str(self.kubeconfig), "analyze", *args)
        assert proc.returncode in (0, 3), proc.stderr
        return proc.returncode, json.loads(proc.stdout)


@pytest.fixture
def mesh(tmp_path: Path) -> Iterator[Mesh]:
    sb = Sandbox(port=0, seed=1, pod_start_seconds=0.05).start()
    try:
        yield Mesh(sb, tmp_path)
    finally:
        sb.stop()


def _codes(findings: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(f["code"], f["resource"]) for f in findings}


def test_docs_mistakes_are_found_then_fixed(mesh: Mesh) -> None:
    mesh.helm("istio-base", "base", "istio-system", "--set", "defaultRevision=default")
    mesh.helm("istiod", "istiod", "istio-system", "--set", "profile=demo")
    mesh.helm("istio-ingressgateway", "gateway", "istio-ingress", "--set", "service.type=NodePort")
    mesh.kubectl("create", "namespace", "bookinfo")
    mesh.kubectl("apply", "-n", "bookinfo", "-f", str(SAMPLES / "platform" / "kube" / "bookinfo.yaml"))
    mesh.kubectl("label", "namespace", "bookinfo", "istio-injection=enabled", "istio.io/rev=default")
    # The docs' gateway listens on 8080; the official gateway chart's Service maps 80→80.
    gateway = (SAMPLES / "networking" / "bookinfo-gateway.yaml").read_text()
    assert "number: 8080" in gateway
    mesh.kubectl("apply", "-n", "bookinfo", "-f", str(SAMPLES / "networking" / "bookinfo-gateway.yaml"))
    mesh.kubectl("apply", "-n", "bookinfo", "-f", str(SAMPLES / "networking" / "virtual-service-all-v1.yaml"))

    code, findings = mesh.analyze("-n", "bookinfo", "--json")
    assert code == 3
    found = _codes(findings)
    assert ("IT0101", "Gateway bookinfo/bookinfo-gateway") in found
    trap = next(f for f in findings if f["code"] == "IT0101")
    assert "8080" in trap["message"] and "Service port 80" in trap["fix"], trap
    assert trap["path"] == "spec.servers[0].port.number"
    assert {("IT0201", f"VirtualService bookinfo/{vs}") for vs in ("reviews", "ratings", "details")} <= found
    assert ("IT0301", "Namespace bookinfo") in found
    assert all(set(f) == {"code", "level", "resource", "message", "fix", "path"} for f in findings)

    mesh.kubectl(
        "patch", "gateway.networking.istio.io", "bookinfo-gateway", "-n", "bookinfo", "--type=json",
        "-p", '[{"op": "replace", "path": "/spec/servers/0/port/number", "value": 80}]',
    )  # fmt: skip
    mesh.kubectl("apply", "-n", "bookinfo", "-f", str(SAMPLES / "networking" / "destination-rule-all.yaml"))
    mesh.kubectl("label", "namespace", "bookinfo", "istio.io/rev-")
    mesh.kubectl("rollout", "restart", "deployment", "-n", "bookinfo")
    for deploy in mesh.kubectl("get", "deploy", "-n", "bookinfo", "-o", "name").split():
        mesh.kubectl("rollout", "status", deploy, "-n", "bookinfo", "--timeout=30s")

    code, findings = mesh.analyze("-n", "bookinfo", "--json")
    assert [f for f in findings if f["level"] == "error"] == []
    assert code == 0
    assert not any(f["code"] == "IT0303" for f in findings), findings
