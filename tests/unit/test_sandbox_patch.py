"""The sandbox's PATCH semantics, checked against the bodies kubectl and helm were seen sending."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tui.errors import KubeError
from tui.sandbox.patch import APPLY, JSON_PATCH, MERGE, STRATEGIC, apply_patch


def deployment() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "book", "labels": {"app": "web", "tier": "front"}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": "nginx:1.27",
                            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "x"}],
                            "ports": [{"containerPort": 80}, {"containerPort": 443}],
                        },
                        {"name": "side", "image": "busybox"},
                    ],
                    "volumes": [{"name": "v1", "emptyDir": {}}],
                },
            },
        },
    }


def service() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "book"},
        "spec": {
            "type": "ClusterIP",
            "ports": [
                {"name": "http2", "port": 80, "targetPort": 80, "protocol": "TCP"},
                {"name": "https", "port": 443, "targetPort": 443, "protocol": "TCP"},
            ],
        },
    }


def smp(obj: dict[str, Any], patch: Any, kind: str | None = None) -> dict[str, Any]:
    return apply_patch(obj, patch, STRATEGIC, kind=kind or obj["kind"], builtin=True)


# ------------------------------------------------------------------------------------------- merge patch
def test_merge_patch_adds_and_deletes_labels_without_touching_input() -> None:
    ns = {"kind": "Namespace", "metadata": {"name": "book", "labels": {"a": "1"}}}
    before = copy.deepcopy(ns)
    out = apply_patch(
        ns, {"metadata": {"labels": {"istio-injection": "enabled"}}}, MERGE, kind="Namespace", builtin=True
    )
    assert out["metadata"]["labels"] == {"a": "1", "istio-injection": "enabled"}
    out2 = apply_patch(
        out, {"metadata": {"labels": {"istio-injection": None}}}, MERGE, kind="Namespace", builtin=True
    )
    assert out2["metadata"]["labels"] == {"a": "1"}
    assert ns == before


def test_merge_patch_replaces_lists_and_accepts_content_type_parameters() -> None:
    out = apply_patch(
        service(),
        {"spec": {"ports": [{"port": 8080}]}},
        MERGE + "; charset=utf-8",
        kind="Service",
        builtin=True,
    )
    assert out["spec"]["ports"] == [{"port": 8080}]


def test_merge_patch_works_on_custom_resources_and_rejects_non_objects() -> None:
    vs = {"kind": "VirtualService", "spec": {"hosts": ["a"], "http": [{"route": []}]}}
    out = apply_patch(vs, {"spec": {"hosts": ["b"]}}, MERGE, kind="VirtualService", builtin=False)
    assert out["spec"] == {"hosts": ["b"], "http": [{"route": []}]}
    with pytest.raises(ValueError, match="JSON object"):
        apply_patch(vs, [1], MERGE, kind="VirtualService", builtin=False)
    with pytest.raises(ValueError, match="not valid JSON"):
        apply_patch(vs, b"{nope", MERGE, kind="VirtualService", builtin=False)


# -------------------------------------------------------------------------------------------- json patch
def jp(obj: dict[str, Any], ops: Any) -> dict[str, Any]:
    return apply_patch(obj, ops, JSON_PATCH, kind=obj.get("kind", "X"), builtin=True)


def test_json_patch_all_operations() -> None:
    obj = {
        "kind": "ConfigMap",
        "metadata": {"name": "c", "annotations": {"a/b": "1", "t~x": "2"}},
        "data": {"k": "v"},
        "list": [1, 2, 3],
    }
    out = jp(
        obj,
        [
            {"op": "test", "path": "/data/k", "value": "v"},
            {"op": "add", "path": "/data/n", "value": "new"},
            {"op": "replace", "path": "/metadata/annotations/a~1b", "value": "one"},
            {"op": "remove", "path": "/metadata/annotations/t~0x"},
            {"op": "add", "path": "/list/-", "value": 4},
            {"op": "add", "path": "/list/0", "value": 0},
            {"op": "remove", "path": "/list/2"},
            {"op": "move", "from": "/data/n", "path": "/data/moved"},
            {"op": "copy", "from": "/data/k", "path": "/data/copied"},
        ],
    )
    assert out["data"] == {"k": "v", "moved": "new", "copied": "v"}
    assert out["metadata"]["annotations"] == {"a/b": "one"}
    assert out["list"] == [0, 1, 3, 4]
    assert obj["list"] == [1, 2, 3]


@pytest.mark.parametrize(
    ("ops", "message"),
    [
        ({"op": "add"}, "JSON array"),
        ([{"op": "test", "path": "/data/k", "value": "other"}], "test operation 0 failed"),
        ([{"op": "remove", "path": "/data/missing"}], "does not exist"),
        ([{"op": "replace", "path": "/nope/x", "value": 1}], "does not exist"),
        ([{"op": "add", "path": "/list/9", "value": 1}], "out of range"),
        ([{"op": "add", "path": "/list/01", "value": 1}], "not a valid array index"),
        ([{"op": "frob", "path": "/data"}], 'unknown op "frob"'),
        ([{"op": "add", "path": "data", "value": 1}], 'must start with "/"'),
        ([{"op": "add", "path": "/data/x"}], 'missing "value"'),
        ([{"op": "move", "path": "/data/x"}], 'missing "from"'),
        ([{"op": "move", "from": "/data", "path": "/data/k/x"}], "own child"),
        (["nope"], '"op" and "path"'),
    ],
)
def test_json_patch_errors_are_precise(ops: Any, message: str) -> None:
    obj = {"kind": "ConfigMap", "data": {"k": "v"}, "list": [1]}
    with pytest.raises(ValueError, match=message):
        jp(obj, ops)
    assert obj == {"kind": "ConfigMap", "data": {"k": "v"}, "list": [1]}


# ---------------------------------------------------------------------------------------- strategic merge
def test_smp_kubectl_second_apply_body_for_deployment() -> None:
    body = {
        "metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}\n"}},
        "spec": {
            "replicas": 2,
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "web"}, {"name": "side"}],
                    "containers": [
                        {
                            "$setElementOrder/env": [{"name": "A"}, {"name": "B"}],
                            "env": [{"name": "A", "value": "2"}],
                            "image": "nginx:1.28",
                            "name": "web",
                        }
                    ],
                }
            },
        },
    }
    original = deployment()
    out = smp(original, body)
    web, side = out["spec"]["template"]["spec"]["containers"]
    assert web["image"] == "nginx:1.28"
    assert web["env"] == [{"name": "A", "value": "2"}, {"name": "B", "value": "x"}]
    assert web["ports"] == [{"containerPort": 80}, {"containerPort": 443}]
    assert side == {"name": "side", "image": "busybox"}
    assert out["spec"]["replicas"] == 2
    assert "$setElementOrder/containers" not in json.dumps(out)
    assert out["metadata"]["labels"] == {"app": "web", "tier": "front"}
    assert original == deployment()


def test_smp_service_ports_merge_by_port_and_delete_directive() -> None:
    out = smp(
        service(),
        {"spec": {"$setElementOrder/ports": [{"port": 80}], "ports": [{"$patch": "delete", "port": 443}]}},
    )
    assert [p["port"] for p in out["spec"]["ports"]] == [80]
    out = smp(service(), {"spec": {"ports": [{"port": 80, "nodePort": 31380}]}})
    assert out["spec"]["ports"][0] == {
        "name": "http2",
        "port": 80,
        "targetPort": 80,
        "protocol": "TCP",
        "nodePort": 31380,
    }
    assert out["spec"]["ports"][1]["port"] == 443
    out = smp(service(), {"spec": {"type": "NodePort"}})
    assert out["spec"]["type"] == "NodePort" and len(out["spec"]["ports"]) == 2


def test_smp_set_element_order_reorders_and_appends_new_entries() -> None:
    body = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "side"}, {"name": "new"}, {"name": "web"}],
                    "containers": [{"name": "new", "image": "x"}],
                }
            }
        }
    }
    names = [c["name"] for c in smp(deployment(), body)["spec"]["template"]["spec"]["containers"]]
    assert names == ["side", "new", "web"]


def test_smp_container_ports_merge_by_container_port() -> None:
    body = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "ports": [{"containerPort": 443, "name": "https"}, {"containerPort": 8080}],
                        }
                    ]
                }
            }
        }
    }
    ports = smp(deployment(), body)["spec"]["template"]["spec"]["containers"][0]["ports"]
    assert ports == [{"containerPort": 80}, {"containerPort": 443, "name": "https"}, {"containerPort": 8080}]


def test_smp_null_deletes_and_replace_directive_on_map() -> None:
    out = smp(deployment(), {"metadata": {"labels": {"tier": None}}})
    assert out["metadata"]["labels"] == {"app": "web"}
    out = smp(deployment(), {"metadata": {"labels": {"$patch": "replace", "only": "this"}}})
    assert out["metadata"]["labels"] == {"only": "this"}
    out = smp(deployment(), {"spec": {"selector": {"$patch": "delete"}}})
    assert "selector" not in out["spec"]


def test_smp_replace_directive_in_list_and_lists_without_key_are_replaced() -> None:
    body = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [{"$patch": "replace"}, {"name": "only", "image": "i"}],
                    "tolerations": [{"key": "k", "operator": "Exists"}],
                }
            }
        }
    }
    spec = smp(deployment(), body)["spec"]["template"]["spec"]
    assert spec["containers"] == [{"name": "only", "image": "i"}]
    assert spec["tolerations"] == [{"key": "k", "operator": "Exists"}]


def test_smp_retain_keys_and_delete_from_primitive_list() -> None:
    obj = {
        "kind": "Deployment",
        "metadata": {"name": "d", "finalizers": ["a", "b", "c"]},
        "spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}},
    }
    out = smp(
        obj,
        {
            "metadata": {"$deleteFromPrimitiveList/finalizers": ["b"]},
            "spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}},
        },
    )
    assert out["metadata"]["finalizers"] == ["a", "c"]
    assert out["spec"]["strategy"] == {"type": "Recreate"}
    out = smp(obj, {"metadata": {"finalizers": ["c", "d"]}})
    assert out["metadata"]["finalizers"] == ["a", "b", "c", "d"]


def test_smp_other_merge_keys() -> None:
    pod = {
        "kind": "Pod",
        "metadata": {"name": "p", "ownerReferences": [{"uid": "u1", "name": "a"}]},
        "spec": {
            "containers": [{"name": "c", "volumeMounts": [{"mountPath": "/a", "name": "v"}]}],
            "initContainers": [{"name": "init", "image": "i"}],
            "imagePullSecrets": [{"name": "s1"}],
            "volumes": [{"name": "v"}],
        },
        "status": {
            "conditions": [{"type": "Ready", "status": "False"}, {"type": "Scheduled", "status": "True"}]
        },
    }
    out = smp(
        pod,
        {
            "metadata": {"ownerReferences": [{"uid": "u2", "name": "b"}]},
            "spec": {
                "containers": [{"name": "c", "volumeMounts": [{"mountPath": "/b", "name": "w"}]}],
                "initContainers": [{"name": "init", "image": "j"}],
                "imagePullSecrets": [{"name": "s2"}],
                "volumes": [{"name": "w"}],
            },
            "status": {"conditions": [{"type": "Ready", "status": "True"}]},
        },
    )
    assert [r["uid"] for r in out["metadata"]["ownerReferences"]] == ["u1", "u2"]
    assert [m["mountPath"] for m in out["spec"]["containers"][0]["volumeMounts"]] == ["/a", "/b"]
    assert out["spec"]["initContainers"] == [{"name": "init", "image": "j"}]
    assert [s["name"] for s in out["spec"]["imagePullSecrets"]] == ["s1", "s2"]
    assert [v["name"] for v in out["spec"]["volumes"]] == ["v", "w"]
    assert out["status"]["conditions"] == [
        {"type": "Ready", "status": "True"},
        {"type": "Scheduled", "status": "True"},
    ]


def test_smp_errors() -> None:
    with pytest.raises(ValueError, match="merge key: name"):
        smp(deployment(), {"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}})
    with pytest.raises(ValueError, match="directive"):
        smp(deployment(), {"spec": {"$patch": "explode"}})
    with pytest.raises(ValueError, match="directive"):
        smp(deployment(), {"spec": {"$bogus": 1}})
    with pytest.raises(ValueError, match="JSON object"):
        smp(deployment(), [1, 2])


def test_smp_on_custom_resource_is_unsupported_media_type() -> None:
    with pytest.raises(KubeError) as info:
        apply_patch({"kind": "Gateway"}, {"spec": {}}, STRATEGIC, kind="Gateway", builtin=False)
    assert info.value.code == 415
    assert info.value.status["reason"] == "UnsupportedMediaType"
    with pytest.raises(KubeError) as info:
        apply_patch({"kind": "Pod"}, {}, "text/plain", kind="Pod", builtin=True)
    assert info.value.code == 415


# ------------------------------------------------------------------------------------------- apply patch
def test_apply_patch_accepts_json_and_yaml_text() -> None:
    manifest = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web"},
        "spec": {"ports": [{"port": 80, "name": "web"}]},
    }
    out = apply_patch(service(), json.dumps(manifest), APPLY, kind="Service", builtin=True)
    assert out["spec"]["ports"][0]["name"] == "web" and out["spec"]["ports"][1]["port"] == 443
    yaml_text = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  labels:\n    a: b\n"
    out = apply_patch(service(), yaml_text.encode(), APPLY, kind="Service", builtin=True)
    assert out["metadata"]["labels"] == {"a": "b"}
    cr = {"kind": "VirtualService", "spec": {"hosts": ["a", "b"]}}
    out = apply_patch(cr, "spec:\n  hosts: [c]\n", APPLY, kind="VirtualService", builtin=False)
    assert out["spec"]["hosts"] == ["c"]


def test_apply_patch_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="neither JSON nor YAML"):
        apply_patch(service(), "a: [unclosed", APPLY, kind="Service", builtin=True)
    with pytest.raises(ValueError, match="single object"):
        apply_patch(service(), "- 1\n- 2\n", APPLY, kind="Service", builtin=True)
