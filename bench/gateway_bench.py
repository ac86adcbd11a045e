"""Sandbox data plane figures: Bookinfo through Istio's ingress gateway (Gateway + VirtualService) against the
Gateway API path (an ``istio``-class Gateway's ``-istio`` Service and HTTPRoutes), with and without a 50/50
route on reviews (a VirtualService, or a GAMMA HTTPRoute on the reviews Service). hey is the client.

Everything is applied with stock kubectl from the official samples in ``../shared/data``; istiod itself is
stood in for by its injector webhook configuration (what the sandbox keys its simulation on). Prints figures,
or with ``--json`` one JSON object; asserts nothing.

    .venv/bin/python bench/gateway_bench.py [--requests 4000] [--concurrency 16] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tui.sandbox.cluster import Sandbox  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
SAMPLES = DATA / "istio-1.30.3" / "samples" / "bookinfo"
NS = "bookinfo"
ISTIO = """apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: istio-sidecar-injector}
webhooks:
- name: namespace.sidecar-injector.istio.io
  namespaceSelector: {matchLabels: {istio-injection: enabled}}
  clientConfig: {service: {name: istiod, namespace: istio-system, path: /inject}}
  sideEffects: None
  admissionReviewVersions: [v1]
---
apiVersion: v1
kind: Namespace
metadata: {name: istio-system}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: istio-ingressgateway, namespace: istio-system}
spec:
  selector: {matchLabels: {istio: ingressgateway}}
  template:
    metadata: {labels: {istio: ingressgateway}}
    spec: {containers: [{name: istio-proxy, image: docker.io/istio/proxyv2:1.30.3}]}
---
apiVersion: v1
kind: Service
metadata: {name: istio-ingressgateway, namespace: istio-system, labels: {istio: ingressgateway}}
spec:
  type: NodePort
  selector: {istio: ingressgateway}
  ports: [{name: http2, port: 80, targetPort: 8080}]
"""


class Kubectl:
    def __init__(self, kubeconfig: Path, workdir: Path) -> None:
        self.base = ["kubectl", "--kubeconfig", str(kubeconfig), "--cache-dir", str(workdir / "cache")]

    def __call__(self, *args: str, stdin: str | None = None) -> str:
        proc = subprocess.run([*self.base, *args], input=stdin, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise SystemExit(f"kubectl {' '.join(args[:3])} failed: {proc.stderr.strip()}")
        return proc.stdout


def node_port(kubectl: Kubectl, namespace: str, service: str, port_name: str) -> int:
    path = f"{{.spec.ports[?(@.name=='{port_name}')].nodePort}}"
    return int(kubectl("get", "svc", "-n", namespace, service, "-o", f"jsonpath={path}"))


def hey(url: str, requests: int, concurrency: int) -> float:
    """Requests/s counting only 200 answers (a misrouted run must not look fast)."""
    out = subprocess.run(
        ["hey", "-n", str(requests), "-c", str(concurrency), url], capture_output=True, text=True, timeout=600
    ).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    ok = re.search(r"\[200\]\s+(\d+) responses", out)
    return float(rate.group(1)) * int(ok.group(1)) / requests if rate and ok else 0.0


def setup(kubectl: Kubectl, workdir: Path) -> tuple[str, str]:
    kubectl("apply", "--server-side", "-f", str(DATA / "gateway-api-v1.6.1-standard-crds.yaml"))
    kubectl("apply", "--server-side", "-f", str(DATA / "istio-crds.gen.yaml"))
    kubectl("apply", "-f", "-", stdin=ISTIO)
    kubectl("create", "namespace", NS)
    kubectl("label", "namespace", NS, "istio-injection=enabled")
    for sample in ("platform/kube/bookinfo.yaml", "platform/kube/bookinfo-versions.yaml"):
        kubectl("apply", "-n", NS, "-f", str(SAMPLES / sample))
    gateway = (SAMPLES / "networking/bookinfo-gateway.yaml").read_text().replace("number: 8080", "number: 80")
    kubectl("apply", "-n", NS, "-f", "-", stdin=gateway)
    kubectl("apply", "-n", NS, "-f", str(SAMPLES / "networking/destination-rule-all.yaml"))
    kubectl("apply", "-n", NS, "-f", str(SAMPLES / "gateway-api/bookinfo-gateway.yaml"))
    kubectl("wait", "-n", NS, "--for=condition=programmed", "gtw/bookinfo-gateway", "--timeout=30s")
    kubectl("wait", "-A", "--for=condition=Ready", "pod", "--all", "--timeout=60s")
    istio = node_port(kubectl, "istio-system", "istio-ingressgateway", "http2")
    gwapi = node_port(kubectl, NS, "bookinfo-gateway-istio", "http")
    time.sleep(0.5)  # the data plane opens its listeners 50 ms after the pods are Running
    return f"http://127.0.0.1:{istio}/productpage", f"http://127.0.0.1:{gwapi}/productpage"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not shutil.which("hey") or not shutil.which("kubectl"):
        raise SystemExit("needs hey and kubectl on PATH")
    sandbox = Sandbox(port=0, seed=1, pod_start_seconds=0.05).start()
    results: dict[str, float] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            os.environ["HOME"] = tmp
            kubectl = Kubectl(sandbox.write_kubeconfig(workdir / "kubeconfig"), workdir)
            istio, gwapi = setup(kubectl, workdir)
            results["istio_gateway_no_route"] = hey(istio, args.requests, args.concurrency)
            results["gateway_api_no_route"] = hey(gwapi, args.requests, args.concurrency)
            vs = SAMPLES / "networking/virtual-service-reviews-50-v3.yaml"
            kubectl("apply", "-n", NS, "-f", str(vs))
            results["istio_gateway_virtualservice_50_50"] = hey(istio, args.requests, args.concurrency)
            kubectl("delete", "-n", NS, "-f", str(vs))
            kubectl("apply", "-n", NS, "-f", str(SAMPLES / "gateway-api/route-reviews-50-v3.yaml"))
            results["gateway_api_httproute_50_50"] = hey(gwapi, args.requests, args.concurrency)
    finally:
        sandbox.stop()
    if args.json:
        figures = {"requests": args.requests, "concurrency": args.concurrency, "requests_per_s": results}
        print(json.dumps(figures))
        return
    print(f"Bookinfo /productpage via the sandbox data plane, hey -n {args.requests} -c {args.concurrency}")
    for name, rps in results.items():
        print(f"  {name:<40} {rps:>9.0f} requests/s")


if __name__ == "__main__":
    main()
