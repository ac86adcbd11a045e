"""Garbage collection: owned objects go with their owner, and a namespace's contents with the namespace.

It runs synchronously in the writing thread, so a DELETE answers only once its dependents are gone.
"""

from __future__ import annotations

import contextlib
import threading

from tui.errors import KubeError
from tui.sandbox.controllers.common import controller_uid, meta
from tui.sandbox.store import Obj, Store

Ident = tuple[str, str, str]


class GarbageCollector:
    """An owner-uid → dependents index kept current from store events."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.RLock()
        self._dependents: dict[str, set[Ident]] = {}
        self._owners_of: dict[Ident, set[str]] = {}

    def index(self, key: str, obj: Obj, *, deleted: bool = False) -> None:
        m = meta(obj)
        ident = (key, str(m.get("namespace") or ""), str(m.get("name") or ""))
        owners = (
            set()
            if deleted
            else {
                str(r.get("uid"))
                for r in m.get("ownerReferences") or []
                if isinstance(r, dict) and r.get("uid")
            }
        )
        with self._lock:
            previous = self._owners_of.pop(ident, set())
            for uid in previous - owners:
                deps = self._dependents.get(uid)
                if deps is not None:
                    deps.discard(ident)
                    if not deps:
                        del self._dependents[uid]
            for uid in owners:
                self._dependents.setdefault(uid, set()).add(ident)
            if owners:
                self._owners_of[ident] = owners

    def collect(self, key: str, obj: Obj) -> None:
        """Delete what ``obj`` owned, and everything inside a deleted namespace."""
        m = meta(obj)
        with self._lock:
            dependents = sorted(self._dependents.pop(str(m.get("uid")), set()))
        for dep_key, ns, name in dependents:
            with contextlib.suppress(KubeError):
                self.store.delete(dep_key, name, namespace=ns)
        if key == "namespaces":
            ns = str(m.get("name"))
            for k in list(self.store.keys()):  # noqa: SIM118 (Store is not a mapping)
                if k != "namespaces":
                    self.store.delete_all(k, namespace=ns)

    def owned(self, owner_uid: str, key: str) -> list[Obj]:
        """The stored objects of ``key`` whose controller is ``owner_uid`` (read-only)."""
        with self._lock:
            idents = sorted(i for i in self._dependents.get(owner_uid, ()) if i[0] == key)
        found = []
        for _, ns, name in idents:
            obj = self.store.try_get(key, name, namespace=ns, copy=False)
            if obj is not None and controller_uid(obj) == owner_uid:
                found.append(obj)
        return found
