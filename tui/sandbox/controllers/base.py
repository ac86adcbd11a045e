"""The shape of one simulated controller, and what it may ask of the manager that runs it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tui.errors import KubeError
from tui.sandbox.controllers.common import meta, ns_name, owner_ref, pod_from_template
from tui.sandbox.store import Obj

if TYPE_CHECKING:
    from tui.sandbox.controllers.manager import Controllers


class Reconciler:
    """One controller: it hears store events for ``watches`` and reconciles the objects of ``key``.

    Reconciles run on the sandbox loop, coalesced per object: ``on_event`` only marks work, ``sync`` does it.
    ``owner_kind`` (of ``api_version``) is the Kind its objects put in their dependents' controller
    ownerReference, so a change to a dependent (a pod getting Ready) marks the owner. ``component`` signs
    its Events; by default ``<kind>-controller``, as kube-controller-manager's controllers sign theirs.
    """

    key: str = ""
    owner_kind: str = ""
    api_version: str = ""
    component: str = ""
    watches: frozenset[str] = frozenset()

    def __init__(self, ctl: Controllers) -> None:
        self.ctl = ctl
        self.store = ctl.store

    def admit(self, obj: Obj) -> None:
        """Defaults the apiserver applies to every create and update of ``key`` (so keep it idempotent)."""

    def on_event(self, event_type: str, key: str, obj: Obj) -> None:
        if key == self.key:
            self.ctl.mark(self.key, *ns_name(obj))

    def resync(self) -> None:
        """Mark everything stored, so a restarted sandbox converges."""
        items, _ = self.store.list(self.key)
        for obj in items:
            self.ctl.mark(self.key, *ns_name(obj))

    def sync(self, ns: str, name: str) -> None:
        """A deleted object leaves nothing to reconcile: its dependents go with it (see ``gc``)."""
        obj = self.store.try_get(self.key, name, namespace=ns, copy=False)
        if obj is not None:
            self.reconcile(obj)

    def reconcile(self, obj: Obj) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        """Cancel timers of its own (the sandbox is shutting down)."""

    def emit(self, obj: Obj, reason: str, message: str, *, type_: str = "Normal") -> None:
        component = self.component or f"{self.owner_kind.lower()}-controller"
        self.ctl.events.emit(obj, reason, message, component=component, type_=type_)

    def owner_ref(self, owner: Obj) -> Obj:
        return owner_ref(owner, api_version=self.api_version, kind=self.owner_kind)

    def owned(self, owner: Obj, key: str) -> list[Obj]:
        return self.ctl.gc.owned(str(meta(owner)["uid"]), key)

    def create_owned(self, owner: Obj, key: str, body: Obj, *, message: str = "") -> Obj | None:
        """Create a dependent of ``owner``, with a SuccessfulCreate Event saying ``message`` (if any).

        None when the store refuses it or an object of its fixed name exists already: the next reconcile
        sees what is there and tries again.
        """
        m = meta(body)
        if m.get("name") and self.store.try_get(
            key, str(m["name"]), namespace=str(m.get("namespace") or ""), copy=False
        ):
            return None
        try:
            created = self.store.create(key, body)
        except KubeError:
            return None
        if message:
            self.emit(owner, "SuccessfulCreate", message)
        return created

    def remove(self, key: str, obj: Obj) -> bool:
        """Delete a dependent; False when it is gone already (or the store refused)."""
        ns, name = ns_name(obj)
        try:
            self.store.delete(key, name, namespace=ns)
        except KubeError:
            return False
        return True

    def write_status(self, obj: Obj, status: Obj, *, key: str = "") -> None:
        """Replace ``obj``'s status, writing nothing when it is already that."""
        if (obj.get("status") or {}) == status:
            return

        def mutate(o: Obj) -> None:
            o["status"] = status

        ns, name = ns_name(obj)
        self.store.update(key or self.key, name, namespace=ns, mutate=mutate)


class PodOwner(Reconciler):
    """A workload controller whose objects own pods made from ``spec.template``."""

    def new_pod(self, owner: Obj, *, name: str = "") -> Obj:
        template = (owner.get("spec") or {}).get("template") or {}
        return pod_from_template(
            owner, template, api_version=self.api_version, kind=self.owner_kind, name=name
        )

    def create_pod(self, owner: Obj, pod: Obj) -> Obj | None:
        """A ``generateName`` pod, with the Event as the replicaset, job and daemonset controllers word it."""
        created = self.create_owned(owner, "pods", pod)
        if created is not None:
            self.emit(owner, "SuccessfulCreate", f"Created pod: {meta(created)['name']}")
        return created
