"""istio-cni enrolment in the sandbox, by kubectl: the label captures running pods; ztunnel gates it."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import Kubectl
from tests.helpers import wait_for

REDIRECTION = "ambient.istio.io/redirection"

ZTUNNEL = """apiVersion: apps/v1
kind: DaemonSet
metadata: {name: ztunnel, namespace: istio-system}
spec:
  selector: {matchLabels: {app: ztunnel}}
  template:
    metadata: {labels: {app: ztunnel}}
    spec: {containers: [{name: istio-proxy, image: docker.io/istio/ztunnel:1.30.3}]}
"""


def pods(kubectl: Kubectl) -> dict[str, dict[str, Any]]:
    out = kubectl("get", "pods", "-n", "apps", "-o", "json").stdout
    return {p["metadata"]["name"]: p for p in json.loads(out)["items"]}


def captured(kubectl: Kubectl) -> set[str]:
    return {n for n, p in pods(kubectl).items() if (p["metadata"].get("annotations") or {}).get(REDIRECTION)}


def test_label_captures_running_pods_only_while_ztunnel_runs(kubectl: Kubectl) -> None:
    kubectl("create", "namespace", "apps")
    kubectl("create", "namespace", "istio-system")
    kubectl("run", "web", "-n", "apps", "--image=nginx")
    kubectl("run", "batch", "-n", "apps", "--image=nginx", "--labels=istio.io/dataplane-mode=none")
    kubectl("wait", "-n", "apps", "--for=condition=Ready", "pod", "--all", "--timeout=10s")
    kubectl("label", "namespace", "apps", "istio.io/dataplane-mode=ambient")
    assert captured(kubectl) == set(), "no ztunnel, no capture"
    kubectl("apply", "-f", "-", input=ZTUNNEL)
    wait_for(lambda: captured(kubectl) == {"web"}, what="web captured, batch opted out")
    uid = pods(kubectl)["web"]["metadata"]["uid"]
    kubectl("label", "namespace", "apps", "istio.io/dataplane-mode-")
    wait_for(lambda: captured(kubectl) == set(), what="the label's removal to release web")
    kubectl("label", "namespace", "apps", "istio.io/dataplane-mode=ambient")
    wait_for(lambda: captured(kubectl) == {"web"}, what="web captured again")
    kubectl("delete", "daemonset", "-n", "istio-system", "ztunnel")
    wait_for(lambda: captured(kubectl) == set(), what="ztunnel's removal to release web")
    assert pods(kubectl)["web"]["metadata"]["uid"] == uid, "capture never restarts a pod"
