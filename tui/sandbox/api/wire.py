"""Wire pieces every API handler shares: JSON encoding, Status errors, content negotiation, the URL target.

The wire details (content types, Status reasons, which fields clients insist on) follow KUBE-CLIENTS.md, which
records what stock kubectl 1.32 and helm 3.17 actually send and need.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tui.errors import KubeError
from tui.sandbox.jsonfast import dumps as dumps
from tui.sandbox.resources import ResourceType
from tui.sandbox.store import Obj, status_body

JSON = "application/json"
AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
PROTOBUF = "application/vnd.kubernetes.protobuf"
NOT_FOUND_PATH = "the server could not find the requested resource"


class ApiError(KubeError):
    """A failure answered with a Status body; raised inside handlers."""


def api_error(code: int, reason: str, message: str, **details: Any) -> ApiError:
    return ApiError(message, code=code, reason=reason, status=status_body(code, reason, message, **details))


def bad_request(message: str) -> ApiError:
    return api_error(400, "BadRequest", message)


def path_not_found() -> ApiError:
    return api_error(404, "NotFound", NOT_FOUND_PATH)


@dataclass
class Target:
    """A parsed resource URL."""

    rt: ResourceType
    version: str
    namespace: str | None  # None: cluster-scoped or all namespaces
    name: str | None
    sub: str | None

    @property
    def api_version(self) -> str:
        return self.rt.api_version(self.version)


def json_response(obj: Any, *, status: int = 200, content_type: str = JSON) -> web.Response:
    return web.Response(body=dumps(obj), status=status, headers={"Content-Type": content_type})


def raw_json(body: bytes, *, status: int = 200) -> web.Response:
    return web.Response(body=body, status=status, headers={"Content-Type": JSON})


def status_response(body: Obj, code: int) -> web.Response:
    headers = {"Content-Type": JSON}
    retry = (body.get("details") or {}).get("retryAfterSeconds")
    if retry:
        headers["Retry-After"] = str(retry)
    return web.Response(body=dumps(body), status=code, headers=headers)


def method_not_allowed(method: str, t: Target) -> ApiError:
    return api_error(
        405,
        "MethodNotAllowed",
        f"the server does not allow this method on the requested resource ({method} {t.rt.plural})",
    )


def _accept_entries(request: web.Request) -> list[dict[str, str]]:
    entries = []
    for raw in request.headers.get("Accept", "").split(","):
        segs = [s.strip() for s in raw.split(";")]
        params = {"type": segs[0]}
        for s in segs[1:]:
            k, _, v = s.partition("=")
            params[k.strip()] = v.strip()
        entries.append(params)
    return entries


def wants_table(request: web.Request) -> bool:
    return any(e.get("as") == "Table" for e in _accept_entries(request))


def wants_aggregated(request: web.Request) -> bool:
    return any(
        e.get("as") == "APIGroupDiscoveryList" and e.get("v") == "v2" and e.get("g") == "apidiscovery.k8s.io"
        for e in _accept_entries(request)
    )


def dry_run(request: web.Request) -> bool:
    return "All" in request.query.getall("dryRun", [])


def present(t: Target, obj: Obj) -> Obj:
    """The stored object as the requested version sees it (a custom resource may be stored as another)."""
    if obj.get("apiVersion") == t.api_version and obj.get("kind"):
        return obj
    return {**obj, "apiVersion": t.api_version, "kind": t.rt.kind}


def selectors_of(request: web.Request) -> tuple[Any, Any]:
    """The request's parsed label and field selectors (None when absent)."""
    from tui.sandbox import selectors

    ls = fs = None
    try:
        if request.query.get("labelSelector"):
            ls = selectors.parse_label_selector(request.query["labelSelector"])
        if request.query.get("fieldSelector"):
            fs = selectors.parse_field_selector(request.query["fieldSelector"])
    except ValueError as err:
        raise bad_request(f"unable to parse requirement: {err}") from err
    return ls, fs


def parse_rv(raw: str) -> int:
    """A resourceVersion query parameter ("" and "0" mean "any"), or a 400 worded as the apiserver's."""
    if raw in ("", "0"):
        return 0
    if not raw.isdigit():
        syntax = f'strconv.ParseUint: parsing "{raw}": invalid syntax'
        raise bad_request(f'invalid resource version: resourceVersion: Invalid value: "{raw}": {syntax}')
    return int(raw)
