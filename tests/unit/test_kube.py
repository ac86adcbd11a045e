"""tui.kube.Cluster over real HTTPS against the sandbox: kubeconfig loading, typed calls, the error tree."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import threading
import time
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

import pytest
import yaml

import tui.kube.client as kube_client
from tests.helpers import closed_port, deployment_manifest, istio_crd, wait_for
from tui.errors import ConfigError, Conflict, Forbidden, Invalid, NotFound, Unauthorized, Unreachable
from tui.kube import (
    CONFIGMAPS,
    CRDS,
    DEPLOYMENTS,
    NAMESPACES,
    PODS,
    Cluster,
    Resource,
)


def _configmap(name: str, namespace: str, **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": "demo"}},
        "data": data,
    }


def _namespace(cluster: Cluster, name: str) -> str:
    cluster.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    return name


def _edit_kubeconfig(src: Path, dst: Path, edit: Any) -> Path:
    doc = yaml.safe_load(src.read_text())
    edit(doc)
    dst.write_text(yaml.safe_dump(doc))
    return dst


# --------------------------------------------------------------------------------------------- kubeconfig


def test_loads_context_and_reports_server_version(cluster: Cluster, sandbox: Any, kubeconfig: Path) -> None:
    info = cluster.info()
    assert (info.context, info.server) == ("sandbox", sandbox.url)
    assert info.git_version.startswith("v1.32")
    assert (info.major, info.minor) == (1, 32)
    assert cluster.namespace == "default"
    assert cluster.kubeconfig == str(kubeconfig)


def test_kubeconfig_from_env_when_no_path(kubeconfig: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", f"/nonexistent/first:{kubeconfig}")
    assert Cluster.from_kubeconfig().context == "sandbox"


def test_missing_kubeconfig(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as info:
        Cluster.from_kubeconfig(path=str(missing))
    assert info.value.message == f"kubeconfig {missing} does not exist"


def test_malformed_kubeconfig_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nclusters: [\n  - name: x\n")
    with pytest.raises(ConfigError) as info:
        Cluster.from_kubeconfig(path=str(bad))
    assert re.fullmatch(
        rf"kubeconfig {re.escape(str(bad))} is not valid YAML at line \d+", info.value.message
    )
    assert "\n" not in str(info.value)


def test_kubeconfig_without_contexts(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n")
    with pytest.raises(ConfigError, match="has no contexts"):
        Cluster.from_kubeconfig(path=str(empty))


def test_unknown_context_lists_the_known_ones(kubeconfig: Path) -> None:
    with pytest.raises(ConfigError) as info:
        Cluster.from_kubeconfig(path=str(kubeconfig), context="prod")
    assert info.value.message == f"context 'prod' is not in kubeconfig {kubeconfig}"
    assert info.value.hint == "use one of: sandbox"


def test_context_pointing_at_missing_cluster(kubeconfig: Path, tmp_path: Path) -> None:
    def edit(doc: dict[str, Any]) -> None:
        doc["contexts"][0]["context"]["cluster"] = "ghost"

    broken = _edit_kubeconfig(kubeconfig, tmp_path / "broken.yaml", edit)
    with pytest.raises(ConfigError, match=r"context 'sandbox': .*ghost"):
        Cluster.from_kubeconfig(path=str(broken))


def test_exec_credential_plugin(kubeconfig: Path, tmp_path: Path, sandbox: Any) -> None:
    plugin = tmp_path / "plugin.py"
    credential = {
        "apiVersion": "client.authentication.k8s.io/v1",
        "kind": "ExecCredential",
        "status": {"token": sandbox.token},
    }
    plugin.write_text(f"import json\nprint(json.dumps({credential!r}))\n")

    def use_exec(doc: dict[str, Any]) -> None:
        doc["users"][0]["user"] = {
            "exec": {
                "apiVersion": "client.authentication.k8s.io/v1",
                "command": sys.executable,
                "args": [str(plugin)],
                "interactiveMode": "Never",
            }
        }

    path = _edit_kubeconfig(kubeconfig, tmp_path / "exec.yaml", use_exec)
    assert Cluster.from_kubeconfig(path=str(path)).info().minor == 32

    plugin.write_text("import sys\nsys.stderr.write('login expired')\nsys.exit(3)\n")
    with pytest.raises(ConfigError, match="exec credential plugin failed: .*login expired"):
        Cluster.from_kubeconfig(path=str(path))


# --------------------------------------------------------------------------------------------- error tree


def test_unreachable_names_the_server(kubeconfig: Path, tmp_path: Path) -> None:
    port = closed_port()

    def edit(doc: dict[str, Any]) -> None:
        doc["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{port}"

    cluster = Cluster.from_kubeconfig(path=str(_edit_kubeconfig(kubeconfig, tmp_path / "closed.yaml", edit)))
    with pytest.raises(Unreachable) as info:
        cluster.info()
    assert (
        info.value.message == f"cannot reach the API server at https://127.0.0.1:{port}: connection refused"
    )


def test_untrusted_certificate_is_a_tls_error(kubeconfig: Path, tmp_path: Path) -> None:
    from tui.sandbox import tls

    other_ca = base64.b64encode(tls.generate().ca_pem).decode()

    def edit(doc: dict[str, Any]) -> None:
        doc["clusters"][0]["cluster"]["certificate-authority-data"] = other_ca

    cluster = Cluster.from_kubeconfig(path=str(_edit_kubeconfig(kubeconfig, tmp_path / "ca.yaml", edit)))
    with pytest.raises(Unreachable) as info:
        cluster.info()
    assert "TLS failed: certificate verify failed" in info.value.message
    assert "certificate-authority-data" in info.value.hint


def test_wrong_token_is_unauthorized(kubeconfig: Path, tmp_path: Path, sandbox: Any) -> None:
    def edit(doc: dict[str, Any]) -> None:
        doc["users"][0]["user"] = {"token": "not-the-token"}

    cluster = Cluster.from_kubeconfig(path=str(_edit_kubeconfig(kubeconfig, tmp_path / "wrong.yaml", edit)))
    with pytest.raises(Unauthorized) as info:
        cluster.list(NAMESPACES)
    assert info.value.code == 401
    assert info.value.status.get("reason") == "Unauthorized"
    assert sandbox.url in info.value.message
    assert "context 'sandbox'" in info.value.message


@pytest.mark.parametrize(
    ("server", "why"),
    [
        ("https://host:99999", "Port out of range"),
        ("https://a b", "contains a space"),
        ("https://h\nx", "contains a control character"),
        ("ftp://x", "must start with https:// or http://"),
    ],
)
def test_bad_server_url_is_named_at_load(kubeconfig: Path, tmp_path: Path, server: str, why: str) -> None:
    """Before, these failed only at the first request, with a hint to check that the cluster runs."""

    def edit(doc: dict[str, Any]) -> None:
        doc["clusters"][0]["cluster"]["server"] = server

    with pytest.raises(ConfigError) as info:
        Cluster.from_kubeconfig(path=str(_edit_kubeconfig(kubeconfig, tmp_path / "srv.yaml", edit)))
    assert "the cluster has no valid server URL" in info.value.message and why in info.value.message
    assert info.value.hint == "fix clusters[].cluster.server"


def test_token_file_ending_in_a_newline_works_as_in_kubectl(
    kubeconfig: Path, tmp_path: Path, sandbox: Any
) -> None:
    """Files written by `echo TOKEN > f` end in a newline; the raw value made every request fail (#8.6)."""
    token_file = tmp_path / "token"
    token_file.write_text(sandbox.token + "\n")

    def edit(doc: dict[str, Any]) -> None:
        doc["users"][0]["user"] = {"tokenFile": str(token_file)}

    cluster = Cluster.from_kubeconfig(path=str(_edit_kubeconfig(kubeconfig, tmp_path / "tf.yaml", edit)))
    try:
        assert cluster.info().git_version.startswith("v1.32")
        assert cluster.list(NAMESPACES).items  # and again: the client re-reads its token on every request
    finally:
        cluster.close()


def test_token_with_a_line_break_inside_is_refused_without_showing_it(
    kubeconfig: Path, tmp_path: Path
) -> None:
    secret = "s3cr3t-t0ken-value"
    token_file = tmp_path / "token"
    token_file.write_text(f"{secret}\nsecond-line\n")

    def edit(doc: dict[str, Any]) -> None:
        doc["users"][0]["user"] = {"tokenFile": str(token_file)}

    with pytest.raises(ConfigError) as info:
        Cluster.from_kubeconfig(path=str(_edit_kubeconfig(kubeconfig, tmp_path / "tf.yaml", edit)))
    assert "token is empty or has spaces or control characters inside" in info.value.message
    assert secret not in str(info.value) and "second-line" not in str(info.value)


def test_forbidden_keeps_the_server_message(cluster: Cluster, sandbox: Any) -> None:
    _namespace(cluster, "locked")
    _namespace(cluster, "open")
    sandbox.forbid(resource="pods", namespace="locked")
    with pytest.raises(Forbidden) as info:
        cluster.list(PODS, namespace="locked")
    assert info.value.code == 403
    assert info.value.reason == "Forbidden"
    assert info.value.message == info.value.status["message"]
    assert 'pods is forbidden: User "sandbox" cannot list resource "pods"' in info.value.message
    assert cluster.list(PODS, namespace="open").items == []
    assert cluster.can_i(verb="list", resource="pods", namespace="locked") is False
    assert cluster.can_i(verb="list", resource="pods", namespace="open") is True


def test_not_found(cluster: Cluster) -> None:
    with pytest.raises(NotFound) as info:
        cluster.get(CONFIGMAPS, "nope", namespace="default")
    assert info.value.code == 404
    assert info.value.message == 'configmaps "nope" not found'
    with pytest.raises(NotFound):
        cluster.delete(CONFIGMAPS, "nope", namespace="default")


def test_conflict_on_create_twice_and_on_stale_replace(cluster: Cluster) -> None:
    created = cluster.create(CONFIGMAPS, _configmap("twice", "default", a="1"))
    with pytest.raises(Conflict) as info:
        cluster.create(CONFIGMAPS, _configmap("twice", "default", a="2"))
    assert info.value.reason == "AlreadyExists"
    assert info.value.message == 'configmaps "twice" already exists'
    cluster.patch(CONFIGMAPS, "twice", {"data": {"a": "3"}}, namespace="default")
    stale = dict(created, data={"a": "4"})
    with pytest.raises(Conflict) as stale_info:
        cluster.replace(CONFIGMAPS, "twice", stale, namespace="default")
    assert stale_info.value.reason == "Conflict"
    assert cluster.get(CONFIGMAPS, "twice", namespace="default")["data"] == {"a": "3"}


def test_invalid_name_is_invalid_with_the_server_message(cluster: Cluster) -> None:
    with pytest.raises(Invalid) as info:
        cluster.create(CONFIGMAPS, _configmap("Bad_Name", "default"))
    assert info.value.code == 422
    assert info.value.reason == "Invalid"
    assert "Bad_Name" in info.value.message
    assert info.value.status["details"]["causes"]


def test_bad_json_patch_is_invalid(cluster: Cluster) -> None:
    cluster.create(CONFIGMAPS, _configmap("jp", "default", a="1"))
    with pytest.raises(Invalid) as info:
        cluster.patch(
            CONFIGMAPS,
            "jp",
            [{"op": "frobnicate", "path": "/data/a"}],
            namespace="default",
            patch_type="json",
        )
    assert info.value.code in (400, 422)
    assert info.value.message


# --------------------------------------------------------------------------------------------- verbs


def test_crud_round_trip(cluster: Cluster) -> None:
    ns = _namespace(cluster, "crud")
    created = cluster.create(CONFIGMAPS, _configmap("one", ns, a="1"))
    assert created["metadata"]["uid"] and created["metadata"]["resourceVersion"]
    cluster.create(
        CONFIGMAPS,
        {**_configmap("two", ns), "metadata": {"name": "two", "labels": {"app": "x"}}},
        namespace=ns,
    )
    got = cluster.get(CONFIGMAPS, "one", namespace=ns)
    assert (got["kind"], got["apiVersion"], got["data"]) == ("ConfigMap", "v1", {"a": "1"})

    listed = cluster.list(CONFIGMAPS, namespace=ns)
    assert sorted(o["metadata"]["name"] for o in listed.items) == ["one", "two"]
    assert all(o["kind"] == "ConfigMap" for o in listed.items)
    assert int(listed.resource_version) >= int(created["metadata"]["resourceVersion"])
    assert [
        o["metadata"]["name"] for o in cluster.list(CONFIGMAPS, namespace=ns, label_selector="app=demo").items
    ] == ["one"]
    by_field = cluster.list(CONFIGMAPS, field_selector=f"metadata.namespace={ns},metadata.name=two")
    assert [o["metadata"]["name"] for o in by_field.items] == ["two"]

    merged = cluster.patch(CONFIGMAPS, "one", {"data": {"b": "2"}}, namespace=ns)
    assert merged["data"] == {"a": "1", "b": "2"}
    patched = cluster.patch(
        CONFIGMAPS, "one", [{"op": "remove", "path": "/data/a"}], namespace=ns, patch_type="json"
    )
    assert patched["data"] == {"b": "2"}
    replaced = cluster.replace(CONFIGMAPS, "one", dict(patched, data={"c": "3"}), namespace=ns)
    assert replaced["data"] == {"c": "3"}

    cluster.delete(CONFIGMAPS, "one", namespace=ns)
    with pytest.raises(NotFound):
        cluster.get(CONFIGMAPS, "one", namespace=ns)


def test_strategic_patch_merges_containers_by_name(cluster: Cluster) -> None:
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [{"name": "web", "image": "nginx:1"}, {"name": "side", "image": "busybox"}]
                },
            },
        },
    }
    cluster.create(DEPLOYMENTS, deployment)
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:2"}]}}}}
    out = cluster.patch(DEPLOYMENTS, "web", patch, namespace="default", patch_type="strategic")
    images = {c["name"]: c["image"] for c in out["spec"]["template"]["spec"]["containers"]}
    assert images == {"web": "nginx:2", "side": "busybox"}

    restarted = cluster.rollout_restart("web", namespace="default")
    stamp = restarted["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", stamp)
    assert restarted["metadata"]["generation"] > out["metadata"]["generation"]


def test_two_restarts_in_one_second_both_roll_out(cluster: Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    """kubectl's whole-second stamp alone would make the second restart a silent no-op."""

    class Frozen(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> Frozen:
            return cls(2026, 1, 2, 3, 4, 5, 678901, tzinfo=tz)

    monkeypatch.setattr(kube_client, "datetime", Frozen)
    cluster.create(DEPLOYMENTS, deployment_manifest("twice", 1), namespace="default")
    first = cluster.rollout_restart("twice", namespace="default")
    second = cluster.rollout_restart("twice", namespace="default")
    assert second["metadata"]["generation"] > first["metadata"]["generation"]
    key = "kubectl.kubernetes.io/restartedAt"
    stamps = [o["spec"]["template"]["metadata"]["annotations"][key] for o in (first, second)]
    assert stamps == ["2026-01-02T03:04:05Z", "2026-01-02T03:04:05.678901Z"]


def test_apply_creates_then_merges_and_respects_namespaces(cluster: Cluster) -> None:
    docs: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "applied"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "plain"}, "data": {"v": "1"}},
        _configmap("pinned", "default", v="1"),
    ]
    first = cluster.apply(docs, namespace="applied")
    assert [(o["kind"], o["metadata"].get("namespace")) for o in first] == [
        ("Namespace", None),
        ("ConfigMap", "applied"),
        ("ConfigMap", "default"),
    ]
    docs[1]["data"] = {"v": "2"}
    second = cluster.apply(docs, namespace="applied")
    assert second[1]["metadata"]["uid"] == first[1]["metadata"]["uid"]
    assert cluster.get(CONFIGMAPS, "plain", namespace="applied")["data"] == {"v": "2"}


def test_apply_is_server_side_and_merges_lists_by_key(cluster: Cluster) -> None:
    web = deployment_manifest("web", 1)
    sidecar = {"name": "proxy", "image": "example/proxy:1"}
    with_sidecar = json.loads(json.dumps(web))
    with_sidecar["spec"]["template"]["spec"]["containers"].append(sidecar)
    cluster.create(DEPLOYMENTS, with_sidecar, namespace="default")  # another manager's container
    web["spec"]["template"]["spec"]["containers"][0]["image"] = "example/web:2"
    [stored] = cluster.apply([web], namespace="default")
    containers = stored["spec"]["template"]["spec"]["containers"]
    assert [(c["name"], c["image"]) for c in containers] == [
        ("web", "example/web:2"),
        ("proxy", "example/proxy:1"),
    ]
    managers = {e["manager"]: e["operation"] for e in stored["metadata"]["managedFields"]}
    assert managers["istio-tui"] == "Apply"


def test_context_namespace_is_the_apply_default(sandbox: Any, tmp_path: Path) -> None:
    cluster = Cluster.from_kubeconfig(
        path=str(sandbox.write_kubeconfig(tmp_path / "ns.yaml", namespace="shop"))
    )
    assert cluster.namespace == "shop"
    _namespace(cluster, "shop")
    [stored] = cluster.apply([{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}])
    assert stored["metadata"]["namespace"] == "shop"


def test_apply_checks_every_document_before_writing(cluster: Cluster) -> None:
    docs = [_configmap("early", "default"), {"apiVersion": "v1", "metadata": {"name": "no-kind"}}]
    with pytest.raises(Invalid, match="document 2 has no apiVersion or kind"):
        cluster.apply(docs)
    unknown = [
        _configmap("early", "default"),
        {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}},
    ]
    with pytest.raises(NotFound, match='no resource for kind "Widget" in version "example.com/v1"'):
        cluster.apply(unknown)
    with pytest.raises(NotFound):
        cluster.get(CONFIGMAPS, "early", namespace="default")


def test_discovery_finds_new_crds(cluster: Cluster) -> None:
    assert cluster.resource_for(api_version="apps/v1", kind="Deployment") == DEPLOYMENTS
    assert cluster.has_api("apps/v1") is True
    assert cluster.has_api("networking.istio.io/v1") is False
    with pytest.raises(NotFound):
        cluster.resource_for(api_version="networking.istio.io/v1", kind="VirtualService")
    cluster.create(CRDS, istio_crd("VirtualService", "virtualservices"))
    assert cluster.has_api("networking.istio.io/v1") is True
    res = cluster.resource_for(api_version="networking.istio.io/v1", kind="VirtualService")
    assert res == Resource("networking.istio.io", "v1", "virtualservices", "VirtualService", True)
    vs = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": "reviews"},
        "spec": {"hosts": ["reviews"]},
    }
    [stored] = cluster.apply([vs], namespace="default")
    assert stored["kind"] == "VirtualService"
    assert cluster.get(res, "reviews", namespace="default")["spec"] == {"hosts": ["reviews"]}


def test_pod_logs(cluster: Cluster) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "logger", "namespace": "default"},
        "spec": {"containers": [{"name": "main", "image": "busybox"}]},
    }
    cluster.create(PODS, pod)

    def started() -> str | None:
        try:
            return cluster.pod_logs("logger", namespace="default", tail_lines=5)
        except Invalid as err:  # still being created: no log yet, as on a real cluster
            assert "is waiting to start" in str(err)
            return None

    text = wait_for(started, "the container to start")
    assert 1 <= len(text.splitlines()) <= 5
    with pytest.raises(Invalid, match="container ghost is not valid"):
        cluster.pod_logs("logger", namespace="default", container="ghost")
    with pytest.raises(Invalid, match="previous terminated container"):
        cluster.pod_logs("logger", namespace="default", previous=True)
    stamped = cluster.pod_logs("logger", namespace="default", tail_lines=None, timestamps=True)
    assert stamped.splitlines()[0].split(" ", 1)[0].endswith("Z")

    follow = cluster.follow_pod_logs("logger", namespace="default", tail_lines=1)
    lines = iter(follow)
    assert next(lines)
    stopper = threading.Timer(0.3, follow.stop)
    stopper.start()
    began = time.monotonic()
    rest = list(lines)  # a quiet container: stop() from another thread must end the iteration
    assert time.monotonic() - began < 5
    assert all(isinstance(line, str) for line in rest)


def test_kubernetes_exceptions_never_escape(cluster: Cluster) -> None:
    """A body the client library cannot serialise must surface as our error, not a library one."""
    with pytest.raises(Invalid):
        cluster.patch(CONFIGMAPS, "x", {"a": 1}, namespace="default", patch_type="json")
    with pytest.raises(Invalid):
        cluster.get(CONFIGMAPS, "x")
    assert json.loads(json.dumps(cluster.list(NAMESPACES).items))


# --------------------------------------------------------------------------------------------- CLI startup


def test_cli_startup_errors_are_one_line(kubeconfig: Path, tmp_path: Path) -> None:
    """What a user sees when the cluster layer refuses to start: one line on stderr, exit 1, no traceback."""
    malformed = tmp_path / "malformed.yaml"
    malformed.write_text("clusters: [\n")

    def wrong_token(doc: dict[str, Any]) -> None:
        doc["users"][0]["user"] = {"token": "nope"}

    cases = {
        f"kubeconfig {malformed} is not valid YAML at line 2": ["--kubeconfig", str(malformed)],
        "Unauthorized: the API server https://127.0.0.1:": [
            "--kubeconfig",
            str(_edit_kubeconfig(kubeconfig, tmp_path / "token.yaml", wrong_token)),
        ],
    }
    env = {
        "HOME": str(tmp_path),
        "PATH": os.environ.get("PATH", ""),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
    }
    procs = {
        expected: subprocess.Popen(
            [sys.executable, "-m", "tui", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for expected, args in cases.items()
    }
    for expected, proc in procs.items():
        _, stderr = proc.communicate(timeout=60)
        assert proc.returncode == 1, stderr
        lines = stderr.splitlines()
        assert len(lines) == 1, stderr
        assert lines[0].startswith(f"istio-tui: {expected}"), lines[0]
