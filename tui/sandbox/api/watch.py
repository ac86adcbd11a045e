"""Watch streams, as the real API server sends them.

Events are JSON lines over a chunked 200 response; a resourceVersion older than the store's event log yields
one ``ERROR`` event carrying a 410 ``Expired`` Status, and one newer than the store (a client that outlived a
sandbox restarted without its state) a 504 ``Timeout`` with the ``ResourceVersionTooLarge`` cause. Clients
(client-go, tui.kube) turn both into "list again".
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tui.errors import KubeError
from tui.sandbox import tables
from tui.sandbox.api.encode import Encoder
from tui.sandbox.api.wire import (
    JSON,
    Target,
    bad_request,
    dumps,
    parse_rv,
    present,
    selectors_of,
    wants_table,
)
from tui.sandbox.store import Obj, Store

BOOKMARK_EVERY = 10.0
DEFAULT_WATCH_TIMEOUT = 1800.0


@dataclass
class Notifier:
    """Wakes long-lived streams after store writes (one asyncio.Event per generation of waiters), and tells
    them when the server is closing."""

    loop: asyncio.AbstractEventLoop
    event: asyncio.Event = field(default_factory=asyncio.Event)
    pending: bool = False
    loop_thread: int = 0
    closing: bool = False

    def poke(self, *_: Any) -> None:
        if self.pending:
            return
        self.pending = True
        if threading.get_ident() == self.loop_thread:
            self.loop.call_soon(self._fire)
        else:
            with contextlib.suppress(RuntimeError):
                self.loop.call_soon_threadsafe(self._fire)

    def close(self) -> None:
        """Ask every open stream to end (called from the loop thread before the server closes)."""
        self.closing = True
        self._fire()

    def _fire(self) -> None:
        self.pending = False
        ev, self.event = self.event, asyncio.Event()
        ev.set()


class Watches:
    def __init__(self, *, store: Store, encoder: Encoder, notifier: Notifier) -> None:
        self.store = store
        self.encoder = encoder
        self.notifier = notifier

    async def watch(self, request: web.Request, t: Target) -> web.StreamResponse:
        ls, fs = selectors_of(request)
        q = request.query
        raw_timeout = q.get("timeoutSeconds") or ""
        if raw_timeout and not raw_timeout.isdigit():
            msg = f'timeoutSeconds: Invalid value: "{raw_timeout}": must be a non-negative integer'
            raise bad_request(msg)
        timeout = float(raw_timeout) if raw_timeout else DEFAULT_WATCH_TIMEOUT
        bookmarks = q.get("allowWatchBookmarks") in ("true", "1", "True")
        as_table = wants_table(request)
        start_rv = parse_rv(q.get("resourceVersion", "")) or None

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
            obj = present(t, obj)
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
            return b'{"type":"' + ev_type.encode() + b'","object":' + self.encoder.encoded(t, obj) + b"}\n"

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
            while not self.notifier.closing:
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
