"""The sandbox's simulated controllers, observed over HTTPS and through the stock kubectl.

Each assertion is something a client relies on: helm ``--wait``'s readiness rules, ``kubectl rollout``,
garbage collection on delete, and the pod lifecycle the pod table renders.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import KUBECTL, Kubectl
from tests.helpers import sandbox_client, wait_for
from tui.sandbox.cluster import Sandbox

APPS = "/apis/apps/v1/namespaces"
CORE = "/api/v1/namespaces"


def deployment(name: str, *, replicas: int = 2, image: str = "nginx:1.27") -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name, "version": "v1"}},
                "spec": {"containers": [{"name": name, "image": image, "ports": [{"containerPort": 80}]}]},
            },
        },
    }


def make_ns(api: httpx.Client, name: str, **labels: str) -> None:
    r = api.post("/api/v1/namespaces", json={"metadata": {"name": name, "labels": labels}})
    assert r.status_code == 201, r.text


def items(api: httpx.Client, path: str, **params: str) -> list[dict[str, Any]]:
    r = api.get(path, params=params)
    assert r.status_code == 200, r.text
    result: list[dict[str, Any]] = r.json()["items"]
    return result


def ready_deployment(api: httpx.Client, ns: str, name: str, replicas: int) -> dict[str, Any] | None:
    dep: dict[str, Any] = api.get(f"{APPS}/{ns}/deployments/{name}").json()
    st = dep.get("status") or {}
    done = (
        st.get("observedGeneration") == dep["metadata"]["generation"]
        and st.get("readyReplicas", 0) == replicas
        and st.get("updatedReplicas", 0) == replicas
        and st.get("replicas", 0) == replicas
    )
    return dep if done else None


def test_deployment_makes_replicaset_and_running_pods(api: httpx.Client) -> None:
    make_ns(api, "ctl")
    r = api.post(f"{APPS}/ctl/deployments", json=deployment("web"))
    assert r.status_code == 201, r.text
    dep = wait_for(lambda: ready_deployment(api, "ctl", "web", 2), what="deployment web ready")
    conditions = {c["type"]: c for c in dep["status"]["conditions"]}
    assert conditions["Available"]["status"] == "True"
    assert conditions["Progressing"]["reason"] == "NewReplicaSetAvailable"
    assert (
        dep["status"]["availableReplicas"] == 2
        and dep["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    )

    (rs,) = items(api, f"{APPS}/ctl/replicasets", labelSelector="app=web")
    pth = rs["metadata"]["labels"]["pod-template-hash"]
    assert rs["metadata"]["name"] == f"web-{pth}"
    (owner,) = rs["metadata"]["ownerReferences"]
    assert (
        owner["controller"] is True
        and owner["uid"] == dep["metadata"]["uid"]
        and owner["kind"] == "Deployment"
    )
    # helm --wait: the ReplicaSet's template is the Deployment's, apart from pod-template-hash
    template = json.loads(json.dumps(rs["spec"]["template"]))
    assert template["metadata"]["labels"].pop("pod-template-hash") == pth
    assert template == dep["spec"]["template"]
    assert rs["spec"]["selector"]["matchLabels"] == {"app": "web", "pod-template-hash": pth}
    assert rs["status"]["observedGeneration"] == rs["metadata"]["generation"]
    assert rs["status"]["readyReplicas"] == 2 and rs["status"]["replicas"] == 2

    pods = items(api, f"{CORE}/ctl/pods", labelSelector=f"pod-template-hash={pth}")
    assert len(pods) == 2
    for pod in pods:
        meta, spec, st = pod["metadata"], pod["spec"], pod["status"]
        assert meta["name"].startswith(f"web-{pth}-") and len(meta["name"]) == len(f"web-{pth}-") + 5
        assert meta["labels"] == {"app": "web", "version": "v1", "pod-template-hash": pth}
        assert meta["ownerReferences"][0]["uid"] == rs["metadata"]["uid"]
        assert spec["nodeName"] == "sandbox"
        assert st["phase"] == "Running" and st["hostIP"] == "127.0.0.1"
        assert st["podIP"].startswith("10.244.")
        (cs,) = st["containerStatuses"]
        assert cs["ready"] is True and cs["restartCount"] == 0 and "running" in cs["state"]
        assert {c["type"]: c["status"] for c in st["conditions"]}["Ready"] == "True"
    assert len({p["status"]["podIP"] for p in pods}) == 2

    gone = pods[0]["metadata"]["name"]
    assert api.delete(f"{CORE}/ctl/pods/{gone}").status_code == 200

    def replaced() -> list[dict[str, Any]] | None:
        now = items(api, f"{CORE}/ctl/pods", labelSelector=f"pod-template-hash={pth}")
        names = {p["metadata"]["name"] for p in now}
        running = all(p["status"]["phase"] == "Running" for p in now)
        return now if len(now) == 2 and gone not in names and running else None

    pods = wait_for(replaced, what="the ReplicaSet to replace a deleted pod")

    def endpoints() -> list[str]:
        ep = api.get(f"{CORE}/ctl/endpoints/web").json()
        return sorted(a["ip"] for s in ep.get("subsets") or [] for a in s.get("addresses") or [])

    svc = {"metadata": {"name": "web"}, "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}
    assert api.post(f"{CORE}/ctl/services", json=svc).status_code == 201
    wait_for(lambda: endpoints() == sorted(p["status"]["podIP"] for p in pods), what="endpoints of web")


def test_pod_goes_pending_then_container_creating_then_running(tmp_path: Path) -> None:
    sb = Sandbox(port=0, seed=1, pod_start_seconds=0.6).start()
    try:
        with sandbox_client(sb) as api:
            rv = api.get(f"{CORE}/default/pods").json()["metadata"]["resourceVersion"]
            pod = {"metadata": {"name": "solo"}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
            created = api.post(f"{CORE}/default/pods", json=pod).json()
            assert created["status"]["phase"] == "Pending" and "containerStatuses" not in created["status"]
            states: list[tuple[str, str]] = []
            params = {"watch": "1", "resourceVersion": rv, "timeoutSeconds": "5"}
            with api.stream("GET", f"{CORE}/default/pods", params=params) as resp:
                for line in resp.iter_lines():
                    if not line:
                        continue
                    st = json.loads(line)["object"]["status"]
                    waiting = ((st.get("containerStatuses") or [{}])[0].get("state") or {}).get(
                        "waiting"
                    ) or {}
                    states.append((st["phase"], waiting.get("reason", "")))
                    if st["phase"] == "Running":
                        break
            assert states == [("Pending", ""), ("Pending", "ContainerCreating"), ("Running", "")]
            events = items(api, f"{CORE}/default/events", fieldSelector="involvedObject.name=solo")
            assert [e["reason"] for e in events if e["reason"] == "Scheduled"] == ["Scheduled"]
            assert {"Pulled", "Created", "Started"} <= {e["reason"] for e in events}
            assert all(e["involvedObject"]["uid"] == created["metadata"]["uid"] for e in events)
    finally:
        sb.stop()


@pytest.mark.skipif(not Path(KUBECTL).exists(), reason="kubectl is not installed")
def test_scale_rollout_restart_and_describe_with_kubectl(kubectl: Kubectl, api: httpx.Client) -> None:
    make_ns(api, "roll")
    kubectl("apply", "-n", "roll", "-f", "-", input=json.dumps(deployment("app", replicas=1)))
    kubectl("rollout", "status", "deployment/app", "-n", "roll", "--timeout=20s")

    def running(n: int) -> list[dict[str, Any]] | None:
        pods = items(api, f"{CORE}/roll/pods", labelSelector="app=app")
        ok = len(pods) == n and all(p["status"]["phase"] == "Running" for p in pods)
        return pods if ok else None

    kubectl("scale", "deployment/app", "-n", "roll", "--replicas=3")
    wait_for(lambda: running(3), what="3 running pods")
    kubectl("scale", "deployment/app", "-n", "roll", "--replicas=1")
    before = wait_for(lambda: running(1), what="1 running pod")

    kubectl("rollout", "restart", "deployment/app", "-n", "roll")
    kubectl("rollout", "status", "deployment/app", "-n", "roll", "--timeout=20s")
    after = wait_for(lambda: running(1), what="the restarted pod")
    assert after[0]["metadata"]["uid"] != before[0]["metadata"]["uid"]
    assert "kubectl.kubernetes.io/restartedAt" in after[0]["metadata"]["annotations"]
    rses = {rs["metadata"]["name"]: rs for rs in items(api, f"{APPS}/roll/replicasets")}
    assert len(rses) == 2
    new_rs = after[0]["metadata"]["ownerReferences"][0]["name"]
    assert rses[new_rs]["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    assert [rs["spec"]["replicas"] for name, rs in rses.items() if name != new_rs] == [0]

    kubectl("set", "image", "deployment/app", "-n", "roll", "app=nginx:1.28")
    kubectl("rollout", "status", "deployment/app", "-n", "roll", "--timeout=20s")
    (pod,) = wait_for(lambda: running(1), what="the pod with the new image")
    assert pod["spec"]["containers"][0]["image"] == "nginx:1.28"
    out = kubectl("get", "deployment", "app", "-n", "roll").stdout
    assert "1/1" in out.splitlines()[1]

    names_before_undo = {rs["metadata"]["name"] for rs in items(api, f"{APPS}/roll/replicasets")}
    kubectl("rollout", "undo", "deployment/app", "-n", "roll")
    kubectl("rollout", "status", "deployment/app", "-n", "roll", "--timeout=20s")
    (back,) = wait_for(
        lambda: [p for p in running(1) or [] if p["spec"]["containers"][0]["image"] == "nginx:1.27"],
        what="the rolled-back pod",
    )
    rses = {rs["metadata"]["name"]: rs for rs in items(api, f"{APPS}/roll/replicasets")}
    assert set(rses) == names_before_undo  # undo reuses the earlier ReplicaSet
    owner = back["metadata"]["ownerReferences"][0]["name"]
    assert rses[owner]["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "4"
    pod = back

    described = kubectl("describe", "pod", "-n", "roll", pod["metadata"]["name"]).stdout
    assert "Successfully assigned roll/" in described and "Started container app" in described
    assert "Controlled By:  ReplicaSet/" in described


def test_deleting_an_owner_or_a_namespace_cascades(api: httpx.Client) -> None:
    make_ns(api, "gc")
    api.post(f"{APPS}/gc/deployments", json=deployment("a", replicas=2))
    api.post(f"{APPS}/gc/deployments", json=deployment("b", replicas=1))
    api.post(f"{CORE}/gc/configmaps", json={"metadata": {"name": "cfg"}, "data": {"k": "v"}})
    wait_for(
        lambda: ready_deployment(api, "gc", "a", 2) and ready_deployment(api, "gc", "b", 1), what="ready"
    )

    assert api.delete(f"{APPS}/gc/deployments/a").status_code == 200
    assert items(api, f"{APPS}/gc/replicasets", labelSelector="app=a") == []
    assert items(api, f"{CORE}/gc/pods", labelSelector="app=a") == []
    assert len(items(api, f"{CORE}/gc/pods", labelSelector="app=b")) == 1

    assert api.delete(f"{CORE}/gc").status_code == 200
    for path in (
        f"{CORE}/gc/pods",
        f"{APPS}/gc/replicasets",
        f"{APPS}/gc/deployments",
        f"{CORE}/gc/configmaps",
        f"{CORE}/gc/events",
        f"{CORE}/gc/endpoints",
    ):
        assert items(api, path) == [], path
    make_ns(api, "gc")
    time.sleep(0.2)  # a stale reconcile of the old namespace must not resurrect anything
    assert items(api, f"{CORE}/gc/pods") == []


def test_job_pod_runs_and_succeeds(api: httpx.Client) -> None:
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "once"},
        "spec": {
            "template": {
                "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox"}]}
            }
        },
    }
    r = api.post("/apis/batch/v1/namespaces/default/jobs", json=job)
    assert r.status_code == 201, r.text
    uid = r.json()["metadata"]["uid"]

    def complete() -> dict[str, Any] | None:
        j: dict[str, Any] = api.get("/apis/batch/v1/namespaces/default/jobs/once").json()
        conds = {c["type"]: c["status"] for c in j.get("status", {}).get("conditions") or []}
        return j if conds.get("Complete") == "True" else None

    done = wait_for(complete, what="job completion")
    assert done["status"]["succeeded"] == 1 and "completionTime" in done["status"]
    (pod,) = items(api, f"{CORE}/default/pods", labelSelector="job-name=once")
    assert pod["status"]["phase"] == "Succeeded"
    assert pod["metadata"]["labels"]["batch.kubernetes.io/controller-uid"] == uid
    (cs,) = pod["status"]["containerStatuses"]
    assert cs["state"]["terminated"]["reason"] == "Completed" and cs["ready"] is False
    time.sleep(0.3)
    assert len(items(api, f"{CORE}/default/pods", labelSelector="job-name=once")) == 1


@pytest.mark.skipif(not Path(KUBECTL).exists(), reason="kubectl is not installed")
def test_kubectl_typed_creates_and_node_port_rules(kubectl: Kubectl, api: httpx.Client) -> None:
    """``kubectl create <kind>`` sends protobuf; requested nodePorts are checked, and freed on delete."""
    kubectl("create", "deployment", "d", "--image=nginx:1.27", "--port=8080", "--replicas=2")
    kubectl("create", "job", "j", "--image=busybox", "--", "echo", "hi")
    kubectl("create", "serviceaccount", "robot")
    kubectl("create", "ingress", "i", "--rule=foo.com/bar*=d:8080")
    kubectl("create", "service", "nodeport", "d", "--tcp=80:8080", "--node-port=31000")
    kubectl("rollout", "status", "deployment/d", "--timeout=20s")
    kubectl("wait", "--for=condition=complete", "job/j", "--timeout=20s")
    pods = items(api, f"{CORE}/default/pods", labelSelector="app=d")
    assert len(pods) == 2 and pods[0]["spec"]["containers"][0]["ports"] == [
        {"containerPort": 8080, "protocol": "TCP"}
    ]
    rule = api.get("/apis/networking.k8s.io/v1/namespaces/default/ingresses/i").json()["spec"]["rules"][0]
    assert rule["http"]["paths"][0]["backend"]["service"] == {"name": "d", "port": {"number": 8080}}
    assert api.get(f"{CORE}/default/serviceaccounts/robot").status_code == 200

    taken = kubectl("create", "service", "nodeport", "e", "--tcp=80:80", "--node-port=31000", check=False)
    assert taken.returncode == 1 and "31000: provided port is already allocated" in taken.stderr
    outside = kubectl("create", "service", "nodeport", "e", "--tcp=80:80", "--node-port=80", check=False)
    assert outside.returncode == 1 and "provided port is not in the valid range" in outside.stderr
    assert api.get(f"{CORE}/default/services/e").status_code == 404
    kubectl("delete", "service", "d")
    kubectl("create", "service", "nodeport", "e", "--tcp=80:80", "--node-port=31000")
    svc = api.get(f"{CORE}/default/services/e").json()
    assert svc["spec"]["ports"][0]["nodePort"] == 31000


def test_failing_containers_show_kubelet_reasons_and_count_restarts(api: httpx.Client) -> None:
    def make(name: str, container: dict[str, Any]) -> None:
        pod = {"metadata": {"name": name}, "spec": {"containers": [{"name": "c", **container}]}}
        assert api.post(f"{CORE}/default/pods", json=pod).status_code == 201

    make("crash", {"image": "busybox", "command": ["sh", "-c", "exit 3"]})
    make("pull", {"image": "nginx:doesnotexist"})

    def restarted_twice() -> dict[str, Any] | None:
        pod: dict[str, Any] = api.get(f"{CORE}/default/pods/crash").json()
        (cs,) = pod["status"].get("containerStatuses") or [{}]
        return pod if cs.get("restartCount", 0) >= 2 else None

    crash = wait_for(restarted_twice, what="two restarts")
    (cs,) = crash["status"]["containerStatuses"]
    assert cs["lastState"]["terminated"]["exitCode"] == 3 and cs["ready"] is False
    assert crash["status"]["phase"] == "Running"
    assert {c["type"]: c["status"] for c in crash["status"]["conditions"]}["Ready"] == "False"

    def backing_off() -> dict[str, Any] | None:
        pod: dict[str, Any] = api.get(f"{CORE}/default/pods/pull").json()
        (cs,) = pod["status"].get("containerStatuses") or [{}]
        return pod if (cs.get("state") or {}).get("waiting", {}).get("reason") == "ImagePullBackOff" else None

    assert wait_for(backing_off, what="ImagePullBackOff")["status"]["phase"] == "Pending"
    reasons = {
        (e["involvedObject"]["name"], e["type"], e["reason"]) for e in items(api, f"{CORE}/default/events")
    }
    assert {("crash", "Warning", "BackOff"), ("pull", "Warning", "Failed")} <= reasons

    job = {
        "metadata": {"name": "fails"},
        "spec": {
            "backoffLimit": 1,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "main", "image": "busybox", "command": ["false"]}],
                }
            },
        },
    }
    assert api.post("/apis/batch/v1/namespaces/default/jobs", json=job).status_code == 201

    def failed() -> dict[str, Any] | None:
        j: dict[str, Any] = api.get("/apis/batch/v1/namespaces/default/jobs/fails").json()
        conds = {c["type"]: c for c in j.get("status", {}).get("conditions") or []}
        return j if conds.get("Failed", {}).get("status") == "True" else None

    done = wait_for(failed, what="the job to fail")
    assert done["status"]["failed"] == 2
    assert [c["reason"] for c in done["status"]["conditions"] if c["type"] == "Failed"] == [
        "BackoffLimitExceeded"
    ]
    pods = items(api, f"{CORE}/default/pods", labelSelector="job-name=fails")
    assert [p["status"]["phase"] for p in pods] == ["Failed", "Failed"]
