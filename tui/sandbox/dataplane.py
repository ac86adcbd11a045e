"""The sandbox's simulated data plane: the ingress gateway's nodePort really listens and serves Bookinfo.

What it does, following what Istio would do with the same objects:

* **Gateway listeners.** A Service whose selector (or labels) matches a Gateway's selector, or the default
  ``istio: ingressgateway``, and that has an ``http2`` port with a nodePort, gets an aiohttp site on
  ``127.0.0.1:<nodePort>`` as soon as one of its pods is Running. The site closes when the Service goes away,
  loses the nodePort, or has no Running pod left. An allocated nodePort is held from allocation on
  (:mod:`tui.sandbox.portholds`); a requested one that cannot be bound is retried every 2 s, logged once
  and reported as a ``NodePortInUse`` Warning Event on the Service (see :attr:`DataPlane.errors`).
* **Every node.** The site also listens on the other nodes' loopback InternalIPs (127.0.0.2, ...), so the
  ``hostIP:nodePort`` of a gateway pod on any node answers, as kube-proxy makes a nodePort answer everywhere.
* **Kubernetes Ingress.** On Istio's ingress gateway (``istio: ingressgateway``) the rules of Istio's
  Ingresses (:mod:`tui.sandbox.ingress`) route by Host: an Ingress naming the exact host wins, then the
  VirtualServices, then wildcard Ingress rules. The backend answers with :mod:`tui.sandbox.addon_page`, which
  names the addon, its Service and the Running pod that would answer (503 with no such pod).
* **Edge routing.** A request is matched against the ``http`` rules of VirtualServices bound (``gateways``) to
  a Gateway whose selector matches the gateway pods and whose server port is the Service's ``http2`` port.
  No rule matches → 404, as Envoy's "route not found". The destination must be Bookinfo's productpage;
  without a Running productpage pod the answer is 503 ``no healthy upstream``.
* **Productpage.** ``POST /login`` (form ``username``) sets a session cookie and answers 302 to the Referer,
  the literal ``None`` when there is none; ``/logout`` clears it. ``/productpage`` calls details and reviews;
  reviews v2/v3 call ratings. Every call goes through the caller's sidecar the way Istio does: when the caller
  pod has an ``istio-proxy`` sidecar and the callee has a VirtualService, its rules apply (``end-user`` header
  from the session, weights, DestinationRule subsets by label, faults); otherwise the call is balanced
  round-robin over all Running pods of the Service.
* **Gateway API.** An Istio-class Gateway's ``<name>-istio`` Service serves its HTTP listeners' nodePorts
  by HTTPRoutes (:mod:`tui.sandbox.gateway_routes`). In the mesh, a Service's GAMMA HTTPRoute comes before
  its VirtualService; both need a sidecar or a waypoint (:func:`tui.istio.ambient.l7_applies`).
* **Timeouts and faults.** Productpage gives reviews 3 s and tries twice; reviews v2 gives ratings 10 s,
  v3 2.5 s (the real services' hard-coded timeouts). So a 7 s ratings delay for jason makes v2 pages "reviews
  unavailable" and v3 pages "ratings unavailable". An abort makes ratings fail at once. **Time is simulated**:
  the outcome is computed from the configured delays, and the response is held for ``simulated seconds ×
  delay_scale`` (default 0.01: a 6 s timeout path answers after 60 ms), so latency charts still show the fault
  without stalling the traffic generator.

Speed: pages are pre-rendered (:mod:`tui.sandbox.pages`); routing state is a snapshot rebuilt lazily on the
first request after a relevant store change (pods, services, VirtualServices, DestinationRules, Gateways), so
a steady request stream never copies or scans the store. Weighted picks use ``random.Random(seed)``: with a
fixed seed, N requests give the same split every run.

Wiring: the Sandbox runs ``DataPlane.start`` and ``stop`` on its own loop, where store listeners post.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
import random
from collections.abc import Mapping
from typing import Any, Final

from aiohttp import web

from tui.istio.ambient import l7_applies
from tui.istio.routing import fault_percent, parse_duration, rule_matches
from tui.sandbox import addon_page, gateway_routes, ingress, pages, portholds
from tui.sandbox.controllers.scheduler import node_ip
from tui.sandbox.mesh import (
    DESTINATION_RULES,
    FAILED,
    VIRTUAL_SERVICES,
    Call,
    Edge,
    MeshPod,
    MeshService,
    Snapshot,
    running,
    selects,
    short_host,
    subset_pods,
)
from tui.sandbox.nodeport_events import report_unbound
from tui.sandbox.store import Obj, Store

log = logging.getLogger(__name__)

GATEWAY_PORT_NAME: Final = "http2"
DEFAULT_GATEWAY_SELECTOR: Final = {"istio": "ingressgateway"}
DELAY_SCALE: Final = 0.01
BIND_RETRY_SECONDS: Final = 2.0
PRODUCTPAGE_TIMEOUT: Final = 3.0
PRODUCTPAGE_TRIES: Final = 2
RATINGS_TIMEOUT: Final = {"v2": 10.0, "v3": 2.5}
SESSION_COOKIE: Final = "session"

_VS = VIRTUAL_SERVICES
_GW = "gateways.networking.istio.io"
_API_KEYS: Final = (*gateway_routes.ROUTING_KEYS, "namespaces")
_ROUTING_KEYS: Final = frozenset(
    {"pods", "services", _VS, DESTINATION_RULES, _GW, ingress.INGRESSES, ingress.INGRESS_CLASSES, *_API_KEYS}
)
_LISTENER_KEYS: Final = frozenset({"pods", "services", _GW, *_API_KEYS})
_NO_UPSTREAM: Final = b"no healthy upstream"
_HTML: Final = "text/html"
_SERVER_HEADERS: Final = {"server": "istio-envoy"}


class DataPlane:
    """Serves Bookinfo on the ingress gateway's nodePort(s) of a sandbox store. See the module docstring."""

    def __init__(
        self,
        store: Store,
        *,
        seed: int | None = None,
        host: str = "127.0.0.1",
        delay_scale: float = DELAY_SCALE,
        settle: float = 0.05,
    ) -> None:
        self._store = store
        self._host = host
        self._delay_scale = delay_scale
        self._settle = settle
        self._rng = random.Random(seed)
        self._pages = pages.Pages()
        self._generation = 0
        self._snap: Snapshot | None = None
        self._rr: dict[tuple[str, str, str], int] = {}
        self._users: dict[str, str | None] = {}
        self._runners: dict[int, tuple[str, web.ServerRunner]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._armed = False
        self._reconciling: asyncio.Task[None] | None = None
        self._again = False
        self._stopped = False
        self._start_task: asyncio.Task[None] | None = None
        self.errors: dict[int, str] = {}

    # ------------------------------------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        """Attach to the store and open the listeners that already apply. Await on the sandbox's loop."""
        self._loop = asyncio.get_running_loop()
        self._stopped = False
        self._store.add_listener(self._on_event)
        await self._reconcile()

    async def stop(self) -> None:
        """Detach from the store and close every listener."""
        self._stopped = True
        self._store.remove_listener(self._on_event)
        for task in (self._start_task, self._reconciling):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        for port in list(self._runners):
            await self._close(port)

    @property
    def ports(self) -> dict[int, str]:
        """Listening nodePorts → "namespace/service" of the gateway Service they belong to."""
        return {port: owner for port, (owner, _) in self._runners.items()}

    def _on_event(self, event_type: str, key: str, obj: Obj) -> None:
        """Store listener (any thread): invalidate the routing snapshot; schedule a listener reconcile."""
        if key not in _ROUTING_KEYS:
            return
        self._generation += 1
        loop = self._loop
        if key in _LISTENER_KEYS and not self._armed and loop is not None and not self._stopped:
            self._armed = True
            with contextlib.suppress(RuntimeError):  # loop already closed during shutdown
                loop.call_soon_threadsafe(self._arm)

    def _arm(self) -> None:
        assert self._loop is not None
        self._loop.call_later(self._settle, self._kick)

    def _kick(self) -> None:
        if self._stopped:
            return
        if self._reconciling is not None and not self._reconciling.done():
            self._again = True
            return
        self._reconciling = asyncio.ensure_future(self._reconcile())

    # ------------------------------------------------------------------------------------------- listeners
    def _wanted(self) -> dict[int, str]:
        """nodePort → owner for every gateway Service with an http2 nodePort and a Running pod."""
        selectors = [dict(DEFAULT_GATEWAY_SELECTOR)]
        for gw in self._store.list(_GW)[0]:
            sel = (gw.get("spec") or {}).get("selector") or {}
            if sel and sel not in selectors:
                selectors.append(sel)
        wanted: dict[int, str] = {}
        for svc in self._store.list("services")[0]:
            spec, meta = svc.get("spec") or {}, svc.get("metadata") or {}
            svc_selector = spec.get("selector") or {}
            labels = meta.get("labels") or {}
            if not any(selects(s, svc_selector) or selects(s, labels) for s in selectors):
                continue
            port = next((p for p in spec.get("ports") or [] if p.get("name") == GATEWAY_PORT_NAME), None)
            if port is None or not port.get("nodePort") or not svc_selector:
                continue
            namespace = str(meta.get("namespace") or "")
            pods = self._store.list("pods", namespace=namespace)[0]
            if any(
                running(p) and selects(svc_selector, (p.get("metadata") or {}).get("labels") or {})
                for p in pods
            ):
                wanted[int(port["nodePort"])] = f"{namespace}/{meta.get('name')}"
        listeners = gateway_routes.listeners(self._store, running=running)
        return wanted | {port: owner for port, (owner, _) in listeners.items()}

    async def _reconcile(self) -> None:
        while True:
            self._armed = False
            self._again = False
            wanted = self._wanted()
            for port in [p for p in self._runners if wanted.get(p) != self._runners[p][0]]:
                await self._close(port)
            for port, owner in wanted.items():
                if port not in self._runners and not self._stopped:
                    await self._open(port, owner)
            for port in [p for p in self.errors if p not in wanted]:
                del self.errors[port]
            if self.errors and not self._stopped and not self._armed and self._loop is not None:
                self._armed = True  # a port taken by another process: try again a little later
                self._loop.call_later(BIND_RETRY_SECONDS, self._kick)
            if not self._again or self._stopped:
                return

    async def _open(self, port: int, owner: str) -> None:
        async def handler(request: web.BaseRequest) -> web.StreamResponse:
            return await self._handle(request, port)

        runner = web.ServerRunner(web.Server(handler, access_log=None), handle_signals=False)
        await runner.setup()
        portholds.release(port)
        try:
            await web.TCPSite(runner, self._host, port, reuse_address=True).start()
        except OSError as exc:
            await runner.cleanup()
            first = port not in self.errors
            self.errors[port] = f"cannot listen on {self._host}:{port} for {owner}: {exc.strerror or exc}"
            if first:
                log.warning("%s", self.errors[port])
                report_unbound(self._store, owner, port, retry=BIND_RETRY_SECONDS)
            return
        for host in self._other_node_ips():
            try:
                await web.TCPSite(runner, host, port, reuse_address=True).start()
            except OSError as exc:
                log.debug("gateway %s: not listening on %s:%d: %s", owner, host, port, exc)
        self.errors.pop(port, None)
        self._runners[port] = (owner, runner)
        self._generation += 1  # the snapshot only routes ports that are open
        log.info("gateway %s listening on %s:%d", owner, self._host, port)

    def _other_node_ips(self) -> list[str]:
        """The other nodes' loopback InternalIPs: a nodePort answers on every node, as kube-proxy makes it."""
        ips = {node_ip(n) for n in self._store.list("nodes")[0]}
        return sorted(ip for ip in ips if ip != self._host and ip.startswith("127."))

    async def _close(self, port: int) -> None:
        _, runner = self._runners.pop(port)
        self._generation += 1
        await runner.cleanup()

    # ------------------------------------------------------------------------------------------- routing
    def _snapshot(self) -> Snapshot:
        snap = self._snap
        generation = self._generation
        if snap is None or snap.generation != generation:
            snap = self._snap = self._build(generation)
        return snap

    def _build(self, generation: int) -> Snapshot:
        snap = Snapshot(self._store, generation)
        gateways = self._store.list(_GW)[0]
        services = self._store.list("services")[0]
        vss = sorted(
            self._store.list(_VS)[0],
            key=lambda v: (v["metadata"].get("creationTimestamp", ""), v["metadata"]["name"]),
        )
        for svc in services:
            spec, meta = svc.get("spec") or {}, svc.get("metadata") or {}
            port = next((p for p in spec.get("ports") or [] if p.get("name") == GATEWAY_PORT_NAME), None)
            if port is None or not port.get("nodePort") or int(port["nodePort"]) not in self._runners:
                continue
            namespace = str(meta.get("namespace") or "")
            pod_labels = [
                (p.get("metadata") or {}).get("labels") or {}
                for p in self._store.list("pods", namespace=namespace)[0]
                if running(p)
            ]
            bound = set()
            for gw in gateways:
                gspec = gw.get("spec") or {}
                sel = gspec.get("selector") or {}
                if not any(selects(sel, labels) for labels in pod_labels):
                    continue
                if not any(
                    (s.get("port") or {}).get("number") == port.get("port")
                    for s in gspec.get("servers") or []
                ):
                    continue
                bound.add((gw["metadata"].get("namespace", ""), gw["metadata"]["name"]))
            routes = []
            for vs in vss:
                vs_ns = vs["metadata"].get("namespace", "")
                vspec = vs.get("spec") or {}
                refs = {
                    (g.split("/", 1)[0], g.split("/", 1)[1]) if "/" in g else (vs_ns, g)
                    for g in vspec.get("gateways") or []
                }
                if refs & bound:
                    routes.append(
                        (
                            vs_ns,
                            tuple(str(h) for h in vspec.get("hosts") or []),
                            list(vspec.get("http") or []),
                        )
                    )
            serves_ingress = selects(DEFAULT_GATEWAY_SELECTOR, spec.get("selector") or {})
            snap.edges[int(port["nodePort"])] = Edge(routes, serves_ingress)
        for port, (_, listener) in gateway_routes.listeners(self._store, running=running).items():
            if port in self._runners:
                snap.edges[port] = Edge([], api=listener)
        snap.ingress = ingress.istio_routes(self._store)
        return snap

    def _round_robin(self, key: tuple[str, str, str], pods: list[MeshPod]) -> MeshPod:
        n = self._rr.get(key, 0)
        self._rr[key] = n + 1
        return pods[n % len(pods)]

    def _weighted(self, route: list[Mapping[str, Any]]) -> Mapping[str, Any]:
        if len(route) == 1:
            return route[0]
        weights = [int(d.get("weight") or 0) for d in route]
        total = sum(weights)
        if total <= 0:
            return route[self._rng.randrange(len(route))]
        x = self._rng.random() * total
        for dest, weight in zip(route, weights, strict=True):
            x -= weight
            if x < 0:
                return dest
        return route[-1]

    def _hit(self, part: Mapping[str, Any]) -> bool:
        pct = fault_percent(part)
        return pct >= 100.0 or (pct > 0 and self._rng.random() * 100.0 < pct)

    def _call(
        self, namespace: str, mesh: dict[str, MeshService], host: str, *, caller: MeshPod, user: str | None
    ) -> Call:
        """One request from ``caller`` to Service ``host`` (in its namespace, unless its env names another);
        L7 rules apply where a sidecar or waypoint would (the Service's HTTPRoutes, else VirtualService)."""
        target_ns, host = caller.hosts.get(host, (caller.namespace or namespace, host))
        if target_ns != namespace:
            namespace, mesh = target_ns, self._snapshot().mesh(target_ns)
        svc = mesh.get(host)
        if svc is None:
            return FAILED
        headers = {"end-user": user} if user else {}
        l7 = l7_applies(caller_sidecar=caller.sidecar, caller_captured=caller.captured, waypoint=svc.waypoint)
        if l7 and svc.route is not None:
            pick = svc.route.pick(path="/", method="GET", headers=headers, query={}, rng=self._rng)
            if pick is not None:
                svc = mesh.get(pick.backend.service) if pick.backend else None
                if svc is None:
                    return FAILED
        if not l7 or svc.vs is None or svc.route is not None:
            if not svc.pods:
                return FAILED
            return Call(self._round_robin((namespace, svc.name, ""), svc.pods))
        for rule in svc.vs:
            if not rule_matches(rule, path="/", method="GET", headers=headers):
                continue
            delay = 0.0
            fault = rule.get("fault") or {}
            if fault.get("abort") and self._hit(fault["abort"]):
                return FAILED
            if fault.get("delay") and self._hit(fault["delay"]):
                delay = parse_duration(
                    fault["delay"].get("fixedDelay") or fault["delay"].get("exponentialDelay")
                )
            route = rule.get("route") or []
            if not route:
                return FAILED
            dest = self._weighted(route).get("destination") or {}
            target = mesh.get(short_host(str(dest.get("host") or host), namespace))
            if target is None:
                return FAILED
            subset = str(dest.get("subset") or "")
            pods = subset_pods(target, subset)
            if not pods:
                return FAILED
            return Call(self._round_robin((namespace, target.name, subset), pods), delay)
        return FAILED  # no rule matched: Envoy answers 404 route-not-found

    def _reviews(
        self, namespace: str, mesh: dict[str, MeshService], *, caller: MeshPod, user: str | None
    ) -> tuple[pages.ReviewsState, bool, str, float]:
        """Productpage's reviews call with its timeout and one retry: (state, ratings ok, pod, seconds)."""
        elapsed = 0.0
        for _ in range(PRODUCTPAGE_TRIES):
            call = self._call(namespace, mesh, "reviews", caller=caller, user=user)
            if call.pod is None:
                continue
            version = call.pod.labels.get("version", "v1")
            spent = call.delay
            ratings_ok = True
            if version in RATINGS_TIMEOUT:
                rcall = self._call(namespace, mesh, "ratings", caller=call.pod, user=user)
                limit = RATINGS_TIMEOUT[version]
                if rcall.pod is None:
                    ratings_ok = False
                elif rcall.delay >= limit:
                    ratings_ok, spent = False, spent + limit
                else:
                    spent += rcall.delay
            if spent >= PRODUCTPAGE_TIMEOUT:
                elapsed += PRODUCTPAGE_TIMEOUT
                continue
            state: pages.ReviewsState = version if version in ("v2", "v3") else "v1"  # type: ignore[assignment]
            return state, ratings_ok, call.pod.name, elapsed + spent
        return "unavailable", True, "", elapsed

    # ------------------------------------------------------------------------------------------- requests
    def _user(self, request: web.BaseRequest) -> str | None:
        raw = request.cookies.get(SESSION_COOKIE)
        if not raw:
            return None
        if raw in self._users:
            return self._users[raw]
        user: str | None = None
        with contextlib.suppress(ValueError, binascii.Error, AttributeError):
            user = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))).get("user") or None
        if len(self._users) > 4096:
            self._users.clear()
        self._users[raw] = user
        return user

    async def _handle(self, request: web.BaseRequest, port: int) -> web.StreamResponse:
        snap = self._snapshot()
        edge = snap.edges.get(port)
        path = request.rel_url.path
        host = (request.host or "").rsplit(":", 1)[0]
        dest = None
        if edge is not None and edge.api is not None:
            return await self._routed(request, snap, edge.api, host)
        if edge is not None and edge.ingress:
            exact = ingress.pick(snap.ingress, host, path, exact_host=True)
            if exact is not None:
                return self._addon(snap, exact, path)
        if edge is not None:
            for vs_ns, hosts, rules in edge.routes:
                if "*" not in hosts and host not in hosts:
                    continue
                for rule in rules:
                    if rule_matches(rule, path=path, method=request.method, headers=request.headers):
                        route = rule.get("route") or []
                        if route:
                            dest = (vs_ns, self._weighted(route).get("destination") or {})
                        break
                if dest is not None:
                    break
        if dest is None:
            wildcard = (
                ingress.pick(snap.ingress, host, path, exact_host=False) if edge and edge.ingress else None
            )
            if wildcard is not None:
                return self._addon(snap, wildcard, path)
            return web.Response(status=404, headers=_SERVER_HEADERS)
        namespace, destination = dest
        service = short_host(str(destination.get("host") or ""), namespace)
        return await self._upstream(request, snap, namespace, service, str(destination.get("subset") or ""))

    async def _routed(
        self, request: web.BaseRequest, snap: Snapshot, listener: gateway_routes.Listener, host: str
    ) -> web.StreamResponse:
        """A Gateway API listener: its HTTPRoutes pick the backend (no route 404, no backend 500)."""
        table = gateway_routes.table_for(listener, host)
        url = request.rel_url
        pick = table and table.pick(path=url.path, method=request.method, headers=request.headers,
                                    query=url.query, rng=self._rng, host=host)
        if not pick or pick.backend is None or pick.backend.service not in snap.mesh(pick.backend.namespace):
            return web.Response(status=500 if pick else 404, headers=_SERVER_HEADERS)
        resp = await self._upstream(request, snap, pick.backend.namespace, pick.backend.service, "")
        gateway_routes.modify_headers(resp.headers, pick.response_headers)
        return resp

    async def _upstream(
        self, request: web.BaseRequest, snap: Snapshot, namespace: str, service: str, subset: str
    ) -> web.StreamResponse:
        """The edge's backend must be Bookinfo's productpage with a Running pod (else 503)."""
        mesh = snap.mesh(namespace)
        svc = mesh.get(service)
        candidates = subset_pods(svc, subset) if svc is not None and service == "productpage" else []
        if not candidates:
            return web.Response(
                status=503, body=_NO_UPSTREAM, content_type="text/plain", headers=_SERVER_HEADERS
            )
        productpage = self._round_robin((namespace, "productpage", subset), candidates)
        return await self._productpage(request, request.rel_url.path, namespace, mesh, productpage)

    def _addon(self, snap: Snapshot, route: ingress.IngressRoute, path: str) -> web.StreamResponse:
        """An Ingress backend answers with the page naming the addon, its Service and the chosen pod."""
        svc = snap.mesh(route.namespace).get(route.service)
        if svc is None or not svc.pods:
            return web.Response(
                status=503, body=_NO_UPSTREAM, content_type="text/plain", headers=_SERVER_HEADERS
            )
        pod = self._round_robin((route.namespace, route.service, ""), svc.pods)
        stored = self._store.try_get("pods", pod.name, namespace=route.namespace, copy=False) or {}
        body = addon_page.render(
            addon=route.name,
            namespace=route.namespace,
            service=route.service,
            port=route.port,
            pod=pod.name,
            pod_ip=str((stored.get("status") or {}).get("podIP") or ""),
            path=path,
        )
        return web.Response(body=body, content_type=_HTML, charset="utf-8", headers=_SERVER_HEADERS)

    async def _productpage(
        self, request: web.BaseRequest, path: str, namespace: str, mesh: dict[str, MeshService], pod: MeshPod
    ) -> web.StreamResponse:
        if path == "/productpage":
            user = self._user(request)
            details = self._call(namespace, mesh, "details", caller=pod, user=user)
            details_ok = details.ok and details.delay < PRODUCTPAGE_TIMEOUT
            state, ratings_ok, reviews_pod, seconds = self._reviews(
                namespace, mesh, caller=pod, user=user
            )
            seconds += min(details.delay, PRODUCTPAGE_TIMEOUT)
            if seconds > 0 and self._delay_scale > 0:
                await asyncio.sleep(seconds * self._delay_scale)
            body = self._pages.productpage(
                user=user, details_ok=details_ok, reviews=state, ratings_ok=ratings_ok, pod=reviews_pod
            )
            return web.Response(body=body, content_type=_HTML, charset="utf-8", headers=_SERVER_HEADERS)
        if path == "/login":
            if request.method != "POST":
                return web.Response(status=405, headers=_SERVER_HEADERS)
            form = await request.post()
            user = str(form.get("username") or "")
            resp = web.Response(
                status=302, headers={**_SERVER_HEADERS, "Location": request.headers.get("Referer", "None")}
            )
            cookie = base64.urlsafe_b64encode(json.dumps({"user": user}).encode()).decode().rstrip("=")
            resp.set_cookie(SESSION_COOKIE, cookie, path="/", httponly=True)
            return resp
        if path == "/logout":
            resp = web.Response(
                status=302, headers={**_SERVER_HEADERS, "Location": request.headers.get("Referer", "None")}
            )
            resp.del_cookie(SESSION_COOKIE, path="/")
            return resp
        if path.startswith("/static/"):
            if path.endswith(".css"):
                return web.Response(body=pages.STYLESHEET, content_type="text/css", headers=_SERVER_HEADERS)
            return web.Response(status=404, headers=_SERVER_HEADERS)
        return self._api(path, namespace, mesh, pod)

    def _api(
        self, path: str, namespace: str, mesh: dict[str, MeshService], pod: MeshPod
    ) -> web.StreamResponse:
        parts = [p for p in path.split("/") if p]
        if parts[:3] != ["api", "v1", "products"]:
            return web.Response(status=404, headers=_SERVER_HEADERS)
        rest = parts[3:]
        if not rest:
            return _json(pages.products_json())
        if rest[0] != str(pages.PRODUCT_ID) or len(rest) > 2:
            return web.Response(status=404, headers=_SERVER_HEADERS)
        if len(rest) == 1:
            ok = self._call(namespace, mesh, "details", caller=pod, user=None).ok
            return _json(pages.details_json()) if ok else _json(b'{"error": "details unavailable"}', 503)
        if rest[1] == "reviews":
            state, ratings_ok, reviews_pod, _ = self._reviews(namespace, mesh, caller=pod, user=None)
            if state == "unavailable":
                return _json(
                    b'{"error": "Sorry, product reviews are currently unavailable for this book."}', 503
                )
            return _json(pages.reviews_json(pod=reviews_pod, state=state, ratings_ok=ratings_ok))
        if rest[1] == "ratings":
            ok = self._call(namespace, mesh, "ratings", caller=pod, user=None).ok
            return _json(pages.ratings_json()) if ok else _json(b'{"error": "ratings unavailable"}', 503)
        return web.Response(status=404, headers=_SERVER_HEADERS)


def _json(body: bytes, status: int = 200) -> web.Response:
    return web.Response(status=status, body=body, content_type="application/json", headers=_SERVER_HEADERS)


def attach(store: Store, loop: asyncio.AbstractEventLoop, *, seed: int | None = None) -> DataPlane:
    """The Sandbox's plugin hook: called on its running loop; the Sandbox awaits ``stop()`` on shutdown."""
    plane = DataPlane(store, seed=seed)
    plane._start_task = loop.create_task(plane.start())
    return plane
