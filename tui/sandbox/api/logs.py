"""``pods/log``: plausible, deterministic container logs with ``tailLines``, ``timestamps``, ``follow``."""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import web

from tui.sandbox.api.watch import Notifier
from tui.sandbox.api.wire import Target, bad_request
from tui.sandbox.store import Obj, Store


class Logs:
    def __init__(self, *, store: Store, notifier: Notifier) -> None:
        self.store = store
        self.notifier = notifier

    async def pod_log(self, request: web.Request, t: Target) -> web.StreamResponse:
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
        while not self.notifier.closing and transport is not None and not transport.is_closing():
            if self.store.try_get("pods", t.name, namespace=t.namespace or "", copy=False) is None:
                break
            await asyncio.sleep(0.5)
        with contextlib.suppress(ConnectionError, RuntimeError):
            await resp.write_eof()
        return resp


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
