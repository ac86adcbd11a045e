"""Protobuf request bodies: bytes kubectl was seen sending, and Secrets/DeleteOptions built like helm's."""

from __future__ import annotations

import base64
import gzip
import os

import pytest

from tui.sandbox.protobuf import decode_body

OBSERVED_CREATE_NAMESPACE = bytes.fromhex(
    "6b387300 0a0f 0a02 7631 1209 4e616d657370616365 121c 0a14 0a04 626f6f6b 1200 1a00 2200 2a00 3200"
    " 3800 4200 1200 1a02 0a00 1a00 2200".replace(" ", "")
)

# Bodies kubectl 1.32 sent for `create deployment d --image=nginx:1.27 --image=busybox --port=8080
# --replicas=3`, `create service clusterip s1 --tcp=80:8080 --tcp=443:http`, `create ingress i --class=nginx
# --rule=foo.com/bar*=svc1:8080,tls=my-cert --default-backend=defsvc:http`, `create deployment z --image=nginx
# --replicas=0` and `create job j --image=busybox -- echo hi`.
CREATE_DEPLOYMENT = bytes.fromhex(
    "6b3873000a150a07617070732f7631120a4465706c6f796d656e7412df010a1b0a016412001a0022002a003200380042005a"
    "080a0361707012016412b1010803120a0a080a036170701201641a98010a1a0a0012001a0022002a003200380042005a080a"
    "03617070120164127a12340a056e67696e78120a6e67696e783a312e32372a00320b0a00100018903f22002a0042006a0072"
    "00800100880100900100a2010012260a0762757379626f78120762757379626f782a0042006a007200800100880100900100"
    "a201001a00320042004a0052005800600068008201008a01009a0100c2010022020a00280038001a0c080010001800200028"
    "0038001a002200"
)
CREATE_SERVICE_CLUSTERIP = bytes.fromhex(
    "6b3873000a0d0a0276311207536572766963651288010a1d0a02733112001a0022002a003200380042005a090a0361707012"
    "02733112630a1b0a0738302d38303830120354435018502207080010903f1a0028000a200a083434332d6874747012035443"
    "5018bb03220a080110001a0468747470280012090a03617070120273311a002209436c757374657249503a00420052005a00"
    "600068001a020a001a002200"
)
CREATE_INGRESS = bytes.fromhex(
    "6b3873000a1f0a146e6574776f726b696e672e6b38732e696f2f76311207496e6772657373127a0a110a016912001a002200"
    "2a0032003800420012610a1422120a0664656673766312080a0468747470100012120a07666f6f2e636f6d12076d792d6365"
    "72741a2e0a07666f6f2e636f6d12230a210a1f0a042f626172120f220d0a047376633112050a0010903f1a06507265666978"
    "22056e67696e781a020a001a002200"
)
CREATE_DEPLOYMENT_ZERO_REPLICAS = bytes.fromhex(
    "6b3873000a150a07617070732f7631120a4465706c6f796d656e7412a3010a1b0a017a12001a0022002a003200380042005a"
    "080a0361707012017a12760800120a0a080a0361707012017a1a5e0a1a0a0012001a0022002a003200380042005a080a0361"
    "707012017a124012220a056e67696e7812056e67696e782a0042006a007200800100880100900100a201001a00320042004a"
    "0052005800600068008201008a01009a0100c2010022020a00280038001a0c0800100018002000280038001a002200"
)
CREATE_JOB = bytes.fromhex(
    "6b3873000a0f0a0862617463682f763112034a6f621282010a110a016a12001a0022002a00320038004200126332610a100a"
    "0012001a0022002a00320038004200124d122a0a016a120762757379626f781a046563686f1a0268692a0042006a00720080"
    "0100880100900100a201001a054e65766572320042004a0052005800600068008201008a01009a0100c201001a0820002800"
    "30003a001a002200"
)

# Bodies kubectl 1.32 sent for `auth can-i create pods -n default` and `auth can-i get /healthz`.
AUTH_CAN_I_CREATE_PODS = bytes.fromhex(
    "6b3873000a320a17617574686f72697a6174696f6e2e6b38732e696f2f7631121753656c665375626a656374416363657373"
    "526576696577123f0a100a0012001a0022002a0032003800420012210a1f0a0764656661756c7412066372656174651a0022"
    "002a04706f647332003a001a08080012001a0020001a002200"
)
AUTH_CAN_I_GET_HEALTHZ = bytes.fromhex(
    "6b3873000a320a17617574686f72697a6174696f6e2e6b38732e696f2f7631121753656c665375626a656374416363657373"
    "526576696577122f0a100a0012001a0022002a003200380042001211120f0a082f6865616c74687a12036765741a08080012"
    "001a0020001a002200"
)


# A tiny protobuf encoder, enough to build the messages client-go writes.
def varint(n: int) -> bytes:
    out = bytearray()
    n &= (1 << 64) - 1
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def ld(field: int, payload: bytes | str) -> bytes:
    data = payload.encode() if isinstance(payload, str) else payload
    return varint(field << 3 | 2) + varint(len(data)) + data


def vi(field: int, n: int) -> bytes:
    return varint(field << 3) + varint(n)


def entry(field: int, key: str, value: bytes | str) -> bytes:
    return ld(field, ld(1, key) + ld(2, value))


def envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    return b"k8s\x00" + ld(1, ld(1, api_version) + ld(2, kind)) + ld(2, raw) + ld(3, "") + ld(4, "")


def test_observed_create_namespace_bytes() -> None:
    obj = decode_body(OBSERVED_CREATE_NAMESPACE)
    assert obj == {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "book"},
        "spec": {},
        "status": {},
    }


def test_helm_release_secret_roundtrips_bytes_exactly() -> None:
    release = base64.b64encode(gzip.compress(b'{"name":"r","version":1}' + os.urandom(3000)))
    meta = (
        ld(1, "sh.helm.release.v1.r.v1")
        + ld(3, "book")
        + vi(7, 0)
        + ld(8, vi(1, 1_700_000_000))
        + entry(11, "name", "r")
        + entry(11, "owner", "helm")
        + entry(11, "status", "pending-install")
        + entry(12, "note", "x")
        + ld(13, ld(1, "Deployment") + ld(3, "d") + ld(4, "uid-1") + ld(5, "apps/v1") + vi(6, 1))
        + ld(14, "example.com/f")
    )
    raw = (
        ld(1, meta)
        + entry(2, "release", release)
        + entry(2, "bin", b"\x00\xff\x80")
        + ld(3, "helm.sh/release.v1")
    )
    obj = decode_body(envelope("v1", "Secret", raw))
    assert obj["kind"] == "Secret" and obj["apiVersion"] == "v1"
    assert obj["type"] == "helm.sh/release.v1"
    assert base64.b64decode(obj["data"]["release"]) == release
    assert base64.b64decode(obj["data"]["bin"]) == b"\x00\xff\x80"
    m = obj["metadata"]
    assert m["name"] == "sh.helm.release.v1.r.v1" and m["namespace"] == "book"
    assert m["labels"] == {"name": "r", "owner": "helm", "status": "pending-install"}
    assert m["annotations"] == {"note": "x"}
    assert m["creationTimestamp"] == "2023-11-14T22:13:20Z"
    assert m["ownerReferences"] == [
        {"kind": "Deployment", "name": "d", "uid": "uid-1", "apiVersion": "apps/v1", "controller": True}
    ]
    assert m["finalizers"] == ["example.com/f"]
    assert "generation" not in m


def test_secret_string_data_and_immutable() -> None:
    raw = ld(1, ld(1, "s")) + entry(4, "k", "plain") + vi(5, 1)
    obj = decode_body(envelope("v1", "Secret", raw))
    assert obj["stringData"] == {"k": "plain"} and obj["immutable"] is True


def test_configmap_data_and_binary_data() -> None:
    raw = ld(1, ld(1, "cm")) + entry(2, "a", "1") + entry(3, "b", b"\x01")
    obj = decode_body(envelope("v1", "ConfigMap", raw))
    assert obj["data"] == {"a": "1"} and obj["binaryData"] == {"b": "AQ=="}


def test_delete_options_empty_as_helm_sends_and_with_fields() -> None:
    assert decode_body(envelope("v1", "DeleteOptions", b"")) == {"apiVersion": "v1", "kind": "DeleteOptions"}
    raw = vi(1, 0) + ld(2, ld(1, "u") + ld(2, "7")) + vi(3, 0) + ld(4, "Foreground") + ld(5, "All")
    obj = decode_body(envelope("meta.k8s.io/v1", "DeleteOptions", raw))
    assert obj == {
        "apiVersion": "meta.k8s.io/v1",
        "kind": "DeleteOptions",
        "gracePeriodSeconds": 0,
        "preconditions": {"uid": "u", "resourceVersion": "7"},
        "orphanDependents": False,
        "propagationPolicy": "Foreground",
        "dryRun": ["All"],
    }
    negative = decode_body(envelope("v1", "DeleteOptions", vi(1, -1)))
    assert negative["gracePeriodSeconds"] == -1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "envelope"),
        (b'{"kind":"Namespace"}', "envelope"),
        (b"k8s\x00\x0a\xff", "truncated"),
        (b"k8s\x00\x0a\x05\x0a\x01", "runs past the end"),
        (b"k8s\x00" + ld(2, b""), "no kind"),
        (envelope("apps/v1", "StatefulSet", b""), "kind StatefulSet are not supported"),
        (b"k8s\x00\x0f", "wire type"),
        (envelope("v1", "Namespace", b"\x08\x01"), "wrong wire type"),
        (envelope("v1", "Namespace", ld(1, ld(1, b"\xff\xfe"))), "UTF-8"),
        (b"k8s\x00" + b"\xff" * 11, "varint"),
    ],
)
def test_garbage_is_a_value_error(data: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        decode_body(data)


def test_observed_kubectl_create_deployment() -> None:
    obj = decode_body(CREATE_DEPLOYMENT)
    assert obj["apiVersion"] == "apps/v1" and obj["kind"] == "Deployment"
    assert obj["metadata"] == {"name": "d", "labels": {"app": "d"}}
    spec = obj["spec"]
    assert spec["replicas"] == 3 and spec["selector"] == {"matchLabels": {"app": "d"}}
    assert spec["template"]["metadata"] == {"labels": {"app": "d"}}
    assert spec["template"]["spec"]["containers"] == [
        {"name": "nginx", "image": "nginx:1.27", "ports": [{"containerPort": 8080}], "resources": {}},
        {"name": "busybox", "image": "busybox", "resources": {}},
    ]
    assert "status" not in obj
    assert decode_body(CREATE_DEPLOYMENT_ZERO_REPLICAS)["spec"]["replicas"] == 0


def test_observed_kubectl_create_service_job_and_ingress() -> None:
    svc = decode_body(CREATE_SERVICE_CLUSTERIP)
    assert svc["spec"] == {
        "ports": [
            {"name": "80-8080", "protocol": "TCP", "port": 80, "targetPort": 8080},
            {"name": "443-http", "protocol": "TCP", "port": 443, "targetPort": "http"},
        ],
        "selector": {"app": "s1"},
        "type": "ClusterIP",
    }
    job = decode_body(CREATE_JOB)
    pod_spec = job["spec"]["template"]["spec"]
    assert pod_spec["restartPolicy"] == "Never"
    assert pod_spec["containers"][0]["command"] == ["echo", "hi"]
    ing = decode_body(CREATE_INGRESS)
    assert ing["spec"] == {
        "defaultBackend": {"service": {"name": "defsvc", "port": {"name": "http"}}},
        "tls": [{"hosts": ["foo.com"], "secretName": "my-cert"}],
        "rules": [
            {
                "host": "foo.com",
                "http": {
                    "paths": [
                        {
                            "path": "/bar",
                            "backend": {"service": {"name": "svc1", "port": {"number": 8080}}},
                            "pathType": "Prefix",
                        }
                    ]
                },
            }
        ],
        "ingressClassName": "nginx",
    }


def test_schema_decoder_keeps_pointers_and_rejects_unknown_non_zero_fields() -> None:
    container = ld(1, "c") + ld(2, "img") + ld(8, b"") + vi(16, 0)
    pod_spec = ld(2, container) + vi(11, 0) + ld(14, b"")  # hostNetwork false, empty securityContext
    pod = decode_body(envelope("v1", "Pod", ld(1, ld(1, "p")) + ld(2, pod_spec) + ld(3, ld(1, "Running"))))
    assert pod == {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "img", "resources": {}}]},
    }
    job_spec = vi(2, 0) + vi(10, 1) + vi(5, 0)
    assert decode_body(envelope("batch/v1", "Job", ld(2, job_spec)))["spec"] == {
        "completions": 0,
        "suspend": True,
        "manualSelector": False,
    }
    probe = ld(11, ld(1, ld(1, "/healthz")))  # readinessProbe is not in the table
    with pytest.raises(ValueError, match=r"Container.11 is not supported by the sandbox; send JSON"):
        decode_body(envelope("v1", "Pod", ld(2, ld(2, ld(1, "c") + probe))))


def test_observed_kubectl_auth_can_i_self_subject_access_review() -> None:
    review = decode_body(AUTH_CAN_I_CREATE_PODS)
    assert review == {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "metadata": {},
        "spec": {"resourceAttributes": {"namespace": "default", "verb": "create", "resource": "pods"}},
    }
    assert decode_body(AUTH_CAN_I_GET_HEALTHZ)["spec"] == {
        "nonResourceAttributes": {"path": "/healthz", "verb": "get"}
    }
    attrs = ld(2, "get") + ld(3, "apps") + ld(4, "v1") + ld(5, "deployments") + ld(6, "scale") + ld(7, "web")
    attrs += ld(8, ld(1, "metadata.name=web")) + ld(9, ld(1, "app=web"))  # selectors are ignored
    spec = decode_body(envelope("authorization.k8s.io/v1", "SelfSubjectAccessReview", ld(2, ld(1, attrs))))
    assert spec["spec"]["resourceAttributes"] == {
        "verb": "get",
        "group": "apps",
        "version": "v1",
        "resource": "deployments",
        "subresource": "scale",
        "name": "web",
    }
