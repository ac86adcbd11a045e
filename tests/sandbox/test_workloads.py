"""StatefulSets, DaemonSets, CronJobs, HPAs, PDBs, volumes and EndpointSlices as clients wait on them.

Each test drives the sandbox over HTTPS and checks with the stock kubectl what ``rollout status`` and
``wait`` read, on a three-node sandbox where placement matters.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import KUBECTL, Kubectl
from tests.helpers import deployment_manifest, sandbox_client, wait_for
from tui.sandbox.cluster import Sandbox
from tui.sandbox.controllers.cronjob import CronError, next_tick, parse_schedule

APPS = "/apis/apps/v1/namespaces/default"
NODE_IPS = {"sandbox": "127.0.0.1", "sandbox-m02": "127.0.0.2", "sandbox-m03": "127.0.0.3"}


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """Three nodes, so DaemonSets and spreading have something to show."""
    sb = Sandbox(port=0, seed=0, pod_start_seconds=0.1, nodes=3)
    sb.start()
    try:
        yield sb
    finally:
        sb.stop()


@pytest.fixture
def api(sandbox: Sandbox) -> Iterator[httpx.Client]:
    with sandbox_client(sandbox) as c:
        yield c


@pytest.fixture
def kubectl(kubeconfig: Path, tmp_path: Path) -> Kubectl:
    env = {**os.environ, "HOME": str(tmp_path)}

    def run(*args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [KUBECTL, "--kubeconfig", str(kubeconfig), "--cache-dir", str(tmp_path / "kc"), *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60, input=input)
        if check and proc.returncode != 0:
            pytest.fail(f"kubectl {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
        return proc

    return run


def template(app: str, image: str = "nginx:1.27") -> dict[str, Any]:
    return {
        "metadata": {"labels": {"app": app}},
        "spec": {"containers": [{"name": app, "image": image, "ports": [{"containerPort": 80}]}]},
    }


def pods(api: httpx.Client, selector: str) -> list[dict[str, Any]]:
    r = api.get("/api/v1/namespaces/default/pods", params={"labelSelector": selector})
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def running(api: httpx.Client, selector: str, count: int) -> list[dict[str, Any]] | None:
    found = [p for p in pods(api, selector) if p["status"].get("phase") == "Running"]
    return found if len(found) == count else None


def test_nodes_have_names_internal_ips_and_ready_condition(api: httpx.Client) -> None:
    nodes = api.get("/api/v1/nodes").json()["items"]
    seen = {
        n["metadata"]["name"]: next(
            a["address"] for a in n["status"]["addresses"] if a["type"] == "InternalIP"
        )
        for n in nodes
    }
    assert seen == NODE_IPS
    for n in nodes:
        ready = next(c for c in n["status"]["conditions"] if c["type"] == "Ready")
        assert ready["status"] == "True" and n["status"]["capacity"]["pods"] == "110"


def test_statefulset_ordinal_pods_bound_claims_and_ordered_rollout(
    api: httpx.Client, kubectl: Kubectl
) -> None:
    sts = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "db"},
        "spec": {
            "replicas": 3,
            "serviceName": "db",
            "selector": {"matchLabels": {"app": "db"}},
            "template": template("db"),
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "data"},
                    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
                }
            ],
        },
    }
    assert api.post(f"{APPS}/statefulsets", json=sts).status_code == 201
    created_order: list[str] = []

    def all_up() -> list[dict[str, Any]] | None:
        for p in pods(api, "app=db"):
            if p["metadata"]["name"] not in created_order:
                created_order.append(p["metadata"]["name"])
        return running(api, "app=db", 3)

    wait_for(all_up, what="three db pods")
    assert created_order == ["db-0", "db-1", "db-2"]
    kubectl("rollout", "status", "statefulset/db", "--timeout=20s")

    claims = api.get("/api/v1/namespaces/default/persistentvolumeclaims").json()["items"]
    assert sorted(c["metadata"]["name"] for c in claims) == ["data-db-0", "data-db-1", "data-db-2"]
    for c in claims:
        assert c["status"]["phase"] == "Bound" and c["spec"]["storageClassName"] == "standard"
        pv = api.get(f"/api/v1/persistentvolumes/{c['spec']['volumeName']}").json()
        assert pv["spec"]["claimRef"]["name"] == c["metadata"]["name"] and pv["status"]["phase"] == "Bound"
    sc = api.get("/apis/storage.k8s.io/v1/storageclasses/standard").json()
    assert sc["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
    pod0 = api.get("/api/v1/namespaces/default/pods/db-0").json()
    assert {"name": "data", "persistentVolumeClaim": {"claimName": "data-db-0"}} in pod0["spec"]["volumes"]

    st = api.get(f"{APPS}/statefulsets/db").json()["status"]
    first_revision = st["updateRevision"]
    assert (
        st["readyReplicas"] == st["currentReplicas"] == st["updatedReplicas"] == st["availableReplicas"] == 3
    )
    assert st["currentRevision"] == st["updateRevision"] and st["observedGeneration"] == 1

    patch = {"spec": {"template": {"spec": {"containers": [{"name": "db", "image": "nginx:1.28"}]}}}}
    r = api.patch(
        f"{APPS}/statefulsets/db",
        json=patch,
        headers={"Content-Type": "application/strategic-merge-patch+json"},
    )
    assert r.status_code == 200, r.text
    out = kubectl("rollout", "status", "statefulset/db", "--timeout=30s").stdout
    assert "rolling update complete 3 pods at revision" in out
    st = api.get(f"{APPS}/statefulsets/db").json()["status"]
    assert st["currentRevision"] == st["updateRevision"] != first_revision
    images = {p["spec"]["containers"][0]["image"] for p in pods(api, "app=db")}
    assert images == {"nginx:1.28"}
    revisions = api.get(f"{APPS}/controllerrevisions").json()["items"]
    assert len(revisions) == 2

    kubectl("scale", "statefulset/db", "--replicas=1")
    kubectl("rollout", "status", "statefulset/db", "--timeout=20s")
    wait_for(
        lambda: [p["metadata"]["name"] for p in pods(api, "app=db")] == ["db-0"], what="scale down to db-0"
    )
    claims = api.get("/api/v1/namespaces/default/persistentvolumeclaims").json()["items"]
    assert len(claims) == 3  # whenScaled: Retain keeps the claims of removed ordinals


def test_daemonset_one_pod_per_node_and_rollout(api: httpx.Client, kubectl: Kubectl) -> None:
    ds = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "agent"},
        "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": template("agent")},
    }
    assert api.post(f"{APPS}/daemonsets", json=ds).status_code == 201
    kubectl("rollout", "status", "daemonset/agent", "--timeout=20s")
    placed = wait_for(lambda: running(api, "app=agent", 3), what="an agent on every node")
    assert {p["spec"]["nodeName"]: p["status"]["hostIP"] for p in placed} == NODE_IPS
    st = api.get(f"{APPS}/daemonsets/agent").json()["status"]
    for field in (
        "desiredNumberScheduled",
        "currentNumberScheduled",
        "numberReady",
        "updatedNumberScheduled",
    ):
        assert st[field] == 3, field
    assert st["numberAvailable"] == 3 and st["observedGeneration"] == 1

    kubectl("set", "image", "daemonset/agent", "agent=nginx:1.28")
    kubectl("rollout", "status", "daemonset/agent", "--timeout=30s")
    after = wait_for(lambda: running(api, "app=agent", 3), what="three updated agents")
    assert {p["spec"]["containers"][0]["image"] for p in after} == {"nginx:1.28"}
    assert sorted(p["spec"]["nodeName"] for p in after) == sorted(NODE_IPS)
    kubectl("wait", "--for=condition=Ready", "pod", "--all", "--timeout=20s")

    kubectl("cordon", "sandbox-m03")  # DaemonSet pods stay on a cordoned node; new Deployment pods avoid it
    assert api.post(f"{APPS}/deployments", json=deployment_manifest("web", 4)).status_code == 201
    web = wait_for(lambda: running(api, "app=web", 4), what="four web pods")
    assert {p["spec"]["nodeName"] for p in web} == {"sandbox", "sandbox-m02"}
    assert len(wait_for(lambda: running(api, "app=agent", 3), what="agents after the cordon")) == 3


def test_deployment_pods_spread_over_nodes_with_their_host_ip(api: httpx.Client) -> None:
    assert api.post(f"{APPS}/deployments", json=deployment_manifest("web", 3)).status_code == 201
    placed = wait_for(lambda: running(api, "app=web", 3), what="three web pods")
    assert {p["spec"]["nodeName"]: p["status"]["hostIP"] for p in placed} == NODE_IPS


def test_hpa_scales_target_to_min_replicas_and_reports_status(api: httpx.Client, kubectl: Kubectl) -> None:
    dep = deployment_manifest("gw", 1)
    del dep["spec"]["replicas"]  # left to the HPA, as the gateway chart does
    assert api.post(f"{APPS}/deployments", json=dep).status_code == 201
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "gw"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "gw"},
            "minReplicas": 3,
            "maxReplicas": 5,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}},
                }
            ],
        },
    }
    assert (
        api.post("/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers", json=hpa).status_code
        == 201
    )
    kubectl("rollout", "status", "deployment/gw", "--timeout=20s")
    assert api.get(f"{APPS}/deployments/gw").json()["spec"]["replicas"] == 3

    def settled() -> dict[str, Any] | None:
        st = api.get("/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers/gw").json()["status"]
        return st if st.get("currentReplicas") == 3 else None

    st = wait_for(settled, what="the HPA to see three replicas")
    assert st["desiredReplicas"] == 3
    conditions = {c["type"]: c for c in st["conditions"]}
    assert conditions["AbleToScale"]["status"] == "True"
    assert conditions["ScalingActive"]["status"] == "False"


def test_pdb_status_counts_healthy_pods(api: httpx.Client) -> None:
    assert api.post(f"{APPS}/deployments", json=deployment_manifest("api", 3)).status_code == 201
    pdb = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "api"},
        "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "api"}}},
    }
    assert api.post("/apis/policy/v1/namespaces/default/poddisruptionbudgets", json=pdb).status_code == 201

    def healthy() -> dict[str, Any] | None:
        st = api.get("/apis/policy/v1/namespaces/default/poddisruptionbudgets/api").json().get("status") or {}
        return st if st.get("currentHealthy") == 3 else None

    st = wait_for(healthy, what="the budget to count three healthy pods")
    assert (st["desiredHealthy"], st["expectedPods"], st["disruptionsAllowed"]) == (2, 3, 1)
    assert st["conditions"][0]["type"] == "DisruptionAllowed" and st["conditions"][0]["status"] == "True"


def test_endpointslices_beside_endpoints(api: httpx.Client) -> None:
    assert api.post(f"{APPS}/deployments", json=deployment_manifest("echo", 2)).status_code == 201
    svc = {
        "metadata": {"name": "echo"},
        "spec": {"selector": {"app": "echo"}, "ports": [{"name": "http", "port": 80}]},
    }
    assert api.post("/api/v1/namespaces/default/services", json=svc).status_code == 201
    path = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices"

    def two_ready() -> dict[str, Any] | None:
        items = api.get(path, params={"labelSelector": "kubernetes.io/service-name=echo"}).json()["items"]
        ready = [e for s in items for e in s["endpoints"] if e["conditions"]["ready"]]
        return items[0] if len(ready) == 2 else None

    eps = wait_for(two_ready, what="an EndpointSlice with two ready endpoints")
    assert eps["addressType"] == "IPv4" and eps["ports"] == [{"port": 80, "protocol": "TCP", "name": "http"}]
    ips = {e["addresses"][0] for e in eps["endpoints"]}
    subsets = api.get("/api/v1/namespaces/default/endpoints/echo").json()["subsets"]
    assert ips == {a["ip"] for a in subsets[0]["addresses"]}
    assert api.delete("/api/v1/namespaces/default/services/echo").status_code == 200
    wait_for(lambda: not api.get(path).json()["items"], what="the slice to go with its Service")


def test_cronjob_runs_a_job_when_due_and_create_job_from_cronjob(
    sandbox: Sandbox, api: httpx.Client, kubectl: Kubectl
) -> None:
    cj = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "tick"},
        "spec": {
            "schedule": "*/5 * * * *",
            "jobTemplate": {
                "spec": {
                    "template": {
                        "spec": {"restartPolicy": "Never", "containers": [{"name": "t", "image": "busybox"}]}
                    }
                }
            },
        },
    }
    path = "/apis/batch/v1/namespaces/default/cronjobs"
    assert api.post(path, json=cj).status_code == 201
    kubectl("create", "job", "manual", "--from=cronjob/tick")
    kubectl("wait", "--for=condition=complete", "job/manual", "--timeout=20s")

    assert sandbox.store is not None
    long_ago = (datetime.now(UTC) - timedelta(minutes=11)).strftime("%Y-%m-%dT%H:%M:%SZ")
    sandbox.store.update(
        "cronjobs.batch",
        "tick",
        namespace="default",
        mutate=lambda o: o.update(status={"lastScheduleTime": long_ago}),
    )

    def scheduled() -> list[dict[str, Any]] | None:
        jobs = api.get("/apis/batch/v1/namespaces/default/jobs").json()["items"]
        owned = [j for j in jobs if j["metadata"]["name"] != "manual"]
        return owned or None

    jobs = wait_for(scheduled, what="the CronJob to start a Job")
    assert len(jobs) == 1 and jobs[0]["metadata"]["name"].startswith("tick-")
    (job,) = jobs
    assert job["metadata"]["ownerReferences"][0]["kind"] == "CronJob"
    kubectl("wait", "--for=condition=complete", f"job/{job['metadata']['name']}", "--timeout=20s")

    def succeeded() -> dict[str, Any] | None:
        status: dict[str, Any] = api.get(f"{path}/tick").json()["status"]
        return status if status.get("lastSuccessfulTime") else None

    st = wait_for(succeeded, what="lastSuccessfulTime")
    assert st["lastScheduleTime"] > long_ago and "active" not in st
    listed = kubectl("get", "hpa,pdb,sts,ds,cj,endpointslices", "-A").stdout
    assert "cronjob.batch/tick" in listed


def test_cron_schedule_parser() -> None:
    start = datetime(2026, 1, 1, 10, 7, tzinfo=UTC)
    assert next_tick(parse_schedule("*/15 * * * *"), start) == start.replace(minute=15)
    assert next_tick(parse_schedule("@hourly"), start) == start.replace(hour=11, minute=0)
    assert next_tick(parse_schedule("30 2 * * 1-5"), start) == datetime(2026, 1, 2, 2, 30, tzinfo=UTC)
    assert next_tick(parse_schedule("0 0 1 1 *"), start) == datetime(2027, 1, 1, tzinfo=UTC)
    for bad in ("* * *", "61 * * * *", "a b c d e"):
        with pytest.raises(CronError):
            parse_schedule(bad)


def test_sandbox_serve_nodes_flag_makes_named_nodes(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tui",
            "sandbox",
            "serve",
            "--nodes",
            "2",
            "--kubeconfig",
            str(tmp_path / "kc"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    try:
        assert proc.stdout is not None
        wait_for(lambda: (tmp_path / "kc").exists(), what="the kubeconfig", timeout=20)
        out = subprocess.run(
            [
                KUBECTL,
                "--kubeconfig",
                str(tmp_path / "kc"),
                "--cache-dir",
                str(tmp_path / "c"),
                "get",
                "nodes",
                "-o",
                "wide",
            ],
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout
        assert "sandbox-m02" in out and "127.0.0.2" in out
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_helm_wait_and_wait_for_jobs_on_every_workload_kind(
    kubeconfig: Path, tmp_path: Path, api: httpx.Client
) -> None:
    helm = shutil.which("helm")
    if helm is None:
        pytest.skip("helm is not installed")
    chart = Path(__file__).parent / "charts" / "workloads"
    env = {**os.environ, "HOME": str(tmp_path), "KUBECONFIG": str(kubeconfig)}

    def install(*extra: str) -> str:
        cmd = [helm, "upgrade", "--install", "w", str(chart), "-n", "apps", "--create-namespace"]
        proc = subprocess.run(
            [*cmd, "--wait", "--wait-for-jobs", "--timeout", "60s", *extra],
            capture_output=True,
            text=True,
            env=env,
            timeout=90,
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    assert "STATUS: deployed" in install()
    ns = "/apis/apps/v1/namespaces/apps"
    sts = api.get(f"{ns}/statefulsets/w-db").json()["status"]
    assert sts["readyReplicas"] == 2 and sts["currentRevision"] == sts["updateRevision"]
    assert api.get(f"{ns}/daemonsets/w-agent").json()["status"]["numberReady"] == 3
    claims = api.get("/api/v1/namespaces/apps/persistentvolumeclaims").json()["items"]
    assert {c["metadata"]["name"]: c["status"]["phase"] for c in claims} == {
        "w-cache": "Bound",
        "data-w-db-0": "Bound",
        "data-w-db-1": "Bound",
    }
    job = api.get("/apis/batch/v1/namespaces/apps/jobs/w-migrate-1").json()["status"]
    assert job["succeeded"] == 1
    assert api.get(f"{ns}/deployments/w-web").json()["spec"]["replicas"] == 2  # the HPA's minReplicas
    lease = api.get("/apis/coordination.k8s.io/v1/namespaces/apps/leases/w-leader").json()
    assert lease["spec"]["holderIdentity"] == "w-web"

    assert "REVISION: 2" in install("--set", "image=nginx:1.28", "--set", "replicas=3")
    pods = api.get("/api/v1/namespaces/apps/pods", params={"labelSelector": "app=w-db"}).json()["items"]
    assert sorted(p["metadata"]["name"] for p in pods) == ["w-db-0", "w-db-1", "w-db-2"]
    assert {p["spec"]["containers"][0]["image"] for p in pods} == {"nginx:1.28"}
    agents = api.get("/api/v1/namespaces/apps/pods", params={"labelSelector": "app=w-agent"}).json()["items"]
    assert {p["spec"]["containers"][0]["image"] for p in agents} == {"nginx:1.28"} and len(agents) == 3
