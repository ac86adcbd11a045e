"""The shape of one simulated controller, and what it may ask of the manager that runs it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tui.sandbox.controllers.common import ns_name
from tui.sandbox.store import Obj

if TYPE_CHECKING:
    from tui.sandbox.controllers.manager import Controllers


class Reconciler:
    """One controller: it hears store events for ``watches`` and reconciles the objects of ``key``.

    Reconciles run on the sandbox loop, coalesced per object: ``on_event`` only marks work, ``sync`` does it.
    ``owner_kind`` is the Kind its objects put in their dependents' controller ownerReference, so a change to
    a dependent (a pod getting Ready) marks the owner.
    """

    key: str = ""
    owner_kind: str = ""
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
        raise NotImplementedError

    def stop(self) -> None:
        """Cancel timers of its own (the sandbox is shutting down)."""
