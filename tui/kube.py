"""The only importer of ``kubernetes``: kubeconfig, typed calls, list+watch with resume.

Everything returns plain ``dict`` objects (the JSON the server sent) or the dataclasses below, so the rest
of the program never sees a client model and the client stays swappable. Built-in and custom resources share
one raw-path code path (``ApiClient.call_api`` with unparsed responses), which also keeps the sandbox honest:
it must answer exactly what a real API server answers.

Every failure raises a subclass of ``tui.errors.KubeError`` (or ``ConfigError`` for kubeconfig problems); no
``kubernetes`` or ``urllib3`` exception escapes this module. All calls block: call them from thread workers.
"""

from __future__ import annotations

import builtins
import contextlib
import http.client
import json
import logging
import os
import queue
import re
import socket
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, urlencode

import urllib3
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import OpenApiException
from kubernetes.config.config_exception import ConfigException

from tui.config import read_yaml_file
from tui.errors import (
    ConfigError,
    Conflict,
    Forbidden,
    Gone,
    Invalid,
    IstioTuiError,
    KubeError,
    NotFound,
    Unauthorized,
    Unreachable,
)

Obj = dict[str, Any]
PatchType = Literal["merge", "strategic", "json", "apply"]
EventType = Literal["ADDED", "MODIFIED", "DELETED", "SYNCED", "RECONNECTING"]

FIELD_MANAGER = "istio-tui"
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 30.0
# A followed log may stay quiet for long; stop() ends it, not a read timeout.
FOLLOW_TIMEOUT = (CONNECT_TIMEOUT, 24 * 3600.0)
BACKOFF_CAP = 2.0


@dataclass(frozen=True)
class Resource:
    """Where a kind lives in the REST API."""

    group: str  # "" for core
    version: str
    plural: str
    kind: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


NAMESPACES = Resource("", "v1", "namespaces", "Namespace", False)
NODES = Resource("", "v1", "nodes", "Node", False)
PODS = Resource("", "v1", "pods", "Pod", True)
SERVICES = Resource("", "v1", "services", "Service", True)
ENDPOINTS = Resource("", "v1", "endpoints", "Endpoints", True)
CONFIGMAPS = Resource("", "v1", "configmaps", "ConfigMap", True)
SECRETS = Resource("", "v1", "secrets", "Secret", True)
SERVICEACCOUNTS = Resource("", "v1", "serviceaccounts", "ServiceAccount", True)
EVENTS = Resource("", "v1", "events", "Event", True)
DEPLOYMENTS = Resource("apps", "v1", "deployments", "Deployment", True)
REPLICASETS = Resource("apps", "v1", "replicasets", "ReplicaSet", True)
JOBS = Resource("batch", "v1", "jobs", "Job", True)
INGRESSES = Resource("networking.k8s.io", "v1", "ingresses", "Ingress", True)
MUTATING_WEBHOOKS = Resource(
    "admissionregistration.k8s.io",
    "v1",
    "mutatingwebhookconfigurations",
    "MutatingWebhookConfiguration",
    False,
)
VALIDATING_WEBHOOKS = Resource(
    "admissionregistration.k8s.io",
    "v1",
    "validatingwebhookconfigurations",
    "ValidatingWebhookConfiguration",
    False,
)
CRDS = Resource("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", False)
GATEWAYS = Resource("networking.istio.io", "v1", "gateways", "Gateway", True)
VIRTUAL_SERVICES = Resource("networking.istio.io", "v1", "virtualservices", "VirtualService", True)
DESTINATION_RULES = Resource("networking.istio.io", "v1", "destinationrules", "DestinationRule", True)
SERVICE_ENTRIES = Resource("networking.istio.io", "v1", "serviceentries", "ServiceEntry", True)
WORKLOAD_ENTRIES = Resource("networking.istio.io", "v1", "workloadentries", "WorkloadEntry", True)

# Istio kinds are deliberately absent: whether they are served depends on the CRDs, so discovery decides.
_BUILTINS: dict[tuple[str, str], Resource] = {
    (r.api_version, r.kind): r
    for r in (
        NAMESPACES,
        NODES,
        PODS,
        SERVICES,
        ENDPOINTS,
        CONFIGMAPS,
        SECRETS,
        SERVICEACCOUNTS,
        EVENTS,
        DEPLOYMENTS,
        REPLICASETS,
        JOBS,
        INGRESSES,
        MUTATING_WEBHOOKS,
        VALIDATING_WEBHOOKS,
        CRDS,
    )
}

_PATCH_CONTENT_TYPES: dict[str, str] = {
    "merge": "application/merge-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "json": "application/json-patch+json",
    "apply": "application/apply-patch+yaml",
}


@dataclass(frozen=True)
class ClusterInfo:
    context: str
    server: str
    git_version: str  # e.g. "v1.32.0"
    major: int
    minor: int


@dataclass(frozen=True)
class ObjectList:
    items: list[Obj]
    resource_version: str


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


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _describe_transport_error(exc: BaseException) -> str:
    """A short human reason for a urllib3/socket failure (the raw text repeats pool and object reprs)."""
    reason: BaseException = exc
    if isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason is not None:
        reason = exc.reason
    text = str(reason)
    if isinstance(reason, urllib3.exceptions.NameResolutionError) or "Name or service not known" in text:
        return "the host name does not resolve (DNS)"
    if isinstance(reason, urllib3.exceptions.SSLError) or "SSL" in text or "CERTIFICATE" in text:
        detail = re.search(r"\[SSL[^\]]*\] ([^(]*)", text)
        return f"TLS failed: {detail.group(1).strip() if detail else _one_line(text)}"
    if "Connection refused" in text or isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, urllib3.exceptions.TimeoutError | TimeoutError):
        return "the connection timed out"
    if isinstance(reason, urllib3.exceptions.ProtocolError) or "Connection aborted" in text:
        return "the connection was closed by the server"
    return _one_line(text)[:200]


_HINTS: dict[int, str] = {
    400: "fix the request body",
    401: "check the token or client certificate of this kubeconfig user, or log in again",
    403: "ask a cluster admin for RBAC permission, or switch context",
    404: "check the name and namespace",
    409: "reload the object and try again",
    410: "list again",
    422: "fix the fields the server named",
}


def _status_error(code: int, body: bytes, *, server: str, context: str, what: str) -> KubeError:
    """Turn a non-2xx answer into our error tree, keeping the server's Status."""
    status: Obj = {}
    with contextlib.suppress(ValueError, UnicodeDecodeError):
        parsed = json.loads(body)
        if isinstance(parsed, dict):
            status = parsed
    message = _one_line(status.get("message") or body.decode("utf-8", "replace")[:300] or f"HTTP {code}")
    reason = str(status.get("reason") or "")
    hint = _HINTS.get(code, "")
    if reason == "AlreadyExists":
        hint = "pick another name or edit the existing object"
    kwargs: dict[str, Any] = {"hint": hint, "code": code, "reason": reason, "status": status}
    if code == 401:
        return Unauthorized(
            f"{message}: the API server {server} rejected the credentials of context '{context}'", **kwargs
        )
    if code == 403:
        return Forbidden(message, **kwargs)
    if code == 404:
        return NotFound(message, **kwargs)
    if code == 409:
        return Conflict(message, **kwargs)
    if code == 410:
        return Gone(message, **kwargs)
    if code in (400, 422):
        return Invalid(message, **kwargs)
    return KubeError(f"{what} failed: {message} (HTTP {code})", **kwargs)


def _kubeconfig_paths(path: str | None) -> list[str]:
    raw = path if path else os.environ.get("KUBECONFIG") or "~/.kube/config"
    return [os.path.expanduser(p) for p in raw.split(os.pathsep) if p]


@dataclass(frozen=True)
class _KubeconfigFacts:
    shown: str
    context: str
    namespace: str
    uses_exec: bool


def _check_kubeconfig(paths: list[str], context: str | None) -> _KubeconfigFacts:
    """Validate the files ourselves so the user gets one precise line instead of a loader traceback."""
    shown = os.pathsep.join(paths)
    existing = [p for p in paths if Path(p).is_file()]
    for p in paths:
        if Path(p).exists() and not Path(p).is_file():
            raise ConfigError(f"kubeconfig {p} is not a file", hint="pass the path of a kubeconfig file")
    if not existing:
        raise ConfigError(
            f"kubeconfig {shown} does not exist",
            hint="pass --kubeconfig FILE, set KUBECONFIG, or use --sandbox",
        )
    contexts: dict[str, Mapping[str, Any]] = {}
    users: dict[str, Mapping[str, Any]] = {}
    current = ""
    for p in existing:
        doc = read_yaml_file(Path(p), what="kubeconfig", hint="fix the file or point --kubeconfig elsewhere")
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise ConfigError(f"kubeconfig {p} is not a kubeconfig (expected a mapping at the top level)")
        for key, into in (("contexts", contexts), ("users", users)):
            entries = doc.get(key) or []
            if not isinstance(entries, list):
                raise ConfigError(f"kubeconfig {p}: '{key}' must be a list")
            for item in entries:
                if isinstance(item, dict) and item.get("name"):
                    body = item.get(key[:-1])
                    into.setdefault(str(item["name"]), body if isinstance(body, dict) else {})
        if not current and doc.get("current-context"):
            current = str(doc["current-context"])
    if not contexts:
        raise ConfigError(f"kubeconfig {shown} has no contexts", hint="add a context or use --sandbox")
    chosen = context or current
    names = ", ".join(contexts)
    if not chosen:
        raise ConfigError(
            f"kubeconfig {shown} has no current-context", hint=f"pass --context (one of: {names})"
        )
    if chosen not in contexts:
        raise ConfigError(f"context '{chosen}' is not in kubeconfig {shown}", hint=f"use one of: {names}")
    ctx = contexts[chosen]
    user = users.get(str(ctx.get("user") or ""), {})
    return _KubeconfigFacts(
        shown=shown,
        context=chosen,
        namespace=str(ctx.get("namespace") or "default"),
        uses_exec=bool(user.get("exec")),
    )


class _LogCapture(logging.Handler):
    """The client logs (instead of raising) when an exec plugin fails; we want that text in our error."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


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
                self._emit(KubeError(f"watch of {self._res.plural} failed: {_one_line(repr(exc))}"))
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
            "GET", path, query=query, timeout=(CONNECT_TIMEOUT, self._timeout_seconds + 10.0), what="watch"
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
                f"{_describe_transport_error(exc)}",
                hint="reconnecting",
            ) from None
        finally:
            with self._lock:
                self._live = None
            with contextlib.suppress(Exception):
                resp.close()
            with contextlib.suppress(Exception):
                resp.release_conn()

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
            message = _one_line(obj.get("message") or "watch error")
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


def _log_query(
    container: str | None, tail_lines: int | None, *, previous: bool, timestamps: bool
) -> dict[str, str]:
    query = {} if tail_lines is None else {"tailLines": str(tail_lines)}
    if container:
        query["container"] = container
    if previous:
        query["previous"] = "true"
    if timestamps:
        query["timestamps"] = "true"
    return query


class LogFollow:
    """Lines of one container's log as they are written, until it exits or ``stop()`` (from any thread)
    shuts the socket, which ends the iteration at once even while the container is quiet."""

    def __init__(self, cluster: Cluster, path: str, query: Mapping[str, str], *, what: str) -> None:
        self._cluster = cluster
        self._path = path
        self._query = query
        self._what = what
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._live: urllib3.BaseHTTPResponse | None = None

    def __iter__(self) -> Iterator[str]:
        resp = self._cluster._open(
            "GET", self._path, query=self._query, accept="text/plain", timeout=FOLLOW_TIMEOUT, what=self._what
        )
        with self._lock:
            self._live = resp
        try:
            if self._stopped.is_set():
                return
            if resp.status >= 300:
                raise self._cluster._error(resp.status, resp.read(), what=self._what)
            for line in _iter_lines(resp):
                if self._stopped.is_set():
                    return
                yield line.decode("utf-8", "replace")
        except (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError) as exc:
            if not self._stopped.is_set():
                raise Unreachable(
                    f"{self._what} on {self._cluster.server} broke off: {_describe_transport_error(exc)}"
                ) from None
        finally:
            with self._lock:
                self._live = None
            with contextlib.suppress(Exception):
                resp.close()
            with contextlib.suppress(Exception):
                resp.release_conn()

    def stop(self) -> None:
        self._stopped.set()
        with self._lock:
            if self._live is not None:
                _shutdown_response(self._live)


class Cluster:
    """One kubeconfig context.

    ``context`` is the resolved context name and ``kubeconfig`` the file(s) it came from (what helm's
    ``--kube-context``/``--kubeconfig`` need); ``namespace`` is the context's namespace, used by ``apply`` for
    documents that name none.
    """

    context: str
    server: str

    def __init__(
        self,
        *,
        configuration: k8s_client.Configuration,
        context: str,
        namespace: str = "default",
        kubeconfig: str = "",
    ) -> None:
        """Prefer ``from_kubeconfig``; this takes an already loaded client configuration."""
        self.context = context
        self.server = str(configuration.host)
        self.namespace = namespace
        self.kubeconfig = kubeconfig
        configuration.retries = urllib3.Retry(
            total=2, connect=0, read=1, redirect=0, status=0, other=0, raise_on_status=False
        )
        configuration.connection_pool_maxsize = 32
        if not configuration.verify_ssl:
            # The user chose insecure-skip-tls-verify; a warning per request would scribble over the TUI.
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        self._api = k8s_client.ApiClient(configuration)
        self._api.user_agent = "istio-tui"
        self._discovery: dict[str, dict[str, Resource]] = {}
        self._discovery_lock = threading.Lock()

    @classmethod
    def from_kubeconfig(cls, *, path: str | None = None, context: str | None = None) -> Cluster:
        """Load (exec plugins included). ConfigError for a missing/malformed file or an unknown context."""
        paths = _kubeconfig_paths(path)
        facts = _check_kubeconfig(paths, context)
        where = f"kubeconfig {facts.shown}, context '{facts.context}'"
        configuration = k8s_client.Configuration()
        capture = _LogCapture()
        root = logging.getLogger()
        if not root.handlers:
            # The client calls logging.error() when a token refresh fails; on a bare root logger that runs
            # basicConfig() and every later library warning would print over the TUI.
            root.addHandler(logging.NullHandler())
        root.addHandler(capture)
        try:
            k8s_config.load_kube_config(
                config_file=os.pathsep.join(paths),
                context=facts.context,
                client_configuration=configuration,
                persist_config=False,
            )
        except (ConfigException, KeyError, TypeError, ValueError, AttributeError, OSError) as exc:
            detail = _one_line(str(exc)) or type(exc).__name__
            raise ConfigError(f"{where}: {detail}", hint="fix the kubeconfig entry") from None
        finally:
            root.removeHandler(capture)
        if facts.uses_exec and not configuration.api_key and not configuration.cert_file:
            why = "; ".join(_one_line(m) for m in capture.messages) or "it returned no credentials"
            raise ConfigError(
                f"{where}: the exec credential plugin failed: {why}",
                hint="run the plugin command by hand to see why",
            )
        if not str(configuration.host or "").startswith(("http://", "https://")):
            raise ConfigError(
                f"{where}: the cluster has no valid server URL", hint="fix clusters[].cluster.server"
            )
        return cls(
            configuration=configuration,
            context=facts.context,
            namespace=facts.namespace,
            kubeconfig=os.pathsep.join(paths),
        )

    def close(self) -> None:
        """Drop pooled connections (for tests and shutdown; the object stays usable)."""
        with contextlib.suppress(Exception):
            self._api.rest_client.close()

    def _open(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        accept: str = "application/json",
        timeout: tuple[float, float] = (CONNECT_TIMEOUT, READ_TIMEOUT),
        what: str,
    ) -> urllib3.BaseHTTPResponse:
        """Send one request; return the unread urllib3 response (any status)."""
        headers = {"Accept": accept, "Content-Type": content_type}
        if body is not None:
            try:
                json.dumps(body)
            except (TypeError, ValueError) as exc:
                raise Invalid(f"{what}: the request body is not JSON: {_one_line(str(exc))}") from None
        try:
            method, url, headers, body, _ = self._api.param_serialize(
                method, path, header_params=headers, body=body, auth_settings=["BearerToken"]
            )
            if query:
                url += "?" + urlencode(query)
            resp = self._api.call_api(method, url, header_params=headers, body=body, _request_timeout=timeout)
        except (OpenApiException, urllib3.exceptions.HTTPError, http.client.HTTPException, OSError) as exc:
            raise self._unreachable(exc) from None
        except ConfigException as exc:
            raise ConfigError(
                f"context '{self.context}': refreshing the credentials failed: {_one_line(str(exc))}",
                hint="log in again",
            ) from None
        raw: urllib3.BaseHTTPResponse = resp.response
        return raw

    def _unreachable(self, exc: BaseException) -> Unreachable:
        reason = _describe_transport_error(exc)
        if reason.startswith("TLS"):
            hint = "check the cluster's certificate-authority-data and the server URL in the kubeconfig"
        elif "DNS" in reason:
            hint = "check the server URL in the kubeconfig"
        else:
            hint = "check that the cluster is running and the context is right"
        return Unreachable(f"cannot reach the API server at {self.server}: {reason}", hint=hint)

    def _error(self, code: int, body: bytes, *, what: str) -> KubeError:
        return _status_error(code, body, server=self.server, context=self.context, what=what)

    def _call(self, method: str, path: str, *, what: str, **kwargs: Any) -> bytes:
        resp = self._open(method, path, what=what, **kwargs)
        try:
            body = resp.read()
        except (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError) as exc:
            raise Unreachable(
                f"the API server at {self.server} broke off the answer to {what}: "
                f"{_describe_transport_error(exc)}"
            ) from None
        finally:
            resp.release_conn()
        if resp.status >= 300:
            raise self._error(resp.status, body, what=what)
        return bytes(body)

    def _json(self, method: str, path: str, *, what: str, **kwargs: Any) -> Obj:
        data = self._call(method, path, what=what, **kwargs)
        if not data:
            return {}
        try:
            parsed = json.loads(data)
        except ValueError:
            raise KubeError(f"{what}: the API server at {self.server} did not answer JSON") from None
        if not isinstance(parsed, dict):
            raise KubeError(f"{what}: the API server at {self.server} answered JSON that is not an object")
        return parsed

    @staticmethod
    def _group_path(res: Resource) -> str:
        return f"/apis/{res.group}/{res.version}" if res.group else f"/api/{res.version}"

    def _collection_path(self, res: Resource, namespace: str | None) -> str:
        base = self._group_path(res)
        if res.namespaced and namespace:
            return f"{base}/namespaces/{quote(namespace, safe='')}/{res.plural}"
        return f"{base}/{res.plural}"

    def _object_path(self, res: Resource, name: str, namespace: str | None) -> str:
        if not name:
            raise Invalid(f"a {res.kind} needs a name")
        if res.namespaced and not namespace:
            raise Invalid(f"{res.kind} {name} needs a namespace")
        return f"{self._collection_path(res, namespace)}/{quote(name, safe='')}"

    @staticmethod
    def _fill_kind(res: Resource, obj: Obj) -> Obj:
        obj.setdefault("kind", res.kind)
        obj.setdefault("apiVersion", res.api_version)
        return obj

    def info(self) -> ClusterInfo:
        """GET /version. Raises Unreachable/Unauthorized."""
        data = self._json("GET", "/version", what="GET /version")
        git_version = str(data.get("gitVersion") or "")

        def num(key: str) -> int:
            digits = re.match(r"\d+", str(data.get(key) or ""))
            return int(digits.group(0)) if digits else 0

        return ClusterInfo(
            context=self.context,
            server=self.server,
            git_version=git_version,
            major=num("major"),
            minor=num("minor"),
        )

    def has_api(self, group_version: str) -> bool:
        """True if discovery serves e.g. "admissionregistration.k8s.io/v1"."""
        try:
            self._discover(group_version, refresh=True)
        except NotFound:
            return False
        return True

    def _discover(self, group_version: str, *, refresh: bool = False) -> dict[str, Resource]:
        with self._discovery_lock:
            cached = self._discovery.get(group_version)
        if cached is not None and not refresh:
            return cached
        group, _, version = group_version.rpartition("/")
        path = f"/apis/{group}/{version}" if group else f"/api/{version}"
        data = self._json("GET", path, what=f"discovery of {group_version}")
        found: dict[str, Resource] = {}
        for item in data.get("resources") or []:
            name = str(item.get("name") or "")
            if not name or "/" in name:
                continue
            kind = str(item.get("kind") or "")
            found.setdefault(kind, Resource(group, version, name, kind, bool(item.get("namespaced"))))
        with self._discovery_lock:
            self._discovery[group_version] = found
        return found

    def resource_for(self, *, api_version: str, kind: str) -> Resource:
        """Map apiVersion+kind to a Resource (built-ins from the table above, others through discovery)."""
        builtin = _BUILTINS.get((api_version, kind))
        if builtin is not None:
            return builtin
        for refresh in (False, True):
            try:
                found = self._discover(api_version, refresh=refresh).get(kind)
            except NotFound:
                found = None
            if found is not None:
                return found
        raise NotFound(
            f'the server has no resource for kind "{kind}" in version "{api_version}"',
            hint="install its CRD first, or check apiVersion and kind",
            code=404,
            reason="NotFound",
        )

    def get(self, res: Resource, name: str, *, namespace: str | None = None) -> Obj:
        path = self._object_path(res, name, namespace)
        return self._fill_kind(res, self._json("GET", path, what=f"get {res.kind} {name}"))

    def list(
        self,
        res: Resource,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> ObjectList:
        """namespace=None on a namespaced resource lists across all namespaces."""
        query: dict[str, str] = {}
        if label_selector:
            query["labelSelector"] = label_selector
        if field_selector:
            query["fieldSelector"] = field_selector
        data = self._json(
            "GET", self._collection_path(res, namespace), query=query, what=f"list {res.plural}"
        )
        items = [self._fill_kind(res, item) for item in data.get("items") or []]
        rv = str((data.get("metadata") or {}).get("resourceVersion") or "")
        return ObjectList(items=items, resource_version=rv)

    def create(self, res: Resource, body: Obj, *, namespace: str | None = None) -> Obj:
        ns = namespace or (body.get("metadata") or {}).get("namespace") if res.namespaced else None
        if res.namespaced and not ns:
            raise Invalid(f"creating a {res.kind} needs a namespace")
        name = (body.get("metadata") or {}).get("name") or (body.get("metadata") or {}).get(
            "generateName", ""
        )
        path = self._collection_path(res, ns)
        return self._fill_kind(res, self._json("POST", path, body=body, what=f"create {res.kind} {name}"))

    def replace(self, res: Resource, name: str, body: Obj, *, namespace: str | None = None) -> Obj:
        path = self._object_path(res, name, namespace)
        return self._fill_kind(res, self._json("PUT", path, body=body, what=f"replace {res.kind} {name}"))

    def patch(
        self,
        res: Resource,
        name: str,
        patch: Any,
        *,
        namespace: str | None = None,
        patch_type: PatchType = "merge",
    ) -> Obj:
        content_type = _PATCH_CONTENT_TYPES.get(patch_type)
        if content_type is None:
            raise Invalid(f"unknown patch type {patch_type!r}", hint="use merge, strategic, json or apply")
        if patch_type == "json" and not isinstance(patch, list):
            raise Invalid("a JSON patch must be a list of operations")
        query = {"fieldManager": FIELD_MANAGER, "force": "true"} if patch_type == "apply" else None
        path = self._object_path(res, name, namespace)
        return self._fill_kind(
            res,
            self._json(
                "PATCH",
                path,
                body=patch,
                content_type=content_type,
                query=query,
                what=f"patch {res.kind} {name}",
            ),
        )

    def delete(self, res: Resource, name: str, *, namespace: str | None = None) -> None:
        """NotFound is raised, not swallowed."""
        path = self._object_path(res, name, namespace)
        self._call(
            "DELETE",
            path,
            body={"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"},
            what=f"delete {res.kind} {name}",
        )

    def apply(self, docs: Iterable[Obj], *, namespace: str | None = None) -> builtins.list[Obj]:
        """Create each manifest document, or merge-patch it when it exists. Returns the stored objects.

        Every document is checked (shape and kind) before the first write, so a bad file changes nothing.
        """
        plan: builtins.list[tuple[Resource, Obj, str, str | None]] = []
        for index, doc in enumerate(docs, start=1):
            if doc is None:
                continue
            if not isinstance(doc, dict):
                raise Invalid(f"document {index} is not a mapping")
            api_version, kind = doc.get("apiVersion"), doc.get("kind")
            if not api_version or not kind:
                raise Invalid(f"document {index} has no apiVersion or kind")
            meta = doc.get("metadata") or {}
            name = meta.get("name")
            if not isinstance(name, str) or not name:
                raise Invalid(f"document {index} ({kind}) has no metadata.name")
            res = self.resource_for(api_version=str(api_version), kind=str(kind))
            ns = (meta.get("namespace") or namespace or self.namespace) if res.namespaced else None
            plan.append((res, doc, name, ns))
        stored: builtins.list[Obj] = []
        for res, doc, name, ns in plan:
            try:
                stored.append(self.create(res, doc, namespace=ns))
            except Conflict as exc:
                if exc.reason and exc.reason != "AlreadyExists":
                    raise
                stored.append(self.patch(res, name, doc, namespace=ns, patch_type="merge"))
        return stored

    def pod_logs(
        self,
        name: str,
        *,
        namespace: str,
        container: str | None = None,
        tail_lines: int | None = 500,
        previous: bool = False,
        timestamps: bool = False,
    ) -> str:
        """``tail_lines`` None reads the whole log; ``previous`` the run before a restart (kubectl -p)."""
        query = _log_query(container, tail_lines, previous=previous, timestamps=timestamps)
        path = self._object_path(PODS, name, namespace) + "/log"
        data = self._call("GET", path, query=query, accept="text/plain", what=f"logs of pod {name}")
        return data.decode("utf-8", "replace")

    def follow_pod_logs(
        self,
        name: str,
        *,
        namespace: str,
        container: str | None = None,
        tail_lines: int | None = 500,
        timestamps: bool = False,
    ) -> LogFollow:
        """``kubectl logs -f``: iterate the lines as the container writes them (blocking; use a Stream)."""
        query = {**_log_query(container, tail_lines, previous=False, timestamps=timestamps), "follow": "true"}
        path = self._object_path(PODS, name, namespace) + "/log"
        return LogFollow(self, path, query, what=f"logs of pod {name}")

    def can_i(self, *, verb: str, resource: str, group: str = "", namespace: str | None = None) -> bool:
        """SelfSubjectAccessReview."""
        attributes: Obj = {"verb": verb, "resource": resource, "group": group}
        if namespace:
            attributes["namespace"] = namespace
        review = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": attributes},
        }
        answer = self._json(
            "POST",
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            body=review,
            what=f"can-i {verb} {resource}",
        )
        return bool((answer.get("status") or {}).get("allowed"))

    def rollout_restart(self, name: str, *, namespace: str) -> Obj:
        """Patch the Deployment template annotation kubectl.kubernetes.io/restartedAt, as kubectl does.

        kubectl stamps whole seconds, so a second restart within the same second would change nothing and
        silently roll nothing out; that one gets a sub-second stamp instead (RFC 3339 allows fractions)."""
        key = "kubectl.kubernetes.io/restartedAt"
        moment = datetime.now(UTC)
        now = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        template = (self.get(DEPLOYMENTS, name, namespace=namespace).get("spec") or {}).get("template") or {}
        if ((template.get("metadata") or {}).get("annotations") or {}).get(key) == now:
            now = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        patch = {"spec": {"template": {"metadata": {"annotations": {key: now}}}}}
        return self.patch(DEPLOYMENTS, name, patch, namespace=namespace, patch_type="strategic")

    def watch(
        self,
        res: Resource,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        timeout_seconds: int = 60,
    ) -> Watch:
        return Watch(
            self,
            res,
            namespace=namespace,
            label_selector=label_selector,
            field_selector=field_selector,
            timeout_seconds=timeout_seconds,
        )
