"""Routing presets for Bookinfo in either API: Istio's ``VirtualService`` or the Gateway API's ``HTTPRoute``
(a GAMMA route whose parent is the reviews Service). Preview is a diff, apply remembers what it replaced,
revert puts it back; the same rules hold for both kinds, only the object and how it reads differ.

Every function here blocks (it calls the cluster): the UI runs them from thread workers.
"""

from __future__ import annotations

import copy
import difflib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml

from tui import kube
from tui.errors import ConfigError, NotFound
from tui.istio.gatewayapi import route_routing
from tui.istio.routing import (
    PRESET_ANNOTATION,
    PRESET_TITLE_ANNOTATION,
    PREVIOUS_ANNOTATION,
    PresetPreview,
    RoutingView,
    is_ours,
    routing_of,
)

Obj = dict[str, Any]
RoutingApi = Literal["istio", "gateway-api"]
ROUTING_APIS: tuple[RoutingApi, ...] = ("istio", "gateway-api")
API_TITLES: Mapping[RoutingApi, str] = {"istio": "Istio APIs", "gateway-api": "Gateway API"}
PRESET_KEYS = (
    "reviews-v1",
    "reviews-jason-v2",
    "reviews-v1-v3-50",
    "reviews-v1-v2-80",
    "reviews-v2-v3-50",
    "reviews-v3",
    "ratings-delay-jason",
    "ratings-abort-jason",
)


@dataclass(frozen=True)
class Preset:
    """A routing preset: one VirtualService or HTTPRoute document for ``host`` (reviews or ratings)."""

    key: str
    title: str
    description: str
    host: str
    doc: Obj


def manifests_dir() -> Path:
    """The manifests shipped with istio-tui: ``tui/_manifests`` in a wheel, ``manifests/`` in a checkout."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "_manifests", here.parent / "manifests"):
        if (candidate / "bookinfo").is_dir():
            return candidate / "bookinfo"
    raise ConfigError("the Bookinfo manifests are missing from this installation", hint="reinstall istio-tui")


def load(name: str) -> list[Obj]:
    """The documents of one manifest file under ``manifests/bookinfo`` (a fresh copy each time)."""
    return copy.deepcopy(_load_cached(name))


@cache
def _load_cached(name: str) -> list[Obj]:
    path = manifests_dir() / name
    try:
        return [d for d in yaml.safe_load_all(path.read_text()) if d]
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}", hint="reinstall istio-tui") from exc


def try_get(cluster: kube.Cluster, res: kube.Resource, name: str, namespace: str | None) -> Obj | None:
    try:
        return cluster.get(res, name, namespace=namespace)
    except NotFound:
        return None


@cache
def _presets(api: RoutingApi) -> tuple[Preset, ...]:
    folder = manifests_dir() / ("presets" if api == "istio" else "gateway-api/presets")
    found: dict[str, Preset] = {}
    for path in sorted(folder.glob("*.yaml")):
        text = path.read_text()
        (doc,) = [d for d in yaml.safe_load_all(text) if d]
        annotations = doc["metadata"].get("annotations") or {}
        key = str(annotations.get(PRESET_ANNOTATION) or path.stem)
        comment = " ".join(line.lstrip("#").strip() for line in text.splitlines() if line.startswith("#"))
        found[key] = Preset(
            key=key,
            title=str(annotations.get(PRESET_TITLE_ANNOTATION) or key),
            description=comment,
            host=str(doc["metadata"]["name"]),
            doc=doc,
        )
    return tuple(found[k] for k in PRESET_KEYS if k in found) + tuple(
        p for k, p in found.items() if k not in PRESET_KEYS
    )


def presets(api: RoutingApi = "istio") -> list[Preset]:
    """The routing (and, with Istio's API, fault) presets of ``api`` in menu order."""
    return [Preset(p.key, p.title, p.description, p.host, copy.deepcopy(p.doc)) for p in _presets(api)]


def preset(key: str, api: RoutingApi = "istio") -> Preset:
    for p in presets(api):
        if p.key == key:
            return p
    keys = ", ".join(p.key for p in _presets(api))
    raise ConfigError(f"unknown routing preset {key!r} for the {API_TITLES[api]}", hint=f"one of: {keys}")


def _kind(api: RoutingApi) -> tuple[kube.Resource, Callable[..., RoutingView]]:
    if api == "gateway-api":
        return kube.HTTP_ROUTES, route_routing
    return kube.VIRTUAL_SERVICES, routing_of


def current_routing(
    cluster: kube.Cluster, *, namespace: str, host: str = "reviews", api: RoutingApi = "istio"
) -> RoutingView:
    """The configured routing of ``host`` (reviews or ratings) for the "configured vs observed" view."""
    res, view = _kind(api)
    return view(try_get(cluster, res, host, namespace), host=host, namespace=namespace)


def _spec_lines(spec: Any) -> list[str]:
    if spec is None:
        return []
    return yaml.safe_dump(spec, sort_keys=False, default_flow_style=False).splitlines()


def preview_preset(
    cluster: kube.Cluster, *, namespace: str, key: str, api: RoutingApi = "istio"
) -> PresetPreview:
    """A unified diff of the spec the preset would write, against what is there now."""
    p = preset(key, api)
    res, view = _kind(api)
    current = try_get(cluster, res, p.host, namespace)
    diff = tuple(
        difflib.unified_diff(
            _spec_lines(current.get("spec") if current else None),
            _spec_lines(p.doc["spec"]),
            fromfile=f"{namespace}/{p.host} (now)" if current else f"(no {res.kind})",
            tofile=f"{namespace}/{p.host} ({p.key})",
            lineterm="",
        )
    )
    return PresetPreview(
        key=p.key,
        title=p.title,
        host=p.host,
        namespace=namespace,
        creates=current is None,
        diff=diff,
        before=view(current, host=p.host, namespace=namespace),
        after=view(p.doc, host=p.host, namespace=namespace),
    )


def apply_preset(
    cluster: kube.Cluster, *, namespace: str, key: str, api: RoutingApi = "istio"
) -> RoutingView:
    """Write the preset's object, remembering what to revert to.

    An object istio-tui did not create keeps its labels and gets the replaced spec in an annotation, so
    :func:`revert` and cleanup can put it back. A new one is labelled as ours.
    """
    p = preset(key, api)
    res, view = _kind(api)
    current = try_get(cluster, res, p.host, namespace)
    if current is None:
        body = copy.deepcopy(p.doc)
        body["metadata"]["namespace"] = namespace
        stored = cluster.create(res, body, namespace=namespace)
    else:
        body = copy.deepcopy(current)
        annotations = body["metadata"].setdefault("annotations", {})
        if not is_ours(current) and PREVIOUS_ANNOTATION not in annotations:
            annotations[PREVIOUS_ANNOTATION] = json.dumps(current.get("spec") or {}, sort_keys=True)
        annotations[PRESET_ANNOTATION] = p.key
        annotations[PRESET_TITLE_ANNOTATION] = p.title
        body["spec"] = copy.deepcopy(p.doc["spec"])
        stored = cluster.replace(res, p.host, body, namespace=namespace)
    return view(stored, host=p.host, namespace=namespace)


def revert(
    cluster: kube.Cluster, *, namespace: str, host: str = "reviews", api: RoutingApi = "istio"
) -> RoutingView:
    """Undo presets on ``host``: restore the spec a preset replaced, or delete an object we created."""
    res, view = _kind(api)
    current = try_get(cluster, res, host, namespace)
    if current is None:
        return view(None, host=host, namespace=namespace)
    annotations = (current.get("metadata") or {}).get("annotations") or {}
    if PREVIOUS_ANNOTATION in annotations:
        return view(restore(cluster, res, current), host=host, namespace=namespace)
    if is_ours(current):
        cluster.delete(res, host, namespace=namespace)
        return view(None, host=host, namespace=namespace)
    raise ConfigError(
        f"{res.kind} {namespace}/{host} was not changed by istio-tui, so there is nothing to revert",
        hint="edit it with kubectl if it must change",
    )


def restore(cluster: kube.Cluster, res: kube.Resource, obj: Obj) -> Obj:
    """Put back the spec a preset replaced on someone else's object and drop our annotations."""
    body = copy.deepcopy(obj)
    meta = body["metadata"]
    annotations = meta.get("annotations") or {}
    try:
        body["spec"] = json.loads(annotations.pop(PREVIOUS_ANNOTATION))
    except ValueError as exc:
        raise ConfigError(
            f"{res.kind} {meta.get('namespace')}/{meta.get('name')} has a damaged {PREVIOUS_ANNOTATION}",
            hint="fix its spec with kubectl",
        ) from exc
    annotations.pop(PRESET_ANNOTATION, None)
    annotations.pop(PRESET_TITLE_ANNOTATION, None)
    meta["annotations"] = annotations
    return cluster.replace(res, str(meta["name"]), body, namespace=str(meta["namespace"]))
