"""The stock helm 3.17 against the sandbox: template | kubectl apply, upgrade --install --wait, uninstall.

helm exercises the least forgiving parts of the sandbox: protobuf release Secrets that must round-trip byte
for byte, strategic merge patches on upgrade, AlreadyExists on ``--create-namespace`` and the ReplicaSet
readiness rules of ``--wait``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.conftest import KUBECTL
from tests.helpers import wait_for

CHART = Path(__file__).parent / "charts" / "tiny"
HELM = shutil.which("helm") or str(Path(__file__).parents[2] / ".venv" / "bin" / "helm")

pytestmark = pytest.mark.skipif(
    not (Path(HELM).exists() and Path(KUBECTL).exists()), reason="helm or kubectl is not installed"
)

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def env(kubeconfig: Path, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "KUBECONFIG": str(kubeconfig),
        "HOME": str(tmp_path),
        "HELM_CACHE_HOME": str(tmp_path / "helm-cache"),
        "HELM_CONFIG_HOME": str(tmp_path / "helm-config"),
        "HELM_DATA_HOME": str(tmp_path / "helm-data"),
    }


@pytest.fixture
def helm(env: dict[str, str]) -> Run:
    def run(*args: str, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [HELM, *args], capture_output=True, text=True, env=env, timeout=120, input=input
        )
        if check and proc.returncode != 0:
            pytest.fail(f"helm {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
        return proc

    return run


@pytest.fixture
def kubectl(env: dict[str, str], kubeconfig: Path, tmp_path: Path) -> Run:
    def run(*args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        cmd = [KUBECTL, "--kubeconfig", str(kubeconfig), "--cache-dir", str(tmp_path / "kube-cache"), *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60, input=input)
        if proc.returncode != 0:
            pytest.fail(f"kubectl {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
        return proc

    return run


def release_secrets(api: httpx.Client, ns: str, release: str) -> dict[str, str]:
    """Release secret name -> its ``status`` label, as helm's storage driver reads them."""
    r = api.get(f"/api/v1/namespaces/{ns}/secrets", params={"labelSelector": f"name={release},owner=helm"})
    assert r.status_code == 200, r.text
    return {s["metadata"]["name"]: s["metadata"]["labels"]["status"] for s in r.json()["items"]}


def test_helm_template_piped_to_kubectl_apply(helm: Run, kubectl: Run, api: httpx.Client) -> None:
    manifest = helm("template", "tpl", str(CHART), "--set", "replicas=2").stdout
    out = kubectl("apply", "-f", "-", input=manifest).stdout
    assert "configmap/tpl-config created" in out and "deployment.apps/tpl created" in out
    kubectl("rollout", "status", "deployment/tpl", "--timeout=20s")
    dep = api.get("/apis/apps/v1/namespaces/default/deployments/tpl").json()
    assert dep["status"]["readyReplicas"] == 2
    assert api.get("/api/v1/namespaces/default/services/tpl").json()["spec"]["clusterIP"].startswith("10.96.")
    again = kubectl("apply", "-f", "-", input=manifest).stdout
    assert "deployment.apps/tpl unchanged" in again


def test_helm_upgrade_install_wait_upgrade_and_uninstall(helm: Run, api: httpx.Client) -> None:
    args = (
        "upgrade",
        "--install",
        "web",
        str(CHART),
        "-n",
        "hns",
        "--create-namespace",
        "--wait",
        "--timeout",
        "60s",
    )
    first = helm(*args)
    assert "STATUS: deployed" in first.stdout and "REVISION: 1" in first.stdout
    assert api.get("/api/v1/namespaces/hns").json()["status"]["phase"] == "Active"
    dep = api.get("/apis/apps/v1/namespaces/hns/deployments/web").json()
    assert dep["metadata"]["annotations"]["meta.helm.sh/release-name"] == "web"
    assert dep["status"]["readyReplicas"] == 1
    assert release_secrets(api, "hns", "web") == {"sh.helm.release.v1.web.v1": "deployed"}

    second = helm(*args, "--set", "replicas=2", "--set", "image=nginx:1.28", "--set", "greeting=hi")
    assert "REVISION: 2" in second.stdout
    dep = api.get("/apis/apps/v1/namespaces/hns/deployments/web").json()
    assert dep["spec"]["replicas"] == 2 and dep["status"]["readyReplicas"] == 2
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.28"
    assert api.get("/api/v1/namespaces/hns/configmaps/web-config").json()["data"] == {"greeting": "hi"}
    pods = api.get("/api/v1/namespaces/hns/pods", params={"labelSelector": "app=web"}).json()["items"]
    assert len(pods) == 2 and {p["spec"]["containers"][0]["image"] for p in pods} == {"nginx:1.28"}
    assert release_secrets(api, "hns", "web") == {
        "sh.helm.release.v1.web.v1": "superseded",
        "sh.helm.release.v1.web.v2": "deployed",
    }
    listed = helm("list", "-n", "hns", "-o", "json").stdout
    assert '"revision":"2"' in listed and '"status":"deployed"' in listed
    assert 'greeting: "hi"' in helm("get", "manifest", "web", "-n", "hns").stdout

    out = helm("uninstall", "web", "-n", "hns").stdout
    assert 'release "web" uninstalled' in out
    assert release_secrets(api, "hns", "web") == {}
    for path in (
        "apis/apps/v1/namespaces/hns/deployments/web",
        "api/v1/namespaces/hns/services/web",
        "api/v1/namespaces/hns/configmaps/web-config",
    ):
        assert api.get(f"/{path}").status_code == 404, path
    wait_for(
        lambda: not api.get("/api/v1/namespaces/hns/pods").json()["items"], what="the release's pods to go"
    )
    missing = helm("uninstall", "web", "-n", "hns", check=False)
    assert missing.returncode != 0 and "not found" in missing.stderr


def test_helm_install_create_namespace_into_existing_namespace(helm: Run, api: httpx.Client) -> None:
    assert api.post("/api/v1/namespaces", json={"metadata": {"name": "there"}}).status_code == 201
    out = helm("install", "r", str(CHART), "-n", "there", "--create-namespace", "--wait", "--timeout", "60s")
    assert "STATUS: deployed" in out.stdout
    assert release_secrets(api, "there", "r") == {"sh.helm.release.v1.r.v1": "deployed"}
    status = helm("status", "r", "-n", "there").stdout
    assert "STATUS: deployed" in status
