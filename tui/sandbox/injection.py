"""Simulated Istio sidecar injection: a store admission hook that edits pods as istiod's webhook would.

Why an admission hook: Istio injects at pod creation, through the ``istio-sidecar-injector``
MutatingWebhookConfiguration, so a pod is stored with its sidecar from the first write and pods that existed
before injection was enabled keep running without one until they are restarted. The hook reproduces exactly
that: it runs only on CREATE and only when the webhook configuration exists and one of its webhooks'
``namespaceSelector`` and ``objectSelector`` match.

Revisions: every istiod revision R installs ``istio-sidecar-injector-R`` (the default one plain
``istio-sidecar-injector``), and a revision tag is an ``istio-revision-tag-<tag>`` configuration pointing at a
revision. Their selectors already say which namespace goes where (``istio.io/rev=R``, or
``istio-injection=enabled`` for the default revision or the ``default`` tag), so the hook only has to call
them in the API server's order (by name) and let the first match inject, with the proxy image and the
``revision`` of the istiod it names (its ``istio.io/rev`` label).

With a kubelet of 1.33 or newer, Istio's default ``ENABLE_NATIVE_SIDECARS=auto`` makes ``istio-proxy`` a
native sidecar: an init container with ``restartPolicy: Always`` instead of an entry in ``containers``.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from tui.istio.sidecar import STATUS_ANNOTATION, TEMPLATES_ANNOTATION
from tui.labels import selector_matches
from tui.sandbox.store import Obj, Store

log = logging.getLogger(__name__)

WEBHOOK_KEY = "mutatingwebhookconfigurations.admissionregistration.k8s.io"
WEBHOOK_PREFIX = "istio-sidecar-injector"
TAG_PREFIX = "istio-revision-tag-"
INJECT_ANNOTATION = "sidecar.istio.io/inject"
DEFAULT_TAG = "1.28.0"
PROXY_HUB = "docker.io/istio"
_VERSION_LABELS = ("app.kubernetes.io/version", "operator.istio.io/version", "istio.io/version")


def kubelet_supports_native_sidecars(kubelet_version: str) -> bool:
    """True for kubelet 1.33 and newer, the threshold of Istio's ``ENABLE_NATIVE_SIDECARS=auto``."""
    m = re.match(r"v?(\d+)\.(\d+)", kubelet_version.strip())
    if m is None:
        return False
    return (int(m.group(1)), int(m.group(2))) >= (1, 33)


def injector_configs(store: Store) -> list[Obj]:
    items, _ = store.list(WEBHOOK_KEY)
    ours = [c for c in items if str((c.get("metadata") or {}).get("name", "")).startswith(_PREFIXES)]
    return sorted(ours, key=lambda c: str((c.get("metadata") or {}).get("name", "")))


_PREFIXES = (WEBHOOK_PREFIX, TAG_PREFIX)


def _safe_match(selector: Any, labels: dict[str, str]) -> bool:
    return selector_matches(selector if isinstance(selector, dict) else None, labels)


def should_inject(pod: Obj, namespace_labels: dict[str, str], configs: list[Obj]) -> Obj | None:
    """The webhook configuration that would inject ``pod``, or None.

    A webhook applies when both its ``namespaceSelector`` (against the namespace's labels) and its
    ``objectSelector`` (against the pod's labels) match. ``sidecar.istio.io/inject: "false"`` as a label or
    annotation always opts out, as does a pod that is already injected or uses the host network.
    """
    meta = pod.get("metadata") or {}
    labels = meta.get("labels") or {}
    annotations = meta.get("annotations") or {}
    if STATUS_ANNOTATION in annotations or (pod.get("spec") or {}).get("hostNetwork"):
        return None
    if str(labels.get(INJECT_ANNOTATION, "")).lower() == "false":
        return None
    if str(annotations.get(INJECT_ANNOTATION, "")).lower() == "false":
        return None
    for config in configs:
        for hook in config.get("webhooks") or []:
            if not isinstance(hook, dict):
                continue
            if _safe_match(hook.get("namespaceSelector"), namespace_labels) and _safe_match(
                hook.get("objectSelector"), labels
            ):
                return config
    return None


def proxy_image(store: Store, config: Obj) -> str:
    """The proxy image istiod would inject, from its injector ConfigMap's values, else the webhook's labels.

    istiod reads ``global.hub``, ``global.tag`` and ``global.proxy.image`` from its revision's
    ``istio-sidecar-injector[-R]`` ConfigMap in its namespace (the namespace its webhooks call).
    """
    hub, image, tag = PROXY_HUB, "proxyv2", ""
    revision = _revision(config)
    cm_name = WEBHOOK_PREFIX if revision == "default" else f"{WEBHOOK_PREFIX}-{revision}"
    for hook in config.get("webhooks") or []:
        service = ((hook or {}).get("clientConfig") or {}).get("service") or {}
        cm = store.try_get("configmaps", cm_name, namespace=str(service.get("namespace") or ""), copy=False)
        if cm is None:
            continue
        try:
            values = json.loads((cm.get("data") or {}).get("values") or "{}")
        except ValueError:
            break
        glob = (values.get("global") or {}) if isinstance(values, dict) else {}
        hub = str(glob.get("hub") or hub)
        tag = str(glob.get("tag") or "")
        image = str((glob.get("proxy") or {}).get("image") or image)
        break
    if not tag:
        labels = (config.get("metadata") or {}).get("labels") or {}
        tag = next((str(labels[k]) for k in _VERSION_LABELS if labels.get(k)), DEFAULT_TAG)
    return f"{hub}/{image}:{tag}"


def _revision(config: Obj) -> str:
    labels = (config.get("metadata") or {}).get("labels") or {}
    return str(labels.get("istio.io/rev") or "default")


def _istio_init(image: str) -> Obj:
    return {
        "name": "istio-init",
        "image": image,
        "args": [
            "istio-iptables",
            "-p",
            "15001",
            "-z",
            "15006",
            "-u",
            "1337",
            "-m",
            "REDIRECT",
            "-i",
            "*",
            "-x",
            "",
            "-b",
            "*",
            "-d",
            "15090,15021,15020",
            "--log_output_level=default:info",
        ],
        "resources": {"limits": {"cpu": "2", "memory": "1Gi"}, "requests": {"cpu": "10m", "memory": "40Mi"}},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"add": ["NET_ADMIN", "NET_RAW"], "drop": ["ALL"]},
            "privileged": False,
            "readOnlyRootFilesystem": False,
            "runAsGroup": 0,
            "runAsNonRoot": False,
            "runAsUser": 0,
        },
    }


def _istio_proxy(image: str, pod: Obj, *, native: bool) -> Obj:
    meta = pod.get("metadata") or {}
    app_ports = [
        {"containerPort": p.get("containerPort"), "protocol": p.get("protocol", "TCP")}
        for c in (pod.get("spec") or {}).get("containers") or []
        for p in c.get("ports") or []
        if isinstance(p, dict) and p.get("containerPort")
    ]
    proxy: Obj = {
        "name": "istio-proxy",
        "image": image,
        "args": [
            "proxy",
            "sidecar",
            "--domain",
            "$(POD_NAMESPACE).svc.cluster.local",
            "--proxyLogLevel=warning",
            "--proxyComponentLogLevel=misc:error",
            "--log_output_level=default:info",
        ],
        "env": [
            {"name": "PILOT_CERT_PROVIDER", "value": "istiod"},
            {"name": "CA_ADDR", "value": "istiod.istio-system.svc:15012"},
            {
                "name": "POD_NAME",
                "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}},
            },
            {
                "name": "POD_NAMESPACE",
                "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}},
            },
            {
                "name": "INSTANCE_IP",
                "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "status.podIP"}},
            },
            {
                "name": "ISTIO_META_APP_CONTAINERS",
                "value": ",".join(
                    str(c.get("name")) for c in (pod.get("spec") or {}).get("containers") or []
                ),
            },
            {"name": "ISTIO_META_POD_PORTS", "value": json.dumps(app_ports, separators=(",", ":"))},
            {"name": "ISTIO_META_WORKLOAD_NAME", "value": _workload_name(meta)},
            {"name": "ISTIO_META_MESH_ID", "value": "cluster.local"},
            {"name": "TRUST_DOMAIN", "value": "cluster.local"},
        ],
        "ports": [
            {"containerPort": 15090, "name": "http-envoy-prom", "protocol": "TCP"},
        ],
        "readinessProbe": {
            "failureThreshold": 4,
            "httpGet": {"path": "/healthz/ready", "port": 15021, "scheme": "HTTP"},
            "periodSeconds": 15,
            "successThreshold": 1,
            "timeoutSeconds": 3,
        },
        "resources": {
            "limits": {"cpu": "2", "memory": "1Gi"},
            "requests": {"cpu": "100m", "memory": "128Mi"},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "privileged": False,
            "readOnlyRootFilesystem": True,
            "runAsGroup": 1337,
            "runAsNonRoot": True,
            "runAsUser": 1337,
        },
        "volumeMounts": [
            {"mountPath": "/var/run/secrets/workload-spiffe-uds", "name": "workload-socket"},
            {"mountPath": "/var/run/secrets/istio", "name": "istiod-ca-cert"},
            {"mountPath": "/var/lib/istio/data", "name": "istio-data"},
            {"mountPath": "/etc/istio/proxy", "name": "istio-envoy"},
            {"mountPath": "/var/run/secrets/tokens", "name": "istio-token"},
            {"mountPath": "/etc/istio/pod", "name": "istio-podinfo"},
        ],
    }
    if native:
        proxy["restartPolicy"] = "Always"
        proxy["startupProbe"] = {
            "failureThreshold": 600,
            "httpGet": {"path": "/healthz/ready", "port": 15021, "scheme": "HTTP"},
            "periodSeconds": 1,
            "successThreshold": 1,
            "timeoutSeconds": 3,
        }
    return proxy


def _workload_name(meta: Obj) -> str:
    for ref in meta.get("ownerReferences") or []:
        if ref.get("controller") and ref.get("kind") == "ReplicaSet":
            name = str(ref.get("name", ""))
            return name.rsplit("-", 1)[0] if "-" in name else name
        if ref.get("controller"):
            return str(ref.get("name", ""))
    return str(meta.get("name") or meta.get("generateName") or "").rstrip("-")


_VOLUMES: list[Obj] = [
    {"name": "workload-socket", "emptyDir": {}},
    {"name": "istio-envoy", "emptyDir": {"medium": "Memory"}},
    {"name": "istio-data", "emptyDir": {}},
    {
        "name": "istio-podinfo",
        "downwardAPI": {
            "items": [
                {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
                {"path": "annotations", "fieldRef": {"fieldPath": "metadata.annotations"}},
            ]
        },
    },
    {
        "name": "istio-token",
        "projected": {
            "sources": [
                {
                    "serviceAccountToken": {
                        "audience": "istio-ca",
                        "expirationSeconds": 43200,
                        "path": "istio-token",
                    }
                }
            ]
        },
    },
    {"name": "istiod-ca-cert", "configMap": {"name": "istio-ca-root-cert"}},
]


def _inject_gateway(pod: Obj, *, image: str, revision: str) -> bool:
    """The ``gateway`` template: the pod's own ``istio-proxy`` (image ``auto``) becomes the proxy; no init
    container, no second proxy. False when the pod does not ask for that template."""
    meta = pod.setdefault("metadata", {})
    annotations = meta.setdefault("annotations", {})
    if "gateway" not in str(annotations.get(TEMPLATES_ANNOTATION) or "").split(","):
        return False
    proxies = [c for c in (pod.get("spec") or {}).get("containers") or [] if c.get("name") == "istio-proxy"]
    if not proxies:
        return False
    for proxy in proxies:
        if proxy.get("image") in (None, "", "auto"):
            proxy["image"] = image
    annotations.setdefault("istio.io/rev", revision)
    annotations[STATUS_ANNOTATION] = json.dumps(
        {"initContainers": None, "containers": ["istio-proxy"], "volumes": None, "revision": revision},
        separators=(",", ":"),
    )
    return True


def inject(pod: Obj, *, image: str, native: bool, revision: str = "default") -> None:
    """Add ``istio-init`` and ``istio-proxy`` to ``pod`` in place, with the annotation istiod writes."""
    if _inject_gateway(pod, image=image, revision=revision):
        return
    meta = pod.setdefault("metadata", {})
    spec = pod.setdefault("spec", {})
    containers = spec.setdefault("containers", [])
    app_names = [str(c.get("name")) for c in containers if isinstance(c, dict)]
    proxy = _istio_proxy(image, pod, native=native)
    init = spec.setdefault("initContainers", [])
    init.insert(0, _istio_init(image))
    if native:
        init.insert(1, proxy)
    else:
        containers.append(proxy)
    existing = {v.get("name") for v in spec.get("volumes") or [] if isinstance(v, dict)}
    spec["volumes"] = [*(spec.get("volumes") or []), *(v for v in _VOLUMES if v["name"] not in existing)]
    labels = meta.setdefault("labels", {})
    labels.setdefault("security.istio.io/tlsMode", "istio")
    workload = _workload_name(meta)
    labels.setdefault("service.istio.io/canonical-name", str(labels.get("app") or workload))
    labels.setdefault("service.istio.io/canonical-revision", str(labels.get("version") or "latest"))
    annotations = meta.setdefault("annotations", {})
    if app_names:
        annotations.setdefault("kubectl.kubernetes.io/default-container", app_names[0])
        annotations.setdefault("kubectl.kubernetes.io/default-logs-container", app_names[0])
    annotations.setdefault("istio.io/rev", revision)
    annotations[STATUS_ANNOTATION] = json.dumps(
        {
            "initContainers": ["istio-init", "istio-proxy"] if native else ["istio-init"],
            "containers": [] if native else ["istio-proxy"],
            "volumes": [v["name"] for v in _VOLUMES],
            "imagePullSecrets": None,
            "revision": revision,
        },
        separators=(",", ":"),
    )


def make_injection_hook(store: Store, *, kubelet_version: str) -> Any:
    """The store admission hook: inject new pods whose namespace and labels select an injector webhook."""
    native = kubelet_supports_native_sidecars(kubelet_version)

    def hook(operation: str, key: str, obj: Obj, old: Obj | None) -> None:
        if key != "pods" or operation != "CREATE":
            return
        configs = injector_configs(store)
        if not configs:
            return
        ns_name = str((obj.get("metadata") or {}).get("namespace") or "")
        namespace = store.try_get("namespaces", ns_name, copy=False)
        ns_labels = ((namespace or {}).get("metadata") or {}).get("labels") or {}
        config = should_inject(obj, ns_labels, configs)
        if config is not None:
            inject(obj, image=proxy_image(store, config), native=native, revision=_revision(config))

    return hook


__all__ = [
    "WEBHOOK_KEY",
    "inject",
    "injector_configs",
    "kubelet_supports_native_sidecars",
    "make_injection_hook",
    "proxy_image",
    "should_inject",
]
