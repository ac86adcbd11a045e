"""Server-side apply and ``managedFields``: who owns which field, conflicts, and the apply merge.

Field sets are sets of paths in the API server's ``fieldsV1`` spelling (``f:spec``, ``k:{"name":"web"}`` for
an item of a keyed list, ``v:"x"`` for a set member). Every write records its manager: an update owns what it
changed, an apply owns exactly what its configuration names. An apply fails with 409 when it would change a
field another manager owns, unless forced, and drops the fields its manager no longer applies (when nobody
else owns them). Lists merge by their keys (``x-kubernetes-list-map-keys`` or the patch merge key), sets by
value, anything else is replaced whole, as the schema says.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from tui.errors import Conflict
from tui.sandbox.schema import FREE, Shape, shape
from tui.sandbox.store import Obj, now_rfc3339, status_body

Path = tuple[str, ...]
_MISSING = object()
_UNTRACKED_META = frozenset(
    {
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "managedFields",
        "selfLink",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
    }
)


_FREE = shape(FREE)
_PLAIN = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]*")  # printable ASCII but quote and backslash


def _key(item: Obj, keys: tuple[str, ...]) -> str:
    fields = {k: item[k] for k in sorted(keys) if k in item}
    if all(type(v) is int or (type(v) is str and _PLAIN.fullmatch(v)) for v in fields.values()):
        # what json.dumps writes for these (the common case: a name, a port), without its overhead
        inner = ",".join(f'"{k}":{v}' if type(v) is int else f'"{k}":"{v}"' for k, v in fields.items())
        return "k:{" + inner + "}"
    return "k:" + json.dumps(fields, sort_keys=True, separators=(",", ":"))


def _collect(v: Any, sh: Shape, prefix: Path, out: set[Path]) -> None:
    if isinstance(v, dict) and not sh.atomic_map:
        if not v or (not sh.props and prefix):
            out.add(prefix)  # an empty object, or a map (rather than a struct) is itself a member
        for k, x in v.items():
            if isinstance(x, dict | list):
                _collect(x, sh.sub(k) or _FREE, (*prefix, f"f:{k}"), out)
            else:
                out.add((*prefix, f"f:{k}"))  # a scalar is a member whatever its schema
        return
    if isinstance(v, list) and v:
        if sh.list_kind == "map" and sh.keys and all(isinstance(i, dict) for i in v):
            for item in v:
                path = (*prefix, _key(item, sh.keys))
                out.add(path)
                _collect(item, sh.item, path, out)
            return
        if sh.list_kind == "set":
            out.update((*prefix, "v:" + json.dumps(x, sort_keys=True, separators=(",", ":"))) for x in v)
            return
    out.add(prefix)


def field_set(obj: Obj, schema: Obj) -> set[Path]:
    """The paths ``obj`` sets, minus the ones the API server never tracks (name, uid, resourceVersion...)."""
    out: set[Path] = set()
    _collect(obj, shape(schema), (), out)
    return {
        p
        for p in out
        if p
        and p[0] not in ("f:apiVersion", "f:kind")
        and not (p[0] == "f:metadata" and (len(p) == 1 or p[1][2:] in _UNTRACKED_META))
    }


def _get(obj: Any, path: Path) -> Any:
    cur = obj
    for el in path:
        kind, body = el[:1], el[2:]
        if kind == "f":
            if not isinstance(cur, dict) or body not in cur:
                return _MISSING
            cur = cur[body]
        elif kind == "k":
            want = json.loads(body)
            if not isinstance(cur, list):
                return _MISSING
            cur = next(
                (i for i in cur if isinstance(i, dict) and all(i.get(k) == x for k, x in want.items())),
                _MISSING,
            )
            if cur is _MISSING:
                return cur
        else:
            value = json.loads(body)
            if not isinstance(cur, list) or value not in cur:
                return _MISSING
            cur = value
    return cur


def _remove(obj: Any, path: Path) -> None:
    parent = _get(obj, path[:-1])
    last = path[-1]
    kind, body = last[:1], last[2:]
    if kind == "f" and isinstance(parent, dict):
        parent.pop(body, None)
    elif kind == "k" and isinstance(parent, list):
        want = json.loads(body)
        parent[:] = [
            i for i in parent if not (isinstance(i, dict) and all(i.get(k) == x for k, x in want.items()))
        ]
    elif kind == "v" and isinstance(parent, list):
        value = json.loads(body)
        parent[:] = [i for i in parent if i != value]


def _prune_empty(obj: Any, path: Path, kept: set[Path]) -> None:
    """Drop containers a removal left empty, up to the first one that is still owned or non-empty."""
    while path and path not in kept and _get(obj, path) in ({}, []):
        _remove(obj, path)
        path = path[:-1]


def merge(live: Any, config: Any, node: Obj) -> Any:
    """``config`` over ``live`` by the schema: granular maps and keyed lists merge, the rest is replaced."""
    sh = shape(node)
    if isinstance(config, dict) and isinstance(live, dict) and not sh.atomic_map:
        out = dict(live)
        for k, x in config.items():
            out[k] = merge(live.get(k), x, sh.child(k) or FREE)
        return out
    if isinstance(config, list) and isinstance(live, list):
        if sh.list_kind == "map" and sh.keys:
            merged = list(live)
            for item in config:
                at = next(
                    (
                        i
                        for i, cur in enumerate(merged)
                        if isinstance(item, dict)
                        and isinstance(cur, dict)
                        and all(cur.get(k) == item.get(k) for k in sh.keys if k in item)
                    ),
                    None,
                )
                if at is None:
                    merged.append(copy.deepcopy(item))
                else:
                    merged[at] = merge(merged[at], item, sh.items)
            return merged
        if sh.list_kind == "set":
            return [*live, *(copy.deepcopy(x) for x in config if x not in live)]
    return copy.deepcopy(config)


# ---------------------------------------------------------------------- managedFields entries
def _encode(paths: set[Path]) -> Obj:
    tree: Obj = {}
    for p in sorted(paths):
        node = tree
        for el in p:
            node = node.setdefault(el, {})
    for p in paths:  # a member that also has members below it is marked with "."
        node = tree
        for el in p:
            node = node[el]
        if node and "." not in node:
            node["."] = {}
    return tree


def _decode(tree: Any, prefix: Path = ()) -> set[Path]:
    out: set[Path] = set()
    if not isinstance(tree, dict):
        return out
    for k, sub in tree.items():
        if k == ".":
            out.add(prefix)
        elif isinstance(sub, dict) and sub:
            out |= _decode(sub, (*prefix, k))
        else:
            out.add((*prefix, k))
    return out


class Entry:
    __slots__ = ("api_version", "manager", "operation", "paths", "subresource", "time")

    def __init__(self, raw: Obj) -> None:
        self.manager = str(raw.get("manager") or "")
        self.operation = str(raw.get("operation") or "Update")
        self.api_version = str(raw.get("apiVersion") or "")
        self.subresource = str(raw.get("subresource") or "")
        self.time = raw.get("time")
        self.paths = _decode(raw.get("fieldsV1"))

    def same(self, manager: str, operation: str, api_version: str, subresource: str) -> bool:
        if (self.manager, self.operation, self.subresource) != (manager, operation, subresource):
            return False
        return operation == "Apply" or self.api_version == api_version

    def describe(self) -> str:
        """How a conflict names this manager, as the API server prints it."""
        who = json.dumps(self.manager)
        if self.subresource:
            who += f' with subresource "{self.subresource}"'
        return f"{who} using {self.api_version}" if self.operation == "Update" else who

    def dump(self) -> Obj:
        out: Obj = {"manager": self.manager, "operation": self.operation, "apiVersion": self.api_version}
        out["time"] = self.time
        out["fieldsType"] = "FieldsV1"
        out["fieldsV1"] = _encode(self.paths)
        if self.subresource:
            out["subresource"] = self.subresource
        return out


def _entries(obj: Obj | None) -> list[Entry]:
    raw = ((obj or {}).get("metadata") or {}).get("managedFields") or []
    return [Entry(e) for e in raw if isinstance(e, dict)]


def _store(obj: Obj, entries: list[Entry]) -> None:
    kept = [e.dump() for e in entries if e.paths]
    meta = obj.setdefault("metadata", {})
    if kept:
        meta["managedFields"] = kept
    else:
        meta.pop("managedFields", None)


def _own(entries: list[Entry], manager: str, operation: str, api_version: str, subresource: str) -> Entry:
    for e in entries:
        if e.same(manager, operation, api_version, subresource):
            e.api_version, e.time = api_version, now_rfc3339()
            return e
    e = Entry(
        {"manager": manager, "operation": operation, "apiVersion": api_version, "subresource": subresource}
    )
    e.time = now_rfc3339()
    entries.append(e)
    return e


def record_update(
    old: Obj | None, new: Obj, schema: Obj, *, manager: str, api_version: str, subresource: str = ""
) -> None:
    """Give ``manager`` (an Update) the fields this write changed; write the entries into ``new``."""
    entries = _entries(old)
    before = field_set(old, schema) if old else set()
    after = field_set(new, schema)
    if old is None:
        changed = after
    else:
        parents = {p[:i] for p in after for i in range(1, len(p))}
        changed = {p for p in after if p not in before or (p not in parents and _get(old, p) != _get(new, p))}
    gone = before - after
    for e in entries:
        e.paths -= gone
    if changed:
        for e in entries:
            if not e.same(manager, "Update", api_version, subresource):
                e.paths -= changed
        _own(entries, manager, "Update", api_version, subresource).paths |= changed
    _store(new, entries)


def apply(
    live: Obj | None,
    config: Obj,
    schema: Obj,
    *,
    manager: str,
    api_version: str,
    force: bool,
    subresource: str = "",
) -> Obj:
    """The object after ``manager`` applies ``config`` to ``live`` (None: create); 409 on conflicts."""
    entries = _entries(live)
    applied = field_set(config, schema)
    parents = {p[:i] for p in applied for i in range(1, len(p))}
    mine = next((e for e in entries if e.same(manager, "Apply", api_version, subresource)), None)
    result = merge(live, config, schema) if live is not None else copy.deepcopy(config)
    conflicts: list[tuple[Entry, Path]] = []
    if live is not None:
        for e in entries:
            if e is mine:
                continue
            for p in sorted(e.paths & applied):
                if p not in parents and _get(result, p) != _get(live, p):
                    conflicts.append((e, p))
    if conflicts and not force:
        raise _conflict_error(conflicts)
    for e, p in conflicts:
        e.paths.discard(p)
    if mine is not None:
        kept = applied.union(*(e.paths for e in entries if e is not mine))
        kept_prefixes = {p[:i] for p in kept for i in range(1, len(p) + 1)}
        for p in sorted(mine.paths - applied, key=len):
            if p not in kept_prefixes:
                _remove(result, p)
                _prune_empty(result, p[:-1], kept_prefixes)
    _own(entries, manager, "Apply", api_version, subresource).paths = applied
    _store(result, entries)
    return result


def path_string(path: Path) -> str:
    """``.spec.template.spec.containers[name="web"].image``, the API server's spelling of a field path."""
    out = ""
    for el in path:
        kind, body = el[:1], el[2:]
        if kind == "f":
            out += f".{body}"
        elif kind == "k":
            out += "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in json.loads(body).items()) + "]"
        else:
            out += f"[={body}]"
    return out


def _conflict_error(conflicts: list[tuple[Entry, Path]]) -> Conflict:
    if len(conflicts) == 1:
        e, p = conflicts[0]
        message = f"Apply failed with 1 conflict: conflict with {e.describe()}: {path_string(p)}"
    else:
        lines: list[str] = []
        by_manager: dict[str, list[Path]] = {}
        for e, p in conflicts:
            by_manager.setdefault(e.describe(), []).append(p)
        for who in sorted(by_manager):
            lines.append(f"conflicts with {who}:")
            lines.extend(f"- {path_string(p)}" for p in by_manager[who])
        message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    causes = [
        {"type": "FieldManagerConflict", "message": f"conflict with {e.describe()}", "field": path_string(p)}
        for e, p in conflicts
    ]
    return Conflict(
        message, code=409, reason="Conflict", status=status_body(409, "Conflict", message, causes=causes)
    )
