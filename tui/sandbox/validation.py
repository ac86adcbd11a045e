"""Admission for the sandbox API: validation (422 with causes) and the API server's defaulting.

Both run synchronously on the write path, because clients read their own writes straight back: kubectl
patches a Service to NodePort and immediately asks for ``.spec.ports[*].nodePort``, and helm ``--wait``
needs a Deployment's ``spec.replicas`` and a Service's ``clusterIP`` on the very next GET. The defaults hook
is a store admission hook, so objects written by controllers are treated like objects written over HTTP.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

from tui.errors import Invalid
from tui.names import (
    DNS_LABEL_MAX,
    DNS_SUBDOMAIN_MAX,
    is_dns_label,
    is_dns_subdomain,
    is_label_value,
    qualified_name_problem,
)
from tui.sandbox import portholds
from tui.sandbox.resources import CRD_KEY, ResourceType
from tui.sandbox.store import Obj, Store, invalid

MAX_DATA_BYTES = 1024 * 1024
MAX_ANNOTATION_BYTES = 256 * 1024
_LABEL_NAMES = frozenset({"namespaces", "services"})
NODE_PORT_MIN, NODE_PORT_MAX = 30000, 32767


def _kind_label(rt: ResourceType) -> str:
    return f"{rt.kind}.{rt.group}" if rt.group else rt.kind


def invalid_field(
    rt: ResourceType, name: str, field: str, message: str, *, type_: str = "FieldValueInvalid"
) -> Invalid:
    """A 422 Invalid with one cause."""
    return invalid(rt.key, name, _kind_label(rt), [{"type": type_, "message": message, "field": field}])


def _name_problem(value: str, *, label: bool) -> str | None:
    limit = DNS_LABEL_MAX if label else DNS_SUBDOMAIN_MAX
    if len(value) > limit:
        return f"must be no more than {limit} characters"
    if not (is_dns_label(value) if label else is_dns_subdomain(value)):
        what = "RFC 1123 label" if label else "RFC 1123 subdomain"
        chars = "'-'" if label else "'-' or '.'"
        return (
            f"a lowercase {what} must consist of lower case alphanumeric characters, {chars}, and must "
            "start and end with an alphanumeric character"
        )
    return None


def _map_problems(value: dict[str, str], field: str, *, values: bool) -> list[dict[str, str]]:
    """Label and annotation keys are qualified names; label values are short names or empty."""
    causes = []
    for k, v in value.items():
        problem = qualified_name_problem(k)
        if problem:
            causes.append(
                {"type": "FieldValueInvalid", "field": field, "message": f'Invalid value: "{k}": {problem}'}
            )
        elif values and not is_label_value(v):
            message = (
                f'Invalid value: "{v}": a valid label must be an empty string or consist of alphanumeric '
                "characters, '-', '_' or '.', and must start and end with an alphanumeric character "
                "(at most 63 characters)"
            )
            causes.append({"type": "FieldValueInvalid", "field": f"{field}", "message": message})
    return causes


def _size_problems(obj: Obj) -> list[dict[str, str]]:
    """ConfigMaps and Secrets hold at most 1 MiB of data, counted as the apiserver counts it."""
    total = 0
    for field in ("data", "binaryData", "stringData"):
        value = obj.get(field)
        if isinstance(value, dict):
            total += sum(len(str(k)) + len(str(v)) for k, v in value.items())
    if total <= MAX_DATA_BYTES:
        return []
    return [
        {
            "type": "FieldValueTooLong",
            "field": "",
            "message": f"Too long: must have at most {MAX_DATA_BYTES} bytes",
        }
    ]


def validate(rt: ResourceType, obj: Obj, *, create: bool) -> None:
    """Raise Invalid (422, with causes) for a bad name or a missing required field."""
    meta = obj.get("metadata") or {}
    name = str(meta.get("name") or "")
    causes: list[dict[str, str]] = []

    def need(
        cond: bool, field: str, message: str = "Required value", type_: str = "FieldValueRequired"
    ) -> None:
        if not cond:
            causes.append({"type": type_, "message": message, "field": field})

    if not name:
        need(
            bool(create and meta.get("generateName")),
            "metadata.name",
            "Required value: name or generateName is required",
        )
    else:
        problem = _name_problem(name, label=rt.key in _LABEL_NAMES)
        if problem:
            causes.append(
                {
                    "type": "FieldValueInvalid",
                    "message": f'Invalid value: "{name}": {problem}',
                    "field": "metadata.name",
                }
            )
    for field in ("labels", "annotations"):
        value = meta.get(field)
        if value is not None and (
            not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values())
        ):
            causes.append(
                {
                    "type": "FieldValueInvalid",
                    "message": "Invalid value: values must be strings",
                    "field": f"metadata.{field}",
                }
            )
        elif value:
            causes.extend(_map_problems(value, f"metadata.{field}", values=field == "labels"))
            if (
                field == "annotations"
                and sum(len(k) + len(v) for k, v in value.items()) > MAX_ANNOTATION_BYTES
            ):
                message = f"Too long: must have at most {MAX_ANNOTATION_BYTES} bytes"
                causes.append(
                    {"type": "FieldValueTooLong", "field": "metadata.annotations", "message": message}
                )
    spec = obj.get("spec")
    if spec is not None and not isinstance(spec, dict):
        causes.append(
            {"type": "FieldValueInvalid", "message": "Invalid value: must be an object", "field": "spec"}
        )
        spec = {}
    spec = spec or {}
    key = rt.key
    if key == "pods":
        _containers(spec, "spec", need)
    elif key in ("deployments.apps", "replicasets.apps", "jobs.batch"):
        if key != "jobs.batch":
            need(isinstance(spec.get("selector"), dict) and bool(spec.get("selector")), "spec.selector")
        template = spec.get("template")
        need(isinstance(template, dict), "spec.template")
        if isinstance(template, dict):
            _containers(template.get("spec") or {}, "spec.template.spec", need)
            sel = (
                (spec.get("selector") or {}).get("matchLabels")
                if isinstance(spec.get("selector"), dict)
                else None
            )
            labels = (template.get("metadata") or {}).get("labels") or {}
            if isinstance(sel, dict) and sel and any(labels.get(k) != v for k, v in sel.items()):
                causes.append(
                    {
                        "type": "FieldValueInvalid",
                        "field": "spec.template.metadata.labels",
                        "message": "Invalid value: `selector` does not match template `labels`",
                    }
                )
        replicas = spec.get("replicas")
        if replicas is not None and (
            not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0
        ):
            causes.append(
                {
                    "type": "FieldValueInvalid",
                    "field": "spec.replicas",
                    "message": "Invalid value: must be greater than or equal to 0",
                }
            )
    elif key == "services":
        stype = spec.get("type", "ClusterIP")
        if stype not in ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName"):
            causes.append(
                {
                    "type": "FieldValueNotSupported",
                    "field": "spec.type",
                    "message": f'Unsupported value: "{stype}": supported values: "ClusterIP", '
                    '"ExternalName", "LoadBalancer", "NodePort"',
                }
            )
        ports = spec.get("ports") or []
        if stype != "ExternalName" and spec.get("clusterIP") != "None":
            need(bool(ports), "spec.ports")
        for i, p in enumerate(ports if isinstance(ports, list) else []):
            port = p.get("port") if isinstance(p, dict) else None
            if not isinstance(port, int) or not 1 <= port <= 65535:
                causes.append(
                    {
                        "type": "FieldValueRequired" if port is None else "FieldValueInvalid",
                        "field": f"spec.ports[{i}].port",
                        "message": "Required value"
                        if port is None
                        else f"Invalid value: {port}: must be between 1 and 65535, inclusive",
                    }
                )
            node_port = p.get("nodePort") if isinstance(p, dict) else None
            if node_port is not None and (
                not isinstance(node_port, int) or not NODE_PORT_MIN <= node_port <= NODE_PORT_MAX
            ):
                causes.append(
                    {
                        "type": "FieldValueInvalid",
                        "field": f"spec.ports[{i}].nodePort",
                        "message": f"Invalid value: {node_port}: provided port is not in the valid range. "
                        f"The range of valid ports is {NODE_PORT_MIN}-{NODE_PORT_MAX}",
                    }
                )
            if len(ports) > 1 and isinstance(p, dict) and not p.get("name"):
                causes.append(
                    {
                        "type": "FieldValueRequired",
                        "field": f"spec.ports[{i}].name",
                        "message": "Required value",
                    }
                )
    if key in ("secrets", "configmaps"):
        causes.extend(_size_problems(obj))
    if key == "secrets":
        for k, v in (obj.get("data") or {}).items():
            try:
                base64.b64decode(str(v), validate=True)
            except (binascii.Error, ValueError):
                causes.append(
                    {
                        "type": "FieldValueInvalid",
                        "field": f"data[{k}]",
                        "message": "Invalid value: <hidden>: illegal base64 data",
                    }
                )
    elif key == "configmaps":
        for k, v in (obj.get("data") or {}).items():
            if not isinstance(v, str):
                causes.append(
                    {
                        "type": "FieldValueInvalid",
                        "field": f"data[{k}]",
                        "message": "Invalid value: must be a string",
                    }
                )
    elif key == CRD_KEY:
        names = spec.get("names") or {}
        need(bool(spec.get("group")), "spec.group")
        need(bool(names.get("plural")), "spec.names.plural")
        need(bool(names.get("kind")), "spec.names.kind")
        need(bool(spec.get("versions")), "spec.versions")
        if (
            spec.get("group")
            and names.get("plural")
            and name
            and name != f"{names['plural']}.{spec['group']}"
        ):
            causes.append(
                {
                    "type": "FieldValueInvalid",
                    "field": "metadata.name",
                    "message": f'Invalid value: "{name}": must be spec.names.plural+"."+spec.group',
                }
            )
    if causes:
        raise invalid(rt.key, name, _kind_label(rt), causes)


def _containers(pod_spec: Any, path: str, need: Any) -> None:
    containers = pod_spec.get("containers") if isinstance(pod_spec, dict) else None
    need(isinstance(containers, list) and bool(containers), f"{path}.containers")
    for i, c in enumerate(containers if isinstance(containers, list) else []):
        c = c if isinstance(c, dict) else {}
        need(bool(c.get("name")), f"{path}.containers[{i}].name")
        need(bool(c.get("image")), f"{path}.containers[{i}].image")


# ---------------------------------------------------------------------------------------------- defaulting
def _stable_pick(seed: str, lo: int, hi: int, taken: set[int], *, hold_for: object = None) -> int:
    """A deterministic free number in [lo, hi], so repeated demo runs get the same IPs and ports.
    ``hold_for``: the number is a nodePort, which the data plane really binds on 127.0.0.1, so skip ports
    something on the host has and hold the one picked for that owner (see :mod:`tui.sandbox.portholds`)."""
    span = hi - lo + 1
    start = int(hashlib.sha256(seed.encode()).hexdigest()[:8], 16) % span
    for i in range(span):
        candidate = lo + (start + i) % span
        if candidate not in taken and (hold_for is None or portholds.hold(candidate, owner=hold_for)):
            return candidate
    raise invalid(
        "services",
        "",
        "Service",
        [{"type": "FieldValueInvalid", "field": "spec.ports", "message": "range is full: no free node port"}],
    )


def _service_defaults(store: Store, obj: Obj, old: Obj | None) -> None:
    spec = obj.setdefault("spec", {})
    old_spec = (old or {}).get("spec") or {}
    stype = spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    ports = spec.get("ports") or []
    for p in ports:
        if isinstance(p, dict):
            p.setdefault("protocol", "TCP")
            if "targetPort" not in p and "port" in p:
                p["targetPort"] = p["port"]
    meta = obj.get("metadata") or {}
    ident = f"{meta.get('namespace')}/{meta.get('name')}"
    services, _ = store.list("services")
    if stype == "ExternalName":
        spec.pop("clusterIP", None)
        spec.pop("clusterIPs", None)
    elif not spec.get("clusterIP"):
        if old_spec.get("clusterIP"):
            spec["clusterIP"] = old_spec["clusterIP"]
        else:
            used = set()
            for s in services:
                ip = (s.get("spec") or {}).get("clusterIP") or ""
                if ip.startswith("10.96."):
                    a, b = ip.split(".")[2:4]
                    used.add(int(a) * 256 + int(b))
            used.update({0, 1, 10})  # network, the kubernetes Service, kube-dns
            n = _stable_pick(ident, 2, 65534, used)
            spec["clusterIP"] = f"10.96.{n // 256}.{n % 256}"
    if spec.get("clusterIP"):
        spec["clusterIPs"] = [spec["clusterIP"]]
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
    if stype in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
        old_ports = {
            p.get("port"): p.get("nodePort") for p in old_spec.get("ports") or [] if isinstance(p, dict)
        }
        taken = {
            int(p["nodePort"])
            for s in services
            if (s.get("metadata") or {}).get("uid") != meta.get("uid")
            for p in (s.get("spec") or {}).get("ports") or []
            if isinstance(p, dict) and p.get("nodePort")
        }
        for i, p in enumerate(ports):
            if isinstance(p, dict) and isinstance(p.get("nodePort"), int) and p["nodePort"] in taken:
                raise invalid(
                    "services",
                    str(meta.get("name", "")),
                    "Service",
                    [
                        {
                            "type": "FieldValueInvalid",
                            "field": f"spec.ports[{i}].nodePort",
                            "message": f"Invalid value: {p['nodePort']}: provided port is already allocated",
                        }
                    ],
                )
        taken.update(
            int(p["nodePort"]) for p in ports if isinstance(p, dict) and isinstance(p.get("nodePort"), int)
        )
        for p in ports:
            if isinstance(p, dict) and not p.get("nodePort"):
                reuse = old_ports.get(p.get("port"))
                if reuse and reuse not in taken:
                    p["nodePort"] = reuse
                else:
                    p["nodePort"] = _stable_pick(
                        f"{ident}:{p.get('port')}", NODE_PORT_MIN, NODE_PORT_MAX, taken, hold_for=store
                    )
                taken.add(p["nodePort"])
    else:
        for p in ports:
            if isinstance(p, dict):
                p.pop("nodePort", None)
        spec.pop("externalTrafficPolicy", None)
    obj.setdefault("status", {"loadBalancer": {}})


def make_defaults_hook(store: Store) -> Any:
    """The store admission hook that applies API-server defaults (see the module docstring)."""

    def hook(operation: str, key: str, obj: Obj, old: Obj | None) -> None:
        meta = obj.setdefault("metadata", {})
        if key == "namespaces":
            name = meta.get("name", "")
            meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = name
            obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
            status = obj.get("status") or {}
            if not status.get("phase"):
                obj["status"] = {**status, "phase": "Active"}
        elif key == "services":
            _service_defaults(store, obj, old)
        elif key in ("deployments.apps", "replicasets.apps"):
            spec = obj.setdefault("spec", {})
            if spec.get("replicas") is None:
                spec["replicas"] = 1
            if key == "deployments.apps":
                strategy = spec.get("strategy") or {}
                if not strategy.get("type"):  # kubectl create deployment sends "strategy": {}
                    strategy = {"type": "RollingUpdate", **strategy}
                if strategy["type"] == "RollingUpdate":
                    strategy.setdefault("rollingUpdate", {"maxUnavailable": "25%", "maxSurge": "25%"})
                spec["strategy"] = strategy
                spec.setdefault("revisionHistoryLimit", 10)
                spec.setdefault("progressDeadlineSeconds", 600)
        elif key == "secrets":
            string_data = obj.pop("stringData", None)
            if isinstance(string_data, dict):
                data = obj.setdefault("data", {})
                for k, v in string_data.items():
                    data[k] = base64.b64encode(str(v).encode()).decode()
            obj.setdefault("type", "Opaque")
        elif key == CRD_KEY:
            names = (obj.get("spec") or {}).get("names") or {}
            accepted = {k: v for k, v in names.items()}
            accepted.setdefault("singular", str(names.get("kind", "")).lower())
            accepted.setdefault("listKind", f"{names.get('kind', '')}List")
            stamp = meta.get("creationTimestamp")
            obj["status"] = {
                "acceptedNames": accepted,
                "storedVersions": [
                    v.get("name")
                    for v in (obj.get("spec") or {}).get("versions") or []
                    if isinstance(v, dict) and v.get("storage")
                ],
                "conditions": [
                    {
                        "type": "NamesAccepted",
                        "status": "True",
                        "reason": "NoConflicts",
                        "message": "no conflicts found",
                        "lastTransitionTime": stamp,
                    },
                    {
                        "type": "Established",
                        "status": "True",
                        "reason": "InitialNamesAccepted",
                        "message": "the initial names have been accepted",
                        "lastTransitionTime": stamp,
                    },
                ],
            }

    return hook
