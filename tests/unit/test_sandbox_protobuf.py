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
        (envelope("v1", "Pod", b""), "kind Pod are not supported"),
        (b"k8s\x00\x0f", "wire type"),
        (envelope("v1", "Namespace", b"\x08\x01"), "wrong wire type"),
        (envelope("v1", "Namespace", ld(1, ld(1, b"\xff\xfe"))), "UTF-8"),
        (b"k8s\x00" + b"\xff" * 11, "varint"),
    ],
)
def test_garbage_is_a_value_error(data: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        decode_body(data)
