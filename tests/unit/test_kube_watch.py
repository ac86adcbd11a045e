"""tui.kube.Watch over real HTTP: list → watch → resume, 410 relist with a diff, reconnects and a prompt stop.

Two servers: the sandbox (the behaviour a user sees: restart with --state, compaction) and a small scripted
loopback API for the faults the sandbox never produces on purpose (a server that never answers, a dropped
connection, an ERROR event in the stream, a bookmark before the stream ends).
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tui.errors import Forbidden
from tui.kube import CONFIGMAPS, NAMESPACES, Cluster, Watch, WatchEvent, object_key
from tui.sandbox.cluster import Sandbox
from tui.sandbox.store import Store

NS = "watched"


# --------------------------------------------------------------------------------------------- helpers


class Consumer:
    """Iterates a Watch in its own thread (as a UI worker does) and mirrors the state like a UI would."""

    def __init__(self, watch: Watch) -> None:
        self.watch = watch
        self.events: list[WatchEvent] = []
        self.view: dict[str, dict[str, Any]] = {}
        self.error: BaseException | None = None
        self.ended_at = 0.0
        self._lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            for ev in self.watch:
                with self._lock:
                    self.events.append(ev)
                    if ev.type in ("ADDED", "MODIFIED"):
                        self.view[object_key(ev.object)] = ev.object
                    elif ev.type == "DELETED":
                        self.view.pop(object_key(ev.object), None)
        except BaseException as exc:  # recorded for the test to assert on
            self.error = exc
        finally:
            self.ended_at = time.monotonic()

    def types(self) -> list[str]:
        with self._lock:
            return [e.type for e in self.events]

    def wait_for(self, predicate: Any, *, timeout: float = 10.0, what: str = "condition") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if predicate(self):
                    return
            if self.error is not None:
                raise AssertionError(f"watch failed while waiting for {what}: {self.error!r}")
            time.sleep(0.01)
        raise AssertionError(f"timed out waiting for {what}; events: {self.types()}")

    def count(self, etype: str) -> int:
        return sum(1 for e in self.events if e.type == etype)

    def stop_and_measure(self) -> float:
        started = time.monotonic()
        self.watch.stop()
        self.thread.join(timeout=5)
        assert not self.thread.is_alive(), "watch iteration did not end"
        return self.ended_at - started


def _rv_view(objs: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {k: str(o["metadata"]["resourceVersion"]) for k, o in objs.items()}


def _write_kubeconfig(path: Path, server: str, token: str = "tok") -> Path:
    path.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters: [{{name: c, cluster: {{server: '{server}'}}}}]\n"
        f"users: [{{name: u, user: {{token: {token}}}}}]\n"
        "contexts: [{name: loop, context: {cluster: c, user: u}}]\n"
        "current-context: loop\n"
    )
    return path


# --------------------------------------------------------------------------------------------- loopback API


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "code": code,
        "reason": reason,
        "message": message,
    }


@dataclass
class FakeApi:
    """A scripted configmaps endpoint. ``plan`` says what each successive watch request gets."""

    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    rv: int = 100
    plan: list[str] = field(default_factory=list)
    list_status: int = 200
    watch_queries: list[dict[str, str]] = field(default_factory=list)
    list_count: int = 0
    gate: threading.Event = field(default_factory=threading.Event)
    url: str = ""

    def put(self, name: str) -> None:
        self.rv += 1
        self.objects[name] = {
            "metadata": {"name": name, "namespace": NS, "uid": f"uid-{name}", "resourceVersion": str(self.rv)}
        }

    def remove(self, name: str) -> None:
        self.rv += 1
        del self.objects[name]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.query.get("watch") not in ("true", "1"):
            self.list_count += 1
            if self.list_status != 200:
                return web.json_response(_status(403, "Forbidden", "configmaps is forbidden"), status=403)
            body = {
                "kind": "ConfigMapList",
                "apiVersion": "v1",
                "metadata": {"resourceVersion": str(self.rv)},
                "items": list(self.objects.values()),
            }
            return web.json_response(body)
        self.watch_queries.append(dict(request.query))
        action = self.plan.pop(0) if self.plan else "hang"
        timeout = float(request.query.get("timeoutSeconds", "30"))
        if action == "no-headers":
            await asyncio.sleep(timeout)
            return web.Response(status=504)
        if action == "gone-http":
            await self._wait_gate()
            return web.json_response(_status(410, "Expired", "too old resource version"), status=410)
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        await resp.prepare(request)
        if action == "gone-event":
            await self._wait_gate()
            error = {"type": "ERROR", "object": _status(410, "Expired", "too old resource version")}
            await resp.write(json.dumps(error).encode() + b"\n")
        elif action == "bookmark-close":
            self.rv += 50
            mark = {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": str(self.rv)}}}
            await resp.write(json.dumps(mark).encode() + b"\n")
        elif action == "too-large":
            await self._wait_gate()
            status = _status(504, "Timeout", "Too large resource version")
            status["details"] = {"causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large"}]}
            await resp.write(json.dumps({"type": "ERROR", "object": status}).encode() + b"\n")
        elif action == "close":
            pass
        elif action == "drop":
            await self._wait_gate()
            assert request.transport is not None
            request.transport.abort()
            return resp
        else:  # hang: an idle stream, closed by the server only at timeoutSeconds
            await asyncio.sleep(timeout)
        await resp.write_eof()
        return resp

    async def _wait_gate(self) -> None:
        await asyncio.to_thread(self.gate.wait, 30)


@pytest.fixture
def fake_api(tmp_path: Path) -> Iterator[tuple[FakeApi, Cluster]]:
    api = FakeApi()
    app = web.Application()
    app.router.add_get(f"/api/v1/namespaces/{NS}/configmaps", api.handle)
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = runner.addresses[0][1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    api.url = f"http://127.0.0.1:{port}"
    cluster = Cluster.from_kubeconfig(path=str(_write_kubeconfig(tmp_path / "kc", api.url)))
    try:
        yield api, cluster
    finally:
        cluster.close()
        api.gate.set()
        asyncio.run_coroutine_threadsafe(_shutdown(runner), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()


async def _shutdown(runner: web.AppRunner) -> None:
    await runner.cleanup()
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _synced(n: int) -> Any:
    return lambda c: c.count("SYNCED") >= n


# --------------------------------------------------------------------------------------------- loopback tests


@pytest.mark.parametrize("how", ["gone-event", "gone-http", "too-large"])
def test_410_relists_and_emits_the_difference(fake_api: tuple[FakeApi, Cluster], how: str) -> None:
    api, cluster = fake_api
    for name in ("keep", "change", "drop"):
        api.put(name)
    api.plan = [how]
    consumer = Consumer(cluster.watch(CONFIGMAPS, namespace=NS, timeout_seconds=30))
    consumer.wait_for(_synced(1), what="first SYNCED")
    assert consumer.types() == ["ADDED", "ADDED", "ADDED", "SYNCED"]
    # SYNCED is emitted when the list is in; the watch request that follows may not have reached us yet.
    consumer.wait_for(lambda c: len(api.watch_queries) >= 1, what="the first watch request")
    first_rv = api.watch_queries[0]["resourceVersion"]
    assert first_rv == "103"

    api.put("change")
    api.remove("drop")
    api.put("new")
    api.gate.set()
    consumer.wait_for(_synced(2), what="SYNCED after the relist")
    after = consumer.events[4:]
    assert [(e.type, e.object.get("metadata", {}).get("name")) for e in after[:-1]] == [
        ("MODIFIED", "change"),
        ("ADDED", "new"),
        ("DELETED", "drop"),
    ]
    server = {object_key(o): o for o in api.objects.values()}
    assert _rv_view(after[-1].objects) == _rv_view(server)
    assert _rv_view(consumer.view) == _rv_view(server)
    assert api.list_count == 2
    consumer.wait_for(lambda c: len(api.watch_queries) >= 2, what="the watch after the relist")
    assert api.watch_queries[1]["resourceVersion"] == str(api.rv)
    assert consumer.stop_and_measure() < 1.0


def test_watch_asks_for_bookmarks_with_a_timeout_and_resumes_from_the_bookmark(
    fake_api: tuple[FakeApi, Cluster],
) -> None:
    api, cluster = fake_api
    api.put("a")
    api.plan = ["bookmark-close", "hang"]
    consumer = Consumer(cluster.watch(CONFIGMAPS, namespace=NS, timeout_seconds=7))
    consumer.wait_for(lambda c: len(api.watch_queries) >= 2, what="the second watch request")
    first, second = api.watch_queries[:2]
    assert first["allowWatchBookmarks"] == "true"
    assert first["timeoutSeconds"] == "7"
    assert first["resourceVersion"] == "101"
    assert second["resourceVersion"] == "151"
    assert second["timeoutSeconds"] == "7"
    assert api.list_count == 1
    assert consumer.types() == ["ADDED", "SYNCED"]
    assert consumer.stop_and_measure() < 1.0


def test_dropped_connection_reports_reconnecting_then_resumes(fake_api: tuple[FakeApi, Cluster]) -> None:
    api, cluster = fake_api
    api.put("a")
    api.plan = ["drop", "hang"]
    api.gate.set()
    consumer = Consumer(cluster.watch(CONFIGMAPS, namespace=NS, timeout_seconds=30))
    consumer.wait_for(_synced(2), what="SYNCED after the reconnect")
    assert consumer.types() == ["ADDED", "SYNCED", "RECONNECTING", "SYNCED"]
    reconnecting = consumer.events[2]
    assert api.url in reconnecting.message
    assert api.list_count == 1
    assert [q["resourceVersion"] for q in api.watch_queries[:2]] == ["101", "101"]
    assert consumer.stop_and_measure() < 1.0


@pytest.mark.parametrize("action", ["no-headers", "hang"])
def test_stop_from_another_thread_ends_iteration_within_a_second(
    fake_api: tuple[FakeApi, Cluster], action: str
) -> None:
    api, cluster = fake_api
    api.plan = [action]
    consumer = Consumer(cluster.watch(CONFIGMAPS, namespace=NS, timeout_seconds=60))
    consumer.wait_for(lambda c: len(api.watch_queries) == 1, what="the watch request")
    time.sleep(0.2)  # let the reader block inside the socket read; this is not synchronisation
    elapsed = consumer.stop_and_measure()
    assert elapsed < 1.0
    assert consumer.error is None
    assert consumer.types() == ["SYNCED"]


def test_stop_discards_events_the_consumer_has_not_taken(fake_api: tuple[FakeApi, Cluster]) -> None:
    api, cluster = fake_api
    for i in range(2000):
        api.put(f"cm{i}")
    watch = cluster.watch(CONFIGMAPS, namespace=NS, timeout_seconds=30)
    events = iter(watch)
    assert next(events).type == "ADDED"
    deadline = time.monotonic() + 10
    while not api.watch_queries and time.monotonic() < deadline:
        time.sleep(0.01)
    assert api.watch_queries, "the reader never got past the list"
    watch.stop()
    assert list(events) == []


def test_streams_that_end_at_once_are_retried_with_backoff(fake_api: tuple[FakeApi, Cluster]) -> None:
    api, cluster = fake_api
    api.plan = ["close"] * 20
    started = time.monotonic()
    consumer = Consumer(cluster.watch(CONFIGMAPS, namespace=NS, timeout_seconds=30))
    consumer.wait_for(lambda c: len(api.watch_queries) >= 4, what="four watch requests")
    assert time.monotonic() - started >= 0.1 + 0.2 + 0.4
    assert consumer.types() == ["SYNCED"]
    assert {q["resourceVersion"] for q in api.watch_queries} == {"100"}
    assert consumer.stop_and_measure() < 1.0


def test_unreachable_server_keeps_reconnecting_until_stopped(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = f"http://127.0.0.1:{port}"
    cluster = Cluster.from_kubeconfig(path=str(_write_kubeconfig(tmp_path / "kc", server)))
    consumer = Consumer(cluster.watch(CONFIGMAPS, namespace=NS, timeout_seconds=5))
    consumer.wait_for(lambda c: c.count("RECONNECTING") >= 3, what="three RECONNECTING events")
    messages = {e.message for e in consumer.events}
    assert all(server in m and "connection refused" in m for m in messages)
    assert consumer.stop_and_measure() < 1.0
    assert consumer.error is None


def test_forbidden_list_ends_the_watch_with_the_error(fake_api: tuple[FakeApi, Cluster]) -> None:
    api, cluster = fake_api
    api.list_status = 403
    consumer = Consumer(cluster.watch(CONFIGMAPS, namespace=NS, timeout_seconds=5))
    consumer.thread.join(timeout=5)
    assert isinstance(consumer.error, Forbidden)
    assert consumer.error.message == "configmaps is forbidden"
    assert consumer.error.code == 403
    assert consumer.events == []


def test_stop_before_iteration_yields_nothing(fake_api: tuple[FakeApi, Cluster]) -> None:
    api, cluster = fake_api
    watch = cluster.watch(CONFIGMAPS, namespace=NS)
    watch.stop()
    assert list(watch) == []
    assert api.list_count == 0


# --------------------------------------------------------------------------------------------- sandbox tests


def _server_view(cluster: Cluster, namespace: str) -> dict[str, str]:
    return _rv_view({object_key(o): o for o in cluster.list(CONFIGMAPS, namespace=namespace).items})


def _cm(name: str, value: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": NS},
        "data": {"v": value},
    }


def test_watch_streams_sandbox_changes(cluster: Cluster) -> None:
    cluster.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    cluster.create(CONFIGMAPS, _cm("before", "1"))
    consumer = Consumer(cluster.watch(CONFIGMAPS, namespace=NS, timeout_seconds=30))
    consumer.wait_for(_synced(1), what="SYNCED")
    assert consumer.types() == ["ADDED", "SYNCED"]
    cluster.create(CONFIGMAPS, _cm("after", "1"))
    cluster.patch(CONFIGMAPS, "before", {"data": {"v": "2"}}, namespace=NS)
    cluster.delete(CONFIGMAPS, "after", namespace=NS)
    consumer.wait_for(lambda c: len(c.events) >= 5, what="three change events")
    assert consumer.types()[2:] == ["ADDED", "MODIFIED", "DELETED"]
    assert _rv_view(consumer.view) == _server_view(cluster, NS)
    assert consumer.stop_and_measure() < 1.0


def _start_with_state(tmp_path: Path, port: int = 0) -> tuple[Sandbox, Cluster]:
    sb = Sandbox(port=port, state_file=tmp_path / "state.db", pod_start_seconds=0.1)
    sb.start()
    kc = sb.write_kubeconfig(tmp_path / f"kubeconfig-{port}")
    return sb, Cluster.from_kubeconfig(path=str(kc), context="sandbox")


def _offline_edit(tmp_path: Path, *, compact: bool) -> None:
    """Change the persisted state while no server runs, so the watch misses these writes."""
    store = Store(state_file=tmp_path / "state.db")
    try:
        store.create("configmaps", _cm("offline", "1"))
        store.delete("configmaps", "b", namespace=NS)
        store.update("configmaps", "a", namespace=NS, mutate=lambda o: {**o, "data": {"v": "offline"}})
        if compact:
            store.compact()
    finally:
        store.close()


@pytest.mark.parametrize("compact", [False, True], ids=["resume", "410-relist"])
def test_watch_survives_a_sandbox_restart_with_state(tmp_path: Path, compact: bool) -> None:
    sb, cluster = _start_with_state(tmp_path)
    port = sb.port
    restarted: Sandbox | None = None
    consumer: Consumer | None = None
    try:
        cluster.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
        for name in ("a", "b"):
            cluster.create(CONFIGMAPS, _cm(name, "1"))
        consumer = Consumer(cluster.watch(CONFIGMAPS, namespace=NS, timeout_seconds=30))
        consumer.wait_for(_synced(1), what="the first SYNCED")
        sb.stop()
        consumer.wait_for(lambda c: c.count("RECONNECTING") >= 1, what="RECONNECTING")
        _offline_edit(tmp_path, compact=compact)

        restarted, cluster = _start_with_state(tmp_path, port=port)
        consumer.wait_for(
            lambda c: (
                {o["metadata"]["name"]: o["data"]["v"] for o in c.view.values()}
                == {"a": "offline", "offline": "1"}
            ),
            what="the changes made while the server was down",
        )
        cluster.patch(CONFIGMAPS, "a", {"data": {"v": "online"}}, namespace=NS)
        cluster.create(CONFIGMAPS, _cm("online", "1"))
        server = _server_view(cluster, NS)
        assert sorted(server) and len(server) == 3
        consumer.wait_for(lambda c: _rv_view(c.view) == server, what="the consumer to equal the server")
        names = [(e.type, e.object.get("metadata", {}).get("name")) for e in consumer.events]
        assert ("DELETED", "b") in names
        assert ("ADDED", "offline") in names
        # Resuming replays the missed events after a SYNCED of the old state; a 410 relists and the SYNCED
        # that follows the relist already holds the offline edits.
        last_synced = [e for e in consumer.events if e.type == "SYNCED"][-1]
        synced_names = {o["metadata"]["name"] for o in last_synced.objects.values()}
        assert synced_names == ({"a", "offline"} if compact else {"a", "b"})
        assert consumer.stop_and_measure() < 1.0
    finally:
        if consumer is not None:
            consumer.watch.stop()
        cluster.close()
        if restarted is not None:
            restarted.stop()


_CREDENTIALS = ("token", "ca_pem", "cert_pem", "key_pem")


def _credentials_only(old_state: Path, new_state: Path) -> None:
    """A state file holding the old sandbox's credentials and none of its objects, so the watch's
    kubeconfig is still accepted by a sandbox that otherwise starts from nothing."""
    old, new = Store(state_file=old_state), Store(state_file=new_state)
    try:
        for name in _CREDENTIALS:
            value = old.get_meta(name)
            assert value is not None
            new.set_meta(name, value)
    finally:
        old.close()
        new.close()


def test_watch_relists_when_a_sandbox_comes_back_behind_its_resource_version(tmp_path: Path) -> None:
    sb, cluster = _start_with_state(tmp_path)
    port = sb.port
    fresh: Sandbox | None = None
    consumer: Consumer | None = None
    try:
        cluster.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
        for i in range(10):
            cluster.create(CONFIGMAPS, _cm(f"old{i}", "1"))
        consumer = Consumer(cluster.watch(CONFIGMAPS, namespace=NS, timeout_seconds=30))
        consumer.wait_for(_synced(1), what="the first SYNCED")
        watched_rv = int(consumer.watch.resource_version)
        sb.stop()
        consumer.wait_for(lambda c: c.count("RECONNECTING") >= 1, what="RECONNECTING")

        _credentials_only(tmp_path / "state.db", tmp_path / "fresh.db")
        fresh = Sandbox(port=port, state_file=tmp_path / "fresh.db", pod_start_seconds=0.1)
        fresh.start()
        assert fresh.store is not None and int(fresh.store.resource_version) < watched_rv
        # The resume is answered with ResourceVersionTooLarge; the Watch relists and the old objects go.
        consumer.wait_for(
            lambda c: not c.view and c.events[-1].type == "SYNCED" and not c.events[-1].objects,
            what="the relist against the new server",
        )
        deleted = {e.object["metadata"]["name"] for e in consumer.events if e.type == "DELETED"}
        assert deleted == {f"old{i}" for i in range(10)}

        cluster.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
        for name in ("new1", "new2"):
            cluster.create(CONFIGMAPS, _cm(name, "1"))
        cluster.patch(CONFIGMAPS, "new1", {"data": {"v": "2"}}, namespace=NS)
        server = _server_view(cluster, NS)
        assert len(server) == 2
        consumer.wait_for(lambda c: _rv_view(c.view) == server, what="the consumer to equal the new server")
        assert {o["metadata"]["name"]: o["data"]["v"] for o in consumer.view.values()} == {
            "new1": "2",
            "new2": "1",
        }
        assert consumer.error is None
        assert consumer.stop_and_measure() < 1.0
    finally:
        if consumer is not None:
            consumer.watch.stop()
        cluster.close()
        sb.stop()
        if fresh is not None:
            fresh.stop()


def test_cancel_of_an_idle_sandbox_watch_is_prompt(cluster: Cluster) -> None:
    consumer = Consumer(cluster.watch(NAMESPACES, timeout_seconds=300))
    consumer.wait_for(_synced(1), what="SYNCED")
    assert {e.object["metadata"]["name"] for e in consumer.events if e.type == "ADDED"} >= {"default"}
    assert consumer.stop_and_measure() < 1.0
