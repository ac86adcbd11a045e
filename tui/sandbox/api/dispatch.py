"""The aiohttp application: bearer-token auth, the error middleware, URL routing and the forbid rules.

Every request ends in either a JSON object or a ``Status``; nothing escapes as a traceback, because a crashed
sandbox would take the demo with it. The handlers live in crud, watch, logs and discovery.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import unquote

from aiohttp import web

from tui.errors import KubeError
from tui.sandbox.api.body import MAX_BODY
from tui.sandbox.api.crud import Crud
from tui.sandbox.api.discovery import Discovery
from tui.sandbox.api.encode import Encoder
from tui.sandbox.api.fields import WARNINGS
from tui.sandbox.api.logs import Logs
from tui.sandbox.api.watch import Notifier, Watches
from tui.sandbox.api.wire import (
    Target,
    api_error,
    json_response,
    method_not_allowed,
    path_not_found,
    status_response,
)
from tui.sandbox.resources import Registry, ResourceType
from tui.sandbox.store import Store, status_body

log = logging.getLogger(__name__)


def new_event_loop() -> asyncio.AbstractEventLoop:
    """The loop the sandbox serves on: uvloop where it is installed (not on Windows), which answers small
    requests over TLS markedly faster than asyncio's own loop; asyncio's otherwise."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


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


class ApiServer:
    """Request handling. Create it inside the event loop that will serve it (it binds a notifier there)."""

    def __init__(self, *, store: Store, registry: Registry, token: str, git_version: str = "v1.32.0") -> None:
        self.store = store
        self.registry = registry
        self.token = token
        self.forbid_rules: list[ForbidRule] = []
        self.notifier = Notifier(loop=asyncio.get_running_loop(), loop_thread=threading.get_ident())
        self.encoder = Encoder()
        self.crud = Crud(store=store, encoder=self.encoder, allowed=self.allowed)
        self.watches = Watches(store=store, encoder=self.encoder, notifier=self.notifier)
        self.logs = Logs(store=store, notifier=self.notifier)
        self.discovery = Discovery(registry=registry, store=store, git_version=git_version)
        store.add_listener(self.notifier.poke)
        store.add_listener(self.encoder.forget)

    def detach(self) -> None:
        self.store.remove_listener(self.notifier.poke)
        self.store.remove_listener(self.encoder.forget)

    def shutdown_watches(self) -> None:
        """Ask every open watch to end (called from the loop thread before the server closes)."""
        self.notifier.close()

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
                return status_response(status_body(401, "Unauthorized", "Unauthorized"), 401)
            response = await handler(request)
            for warning in request.get(WARNINGS, ()):
                escaped = warning.replace("\\", "\\\\").replace('"', '\\"')
                response.headers.add("Warning", f'299 - "{escaped}"')
            return response
        except KubeError as err:
            body = err.status or status_body(err.code or 500, err.reason or "InternalError", err.message)
            return status_response(body, int(str(body.get("code") or err.code or 500)))
        except web.HTTPRequestEntityTooLarge:
            msg = f"Request entity too large: limit is {MAX_BODY}"
            return status_response(status_body(413, "RequestEntityTooLarge", msg), 413)
        except web.HTTPException as err:
            reason = {405: "MethodNotAllowed"}.get(err.status, "BadRequest")
            return status_response(status_body(err.status, reason, err.reason or reason), err.status)
        except (asyncio.CancelledError, ConnectionResetError):
            raise
        except Exception as err:  # the sandbox must never crash on a request
            log.exception("sandbox request failed: %s %s", request.method, request.path)
            msg = f"internal error: {type(err).__name__}: {err}"
            return status_response(status_body(500, "InternalError", msg), 500)

    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), self.token.encode())

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        parts = [unquote(p) for p in request.rel_url.raw_path.split("/") if p]
        method = request.method
        if not parts:
            return json_response({"paths": ["/api", "/api/v1", "/apis", "/openapi/v3", "/version"]})
        head = parts[0]
        if head == "version" and len(parts) == 1:
            return json_response(self.discovery.version())
        if head in ("healthz", "livez", "readyz") and len(parts) == 1:
            return web.Response(text="ok", content_type="text/plain")
        if head == "openapi":
            return self.discovery.openapi(parts[1:])
        if head == "api" and len(parts) == 1:
            return self.discovery.core(request)
        if head == "apis" and len(parts) == 1:
            return self.discovery.groups(request)
        if head == "api" and len(parts) == 2 and parts[1] == "v1":
            return json_response(self.discovery.resource_list("", "v1"))
        if head == "apis" and len(parts) == 2:
            return self.discovery.group(parts[1])
        if head == "apis" and len(parts) == 3:
            if not self.registry.in_group_version(parts[1], parts[2]):
                raise path_not_found()
            return json_response(self.discovery.resource_list(parts[1], parts[2]))
        target = self._parse_target(parts)
        return await self._handle_resource(request, target, method)

    # ------------------------------------------------------------------ routing
    def _parse_target(self, parts: list[str]) -> Target:
        if parts[0] == "api" and len(parts) >= 3 and parts[1] == "v1":
            group, version, rest = "", "v1", parts[2:]
        elif parts[0] == "apis" and len(parts) >= 4:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise path_not_found()
        namespace: str | None = None
        if (
            rest[0] == "namespaces"
            and len(rest) >= 3
            and not (len(rest) == 3 and rest[2] in ("status", "finalize"))
        ):
            namespace, rest = rest[1], rest[2:]
        if len(rest) > 3:
            raise path_not_found()
        rt = self.registry.lookup(group, version, rest[0])
        if rt is None:
            raise path_not_found()
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if namespace is not None and not rt.namespaced:
            raise path_not_found()
        if name is not None and rt.namespaced and namespace is None:
            raise path_not_found()
        if sub is not None and sub not in rt.subresources:
            raise path_not_found()
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
            raise method_not_allowed(method, t)
        if t.name is None:
            if method == "GET":
                verb = "watch" if q.get("watch") in ("1", "true", "True") else "list"
                self._check_forbidden(t, verb)
                if verb == "watch":
                    return await self.watches.watch(request, t)
                return self.crud.list_items(request, t)
            if method == "POST":
                self._check_forbidden(t, "create")
                return await self.crud.create(request, t)
            if method == "DELETE":
                self._check_forbidden(t, "deletecollection")
                return self.crud.delete_collection(request, t)
        else:
            if t.sub == "log":
                if method != "GET":
                    raise method_not_allowed(method, t)
                self._check_forbidden(t, "get")
                return await self.logs.pod_log(request, t)
            if method == "GET":
                self._check_forbidden(t, "get")
                return self.crud.get(request, t)
            if method == "PUT":
                self._check_forbidden(t, "update")
                return await self.crud.replace(request, t)
            if method == "PATCH":
                self._check_forbidden(t, "patch")
                return await self.crud.patch(request, t)
            if method == "DELETE" and t.sub is None:
                self._check_forbidden(t, "delete")
                return await self.crud.delete(request, t)
        raise method_not_allowed(method, t)
