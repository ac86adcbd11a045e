"""``kubectl get`` columns of the networking, discovery, storage, coordination, RBAC and admission kinds."""

from __future__ import annotations

from typing import Any

from tui.sandbox.tables.cells import (
    Layout,
    Obj,
    age,
    columns,
    created_at,
    limited,
    meta,
    name,
    none,
    selector,
    spec,
    status,
)

DEFAULT_CLASS = (
    "storageclass.kubernetes.io/is-default-class",
    "storageclass.beta.kubernetes.io/is-default-class",
)


def _ingress(o: Obj) -> list[Any]:
    lb = (status(o).get("loadBalancer") or {}).get("ingress") or []
    return [
        name(o),
        none(spec(o).get("ingressClassName")),
        ",".join(str(r.get("host", "*")) for r in spec(o).get("rules") or []) or "*",
        none(",".join(str(i.get("ip") or i.get("hostname")) for i in lb)),
        "80, 443" if spec(o).get("tls") else "80",
        age(o),
    ]


def _parameters(o: Obj) -> str:
    p = spec(o).get("parameters")
    if not p:
        return "<none>"
    kind = f"{p.get('kind')}.{p['apiGroup']}" if p.get("apiGroup") else str(p.get("kind"))
    return f"{kind}/{p.get('name')}"


def _slice_ports(o: Obj) -> str:
    ports = o.get("ports")
    if not ports:
        return "<unset>"
    return limited([str(p.get("port")) if p.get("port") is not None else "<unset>" for p in ports])


def _slice_endpoints(o: Obj) -> str:
    addrs = [str(a) for e in o.get("endpoints") or [] for a in e.get("addresses") or []]
    return limited(addrs) if addrs else "<unset>"


def _storage_class_name(o: Obj) -> str:
    annotations = meta(o).get("annotations") or {}
    default = any(annotations.get(k) == "true" for k in DEFAULT_CLASS)
    return f"{name(o)} (default)" if default else name(o)


def _subjects(o: Obj, kind: str) -> str:
    found = []
    for s in o.get("subjects") or []:
        if s.get("kind") == kind:
            found.append(
                f"{s.get('namespace')}/{s.get('name')}" if kind == "ServiceAccount" else str(s.get("name"))
            )
    return ", ".join(found)


def _binding(o: Obj) -> list[Any]:
    ref = o.get("roleRef") or {}
    return [
        name(o),
        f"{ref.get('kind')}/{ref.get('name')}",
        age(o),
        _subjects(o, "User"),
        _subjects(o, "Group"),
        _subjects(o, "ServiceAccount"),
    ]


BINDING: Layout = (
    columns("Name|Role|Age", wide="Users|Groups|ServiceAccounts"),
    _binding,
)
CREATED_AT: Layout = (columns("Name|Created At:date"), lambda o: [name(o), created_at(o)])
WEBHOOKS: Layout = (
    columns("Name|Webhooks:integer|Age"),
    lambda o: [name(o), len(o.get("webhooks") or []), age(o)],
)

LAYOUTS: dict[str, Layout] = {
    "ingresses.networking.k8s.io": (
        columns("Name|Class|Hosts|Address|Ports|Age"),
        _ingress,
    ),
    "ingressclasses.networking.k8s.io": (
        columns("Name|Controller|Parameters|Age"),
        lambda o: [name(o), spec(o).get("controller", ""), _parameters(o), age(o)],
    ),
    "networkpolicies.networking.k8s.io": (
        columns("Name|Pod-Selector|Age"),
        lambda o: [name(o), selector(spec(o).get("podSelector")), age(o)],
    ),
    "endpointslices.discovery.k8s.io": (
        columns("Name|AddressType|Ports|Endpoints|Age"),
        lambda o: [name(o), o.get("addressType", ""), _slice_ports(o), _slice_endpoints(o), age(o)],
    ),
    "storageclasses.storage.k8s.io": (
        columns("Name|Provisioner|ReclaimPolicy|VolumeBindingMode|AllowVolumeExpansion|Age"),
        lambda o: [
            _storage_class_name(o),
            o.get("provisioner", ""),
            o.get("reclaimPolicy", "Delete"),
            o.get("volumeBindingMode", "Immediate"),
            str(bool(o.get("allowVolumeExpansion"))).lower(),
            age(o),
        ],
    ),
    "volumeattachments.storage.k8s.io": (
        columns("Name|Attacher|PV|Node|Attached:boolean|Age"),
        lambda o: [
            name(o),
            spec(o).get("attacher", ""),
            (spec(o).get("source") or {}).get("persistentVolumeName", ""),
            spec(o).get("nodeName", ""),
            bool(status(o).get("attached")),
            age(o),
        ],
    ),
    "leases.coordination.k8s.io": (
        columns("Name|Holder|Age"),
        lambda o: [name(o), spec(o).get("holderIdentity", ""), age(o)],
    ),
    "roles.rbac.authorization.k8s.io": CREATED_AT,
    "clusterroles.rbac.authorization.k8s.io": CREATED_AT,
    "rolebindings.rbac.authorization.k8s.io": BINDING,
    "clusterrolebindings.rbac.authorization.k8s.io": BINDING,
    "priorityclasses.scheduling.k8s.io": (
        columns("Name|Value:integer|Global-Default:boolean|Age|PreemptionPolicy"),
        lambda o: [
            name(o),
            o.get("value", 0),
            bool(o.get("globalDefault")),
            age(o),
            o.get("preemptionPolicy", "PreemptLowerPriority"),
        ],
    ),
    "runtimeclasses.node.k8s.io": (
        columns("Name|Handler|Age"),
        lambda o: [name(o), o.get("handler", ""), age(o)],
    ),
    "mutatingwebhookconfigurations.admissionregistration.k8s.io": WEBHOOKS,
    "validatingwebhookconfigurations.admissionregistration.k8s.io": WEBHOOKS,
    "customresourcedefinitions.apiextensions.k8s.io": CREATED_AT,
    "apiservices.apiregistration.k8s.io": (
        columns("Name|Service|Available|Age"),
        lambda o: [
            name(o),
            "Local"
            if not spec(o).get("service")
            else f"{spec(o)['service'].get('namespace')}/{spec(o)['service'].get('name')}",
            next(
                (c.get("status") for c in status(o).get("conditions") or [] if c.get("type") == "Available"),
                "True",
            ),
            age(o),
        ],
    ),
}
