"""Install, verify, addon access, mesh expansion and uninstall against the sandbox with the real helm CLI."""

from __future__ import annotations

import functools
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.helpers import PREFLIGHT_KEYS
from tui import kube
from tui.errors import ToolFailed, ToolMissing
from tui.istio.addons import addon_ingresses, apply_addon_ingresses, hosts_lines, node_ip
from tui.istio.helm import Cancelled, HelmRunner, StepEvent, find_helm
from tui.istio.mesh_expansion import build_registration, register_vm
from tui.istio.plan import FieldError, build_plan
from tui.istio.preflight import check_helm, run_preflight
from tui.istio.uninstall import installed_releases, leftover_audit, run_uninstall
from tui.istio.verify import install_progress, run_verify, wait_for_verify
from tui.kube import Cluster

pytestmark = pytest.mark.skipif(shutil.which("helm") is None, reason="helm is not installed (make tools)")


def _port_opens(host: str, port: int, *, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with socket.create_connection((host, port), timeout=1):
                return True
        except OSError:
            if time.monotonic() >= deadline:
                return False
            threading.Event().wait(0.1)


def test_install_verify_access_expand_and_uninstall(cluster: Cluster, kubeconfig: Path) -> None:
    before = run_preflight(cluster, ingress_type="NodePort")
    assert [line.key for line in before] == PREFLIGHT_KEYS
    assert all(line.ok for line in before), before
    assert all(line.status == "pass" for line in before if line.key != "gateway-api"), before

    plan = build_plan(
        profile="demo",
        ingress_type="NodePort",
        tracing=True,
        sampling=50,
        addons="kiali",
        chart_source="sandbox",
    )
    events: list[StepEvent] = []
    runner = HelmRunner(plan, kubeconfig=str(kubeconfig), context="sandbox", on_event=events.append)
    results = runner.install()
    assert [r.release for r in results] == ["istio-base", "istiod", "istio-ingressgateway", "kiali"]
    done = [e.release for e in events if e.kind == "done"]
    assert done == ["istio-base", "istiod", "istio-ingressgateway", "kiali"]
    assert any(e.kind == "output" and "STATUS: deployed" in e.line for e in events)

    report = wait_for_verify(cluster, plan=plan, timeout_s=30)
    assert report.ok, report.lines
    assert report.version == plan.istio_version
    assert report.ingress is not None and report.ingress.host == "127.0.0.1"
    svc = cluster.get(kube.SERVICES, "istio-ingressgateway", namespace="istio-system")
    http2 = next(p for p in svc["spec"]["ports"] if p["name"] == "http2")
    assert report.ingress.gateway_url == f"127.0.0.1:{http2['nodePort']}"
    assert "enableTracing true" in report.line("tracing").reason

    progress = install_progress(cluster)
    names = {p.name.rsplit("-", 2)[0] for p in progress.pods}
    assert {"istiod", "istio-ingressgateway", "kiali"} <= names
    assert not progress.notes and not any(p.stall for p in progress.pods)
    assert all(p.phase == "Running" for p in progress.pods)

    again = HelmRunner(plan, kubeconfig=str(kubeconfig), context="sandbox").install()
    assert len(again) == 4 and run_verify(cluster, plan=plan).ok
    existing = run_preflight(cluster, ingress_type="NodePort")[3]
    assert existing.status == "warn" and f"Istio {plan.istio_version} found" in existing.reason

    stored = apply_addon_ingresses(cluster, plan.addons, ingress_class="nginx")
    assert [o["spec"]["rules"][0]["host"] for o in stored] == ["kiali.istio.io"]
    ing = cluster.get(kube.INGRESSES, "kiali-ingress", namespace="istio-system")
    assert ing["spec"]["ingressClassName"] == "nginx"
    assert ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"] == {
        "name": "kiali",
        "port": {"number": 20001},
    }
    assert node_ip(cluster) == "127.0.0.1"
    assert hosts_lines(node_ip(cluster), plan.addons) == ["127.0.0.1  kiali.istio.io"]

    cluster.create(
        kube.NAMESPACES,
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "vms", "labels": {"istio-injection": "enabled"}},
        },
    )
    reg = build_registration(
        name="legacy-db",
        namespace="vms",
        address="10.0.0.7",
        ports="tcp-db:5432",
        labels="app=legacy-db,version=v1",
        service_account="legacy",
        expose="serviceentry",
    )
    register_vm(cluster, reg)
    entry = cluster.get(kube.WORKLOAD_ENTRIES, "legacy-db", namespace="vms")
    assert entry["spec"] == {
        "address": "10.0.0.7",
        "ports": {"tcp-db": 5432},
        "labels": {"app": "legacy-db", "version": "v1"},
        "serviceAccount": "legacy",
    }
    se = cluster.get(kube.SERVICE_ENTRIES, "legacy-db", namespace="vms")
    assert se["spec"]["workloadSelector"] == {"labels": {"app": "legacy-db", "version": "v1"}}

    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "app", "namespace": "vms"},
        "spec": {"containers": [{"name": "app", "image": "docker.io/library/busybox:1.36"}]},
    }
    created = cluster.create(kube.PODS, pod, namespace="vms")
    proxies = [c for c in created["spec"]["containers"] if c["name"] == "istio-proxy"]
    assert [c["image"] for c in proxies] == [f"docker.io/istio/proxyv2:{plan.istio_version}"]
    assert _port_opens(report.ingress.host, report.ingress.port, timeout_s=10)

    audit = {(i.kind, i.name) for i in leftover_audit(cluster)}
    assert ("webhook", "istio-sidecar-injector") in audit and ("object", "vms/legacy-db") in audit
    assert installed_releases(cluster) == ["kiali", "istio-ingressgateway", "istiod", "istio-base"]

    cluster.delete(kube.WORKLOAD_ENTRIES, "legacy-db", namespace="vms")
    cluster.delete(kube.SERVICE_ENTRIES, "legacy-db", namespace="vms")
    uninstall_events: list[StepEvent] = []
    result = run_uninstall(
        cluster,
        kubeconfig=str(kubeconfig),
        context="sandbox",
        delete_crds=True,
        delete_namespace=True,
        on_event=uninstall_events.append,
    )
    assert result.releases == ("kiali", "istio-ingressgateway", "istiod", "istio-base")
    assert [e.release for e in uninstall_events if e.kind == "done"] == list(result.releases)
    assert "virtualservices.networking.istio.io" in result.deleted_crds and result.namespace_deleted
    assert [(i.kind, i.name, i.detail) for i in result.leftovers] == [
        ("namespace-label", "vms", "istio-injection=enabled")
    ]
    cluster.patch(kube.NAMESPACES, "vms", {"metadata": {"labels": {"istio-injection": None}}})
    assert leftover_audit(cluster) == []


def test_cancel_stops_after_the_current_step(cluster: Cluster, kubeconfig: Path) -> None:
    plan = build_plan(profile="minimal", chart_source="sandbox")
    runner = HelmRunner(plan, kubeconfig=str(kubeconfig), context="sandbox")
    seen: list[StepEvent] = []

    def on_event(event: StepEvent) -> None:
        seen.append(event)
        if event.kind == "start" and event.index == 0:
            runner.cancel()

    runner.on_event = on_event
    with pytest.raises(Cancelled, match="cancelled before istiod; 1 of 2 steps done"):
        runner.install()
    assert [e.kind for e in seen if e.kind != "output"] == ["start", "done", "cancelled"]
    assert installed_releases(cluster) == ["istio-base"]


def test_failed_step_carries_helms_reason(cluster: Cluster, kubeconfig: Path, tmp_path: Path) -> None:
    charts = tmp_path / "charts"
    shutil.copytree(Path(build_plan(chart_source="sandbox").chart_source.location) / "base", charts / "base")
    (charts / "istiod" / "templates").mkdir(parents=True)
    (charts / "istiod" / "Chart.yaml").write_text("apiVersion: v2\nname: istiod\nversion: 0.0.1\n")
    (charts / "istiod" / "templates" / "x.yaml").write_text('{{ fail "the control plane refuses" }}\n')
    plan = build_plan(profile="minimal", chart_source=str(charts))
    events: list[StepEvent] = []
    with pytest.raises(ToolFailed) as caught:
        HelmRunner(plan, kubeconfig=str(kubeconfig), context="sandbox", on_event=events.append).install()
    assert "helm step 2/2 (istiod) failed" in str(caught.value) and "the control plane refuses" in str(
        caught.value
    )
    assert [e.kind for e in events if e.kind != "output"] == ["start", "done", "start", "failed"]


def test_vm_and_ingress_forms_reject_bad_values(cluster: Cluster) -> None:
    bad = [
        (dict(name="Bad_Name"), "name", "is not a DNS label"),
        (dict(address="300.1.1"), "address", "neither an IP address nor a DNS name"),
        (dict(ports="http:99999"), "ports", "outside 1-65535"),
        (dict(ports="http"), "ports", "needs a number"),
        (dict(labels="app"), "labels", "needs a value"),
        (dict(labels=""), "labels", "no labels"),
        (dict(expose="ingress"), "expose", "must be service or serviceentry"),
    ]
    good = dict(
        name="vm1", namespace="default", address="vm1.example.com", ports="http:8080", labels="app=vm1"
    )
    for change, field, message in bad:
        with pytest.raises(FieldError) as caught:
            build_registration(**{**good, **change})
        assert caught.value.field == field and message in str(caught.value)
    as_service = build_registration(**good).manifests()
    assert [m["kind"] for m in as_service] == ["WorkloadEntry", "Service"]
    assert as_service[1]["spec"]["selector"] == {"app": "vm1"}
    assert as_service[1]["spec"]["ports"] == [
        {"name": "http", "port": 8080, "targetPort": 8080, "protocol": "TCP"}
    ]
    with pytest.raises(FieldError, match="namespace 'nowhere' does not exist"):
        register_vm(cluster, build_registration(**{**good, "namespace": "nowhere"}))
    assert cluster.list(kube.SERVICES, namespace="default", label_selector="app=vm1").items == []
    with pytest.raises(FieldError, match="not a valid name"):
        addon_ingresses(["grafana"], ingress_class="Not Valid")
    with pytest.raises(FieldError, match="unknown addon 'servicegraph'"):
        addon_ingresses(["servicegraph"], ingress_class="nginx")


def test_helm_missing_is_explained_and_the_plan_still_saves(tmp_path: Path, kubeconfig: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    with pytest.raises(ToolMissing) as caught:
        find_helm(path=str(empty))
    assert "helm was not found on PATH" in str(caught.value) and "make tools" in str(caught.value)
    with pytest.raises(ToolMissing):
        HelmRunner(build_plan(), env={"PATH": str(empty)})
    line = check_helm(path=str(empty))
    assert line.status == "fail" and "https://helm.sh/docs/intro/install/" in line.fix

    env = {"PATH": str(empty), "HOME": str(tmp_path)}
    out = tmp_path / "plan"
    saved = subprocess.run(
        [sys.executable, "-m", "tui", "install", "--plan-only", "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert saved.returncode == 0 and (out / "install.sh").is_file()
    headless = subprocess.run(
        [
            sys.executable,
            "-m",
            "tui",
            "--kubeconfig",
            str(kubeconfig),
            "install",
            "--yes",
            "--profile",
            "demo",
            "--ingress-type",
            "NodePort",
            "--chart-source",
            "sandbox",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert headless.returncode == 1
    assert "preflight fail helm: helm was not found on PATH" in headless.stdout
    assert "nothing was installed" in headless.stderr


def test_cli_install_yes_against_the_sandbox(kubeconfig: Path, tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tui",
            "--kubeconfig",
            str(kubeconfig),
            "install",
            "--yes",
            "--profile",
            "demo",
            "--ingress-type",
            "NodePort",
            "--node-port-http2",
            "31380",
            "--chart-source",
            "sandbox",
            "--timeout",
            "30",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    steps = [ln.split(":")[0] for ln in lines if ln.startswith("[")]
    assert steps == ["[1/3] istio-base", "[2/3] istiod", "[3/3] istio-ingressgateway"]
    assert "INGRESS_HOST:PORT=127.0.0.1:31380" in lines
    assert not [ln for ln in lines if ln.startswith("verify fail")]


def test_repo_source_over_http_adds_the_repo_and_pins_the_version(
    cluster: Cluster, kubeconfig: Path, tmp_path: Path
) -> None:
    """A mirror Helm repository on loopback stands in for the official one: repo add, then --version."""
    helm = shutil.which("helm")
    assert helm is not None
    repo = tmp_path / "repo"
    charts = Path(build_plan(chart_source="sandbox").chart_source.location)
    for chart in ("base", "istiod", "gateway"):
        subprocess.run(
            [helm, "package", str(charts / chart), "-d", str(repo)], check=True, capture_output=True
        )
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(repo))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        subprocess.run([helm, "repo", "index", str(repo), "--url", url], check=True, capture_output=True)
        plan = build_plan(profile="demo", ingress_type="ClusterIP", chart_source=url)
        assert plan.chart_source.kind == "repo" and plan.releases[1].chart_ref == "istio/istiod"
        env = {**os.environ, "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
        results = HelmRunner(plan, kubeconfig=str(kubeconfig), context="sandbox", env=env).install()
        assert [r.release for r in results] == ["istio-base", "istiod", "istio-ingressgateway"]
        assert not (tmp_path / "cfg" / "helm" / "repositories.yaml").exists()
    finally:
        server.shutdown()
        server.server_close()
    report = wait_for_verify(cluster, plan=plan, timeout_s=30)
    gateway = report.line("gateway")
    assert gateway.status == "warn" and "reachable only inside the cluster" in gateway.reason
    assert all(line.status == "pass" for line in report.lines if line.key != "gateway")
