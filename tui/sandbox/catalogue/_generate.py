"""Regenerate the sandbox's catalogue of Kubernetes 1.32 resources and their OpenAPI v3 schemas.

Run from the repository root (needs the test extra, for ``kubernetes-validate``, and the 1.32 client wheel):

    pip download --no-deps -d /tmp/k32 kubernetes==32.0.1
    python -m tui.sandbox.catalogue._generate --client /tmp/k32/kubernetes-32.0.1-py2.py3-none-any.whl

Sources, both published on PyPI and derived from Kubernetes' own OpenAPI documents:
- ``kubernetes-validate``: ``kubernetes-json-schema/v1.32.0-local-strict/_definitions.json`` gives every
  type of 1.32 with its descriptions and ``x-kubernetes-group-version-kind``, converted to OpenAPI v3.
- the ``kubernetes`` 32.0.1 client: its API classes call every REST path, which gives plural, scope, verbs
  and subresources of each kind.
Short names and categories are in neither: they come from the small table below, copied from Kubernetes
1.32's discovery document (``api/discovery/aggregated_v2.json`` in kubernetes/kubernetes).
Alpha versions are left out: a 1.32 API server does not serve them unless asked to.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import re
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SCHEMA_DIR = "kubernetes-json-schema/v1.32.0-local-strict"

SHORT_NAMES: dict[str, list[str]] = {
    "componentstatuses": ["cs"],
    "configmaps": ["cm"],
    "endpoints": ["ep"],
    "events": ["ev"],
    "limitranges": ["limits"],
    "namespaces": ["ns"],
    "nodes": ["no"],
    "persistentvolumeclaims": ["pvc"],
    "persistentvolumes": ["pv"],
    "pods": ["po"],
    "replicationcontrollers": ["rc"],
    "resourcequotas": ["quota"],
    "serviceaccounts": ["sa"],
    "services": ["svc"],
    "customresourcedefinitions.apiextensions.k8s.io": ["crd", "crds"],
    "daemonsets.apps": ["ds"],
    "deployments.apps": ["deploy"],
    "replicasets.apps": ["rs"],
    "statefulsets.apps": ["sts"],
    "horizontalpodautoscalers.autoscaling": ["hpa"],
    "cronjobs.batch": ["cj"],
    "certificatesigningrequests.certificates.k8s.io": ["csr"],
    "events.events.k8s.io": ["ev"],
    "ingresses.networking.k8s.io": ["ing"],
    "networkpolicies.networking.k8s.io": ["netpol"],
    "poddisruptionbudgets.policy": ["pdb"],
    "priorityclasses.scheduling.k8s.io": ["pc"],
    "storageclasses.storage.k8s.io": ["sc"],
}
CATEGORIES: dict[str, list[str]] = {
    "pods": ["all"],
    "replicationcontrollers": ["all"],
    "services": ["all"],
    "daemonsets.apps": ["all"],
    "deployments.apps": ["all"],
    "replicasets.apps": ["all"],
    "statefulsets.apps": ["all"],
    "horizontalpodautoscalers.autoscaling": ["all"],
    "cronjobs.batch": ["all"],
    "jobs.batch": ["all"],
    "customresourcedefinitions.apiextensions.k8s.io": ["api-extensions"],
    "mutatingwebhookconfigurations.admissionregistration.k8s.io": ["api-extensions"],
    "validatingwebhookconfigurations.admissionregistration.k8s.io": ["api-extensions"],
    "validatingadmissionpolicies.admissionregistration.k8s.io": ["api-extensions"],
    "validatingadmissionpolicybindings.admissionregistration.k8s.io": ["api-extensions"],
    "apiservices.apiregistration.k8s.io": ["api-extensions"],
}

_CALL = re.compile(r"call_api\(\s*'([^']+)', '(\w+)',.*?response_type=(?:'([^']+)'|None)", re.S)
_PATH = re.compile(
    r"/(?:api/(?P<cv>v1)|apis/(?P<g>[^/]+)/(?P<v>[^/]+))"
    r"(?P<ns>/namespaces/\{namespace\})?/(?P<plural>[a-z0-9]+)(?P<item>/\{name\})?(?:/(?P<sub>[a-z]+))?$"
)
_VERB = {
    ("GET", False): "list",
    ("POST", False): "create",
    ("DELETE", False): "deletecollection",
    ("GET", True): "get",
    ("PUT", True): "update",
    ("PATCH", True): "patch",
    ("DELETE", True): "delete",
}
_CONNECT_KINDS = {
    ("pods", "exec"): "PodExecOptions",
    ("pods", "attach"): "PodAttachOptions",
    ("pods", "portforward"): "PodPortForwardOptions",
    ("pods", "proxy"): "PodProxyOptions",
    ("services", "proxy"): "ServiceProxyOptions",
    ("nodes", "proxy"): "NodeProxyOptions",
}


def _client_sources(client: Path) -> Iterator[str]:
    if client.is_file():
        with zipfile.ZipFile(client) as whl:
            for name in sorted(whl.namelist()):
                if name.startswith("kubernetes/client/api/") and name.endswith("_api.py"):
                    yield whl.read(name).decode()
        return
    for path in sorted((client / "client" / "api").glob("*_api.py")):
        yield path.read_text()


def _type_kind(response_type: str | None, version: str) -> str | None:
    """``V1beta1CronJob`` -> ``CronJob``; ``AuthenticationV1TokenRequest`` -> ``TokenRequest``."""
    if not response_type or response_type in ("str", "object"):
        return None
    m = re.match(r"^[A-Za-z]*?V\d+(?:alpha\d+|beta\d+)?([A-Z]\w*)$", response_type)
    return m.group(1) if m else None


def build_resources(client: Path, gvks: set[tuple[str, str, str]]) -> list[dict[str, Any]]:
    served = {(g, v) for g, v, _ in gvks if "alpha" not in v}
    found: dict[tuple[str, str, str], dict[str, Any]] = {}
    for src in _client_sources(client):
        for m in _CALL.finditer(src):
            path, method, rtype = m.groups()
            p = _PATH.match(path)
            if not p:
                continue
            group, version = (p["g"], p["v"]) if p["g"] else ("", "v1")
            if (group, version) not in served:
                continue
            entry = found.setdefault(
                (group, version, p["plural"]),
                {
                    "group": group,
                    "version": version,
                    "plural": p["plural"],
                    "kind": None,
                    "namespaced": False,
                    "verbs": set(),
                    "subresources": {},
                },
            )
            kind = _type_kind(rtype, version)
            if p["sub"]:
                sub = entry["subresources"].setdefault(p["sub"], {"kind": None, "verbs": set()})
                sub["verbs"].add(
                    {"GET": "get", "PUT": "update", "PATCH": "patch", "POST": "create"}.get(
                        method, method.lower()
                    )
                )
                sub["kind"] = sub["kind"] or kind or _CONNECT_KINDS.get((p["plural"], p["sub"]))
                continue
            entry["namespaced"] = entry["namespaced"] or bool(p["ns"])
            verb = _VERB.get((method, bool(p["item"])))
            if verb:
                entry["verbs"].add(verb)
                if verb == "list":
                    entry["verbs"].add("watch")
            if kind and not kind.endswith("List") and kind != "Status" and (group, version, kind) in gvks:
                entry["kind"] = kind
            elif kind and kind.endswith("List") and (group, version, kind[:-4]) in gvks:
                entry["kind"] = entry["kind"] or kind[:-4]
    out = []
    for (group, version, plural), e in sorted(found.items()):
        if not e["kind"]:
            print(f"skipped {group}/{version} {plural}: no kind", file=sys.stderr)
            continue
        key = f"{plural}.{group}" if group else plural
        subs = []
        for name, s in sorted(e["subresources"].items()):
            skind = s["kind"] or e["kind"]
            sgroup, sversion = (group, version)
            if name == "scale":
                sgroup, sversion = "autoscaling", "v1"
            elif name == "eviction":
                sgroup, sversion = "policy", "v1"
            elif name == "token":
                sgroup, sversion = "authentication.k8s.io", "v1"
            subs.append(
                {
                    "name": name,
                    "kind": skind,
                    "group": sgroup,
                    "version": sversion,
                    "verbs": sorted(s["verbs"]),
                }
            )
        row: dict[str, Any] = {
            "group": group,
            "version": version,
            "plural": plural,
            "kind": e["kind"],
            "namespaced": e["namespaced"],
            "verbs": sorted(e["verbs"]),
        }
        if key in SHORT_NAMES:
            row["shortNames"] = SHORT_NAMES[key]
        if key in CATEGORIES:
            row["categories"] = CATEGORIES[key]
        if subs:
            row["subresources"] = subs
        out.append(row)
    return out


def _convert(node: Any, *, gvk_type: bool = False) -> Any:
    """JSON Schema (2020-12, nullable types) to the OpenAPI v3 dialect the API server publishes."""
    if isinstance(node, list):
        return [_convert(n) for n in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for k, v in node.items():
        if k == "$ref":
            out[k] = v.replace("#/$defs/", "#/components/schemas/")
        elif k == "type" and isinstance(v, list):
            kept = [t for t in v if t != "null"]
            out[k] = kept[0] if len(kept) == 1 else kept
        elif k == "additionalProperties" and v is False:
            continue
        elif k == "properties":
            props = {}
            for name, sub in v.items():
                conv = _convert(sub)
                if gvk_type and name in ("apiVersion", "kind"):
                    conv.pop("enum", None)
                props[name] = conv
            out[k] = props
        else:
            out[k] = _convert(v)
    if "$ref" in out and len(out) > 1:
        ref = out.pop("$ref")
        out["allOf"] = [{"$ref": ref}]
    if "oneOf" in out:
        out["oneOf"] = [o for o in out["oneOf"] if o.get("type") != "null"]
    return out


def build_schemas(defs: dict[str, Any]) -> dict[str, Any]:
    return {
        name: _convert(d, gvk_type="x-kubernetes-group-version-kind" in d) for name, d in sorted(defs.items())
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--client", type=Path, required=True, help="kubernetes 32.x wheel or package directory"
    )
    args = parser.parse_args(argv)
    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or not spec.submodule_search_locations:
        parser.error("kubernetes-validate is not installed (pip install -e '.[test]')")
    schema_file = Path(next(iter(spec.submodule_search_locations))) / SCHEMA_DIR / "_definitions.json"
    defs = json.loads(schema_file.read_text())["$defs"]
    gvks = {
        (g["group"], g["version"], g["kind"])
        for d in defs.values()
        for g in d.get("x-kubernetes-group-version-kind") or ()
    }
    resources = build_resources(args.client, gvks)
    note = (
        "Generated by tui/sandbox/catalogue/_generate.py from kubernetes-validate "
        f"({SCHEMA_DIR}/_definitions.json) and the kubernetes 32.0.1 client's API paths; short names and "
        "categories from Kubernetes 1.32 discovery (api/discovery/aggregated_v2.json). Do not edit."
    )
    (HERE / "resources.json").write_text(
        json.dumps(
            {"source": note, "kubernetesVersion": "1.32", "resources": resources}, separators=(",", ":")
        )
        + "\n"
    )
    payload = json.dumps({"source": note, "schemas": build_schemas(defs)}, separators=(",", ":"))
    (HERE / "schemas.json.gz").write_bytes(gzip.compress(payload.encode(), mtime=0))
    print(f"{len(resources)} resources, {len(defs)} schemas", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
