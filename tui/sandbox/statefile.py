"""The sandbox's sqlite state file (``sandbox serve --state F``): one process at a time, whole writes only.

The store applies a write in memory only after this file has taken it, so a write the file refuses (another
process holds a lock on it) changes nothing and the next one starts clean. The file is ``flock``ed for as
long as it is open: a second sandbox on the same file would otherwise overwrite the first one's writes.
Rows may have been edited by hand; the ones that cannot be objects are skipped with a warning naming them.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui.errors import ConfigError
from tui.sandbox.jsonfast import dumps

BUSY_TIMEOUT = 0.25  # seconds a write waits for another process's lock, with the store lock held

log = logging.getLogger(__name__)


@dataclass
class Loaded:
    """What a state file held: rows of ``(key, ns, name, obj)`` and events ``(rv, type, key, obj)``, oldest
    first and unbroken (the log is cut at the newest unreadable event)."""

    rv: int = 0
    meta: dict[str, str] = field(default_factory=dict)
    objects: list[tuple[str, str, str, dict[str, Any]]] = field(default_factory=list)
    events: list[tuple[int, str, str, dict[str, Any]]] = field(default_factory=list)


class StateFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        self._refusing = False  # a run of refused writes is logged once, and so is its end
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))  # it holds the token and TLS key
        self._lock_fd: int | None = os.open(path, os.O_RDONLY)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.close()
            raise ConfigError(
                f"the sandbox state file {path} is in use by another sandbox",
                hint="stop that sandbox first, or pass another --state path",
            ) from None
        try:
            self._db = db = sqlite3.connect(
                str(path), check_same_thread=False, isolation_level=None, timeout=BUSY_TIMEOUT
            )
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
        except sqlite3.Error:
            self.close()
            raise

    def load(self, *, history: int) -> Loaded:
        assert self._db is not None
        db, out = self._db, Loaded()
        row = db.execute("SELECT v FROM meta WHERE k = 'rv'").fetchone()
        out.rv = int(row[0]) if row else 0
        out.meta = {k[2:]: v for k, v in db.execute("SELECT k, v FROM meta WHERE k LIKE 'x:%'")}
        for key, ns, name, body in db.execute("SELECT key, ns, name, body FROM objects"):
            obj = _loads(body)
            problem = _row_problem(obj, str(ns), str(name))
            if problem:
                log.warning("state file %s: skipping the %s row %s/%s: %s", self.path, key, ns, name, problem)
                continue
            out.objects.append((key, ns, name, obj))
        rows = db.execute("SELECT rv, type, key, body FROM events ORDER BY rv DESC LIMIT ?", (history,))
        for rv, type_, key, body in rows.fetchall():
            obj = _loads(body)
            meta = obj.get("metadata") if isinstance(obj, dict) else None
            if (
                type_ not in ("ADDED", "MODIFIED", "DELETED")
                or not isinstance(meta, dict)
                or _row_problem(obj, str(meta.get("namespace") or ""), str(meta.get("name")))
            ):
                log.warning("state file %s: the event log is cut at the unreadable event %s", self.path, rv)
                break
            out.events.append((rv, type_, key, obj))
        out.events.reverse()
        return out

    def write(self, *, rv: int, type_: str, key: str, ns: str, name: str, obj: Any, history: int) -> None:
        """Store one write, all or nothing; raises sqlite3.Error (rolled back) when the file refuses it."""
        db = self._db
        if db is None:
            return
        body = dumps(obj).decode()
        try:
            db.execute("BEGIN IMMEDIATE")
            if type_ == "DELETED":
                db.execute("DELETE FROM objects WHERE key=? AND ns=? AND name=?", (key, ns, name))
            else:
                db.execute("INSERT OR REPLACE INTO objects VALUES (?,?,?,?)", (key, ns, name, body))
            db.execute("INSERT OR REPLACE INTO events VALUES (?,?,?,?)", (rv, type_, key, body))
            db.execute("INSERT OR REPLACE INTO meta VALUES ('rv', ?)", (str(rv),))
            if rv % 1000 == 0:
                db.execute("DELETE FROM events WHERE rv <= ?", (rv - history,))
            db.execute("COMMIT")
        except sqlite3.Error as err:
            if db.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
            if not self._refusing:
                log.warning(
                    "state file %s refuses writes (%s); they are answered 503 until it frees", self.path, err
                )
            self._refusing = True
            raise
        if self._refusing:
            self._refusing = False
            log.warning("state file %s takes writes again", self.path)

    def set_meta(self, name: str, value: str) -> None:
        if self._db is not None:
            self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (f"x:{name}", value))

    def clear_events(self) -> None:
        if self._db is None:
            return
        try:
            self._db.execute("DELETE FROM events")
        except sqlite3.Error as err:
            log.warning("sandbox state file %s: the event log was not compacted: %s", self.path, err)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._lock_fd is not None:
            os.close(
                self._lock_fd
            )  # after sqlite: closing a descriptor drops this process's locks on the file
            self._lock_fd = None


def _loads(body: str) -> Any:
    try:
        return json.loads(body)
    except (TypeError, ValueError):
        return None


def _row_problem(obj: Any, ns: str, name: str) -> str | None:
    """Why a stored row cannot be an object, or None."""
    if not isinstance(obj, dict):
        return f"it is {type(obj).__name__}, not an object"
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        return "it has no metadata"
    for key in ("name", "uid", "creationTimestamp"):
        if not isinstance(meta.get(key), str) or not meta[key]:
            return f"metadata.{key} is missing or not a string"
    if not str(meta.get("resourceVersion", "")).isdigit():
        return "metadata.resourceVersion is not a number"
    if (meta["name"], str(meta.get("namespace") or "")) != (name, ns):
        return "its metadata does not match its row"
    return None
