"""OpenAPI v3 documents per group-version, with the real schemas (what ``kubectl explain`` reads).

Built-in kinds use the generated 1.32 component schemas; a CRD contributes its ``openAPIV3Schema`` for each
served version, named the way the API server names it (``io.istio.networking.v1.VirtualService``). Each kind
also gets one PATCH operation that declares ``fieldValidation``: kubectl and helm look for it to decide that
the server validates fields, so they send ``fieldValidation=Strict`` instead of validating themselves.
"""

from __future__ import annotations

import copy
import json
import threading
from typing import Any

from tui.sandbox import catalogue
from tui.sandbox.resources import ResourceType

Obj = dict[str, Any]
REF_PREFIX = "#/components/schemas/"
OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"


def crd_schema_name(group: str, version: str, kind: str) -> str:
    return ".".join([*reversed(group.split(".")), version, kind])


def crd_version_schema(crd: Obj, version: str) -> Obj | None:
    """The ``openAPIV3Schema`` of one served version of a CRD (a copy), or None."""
    for v in (crd.get("spec") or {}).get("versions") or []:
        if isinstance(v, dict) and v.get("name") == version:
            schema = (v.get("schema") or {}).get("openAPIV3Schema")
            return copy.deepcopy(schema) if isinstance(schema, dict) else None
    return None


def custom_schema(rt: ResourceType, version: str, crd: Obj | None) -> Obj:
    """A custom resource's whole-object schema, as the API server publishes it (metadata is ObjectMeta)."""
    schema = (crd_version_schema(crd, version) if crd else None) or {
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": True,
    }
    props = schema.setdefault("properties", {})
    props["apiVersion"] = {"type": "string", "description": "APIVersion defines the versioned schema."}
    props["kind"] = {
        "type": "string",
        "description": "Kind is a string value representing the REST resource.",
    }
    props["metadata"] = {
        "allOf": [{"$ref": REF_PREFIX + OBJECT_META}],
        "description": "Standard object's metadata.",
    }
    schema["type"] = "object"
    schema["x-kubernetes-group-version-kind"] = [{"group": rt.group, "version": version, "kind": rt.kind}]
    return schema


def _refs(node: Any, out: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(REF_PREFIX):
            out.add(ref[len(REF_PREFIX) :])
        for v in node.values():
            _refs(v, out)
    elif isinstance(node, list):
        for v in node:
            _refs(v, out)


def closure(roots: dict[str, Obj]) -> dict[str, Obj]:
    """``roots`` plus every built-in schema they reference, transitively."""
    known = catalogue.schemas()
    out = dict(roots)
    todo: set[str] = set()
    for s in roots.values():
        _refs(s, todo)
    while todo:
        name = todo.pop()
        if name in out or name not in known:
            continue
        out[name] = known[name]
        _refs(known[name], todo)
    return out


def _patch_operation(rt: ResourceType, version: str) -> Obj:
    return {
        "operationId": f"patch{rt.kind}",
        "x-kubernetes-action": "patch",
        "x-kubernetes-group-version-kind": {"group": rt.group, "version": version, "kind": rt.kind},
        "parameters": [
            {"name": name, "in": "query", "schema": {"type": "string"}, "uniqueItems": True}
            for name in ("fieldValidation", "fieldManager", "dryRun", "force")
        ],
        "responses": {"200": {"description": "OK"}},
    }


class OpenAPI:
    """Builds and caches the per-group-version documents; the cache is keyed on the registry generation."""

    def __init__(self, *, title_version: str) -> None:
        self._title_version = title_version
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str], tuple[int, bytes]] = {}

    def document(
        self, group: str, version: str, rts: list[ResourceType], *, generation: int, crds: dict[str, Obj]
    ) -> bytes:
        """The encoded document; ``crds`` maps a custom type's key to its CRD object."""
        with self._lock:
            hit = self._cache.get((group, version))
            if hit and hit[0] == generation:
                return hit[1]
        prefix = f"/api/{version}" if not group else f"/apis/{group}/{version}"
        paths: Obj = {}
        roots: dict[str, Obj] = {}
        by_kind = catalogue.schema_for_kind()
        for rt in sorted(rts, key=lambda r: r.plural):
            if rt.builtin:
                name = by_kind.get((group, version, rt.kind))
                if name is not None:
                    roots[name] = catalogue.schemas()[name]
            else:
                roots[crd_schema_name(group, version, rt.kind)] = custom_schema(rt, version, crds.get(rt.key))
            if "patch" not in rt.verbs:
                continue
            scope = f"{prefix}/namespaces/{{namespace}}" if rt.namespaced else prefix
            paths[f"{scope}/{rt.plural}/{{name}}"] = {"patch": _patch_operation(rt, version)}
        doc = {
            "openapi": "3.0.0",
            "info": {"title": "Kubernetes", "version": self._title_version},
            "paths": paths,
            "components": {"schemas": closure(roots)},
        }
        body = json.dumps(doc, separators=(",", ":")).encode()
        with self._lock:
            self._cache[(group, version)] = (generation, body)
        return body
