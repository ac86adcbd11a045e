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

import contextlib
import fcntl
import json
import logging
import os
import random
import sqlite3
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from tui.errors import ConfigError, Conflict, Gone, Invalid, KubeError, NotFound

Obj = dict[str, Any]
ObjList = list[Obj]
Listener = Callable[[str, str, Obj], None]
Admission = Callable[[str, str, Obj, "Obj | None"], None]

log = logging.getLogger(__name__)

BUSY_TIMEOUT = 0.25  # seconds a write waits for another process's lock on the state file, store lock held
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


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def status_body(
    code: int,
    reason: str,
    message: str,
    *,
    name: str = "",
    kind: str = "",
    causes: list[dict[str, str]] | None = None,
) -> Obj:
    """A Kubernetes ``Status`` failure body."""
    body: Obj = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    details: Obj = {}
    if name:
        details["name"] = name
    if kind:
        details["kind"] = kind
    if causes:
        details["causes"] = causes
    if details:
        body["details"] = details
    return body


def not_found(key: str, name: str) -> NotFound:
    msg = f'{key} "{name}" not found'
    return NotFound(
        msg, code=404, reason="NotFound", status=status_body(404, "NotFound", msg, name=name, kind=key)
    )


def already_exists(key: str, name: str) -> Conflict:
    msg = f'{key} "{name}" already exists'
    return Conflict(
        msg,
        code=409,
        reason="AlreadyExists",
        status=status_body(409, "AlreadyExists", msg, name=name, kind=key),
    )


def conflict(key: str, name: str) -> Conflict:
    msg = (
        f'Operation cannot be fulfilled on {key} "{name}": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )
    return Conflict(
        msg, code=409, reason="Conflict", status=status_body(409, "Conflict", msg, name=name, kind=key)
    )


def invalid(key: str, name: str, kind: str, causes: list[dict[str, str]]) -> Invalid:
    detail = ", ".join(f"{c.get('field', '')}: {c.get('message', '')}" for c in causes)
    msg = f'{kind} "{name}" is invalid: {detail}'
    return Invalid(
        msg,
        code=422,
        reason="Invalid",
        status=status_body(422, "Invalid", msg, name=name, kind=key, causes=causes),
    )


def gone(rv: int, oldest: int) -> Gone:
    msg = f"too old resource version: {rv} ({oldest})"
    return Gone(msg, code=410, reason="Expired", status=status_body(410, "Expired", msg))


def too_large(rv: int, current: int) -> KubeError:
    """The API server's answer to a resourceVersion it has not reached (e.g. one from before a restart
    that lost the state): a 504 ``Timeout`` whose cause ``ResourceVersionTooLarge`` tells clients to list
    again. The real server first waits up to 3 s for its watch cache to catch up; our store is the source of
    truth and never lags, so it answers at once.
    """
    msg = f"Timeout: Too large resource version: {rv}, current: {current}"
    causes = [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}]
    status = status_body(504, "Timeout", msg, causes=causes)
    status["details"]["retryAfterSeconds"] = 1
    return KubeError(msg, code=504, reason="Timeout", status=status)


def state_busy(err: sqlite3.Error) -> KubeError:
    """A write the state file refused (another process holds a lock on it): nothing was changed, and
    clients such as client-go retry by themselves after ``Retry-After``."""
    msg = f"the sandbox state file refused the write ({err}); nothing was changed, retry shortly"
    status = status_body(503, "ServiceUnavailable", msg)
    status.setdefault("details", {})["retryAfterSeconds"] = 1
    return KubeError(msg, code=503, reason="ServiceUnavailable", status=status)


def _row_problem(obj: Any, ns: str, name: str) -> str | None:
    """Why a stored row cannot be an object (rows may have been edited by hand), or None."""
    if not isinstance(obj, dict):
        return f"it is {type(obj).__name__}, not an object"
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        return "it has no metadata"
    for field in ("name", "uid", "creationTimestamp"):
        if not isinstance(meta.get(field), str) or not meta[field]:
            return f"metadata.{field} is missing or not a string"
    if not str(meta.get("resourceVersion", "")).isdigit():
        return "metadata.resourceVersion is not a number"
    if (meta["name"], str(meta.get("namespace") or "")) != (name, ns):
        return "its metadata does not match its row"
    return None


def _loads(body: str) -> Any:
    try:
        return json.loads(body)
    except (TypeError, ValueError):
        return None


def _copy(obj: Obj) -> Obj:
    """Deep copy through JSON: faster than copy.deepcopy and proves the object is storable."""
    result: Obj = json.loads(json.dumps(obj))
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
        self._events: deque[Event] = deque(maxlen=history)
        self._history = history
        self._rv = 0
        self._compacted = 0  # events with rv <= this are no longer in the log
        self._listeners: list[Listener] = []
        self._admissions: list[Admission] = []
        self._meta: dict[str, str] = {}
        self._rand = random.Random(seed)
        self._seeded = seed is not None
        self._db: sqlite3.Connection | None = None
        self._lock_fd: int | None = None
        if state_file is not None:
            try:
                self._open_db(Path(state_file))
            except (sqlite3.DatabaseError, OSError, ValueError, KeyError) as err:
                self.close()
                raise ConfigError(
                    f"cannot use {state_file} as the sandbox state file: {err}",
                    hint="pass another --state path or delete the file",
                ) from err

    # ----------------------------------------------------------------- persistence
    def _open_db(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))  # it holds the token and TLS key
        self._lock_fd = os.open(path, os.O_RDONLY)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            self._lock_fd = None
            raise ConfigError(
                f"the sandbox state file {path} is in use by another sandbox",
                hint="stop that sandbox first, or pass another --state path",
            ) from None
        db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=BUSY_TIMEOUT)
        self._db = db
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=OFF")
        db.execute("CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)")
        db.execute(
            "CREATE TABLE IF NOT EXISTS objects (key TEXT, ns TEXT, name TEXT, body TEXT NOT NULL,"
            " PRIMARY KEY (key, ns, name))"
        )
        db.execute(
            "CREATE TABLE IF NOT EXISTS events (rv INTEGER PRIMARY KEY, type TEXT, key TEXT, body TEXT)"
        )
        row = db.execute("SELECT v FROM meta WHERE k = 'rv'").fetchone()
        self._rv = int(row[0]) if row else 0
        for k, v in db.execute("SELECT k, v FROM meta WHERE k LIKE 'x:%'"):
            self._meta[k[2:]] = v
        for key, ns, name, body in db.execute("SELECT key, ns, name, body FROM objects"):
            obj = _loads(body)
            problem = _row_problem(obj, str(ns), str(name))
            if problem:
                log.warning("state file %s: skipping the %s row %s/%s: %s", path, key, ns, name, problem)
                continue
            self._objects.setdefault(key, {})[(ns, name)] = obj
        rows = db.execute(
            "SELECT rv, type, key, body FROM events ORDER BY rv DESC LIMIT ?", (self._history,)
        ).fetchall()
        loaded: list[Event] = []
        for rv, type_, key, body in rows:
            obj = _loads(body)
            meta = obj.get("metadata") if isinstance(obj, dict) else None
            if (
                type_ not in ("ADDED", "MODIFIED", "DELETED")
                or not isinstance(meta, dict)
                or _row_problem(obj, str(meta.get("namespace") or ""), str(meta.get("name")))
            ):
                log.warning("state file %s: the event log is cut at the unreadable event %s", path, rv)
                break
            loaded.append(Event(rv, type_, key, obj))
        self._events.extend(reversed(loaded))
        self._compacted = self._events[0].rv - 1 if self._events else self._rv

    def _persist(self, ev: Event, ns: str, name: str) -> None:
        """Write one event to the state file, all or nothing; a refused write raises :func:`state_busy`."""
        db = self._db
        if db is None:
            return
        body = json.dumps(ev.obj)
        try:
            db.execute("BEGIN IMMEDIATE")
            if ev.type == "DELETED":
                db.execute("DELETE FROM objects WHERE key=? AND ns=? AND name=?", (ev.key, ns, name))
            else:
                db.execute("INSERT OR REPLACE INTO objects VALUES (?,?,?,?)", (ev.key, ns, name, body))
            db.execute("INSERT OR REPLACE INTO events VALUES (?,?,?,?)", (ev.rv, ev.type, ev.key, body))
            db.execute("INSERT OR REPLACE INTO meta VALUES ('rv', ?)", (str(ev.rv),))
            if ev.rv % 1000 == 0:
                db.execute("DELETE FROM events WHERE rv <= ?", (ev.rv - self._history,))
            db.execute("COMMIT")
        except sqlite3.Error as err:
            if db.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
            log.warning("sandbox state file: write refused: %s", err)
            raise state_busy(err) from err

    def close(self) -> None:
        """Close the sqlite mirror, if any. The in-memory state stays readable."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
            if self._lock_fd is not None:
                os.close(self._lock_fd)  # after sqlite: closing a descriptor drops this process's locks
                self._lock_fd = None

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
            if self._db is not None:
                self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (f"x:{name}", value))

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
        self._persist(ev, ns, name)
        self._rv = ev.rv
        if type_ == "DELETED":
            self._objects.get(key, {}).pop((ns, name), None)
        else:
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
            if namespace is None:
                pairs = sorted(bucket.items())
            else:
                pairs = sorted((k, v) for k, v in bucket.items() if k[0] == namespace)
        items = [v for _, v in pairs]
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
    def create(self, key: str, obj: Obj) -> Obj:
        """Store a new object: fills uid, creationTimestamp, resourceVersion, generation and generateName.

        Raises NotFound when the object's namespace does not exist, Conflict(AlreadyExists) for a taken name,
        Invalid when neither name nor generateName is given.
        """
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

    def replace(self, key: str, obj: Obj, *, check_rv: bool = True) -> Obj:
        """Replace a whole object, keeping uid and creationTimestamp.

        When ``check_rv`` and the body carries a resourceVersion that is not the stored one, raise
        Conflict (reason Conflict). ``generation`` goes up by one when ``spec`` changed.
        """
        obj = _copy(obj)
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
    def events_since(self, rv: int, *, keys: Iterable[str] | None = None) -> EventList:
        """Events with resourceVersion > ``rv``, oldest first; raises Gone when the log does not reach back,
        and the ``too_large`` error for a version this store has not reached.

        ``keys`` limits the result to those resource keys.
        """
        return self.poll(rv, keys=keys)[0]

    def poll(self, rv: int, *, keys: Iterable[str] | None = None) -> tuple[EventList, int]:
        """Like :meth:`events_since`, plus the resourceVersion the answer is complete up to.

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
            if self._db is not None:
                try:
                    self._db.execute("DELETE FROM events")
                except sqlite3.Error as err:
                    log.warning("sandbox state file: the event log was not compacted: %s", err)


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
    "status_body",
    "too_large",
    "generate_suffix",
]
