"""What the server serves: ``/version``, aggregated (v2) and legacy discovery, the OpenAPI v3 documents."""

from __future__ import annotations

import hashlib

from aiohttp import web

from tui.sandbox.api.wire import AGGREGATED, json_response, path_not_found, wants_aggregated
from tui.sandbox.openapi import OpenAPI
from tui.sandbox.resources import CRD_KEY, Registry, ResourceType
from tui.sandbox.store import Obj, Store

OPENAPI_V2 = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"


class Discovery:
    def __init__(self, *, registry: Registry, store: Store, git_version: str) -> None:
        self.registry = registry
        self.store = store
        self.git_version = git_version
        self.openapi_docs = OpenAPI(title_version=git_version)

    def version(self) -> Obj:
        major, minor = "1", "32"
        parts = self.git_version.lstrip("v").split(".")
        if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit():
            major, minor = parts[0], parts[1]
        return {
            "major": major,
            "minor": minor,
            "gitVersion": self.git_version,
            "gitCommit": hashlib.sha1(self.git_version.encode()).hexdigest(),
            "gitTreeState": "clean",
            "buildDate": "2025-01-01T00:00:00Z",
            "goVersion": "go1.23.0",
            "compiler": "gc",
            "platform": "linux/amd64",
        }

    def core(self, request: web.Request) -> web.StreamResponse:
        if wants_aggregated(request):
            gv = self.registry.group_versions()
            body = {
                "kind": "APIGroupDiscoveryList",
                "apiVersion": "apidiscovery.k8s.io/v2",
                "metadata": {},
                "items": [self._group_discovery("", gv.get("", ["v1"]))],
            }
            return json_response(body, content_type=AGGREGATED)
        return json_response(
            {
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": request.host}],
            }
        )

    def groups(self, request: web.Request) -> web.StreamResponse:
        gv = self.registry.group_versions()
        groups = sorted(g for g in gv if g)
        if wants_aggregated(request):
            body = {
                "kind": "APIGroupDiscoveryList",
                "apiVersion": "apidiscovery.k8s.io/v2",
                "metadata": {},
                "items": [self._group_discovery(g, gv[g]) for g in groups],
            }
            return json_response(body, content_type=AGGREGATED)
        return json_response(
            {"kind": "APIGroupList", "apiVersion": "v1", "groups": [_api_group(g, gv[g]) for g in groups]}
        )

    def group(self, group: str) -> web.StreamResponse:
        versions = self.registry.group_versions().get(group)
        if not versions or not group:
            raise path_not_found()
        return json_response({"kind": "APIGroup", "apiVersion": "v1", **_api_group(group, versions)})

    def _group_discovery(self, group: str, versions: list[str]) -> Obj:
        out_versions = []
        for v in versions:
            resources = []
            for rt in sorted(self.registry.in_group_version(group, v), key=lambda r: r.plural):
                entry: Obj = {
                    "resource": rt.plural,
                    "responseKind": {"group": group, "version": v, "kind": rt.kind},
                    "scope": "Namespaced" if rt.namespaced else "Cluster",
                    "singularResource": rt.singular_name,
                    "verbs": list(rt.verbs),
                }
                entry.update(_aliases(rt))
                subs = [
                    {
                        "subresource": sub.name,
                        "responseKind": {"group": sub.group, "version": sub.version, "kind": sub.kind},
                        "verbs": list(sub.verbs),
                    }
                    for sub in rt.described_subresources(v)
                ]
                if subs:
                    entry["subresources"] = subs
                resources.append(entry)
            out_versions.append({"version": v, "resources": resources, "freshness": "Current"})
        return {"metadata": {"name": group, "creationTimestamp": None}, "versions": out_versions}

    def resource_list(self, group: str, version: str) -> Obj:
        resources = []
        for rt in sorted(self.registry.in_group_version(group, version), key=lambda r: r.plural):
            entry: Obj = {
                "name": rt.plural,
                "singularName": rt.singular_name,
                "namespaced": rt.namespaced,
                "kind": rt.kind,
                "verbs": list(rt.verbs),
            }
            entry.update(_aliases(rt))
            resources.append(entry)
            for sub in rt.described_subresources(version):
                sub_entry: Obj = {
                    "name": f"{rt.plural}/{sub.name}",
                    "singularName": "",
                    "namespaced": rt.namespaced,
                    "kind": sub.kind,
                    "verbs": list(sub.verbs),
                }
                if (sub.group, sub.version) != (group, version):
                    sub_entry.update(group=sub.group, version=sub.version)
                resources.append(sub_entry)
        gv = f"{group}/{version}" if group else version
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}

    def openapi(self, parts: list[str]) -> web.StreamResponse:
        if parts == ["v2"]:
            # An empty OpenAPI v2 document (protobuf, the only form clients ask for): kubectl's fallback for a
            # group-version the v3 index lacks reads it, and a 404 there fails the whole apply.
            return web.Response(body=b"", headers={"Content-Type": OPENAPI_V2})
        if not parts or parts[0] != "v3":
            raise path_not_found()
        gvs = self.registry.group_versions()
        if len(parts) == 1:
            paths: Obj = {}
            for group, versions in sorted(gvs.items()):
                for v in versions:
                    rel = f"api/{v}" if not group else f"apis/{group}/{v}"
                    digest = (
                        hashlib.sha1(f"{rel}:{self.registry.generation}".encode()).hexdigest()[:16].upper()
                    )
                    paths[rel] = {"serverRelativeURL": f"/openapi/v3/{rel}?hash={digest}"}
            return json_response({"paths": paths})
        rest = parts[1:]
        if rest[0] == "api" and len(rest) == 2:
            group, version = "", rest[1]
        elif rest[0] == "apis" and len(rest) == 3:
            group, version = rest[1], rest[2]
        else:
            raise path_not_found()
        rts = self.registry.in_group_version(group, version)
        if not rts:
            raise path_not_found()
        crds = {}
        for rt in rts:
            if not rt.builtin:
                crd = self.store.try_get(CRD_KEY, f"{rt.plural}.{rt.group}", copy=False)
                if crd is not None:
                    crds[rt.key] = crd
        body = self.openapi_docs.document(group, version, rts, generation=self.registry.generation, crds=crds)
        return web.Response(body=body, headers={"Content-Type": "application/json"})


def _api_group(group: str, versions: list[str]) -> Obj:
    vs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": vs, "preferredVersion": vs[0]}


def _aliases(rt: ResourceType) -> Obj:
    """Short names and categories, as both discovery formats carry them (left out when empty)."""
    out: Obj = {}
    if rt.short_names:
        out["shortNames"] = list(rt.short_names)
    if rt.categories:
        out["categories"] = list(rt.categories)
    return out
