"""The cluster side of Bookinfo as the traffic pane sees it, read about once a second on a thread of its own.

``read_cluster_view`` is the only place that reads the cluster for the pane's live view. ``BookinfoPoller``
runs it on a ``Stream`` (a dedicated daemon thread, never a slot of Textual's worker pool, which a poller
that never ends would hold for good) and posts each result to the pane as a message.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from textual.message import Message
from textual.message_pump import MessagePump

from tui import kube
from tui.errors import IstioTuiError
from tui.istio import bookinfo, waypoints
from tui.istio.ambient import l7_applies
from tui.istio.presets import RoutingApi
from tui.istio.routing import RoutingView
from tui.istio.waypoints import AmbientView
from tui.models import BookinfoStatus, IngressInfo, VerifyResult
from tui.widgets.stream import ErrorSink, Stream

POLL_INTERVAL_S = 1.0
VERIFY_EVERY_S = 5.0


@dataclass(frozen=True)
class ClusterView:
    """What the pane knows about the cluster side of Bookinfo, read in one go."""

    namespace: str
    status: BookinfoStatus | None = None
    reviews: RoutingView = RoutingView(host="reviews", namespace="", exists=False)
    ratings: RoutingView = RoutingView(host="ratings", namespace="", exists=False)
    ingress: IngressInfo | None = None
    ingress_error: str = ""
    verify: VerifyResult | None = None
    error: str = ""
    api: RoutingApi = "istio"
    ambient: AmbientView | None = None

    @property
    def needs_waypoint(self) -> bool:
        """Ambient, routing configured on reviews, and no waypoint in its path: ztunnel alone is L4."""
        no_sidecar = self.status is None or self.status.productpage_sidecar is not True
        return (
            self.ambient is not None
            and no_sidecar
            and self.ambient.needs_waypoint("reviews", l7_configured=self.reviews.exists)
        )

    def routing_applies(self) -> bool:
        """L7 routing runs in the caller's sidecar, or in the waypoint of an ambient callee once ztunnel has
        captured the caller and the waypoint is Programmed (the data plane's rule, ``l7_applies``); with
        neither, none applies."""
        if not self.reviews.exists:
            return False
        status = self.status
        if self.ambient is not None and self.ambient.ambient:
            pods = status.pods if status else ()
            callers = [p for p in pods if p.app == "productpage" and p.phase == "Running"]
            return l7_applies(
                caller_sidecar=status is not None and status.productpage_sidecar is True,
                caller_captured=bool(callers) and all(p.ambient for p in callers),
                waypoint=bool(self.ambient.waypoint_for("reviews")),
            )
        return status is None or status.productpage_sidecar is not False

    def reviews_pod_versions(self) -> dict[str, str]:
        """Pod name -> its ``version`` label, for telling which version served a page."""
        pods = self.status.pods if self.status else ()
        return {p.name: p.version for p in pods if p.app == "reviews" and p.version}

    def reviews_pods_per_version(self) -> dict[str, int]:
        per: dict[str, int] = {}
        for pod in self.status.pods if self.status else ():
            if pod.app == "reviews" and pod.phase == "Running":
                per[pod.version] = per.get(pod.version, 0) + 1
        return per


def read_cluster_view(
    cluster: kube.Cluster,
    *,
    namespace: str,
    verify_due: bool,
    previous_verify: VerifyResult | None,
    api: RoutingApi = "istio",
) -> ClusterView:
    """Blocking: pods, routing and the ingress of ``namespace``. /productpage is fetched only when due or
    when the gateway URL changed, so the check does not add a request a second to the user's numbers."""
    error = ""
    status = None
    reviews = RoutingView(host="reviews", namespace=namespace, exists=False)
    ratings = RoutingView(host="ratings", namespace=namespace, exists=False)
    try:
        status = bookinfo.pod_status(cluster, namespace=namespace)
        reviews = bookinfo.current_routing(cluster, namespace=namespace, host="reviews", api=api)
        ratings = bookinfo.current_routing(cluster, namespace=namespace, host="ratings", api=api)
    except IstioTuiError as exc:
        error = str(exc)
    ambient: AmbientView | None = None
    with contextlib.suppress(IstioTuiError):
        ambient = waypoints.read(cluster, namespace=namespace)
    ingress: IngressInfo | None = None
    ingress_error = ""
    try:
        ingress = bookinfo.find_ingress(cluster, namespace=namespace, api=api)
    except IstioTuiError as exc:
        ingress_error = str(exc)
    verify = None
    if ingress is not None:
        verify = previous_verify
        if verify_due or verify is None or verify.url != ingress.productpage_url:
            verify = bookinfo.verify(ingress.productpage_url, timeout=3.0)
    return ClusterView(
        namespace=namespace,
        status=status,
        reviews=reviews,
        ratings=ratings,
        ingress=ingress,
        ingress_error=ingress_error,
        verify=verify,
        error=error,
        api=api,
        ambient=ambient,
    )


class BookinfoPoller:
    """Reads the view of ``namespace`` every second (or at once after ``refresh``) and posts it to ``target``.

    The pane sets ``namespace`` and ``api`` and calls ``refresh``; all are safe from the UI thread while the
    poller runs.
    """

    class ViewRead(Message):
        def __init__(self, view: ClusterView) -> None:
            super().__init__()
            self.view = view

    class Found(Message):
        """Bookinfo already runs in these namespaces (read once, at start)."""

        def __init__(self, namespaces: list[str]) -> None:
            super().__init__()
            self.namespaces = namespaces

    def __init__(self, cluster: Callable[[], kube.Cluster], target: MessagePump, *, namespace: str) -> None:
        self._cluster = cluster
        self._target = target
        self.namespace = namespace
        self.api: RoutingApi = "istio"
        self._wake = threading.Event()
        self._force_verify = threading.Event()
        self._stream: Stream | None = None

    def start(self, *, on_error: ErrorSink) -> None:
        if self._stream is None:
            self._stream = Stream(self._loop, name="bookinfo-status", on_error=on_error).start()

    def stop(self) -> None:
        if self._stream is not None:
            self._stream.stop()
        self._wake.set()

    def refresh(self, *, verify: bool = False) -> None:
        """Read now instead of at the next tick; ``verify`` also fetches /productpage."""
        if verify:
            self._force_verify.set()
        self._wake.set()

    def _loop(self, stop: threading.Event) -> None:
        cluster = self._cluster()
        try:
            found = bookinfo.bookinfo_namespaces(cluster)
        except IstioTuiError:
            found = []
        self._target.post_message(self.Found(found))
        last_verify = 0.0
        verify: VerifyResult | None = None
        while not stop.is_set():
            due = self._force_verify.is_set() or time.monotonic() - last_verify >= VERIFY_EVERY_S
            self._force_verify.clear()
            view = read_cluster_view(
                cluster, namespace=self.namespace, verify_due=due, previous_verify=verify, api=self.api
            )
            if view.verify is not verify:
                last_verify = time.monotonic()
            verify = view.verify
            if stop.is_set():
                return
            self._target.post_message(self.ViewRead(view))
            self._wake.wait(POLL_INTERVAL_S)
            self._wake.clear()
