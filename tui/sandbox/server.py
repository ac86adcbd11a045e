"""The sandbox's Kubernetes REST API over aiohttp: discovery, OpenAPI, CRUD, patch, watch, tables, logs.

The wire details (content types, Status reasons, which fields clients insist on) follow KUBE-CLIENTS.md, which
records what stock kubectl 1.32 and helm 3.17 actually send and need. Every request ends in either a JSON
object or a ``Status``; nothing escapes as a traceback, because a crashed sandbox would take the demo with it.

Watch streams follow the real API server: events are JSON lines over a chunked 200 response; a
resourceVersion older than the store's event log yields one ``ERROR`` event carrying a 410 ``Expired``
Status, and one newer than the store (a client that outlived a sandbox restarted without its state) a 504
``Timeout`` with the ``ResourceVersionTooLarge`` cause, in a watch and in a list alike. Clients (client-go,
tui.kube) turn both into "list again".
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import yaml
from aiohttp import web

from tui.errors import KubeError
from tui.sandbox import tables, validation
from tui.sandbox.openapi import OpenAPI
from tui.sandbox.resources import CRD_KEY, STATUS_OWNED, Registry, ResourceType
from tui.sandbox.store import Obj, Store, conflict, not_found, status_body, too_large

log = logging.getLogger(__name__)

JSON = "application/json"
AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
PROTOBUF = "application/vnd.kubernetes.protobuf"
MAX_BODY = 64 * 1024 * 1024
BOOKMARK_EVERY = 10.0
DEFAULT_WATCH_TIMEOUT = 1800.0


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


class ApiError(KubeError):
    """A failure answered with a Status body; raised inside handlers."""


def api_error(code: int, reason: str, message: str, **details: Any) -> ApiError:
    return ApiError(message, code=code, reason=reason, status=status_body(code, reason, message, **details))


def bad_request(message: str) -> ApiError:
    return api_error(400, "BadRequest", message)


NOT_FOUND_PATH = "the server could not find the requested resource"
_AGE_MARK = "\x00age\x00"


@dataclass
class ForbidRule:
    resource: str
    namespace: str | None
    verbs: frozenset[str] | None

    def applies(self, rt: ResourceType, namespace: str, verb: str) -> bool:
        if self.resource not in (rt.plural, rt.key):
            return False
        if self.namespace is not None and self.namespace != namespace:
            return False
        return self.verbs is None or verb in self.verbs


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


@dataclass
class _Notifier:
    """Wakes watch streams after store writes; one asyncio.Event per generation of waiters."""

    loop: asyncio.AbstractEventLoop
    event: asyncio.Event = field(default_factory=asyncio.Event)
    pending: bool = False
    loop_thread: int = 0

    def poke(self, *_: Any) -> None:
        if self.pending:
            return
        self.pending = True
        if threading.get_ident() == self.loop_thread:
            self.loop.call_soon(self._fire)
        else:
            with contextlib.suppress(RuntimeError):
                self.loop.call_soon_threadsafe(self._fire)

    def _fire(self) -> None:
        self.pending = False
        ev, self.event = self.event, asyncio.Event()
        ev.set()


class ApiServer:
    """Request handling. Create it inside the event loop that will serve it (it binds a notifier there)."""

    def __init__(self, *, store: Store, registry: Registry, token: str, git_version: str = "v1.32.0") -> None:
        self.store = store
        self.registry = registry
        self.token = token
        self.git_version = git_version
        self.openapi = OpenAPI(title_version=git_version)
        self.forbid_rules: list[ForbidRule] = []
        self.closing = False
        loop = asyncio.get_running_loop()
        self.notifier = _Notifier(loop=loop, loop_thread=threading.get_ident())
        self._encode_cache: dict[tuple[str, str, str, bool], tuple[tuple[Any, str], bytes]] = {}
        self._row_cache: dict[tuple[str, str, str], tuple[Any, bytes, bytes]] = {}
        store.add_listener(self.notifier.poke)
        store.add_listener(self._forget_encoded)

    def detach(self) -> None:
        self.store.remove_listener(self.notifier.poke)
        self.store.remove_listener(self._forget_encoded)

    def shutdown_watches(self) -> None:
        """Ask every open watch to end (called from the loop thread before the server closes)."""
        self.closing = True
        self.notifier._fire()

    # ------------------------------------------------------------------ app
    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY, middlewares=[self._middleware])
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        return app

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        try:
            if not self._authorized(request):
                return _status_response(status_body(401, "Unauthorized", "Unauthorized"), 401)
            return await handler(request)
        except KubeError as err:
            body = err.status or status_body(err.code or 500, err.reason or "InternalError", err.message)
            return _status_response(body, int(str(body.get("code") or err.code or 500)))
        except web.HTTPException as err:
            reason = {413: "RequestEntityTooLarge", 405: "MethodNotAllowed"}.get(err.status, "BadRequest")
            return _status_response(status_body(err.status, reason, err.reason or reason), err.status)
        except (asyncio.CancelledError, ConnectionResetError):
            raise
        except Exception as err:  # the sandbox must never crash on a request
            log.exception("sandbox request failed: %s %s", request.method, request.path)
            msg = f"internal error: {type(err).__name__}: {err}"
            return _status_response(status_body(500, "InternalError", msg), 500)

    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), self.token.encode())

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        parts = [unquote(p) for p in request.rel_url.raw_path.split("/") if p]
        method = request.method
        if not parts:
            return _json({"paths": ["/api", "/api/v1", "/apis", "/openapi/v3", "/version"]})
        head = parts[0]
        if head == "version" and len(parts) == 1:
            return _json(self._version())
        if head in ("healthz", "livez", "readyz") and len(parts) == 1:
            return web.Response(text="ok", content_type="text/plain")
        if head == "openapi":
            return self._openapi(parts[1:])
        if head == "api" and len(parts) == 1:
            return self._discovery_core(request)
        if head == "apis" and len(parts) == 1:
            return self._discovery_groups(request)
        if head == "api" and len(parts) == 2 and parts[1] == "v1":
            return _json(self._resource_list("", "v1"))
        if head == "apis" and len(parts) == 2:
            return self._group(parts[1])
        if head == "apis" and len(parts) == 3:
            if not self.registry.in_group_version(parts[1], parts[2]):
                raise api_error(404, "NotFound", NOT_FOUND_PATH)
            return _json(self._resource_list(parts[1], parts[2]))
        target = self._parse_target(parts)
        return await self._handle_resource(request, target, method)

    # ------------------------------------------------------------------ routing
    def _parse_target(self, parts: list[str]) -> Target:
        if parts[0] == "api" and len(parts) >= 3 and parts[1] == "v1":
            group, version, rest = "", "v1", parts[2:]
        elif parts[0] == "apis" and len(parts) >= 4:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise api_error(404, "NotFound", NOT_FOUND_PATH)
        namespace: str | None = None
        if (
            rest[0] == "namespaces"
            and len(rest) >= 3
            and not (len(rest) == 3 and rest[2] in ("status", "finalize"))
        ):
            namespace, rest = rest[1], rest[2:]
        if len(rest) > 3:
            raise api_error(404, "NotFound", NOT_FOUND_PATH)
        rt = self.registry.lookup(group, version, rest[0])
        if rt is None:
            raise api_error(404, "NotFound", NOT_FOUND_PATH)
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if namespace is not None and not rt.namespaced:
            raise api_error(404, "NotFound", NOT_FOUND_PATH)
        if name is not None and rt.namespaced and namespace is None:
            raise api_error(404, "NotFound", NOT_FOUND_PATH)
        if sub is not None and sub not in rt.subresources:
            raise api_error(404, "NotFound", NOT_FOUND_PATH)
        return Target(rt=rt, version=version, namespace=namespace, name=name, sub=sub)

    def _check_forbidden(self, t: Target, verb: str) -> None:
        ns = t.namespace or ""
        for rule in self.forbid_rules:
            if rule.applies(t.rt, ns, verb):
                where = f' in the namespace "{ns}"' if ns else " at the cluster scope"
                resource = f"{t.rt.plural}/{t.sub}" if t.sub else t.rt.plural
                msg = (
                    f"{t.rt.key} {'' if t.name is None else repr(t.name).replace(chr(39), chr(34)) + ' '}"
                    f'is forbidden: User "sandbox" cannot {verb} resource "{resource}" in API group '
                    f'"{t.rt.group}"{where}'
                )
                raise api_error(403, "Forbidden", msg, name=t.name or "", kind=t.rt.plural)

    def allowed(self, *, resource: str, namespace: str, verb: str, group: str = "") -> bool:
        rt = self.registry.by_key(f"{resource}.{group}" if group else resource)
        if rt is None:
            return True
        return not any(rule.applies(rt, namespace, verb) for rule in self.forbid_rules)

    async def _handle_resource(self, request: web.Request, t: Target, method: str) -> web.StreamResponse:
        q = request.query
        if t.rt.verbs == ("create",) and method != "POST":
            raise _method_not_allowed(method, t)
        if t.name is None:
            if method == "GET":
                verb = "watch" if q.get("watch") in ("1", "true", "True") else "list"
                self._check_forbidden(t, verb)
                if verb == "watch":
                    return await self._watch(request, t)
                return self._list(request, t)
            if method == "POST":
                self._check_forbidden(t, "create")
                return await self._create(request, t)
            if method == "DELETE":
                self._check_forbidden(t, "deletecollection")
                return self._delete_collection(request, t)
        else:
            if t.sub == "log":
                if method != "GET":
                    raise _method_not_allowed(method, t)
                self._check_forbidden(t, "get")
                return await self._pod_log(request, t)
            if method == "GET":
                self._check_forbidden(t, "get")
                return self._get(request, t)
            if method == "PUT":
                self._check_forbidden(t, "update")
                return await self._replace(request, t)
            if method == "PATCH":
                self._check_forbidden(t, "patch")
                return await self._patch(request, t)
            if method == "DELETE" and t.sub is None:
                self._check_forbidden(t, "delete")
                return await self._delete(request, t)
        raise _method_not_allowed(method, t)

    # ------------------------------------------------------------------ reads
    def _present(self, t: Target, obj: Obj) -> Obj:
        """The stored object as the requested version sees it (a custom resource may be stored as another)."""
        if obj.get("apiVersion") == t.api_version and obj.get("kind"):
            return obj
        return {**obj, "apiVersion": t.api_version, "kind": t.rt.kind}

    def _get(self, request: web.Request, t: Target) -> web.StreamResponse:
        assert t.name is not None
        obj = self.store.get(t.rt.key, t.name, namespace=t.namespace or "", copy=False)
        if t.sub == "scale":
            return _json(_scale(t, obj))
        obj = self._present(t, obj)
        if _wants_table(request):
            return _json(tables.table(t.rt, [obj], resource_version=self.store.resource_version))
        return _json(obj)

    def _selectors(self, request: web.Request) -> tuple[Any, Any]:
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

    def _encoded(self, t: Target, obj: Obj, *, meta_only: bool = False) -> bytes:
        """JSON of a stored object (or of its metadata), cached per resourceVersion: lists stay cheap."""
        meta = obj["metadata"]
        ident = (t.rt.key, meta.get("namespace") or "", meta["name"], meta_only)
        version = (meta.get("resourceVersion"), t.api_version)
        hit = self._encode_cache.get(ident)
        if hit is not None and hit[0] == version:
            return hit[1]
        data = dumps(meta) if meta_only else dumps(self._present(t, obj))
        self._encode_cache[ident] = (version, data)
        return data

    def _table_row(self, t: Target, obj: Obj, row: tables.Row, age_at: int | None) -> bytes:
        """One Table row as JSON. Rows are cached per resourceVersion with only the Age cell recomputed,
        as a 10,000-pod ``kubectl get pods -A`` would otherwise spend most of its time formatting cells."""
        meta = obj["metadata"]
        ident = (t.rt.key, meta.get("namespace") or "", meta["name"])
        version = meta.get("resourceVersion")
        if age_at is not None:
            hit = self._row_cache.get(ident)
            if hit is not None and hit[0] == version:
                return hit[1] + dumps(tables.human_age(meta.get("creationTimestamp"))) + hit[2]
        cells = row(self._present(t, obj))
        age = cells[age_at] if age_at is not None else None
        if age_at is not None:
            cells[age_at] = _AGE_MARK
        data = (
            b'{"cells":'
            + dumps(cells)
            + b',"object":{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":'
            + self._encoded(t, obj, meta_only=True)
            + b"}}"
        )
        if age_at is None:
            return data
        before, _, after = data.partition(_AGE_MARK_JSON)
        self._row_cache[ident] = (version, before, after)
        return before + dumps(age) + after

    def _forget_encoded(self, event_type: str, key: str, obj: Obj) -> None:
        if event_type == "DELETED":
            meta = obj.get("metadata") or {}
            ns, name = meta.get("namespace") or "", meta.get("name", "")
            for meta_only in (False, True):
                self._encode_cache.pop((key, ns, name, meta_only), None)
            self._row_cache.pop((key, ns, name), None)

    def _list(self, request: web.Request, t: Target) -> web.StreamResponse:
        ls, fs = self._selectors(request)
        asked = request.query.get("resourceVersion", "")
        if asked.isdigit() and int(asked) > int(self.store.resource_version):
            raise too_large(int(asked), int(self.store.resource_version))
        items, rv = self.store.list(t.rt.key, namespace=t.namespace, label_selector=ls, field_selector=fs)
        if _wants_table(request):
            defs, row = tables.layout(t.rt)
            head = dumps(
                {
                    "kind": "Table",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": {"resourceVersion": rv},
                    "columnDefinitions": defs,
                }
            )
            age_at = next((i for i, d in enumerate(defs) if d["name"] == "Age"), None)
            cacheable = t.rt.builtin and t.rt.key not in ("events", "jobs.batch") and age_at is not None
            rows = [self._table_row(t, o, row, age_at if cacheable else None) for o in items]
            return _raw_json(head[:-1] + b',"rows":[' + b",".join(rows) + b"]}")
        head = dumps(
            {"kind": t.rt.list_kind, "apiVersion": t.api_version, "metadata": {"resourceVersion": rv}}
        )
        return _raw_json(head[:-1] + b',"items":[' + b",".join(self._encoded(t, o) for o in items) + b"]}")

    async def _watch(self, request: web.Request, t: Target) -> web.StreamResponse:
        ls, fs = self._selectors(request)
        q = request.query
        try:
            timeout = float(q.get("timeoutSeconds") or DEFAULT_WATCH_TIMEOUT)
        except ValueError as err:
            raise bad_request(f"invalid timeoutSeconds: {q.get('timeoutSeconds')}") from err
        bookmarks = q.get("allowWatchBookmarks") in ("true", "1", "True")
        as_table = _wants_table(request)
        raw_rv = q.get("resourceVersion", "")
        try:
            start_rv = int(raw_rv) if raw_rv not in ("", "0") else None
        except ValueError as err:
            raise bad_request(f"invalid resourceVersion: {raw_rv}") from err

        resp = web.StreamResponse(status=200, headers={"Content-Type": JSON})
        resp.enable_chunked_encoding()
        await resp.prepare(request)

        def matches(obj: Obj) -> bool:
            meta = obj.get("metadata") or {}
            if t.namespace is not None and meta.get("namespace") != t.namespace:
                return False
            if ls is not None and not ls.matches(meta.get("labels") or {}):
                return False
            return fs is None or fs.matches(obj)

        first_table = [True]

        def render(ev_type: str, obj: Obj) -> bytes:
            obj = self._present(t, obj)
            if as_table:
                payload = tables.table(
                    t.rt,
                    [obj],
                    resource_version=obj["metadata"].get("resourceVersion", ""),
                    columns=first_table[0],
                )
                first_table[0] = False
                return dumps({"type": ev_type, "object": payload}) + b"\n"
            if ev_type == "DELETED":
                return dumps({"type": ev_type, "object": obj}) + b"\n"
            return b'{"type":"' + ev_type.encode() + b'","object":' + self._encoded(t, obj) + b"}\n"

        try:
            if start_rv is None:
                items, rv_s = self.store.list(
                    t.rt.key, namespace=t.namespace, label_selector=ls, field_selector=fs
                )
                rv = int(rv_s)
                if items:
                    await resp.write(b"".join(render("ADDED", o) for o in items))
            else:
                rv = start_rv
            deadline = time.monotonic() + max(timeout, 0.0)
            last_bookmark = time.monotonic()
            transport = request.transport
            while not self.closing:
                waiter = self.notifier.event
                try:
                    events, covered = self.store.poll(rv, keys=(t.rt.key,))
                except KubeError as err:
                    await resp.write(dumps({"type": "ERROR", "object": err.status}) + b"\n")
                    break
                chunk = []
                for ev in events:
                    now_in = matches(ev.obj)
                    if ev.type != "MODIFIED" or ev.old is None or (ls is None and fs is None):
                        if now_in:
                            chunk.append(render(ev.type, ev.obj))
                        continue
                    was_in = matches(ev.old)
                    if now_in or was_in:
                        kind = "MODIFIED" if now_in and was_in else ("ADDED" if now_in else "DELETED")
                        chunk.append(render(kind, ev.obj))
                if chunk:
                    await resp.write(b"".join(chunk))
                rv = covered
                now = time.monotonic()
                if now >= deadline:
                    break
                if bookmarks and now - last_bookmark >= BOOKMARK_EVERY:
                    last_bookmark = now
                    bm = {
                        "kind": t.rt.kind,
                        "apiVersion": t.api_version,
                        "metadata": {
                            "resourceVersion": str(rv),
                            "annotations": {"k8s.io/initial-events-end": "true"},
                        },
                    }
                    await resp.write(dumps({"type": "BOOKMARK", "object": bm}) + b"\n")
                if transport is None or transport.is_closing():
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(waiter.wait(), timeout=min(1.0, max(deadline - now, 0.01)))
        except ConnectionError:
            return resp  # the client went away mid-write
        with contextlib.suppress(ConnectionError, RuntimeError):
            await resp.write_eof()
        return resp

    # ------------------------------------------------------------------ writes
    async def _body(self, request: web.Request, *, allow_yaml: bool = False) -> Any:
        data = await request.read()
        ctype = (request.headers.get("Content-Type") or JSON).split(";", 1)[0].strip().lower()
        if ctype == PROTOBUF:
            try:
                from tui.sandbox import protobuf
            except ImportError as err:
                msg = (
                    f"the body of the request was in an unknown format - accepted media types include: {JSON}"
                )
                raise api_error(415, "UnsupportedMediaType", msg) from err
            try:
                return protobuf.decode_body(data)
            except ValueError as err:
                raise bad_request(f"unable to decode protobuf body: {err}") from err
        if not data.strip():
            raise bad_request("the request body is empty")
        try:
            return json.loads(data)
        except (ValueError, UnicodeDecodeError) as err:
            if allow_yaml or ctype in ("application/yaml", "application/apply-patch+yaml"):
                try:
                    return yaml.safe_load(data)
                except yaml.YAMLError as yerr:
                    raise bad_request(f"error decoding YAML body: {str(yerr).splitlines()[0]}") from yerr
            raise bad_request(f"couldn't decode the request body as JSON: {err}") from err

    def _prepare(self, t: Target, body: Any, *, name: str | None) -> Obj:
        """Check kind/apiVersion/namespace/name of a written object and normalise them."""
        if not isinstance(body, dict):
            raise bad_request(f"the request body must be a JSON object, not {type(body).__name__}")
        kind = body.get("kind")
        if kind and kind != t.rt.kind:
            raise bad_request(
                f"the kind in the body ({kind}) does not match the kind of the URL ({t.rt.kind})"
            )
        api_version = body.get("apiVersion")
        if api_version and api_version.rpartition("/")[0] != t.rt.group:
            raise bad_request(
                f"the API version in the data ({api_version}) does not match the expected API version "
                f"({t.api_version})"
            )
        meta = body.get("metadata")
        if meta is None:
            meta = body["metadata"] = {}
        if not isinstance(meta, dict):
            raise bad_request("metadata must be an object")
        body["kind"] = t.rt.kind
        body["apiVersion"] = t.api_version
        if t.rt.namespaced:
            ns = t.namespace or meta.get("namespace")
            if meta.get("namespace") and t.namespace and meta["namespace"] != t.namespace:
                raise bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            if not ns:
                raise bad_request("a namespace is required for a namespaced resource")
            meta["namespace"] = ns
        else:
            meta.pop("namespace", None)
        if name is not None:
            if meta.get("name") and meta["name"] != name:
                raise bad_request(
                    f"the name of the object ({meta['name']}) does not match the name on the URL ({name})"
                )
            meta["name"] = name
        meta.pop("managedFields", None)
        meta.pop("selfLink", None)
        return body

    async def _create(self, request: web.Request, t: Target) -> web.StreamResponse:
        body = await self._body(request)
        if t.rt.key == "selfsubjectaccessreviews.authorization.k8s.io":
            return self._access_review(t, body)
        obj = self._prepare(t, body, name=None)
        validation.validate(t.rt, obj, create=True)
        if _dry_run(request):
            return _json(obj, status=201)
        created = self.store.create(t.rt.key, obj)
        return _json(self._present(t, created), status=201)

    def _access_review(self, t: Target, body: Any) -> web.StreamResponse:
        if not isinstance(body, dict):
            raise bad_request("the request body must be a JSON object")
        attrs = (body.get("spec") or {}).get("resourceAttributes") or {}
        ok = self.allowed(
            resource=str(attrs.get("resource") or ""),
            namespace=str(attrs.get("namespace") or ""),
            verb=str(attrs.get("verb") or ""),
            group=str(attrs.get("group") or ""),
        )
        status: Obj = {"allowed": ok}
        if not ok:
            status.update(denied=True, reason="forbidden by the sandbox")
        result = {
            "kind": t.rt.kind,
            "apiVersion": t.api_version,
            "metadata": {"creationTimestamp": None},
            "spec": body.get("spec") or {},
            "status": status,
        }
        return _json(result, status=201)

    def _merge_subresource(self, t: Target, old: Obj, new: Obj) -> Obj:
        """What a write through ``t`` may change: only status for /status, everything but status otherwise."""
        if t.sub == "status":
            return {
                **old,
                "status": new.get("status"),
                "metadata": {
                    **old["metadata"],
                    **{k: v for k, v in (new.get("metadata") or {}).items() if k in ("resourceVersion",)},
                },
            }
        if t.rt.key in STATUS_OWNED or (not t.rt.builtin and "status" in t.rt.subresources):
            merged = dict(new)
            if "status" in old:
                merged["status"] = old["status"]
            else:
                merged.pop("status", None)
            return merged
        return new

    async def _replace(self, request: web.Request, t: Target) -> web.StreamResponse:
        assert t.name is not None
        body = await self._body(request)
        key, ns = t.rt.key, t.namespace or ""
        if t.sub == "scale":
            if not isinstance(body, dict):
                raise bad_request("the request body must be a Scale object")
            replicas = (body.get("spec") or {}).get("replicas")
            return self._set_scale(t, replicas)
        obj = self._prepare(t, body, name=t.name)
        old = self.store.get(key, t.name, namespace=ns, copy=False)
        sent_rv = obj["metadata"].get("resourceVersion")
        if sent_rv and str(sent_rv) != old["metadata"]["resourceVersion"]:
            raise conflict(key, t.name)
        obj = self._merge_subresource(t, old, obj)
        validation.validate(t.rt, obj, create=False)
        if _dry_run(request):
            return _json(obj)
        result = self.store.replace(key, obj, check_rv=True)
        return _json(self._present(t, result))

    def _set_scale(self, t: Target, replicas: Any) -> web.StreamResponse:
        assert t.name is not None
        if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
            raise validation.invalid_field(
                t.rt, t.name, "spec.replicas", "Invalid value: must be greater than or equal to 0"
            )

        def mutate(o: Obj) -> None:
            o.setdefault("spec", {})["replicas"] = replicas

        obj = self.store.update(t.rt.key, t.name, namespace=t.namespace or "", mutate=mutate)
        return _json(_scale(t, obj))

    async def _patch(self, request: web.Request, t: Target) -> web.StreamResponse:
        from tui.sandbox import patch

        assert t.name is not None
        ctype = (request.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        data = await request.read()
        key, ns, name = t.rt.key, t.namespace or "", t.name
        if ctype not in (patch.MERGE, patch.JSON_PATCH, patch.STRATEGIC, patch.APPLY):
            raise patch.unsupported_media_type(ctype or "(none)", kind=t.rt.kind)
        if t.sub == "scale":
            try:
                current_scale = _scale(t, self.store.get(key, name, namespace=ns, copy=False))
                new_scale = patch.apply_patch(current_scale, data, ctype, kind="Scale", builtin=True)
            except ValueError as err:
                raise bad_request(str(err)) from err
            return self._set_scale(t, (new_scale.get("spec") or {}).get("replicas"))
        existing = self.store.try_get(key, name, namespace=ns, copy=False)
        if existing is None:
            if ctype != patch.APPLY or t.sub is not None:
                raise not_found(key, name)
            try:
                body = patch.apply_patch({}, data, ctype, kind=t.rt.kind, builtin=t.rt.builtin)
            except ValueError as err:
                raise bad_request(str(err)) from err
            obj = self._prepare(t, body, name=name)
            validation.validate(t.rt, obj, create=True)
            if _dry_run(request):
                return _json(obj, status=201)
            return _json(self._present(t, self.store.create(key, obj)), status=201)

        def mutate(current: Obj) -> Obj:
            try:
                patched = patch.apply_patch(current, data, ctype, kind=t.rt.kind, builtin=t.rt.builtin)
            except ValueError as err:
                raise bad_request(str(err)) from err
            if not isinstance(patched, dict):
                raise bad_request("the patch must produce an object")
            rv = (patched.get("metadata") or {}).get("resourceVersion")
            if rv and str(rv) != current["metadata"]["resourceVersion"]:
                raise conflict(key, name)
            patched.setdefault("metadata", {})
            if patched["metadata"].get("name", name) != name:
                raise bad_request(f"the name of the object cannot be changed by a patch (from {name})")
            patched["metadata"]["name"] = name
            patched = self._prepare(t, patched, name=name)
            patched = self._merge_subresource(t, current, patched)
            validation.validate(t.rt, patched, create=False)
            return patched

        if _dry_run(request):
            draft = json.loads(json.dumps(existing))
            return _json(self._present(t, mutate(draft)))
        result = self.store.update(key, name, namespace=ns, mutate=mutate)
        return _json(self._present(t, result))

    async def _delete(self, request: web.Request, t: Target) -> web.StreamResponse:
        assert t.name is not None
        if request.can_read_body:
            with contextlib.suppress(KubeError):
                await self._body(request)  # DeleteOptions: accepted and, like propagationPolicy, not needed
        if _dry_run(request):
            return _json(self._present(t, self.store.get(t.rt.key, t.name, namespace=t.namespace or "")))
        obj = self.store.delete(t.rt.key, t.name, namespace=t.namespace or "")
        return _json(self._present(t, obj))

    def _delete_collection(self, request: web.Request, t: Target) -> web.StreamResponse:
        ls, fs = self._selectors(request)
        items, _ = self.store.list(t.rt.key, namespace=t.namespace, label_selector=ls, field_selector=fs)
        deleted = []
        for o in items:
            meta = o["metadata"]
            with contextlib.suppress(KubeError):
                deleted.append(
                    self._present(
                        t, self.store.delete(t.rt.key, meta["name"], namespace=meta.get("namespace") or "")
                    )
                )
        return _json(
            {
                "kind": t.rt.list_kind,
                "apiVersion": t.api_version,
                "metadata": {"resourceVersion": self.store.resource_version},
                "items": deleted,
            }
        )

    # ------------------------------------------------------------------ pods/log
    async def _pod_log(self, request: web.Request, t: Target) -> web.StreamResponse:
        assert t.name is not None
        pod = self.store.get("pods", t.name, namespace=t.namespace or "", copy=False)
        spec = pod.get("spec") or {}
        containers = [c.get("name") for c in (spec.get("containers") or [])]
        init = [c.get("name") for c in (spec.get("initContainers") or [])]
        container = request.query.get("container")
        if not container:
            if len(containers) != 1:
                raise bad_request(
                    f"a container name must be specified for pod {t.name}, choose one of: "
                    f"[{' '.join(str(c) for c in containers)}]"
                )
            container = str(containers[0])
        if container not in containers and container not in init:
            raise bad_request(f"container {container} is not valid for pod {t.name}")
        lines = pod_log_lines(pod, container)
        tail = request.query.get("tailLines")
        if tail and tail.lstrip("-").isdigit() and int(tail) >= 0:
            lines = lines[-int(tail) :] if int(tail) else []
        if request.query.get("timestamps") in ("true", "1"):
            lines = [f"{pod['metadata'].get('creationTimestamp', '')} {line}" for line in lines]
        text = "".join(line + "\n" for line in lines)
        if request.query.get("follow") not in ("true", "1"):
            return web.Response(text=text, content_type="text/plain")
        resp = web.StreamResponse(status=200, headers={"Content-Type": "text/plain"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        await resp.write(text.encode())
        transport = request.transport
        while not self.closing and transport is not None and not transport.is_closing():
            if self.store.try_get("pods", t.name, namespace=t.namespace or "", copy=False) is None:
                break
            await asyncio.sleep(0.5)
        with contextlib.suppress(ConnectionError, RuntimeError):
            await resp.write_eof()
        return resp

    # ------------------------------------------------------------------ discovery
    def _version(self) -> Obj:
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

    def _discovery_core(self, request: web.Request) -> web.StreamResponse:
        if _wants_aggregated(request):
            gv = self.registry.group_versions()
            body = {
                "kind": "APIGroupDiscoveryList",
                "apiVersion": "apidiscovery.k8s.io/v2",
                "metadata": {},
                "items": [self._group_discovery("", gv.get("", ["v1"]))],
            }
            return _json(body, content_type=AGGREGATED)
        return _json(
            {
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": request.host}],
            }
        )

    def _discovery_groups(self, request: web.Request) -> web.StreamResponse:
        gv = self.registry.group_versions()
        groups = sorted(g for g in gv if g)
        if _wants_aggregated(request):
            body = {
                "kind": "APIGroupDiscoveryList",
                "apiVersion": "apidiscovery.k8s.io/v2",
                "metadata": {},
                "items": [self._group_discovery(g, gv[g]) for g in groups],
            }
            return _json(body, content_type=AGGREGATED)
        return _json(
            {"kind": "APIGroupList", "apiVersion": "v1", "groups": [_api_group(g, gv[g]) for g in groups]}
        )

    def _group(self, group: str) -> web.StreamResponse:
        versions = self.registry.group_versions().get(group)
        if not versions or not group:
            raise api_error(404, "NotFound", NOT_FOUND_PATH)
        return _json({"kind": "APIGroup", "apiVersion": "v1", **_api_group(group, versions)})

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

    def _resource_list(self, group: str, version: str) -> Obj:
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

    def _openapi(self, parts: list[str]) -> web.StreamResponse:
        if not parts or parts[0] != "v3":
            raise api_error(404, "NotFound", NOT_FOUND_PATH)
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
            return _json({"paths": paths})
        rest = parts[1:]
        if rest[0] == "api" and len(rest) == 2:
            group, version = "", rest[1]
        elif rest[0] == "apis" and len(rest) == 3:
            group, version = rest[1], rest[2]
        else:
            raise api_error(404, "NotFound", NOT_FOUND_PATH)
        rts = self.registry.in_group_version(group, version)
        if not rts:
            raise api_error(404, "NotFound", NOT_FOUND_PATH)
        crds = {}
        for rt in rts:
            if not rt.builtin:
                crd = self.store.try_get(CRD_KEY, f"{rt.plural}.{rt.group}", copy=False)
                if crd is not None:
                    crds[rt.key] = crd
        body = self.openapi.document(group, version, rts, generation=self.registry.generation, crds=crds)
        return _raw_json(body)


# ---------------------------------------------------------------------- helpers
def _json(obj: Any, *, status: int = 200, content_type: str = JSON) -> web.Response:
    return web.Response(body=dumps(obj), status=status, headers={"Content-Type": content_type})


_AGE_MARK_JSON = dumps(_AGE_MARK)


def _raw_json(body: bytes) -> web.Response:
    return web.Response(body=body, status=200, headers={"Content-Type": JSON})


def _status_response(body: Obj, code: int) -> web.Response:
    return web.Response(body=dumps(body), status=code, headers={"Content-Type": JSON})


def _method_not_allowed(method: str, t: Target) -> ApiError:
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


def _wants_table(request: web.Request) -> bool:
    return any(e.get("as") == "Table" for e in _accept_entries(request))


def _wants_aggregated(request: web.Request) -> bool:
    return any(
        e.get("as") == "APIGroupDiscoveryList" and e.get("v") == "v2" and e.get("g") == "apidiscovery.k8s.io"
        for e in _accept_entries(request)
    )


def _dry_run(request: web.Request) -> bool:
    return "All" in request.query.getall("dryRun", [])


def _api_group(group: str, versions: list[str]) -> Obj:
    vs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": vs, "preferredVersion": vs[0]}


def _scale(t: Target, obj: Obj) -> Obj:
    meta = obj["metadata"]
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    selector = spec.get("selector") or {}
    labels = selector.get("matchLabels") or {}
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: meta[k]
            for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if k in meta
        },
        "spec": {"replicas": spec.get("replicas", 1)},
        "status": {
            "replicas": status.get("replicas", 0),
            "selector": ",".join(f"{k}={v}" for k, v in sorted(labels.items())),
        },
    }


def pod_log_lines(pod: Obj, container: str) -> list[str]:
    """A few plausible, deterministic log lines for one container of a pod."""
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    spec_of = next(
        (
            c
            for c in (spec.get("containers") or []) + (spec.get("initContainers") or [])
            if isinstance(c, dict) and c.get("name") == container
        ),
        {},
    )
    image = str(spec_of.get("image", ""))
    port = next((p.get("containerPort") for p in spec_of.get("ports") or [] if isinstance(p, dict)), 8080)
    started = meta.get("creationTimestamp", "")
    pod_ip = (pod.get("status") or {}).get("podIP", "")
    if container == "istio-proxy":
        return [
            f'{started} info\tFLAG: --concurrency="2"',
            f"{started} info\tVersion 1.28.0-sandbox",
            f"{started} info\tProxy role\tips=[{pod_ip}] type=sidecar "
            f"id={meta.get('name')}.{meta.get('namespace')}",
            f"{started} info\tEnvoy proxy is ready",
        ]
    if container == "istio-init":
        return [
            f"{started} info\tIstio iptables environment: ENVOY_PORT=15001 INBOUND_CAPTURE_PORT=15006",
            f"{started} info\tRunning iptables-restore with the generated rules",
        ]
    name = image.rsplit("/", 1)[-1] or container
    return [
        f"{started} INFO starting {name} in pod {meta.get('name')}",
        f"{started} INFO listening on {pod_ip or '0.0.0.0'}:{port}",
        f"{started} INFO ready",
    ]


__all__ = ["ApiServer", "ForbidRule", "dumps", "pod_log_lines"]
