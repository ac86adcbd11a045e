"""Walking a kind's OpenAPI v3 schema: the root schema of a type, ``$ref``/``allOf`` resolution, children.

Validation, pruning and server-side apply all need the same answers ("what is the schema of this field",
"is this list keyed, a set or atomic"), for built-in kinds (the generated 1.32 schemas) and for custom
resources (the CRD's ``openAPIV3Schema``) alike, so they live here once.
"""

from __future__ import annotations

from typing import Any

from tui.sandbox import catalogue
from tui.sandbox.openapi import REF_PREFIX, custom_schema
from tui.sandbox.resources import ResourceType

Obj = dict[str, Any]
FREE: Obj = {"x-kubernetes-preserve-unknown-fields": True}


def root_schema(rt: ResourceType, version: str, crd: Obj | None) -> Obj | None:
    """The schema of a whole object of ``rt`` at ``version``; None for a built-in without one."""
    if not rt.builtin:
        return custom_schema(rt, version, crd)
    name = catalogue.schema_for_kind().get((rt.group, version, rt.kind))
    return catalogue.schemas()[name] if name else None


_MEMO_LIMIT = 200_000
_memo: dict[tuple[int, str], tuple[Obj, Any]] = {}


def memo(node: Obj, what: str, compute: Any) -> Any:
    """``compute()`` cached per schema node, which is never mutated once built; the hot write path (a pod
    create walks some forty nodes) would otherwise spend most of its time re-resolving the same refs."""
    hit = _memo.get((id(node), what))
    if hit is not None and hit[0] is node:
        return hit[1]
    value = compute()
    if len(_memo) > _MEMO_LIMIT:
        _memo.clear()
    _memo[(id(node), what)] = (node, value)  # holding node keeps its id from being reused
    return value


def deref(node: Any) -> Obj:
    """``node`` with its ``$ref`` (or a lone ``$ref`` in ``allOf``) followed; its own keys win."""
    if not isinstance(node, dict):
        return {}
    hit = _memo.get((id(node), "$ref"))
    if hit is not None and hit[0] is node:
        return hit[1]
    return memo(node, "$ref", lambda: _deref(node))


def _deref(node: Obj) -> Obj:
    ref = node.get("$ref")
    if ref is None:
        all_of = node.get("allOf")
        if (
            isinstance(all_of, list)
            and len(all_of) == 1
            and isinstance(all_of[0], dict)
            and "$ref" in all_of[0]
        ):
            ref = all_of[0]["$ref"]
    if not isinstance(ref, str) or not ref.startswith(REF_PREFIX):
        return node
    target = catalogue.schemas().get(ref[len(REF_PREFIX) :], {})
    extra = {k: v for k, v in node.items() if k not in ("$ref", "allOf", "description")}
    return {**target, **extra} if extra else target


class Shape:
    """What the write path needs of one schema node, worked out once: declared fields (dereferenced), the
    value type(s), how a list merges and whether unknown fields are kept."""

    __slots__ = (
        "_extra_shape",
        "_item_shape",
        "_kids",
        "atomic_map",
        "declared",
        "default",
        "embedded",
        "exact",
        "extra",
        "items",
        "keys",
        "list_kind",
        "node",
        "preserve",
        "props",
        "types",
    )

    def __init__(self, node: Obj) -> None:
        self.node = node
        props = node.get("properties")
        self.props: dict[str, Obj] = (
            {k: deref(v) for k, v in props.items()} if isinstance(props, dict) else {}
        )
        extra = node.get("additionalProperties")
        self.extra: Obj | None = deref(extra) if isinstance(extra, dict) else None
        self.declared = isinstance(props, dict) or self.extra is not None
        self.preserve = bool(node.get("x-kubernetes-preserve-unknown-fields"))
        self.embedded = bool(node.get("x-kubernetes-embedded-resource"))
        self.atomic_map = node.get("x-kubernetes-map-type") == "atomic"
        self.items: Obj = deref(node["items"]) if isinstance(node.get("items"), dict) else {}
        self.list_kind, self.keys = _list_type(node)
        self.types = _types(node)
        self.exact = frozenset(c for t in self.types for c in JSON_CLASSES.get(t, ()))
        self.default = {k: sub["default"] for k, sub in self.props.items() if "default" in sub}
        self._kids: dict[str, Shape] = {}
        self._extra_shape: Shape | None = None
        self._item_shape: Shape | None = None

    def child(self, key: str) -> Obj | None:
        """The schema of field ``key``; None when undeclared."""
        found = self.props.get(key)
        return found if found is not None else self.extra

    def sub(self, key: str) -> Shape | None:
        """The Shape of field ``key``; None when undeclared. Kept per field (child Shapes are worked out
        lazily, as schemas recurse), so the write path's walks skip the memo lookups."""
        hit = self._kids.get(key)
        if hit is not None:
            return hit
        node = self.props.get(key)
        if node is not None:
            hit = self._kids[key] = shape(node)
            return hit
        if self.extra is None:
            return None
        if self._extra_shape is None:
            self._extra_shape = shape(self.extra)
        return self._extra_shape

    @property
    def item(self) -> Shape:
        """The Shape of a list's items."""
        if self._item_shape is None:
            self._item_shape = shape(self.items)
        return self._item_shape


def shape(node: Obj) -> Shape:
    hit = _memo.get((id(node), "shape"))
    if hit is not None and hit[0] is node:
        return hit[1]
    return memo(node, "shape", lambda: Shape(node))


# The Python classes a JSON decoder gives each type (an int is a number too).
JSON_CLASSES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}


def _types(node: Obj) -> tuple[str, ...]:
    """The JSON types a node accepts; empty when it does not say."""
    if node.get("x-kubernetes-int-or-string"):
        return ("integer", "string")
    if isinstance(node.get("type"), str):
        return (node["type"],)
    one_of = node.get("oneOf")
    if isinstance(one_of, list) and all(isinstance(o, dict) and "type" in o for o in one_of):
        return tuple(str(o["type"]) for o in one_of)
    return ()


def _list_type(node: Obj) -> tuple[str, tuple[str, ...]]:
    """("map", keys), ("set", ()) or ("atomic", ()): how a list merges and how its items are owned."""
    kind = node.get("x-kubernetes-list-type")
    if kind == "map":
        return "map", tuple(node.get("x-kubernetes-list-map-keys") or ())
    if kind in ("set", "atomic"):
        return str(kind), ()
    merge_key = node.get("x-kubernetes-patch-merge-key")
    strategy = str(node.get("x-kubernetes-patch-strategy") or "")
    if merge_key:
        return "map", (str(merge_key),)
    if "merge" in strategy.split(","):
        return "set", ()
    return "atomic", ()
