"""A loopback aiohttp server in its own thread that plays productpage for the traffic tests.

Routes (every one counts its hits, so tests can check exact request counts on the server side):
  GET  /current/{kind}, /legacy/{kind}   a page of that template; kind is v1, v2, v3, ratings_down,
                                         reviews_down or details_down (v1 reviews, details failed)
  GET  /mixed                            cycles v1, v2, v3, ratings_down, reviews_down, 503, garbage
  GET  /status/{code}                    that status with a v2 body (the body must not count)
  GET  /slow                             answers after 2 s
  POST /login                            stores the form's username in a session cookie; 302 to the Referer,
                                         or to the literal "None" without one, like productpage
  GET  /productpage                      v2 (black) for a logged-in jason, v1 for everyone else, as with the
                                         reviews "end-user: jason" preset; the user's name and "Sign out" show
  With ``login_fails`` set, POST /login answers 503 instead.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from itertools import cycle

from aiohttp import web

from tests.unit.pages import current_page, legacy_page

_KINDS = ("v1", "v2", "v3", "ratings_down", "reviews_down")


class PageServer:
    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.login_fails = False
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="page-server", daemon=True)
        pages: dict[str, bytes] = {}
        for kind in _KINDS:
            pages[f"current/{kind}"] = current_page(kind, pod=f"reviews-{_pod(kind)}").encode()
            pages[f"legacy/{kind}"] = legacy_page(kind, pod=f"reviews-{_pod(kind)}").encode()
        pages["current/details_down"] = current_page("v1", details_down=True, pod="reviews-v1-a").encode()
        pages["legacy/details_down"] = legacy_page("v1", details_down=True, pod="reviews-v1-a").encode()
        self.pages = pages
        self._mixed = cycle(
            [
                (200, pages["current/v1"]),
                (200, pages["current/v2"]),
                (200, pages["legacy/v3"]),
                (200, pages["current/ratings_down"]),
                (200, pages["legacy/reviews_down"]),
                (503, b"no healthy upstream"),
                (200, b"<html><body>It works!</body></html>"),
            ]
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> PageServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get("/current/{kind}", self._page)
        app.router.add_get("/legacy/{kind}", self._page)
        app.router.add_get("/mixed", self._mixed_page)
        app.router.add_get("/status/{code}", self._status)
        app.router.add_get("/slow", self._slow)
        app.router.add_post("/login", self._login)
        app.router.add_get("/productpage", self._productpage)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def _count(self, request: web.Request) -> None:
        self.hits[request.path] += 1

    async def _page(self, request: web.Request) -> web.Response:
        self._count(request)
        key = request.path.strip("/")
        if key not in self.pages:
            raise web.HTTPNotFound()
        return web.Response(body=self.pages[key], content_type="text/html")

    async def _mixed_page(self, request: web.Request) -> web.Response:
        self._count(request)
        status, body = next(self._mixed)
        return web.Response(status=status, body=body, content_type="text/html")

    async def _status(self, request: web.Request) -> web.Response:
        self._count(request)
        return web.Response(status=int(request.match_info["code"]), body=self.pages["current/v2"])

    async def _slow(self, request: web.Request) -> web.Response:
        self._count(request)
        await asyncio.sleep(2.0)
        return web.Response(body=self.pages["current/v1"], content_type="text/html")

    async def _login(self, request: web.Request) -> web.Response:
        self._count(request)
        if self.login_fails:
            return web.Response(status=503, text="upstream connect error")
        form = await request.post()
        user = str(form.get("username", ""))
        response = web.Response(status=302, headers={"Location": request.headers.get("Referer", "None")})
        response.set_cookie("session", user, httponly=True, path="/")
        return response

    async def _productpage(self, request: web.Request) -> web.Response:
        self._count(request)
        user = request.cookies.get("session") or None
        if user == "jason":
            body = current_page("v2", user=user, pod="reviews-v2-jason")
        else:
            body = current_page("v1", user=user, pod="reviews-v1-anon")
        return web.Response(body=body.encode(), content_type="text/html")


def _pod(kind: str) -> str:
    return {"v1": "v1-1", "v2": "v2-1", "v3": "v3-1"}.get(kind, "v2-9")
