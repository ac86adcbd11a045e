"""istio-cni's ambient enrolment, simulated: captured pods get ``ambient.istio.io/redirection: enabled``.

Why a controller and not an admission hook: istio-cni enrols pods that already run, without a restart, when
their namespace gets ``istio.io/dataplane-mode=ambient``, and drops them when the label goes (or ztunnel
does). Which pods qualify is :func:`tui.istio.ambient.wants_ambient`; nothing is captured while no ``ztunnel``
DaemonSet exists.
"""

from __future__ import annotations

from tui.istio.ambient import REDIRECTION_ANNOTATION, REDIRECTION_ENABLED, is_captured, wants_ambient
from tui.sandbox.controllers.base import Reconciler
from tui.sandbox.controllers.common import meta, ns_name, pod_live
from tui.sandbox.controllers.daemonset import DAEMONSETS
from tui.sandbox.store import Obj

ZTUNNEL = "ztunnel"


class AmbientEnrolment(Reconciler):
    key = "pods"
    watches = frozenset({"pods", "namespaces", DAEMONSETS})

    def on_event(self, event_type: str, key: str, obj: Obj) -> None:
        if key == "pods":
            if event_type != "DELETED" and self._wanted(obj) != is_captured(obj):
                self.ctl.mark(self.key, *ns_name(obj))
        elif key == "namespaces":
            self._mark_all(str(meta(obj).get("name")))
        elif meta(obj).get("name") == ZTUNNEL:
            self._mark_all(None)

    def resync(self) -> None:
        self._mark_all(None)

    def _mark_all(self, namespace: str | None) -> None:
        for pod in self.store.list("pods", namespace=namespace)[0]:
            if self._wanted(pod) != is_captured(pod):
                self.ctl.mark(self.key, *ns_name(pod))

    def _ztunnel(self) -> bool:
        return any(meta(ds).get("name") == ZTUNNEL for ds in self.store.list(DAEMONSETS)[0])

    def _wanted(self, pod: Obj) -> bool:
        if not pod_live(pod) or meta(pod).get("deletionTimestamp"):
            return is_captured(pod)  # a finishing pod keeps what it had
        if not self._ztunnel():  # first: without ztunnel nothing is captured, and it is the cheaper test
            return False
        ns = self.store.try_get("namespaces", str(meta(pod).get("namespace") or ""), copy=False) or {}
        return wants_ambient(pod, meta(ns).get("labels"))

    def reconcile(self, pod: Obj) -> None:
        want = self._wanted(pod)
        if want == is_captured(pod):
            return

        def mutate(o: Obj) -> None:
            annotations = o["metadata"].setdefault("annotations", {})
            if want:
                annotations[REDIRECTION_ANNOTATION] = REDIRECTION_ENABLED
            else:
                annotations.pop(REDIRECTION_ANNOTATION, None)

        ns, name = ns_name(pod)
        self.store.update("pods", name, namespace=ns, mutate=mutate)
