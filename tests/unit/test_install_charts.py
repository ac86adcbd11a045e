"""The sandbox's own charts render with the plan's values, the way the real charts would be used."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tui.istio.plan import ADDONS, InstallPlan, Release, build_plan

HELM = shutil.which("helm")
pytestmark = pytest.mark.skipif(HELM is None, reason="helm is not installed (make tools)")


def _template(plan: InstallPlan, rel: Release, tmp_path: Path) -> list[dict[str, Any]]:
    plan.write(tmp_path)
    assert HELM is not None
    args = [HELM, "template", rel.name, rel.chart_ref, "-n", rel.namespace]
    args += ["-f", str(tmp_path / rel.values_file)]
    if rel.version:
        args += ["--version", rel.version]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return [d for d in yaml.safe_load_all(proc.stdout) if d]


def _find(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name)


def test_demo_nodeport_tracing_renders_the_simulated_istio(tmp_path: Path) -> None:
    plan = build_plan(
        profile="demo",
        ingress_type="NodePort",
        node_port_http2=31380,
        tracing=True,
        sampling=20,
        chart_source="sandbox",
        addons=",".join(ADDONS),
    )
    by_name = {r.name: r for r in plan.releases}

    base = _template(plan, by_name["istio-base"], tmp_path)
    crds = {d["metadata"]["name"] for d in base if d["kind"] == "CustomResourceDefinition"}
    assert {
        "gateways.networking.istio.io",
        "virtualservices.networking.istio.io",
        "workloadentries.networking.istio.io",
        "serviceentries.networking.istio.io",
        "sidecars.networking.istio.io",
        "destinationrules.networking.istio.io",
        "peerauthentications.security.istio.io",
        "telemetries.telemetry.istio.io",
    } <= crds
    vs = _find(base, "CustomResourceDefinition", "virtualservices.networking.istio.io")
    assert vs["spec"]["versions"][0]["name"] == "v1"
    assert vs["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"

    istiod = _template(plan, by_name["istiod"], tmp_path)
    deployment = _find(istiod, "Deployment", "istiod")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == f"docker.io/istio/pilot:{plan.istio_version}"
    assert {"name": "PILOT_TRACE_SAMPLING", "value": "20"} in container["env"]
    mesh = yaml.safe_load(_find(istiod, "ConfigMap", "istio")["data"]["mesh"])
    assert mesh["enableTracing"] is True and mesh["accessLogFile"] == "/dev/stdout"
    assert mesh["extensionProviders"][0]["name"] == "jaeger"
    injector = _find(istiod, "MutatingWebhookConfiguration", "istio-sidecar-injector")
    selectors = [h["namespaceSelector"]["matchExpressions"] for h in injector["webhooks"]]
    assert [{"key": "istio-injection", "operator": "In", "values": ["enabled"]}] in selectors
    assert any({"key": "istio.io/rev", "operator": "In", "values": ["default"]} in s for s in selectors)
    _find(istiod, "ValidatingWebhookConfiguration", "istio-validator-istio-system")
    _find(istiod, "Service", "istiod")

    gateway = _template(plan, by_name["istio-ingressgateway"], tmp_path)
    svc = _find(gateway, "Service", "istio-ingressgateway")
    assert svc["spec"]["type"] == "NodePort"
    http2 = next(p for p in svc["spec"]["ports"] if p["name"] == "http2")
    assert (http2["port"], http2["targetPort"], http2["nodePort"]) == (80, 80, 31380)
    assert svc["spec"]["selector"]["istio"] == "ingressgateway"
    pod_labels = _find(gateway, "Deployment", "istio-ingressgateway")["spec"]["template"]["metadata"][
        "labels"
    ]
    assert pod_labels["istio"] == "ingressgateway"

    services = {
        "prometheus": ("prometheus-server", 80),
        "grafana": ("grafana", 80),
        "jaeger": ("jaeger-query", 16686),
        "kiali": ("kiali", 20001),
    }
    for release, (service, port) in services.items():
        docs = _template(plan, by_name[release], tmp_path)
        assert _find(docs, "Service", service)["spec"]["ports"][0]["port"] == port
    jaeger = _template(plan, by_name["jaeger"], tmp_path)
    assert _find(jaeger, "Service", "jaeger-collector")["spec"]["ports"][0]["port"] == 4317


def test_ambient_and_unknown_profile(tmp_path: Path) -> None:
    plan = build_plan(profile="ambient", chart_source="sandbox")
    by_name = {r.name: r for r in plan.releases}
    cni = _template(plan, by_name["istio-cni"], tmp_path)
    env = cni[0]["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "AMBIENT_ENABLED", "value": "true"} in env
    assert _template(plan, by_name["ztunnel"], tmp_path)
    istiod = by_name["istiod"]
    assert HELM is not None
    proc = subprocess.run(
        [HELM, "template", "x", istiod.chart_ref, "--set", "profile=bogus"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0 and "unknown profile bogus" in proc.stderr


REAL_CHARTS = os.environ.get("ISTIO_TUI_REAL_CHARTS", "")


@pytest.mark.parametrize(
    "source",
    [
        "sandbox",
        pytest.param(
            REAL_CHARTS,
            marks=pytest.mark.skipif(
                not REAL_CHARTS,
                reason="set ISTIO_TUI_REAL_CHARTS to a directory of the official Istio charts",
            ),
        ),
    ],
    ids=["sandbox-charts", "official-charts"],
)
def test_acceptance_render_gives_nodeport_http2_demo_and_tracing(source: str, tmp_path: Path) -> None:
    """The issue's acceptance render; with ISTIO_TUI_REAL_CHARTS it runs on the published charts as well."""
    plan = build_plan(profile="demo", ingress_type="NodePort", tracing=True, chart_source=source)
    by_name = {r.name: r for r in plan.releases}
    assert _template(plan, by_name["istio-base"], tmp_path)
    istiod = _template(plan, by_name["istiod"], tmp_path)
    mesh = yaml.safe_load(_find(istiod, "ConfigMap", "istio")["data"]["mesh"])
    assert mesh["enableTracing"] is True
    assert mesh["accessLogFile"] == "/dev/stdout"
    env = _find(istiod, "Deployment", "istiod")["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "PILOT_TRACE_SAMPLING", "value": "1"} in env
    gateway = _template(plan, by_name["istio-ingressgateway"], tmp_path)
    svc = _find(gateway, "Service", "istio-ingressgateway")
    assert svc["spec"]["type"] == "NodePort"
    assert any(p["name"] == "http2" and p["port"] == 80 for p in svc["spec"]["ports"])
