"""``limit`` and ``continue`` on lists, as the apiserver pages them.

A paged list is a consistent snapshot: the first page records the full, filtered, sorted result at the list's
resourceVersion (references to stored objects, which are never mutated, so this is cheap), and the continue
token names that snapshot and the offset. Tokens are opaque to clients (base64 of a small JSON object). A
token whose snapshot is gone (older than ``TTL``, evicted, or from before a restart) or whose resourceVersion
the store has compacted away is answered 410 ``Expired``, with a fresh token for the rest of the list in the
Status, as the apiserver does; a token that does not decode is a 400.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from tui.sandbox.api.wire import ApiError, bad_request
from tui.sandbox.store import Obj, status_body

TTL = 300.0  # the apiserver's tokens last until etcd compacts, every 5 minutes by default
MAX_SNAPSHOTS = 64


@dataclass
class Page:
    items: list[Obj]
    continue_token: str
    remaining: int | None


@dataclass
class _Snapshot:
    ident: int
    server: str
    scope: str
    rv: str
    items: list[Obj]
    made: float


def _key(obj: Obj) -> list[str]:
    meta = obj["metadata"]
    return [meta.get("namespace") or "", meta["name"]]


def _encode(token: dict[str, object]) -> str:
    raw = json.dumps(token, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(token: str) -> dict[str, object]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError) as err:
        raise bad_request(f"invalid continue token: continue key is not valid: {err}") from err
    start = value.get("start") if isinstance(value, dict) else None
    if (
        not isinstance(value, dict)
        or value.get("v") != "meta.k8s.io/v1"
        or not all(isinstance(value.get(k), int) and value[k] >= 0 for k in ("rv", "id", "at"))
        or not isinstance(value.get("scope"), str)
        or not (isinstance(start, list) and len(start) == 2 and all(isinstance(p, str) for p in start))
    ):
        raise bad_request("invalid continue token: continue key is not valid: not a continue token")
    return value


def parse_limit(raw: str | None) -> int:
    if not raw:
        return 0
    if not raw.isdigit():
        raise bad_request(f'limit: Invalid value: "{raw}": must be a non-negative integer')
    return int(raw)


class Pager:
    def __init__(self) -> None:
        self._snapshots: OrderedDict[int, _Snapshot] = OrderedDict()
        self._ids = itertools.count(1)
        self._server = secrets.token_hex(4)  # tokens from an earlier server (a restart) never match
        self._lock = threading.Lock()

    def first(self, *, scope: str, rv: str, items: list[Obj], limit: int) -> Page:
        if not limit or len(items) <= limit:
            return Page(items, "", None)
        return _slice(self._remember(scope, rv, items), 0, limit)

    def next(
        self,
        *,
        scope: str,
        token: str,
        limit: int,
        oldest_rv: int,
        relist: Callable[[], tuple[list[Obj], str]],
    ) -> tuple[Page, str]:
        """The page after ``token`` and its snapshot's resourceVersion; raises 410 Expired when it is gone."""
        value = _decode(token)
        if value["scope"] != scope:
            raise bad_request("invalid continue token: continue key is not valid: it belongs to another list")
        now = time.monotonic()
        with self._lock:
            for old in [i for i, s in self._snapshots.items() if now - s.made > TTL]:
                del self._snapshots[old]
            snap = self._snapshots.get(int(str(value["id"]))) if value.get("srv") == self._server else None
        start = cast(list[str], value["start"])
        if snap is None or int(str(value["rv"])) < oldest_rv:
            items, current = relist()
            rest = [o for o in items if _key(o) > start]
            fresh = self._remember(scope, current, rest)
            raise _expired(_encode(_token(fresh, at=0, start=start)))
        return _slice(snap, int(str(value["at"])), limit or len(snap.items)), snap.rv

    def _remember(self, scope: str, rv: str, items: list[Obj]) -> _Snapshot:
        with self._lock:
            snap = _Snapshot(
                next(self._ids), server=self._server, scope=scope, rv=rv, items=items, made=time.monotonic()
            )
            self._snapshots[snap.ident] = snap
            while len(self._snapshots) > MAX_SNAPSHOTS:
                self._snapshots.popitem(last=False)
        return snap


def _token(snap: _Snapshot, *, at: int, start: list[str]) -> dict[str, object]:
    return {
        "v": "meta.k8s.io/v1",
        "rv": int(snap.rv),
        "id": snap.ident,
        "srv": snap.server,
        "at": at,
        "start": start,
        "scope": snap.scope,
    }


def _slice(snap: _Snapshot, offset: int, limit: int) -> Page:
    end = offset + limit
    items = snap.items[offset:end]
    if end >= len(snap.items) or not items:
        return Page(items, "", None)
    return Page(items, _encode(_token(snap, at=end, start=_key(items[-1]))), len(snap.items) - end)


def _expired(token: str) -> ApiError:
    msg = (
        "The provided continue parameter is too old to display a consistent list result. Start a new list "
        "without it, or use the continue token in this Status for the rest of the list, which may then be "
        "inconsistent (objects changed since the first page may appear in it)."
    )
    body = status_body(410, "Expired", msg)
    body["metadata"] = {"continue": token}
    return ApiError(msg, code=410, reason="Expired", status=body)
