"""The control planes a cluster runs, and which one each namespace and pod belongs to.

Istio's canary upgrade runs several istiod revisions side by side. What decides where a proxy comes from:

* a revision R installs ``istiod-R`` (Deployment and Service) and the ``istio-sidecar-injector-R`` webhook
  configuration; the unnamed revision is called ``default`` and its configuration has no suffix;
* a revision tag T is an ``istio-revision-tag-T`` webhook configuration labelled ``istio.io/tag=T`` and
  ``istio.io/rev=<revision>``; the ``default`` tag also answers ``istio-injection=enabled``;
* a namespace labelled ``istio.io/rev=X`` (X a revision or a tag) gets X's proxies, one labelled
  ``istio-injection=enabled`` gets the ``default`` tag's revision, else the ``default`` revision's;
* an injected pod says which revision injected it in its ``sidecar.istio.io/status`` annotation.

Pure functions over the API's dicts, and ``read_control_planes`` which lists them (blocking I/O).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tui import kube
from tui.istio.choices import ISTIO_NAMESPACE
from tui.istio.injection import INJECTION_LABEL, REV_LABEL, Labels, is_live
from tui.istio.injector import INJECTOR_PREFIX, TAG_PREFIX
from tui.istio.sidecar import sidecar_revision

if TYPE_CHECKING:
    from tui.kube import Cluster

DEFAULT_REVISION = "default"
DEFAULT_TAG = "default"
TAG_LABEL = "istio.io/tag"
ISTIOD_SELECTOR = "app=istiod"

Obj = Mapping[str, Any]


def release_name(revision: str) -> str:
    """The helm release of a revision: ``istiod`` for the default one, else ``istiod-R``."""
    return "istiod" if revision == DEFAULT_REVISION else f"istiod-{revision}"


def injector_name(revision: str) -> str:
    return INJECTOR_PREFIX if revision == DEFAULT_REVISION else f"{INJECTOR_PREFIX}-{revision}"


def tags_of(webhook_configs: Iterable[Obj]) -> dict[str, str]:
    """Tag -> revision, from the ``istio-revision-tag-*`` configurations."""
    tags: dict[str, str] = {}
    for config in webhook_configs:
        labels = (config.get("metadata") or {}).get("labels") or {}
        if labels.get(TAG_LABEL):
            tags[str(labels[TAG_LABEL])] = str(labels.get(REV_LABEL) or DEFAULT_REVISION)
    return tags


def namespace_revision(labels: Labels | None, tags: Mapping[str, str]) -> str | None:
    """The revision a pod created now in a namespace with these labels gets; None when none injects it."""
    labels = labels or {}
    if INJECTION_LABEL in labels:
        return tags.get(DEFAULT_TAG, DEFAULT_REVISION) if labels[INJECTION_LABEL] == "enabled" else None
    rev = labels.get(REV_LABEL)
    if rev:
        return tags.get(rev, rev)
    return None


def pods_on(pods: Iterable[Obj], revision: str) -> list[str]:
    """``namespace/name`` of the live pods whose proxy came from ``revision``. Gateways count: their proxy
    gets its configuration from that istiod as much as a sidecar does."""
    out: list[str] = []
    for pod in pods:
        if not is_live(pod) or sidecar_revision(pod) != revision:
            continue
        meta = pod.get("metadata") or {}
        out.append(f"{meta.get('namespace', '')}/{meta.get('name', '')}")
    return sorted(out)


@dataclass(frozen=True)
class ControlPlane:
    """One istiod revision as the Upgrade view's table shows it."""

    revision: str
    version: str
    ready: str  # "1/1" as kubectl prints the Deployment
    tags: tuple[str, ...]
    namespaces: tuple[str, ...]
    pods: int

    @property
    def release(self) -> str:
        return release_name(self.revision)


def _version(deployment: Obj) -> str:
    containers = (((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers")
    image = str(((containers or [{}])[0] or {}).get("image") or "")
    tail = image.rsplit("/", 1)[-1]
    return tail.split(":", 1)[1] if ":" in tail else "?"


def control_planes(
    deployments: Iterable[Obj], webhook_configs: Iterable[Obj], namespaces: Iterable[Obj], pods: Iterable[Obj]
) -> list[ControlPlane]:
    """Pure: every istiod Deployment as a ControlPlane, the default revision first."""
    tags = tags_of(webhook_configs)
    ns_by_rev: dict[str, list[str]] = {}
    for ns in namespaces:
        meta = ns.get("metadata") or {}
        rev = namespace_revision(meta.get("labels"), tags)
        if rev is not None:
            ns_by_rev.setdefault(rev, []).append(str(meta.get("name", "")))
    pod_list = list(pods)
    out: list[ControlPlane] = []
    for dep in deployments:
        meta = dep.get("metadata") or {}
        rev = str((meta.get("labels") or {}).get(REV_LABEL) or DEFAULT_REVISION)
        status = dep.get("status") or {}
        want = int((dep.get("spec") or {}).get("replicas") or 0)
        out.append(
            ControlPlane(
                revision=rev,
                version=_version(dep),
                ready=f"{int(status.get('readyReplicas') or 0)}/{want}",
                tags=tuple(sorted(t for t, r in tags.items() if r == rev)),
                namespaces=tuple(sorted(ns_by_rev.get(rev, ()))),
                pods=len(pods_on(pod_list, rev)),
            )
        )
    out.sort(key=lambda cp: (cp.revision != DEFAULT_REVISION, cp.revision))
    return out


def read_control_planes(cluster: Cluster) -> list[ControlPlane]:
    deployments = cluster.list(kube.DEPLOYMENTS, namespace=ISTIO_NAMESPACE, label_selector=ISTIOD_SELECTOR)
    return control_planes(
        deployments.items,
        cluster.list(kube.MUTATING_WEBHOOKS).items,
        cluster.list(kube.NAMESPACES).items,
        cluster.list(kube.PODS).items,
    )


def chart_injector(revision: str) -> dict[str, Any]:
    """The injector webhook fields the istiod chart gives revision R in istio-system: what a tag calls when
    the live configuration cannot be read (a plan written without a cluster)."""
    return {
        "webhooks": [
            {
                "clientConfig": {
                    "service": {
                        "name": release_name(revision),
                        "namespace": ISTIO_NAMESPACE,
                        "path": "/inject",
                        "port": 443,
                    }
                },
                "sideEffects": "None",
                "rules": [
                    {
                        "operations": ["CREATE"],
                        "apiGroups": [""],
                        "apiVersions": ["v1"],
                        "resources": ["pods"],
                    }
                ],
                "failurePolicy": "Fail",
                "reinvocationPolicy": "Never",
                "admissionReviewVersions": ["v1"],
            }
        ]
    }


def tag_webhook_config(*, tag: str, revision: str, injector: Obj) -> dict[str, Any]:
    """The ``istio-revision-tag-<tag>`` configuration pointing ``tag`` at ``revision``.

    It has the selectors the istiod chart's ``revisionTags`` give a tag (``istio.io/rev=<tag>`` for
    namespaces and pods; for the ``default`` tag also ``istio-injection=enabled`` and
    ``sidecar.istio.io/inject=true``), and calls the same service as the revision's own injector.
    """
    hooks = [h for h in injector.get("webhooks") or () if isinstance(h, Mapping)]
    if not hooks:
        raise ValueError(f"{(injector.get('metadata') or {}).get('name')} has no webhooks")
    template = {k: v for k, v in hooks[0].items() if k not in ("name", "namespaceSelector", "objectSelector")}

    def hook(prefix: str, ns_exprs: list[Any], obj_exprs: list[Any]) -> dict[str, Any]:
        return {
            **template,
            "name": f"{prefix}sidecar-injector.istio.io",
            "namespaceSelector": {"matchExpressions": ns_exprs},
            "objectSelector": {"matchExpressions": obj_exprs},
        }

    not_false = {"key": "sidecar.istio.io/inject", "operator": "NotIn", "values": ["false"]}
    no_injection = {"key": INJECTION_LABEL, "operator": "DoesNotExist"}
    no_rev = {"key": REV_LABEL, "operator": "DoesNotExist"}
    webhooks = [
        hook(
            "rev.namespace.",
            [{"key": REV_LABEL, "operator": "In", "values": [tag]}, no_injection],
            [not_false],
        ),
        hook(
            "rev.object.",
            [no_rev, no_injection],
            [not_false, {"key": REV_LABEL, "operator": "In", "values": [tag]}],
        ),
    ]
    if tag == DEFAULT_TAG:
        webhooks += [
            hook(
                "namespace.", [{"key": INJECTION_LABEL, "operator": "In", "values": ["enabled"]}], [not_false]
            ),
            hook(
                "object.",
                [no_injection, no_rev],
                [{"key": "sidecar.istio.io/inject", "operator": "In", "values": ["true"]}, no_rev],
            ),
        ]
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {
            "name": f"{TAG_PREFIX}{tag}",
            "labels": {TAG_LABEL: tag, REV_LABEL: revision, "app": "sidecar-injector"},
        },
        "webhooks": webhooks,
    }


# istioctl's `tag set default` switches the unnamed revision's own injector off this way, so that
# istio-injection=enabled and istio.io/rev=default reach only the default tag.
NEVER_MATCH = {"matchLabels": {"istio.io/deactivated": "never-match"}}


def deactivate_patch(webhook_count: int) -> list[dict[str, Any]]:
    """JSON patch giving every webhook of the default injector selectors that match nothing."""
    ops: list[dict[str, Any]] = []
    for i in range(webhook_count):
        ops.append({"op": "add", "path": f"/webhooks/{i}/namespaceSelector", "value": NEVER_MATCH})
        ops.append({"op": "add", "path": f"/webhooks/{i}/objectSelector", "value": NEVER_MATCH})
    return ops
