"""Decode the few protobuf request bodies stock clients send, into the JSON dicts the server stores.

Why: kubectl's typed calls (``create namespace``, ``create deployment``, ``create service ...``, ``create
job``, ``create serviceaccount``, ``create ingress``, ``auth can-i``) and helm's release storage (Secret
POST/PUT, DELETE with DeleteOptions) send ``application/vnd.kubernetes.protobuf`` and do not retry as JSON
after a 415. The envelope is in KUBE-CLIENTS.md section 7. Field numbers were checked against the bodies
kubectl 1.32 sends.

Go writes every non-pointer field, zero values included, so zero scalars are dropped unless the field is a
pointer (``replicas: 0`` must survive). A non-zero field outside the table is an error rather than silent
data loss: the client is told to send JSON.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

MAGIC = b"k8s\x00"


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("protobuf body is truncated inside a varint")
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("protobuf body has a varint longer than 10 bytes")


def _fields(data: bytes) -> Iterator[tuple[int, int, Any]]:
    """Yield ``(field_number, wire_type, value)``: an int for varint/fixed, bytes when length-delimited."""
    pos = 0
    while pos < len(data):
        tag, pos = _varint(data, pos)
        number, wire = tag >> 3, tag & 7
        if number == 0:
            raise ValueError("protobuf body has a field number 0")
        if wire == 0:
            value, pos = _varint(data, pos)
            yield number, wire, value
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise ValueError("protobuf body is truncated: a field runs past the end")
            yield number, wire, data[pos : pos + length]
            pos += length
        elif wire == 1:
            if pos + 8 > len(data):
                raise ValueError("protobuf body is truncated inside a fixed64 field")
            yield number, wire, int.from_bytes(data[pos : pos + 8], "little")
            pos += 8
        elif wire == 5:
            if pos + 4 > len(data):
                raise ValueError("protobuf body is truncated inside a fixed32 field")
            yield number, wire, int.from_bytes(data[pos : pos + 4], "little")
            pos += 4
        else:
            raise ValueError(f"protobuf body has unsupported wire type {wire}")


def _bytes(wire: int, value: Any, what: str) -> bytes:
    if wire != 2:
        raise ValueError(f"protobuf field {what} has the wrong wire type {wire}")
    result: bytes = value
    return result


def _str(wire: int, value: Any, what: str) -> str:
    try:
        return _bytes(wire, value, what).decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"protobuf field {what} is not valid UTF-8") from e


def _int(wire: int, value: Any, what: str) -> int:
    if wire != 0:
        raise ValueError(f"protobuf field {what} has the wrong wire type {wire}")
    result: int = value
    return result - (1 << 64) if result >= 1 << 63 else result


def _map_entry(raw: bytes, what: str, *, value_bytes: bool) -> tuple[str, Any]:
    key = ""
    value: Any = b"" if value_bytes else ""
    for number, wire, v in _fields(raw):
        if number == 1:
            key = _str(wire, v, f"{what} key")
        elif number == 2:
            value = _bytes(wire, v, f"{what} value") if value_bytes else _str(wire, v, f"{what} value")
    return key, value


def _time(raw: bytes) -> str:
    seconds = 0
    for number, wire, v in _fields(raw):
        if number == 1:
            seconds = _int(wire, v, "Time.seconds")
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _owner_reference(raw: bytes) -> dict[str, Any]:
    ref: dict[str, Any] = {}
    names = {1: "kind", 3: "name", 4: "uid", 5: "apiVersion"}
    for number, wire, v in _fields(raw):
        if number in names:
            ref[names[number]] = _str(wire, v, f"OwnerReference.{names[number]}")
        elif number == 6:
            ref["controller"] = bool(_int(wire, v, "OwnerReference.controller"))
        elif number == 7:
            ref["blockOwnerDeletion"] = bool(_int(wire, v, "OwnerReference.blockOwnerDeletion"))
    return ref


def _object_meta(raw: bytes) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    strings = {1: "name", 2: "generateName", 3: "namespace", 4: "selfLink", 5: "uid", 6: "resourceVersion"}
    for number, wire, v in _fields(raw):
        if number in strings:
            text = _str(wire, v, f"ObjectMeta.{strings[number]}")
            if text:
                meta[strings[number]] = text
        elif number == 7:
            gen = _int(wire, v, "ObjectMeta.generation")
            if gen:
                meta["generation"] = gen
        elif number == 8:
            stamp = _bytes(wire, v, "ObjectMeta.creationTimestamp")
            if stamp:
                meta["creationTimestamp"] = _time(stamp)
        elif number in (11, 12):
            field = "labels" if number == 11 else "annotations"
            k, val = _map_entry(
                _bytes(wire, v, f"ObjectMeta.{field}"), f"ObjectMeta.{field}", value_bytes=False
            )
            meta.setdefault(field, {})[k] = val
        elif number == 13:
            meta.setdefault("ownerReferences", []).append(
                _owner_reference(_bytes(wire, v, "ObjectMeta.ownerReferences"))
            )
        elif number == 14:
            meta.setdefault("finalizers", []).append(_str(wire, v, "ObjectMeta.finalizers"))
    return meta


def _namespace(raw: bytes) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for number, wire, v in _fields(raw):
        if number == 1:
            obj["metadata"] = _object_meta(_bytes(wire, v, "Namespace.metadata"))
        elif number == 2:
            finalizers = [
                _str(w, x, "NamespaceSpec.finalizers")
                for n, w, x in _fields(_bytes(wire, v, "Namespace.spec"))
                if n == 1
            ]
            obj["spec"] = {"finalizers": finalizers} if finalizers else {}
        elif number == 3:
            status: dict[str, Any] = {}
            for n, w, x in _fields(_bytes(wire, v, "Namespace.status")):
                if n == 1 and (phase := _str(w, x, "NamespaceStatus.phase")):
                    status["phase"] = phase
            obj["status"] = status
    return obj


def _data_maps(raw: bytes, kind: str, *, bytes_field: int, string_field: int) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for number, wire, v in _fields(raw):
        if number == 1:
            obj["metadata"] = _object_meta(_bytes(wire, v, f"{kind}.metadata"))
        elif number == bytes_field:
            key, value = _map_entry(_bytes(wire, v, f"{kind}.data"), f"{kind}.data", value_bytes=True)
            field = "data" if kind == "Secret" else "binaryData"
            obj.setdefault(field, {})[key] = base64.b64encode(value).decode("ascii")
        elif number == string_field:
            field = "stringData" if kind == "Secret" else "data"
            key, value = _map_entry(_bytes(wire, v, f"{kind}.{field}"), f"{kind}.{field}", value_bytes=False)
            obj.setdefault(field, {})[key] = value
        elif kind == "Secret" and number == 3:
            if secret_type := _str(wire, v, "Secret.type"):
                obj["type"] = secret_type
        elif number == (5 if kind == "Secret" else 4):
            obj["immutable"] = bool(_int(wire, v, f"{kind}.immutable"))
    return obj


def _secret(raw: bytes) -> dict[str, Any]:
    return _data_maps(raw, "Secret", bytes_field=2, string_field=4)


def _config_map(raw: bytes) -> dict[str, Any]:
    return _data_maps(raw, "ConfigMap", bytes_field=3, string_field=2)


def _delete_options(raw: bytes) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for number, wire, v in _fields(raw):
        if number == 1:
            obj["gracePeriodSeconds"] = _int(wire, v, "DeleteOptions.gracePeriodSeconds")
        elif number == 2:
            pre: dict[str, Any] = {}
            for n, w, x in _fields(_bytes(wire, v, "DeleteOptions.preconditions")):
                if n in (1, 2) and (text := _str(w, x, "Preconditions")):
                    pre["uid" if n == 1 else "resourceVersion"] = text
            obj["preconditions"] = pre
        elif number == 3:
            obj["orphanDependents"] = bool(_int(wire, v, "DeleteOptions.orphanDependents"))
        elif number == 4:
            if policy := _str(wire, v, "DeleteOptions.propagationPolicy"):
                obj["propagationPolicy"] = policy
        elif number == 5:
            obj.setdefault("dryRun", []).append(_str(wire, v, "DeleteOptions.dryRun"))
    return obj


# message -> field number -> (JSON name, kind, flags). kind is a scalar kind or another message's name.
# flags: "rep" (repeated), "ptr" (a Go pointer: zero values are kept), "inline" (fields merge into the
# parent), "skip" (status, which the server owns).
_F = tuple[str, str, str]
_SCHEMAS: dict[str, dict[int, _F]] = {
    "LabelSelector": {
        1: ("matchLabels", "map", ""),
        2: ("matchExpressions", "LabelSelectorRequirement", "rep"),
    },
    "LabelSelectorRequirement": {
        1: ("key", "str", ""),
        2: ("operator", "str", ""),
        3: ("values", "str", "rep"),
    },
    "PodTemplateSpec": {1: ("metadata", "meta", ""), 2: ("spec", "PodSpec", "")},
    "PodSpec": {
        2: ("containers", "Container", "rep"),
        3: ("restartPolicy", "str", ""),
        4: ("terminationGracePeriodSeconds", "int", "ptr"),
        5: ("activeDeadlineSeconds", "int", "ptr"),
        6: ("dnsPolicy", "str", ""),
        7: ("nodeSelector", "map", ""),
        8: ("serviceAccountName", "str", ""),
        9: ("serviceAccount", "str", ""),
        10: ("nodeName", "str", ""),
        11: ("hostNetwork", "bool", ""),
        12: ("hostPID", "bool", ""),
        13: ("hostIPC", "bool", ""),
        15: ("imagePullSecrets", "LocalObjectReference", "rep"),
        16: ("hostname", "str", ""),
        17: ("subdomain", "str", ""),
        19: ("schedulerName", "str", ""),
        20: ("initContainers", "Container", "rep"),
        24: ("priorityClassName", "str", ""),
    },
    "Container": {
        1: ("name", "str", ""),
        2: ("image", "str", ""),
        3: ("command", "str", "rep"),
        4: ("args", "str", "rep"),
        5: ("workingDir", "str", ""),
        6: ("ports", "ContainerPort", "rep"),
        7: ("env", "EnvVar", "rep"),
        8: ("resources", "ResourceRequirements", ""),
        13: ("terminationMessagePath", "str", ""),
        14: ("imagePullPolicy", "str", ""),
        16: ("stdin", "bool", ""),
        17: ("stdinOnce", "bool", ""),
        18: ("tty", "bool", ""),
        20: ("terminationMessagePolicy", "str", ""),
    },
    "ContainerPort": {
        1: ("name", "str", ""),
        2: ("hostPort", "int", ""),
        3: ("containerPort", "int", ""),
        4: ("protocol", "str", ""),
        5: ("hostIP", "str", ""),
    },
    "EnvVar": {1: ("name", "str", ""), 2: ("value", "str", "")},
    "ResourceRequirements": {1: ("limits", "quantities", ""), 2: ("requests", "quantities", "")},
    "LocalObjectReference": {1: ("name", "str", "")},
    "ObjectReference": {
        1: ("kind", "str", ""),
        2: ("namespace", "str", ""),
        3: ("name", "str", ""),
        4: ("uid", "str", ""),
        5: ("apiVersion", "str", ""),
        6: ("resourceVersion", "str", ""),
        7: ("fieldPath", "str", ""),
    },
    "Pod": {1: ("metadata", "meta", ""), 2: ("spec", "PodSpec", ""), 3: ("status", "", "skip")},
    "Deployment": {1: ("metadata", "meta", ""), 2: ("spec", "DeploymentSpec", ""), 3: ("status", "", "skip")},
    "DeploymentSpec": {
        1: ("replicas", "int", "ptr"),
        2: ("selector", "LabelSelector", ""),
        3: ("template", "PodTemplateSpec", ""),
        4: ("strategy", "DeploymentStrategy", ""),
        5: ("minReadySeconds", "int", ""),
        6: ("revisionHistoryLimit", "int", "ptr"),
        7: ("paused", "bool", ""),
        9: ("progressDeadlineSeconds", "int", "ptr"),
    },
    "DeploymentStrategy": {1: ("type", "str", ""), 2: ("rollingUpdate", "RollingUpdateDeployment", "")},
    "RollingUpdateDeployment": {1: ("maxUnavailable", "intstr", ""), 2: ("maxSurge", "intstr", "")},
    "Service": {1: ("metadata", "meta", ""), 2: ("spec", "ServiceSpec", ""), 3: ("status", "", "skip")},
    "ServiceSpec": {
        1: ("ports", "ServicePort", "rep"),
        2: ("selector", "map", ""),
        3: ("clusterIP", "str", ""),
        4: ("type", "str", ""),
        5: ("externalIPs", "str", "rep"),
        7: ("sessionAffinity", "str", ""),
        8: ("loadBalancerIP", "str", ""),
        10: ("externalName", "str", ""),
        11: ("externalTrafficPolicy", "str", ""),
    },
    "ServicePort": {
        1: ("name", "str", ""),
        2: ("protocol", "str", ""),
        3: ("port", "int", ""),
        4: ("targetPort", "intstr", ""),
        5: ("nodePort", "int", ""),
        6: ("appProtocol", "str", "ptr"),
    },
    "Job": {1: ("metadata", "meta", ""), 2: ("spec", "JobSpec", ""), 3: ("status", "", "skip")},
    "JobSpec": {
        1: ("parallelism", "int", "ptr"),
        2: ("completions", "int", "ptr"),
        3: ("activeDeadlineSeconds", "int", "ptr"),
        4: ("selector", "LabelSelector", ""),
        5: ("manualSelector", "bool", "ptr"),
        6: ("template", "PodTemplateSpec", ""),
        7: ("backoffLimit", "int", "ptr"),
        8: ("ttlSecondsAfterFinished", "int", "ptr"),
        9: ("completionMode", "str", "ptr"),
        10: ("suspend", "bool", "ptr"),
    },
    "ServiceAccount": {
        1: ("metadata", "meta", ""),
        2: ("secrets", "ObjectReference", "rep"),
        3: ("imagePullSecrets", "LocalObjectReference", "rep"),
        4: ("automountServiceAccountToken", "bool", "ptr"),
    },
    "Ingress": {1: ("metadata", "meta", ""), 2: ("spec", "IngressSpec", ""), 3: ("status", "", "skip")},
    "IngressSpec": {
        1: ("defaultBackend", "IngressBackend", ""),
        2: ("tls", "IngressTLS", "rep"),
        3: ("rules", "IngressRule", "rep"),
        4: ("ingressClassName", "str", "ptr"),
    },
    "IngressBackend": {4: ("service", "IngressServiceBackend", "")},
    "IngressServiceBackend": {1: ("name", "str", ""), 2: ("port", "ServiceBackendPort", "")},
    "ServiceBackendPort": {1: ("name", "str", ""), 2: ("number", "int", "")},
    "IngressTLS": {1: ("hosts", "str", "rep"), 2: ("secretName", "str", "")},
    "IngressRule": {1: ("host", "str", ""), 2: ("", "IngressRuleValue", "inline")},
    "IngressRuleValue": {1: ("http", "HTTPIngressRuleValue", "")},
    "HTTPIngressRuleValue": {1: ("paths", "HTTPIngressPath", "rep")},
    "HTTPIngressPath": {
        1: ("path", "str", ""),
        2: ("backend", "IngressBackend", ""),
        3: ("pathType", "str", "ptr"),
    },
    "SelfSubjectAccessReview": {
        1: ("metadata", "meta", ""),
        2: ("spec", "SelfSubjectAccessReviewSpec", ""),
        3: ("status", "", "skip"),
    },
    "SelfSubjectAccessReviewSpec": {
        1: ("resourceAttributes", "ResourceAttributes", ""),
        2: ("nonResourceAttributes", "NonResourceAttributes", ""),
    },
    "ResourceAttributes": {
        1: ("namespace", "str", ""),
        2: ("verb", "str", ""),
        3: ("group", "str", ""),
        4: ("version", "str", ""),
        5: ("resource", "str", ""),
        6: ("subresource", "str", ""),
        7: ("name", "str", ""),
        8: ("fieldSelector", "", "skip"),
        9: ("labelSelector", "", "skip"),
    },
    "NonResourceAttributes": {1: ("path", "str", ""), 2: ("verb", "str", "")},
}


def _all_zero(wire: int, value: Any) -> bool:
    """True when an unknown field carries nothing: a zero varint, or empty bytes, or only such fields."""
    if wire in (0, 1, 5):
        return not value
    if not value:
        return True
    try:
        return all(_all_zero(w, v) for _, w, v in _fields(value))
    except ValueError:
        return False


def _int_or_string(raw: bytes) -> int | str:
    kind, int_val, str_val = 0, 0, ""
    for number, wire, v in _fields(raw):
        if number == 1:
            kind = _int(wire, v, "IntOrString.type")
        elif number == 2:
            int_val = _int(wire, v, "IntOrString.intVal")
        elif number == 3:
            str_val = _str(wire, v, "IntOrString.strVal")
    return str_val if kind == 1 else int_val


def _quantity(raw: bytes) -> str:
    return next((_str(w, v, "Quantity.string") for n, w, v in _fields(raw) if n == 1), "")


def _message(raw: bytes, name: str) -> dict[str, Any]:
    schema = _SCHEMAS[name]
    out: dict[str, Any] = {}
    for number, wire, v in _fields(raw):
        field = schema.get(number)
        if field is None:
            if _all_zero(wire, v):
                continue
            raise ValueError(f"protobuf field {name}.{number} is not supported by the sandbox; send JSON")
        json_name, kind, flags = field
        what = f"{name}.{json_name or number}"
        if flags == "skip":
            continue
        value: Any
        if kind == "str":
            value = _str(wire, v, what)
        elif kind == "int":
            value = _int(wire, v, what)
        elif kind == "bool":
            value = bool(_int(wire, v, what))
        elif kind in ("map", "quantities"):
            key, item = _map_entry(_bytes(wire, v, what), what, value_bytes=kind == "quantities")
            out.setdefault(json_name, {})[key] = _quantity(item) if kind == "quantities" else item
            continue
        elif kind == "intstr":
            value = _int_or_string(_bytes(wire, v, what))
        elif kind == "meta":
            value = _object_meta(_bytes(wire, v, what))
        else:
            value = _message(_bytes(wire, v, what), kind)
            if flags == "inline":
                out.update(value)
                continue
        if flags == "rep":
            out.setdefault(json_name, []).append(value)
        elif value or flags == "ptr" or isinstance(value, dict):
            out[json_name] = value
    return out


def _schema_decoder(kind: str) -> Callable[[bytes], dict[str, Any]]:
    return lambda raw: _message(raw, kind)


_DECODERS: dict[str, Callable[[bytes], dict[str, Any]]] = {
    "Namespace": _namespace,
    "Secret": _secret,
    "ConfigMap": _config_map,
    "DeleteOptions": _delete_options,
    **{
        kind: _schema_decoder(kind)
        for kind in (
            "Pod",
            "Deployment",
            "Service",
            "Job",
            "ServiceAccount",
            "Ingress",
            "SelfSubjectAccessReview",
        )
    },
}


def decode_body(data: bytes) -> dict[str, Any]:
    """Decode a ``k8s\\0``-enveloped protobuf body into the object's JSON form.

    Raises ValueError for a missing envelope, malformed wire data, or a kind we do not decode.
    """
    if not data.startswith(MAGIC):
        raise ValueError("protobuf body does not start with the k8s\\0 envelope")
    api_version = kind = ""
    raw: bytes | None = None
    for number, wire, v in _fields(data[len(MAGIC) :]):
        if number == 1:
            for n, w, x in _fields(_bytes(wire, v, "Unknown.typeMeta")):
                if n == 1:
                    api_version = _str(w, x, "TypeMeta.apiVersion")
                elif n == 2:
                    kind = _str(w, x, "TypeMeta.kind")
        elif number == 2:
            raw = _bytes(wire, v, "Unknown.raw")
        elif number in (3, 4):
            encoding = _str(wire, v, "Unknown.contentEncoding/contentType")
            if encoding:
                raise ValueError(f"protobuf body uses unsupported content encoding {encoding!r}")
    if not kind:
        raise ValueError("protobuf body carries no kind")
    decoder = _DECODERS.get(kind)
    if decoder is None:
        raise ValueError(f"protobuf bodies of kind {kind} are not supported; send JSON")
    obj = decoder(raw or b"")
    result: dict[str, Any] = {"apiVersion": api_version, "kind": kind} if api_version else {"kind": kind}
    result.update(obj)
    return result


__all__ = ["MAGIC", "decode_body"]
