"""The pod table at 120x36 and 80x24 with a frozen clock and a fixed set of pods covering every STATUS colour.

The sandbox cannot produce crash loops or image-pull failures, and its pod names and IPs vary per run, so this
snapshot alone feeds the app from an in-memory backend implementing just what the panes call. Every
behaviour test runs against the real sandbox instead (tests/ui/test_pods.py).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from tui import kube
from tui.app import IstioApp
from tui.config import Settings
from tui.errors import NotFound
from tui.kube import ClusterInfo, ObjectList, WatchEvent, object_key

NOW = datetime(2026, 3, 14, 12, 0, 0, tzinfo=UTC)
INFO = ClusterInfo(
    context="prod-eu", server="https://10.0.0.1:6443", git_version="v1.32.4", major=1, minor=32
)
PROXY = {"name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.28.0"}


def _ago(**delta: float) -> str:
    return (NOW - timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%SZ")


def namespace(name: str, **labels: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "uid": f"ns-{name}", "labels": labels, "creationTimestamp": _ago(days=40)}
    }


def running(ready: bool = True, restarts: int = 0) -> dict[str, Any]:
    return {"ready": ready, "started": True, "restartCount": restarts, "state": {"running": {}}}


def waiting(reason: str, restarts: int = 0) -> dict[str, Any]:
    return {"ready": False, "restartCount": restarts, "state": {"waiting": {"reason": reason}}}


def pod(
    ns: str,
    name: str,
    *,
    age: dict[str, float],
    app: list[dict[str, Any]],
    sidecar: str = "",
    proxy: dict[str, Any] | None = None,
    phase: str = "Running",
    ip: str = "",
    terminating: bool = False,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    containers = [{"name": name.split("-")[0], "image": "example/app:1"}]
    statuses = [{"name": containers[0]["name"], **app[0]}]
    spec: dict[str, Any] = {"containers": containers, "nodeName": "node-a"}
    status: dict[str, Any] = {"phase": phase, "podIP": ip, "containerStatuses": statuses}
    if sidecar == "classic":
        spec["containers"] = [*containers, PROXY]
        status["containerStatuses"] = [*statuses, {"name": "istio-proxy", **(proxy or running())}]
    elif sidecar == "native":
        spec["initContainers"] = [{**PROXY, "restartPolicy": "Always"}]
        status["initContainerStatuses"] = [{"name": "istio-proxy", **(proxy or running())}]
        status["conditions"] = [{"type": "Initialized", "status": "True"}]
    meta: dict[str, Any] = {
        "name": name,
        "namespace": ns,
        "uid": f"uid-{ns}-{name}",
        "resourceVersion": "1",
        "creationTimestamp": _ago(**age),
        "labels": {"app": name.split("-")[0]},
    }
    if terminating:
        meta["deletionTimestamp"] = _ago(seconds=5)
    if annotations:
        meta["annotations"] = annotations
    return {"metadata": meta, "spec": spec, "status": status}


NAMESPACES = [
    namespace("bookinfo", **{"istio-injection": "enabled"}),
    namespace("istio-system"),
    namespace("shop", **{"istio-injection": "enabled"}),
    namespace("batch"),
    namespace("payments", **{"istio.io/dataplane-mode": "ambient"}),
]
PODS = [
    pod(
        "bookinfo",
        "productpage-v1-7d6cfb7d5d-x2l9q",
        age={"days": 3},
        app=[running()],
        sidecar="classic",
        ip="10.244.0.12",
    ),
    pod(
        "bookinfo",
        "reviews-v1-5b8f6c9c4d-kq7vz",
        age={"hours": 5, "minutes": 20},
        app=[running()],
        sidecar="native",
        ip="10.244.0.13",
    ),
    pod(
        "bookinfo",
        "reviews-v2-6c7f8d9b5f-lm3np",
        age={"minutes": 7, "seconds": 12},
        app=[running(False)],
        sidecar="classic",
        proxy=running(),
        ip="10.244.0.14",
    ),
    pod(
        "bookinfo",
        "reviews-v3-84779c7bbc-zz8rt",
        age={"minutes": 42},
        app=[waiting("CrashLoopBackOff", restarts=7)],
        sidecar="classic",
        ip="10.244.0.15",
    ),
    pod(
        "bookinfo",
        "ratings-v1-65f8d4c7b9-4hx6w",
        age={"seconds": 35},
        app=[waiting("ContainerCreating")],
        sidecar="classic",
        proxy=waiting("ContainerCreating"),
        phase="Pending",
    ),
    pod("bookinfo", "details-v1-79f774bdb9-qw5ce", age={"days": 12}, app=[running()], ip="10.244.0.9"),
    pod("istio-system", "istiod-5d8f9c7b6f-8kz2p", age={"days": 12}, app=[running()], ip="10.244.0.5"),
    pod(
        "payments",
        "ledger-reconciliation-worker-5f6d7c8b9a-q8w7e",
        age={"hours": 9},
        app=[running()],
        ip="10.244.214.150",
        annotations={"ambient.istio.io/redirection": "enabled"},
    ),
    pod(
        "shop", "web-6f7b8c9d5e-abcde", age={"hours": 30}, app=[waiting("ImagePullBackOff")], phase="Pending"
    ),
    pod(
        "shop",
        "api-7c8d9e6f5a-fghij",
        age={"days": 2, "hours": 4},
        app=[running(restarts=2)],
        ip="10.244.1.7",
        terminating=True,
    ),
    pod(
        "batch",
        "report-28930-p4k2x",
        age={"hours": 2},
        app=[
            {
                "ready": False,
                "restartCount": 0,
                "state": {"terminated": {"reason": "Completed", "exitCode": 0}},
            }
        ],
        phase="Succeeded",
        ip="10.244.1.30",
    ),
]


class FakeWatch:
    def __init__(self, objects: list[dict[str, Any]]) -> None:
        self._objects = objects
        self._stopped = threading.Event()

    def __iter__(self) -> Iterator[WatchEvent]:
        for obj in self._objects:
            yield WatchEvent("ADDED", obj)
        yield WatchEvent("SYNCED", objects={object_key(o): o for o in self._objects})
        self._stopped.wait()

    def stop(self) -> None:
        self._stopped.set()


class FakeCluster:
    """Only for this snapshot: a frozen cluster that answers the panes' reads."""

    context = INFO.context
    server = INFO.server
    namespace = "default"

    def info(self) -> ClusterInfo:
        return INFO

    def watch(self, res: kube.Resource, *, namespace: str | None = None, **_: Any) -> FakeWatch:
        source = {"pods": PODS, "namespaces": NAMESPACES}.get(res.plural, [])
        return FakeWatch(
            [o for o in source if namespace is None or o["metadata"].get("namespace") == namespace]
        )

    def list(self, res: kube.Resource, **_: Any) -> ObjectList:
        return ObjectList(items=[], resource_version="1")

    def has_api(self, group_version: str) -> bool:
        return False

    def get(self, res: kube.Resource, name: str, **_: Any) -> dict[str, Any]:
        raise NotFound(f"{res.plural} {name!r} not found")


async def _settle(pilot: Any) -> None:
    from tui.widgets.pod_table import PodTable

    table = pilot.app.query_one(PodTable)
    for _ in range(200):
        if table.row_count == len(PODS):
            break
        await pilot.pause(0.02)
    assert table.row_count == len(PODS)
    await pilot.pause(0.3)


def _app() -> IstioApp:
    return IstioApp(
        settings=Settings(),
        cluster=FakeCluster(),  # type: ignore[arg-type]
        info=INFO,
        clock=lambda: NOW,
        initial_pane="pods",
    )


def test_pod_table_all_namespaces(snap_compare: Any) -> None:
    assert snap_compare(_app(), terminal_size=(120, 36), run_before=_settle)


def test_pod_table_filtered_and_sorted(snap_compare: Any) -> None:
    async def filtered(pilot: Any) -> None:
        await _settle(pilot)
        await pilot.press("slash", *"review", "enter", "R")

    assert snap_compare(_app(), terminal_size=(120, 36), run_before=filtered)


def test_pod_table_80x24(snap_compare: Any) -> None:
    """Narrow: NAME shortened with …, whole columns dropped and named in the title, the IP never cut."""
    assert snap_compare(_app(), terminal_size=(80, 24), run_before=_settle)
