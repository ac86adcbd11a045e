"""``Sandbox``: the embedded cluster as one object with a start/stop lifecycle.

It runs the API server, the controllers and (when present) the simulated data plane on its own thread and
event loop, so the TUI, the CLI and the tests can use it from synchronous code and talk to it only over HTTPS,
exactly as they would talk to a real cluster.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import errno
import importlib
import logging
import os
import secrets
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from tui.errors import KubeError, PortInUse
from tui.sandbox import portholds, tls, validation
from tui.sandbox.api import ApiServer, ForbidRule, new_event_loop
from tui.sandbox.nodes import seed_nodes
from tui.sandbox.resources import Registry
from tui.sandbox.store import Obj, Store

log = logging.getLogger(__name__)

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
START_TIMEOUT = 20.0


class Sandbox:
    """A Kubernetes API server on 127.0.0.1 with fake controllers; see the team preamble for the contract.

    ``port=0`` picks a free port. ``state_file`` keeps objects, the resourceVersion sequence, the token and
    the certificates across restarts. ``pod_start_seconds`` is how long a pod takes from Pending to Running.
    ``nodes`` is how many Node objects pods (and DaemonSets) spread over.
    """

    def __init__(
        self,
        *,
        port: int = 0,
        state_file: str | Path | None = None,
        kubelet_version: str = "v1.32.0",
        seed: int = 0,
        pod_start_seconds: float = 0.3,
        git_version: str = "v1.32.0",
        nodes: int = 1,
    ) -> None:
        self.requested_port = port
        self.state_file = Path(state_file) if state_file is not None else None
        self.kubelet_version = kubelet_version
        self.seed = seed
        self.pod_start_seconds = pod_start_seconds
        self.git_version = git_version
        self.nodes = max(1, nodes)
        self.port = 0
        self.token = ""
        self.store: Store | None = None
        self.registry: Registry | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._api: ApiServer | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._certs: tls.Certs | None = None
        self._attached: list[Any] = []
        self._forbid: list[ForbidRule] = []

    # ------------------------------------------------------------------ public API
    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def ca_pem(self) -> bytes:
        if self._certs is None:
            raise RuntimeError("the sandbox is not started")
        return self._certs.ca_pem

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> Sandbox:
        """Start serving; returns once the port is listening. Raises PortInUse when the port is taken."""
        if self.running:
            return self
        ready = threading.Event()
        failure: list[BaseException] = []
        loop = new_event_loop()
        self.loop = loop

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._startup())
            except BaseException as err:
                failure.append(err)
                ready.set()
                with contextlib.suppress(Exception):
                    loop.run_until_complete(self._shutdown())
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                with contextlib.suppress(Exception):
                    loop.run_until_complete(self._shutdown())
                loop.close()

        self._thread = threading.Thread(target=run, name=f"sandbox-{self.requested_port}", daemon=True)
        self._thread.start()
        if not ready.wait(START_TIMEOUT):
            raise RuntimeError("the sandbox did not start within 20 s")
        if failure:
            self._thread.join(5)
            self._thread = None
            raise failure[0]
        return self

    def stop(self) -> None:
        """Stop serving and end open watches; safe to call twice."""
        thread, loop = self._thread, self.loop
        if thread is None or loop is None:
            return
        if thread.is_alive():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(loop.stop)
            thread.join(15)
        self._thread = None
        if self.store is not None:
            portholds.release_all(owner=self.store)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def forbid(
        self, *, resource: str, namespace: str | None = None, verbs: Iterable[str] | None = None
    ) -> None:
        """Answer later requests on ``resource`` (a plural) in ``namespace`` (None: everywhere) with 403.

        ``verbs`` limits the rule (get, list, watch, create, update, patch, delete, deletecollection).
        """
        rule = ForbidRule(resource=resource, namespace=namespace, verbs=frozenset(verbs) if verbs else None)
        self._forbid.append(rule)
        if self._api is not None:
            self._api.forbid_rules.append(rule)

    def allow_all(self) -> None:
        """Drop every forbid rule."""
        self._forbid.clear()
        if self._api is not None:
            self._api.forbid_rules.clear()

    def kubeconfig(self, *, namespace: str | None = None) -> Obj:
        """The kubeconfig dict: context, cluster and user all named "sandbox"."""
        context: Obj = {"cluster": "sandbox", "user": "sandbox"}
        if namespace:
            context["namespace"] = namespace
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "sandbox",
                    "cluster": {
                        "server": self.url,
                        "certificate-authority-data": base64.b64encode(self.ca_pem).decode(),
                    },
                }
            ],
            "users": [{"name": "sandbox", "user": {"token": self.token}}],
            "contexts": [{"name": "sandbox", "context": context}],
            "current-context": "sandbox",
            "preferences": {},
        }

    def write_kubeconfig(self, path: str | Path, *, namespace: str | None = None) -> Path:
        """Write the kubeconfig (mode 0600, atomically) and return its path."""
        target = Path(path).expanduser()
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            yaml.safe_dump(self.kubeconfig(namespace=namespace), fh, sort_keys=False)
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
        return target

    def call(self, fn: Any, *args: Any) -> Any:
        """Run ``fn(*args)`` on the sandbox loop and return its result (for hooks that must run there)."""
        if self.loop is None:
            raise RuntimeError("the sandbox is not started")

        async def wrapper() -> Any:
            return fn(*args)

        return asyncio.run_coroutine_threadsafe(wrapper(), self.loop).result(10)

    # ------------------------------------------------------------------ lifecycle (on the sandbox loop)
    async def _startup(self) -> None:
        store = Store(state_file=self.state_file, seed=self.seed)
        self.store = store
        self._load_credentials(store)
        store.add_admission(validation.make_defaults_hook(store))
        self.registry = Registry(store)
        self._seed_objects(store)
        api = ApiServer(store=store, registry=self.registry, token=self.token, git_version=self.git_version)
        api.forbid_rules.extend(self._forbid)
        self._api = api
        runner = web.AppRunner(api.make_app(), access_log=None, handle_signals=False, shutdown_timeout=2.0)
        await runner.setup()
        self._runner = runner
        assert self._certs is not None
        port = self.requested_port or self.port  # a restarted Sandbox keeps its URL
        site = web.TCPSite(runner, "127.0.0.1", port, ssl_context=self._certs.server_context(), backlog=1024)
        try:
            await site.start()
        except OSError as err:
            if err.errno in (errno.EADDRINUSE, errno.EACCES):
                raise PortInUse(
                    f"port {port} on 127.0.0.1 is already in use",
                    hint="pick another with --port, or leave --port out to use a free one",
                ) from err
            raise
        self.port = int(runner.addresses[0][1])
        self._attach_plugins(store)

    def _attach_plugins(self, store: Store) -> None:
        """Start the controllers and, if present, the simulated data plane (modules owned by other areas)."""
        loop = asyncio.get_running_loop()
        for module_name, fn_name, kwargs in (
            (
                "tui.sandbox.controllers",
                "start_controllers",
                {
                    "seed": self.seed,
                    "pod_start_seconds": self.pod_start_seconds,
                    "kubelet_version": self.kubelet_version,
                },
            ),
            ("tui.sandbox.dataplane", "attach", {"seed": self.seed}),
        ):
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError as err:
                if err.name != module_name:
                    raise
                continue
            fn = getattr(module, fn_name, None)
            if fn is None:
                continue
            handle = fn(store, loop, **kwargs)
            if handle is not None:
                self._attached.append(handle)

    async def _shutdown(self) -> None:
        if self._api is not None:
            self._api.shutdown_watches()
        for handle in reversed(self._attached):
            closer = getattr(handle, "stop", None) or getattr(handle, "close", None)
            if closer is None:
                continue
            try:
                result = closer()
                if asyncio.iscoroutine(result):
                    await result
            except Exception:
                log.exception("sandbox plugin failed to stop")
        self._attached.clear()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._api is not None:
            self._api.detach()
            self._api = None
        if self.store is not None:
            self.store.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    def _load_credentials(self, store: Store) -> None:
        """Reuse the token and certificates of a persisted sandbox, so old kubeconfigs keep working."""
        token = store.get_meta("token")
        ca, cert, key = store.get_meta("ca_pem"), store.get_meta("cert_pem"), store.get_meta("key_pem")
        if token and ca and cert and key:
            self.token = token
            self._certs = tls.Certs(ca_pem=ca.encode(), cert_pem=cert.encode(), key_pem=key.encode())
            return
        self.token = secrets.token_urlsafe(32)
        self._certs = tls.certs()
        store.set_meta("token", self.token)
        store.set_meta("ca_pem", self._certs.ca_pem.decode())
        store.set_meta("cert_pem", self._certs.cert_pem.decode())
        store.set_meta("key_pem", self._certs.key_pem.decode())

    def _seed_objects(self, store: Store) -> None:
        for ns in SYSTEM_NAMESPACES:
            if store.try_get("namespaces", ns, copy=False) is None:
                store.create(
                    "namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
                )
        seed_nodes(store, count=self.nodes, kubelet_version=self.kubelet_version)
        if store.try_get("services", "kubernetes", namespace="default", copy=False) is None:
            with contextlib.suppress(KubeError):
                store.create(
                    "services",
                    {
                        "apiVersion": "v1",
                        "kind": "Service",
                        "metadata": {
                            "name": "kubernetes",
                            "namespace": "default",
                            "labels": {"component": "apiserver", "provider": "kubernetes"},
                        },
                        "spec": {
                            "type": "ClusterIP",
                            "clusterIP": "10.96.0.1",
                            "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}],
                        },
                    },
                )
