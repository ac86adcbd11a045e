"""What the server serves: ``/version``, aggregated (v2) and legacy discovery, the OpenAPI v3 documents."""

from __future__ import annotations

import hashlib

from aiohttp import web

from tui.sandbox.api.wire import AGGREGATED, json_response, path_not_found, wants_aggregated
from tui.sandbox.resources import Registry
from tui.sandbox.store import Obj


class Discovery:
    def __init__(self, *, registry: Registry, git_version: str) -> None:
        self.registry = registry
        self.git_version = git_version

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
                if rt.short_names:
                    entry["shortNames"] = list(rt.short_names)
                if rt.categories:
                    entry["categories"] = list(rt.categories)
                subs = []
                for sub in rt.subresources:
                    kind = {"scale": "Scale", "log": "Pod"}.get(sub, rt.kind)
                    sgroup, sversion = ("autoscaling", "v1") if sub == "scale" else (group, v)
                    subs.append(
                        {
                            "subresource": sub,
                            "responseKind": {"group": sgroup, "version": sversion, "kind": kind},
                            "verbs": ["get"] if sub == "log" else ["get", "patch", "update"],
                        }
                    )
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
            if rt.short_names:
                entry["shortNames"] = list(rt.short_names)
            if rt.categories:
                entry["categories"] = list(rt.categories)
            resources.append(entry)
            for sub in rt.subresources:
                sub_entry: Obj = {
                    "name": f"{rt.plural}/{sub}",
                    "singularName": "",
                    "namespaced": rt.namespaced,
                    "kind": {"scale": "Scale", "log": "Pod"}.get(sub, rt.kind),
                    "verbs": ["get"] if sub == "log" else ["get", "patch", "update"],
                }
                if sub == "scale":
                    sub_entry.update(group="autoscaling", version="v1")
                resources.append(sub_entry)
        gv = f"{group}/{version}" if group else version
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}

    def openapi(self, parts: list[str]) -> web.StreamResponse:
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
        prefix = f"/api/{version}" if not group else f"/apis/{group}/{version}"
        doc_paths: Obj = {}
        for rt in rts:
            if rt.verbs == ("create",):
                continue
            path = (
                f"{prefix}/namespaces/{{namespace}}/{rt.plural}/{{name}}"
                if rt.namespaced
                else f"{prefix}/{rt.plural}/{{name}}"
            )
            doc_paths[path] = {
                "patch": {
                    "operationId": f"patch{rt.kind}",
                    "x-kubernetes-action": "patch",
                    "x-kubernetes-group-version-kind": {"group": group, "version": version, "kind": rt.kind},
                    "parameters": [
                        {
                            "name": "fieldValidation",
                            "in": "query",
                            "schema": {"type": "string"},
                            "uniqueItems": True,
                        },
                        {
                            "name": "fieldManager",
                            "in": "query",
                            "schema": {"type": "string"},
                            "uniqueItems": True,
                        },
                    ],
                    "responses": {"200": {"description": "OK"}},
                }
            }
        return json_response(
            {
                "openapi": "3.0.0",
                "info": {"title": "Kubernetes", "version": self.git_version},
                "paths": doc_paths,
            }
        )


def _api_group(group: str, versions: list[str]) -> Obj:
    vs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": vs, "preferredVersion": vs[0]}
