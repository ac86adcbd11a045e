"""The install plan: field validation, values files against the official charts' keys, the scripts."""

from __future__ import annotations

import shlex
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from tui.__main__ import main
from tui.errors import ConfigError
from tui.istio.plan import (
    ADDONS,
    DEFAULT_ISTIO_VERSION,
    ISTIO_REPO_URL,
    ChartSource,
    FieldError,
    InstallPlan,
    build_plan,
    plan_from_form,
    validate_field,
)

# ---------------------------------------------------------------------------------------------------------
# Facts about the official Istio charts (istio/istio manifests/charts, 1.2x-1.3x), as key paths only.
# gateway: values.schema.json sets additionalProperties: false at the top level, so only these keys pass.
GATEWAY_TOP_KEYS = {
    "_internal_defaults_do_not_set",
    "global",
    "affinity",
    "securityContext",
    "containerSecurityContext",
    "kind",
    "annotations",
    "autoscaling",
    "env",
    "envVarFrom",
    "strategy",
    "minReadySeconds",
    "readinessProbe",
    "labels",
    "name",
    "nodeSelector",
    "podAnnotations",
    "replicaCount",
    "resources",
    "revision",
    "defaultRevision",
    "compatibilityVersion",
    "profile",
    "platform",
    "pilot",
    "runAsRoot",
    "unprivilegedPort",
    "service",
    "serviceAccount",
    "rbac",
    "tolerations",
    "topologySpreadConstraints",
    "networkGateway",
    "imagePullPolicy",
    "imagePullSecrets",
    "podDisruptionBudget",
    "terminationGracePeriodSeconds",
    "volumes",
    "volumeMounts",
    "initContainers",
    "additionalContainers",
    "priorityClassName",
}
GATEWAY_SERVICE_KEYS = {
    "annotations",
    "externalTrafficPolicy",
    "loadBalancerIP",
    "loadBalancerSourceRanges",
    "ipFamilies",
    "ipFamilyPolicy",
    "ports",
    "type",
}
# service.ports items: name string, port integer, protocol string, targetPort integer (other keys allowed).
GATEWAY_PORT_TYPES = {"name": str, "port": int, "protocol": str, "targetPort": int}
# The chart's own default ports; Helm replaces lists, so ours must carry all three.
GATEWAY_DEFAULT_PORTS = {("status-port", 15021, 15021), ("http2", 80, 80), ("https", 443, 443)}
# istiod: values live at the top level (pilot.* is copied there); these are the paths we rely on.
ISTIOD_KEYS = {"profile", "meshConfig", "pilot", "global", "traceSampling"}
ISTIOD_GLOBAL_KEYS = {"hub", "tag", "istioNamespace"}
ISTIOD_PROFILES = {"demo", "ambient", "preview", "stable", "remote", "openshift", "default"}
BASE_KEYS = {"defaultRevision", "global", "base"}
# meshConfig (istio.mesh.v1alpha1.MeshConfig) fields we set.
MESH_KEYS = {"enableTracing", "defaultProviders", "extensionProviders"}
# ---------------------------------------------------------------------------------------------------------


def _values(plan: InstallPlan, name: str) -> dict[str, Any]:
    text = plan.values_files()[name]
    data = yaml.safe_load(text)
    assert isinstance(data, dict)
    return data


def test_defaults_are_a_current_release_from_the_official_repo() -> None:
    plan = build_plan()
    assert plan.istio_version == DEFAULT_ISTIO_VERSION
    assert plan.profile == "default" and plan.ingress_type == "LoadBalancer"
    assert plan.chart_source.kind == "repo" and plan.chart_source.location == ISTIO_REPO_URL
    assert [r.name for r in plan.releases] == ["istio-base", "istiod", "istio-ingressgateway"]


def test_acceptance_plan_values_match_the_official_charts(tmp_path: Path) -> None:
    plan = build_plan(
        profile="demo",
        ingress_type="NodePort",
        addons="prometheus,grafana,jaeger,kiali",
        tracing=True,
        sampling="10",
        node_port_http2="31380",
    )
    gateway = _values(plan, "values-gateway.yaml")
    assert set(gateway) <= GATEWAY_TOP_KEYS
    assert set(gateway["service"]) <= GATEWAY_SERVICE_KEYS
    assert gateway["service"]["type"] == "NodePort"
    for port in gateway["service"]["ports"]:
        for key, kind in GATEWAY_PORT_TYPES.items():
            assert isinstance(port[key], kind)
    assert {
        (p["name"], p["port"], p["targetPort"]) for p in gateway["service"]["ports"]
    } == GATEWAY_DEFAULT_PORTS
    http2 = next(p for p in gateway["service"]["ports"] if p["name"] == "http2")
    assert http2["nodePort"] == 31380

    istiod = _values(plan, "values-istiod.yaml")
    assert set(istiod) <= ISTIOD_KEYS
    assert istiod["profile"] == "demo" and istiod["profile"] in ISTIOD_PROFILES
    assert set(istiod["global"]) <= ISTIOD_GLOBAL_KEYS and istiod["global"]["tag"] == plan.istio_version
    assert set(istiod["meshConfig"]) <= MESH_KEYS
    assert istiod["meshConfig"]["enableTracing"] is True
    assert istiod["pilot"] == {"traceSampling": 10.0}
    provider = istiod["meshConfig"]["extensionProviders"][0]
    assert provider == {
        "name": "jaeger",
        "opentelemetry": {"service": "jaeger-collector.istio-system.svc.cluster.local", "port": 4317},
    }
    assert istiod["meshConfig"]["defaultProviders"] == {"metrics": ["prometheus"], "tracing": ["jaeger"]}
    assert set(_values(plan, "values-base.yaml")) <= BASE_KEYS

    written = {p.name for p in plan.write(tmp_path)}
    assert written == {
        "values-base.yaml",
        "values-istiod.yaml",
        "values-gateway.yaml",
        "values-prometheus.yaml",
        "values-grafana.yaml",
        "values-jaeger.yaml",
        "values-kiali.yaml",
        "install.sh",
        "uninstall.sh",
    }
    assert (tmp_path / "install.sh").stat().st_mode & 0o111


def test_install_script_names_only_charts_releases_namespaces_and_files() -> None:
    plan = build_plan(profile="demo", ingress_type="NodePort", addons="kiali,prometheus")
    helm_lines = [ln for ln in plan.install_script().splitlines() if ln.startswith("helm upgrade")]
    assert [shlex.split(ln)[3] for ln in helm_lines] == [
        "istio-base",
        "istiod",
        "istio-ingressgateway",
        "prometheus",
        "kiali",
    ]
    first = shlex.split(helm_lines[0])
    assert first == [
        "helm",
        "upgrade",
        "--install",
        "istio-base",
        "istio/base",
        "-n",
        "istio-system",
        "--create-namespace",
        "--version",
        DEFAULT_ISTIO_VERSION,
        "-f",
        "values-base.yaml",
        "--wait",
        "--timeout",
        "5m",
    ]
    for line in helm_lines:
        assert "--set" not in line
    assert "helm repo add istio https://istio-release.storage.googleapis.com/charts" in plan.install_script()
    assert "helm repo add kiali https://kiali.org/helm-charts" in plan.install_script()
    kiali = shlex.split(helm_lines[-1])
    assert kiali[4] == "kiali/kiali-server" and kiali[kiali.index("--version") + 1] == "2.11.0"


def test_uninstall_script_reverses_with_addons_first() -> None:
    plan = build_plan(addons="grafana,jaeger", egress_gateway=True)
    names = [
        shlex.split(ln)[2] for ln in plan.uninstall_script().splitlines() if ln.startswith("helm uninstall")
    ]
    assert names == [
        "jaeger",
        "grafana",
        "istio-egressgateway",
        "istio-ingressgateway",
        "istiod",
        "istio-base",
    ]


def test_egress_gateway_is_a_second_clusterip_gateway_release() -> None:
    plan = build_plan(egress_gateway=True)
    egress = next(r for r in plan.releases if r.name == "istio-egressgateway")
    assert egress.chart_ref == "istio/gateway" and egress.namespace == "istio-system"
    values = _values(plan, "values-egressgateway.yaml")
    assert values["service"]["type"] == "ClusterIP" and set(values) <= GATEWAY_TOP_KEYS


def test_ambient_adds_cni_and_ztunnel_and_minimal_has_no_gateway() -> None:
    ambient = build_plan(profile="ambient")
    assert [r.chart for r in ambient.releases] == ["base", "istiod", "cni", "ztunnel", "gateway"]
    assert _values(ambient, "values-istiod.yaml")["profile"] == "ambient"
    assert _values(ambient, "values-cni.yaml") == {"profile": "ambient"}
    minimal = build_plan(profile="minimal")
    assert [r.chart for r in minimal.releases] == ["base", "istiod"]
    assert "profile" not in _values(minimal, "values-istiod.yaml")


def test_tracing_off_writes_enable_tracing_false_and_no_sampling() -> None:
    istiod = _values(build_plan(), "values-istiod.yaml")
    assert istiod["meshConfig"] == {"enableTracing": False}
    assert "pilot" not in istiod


def test_loadbalancer_gateway_step_does_not_wait_for_an_address() -> None:
    lb = next(r for r in build_plan().releases if r.name == "istio-ingressgateway")
    assert "--wait" not in lb.install_args()
    nodeport = next(
        r for r in build_plan(ingress_type="nodeport").releases if r.name == "istio-ingressgateway"
    )
    assert "--wait" in nodeport.install_args()


@pytest.mark.parametrize(
    ("field", "raw", "message"),
    [
        ("istio_version", "1.x", "Istio version '1.x' is not of the form 1.N.P"),
        ("istio_version", "2.0.0", "is not of the form 1.N.P"),
        ("istio_version", "1.30", "is not of the form 1.N.P"),
        ("istio_version", "1.19.3", "Istio 1.19.3 is too old for these charts: choose 1.22.0 or newer"),
        ("profile", "tiny", "unknown profile 'tiny': choose one of default, demo, minimal, ambient"),
        (
            "ingress_type",
            "Route",
            "unknown ingress type 'Route': choose one of LoadBalancer, NodePort, ClusterIP",
        ),
        ("node_port_http2", "29999", "node port http2 29999 is outside the NodePort range 30000-32767"),
        ("node_port_https", "32768", "node port https 32768 is outside the NodePort range 30000-32767"),
        ("node_port_http2", "http", "node port http2 'http' is not a number"),
        ("sampling", "101", "sampling rate 101 is outside 0-100"),
        ("sampling", "-1", "sampling rate -1 is outside 0-100"),
        ("sampling", "lots", "sampling rate 'lots' is not a number"),
        ("tracing", "maybe", "tracing must be on or off, not 'maybe'"),
        (
            "addons",
            "prometheus,servicegraph",
            "unknown addon 'servicegraph': valid addons are prometheus, grafana, jaeger, kiali",
        ),
        ("chart_source", "/nonexistent/charts", "is neither a URL, 'sandbox', nor an existing directory"),
        ("chart_source", "oci://registry/istio", "OCI registries are not supported"),
    ],
)
def test_every_bad_value_is_rejected_with_its_field_and_reason(field: str, raw: str, message: str) -> None:
    with pytest.raises(FieldError) as caught:
        validate_field(field, raw)
    assert caught.value.field == field
    assert message in str(caught.value)
    with pytest.raises(FieldError):
        build_plan(**{field: raw})


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"node_port_http2": 31000}, "node_port_http2", "fixed nodePorts need ingress type NodePort"),
        (
            {"ingress_type": "NodePort", "node_port_http2": 31000, "node_port_https": 31000},
            "node_port_https",
            "http2 and https cannot share nodePort 31000",
        ),
        (
            {"profile": "minimal", "egress_gateway": True},
            "egress_gateway",
            "profile minimal installs no gateways",
        ),
    ],
)
def test_cross_field_rules(kwargs: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(FieldError) as caught:
        build_plan(**kwargs)
    assert caught.value.field == field and message in str(caught.value)


def test_valid_spellings_are_normalised() -> None:
    assert validate_field("ingress_type", "nodeport") == "NodePort"
    assert validate_field("addons", "Kiali, prometheus,kiali") == ("prometheus", "kiali")
    assert validate_field("addons", ["jaeger"]) == ("jaeger",)
    assert validate_field("sampling", "12.5%") == 12.5
    assert validate_field("node_port_http2", "") is None
    assert validate_field("egress_gateway", "yes") is True
    assert validate_field("istio_version", "v1.29.1") == "1.29.1"
    assert set(ADDONS) == {"prometheus", "grafana", "jaeger", "kiali"}


def test_unknown_form_field_is_an_error() -> None:
    with pytest.raises(ConfigError, match="unknown install field"):
        validate_field("colour", "blue")
    with pytest.raises(ConfigError, match="unknown install field colour: known fields"):
        plan_from_form({"profile": "demo", "colour": "blue"})
    with pytest.raises(ConfigError, match="unknown install fields colour, size: known fields"):
        plan_from_form({"colour": "blue", "size": "L"})
    assert plan_from_form({"profile": "demo"}).profile == "demo"


def test_local_sources_directory_and_tgz(tmp_path: Path) -> None:
    charts = tmp_path / "charts"
    for name in ("base", "istiod", "gateway"):
        (charts / name).mkdir(parents=True)
        (charts / name / "Chart.yaml").write_text(f"name: {name}\n")
    plan = build_plan(chart_source=str(charts))
    assert plan.chart_source.kind == "dir"
    assert [r.chart_ref for r in plan.releases] == [str(charts / c) for c in ("base", "istiod", "gateway")]
    assert all(r.version is None for r in plan.releases)
    assert "helm repo add" not in plan.install_script()
    with pytest.raises(FieldError, match="lacks the chart kiali-server "):
        build_plan(chart_source=str(charts), addons="kiali")

    packed = tmp_path / "packed"
    packed.mkdir()
    for name in ("base-1.29.2.tgz", "istiod-1.29.2.tgz", "gateway-1.29.2.tgz", "gateway-1.28.0.tgz"):
        (packed / name).write_bytes(b"")
    plan = build_plan(chart_source=str(packed), istio_version="1.29.2")
    assert plan.chart_source.kind == "tgz"
    assert Path(plan.releases[2].chart_ref).name == "gateway-1.29.2.tgz"
    files = ",".join(str(packed / n) for n in ("base-1.29.2.tgz", "istiod-1.29.2.tgz"))
    with pytest.raises(FieldError, match="lacks the chart gateway "):
        build_plan(chart_source=files, istio_version="1.29.2")
    assert (
        build_plan(chart_source=files, istio_version="1.29.2", profile="minimal").chart_source.kind == "tgz"
    )


def test_sandbox_source_uses_the_shipped_charts() -> None:
    plan = build_plan(chart_source="sandbox", addons=list(ADDONS))
    assert plan.chart_source.kind == "sandbox"
    for rel in plan.releases:
        assert (Path(rel.chart_ref) / "Chart.yaml").is_file()


def test_negative_zero_sampling_is_zero() -> None:
    plan = build_plan(tracing=True, sampling="-0")
    assert str(plan.sampling) == "0.0" and "tracing 0%" in plan.summary()


def test_the_issue_8_injection_is_refused_by_the_cli(tmp_path: Path) -> None:
    """`--chart-source $'https://x\\ntouch /tmp/PWNED\\n'` used to write a script that ran the touch."""
    marker = tmp_path / "PWNED"
    proc = _cli("--plan-only", "--out", str(tmp_path / "p"), "--chart-source", f"https://x\ntouch {marker}\n")
    assert proc.returncode == 2 and "contains a control character" in proc.stderr
    assert len(proc.stderr.splitlines()) == 1 and not (tmp_path / "p").exists()


def _run_scripts_with_a_stub_helm(out: Path, tmp_path: Path) -> list[list[str]]:
    """Run install.sh and uninstall.sh with helm replaced by a stub; return the argument lists it got."""
    stub_dir = tmp_path / "bin"
    stub_dir.mkdir(exist_ok=True)
    log = out / "helm.log"
    stub = stub_dir / "helm"
    stub.write_text(
        '#!/bin/sh\nfor a in "$@"; do printf "%s\\0" "$a"; done >> "$HELM_LOG"\nprintf "\\n" >> "$HELM_LOG"\n'
    )
    stub.chmod(0o755)
    env = {"PATH": f"{stub_dir}:/usr/bin:/bin", "HELM_LOG": str(log), "HOME": str(tmp_path)}
    for script in ("install.sh", "uninstall.sh"):
        assert subprocess.run(["sh", "-n", str(out / script)], check=False).returncode == 0
        proc = subprocess.run(
            ["sh", str(out / script)], env=env, cwd=tmp_path, capture_output=True, text=True, check=False
        )
        assert proc.returncode == 0, proc.stderr
    return [line.split("\0") for line in log.read_text().split("\0\n") if line]


def test_no_chart_source_can_add_a_command_to_the_scripts(tmp_path: Path) -> None:
    """Values that pass validation may still hold shell syntax: they must stay one helm argument each."""
    payload = "$(touch${IFS}PWNED)`touch${IFS}PWNED`;touch${IFS}PWNED;'\"|&"
    charts = tmp_path / f"charts{payload}"
    for name in ("base", "istiod", "gateway"):
        (charts / name).mkdir(parents=True)
        (charts / name / "Chart.yaml").write_text(f"name: {name}\n")
    url = "https://mirror.example/c$(touch$IFS'PWNED');touch$IFS'PWNED';'&"  # only characters URLs allow
    raw_url = "https://x\ntouch PWNED\n"
    plans = {
        "url": build_plan(chart_source=url),
        "dir": build_plan(chart_source=str(charts)),
        # Past validation (as a future caller might build it): quoting and comments must still hold.
        "raw": replace(build_plan(), chart_source=ChartSource("repo", raw_url)),
    }
    for name, plan in plans.items():
        out = tmp_path / f"plan-{name}"
        plan.write(out)
        calls = _run_scripts_with_a_stub_helm(out, tmp_path)
        assert not list(tmp_path.rglob("PWNED")), name
        assert calls and all(call[0] in ("repo", "upgrade", "uninstall") for call in calls), calls
        comments = [line for line in plan.install_script().splitlines() if line.startswith("#")]
        assert len(comments) == 4, comments  # the shebang and three fixed comment lines
        expected = {"url": url, "raw": raw_url}.get(name)
        if expected:
            assert ["repo", "add", "istio", expected, "--force-update"] in calls
        else:
            assert [c[3] for c in calls if c[0] == "upgrade"][0] == str(charts / "base")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui", "install", *args], capture_output=True, text=True, timeout=60
    )


def _main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """The CLI in-process (fast); returns the exit code and stderr."""
    try:
        code = main(["install", *args])
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, capsys.readouterr().err


def test_cli_plan_only_writes_the_files(tmp_path: Path) -> None:
    out = tmp_path / "plan"
    proc = _cli(
        "--plan-only",
        "--out",
        str(out),
        "--profile",
        "demo",
        "--ingress-type",
        "NodePort",
        "--addons",
        "prometheus,grafana,jaeger,kiali",
        "--tracing",
        "--sampling",
        "100",
    )
    assert proc.returncode == 0, proc.stderr
    assert (out / "values-gateway.yaml").is_file() and (out / "install.sh").is_file()
    assert yaml.safe_load((out / "values-istiod.yaml").read_text())["pilot"]["traceSampling"] == 100.0
    assert proc.stdout.count("wrote ") == 9


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--profile", "huge"], "unknown profile 'huge'"),
        (["--addons", "prometheus,servicegraph"], "unknown addon 'servicegraph'"),
        (["--ingress-type", "NodePort", "--node-port-http2", "80"], "outside the NodePort range"),
        (["--istio-version", "latest"], "is not of the form 1.N.P"),
        (["--sampling", "5"], "--sampling needs --tracing"),
        (["--timeout", "soon"], "argument --timeout: must be a number of seconds, got 'soon'"),
        (["--timeout", "nan"], "argument --timeout: must be a positive number of seconds, got 'nan'"),
        (["--timeout", "-5"], "argument --timeout: must be a positive number of seconds, got '-5'"),
        (["--timeout", "inf"], "must be a positive number of seconds, got 'inf'"),
        (["--chart-source", "https://x\ntouch /tmp/PWNED\n"], "contains a control character"),
        (["--chart-source", "https://x\ntouch"], "contains a control character"),
        (["--chart-source", "https://mirror.example/istio charts"], "contains a space"),
        (["--chart-source", "https://"], "and name a host, got"),
        (["--chart-source", "https://[::1/charts"], "is not a valid URL"),
        (["--chart-source", "ftp://mirror.example/charts"], "must start with https:// or http://"),
        (["--chart-source", "https://user:hunter2secret@mirror.example/c"], "must not carry a user name"),
    ],
)
def test_cli_bad_flag_is_one_line_exit_2_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    out = tmp_path / "plan"
    code, err = _main(capsys, "--plan-only", "--out", str(out), *args)
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_cli_needs_a_mode_and_out(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _main(capsys, "--profile", "demo")
    assert code == 2 and "choose --plan-only" in err
    code, err = _main(capsys, "--plan-only")
    assert code == 2 and "--plan-only needs --out DIR" in err
    code, err = _main(capsys, "--plan-only", "--out")
    assert code == 2 and err.strip().count("\n") == 0 and "expected one argument" in err
    code, err = _main(capsys, "--yes", "--plan-only")
    assert code == 2 and "exclude each other" in err


def test_cli_yes_refuses_the_tui_sandbox_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--sandbox", "install", "--yes", "--profile", "demo"]) == 2
    err = capsys.readouterr().err
    assert "--sandbox only serves the TUI" in err and len(err.strip().splitlines()) == 1


def test_jaeger_addon_turns_tracing_on_unless_turned_off() -> None:
    assert build_plan(addons="prometheus,jaeger").tracing is True
    assert build_plan(addons="jaeger", tracing=False).tracing is False
    assert build_plan(addons="kiali").tracing is False
    assert "tracing 1%" in build_plan(addons="jaeger").summary()


def test_ambient_profile_with_the_ingress_gateway_optional() -> None:
    with_ingress = build_plan(profile="ambient")
    assert [r.name for r in with_ingress.releases] == [
        "istio-base",
        "istiod",
        "istio-cni",
        "ztunnel",
        "istio-ingressgateway",
    ]
    assert with_ingress.istiod_values()["profile"] == "ambient"
    bare = build_plan(profile="ambient", ingress_gateway="no")
    assert [r.name for r in bare.releases] == ["istio-base", "istiod", "istio-cni", "ztunnel"]
    assert not bare.has_ingress and "ingress" not in bare.summary()
