"""Canary upgrade against the sandbox with the official Istio 1.30.3 charts and the Bookinfo sample.

One flow, as an operator runs it: the demo profile's istiod (revision default, proxies 1.30.3), Bookinfo and
a second meshed namespace on it; ``istio-tui upgrade --yes --revision canary --namespaces bookinfo`` (proxies
1.30.4) moves Bookinfo; removing the default revision is refused while the other namespace still runs its
sidecars; ``--promote canary`` points the default tag at canary, so the other namespace (still labelled
``istio-injection=enabled``) gets canary on restart; then the removal succeeds and istiod-canary runs on.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import wait_for
from tests.sandbox.test_official_charts import CHARTS, HELM, NS, SAMPLES, Tools, start

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not CHARTS.is_dir(), reason="no official charts")]

OTHER_APP = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: echo, labels: {app: echo}}
spec:
  replicas: 2
  selector: {matchLabels: {app: echo}}
  template:
    metadata: {labels: {app: echo}}
    spec:
      containers: [{name: echo, image: docker.io/istio/examples-bookinfo-details-v1:1.20.3}]
"""


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tools]:
    sb = start(1)
    try:
        tools = Tools(sb, tmp_path_factory.mktemp("canary"))
        tools.helm_install("istio-base", "base")
        tools.helm_install("istiod", "istiod", "--set", "profile=demo", "--set", "global.tag=1.30.3")
        tools.helm_install("istio-ingressgateway", "gateway", "--set", "service.type=NodePort")
        for ns in ("bookinfo", "other"):
            tools.kubectl("create", "namespace", ns)
            tools.kubectl("label", "namespace", ns, "istio-injection=enabled")
        tools.kubectl("apply", "-n", "bookinfo", "-f", str(SAMPLES / "bookinfo/platform/kube/bookinfo.yaml"))
        other = tools.kubeconfig.parent / "other.yaml"
        other.write_text(OTHER_APP)
        tools.kubectl("apply", "-n", "other", "-f", str(other))
        for ns in ("bookinfo", "other"):
            tools.kubectl("wait", "-n", ns, "--for=condition=Ready", "pod", "--all", "--timeout=60s")
        yield tools
    finally:
        sb.stop()


def upgrade(tools: Tools, *flags: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "tui", "--kubeconfig", str(tools.kubeconfig), "upgrade", *flags]
    return subprocess.run(cmd, capture_output=True, text=True, env=tools.env, timeout=240)


def sidecars(tools: Tools, ns: str, app: str = "") -> dict[str, tuple[str, str]]:
    """Live pod -> (revision from sidecar.istio.io/status, proxy image tag)."""
    selector = ["-l", f"app={app}"] if app else []
    pods = json.loads(tools.kubectl("get", "pods", "-n", ns, *selector, "-o", "json"))["items"]
    out: dict[str, tuple[str, str]] = {}
    for pod in pods:
        if pod["metadata"].get("deletionTimestamp"):
            continue
        status = json.loads(pod["metadata"]["annotations"]["sidecar.istio.io/status"])
        every = pod["spec"]["containers"] + pod["spec"].get("initContainers", [])
        proxy = next(c for c in every if c["name"] == "istio-proxy")
        out[pod["metadata"]["name"]] = (status["revision"], proxy["image"].rsplit(":", 1)[1])
    return out


def istiod_ready(tools: Tools, name: str) -> Any:
    deps = json.loads(tools.kubectl("get", "deployments", "-n", NS, "-o", "json"))["items"]
    dep = next((d for d in deps if d["metadata"]["name"] == name), None)
    return dep and dep.get("status", {}).get("readyReplicas", 0) >= 1


def test_canary_moves_bookinfo_refuses_removal_then_promote_and_remove(mesh: Tools, tmp_path: Path) -> None:
    assert set(sidecars(mesh, "bookinfo").values()) == {("default", "1.30.3")}

    done = upgrade(
        mesh,
        "--yes",
        "--revision",
        "canary",
        "--istio-version",
        "1.30.4",
        "--chart-source",
        str(CHARTS),
        "--namespaces",
        "bookinfo",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "bookinfo: 6/6 pods on canary" in done.stdout, done.stdout
    on_bookinfo = sidecars(mesh, "bookinfo")
    assert len(on_bookinfo) == 6 and set(on_bookinfo.values()) == {("canary", "1.30.4")}
    assert set(sidecars(mesh, "other").values()) == {("default", "1.30.3")}
    labels = json.loads(mesh.kubectl("get", "namespace", "bookinfo", "-o", "json"))["metadata"]["labels"]
    assert labels.get("istio.io/rev") == "canary" and "istio-injection" not in labels

    refused = upgrade(mesh, "--yes", "--remove-revision", "default")
    assert refused.returncode == 1
    assert "other/echo-" in refused.stderr and "namespaces istio-system, other" in refused.stderr
    assert "istio-system/istio-ingressgateway-" in refused.stderr, refused.stderr
    assert "istiod" in mesh.run([HELM, "list", "-n", NS, "-q"]).split()

    promoted = upgrade(mesh, "--yes", "--promote", "canary")
    assert promoted.returncode == 0, promoted.stdout + promoted.stderr
    tag = json.loads(
        mesh.kubectl("get", "mutatingwebhookconfiguration", "istio-revision-tag-default", "-o", "json")
    )
    assert tag["metadata"]["labels"]["istio.io/rev"] == "canary"
    mesh.kubectl("rollout", "restart", "deployment/echo", "-n", "other")
    mesh.kubectl("rollout", "restart", "deployment/istio-ingressgateway", "-n", NS)
    wait_for(
        lambda: (
            set(sidecars(mesh, "other").values()) == {("canary", "1.30.4")}
            and len(sidecars(mesh, "other")) == 2
        ),
        timeout=60,
        what="the other namespace's pods on canary after the promote",
    )
    wait_for(
        lambda: set(sidecars(mesh, NS, app="istio-ingressgateway").values()) == {("canary", "1.30.4")},
        timeout=60,
        what="the gateway on canary after the promote",
    )

    removed = upgrade(mesh, "--yes", "--remove-revision", "default")
    assert removed.returncode == 0, removed.stdout + removed.stderr
    releases = mesh.run([HELM, "list", "-n", NS, "-q"]).split()
    assert "istiod" not in releases and "istiod-canary" in releases
    assert istiod_ready(mesh, "istiod-canary") and not istiod_ready(mesh, "istiod")


def test_plan_only_writes_the_steps_as_a_script(tmp_path: Path) -> None:
    out = tmp_path / "plan"
    cmd = [sys.executable, "-m", "tui", "upgrade", "--plan-only", "--out", str(out), "--revision", "canary"]
    cmd += ["--chart-source", str(CHARTS), "--namespaces", "bookinfo", "--promote", "canary"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    script = (out / "upgrade.sh").read_text()
    assert "helm upgrade --install istiod-canary" in script
    assert "kubectl label namespace bookinfo istio.io/rev=canary istio-injection- --overwrite" in script
    assert "kubectl apply -f istio-revision-tag-default.yaml" in script
    assert "revision: canary" in (out / "values-istiod-canary.yaml").read_text()
