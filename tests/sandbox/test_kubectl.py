"""Issue 2's acceptance flow with the stock kubectl (a dispatcher running 1.32) against the sandbox."""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

import pytest

from tests.conftest import KUBECTL, Kubectl
from tests.helpers import wait_for
from tui.sandbox.cluster import Sandbox

pytestmark = pytest.mark.skipif(not Path(KUBECTL).exists(), reason="kubectl is not installed")

MANIFEST = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: book
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports: [{containerPort: 80}]
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: book
spec:
  selector: {app: web}
  ports:
  - {name: http2, port: 80, targetPort: 80}
  - {name: https, port: 443, targetPort: 443}
"""

INJECTOR = """\
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: istio-sidecar-injector}
webhooks:
- name: namespace.sidecar-injector.istio.io
  namespaceSelector: {matchLabels: {istio-injection: enabled}}
  clientConfig: {service: {name: istiod, namespace: istio-system, path: /inject}}
  sideEffects: None
  admissionReviewVersions: [v1]
"""


def test_seed_flow(kubectl: Kubectl, tmp_path: Path) -> None:
    out = kubectl("get", "ns").stdout
    rows = [line.split() for line in out.splitlines()]
    assert rows[0] == ["NAME", "STATUS", "AGE"] and rows[1][:2] == ["default", "Active"]
    assert kubectl("create", "namespace", "book").stdout.strip() == "namespace/book created"
    dup = kubectl("create", "namespace", "book", check=False)
    assert dup.returncode == 1
    assert dup.stderr.strip() == 'Error from server (AlreadyExists): namespaces "book" already exists'
    assert kubectl("label", "namespace", "book", "istio-injection=enabled").stdout.strip() == (
        "namespace/book labeled"
    )
    rows = [line.split() for line in kubectl("get", "namespace", "-L", "istio-injection").stdout.splitlines()]
    assert rows[0] == ["NAME", "STATUS", "AGE", "ISTIO-INJECTION"]
    assert next(r for r in rows if r[0] == "book")[-1] == "enabled"

    manifest = tmp_path / "web.yaml"
    manifest.write_text(MANIFEST)
    assert kubectl("apply", "-f", str(manifest)).stdout.split("\n")[:2] == [
        "deployment.apps/web created",
        "service/web created",
    ]
    assert "unchanged" in kubectl("apply", "-f", str(manifest)).stdout

    def pods_ready() -> bool:
        lines = kubectl("get", "pods", "-n", "book").stdout.splitlines()[1:]
        return len(lines) == 2 and all(line.split()[1:3] == ["1/1", "Running"] for line in lines)

    wait_for(pods_ready, what="two Running 1/1 pods")
    wide = kubectl("get", "pods", "-n", "book", "-o", "wide").stdout.splitlines()
    assert wide[0].split()[:7] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"]
    assert wide[1].split()[6] == "sandbox"

    assert kubectl(
        "patch", "service", "web", "-n", "book", "-p", '{"spec":{"type":"NodePort"}}'
    ).stdout.strip() == ("service/web patched")
    node_port = kubectl(
        "get", "svc", "web", "-n", "book", "-o", 'jsonpath={.spec.ports[?(@.name=="http2")].nodePort}'
    ).stdout
    assert 30000 <= int(node_port) <= 32767
    names = kubectl("get", "svc", "web", "-n", "book", "-o", "jsonpath={.spec.ports[*].name}").stdout
    assert names == "http2 https"
    svc_row = kubectl("get", "svc", "web", "-n", "book").stdout.splitlines()[1].split()
    assert svc_row[1] == "NodePort" and svc_row[4].startswith(f"80:{node_port}/TCP,443:")

    host_ip = kubectl(
        "get", "po", "-n", "book", "-l", "app=web", "-o", "jsonpath={.items[0].status.hostIP}"
    ).stdout
    assert host_ip == "127.0.0.1"

    injector = tmp_path / "injector.yaml"
    injector.write_text(INJECTOR)
    kubectl("apply", "-f", str(injector))
    kubectl("run", "after", "-n", "book", "--image=nginx:1.27")

    def after_ready() -> bool:
        row = kubectl("get", "pod", "after", "-n", "book").stdout.splitlines()[1].split()
        return row[1:3] == ["2/2", "Running"]

    wait_for(after_ready, what="the injected pod to be Running 2/2")
    containers = kubectl(
        "get", "pod", "after", "-n", "book", "-o", "jsonpath={.spec.containers[*].name}"
    ).stdout
    assert containers.split() == ["after", "istio-proxy"]
    old_pod = kubectl(
        "get", "po", "-n", "book", "-l", "app=web", "-o", "jsonpath={.items[0].spec.containers[*].name}"
    )
    assert old_pod.stdout == "web"  # pods that existed before the injector are left alone

    assert kubectl("delete", "namespace", "book").stdout.strip() == 'namespace "book" deleted'
    gone = kubectl("get", "pods", "-n", "book", check=False)
    assert gone.stdout == "" and "No resources found in book namespace." in gone.stderr
    assert "book" not in kubectl("get", "ns").stdout


def test_get_pods_watch_streams(kubectl: Kubectl, kubeconfig: Path, tmp_path: Path) -> None:
    # An existing pod makes the watcher print its list; after that it watches from the list's
    # resourceVersion, so no later write can be missed (an empty list prints nothing to wait for).
    kubectl("run", "p0", "--image=nginx:1.27")
    env = {**os.environ, "HOME": str(tmp_path)}
    watcher = subprocess.Popen(
        [
            KUBECTL,
            "--kubeconfig",
            str(kubeconfig),
            "--cache-dir",
            str(tmp_path / "wcache"),
            "get",
            "pods",
            "-w",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert watcher.stdout is not None
    out_lines: list[str] = []
    reader = threading.Thread(target=lambda: out_lines.extend(watcher.stdout or ()), daemon=True)
    reader.start()

    def rows(name: str) -> list[list[str]]:
        return [line.split() for line in list(out_lines) if line.split()[:1] == [name]]

    try:
        wait_for(lambda: bool(rows("p0")), what="the watcher to print its list")
        kubectl("run", "p1", "--image=nginx:1.27")
        wait_for(lambda: any(r[2] == "Running" for r in rows("p1")), what="the watcher to show p1 Running")
        kubectl("delete", "pod", "p1", "--wait=false")
        wait_for(lambda: kubectl("get", "pod", "p1", check=False).returncode != 0, what="p1 deleted")
    finally:
        watcher.terminate()
        watcher.wait(timeout=10)
        reader.join(timeout=5)
        err = watcher.stderr.read() if watcher.stderr is not None else ""
        for pipe in (watcher.stdout, watcher.stderr):
            if pipe is not None:
                pipe.close()
    assert out_lines and out_lines[0].split()[:3] == ["NAME", "READY", "STATUS"], (out_lines, err)
    statuses = [row[2] for row in rows("p1")]
    assert statuses[0] in ("Pending", "ContainerCreating") and "Running" in statuses, out_lines


def test_errors_are_kubectl_friendly(kubectl: Kubectl, sandbox: Sandbox, tmp_path: Path) -> None:
    missing = kubectl("get", "deployment", "nope", check=False)
    assert missing.returncode == 1
    assert missing.stderr.strip() == 'Error from server (NotFound): deployments.apps "nope" not found'
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Bad_Name\n")
    invalid = kubectl("apply", "-f", str(bad), check=False)
    assert invalid.returncode == 1 and "Invalid" in invalid.stderr and "metadata.name" in invalid.stderr
    into_missing = tmp_path / "cm.yaml"
    into_missing.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: nope\n")
    res = kubectl("apply", "-f", str(into_missing), check=False)
    assert res.returncode == 1 and 'namespaces "nope" not found' in res.stderr


def test_wrong_token_is_unauthorized(kubeconfig: Path, tmp_path: Path) -> None:
    text = kubeconfig.read_text()
    token_line = next(line for line in text.splitlines() if "token:" in line)
    wrong = tmp_path / "wrong"
    wrong.write_text(text.replace(token_line, token_line.split("token:")[0] + "token: not-the-token"))
    res = subprocess.run(
        [KUBECTL, "--kubeconfig", str(wrong), "--cache-dir", str(tmp_path / "c"), "get", "ns"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    assert res.returncode == 1 and "You must be logged in to the server" in res.stderr


def test_crd_and_custom_resources(kubectl: Kubectl, tmp_path: Path) -> None:
    crd = tmp_path / "crd.yaml"
    crd.write_text("""\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: virtualservices.networking.istio.io}
spec:
  group: networking.istio.io
  scope: Namespaced
  names: {plural: virtualservices, singular: virtualservice, kind: VirtualService, shortNames: [vs]}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
    additionalPrinterColumns:
    - {name: Hosts, type: string, jsonPath: .spec.hosts}
""")
    kubectl("get", "ns")  # warm the discovery cache before the CRD exists
    kubectl("apply", "-f", str(crd))
    vs = tmp_path / "vs.yaml"
    vs.write_text(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: reviews}\n"
        "spec: {hosts: [reviews]}\n"
    )
    assert (
        kubectl("apply", "-f", str(vs)).stdout.strip() == "virtualservice.networking.istio.io/reviews created"
    )
    vs.write_text(vs.read_text().replace("[reviews]", "[reviews, ratings]"))
    assert "configured" in kubectl("apply", "-f", str(vs)).stdout
    rows = kubectl("get", "vs").stdout.splitlines()
    assert rows[0].split() == ["NAME", "HOSTS", "AGE"] and rows[1].split()[:2] == [
        "reviews",
        '["reviews","ratings"]',
    ]
    kubectl("delete", "-f", str(crd))
    after = kubectl("get", "vs", check=False)  # cached discovery still knows vs
    assert after.returncode == 1 and "the server could not find the requested resource" in after.stderr


def test_auth_can_i_sends_protobuf_and_honours_forbid(kubectl: Kubectl, sandbox: Sandbox) -> None:
    assert kubectl("auth", "can-i", "create", "pods", "-n", "default").stdout.strip() == "yes"
    sandbox.forbid(resource="pods", namespace="locked")
    denied = kubectl("auth", "can-i", "list", "pods", "-n", "locked", check=False)
    assert (denied.returncode, denied.stdout.strip()) == (1, "no - forbidden by the sandbox")
    assert kubectl("auth", "can-i", "list", "pods", "-n", "default").stdout.strip() == "yes"


def test_every_builtin_kind_is_served(kubectl: Kubectl) -> None:
    resources = [line.split()[0] for line in kubectl("api-resources", "--no-headers").stdout.splitlines()]
    for expected in ("horizontalpodautoscalers", "statefulsets", "daemonsets", "cronjobs", "leases"):
        assert expected in resources
    assert len(resources) >= 65
    listable = kubectl("api-resources", "--verbs=list", "-o", "name").stdout.split()
    out = kubectl("get", ",".join(listable), "-A", "--ignore-not-found")
    assert out.returncode == 0 and "service/kubernetes" in out.stdout
    assert kubectl("get", "hpa,pdb,sts,ds,cj,endpointslices", "-A").returncode == 0


def test_explain_reads_the_openapi_schemas(kubectl: Kubectl) -> None:
    out = kubectl("explain", "deployment.spec.replicas").stdout
    assert "FIELD: replicas <integer>" in out and "Number of desired pods" in out
    ports = kubectl("explain", "pods.spec.containers.ports").stdout
    assert "containerPort\t<integer> -required-" in ports
    hpa = kubectl("explain", "hpa.spec.metrics", "--api-version=autoscaling/v2").stdout
    assert "VERSION:    v2" in hpa and "<[]MetricSpec>" in hpa


def test_server_side_apply_reports_conflicts(kubectl: Kubectl, tmp_path: Path) -> None:
    same, changed = tmp_path / "same.yaml", tmp_path / "changed.yaml"
    same.write_text(MANIFEST.replace("namespace: book", "namespace: default"))
    changed.write_text(same.read_text().replace("replicas: 2", "replicas: 3"))
    kubectl("apply", "-f", str(same))
    out = kubectl("apply", "--server-side", "-f", str(changed), check=False)
    assert out.returncode == 1
    assert out.stderr.startswith(
        'error: Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: '
        ".spec.replicas"
    )
    forced = kubectl("apply", "--server-side", "--force-conflicts", "-f", str(changed)).stdout
    assert "deployment.apps/web serverside-applied" in forced
    assert kubectl("get", "deploy", "web", "-o", "jsonpath={.spec.replicas}").stdout == "3"
    managers = kubectl("get", "deploy", "web", "-o", "jsonpath={.metadata.managedFields[*].manager}").stdout
    assert managers.split() == ["kubectl", "kubectl-last-applied"]  # kubectl moved the CSA fields over

    kubectl("delete", "-f", str(same))
    kubectl("apply", "-f", str(same))
    kubectl("apply", "--server-side", "-f", str(same))  # the same values: shared, then handed over
    assert "serverside-applied" in kubectl("apply", "--server-side", "-f", str(changed)).stdout


def test_strict_field_validation_and_crd_categories(kubectl: Kubectl, tmp_path: Path) -> None:
    manifest = tmp_path / "typo.yaml"
    manifest.write_text(
        MANIFEST.replace("namespace: book", "namespace: default").replace("replicas:", "replicaz:")
    )
    out = kubectl("apply", "-f", str(manifest), check=False)
    assert out.returncode == 1 and 'strict decoding error: unknown field "spec.replicaz"' in out.stderr
    crds = Path(__file__).resolve().parents[3] / "shared" / "data" / "istio-crds.gen.yaml"
    if not crds.exists():
        pytest.skip("shared/data is not laid out beside the checkout")
    kubectl("apply", "-f", str(crds))
    vs = "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: r}\nspec: {hosts: [r]}\n"
    kubectl("apply", "-f", "-", input=vs)
    rows = kubectl("get", "istio-io").stdout.splitlines()
    assert rows[0].split() == ["NAME", "GATEWAYS", "HOSTS", "AGE"]
    assert rows[1].split()[:3] == ["virtualservice.networking.istio.io/r", "<none>", '["r"]']
    explain = kubectl("explain", "virtualservice.spec.http.route.weight").stdout
    assert "FIELD: weight <integer>" in explain


def test_apply_of_a_kind_without_crd_says_so(kubectl: Kubectl) -> None:
    cert = "apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: {name: c, namespace: default}\n"
    out = kubectl("apply", "-f", "-", input=cert, check=False)
    assert out.returncode == 1
    assert 'no matches for kind "Certificate" in version "cert-manager.io/v1"' in out.stderr
