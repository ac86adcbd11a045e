"""Cached JSON of stored objects and of their Table rows, so big lists and watches stay cheap.

Stored objects are never mutated after a write and every write stores a new dict (see store.py), so an
encoding stays valid for as long as the stored instance is the same object; deletions drop their entries
through a store listener.
"""

from __future__ import annotations

from typing import Any

from tui.sandbox import tables
from tui.sandbox.api.wire import Target, dumps, present
from tui.sandbox.store import Obj

_AGE_MARK = "\x00age\x00"
_AGE_MARK_JSON = dumps(_AGE_MARK)


class Encoder:
    def __init__(self) -> None:
        self._encode_cache: dict[tuple[str, str, str, bool], tuple[Obj, str, bytes]] = {}
        self._row_cache: dict[tuple[str, str, str], tuple[Any, bytes, bytes]] = {}

    def encoded(self, t: Target, obj: Obj, *, meta_only: bool = False) -> bytes:
        """JSON of a stored object (or of its metadata), cached per stored instance."""
        meta = obj["metadata"]
        ident = (t.rt.key, meta.get("namespace") or "", meta["name"], meta_only)
        api_version = t.api_version
        hit = self._encode_cache.get(ident)
        if hit is not None and hit[0] is obj and hit[1] == api_version:
            return hit[2]
        data = dumps(meta) if meta_only else dumps(present(t, obj))
        self._encode_cache[ident] = (obj, api_version, data)
        return data

    def encoded_list(self, t: Target, items: list[Obj]) -> bytes:
        """The comma-joined JSON of many stored objects: :meth:`encoded` with its lookups hoisted, as a
        10,000-pod list spends most of its time here."""
        key, api_version, cache = t.rt.key, t.api_version, self._encode_cache
        out = []
        for obj in items:
            meta = obj["metadata"]
            hit = cache.get((key, meta.get("namespace") or "", meta["name"], False))
            if hit is not None and hit[0] is obj and hit[1] == api_version:
                out.append(hit[2])
            else:
                out.append(self.encoded(t, obj))
        return b",".join(out)

    def table_row(self, t: Target, obj: Obj, row: tables.Row, age_at: int | None) -> bytes:
        """One Table row as JSON. Rows are cached per resourceVersion with only the Age cell recomputed,
        as a 10,000-pod ``kubectl get pods -A`` would otherwise spend most of its time formatting cells."""
        meta = obj["metadata"]
        ident = (t.rt.key, meta.get("namespace") or "", meta["name"])
        version = meta.get("resourceVersion")
        if age_at is not None:
            hit = self._row_cache.get(ident)
            if hit is not None and hit[0] == version:
                return hit[1] + dumps(tables.human_age(meta.get("creationTimestamp"))) + hit[2]
        cells = row(present(t, obj))
        age = cells[age_at] if age_at is not None else None
        if age_at is not None:
            cells[age_at] = _AGE_MARK
        data = (
            b'{"cells":'
            + dumps(cells)
            + b',"object":{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":'
            + self.encoded(t, obj, meta_only=True)
            + b"}}"
        )
        if age_at is None:
            return data
        before, _, after = data.partition(_AGE_MARK_JSON)
        self._row_cache[ident] = (version, before, after)
        return before + dumps(age) + after

    def forget(self, event_type: str, key: str, obj: Obj) -> None:
        """Store listener: a deleted object's cached encodings go with it."""
        if event_type == "DELETED":
            meta = obj.get("metadata") or {}
            ns, name = meta.get("namespace") or "", meta.get("name", "")
            for meta_only in (False, True):
                self._encode_cache.pop((key, ns, name, meta_only), None)
            self._row_cache.pop((key, ns, name), None)
