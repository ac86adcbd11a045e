"""Preflight lines against the sandbox (RBAC denials, unreachable cluster) and the stall reasons of pods."""

from __future__ import annotations

from typing import Any

from tests.helpers import PREFLIGHT_KEYS
from tui import kube
from tui.istio import gatewayapi
from tui.istio.preflight import K8S_SUPPORT, check_context, run_preflight, supported_range
from tui.istio.verify import install_progress, pod_stall_reason
from tui.kube import Cluster
from tui.sandbox.cluster import Sandbox


def _line(lines: list[Any], key: str) -> Any:
    return next(line for line in lines if line.key == key)


def test_denied_permissions_fail_and_unlistable_secrets_warn(sandbox: Sandbox, cluster: Cluster) -> None:
    sandbox.forbid(resource="mutatingwebhookconfigurations", verbs=["create"])
    sandbox.forbid(resource="secrets")
    lines = run_preflight(cluster)
    perms = _line(lines, "permissions")
    assert perms.status == "fail" and perms.reason == "not allowed to create mutatingwebhookconfigurations"
    assert "cluster-admin" in perms.fix
    existing = _line(lines, "existing-istio")
    assert existing.status == "warn" and existing.reason.startswith("cannot look for an existing Istio")


def test_pending_load_balancer_recommends_nodeport(cluster: Cluster) -> None:
    cluster.create(
        kube.SERVICES,
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"type": "LoadBalancer", "selector": {"app": "web"}, "ports": [{"port": 80}]},
        },
        namespace="default",
    )
    lb = _line(run_preflight(cluster), "load-balancer")
    assert lb.status == "warn" and "(1 pending, e.g. default/web)" in lb.reason
    assert lb.fix.startswith("choose ingress type NodePort")
    assert _line(run_preflight(cluster, ingress_type="NodePort"), "load-balancer").status == "pass"
    notes = install_progress(cluster, namespace="default").notes
    assert notes == ("Service web: LoadBalancer pending, no external address yet",)


def test_unreachable_cluster_fails_context_and_skips_the_rest(sandbox: Sandbox, cluster: Cluster) -> None:
    sandbox.stop()
    lines = run_preflight(cluster)
    assert [line.key for line in lines] == PREFLIGHT_KEYS
    assert lines[0].status == "fail" and "did not answer" in lines[0].reason
    assert all(line.status == "warn" and line.reason.startswith("skipped") for line in lines[1:6])


def test_version_table_and_unknown_releases(cluster: Cluster) -> None:
    assert supported_range("1.30.4") == K8S_SUPPORT[30] == (32, 36)
    assert check_context(cluster, istio_version="1.29.0").status == "pass"
    unknown = check_context(cluster, istio_version="1.31.0")
    assert unknown.status == "warn" and "no supported-version data for Istio 1.31.0" in unknown.reason


def test_stall_reasons_from_pod_and_event_status() -> None:
    pulling = {
        "status": {
            "phase": "Pending",
            "containerStatuses": [
                {
                    "name": "discovery",
                    "image": "docker.io/istio/pilot:9.9.9",
                    "ready": False,
                    "state": {
                        "waiting": {"reason": "ImagePullBackOff", "message": 'Back-off pulling image "x"'}
                    },
                }
            ],
        }
    }
    assert pod_stall_reason(pulling, []) == 'ImagePullBackOff: discovery (Back-off pulling image "x")'
    unschedulable = {
        "status": {
            "phase": "Pending",
            "conditions": [
                {
                    "type": "PodScheduled",
                    "status": "False",
                    "reason": "Unschedulable",
                    "message": "0/3 nodes are available: 3 Insufficient memory.",
                }
            ],
        }
    }
    assert (
        pod_stall_reason(unschedulable, [])
        == "Pending: Unschedulable: 0/3 nodes are available: 3 Insufficient memory."
    )
    warning = {"type": "Warning", "reason": "FailedMount", "message": 'configmap "istio" not found'}
    assert (
        pod_stall_reason({"status": {"phase": "Pending"}}, [warning])
        == 'FailedMount: configmap "istio" not found'
    )
    assert pod_stall_reason({"status": {"phase": "Running"}}, [warning]) == ""


def test_gateway_api_check_offers_the_pinned_install_then_passes(cluster: Cluster) -> None:
    missing = _line(run_preflight(cluster), "gateway-api")
    assert missing.status == "warn" and "not installed" in missing.reason
    assert "v1.6.1 standard channel" in missing.fix
    gatewayapi.install_crds(cluster, sandbox=True)
    found = _line(run_preflight(cluster), "gateway-api")
    assert (found.status, found.reason) == ("pass", "Gateway API CRDs v1.6.1 standard")
