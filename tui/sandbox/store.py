"""The sandbox's object store: every object, one global resourceVersion, and the event log watches read.

Why one store for everything: Kubernetes clients rely on a single monotonic resourceVersion across all kinds
(a list's RV is where the following watch starts), so the store, not the HTTP layer, owns the counter.

Python API (thread-safe; the HTTP server, the controllers and tests all call it):

- Resources are named by a *resource key*: the plural for the core group (``"pods"``, ``"namespaces"``)
  and ``"<plural>.<group>"`` otherwise (``"deployments.apps"``, ``"virtualservices.networking.istio.io"``).
  That is the spelling Kubernetes error messages use, so it doubles as the ``details.kind`` of a Status.
  :func:`resource_key` builds one.
- Objects are plain JSON dicts with ``metadata.name`` and, for namespaced kinds, ``metadata.namespace``
  (``""`` or absent for cluster-scoped kinds).
- ``create(key, obj)``, ``get(key, name, namespace=)``, ``list(key, namespace=, label_selector=,
  field_selector=)``, ``replace(key, obj)``, ``update(key, name, namespace=, mutate=)``,
  ``delete(key, name, namespace=)``. Writes return the stored object.
- ``add_listener(cb)``: ``cb(event_type, key, obj)`` runs synchronously in the writer's thread after every
  write, outside the store lock, with ``event_type`` one of ``"ADDED"``, ``"MODIFIED"``, ``"DELETED"``.
  Callbacks must be quick and must not block (hand work to an event loop with ``call_soon_threadsafe``); they
  may write to the store.
- ``add_admission(hook)``: ``hook(operation, key, obj, old)`` edits an object before it is stored, on every
  create and update from any writer (defaults, ClusterIP/nodePort allocation, sidecar injection).
- ``get_meta(name)`` / ``set_meta(name, value)``: small persisted strings (the sandbox keeps its token there).
- Errors are :mod:`tui.errors` exceptions whose ``status`` is the Kubernetes Status body to send:
  ``NotFound`` (404), ``Conflict`` (409, reason AlreadyExists or Conflict), ``Invalid`` (422), ``Gone`` (410).

Ownership rule: objects handed out by ``get``/``list`` with ``copy=False`` and passed to listeners are the
stored instances. They are never mutated after being stored (every write stores a fresh dict), so they are
safe to read and serialise from any thread, but callers must not modify them. ``copy=True`` (the default for
``get``) returns a private deep copy that may be edited and passed back to ``replace``.
"""

from __future__ import annotations

import logging
import random
import sqlite3
import threading
import time
import uuid
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from tui.errors import ConfigError, KubeError
from tui.sandbox.jsonfast import deep_copy
from tui.sandbox.statefile import Loaded, StateFile
from tui.sandbox.statuses import (
    already_exists,
    conflict,
    gone,
    invalid,
    not_found,
    state_busy,
    status_body,
    too_large,
)

Obj = dict[str, Any]
ObjList = list[Obj]
Listener = Callable[[str, str, Obj], None]
Admission = Callable[[str, str, Obj, "Obj | None"], None]

log = logging.getLogger(__name__)

_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_NO_GENERATION = frozenset(
    {
        "pods",
        "services",
        "namespaces",
        "nodes",
        "configmaps",
        "secrets",
        "endpoints",
        "serviceaccounts",
        "events",
    }
)


class Matcher(Protocol):
    """A parsed label or field selector (see :mod:`tui.sandbox.selectors`)."""

    def matches(self, obj: Any, /) -> bool: ...


class Event:
    """One entry of the watch log. ``obj`` is the stored (read-only) object as of that write; ``old`` is the
    object it replaced for MODIFIED (None when unknown, e.g. after a restart), so selector watches can turn a
    label change into ADDED or DELETED as the real API server does."""

    __slots__ = ("rv", "type", "key", "obj", "old")

    def __init__(self, rv: int, type_: str, key: str, obj: Obj, old: Obj | None = None) -> None:
        self.rv = rv
        self.type = type_
        self.key = key
        self.obj = obj
        self.old = old


EventList = list[Event]
ObjKeys = list[str]


def resource_key(group: str, plural: str) -> str:
    """``pods`` for the core group, ``deployments.apps`` otherwise."""
    return f"{plural}.{group}" if group else plural


_stamp: tuple[int, str] = (0, "")


def now_rfc3339() -> str:
    """The current second as the API server writes timestamps; formatted once a second, as every write
    stamps several fields."""
    global _stamp
    now = int(time.time())
    if _stamp[0] != now:
        _stamp = (now, datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    return _stamp[1]


def _copy(obj: Obj) -> Obj:
    """Deep copy through JSON: faster than copy.deepcopy and proves the object is storable."""
    result: Obj = deep_copy(obj)
    return result


class Store:
    """In-memory object store with an optional sqlite mirror (``state_file``).

    ``history`` bounds the event log; a watch asking for a resourceVersion older than the log gets 410 Gone.
    ``seed`` makes uids and generated name suffixes reproducible.
    """

    def __init__(
        self, *, state_file: str | Path | None = None, history: int = 20000, seed: int | None = None
    ) -> None:
        self._lock = threading.RLock()
        self._objects: dict[str, dict[tuple[str, str], Obj]] = {}
        self._order: dict[str, list[tuple[str, str]]] = {}  # sorted keys per resource, dropped on add/delete
        self._events: deque[Event] = deque(maxlen=history)
        self._history = history
        self._rv = 0
        self._compacted = 0  # events with rv <= this are no longer in the log
        self._listeners: list[Listener] = []
        self._admissions: list[Admission] = []
        self._meta: dict[str, str] = {}
        self._rand = random.Random(seed)
        self._seeded = seed is not None
        self._file: StateFile | None = None
        if state_file is not None:
            try:
                self._file = StateFile(Path(state_file))
                self._restore(self._file.load(history=history))
            except (sqlite3.DatabaseError, OSError, ValueError, KeyError) as err:
                self.close()
                raise ConfigError(
                    f"cannot use {state_file} as the sandbox state file: {err}",
                    hint="pass another --state path or delete the file",
                ) from err

    # ----------------------------------------------------------------- persistence
    def _restore(self, loaded: Loaded) -> None:
        self._rv = loaded.rv
        self._meta.update(loaded.meta)
        for key, ns, name, obj in loaded.objects:
            self._objects.setdefault(key, {})[(ns, name)] = obj
        self._events.extend(Event(rv, type_, key, obj) for rv, type_, key, obj in loaded.events)
        self._compacted = self._events[0].rv - 1 if self._events else self._rv

    def close(self) -> None:
        """Close the sqlite mirror, if any. The in-memory state stays readable."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    # ----------------------------------------------------------------- listeners
    def add_listener(self, callback: Listener) -> None:
        """Call ``callback(event_type, key, obj)`` after every write (see the module docstring)."""
        with self._lock:
            self._listeners.append(callback)

    def remove_listener(self, callback: Listener) -> None:
        with self._lock:
            if callback in self._listeners:
                self._listeners.remove(callback)

    def add_admission(self, hook: Admission) -> None:
        """Run ``hook(operation, key, obj, old)`` on every create and update before the object is stored.

        ``operation`` is ``"CREATE"`` (``old`` is None) or ``"UPDATE"``. The hook edits ``obj`` in place
        (defaults, allocations, sidecar injection) or raises a :class:`tui.errors.KubeError` built with
        :func:`status_body` to reject the write. It runs under the store lock, in the writer's thread, for
        writes from the HTTP API and from controllers alike; it may read the store but must not block.
        Hooks run in registration order.
        """
        with self._lock:
            self._admissions.append(hook)

    def _admit(self, operation: str, key: str, obj: Obj, old: Obj | None) -> None:
        for hook in self._admissions:
            hook(operation, key, obj, old)

    # ----------------------------------------------------------------- metadata
    def get_meta(self, name: str) -> str | None:
        """A persisted string setting (e.g. the sandbox's token), or None."""
        with self._lock:
            return self._meta.get(name)

    def set_meta(self, name: str, value: str) -> None:
        with self._lock:
            self._meta[name] = value
            if self._file is not None:
                self._file.set_meta(name, value)

    def _notify(self, ev: Event) -> None:
        for cb in list(self._listeners):
            try:
                cb(ev.type, ev.key, ev.obj)
            except Exception:
                log.exception("store listener failed")

    # ----------------------------------------------------------------- internals
    def _record(self, type_: str, key: str, ns: str, name: str, obj: Obj, old: Obj | None = None) -> Event:
        """Persist the write, then apply it in memory (lock held), so a write the state file refuses changes
        nothing; returns its event, which the caller notifies after releasing the lock."""
        ev = Event(self._rv + 1, type_, key, obj, old)
        if self._file is not None:
            try:
                self._file.write(
                    rv=ev.rv, type_=type_, key=key, ns=ns, name=name, obj=obj, history=self._history
                )
            except sqlite3.Error as err:
                raise state_busy(err) from err
        self._rv = ev.rv
        if type_ == "DELETED":
            self._objects.get(key, {}).pop((ns, name), None)
            self._order.pop(key, None)
        else:
            if type_ == "ADDED":
                self._order.pop(key, None)
            self._objects.setdefault(key, {})[(ns, name)] = obj
        if len(self._events) == self._events.maxlen and self._events:
            self._compacted = self._events[0].rv
        self._events.append(ev)
        return ev

    def _next_rv(self) -> str:
        """The resourceVersion the next write will get (it is taken only once the write is stored)."""
        return str(self._rv + 1)

    def _new_uid(self) -> str:
        if self._seeded:
            return str(uuid.UUID(int=self._rand.getrandbits(128), version=4))
        return str(uuid.uuid4())

    def _suffix(self) -> str:
        return generate_suffix(rand=self._rand)

    @staticmethod
    def _ns_name(obj: Obj) -> tuple[str, str]:
        meta = obj.get("metadata") or {}
        return str(meta.get("namespace") or ""), str(meta.get("name") or "")

    @staticmethod
    def _tracks_generation(key: str) -> bool:
        return key not in _NO_GENERATION

    # ----------------------------------------------------------------- reads
    @property
    def resource_version(self) -> str:
        """The current global resourceVersion (the RV of the latest write)."""
        return str(self._rv)

    @property
    def oldest_rv(self) -> int:
        """Reads and watches from a resourceVersion below this one get 410 Gone (the log was compacted)."""
        return self._compacted

    def get(self, key: str, name: str, *, namespace: str = "", copy: bool = True) -> Obj:
        """Return the object or raise NotFound."""
        with self._lock:
            obj = self._objects.get(key, {}).get((namespace or "", name))
        if obj is None:
            raise not_found(key, name)
        return _copy(obj) if copy else obj

    def try_get(self, key: str, name: str, *, namespace: str = "", copy: bool = True) -> Obj | None:
        """Like :meth:`get` but returns None when missing."""
        with self._lock:
            obj = self._objects.get(key, {}).get((namespace or "", name))
        if obj is None:
            return None
        return _copy(obj) if copy else obj

    def list(
        self,
        key: str,
        *,
        namespace: str | None = None,
        label_selector: Matcher | None = None,
        field_selector: Matcher | None = None,
        copy: bool = False,
    ) -> tuple[list[Obj], str]:
        """Return ``(items, resourceVersion)``; ``namespace=None`` means all namespaces.

        Items are sorted by namespace then name. ``label_selector.matches`` gets the labels dict,
        ``field_selector.matches`` the whole object. By default the stored (read-only) objects are returned.
        """
        with self._lock:
            bucket = self._objects.get(key, {})
            rv = str(self._rv)
            order = self._order.get(key)
            if order is None:
                order = self._order[key] = sorted(bucket)
            if namespace is not None:
                order = order[
                    bisect_left(order, (namespace, "")) : bisect_left(order, (namespace + "\x00", ""))
                ]
            items = [bucket[k] for k in order]
        if label_selector is not None:
            items = [
                o for o in items if label_selector.matches((o.get("metadata") or {}).get("labels") or {})
            ]
        if field_selector is not None:
            items = [o for o in items if field_selector.matches(o)]
        if copy:
            items = [_copy(o) for o in items]
        return items, rv

    def keys(self) -> ObjKeys:
        """Resource keys that currently hold at least one object."""
        with self._lock:
            return [k for k, v in self._objects.items() if v]

    def count(self, key: str) -> int:
        with self._lock:
            return len(self._objects.get(key, {}))

    # ----------------------------------------------------------------- writes
    def create(self, key: str, obj: Obj, *, copy: bool = True) -> Obj:
        """Store a new object: fills uid, creationTimestamp, resourceVersion, generation and generateName.

        Raises NotFound when the object's namespace does not exist, Conflict(AlreadyExists) for a taken name,
        Invalid when neither name nor generateName is given. ``copy=False`` hands ``obj`` over to the store:
        the caller must pass a fresh, JSON-only dict (a just-decoded request body) and never touch it again.
        """
        if copy:
            obj = _copy(obj)
        meta = obj.setdefault("metadata", {})
        ns = str(meta.get("namespace") or "")
        with self._lock:
            if ns and key != "namespaces" and ("", ns) not in self._objects.get("namespaces", {}):
                raise not_found("namespaces", ns)
            bucket = self._objects.setdefault(key, {})
            if not meta.get("name"):
                prefix = meta.get("generateName")
                if not prefix:
                    raise invalid(
                        key,
                        "",
                        str(obj.get("kind") or key),
                        [
                            {
                                "type": "FieldValueRequired",
                                "message": "Required value: name or generateName is required",
                                "field": "metadata.name",
                            }
                        ],
                    )
                for _ in range(100):
                    candidate = f"{prefix}{self._suffix()}"
                    if (ns, candidate) not in bucket:
                        break
                meta["name"] = candidate
            name = str(meta["name"])
            if (ns, name) in bucket:
                raise already_exists(key, name)
            meta["uid"] = self._new_uid()
            meta["creationTimestamp"] = now_rfc3339()
            self._admit("CREATE", key, obj, None)
            if self._tracks_generation(key):
                meta["generation"] = 1
            else:
                meta.pop("generation", None)
            meta.pop("deletionTimestamp", None)
            meta["resourceVersion"] = self._next_rv()
            ev = self._record("ADDED", key, ns, name, obj)
        self._notify(ev)
        return obj

    def replace(self, key: str, obj: Obj, *, check_rv: bool = True, copy: bool = True) -> Obj:
        """Replace a whole object, keeping uid and creationTimestamp.

        When ``check_rv`` and the body carries a resourceVersion that is not the stored one, raise
        Conflict (reason Conflict). ``generation`` goes up by one when ``spec`` changed. ``copy=False``
        hands ``obj`` over: a fresh top-level dict whose values may be shared with stored objects (which
        nobody edits), so only ``metadata``, which the store fills in, is copied; a controller's status
        write then costs no deep copy of the whole object.
        """
        obj = _copy(obj) if copy else {**obj, "metadata": dict(obj.get("metadata") or {})}
        obj.setdefault("metadata", {})
        ns, name = self._ns_name(obj)
        with self._lock:
            bucket = self._objects.get(key, {})
            old = bucket.get((ns, name))
            if old is None:
                raise not_found(key, name)
            ev = self._store_update(key, ns, name, old, obj, check_rv=check_rv)
        if ev is not None:
            self._notify(ev)
        return ev.obj if ev is not None else old

    def _store_update(
        self, key: str, ns: str, name: str, old: Obj, obj: Obj, *, check_rv: bool
    ) -> Event | None:
        meta = obj["metadata"]
        old_meta = old["metadata"]
        sent_rv = meta.get("resourceVersion")
        if check_rv and sent_rv and str(sent_rv) != old_meta["resourceVersion"]:
            raise conflict(key, name)
        sent_uid = meta.get("uid")
        if sent_uid and sent_uid != old_meta["uid"]:
            raise conflict(key, name)
        meta["uid"] = old_meta["uid"]
        meta["creationTimestamp"] = old_meta["creationTimestamp"]
        meta["name"] = name
        if ns:
            meta["namespace"] = ns
        self._admit("UPDATE", key, obj, old)
        if self._tracks_generation(key):
            gen = int(old_meta.get("generation") or 1)
            meta["generation"] = gen + 1 if obj.get("spec") != old.get("spec") else gen
        else:
            meta.pop("generation", None)
        meta["resourceVersion"] = old_meta["resourceVersion"]
        if obj == old:
            return None  # a no-op write keeps the resourceVersion, as the real API server does
        meta["resourceVersion"] = self._next_rv()
        return self._record("MODIFIED", key, ns, name, obj, old)

    def update(self, key: str, name: str, *, namespace: str = "", mutate: Callable[[Obj], Obj | None]) -> Obj:
        """Atomic read-modify-write: ``mutate`` gets a private copy, edits it in place or returns a new dict.

        Runs under the store lock, so it must be quick and must not call back into other threads. Raises
        NotFound when missing. A mutation that changes nothing does not bump the resourceVersion.
        """
        with self._lock:
            bucket = self._objects.get(key, {})
            old = bucket.get((namespace or "", name))
            if old is None:
                raise not_found(key, name)
            draft = _copy(old)
            result = mutate(draft)
            obj = _copy(result if result is not None else draft)
            obj.setdefault("metadata", {})
            ev = self._store_update(key, namespace or "", name, old, obj, check_rv=False)
        if ev is not None:
            self._notify(ev)
        return ev.obj if ev is not None else old

    def delete(self, key: str, name: str, *, namespace: str = "") -> Obj:
        """Remove an object and return it (with the deletion's resourceVersion). Raises NotFound."""
        ns = namespace or ""
        with self._lock:
            old = self._objects.get(key, {}).get((ns, name))
            if old is None:
                raise not_found(key, name)
            obj = dict(old)
            obj["metadata"] = {**old["metadata"], "resourceVersion": self._next_rv()}
            ev = self._record("DELETED", key, ns, name, obj, old)
        self._notify(ev)
        return obj

    def delete_all(self, key: str, *, namespace: str | None = None) -> ObjList:
        """Delete every object of ``key`` (in ``namespace``, or everywhere when None); returns them."""
        items, _ = self.list(key, namespace=namespace)
        deleted = []
        for o in items:
            ns, name = self._ns_name(o)
            try:
                deleted.append(self.delete(key, name, namespace=ns))
            except KubeError:
                continue
        return deleted

    # ----------------------------------------------------------------- watch support
    def poll(self, rv: int, *, keys: Iterable[str] | None = None) -> tuple[EventList, int]:
        """Events with resourceVersion > ``rv`` (of ``keys`` only, when given), oldest first, and the
        resourceVersion the answer is complete up to. Raises Gone when the log does not reach back, and the
        ``too_large`` error for a version this store has not reached.

        A watcher may resume from that second value even when no event matched, which keeps its later
        scans short and lets bookmarks carry a current resourceVersion without skipping a concurrent write.
        """
        wanted = set(keys) if keys is not None else None
        with self._lock:
            if rv > self._rv:
                raise too_large(rv, self._rv)
            if rv < self._compacted:
                raise gone(rv, self._compacted + 1)
            covered = self._rv
            out: EventList = []
            if rv < covered:
                for ev in reversed(self._events):
                    if ev.rv <= rv:
                        break
                    if wanted is None or ev.key in wanted:
                        out.append(ev)
        out.reverse()
        return out, covered

    def compact(self) -> None:
        """Drop the whole event log, as etcd compaction does: older watches then get 410 Gone."""
        with self._lock:
            self._events.clear()
            self._compacted = self._rv
            if self._file is not None:
                self._file.clear_events()


def generate_suffix(n: int = 5, *, rand: random.Random | None = None) -> str:
    """A Kubernetes-style random name suffix (no vowels, so no words)."""
    r = rand or random
    return "".join(r.choice(_SUFFIX_ALPHABET) for _ in range(n))


__all__ = [
    "Event",
    "Listener",
    "Matcher",
    "Obj",
    "Store",
    "already_exists",
    "conflict",
    "gone",
    "invalid",
    "not_found",
    "now_rfc3339",
    "resource_key",
    "state_busy",
    "status_body",
    "too_large",
    "generate_suffix",
]
