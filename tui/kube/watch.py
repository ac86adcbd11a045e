"""List+watch with resume: a ``Watch`` yields ``WatchEvent`` objects and survives 410s and reconnects."""

from __future__ import annotations

import contextlib
import http.client
import json
import queue
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import urllib3

from tui.errors import Gone, IstioTuiError, KubeError, Unreachable
from tui.kube.errors import describe_transport_error, one_line
from tui.kube.resources import Obj, Resource

if TYPE_CHECKING:
    from tui.kube.client import Cluster

EventType = Literal["ADDED", "MODIFIED", "DELETED", "SYNCED", "RECONNECTING"]
BACKOFF_CAP = 2.0


@dataclass(frozen=True)
class WatchEvent:
    """ADDED/MODIFIED/DELETED carry the object.

    SYNCED follows a (re)list and a recovered connection: ``objects`` then holds the full current state, keyed
    by uid (see ``object_key``), so a consumer may replace its view. RECONNECTING carries ``message`` while
    the stream is down; the last known state stays valid.
    """

    type: EventType
    object: Obj = field(default_factory=dict)
    message: str = ""
    objects: dict[str, Obj] = field(default_factory=dict)


def object_key(obj: Obj) -> str:
    """The uid, or namespace/name for servers that send none; the key of ``WatchEvent.objects``."""
    meta = obj.get("metadata") or {}
    uid = meta.get("uid")
    if uid:
        return str(uid)
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"


class Watch:
    """Iterator of WatchEvent from list, then watch from its resourceVersion, reconnecting forever.

    Asks for bookmarks, always passes timeoutSeconds, relists on 410 and emits the difference as events.
    ``stop()`` (from any thread) makes iteration end within one second.

    The HTTP side runs in its own daemon thread feeding a queue. That is what makes the stop guarantee hold
    even while a connect or TLS handshake is stuck: the consumer wakes on the queue, not on the socket.
    ``stop()`` also shuts the live socket down so the reader thread and its connection go away promptly.
    """

    def __init__(
        self,
        cluster: Cluster,
        res: Resource,
        *,
        namespace: str | None,
        label_selector: str | None,
        field_selector: str | None,
        timeout_seconds: int,
    ) -> None:
        self._cluster = cluster
        self._res = res
        self._namespace = namespace
        self._label_selector = label_selector
        self._field_selector = field_selector
        self._timeout_seconds = max(1, int(timeout_seconds))
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._live: urllib3.BaseHTTPResponse | None = None
        self._queue: queue.Queue[WatchEvent | BaseException | None] = queue.Queue(maxsize=10_000)
        self._started = False
        self._state: dict[str, Obj] = {}
        self.resource_version = ""

    def __iter__(self) -> Iterator[WatchEvent]:
        with self._lock:
            if self._started:
                raise RuntimeError("a Watch can be iterated only once")
            self._started = True
        if self._stopped.is_set():
            return
        reader = threading.Thread(target=self._run, name=f"watch-{self._res.plural}", daemon=True)
        reader.start()
        try:
            while True:
                item = self._queue.get()
                if item is None or self._stopped.is_set():
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self.stop()

    def stop(self) -> None:
        self._stopped.set()
        # Under the lock: the reader clears ``_live`` under it before the connection can return to the pool,
        # so we never shut down a socket that another request is already reusing.
        with self._lock:
            if self._live is not None:
                _shutdown_response(self._live)
        # Wake the consumer even if the queue is full: drop one event, the iteration is over anyway.
        while True:
            try:
                self._queue.put_nowait(None)
                return
            except queue.Full:
                with contextlib.suppress(queue.Empty):
                    self._queue.get_nowait()

    def _emit(self, item: WatchEvent | BaseException | None) -> bool:
        while not self._stopped.is_set():
            try:
                self._queue.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        need_list = True
        down_since_announce = False
        delay = 0.1
        try:
            while not self._stopped.is_set():
                try:
                    if need_list:
                        self._relist()
                        need_list = False
                        down_since_announce = False
                    opened = time.monotonic()
                    need_list = self._stream(recovering=down_since_announce)
                    down_since_announce = False
                    if need_list or time.monotonic() - opened >= 1.0:
                        delay = 0.1
                    else:
                        # A server that ends every stream at once (e.g. while shutting down) must not be
                        # hammered: back off as if the connection had failed, but quietly.
                        if self._stopped.wait(delay):
                            return
                        delay = min(delay * 2, BACKOFF_CAP)
                except Gone:
                    need_list = True
                except (Unreachable, _Transient) as exc:
                    if self._stopped.is_set():
                        return
                    if not self._emit(WatchEvent("RECONNECTING", message=str(exc))):
                        return
                    down_since_announce = True
                    if self._stopped.wait(delay):
                        return
                    delay = min(delay * 2, BACKOFF_CAP)
        except IstioTuiError as exc:
            if not self._stopped.is_set():
                self._emit(exc)
        except Exception as exc:  # a bug must still end the consumer's loop, with a reason
            if not self._stopped.is_set():
                self._emit(KubeError(f"watch of {self._res.plural} failed: {one_line(repr(exc))}"))
        finally:
            if not self._stopped.is_set():
                self._emit(None)

    def _relist(self) -> None:
        try:
            listed = self._cluster.list(
                self._res,
                namespace=self._namespace,
                label_selector=self._label_selector,
                field_selector=self._field_selector,
            )
        except KubeError as exc:
            if exc.code >= 500 or exc.code == 429:
                raise _Transient(str(exc)) from None
            raise
        new_state = {object_key(o): o for o in listed.items}
        old_state = self._state
        for key, obj in new_state.items():
            old = old_state.get(key)
            if old is None:
                kind: EventType = "ADDED"
            elif _rv(old) != _rv(obj):
                kind = "MODIFIED"
            else:
                continue
            if not self._emit(WatchEvent(kind, obj)):
                return
        for key, obj in old_state.items():
            if key not in new_state and not self._emit(WatchEvent("DELETED", obj)):
                return
        self._state = new_state
        self.resource_version = listed.resource_version
        self._emit(WatchEvent("SYNCED", objects=dict(new_state)))

    def _stream(self, *, recovering: bool) -> bool:
        """One watch request. Returns True when a relist is needed (410, or a resourceVersion too large)."""
        query: dict[str, str] = {
            "watch": "true",
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(self._timeout_seconds),
        }
        if self.resource_version:
            query["resourceVersion"] = self.resource_version
        if self._label_selector:
            query["labelSelector"] = self._label_selector
        if self._field_selector:
            query["fieldSelector"] = self._field_selector
        path = self._cluster._collection_path(self._res, self._namespace)
        resp = self._cluster._open(
            "GET", path, query=query, read_timeout=self._timeout_seconds + 10.0, what="watch"
        )
        with self._lock:
            self._live = resp
        try:
            if self._stopped.is_set():
                return False
            if resp.status >= 300:
                body = resp.read()
                err = self._cluster._error(resp.status, body, what=f"watch {self._res.plural}")
                if _rv_too_large(err.status):
                    return True
                if err.code >= 500 or err.code == 429:
                    raise _Transient(str(err))
                raise err
            if recovering and not self._emit(WatchEvent("SYNCED", objects=dict(self._state))):
                return False
            for line in _iter_lines(resp):
                if self._stopped.is_set():
                    return False
                if self._handle_line(line):
                    return True
            return False
        except (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError, ValueError) as exc:
            if self._stopped.is_set():
                return False
            raise Unreachable(
                f"watch of {self._res.plural} on {self._cluster.server} broke: "
                f"{describe_transport_error(exc)}",
                hint="reconnecting",
            ) from None
        finally:
            with self._lock:
                self._live = None
            _close_response(resp)

    def _handle_line(self, line: bytes) -> bool:
        try:
            event = json.loads(line)
        except ValueError:
            raise _Transient(f"watch of {self._res.plural} sent a line that is not JSON") from None
        etype = event.get("type")
        obj = event.get("object") or {}
        if etype == "BOOKMARK":
            rv = _rv(obj)
            if rv:
                self.resource_version = rv
            return False
        if etype == "ERROR":
            code = int(obj.get("code") or 0)
            if code == 410 or _rv_too_large(obj):
                return True
            message = one_line(obj.get("message") or "watch error")
            raise _Transient(f"watch of {self._res.plural} reported: {message} ({code})")
        if etype not in ("ADDED", "MODIFIED", "DELETED"):
            return False
        obj.setdefault("kind", self._res.kind)
        obj.setdefault("apiVersion", self._res.api_version)
        key = object_key(obj)
        if etype == "DELETED":
            self._state.pop(key, None)
        else:
            self._state[key] = obj
        rv = _rv(obj)
        if rv:
            self.resource_version = rv
        self._emit(WatchEvent(etype, obj))
        return False


class _Transient(KubeError):
    """A failure worth retrying inside a watch (5xx, 429, a broken line); never leaves this module."""


def _rv_too_large(status: Mapping[str, Any]) -> bool:
    """The server is behind the version we resume from (e.g. restarted without its state): list again."""
    causes = (status.get("details") or {}).get("causes") or []
    return any(isinstance(c, dict) and c.get("reason") == "ResourceVersionTooLarge" for c in causes)


def _rv(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


def _iter_lines(resp: urllib3.BaseHTTPResponse) -> Iterator[bytes]:
    buf = b""
    for chunk in resp.stream(amt=None, decode_content=True):
        if b"\n" not in chunk:
            buf += chunk
            continue
        lines = (buf + chunk).split(b"\n")
        buf = lines.pop()
        for line in lines:
            if line.strip():
                yield line
    if buf.strip():
        yield buf


def _close_response(resp: urllib3.BaseHTTPResponse) -> None:
    """Done with a streamed response: close it and hand its connection back, whatever state it is in."""
    with contextlib.suppress(Exception):
        resp.close()
    with contextlib.suppress(Exception):
        resp.release_conn()


def _shutdown_response(resp: urllib3.BaseHTTPResponse) -> None:
    """Wake a reader blocked in recv() on this response, from another thread."""
    with contextlib.suppress(Exception):
        resp.shutdown()
        return
    conn = getattr(resp, "connection", None)
    sock = getattr(conn, "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
