"""``pods/log``: the lines ``tui.sandbox.logs`` writes, with ``previous``, ``tailLines``, ``sinceSeconds``,
``timestamps`` and ``follow`` applied as the apiserver does."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

from aiohttp import web

from tui.sandbox.api.watch import Notifier
from tui.sandbox.api.wire import Target, bad_request
from tui.sandbox.logs import LogUnavailable, log_lines, render, run_for
from tui.sandbox.store import Store

FOLLOW_POLL_S = 0.5


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
        q = request.query
        previous = q.get("previous") in ("true", "1")
        tail = _count(q.get("tailLines"), "tailLines")
        since_s = _count(q.get("sinceSeconds"), "sinceSeconds")
        now = datetime.now(UTC)
        since = now - timedelta(seconds=since_s) if since_s is not None else None
        timestamps = q.get("timestamps") in ("true", "1")
        try:
            lines = log_lines(pod, container, previous=previous, now=now)
        except LogUnavailable as err:
            raise bad_request(str(err)) from None
        text = render(lines, timestamps=timestamps, tail=tail, since=since)
        if q.get("follow") not in ("true", "1") or previous:
            return web.Response(text=text, content_type="text/plain")
        resp = web.StreamResponse(status=200, headers={"Content-Type": "text/plain"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        await resp.write(text.encode())
        sent = set(lines)
        transport = request.transport
        with contextlib.suppress(ConnectionError, RuntimeError):
            while not self.notifier.closing and transport is not None and not transport.is_closing():
                await asyncio.sleep(FOLLOW_POLL_S)
                live = self.store.try_get("pods", t.name, namespace=t.namespace or "", copy=False)
                if live is None:
                    break
                try:
                    run = run_for(live, container, previous=False)
                    lines = log_lines(live, container, previous=False, now=datetime.now(UTC))
                except LogUnavailable:
                    break
                fresh = [line for line in lines if line not in sent]
                if fresh:
                    await resp.write(render(fresh, timestamps=timestamps).encode())
                    sent.update(fresh)
                if run.finished is not None:  # the container exited: kubectl logs -f ends there too
                    break
            await resp.write_eof()
        return resp


def _count(value: str | None, name: str) -> int | None:
    if value is None or value == "":
        return None
    if not value.isdigit():
        raise bad_request(f"{name}: Invalid value: {value!r}: must be greater than or equal to 0")
    return int(value)


