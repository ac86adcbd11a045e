"""The four PATCH flavours the API server accepts, as pure functions over JSON dicts.

Why here and not in the server: patch semantics are the part clients are pickiest about (kubectl's 3-way
apply and helm's upgrade send strategic merge patches with directives), so they get their own unit-tested
module. Nothing here mutates its inputs.

Errors: a malformed patch raises :class:`ValueError` with a one-line message (the server answers 400 or
422). A content type we do not support for the object, such as a strategic merge patch of a custom
resource, raises :class:`tui.errors.KubeError` carrying a 415 ``UnsupportedMediaType`` Status.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import yaml

from tui import yamlsafe
from tui.errors import KubeError
from tui.sandbox.api.body import MAX_DEPTH
from tui.sandbox.store import status_body

MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"

# Merge keys of built-in list fields, by field name; ``ports`` depends on where it sits (see _merge_key).
_MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "ownerReferences": "uid",
    "conditions": "type",
    "hostAliases": "ip",
    "addresses": "type",
    "secrets": "name",
}
# Primitive lists whose patch strategy is "merge" (set union) rather than replace.
_MERGED_PRIMITIVE_LISTS = frozenset({"finalizers"})
_CONTAINER_LISTS = frozenset({"containers", "initContainers", "ephemeralContainers"})

_SET_ORDER = "$setElementOrder/"
_DELETE_PRIMITIVE = "$deleteFromPrimitiveList/"


def unsupported_media_type(content_type: str, *, kind: str) -> KubeError:
    """The 415 the API server gives for a patch type the object cannot take."""
    accepted = (
        [JSON_PATCH, MERGE, APPLY] if content_type == STRATEGIC else [JSON_PATCH, MERGE, STRATEGIC, APPLY]
    )
    msg = (
        f"the body of the request was in an unknown format ({content_type} for {kind}) - "
        f"accepted media types include: {', '.join(accepted)}"
    )
    return KubeError(
        msg, code=415, reason="UnsupportedMediaType", status=status_body(415, "UnsupportedMediaType", msg)
    )


def apply_patch(obj: dict[str, Any], patch_body: Any, content_type: str, *, kind: str, builtin: bool) -> dict:
    """Return a new object: ``obj`` with ``patch_body`` applied according to ``content_type``.

    ``kind`` is the object's Kind (it picks merge keys such as Service ``spec.ports`` → ``port``);
    ``builtin`` is False for custom resources, which have no strategic merge metadata.
    """
    ctype = content_type.split(";", 1)[0].strip().lower()
    if ctype == APPLY:
        body = _parse_apply_body(patch_body)
        if not builtin:
            return _merge_patch(obj, body)
        return _strategic(copy.deepcopy(obj), body, path=(), kind=kind)
    body = _parse_json_body(patch_body)
    if ctype == MERGE:
        if not isinstance(body, dict):
            raise ValueError("merge patch must be a JSON object")
        result = _merge_patch(obj, body)
        if not isinstance(result, dict):
            raise ValueError("merge patch must produce an object")
        return result
    if ctype == JSON_PATCH:
        return _json_patch(obj, body)
    if ctype == STRATEGIC:
        if not builtin:
            raise unsupported_media_type(ctype, kind=kind)
        if not isinstance(body, dict):
            raise ValueError("strategic merge patch must be a JSON object")
        result = _strategic(copy.deepcopy(obj), body, path=(), kind=kind)
        return result
    raise unsupported_media_type(ctype, kind=kind)


def _parse_json_body(body: Any) -> Any:
    if isinstance(body, bytes | bytearray):
        body = body.decode("utf-8", errors="replace")
    if isinstance(body, str):
        try:
            return json.loads(body)
        except json.JSONDecodeError as e:
            raise ValueError(
                f"patch body is not valid JSON: {e.msg} at line {e.lineno} column {e.colno}"
            ) from e
    return body


def _parse_apply_body(body: Any) -> dict[str, Any]:
    if isinstance(body, bytes | bytearray):
        body = body.decode("utf-8", errors="replace")
    if isinstance(body, str):
        try:
            parsed = json.loads(body)
        except json.JSONDecodeError:
            try:
                parsed = yamlsafe.load(body, max_depth=MAX_DEPTH)
            except yaml.YAMLError as e:
                first = str(e).splitlines()[0] if str(e) else "syntax error"
                raise ValueError(f"apply patch body is neither JSON nor YAML: {first}") from e
    else:
        parsed = body
    if not isinstance(parsed, dict):
        raise ValueError("apply patch must be a single object (a JSON or YAML mapping)")
    return parsed


# ---------------------------------------------------------------------------------------------- RFC 7386
def _merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge_patch(result.get(key), value)
    return result


# ---------------------------------------------------------------------------------------------- RFC 6902
def _pointer(path: Any) -> list[str]:
    if not isinstance(path, str):
        raise ValueError(f"json patch path must be a string, got {json.dumps(path)}")
    if path == "":
        return []
    if not path.startswith("/"):
        raise ValueError(f'json patch path "{path}" must start with "/"')
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _index(container: list[Any], token: str, path: str, *, for_add: bool) -> int:
    if token == "-" and for_add:
        return len(container)
    if not token.isdigit() or (len(token) > 1 and token.startswith("0")):
        raise ValueError(f'json patch path "{path}": "{token}" is not a valid array index')
    idx = int(token)
    limit = len(container) if for_add else len(container) - 1
    if idx > limit:
        raise ValueError(f'json patch path "{path}": index {idx} is out of range')
    return idx


def _parent(doc: Any, tokens: list[str], path: str) -> Any:
    cur = doc
    for tok in tokens[:-1]:
        if isinstance(cur, dict):
            if tok not in cur:
                raise ValueError(f'json patch path "{path}" does not exist')
            cur = cur[tok]
        elif isinstance(cur, list):
            cur = cur[_index(cur, tok, path, for_add=False)]
        else:
            raise ValueError(f'json patch path "{path}" does not exist')
    return cur


def _member(doc: Any, tokens: list[str], path: str) -> tuple[Any, Any]:
    """The container of an existing member and its key or index (``get`` and ``remove`` need one there)."""
    parent = _parent(doc, tokens, path)
    last = tokens[-1]
    if isinstance(parent, dict) and last in parent:
        return parent, last
    if isinstance(parent, list):
        return parent, _index(parent, last, path, for_add=False)
    raise ValueError(f'json patch path "{path}" does not exist')


def _get(doc: Any, path: str) -> Any:
    tokens = _pointer(path)
    if not tokens:
        return doc
    parent, key = _member(doc, tokens, path)
    return parent[key]


def _add(doc: Any, path: str, value: Any) -> Any:
    tokens = _pointer(path)
    if not tokens:
        return value
    parent = _parent(doc, tokens, path)
    last = tokens[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, last, path, for_add=True), value)
    else:
        raise ValueError(f'json patch path "{path}" does not exist')
    return doc


def _remove(doc: Any, path: str) -> tuple[Any, Any]:
    tokens = _pointer(path)
    if not tokens:
        raise ValueError("json patch cannot remove the whole document")
    parent, key = _member(doc, tokens, path)
    return doc, parent.pop(key)


class PatchFailed(ValueError):
    """A well-formed JSON patch whose operations cannot be applied (a failed ``test``, a missing path): the
    apiserver answers these 422, where a patch that does not decode is a 400."""


def _json_patch(obj: dict[str, Any], ops: Any) -> dict[str, Any]:
    if not isinstance(ops, list):
        raise ValueError("json patch must be a JSON array of operations")
    try:
        return _apply_ops(obj, ops)
    except PatchFailed:
        raise
    except ValueError as err:
        raise PatchFailed(str(err)) from err


def _apply_ops(obj: dict[str, Any], ops: list[Any]) -> dict[str, Any]:
    doc: Any = copy.deepcopy(obj)
    for n, op in enumerate(ops):
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise ValueError(f'json patch operation {n} must be an object with "op" and "path"')
        kind, path = op["op"], op["path"]
        if kind in ("add", "replace", "test") and "value" not in op:
            raise ValueError(f'json patch operation {n} ("{kind}") is missing "value"')
        if kind in ("move", "copy") and "from" not in op:
            raise ValueError(f'json patch operation {n} ("{kind}") is missing "from"')
        if kind == "add":
            doc = _add(doc, path, copy.deepcopy(op["value"]))
        elif kind == "remove":
            doc, _ = _remove(doc, path)
        elif kind == "replace":
            doc, _ = _remove(doc, path) if _pointer(path) else (doc, None)
            doc = _add(doc, path, copy.deepcopy(op["value"]))
        elif kind == "move":
            src = op["from"]
            if path != src and path.startswith(src + "/"):
                raise ValueError(f'json patch operation {n}: cannot move "{src}" into its own child "{path}"')
            doc, value = _remove(doc, src)
            doc = _add(doc, path, value)
        elif kind == "copy":
            doc = _add(doc, path, copy.deepcopy(_get(doc, op["from"])))
        elif kind == "test":
            if _get(doc, path) != op["value"]:
                raise ValueError(
                    f'json patch test operation {n} failed: "{path}" does not hold the given value'
                )
        else:
            raise ValueError(f'json patch operation {n} has unknown op "{kind}"')
    if not isinstance(doc, dict):
        raise ValueError("json patch must leave an object")
    result: dict[str, Any] = doc
    return result


# ---------------------------------------------------------------------------------------------- strategic
def _merge_key(field: str, path: tuple[str, ...], kind: str) -> str | None:
    if field == "ports":
        if path and path[-1] in _CONTAINER_LISTS:
            return "containerPort"
        if kind == "Service" and path == ("spec",):
            return "port"
        return None
    return _MERGE_KEYS.get(field)


def _strategic(original: Any, patch: dict[str, Any], *, path: tuple[str, ...], kind: str) -> Any:
    """Merge ``patch`` into ``original`` (which this function owns and may modify)."""
    directive = patch.get("$patch")
    if directive == "replace":
        return _strip({k: v for k, v in patch.items() if k != "$patch"})
    if directive == "delete":
        return None
    if directive not in (None, "merge"):
        raise ValueError(f'unknown strategic merge patch directive "$patch: {directive}"')
    result: dict[str, Any] = original if isinstance(original, dict) else {}
    retain = patch.get("$retainKeys")
    orders: dict[str, Any] = {}
    for key, value in patch.items():
        if key in ("$patch", "$retainKeys"):
            continue
        if key.startswith(_SET_ORDER):
            orders[key[len(_SET_ORDER) :]] = value
            continue
        if key.startswith(_DELETE_PRIMITIVE):
            field = key[len(_DELETE_PRIMITIVE) :]
            if not isinstance(value, list):
                raise ValueError(f'"{key}" must be a list')
            if isinstance(result.get(field), list):
                result[field] = [v for v in result[field] if v not in value]
            continue
        if key.startswith("$"):
            raise ValueError(f'unknown strategic merge patch directive "{key}"')
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            merged = _strategic(result.get(key), value, path=(*path, key), kind=kind)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, list):
            result[key] = _merge_list(result.get(key), value, field=key, path=path, kind=kind)
        else:
            result[key] = value
    for field, order in orders.items():
        if isinstance(result.get(field), list):
            result[field] = _apply_order(result[field], order, field=field, path=path, kind=kind)
    if retain is not None:
        if not isinstance(retain, list):
            raise ValueError('"$retainKeys" must be a list of field names')
        for key in list(result):
            if key not in retain:
                del result[key]
    return result


def _strip(value: Any) -> Any:
    """Remove SMP directives from a value that replaces the original wholesale."""
    if isinstance(value, dict):
        return {
            k: _strip(v)
            for k, v in value.items()
            if not (
                k.startswith(_SET_ORDER) or k.startswith(_DELETE_PRIMITIVE) or k in ("$patch", "$retainKeys")
            )
        }
    if isinstance(value, list):
        return [_strip(v) for v in value if not (isinstance(v, dict) and v.get("$patch") == "delete")]
    return value


def _merge_list(
    original: Any, patch: list[Any], *, field: str, path: tuple[str, ...], kind: str
) -> list[Any]:
    key = _merge_key(field, path, kind)
    if key is None:
        if field in _MERGED_PRIMITIVE_LISTS and isinstance(original, list):
            return original + [v for v in patch if v not in original]
        if any(isinstance(v, dict) and v.get("$patch") == "replace" for v in patch):
            return _strip([v for v in patch if not (isinstance(v, dict) and "$patch" in v)])
        return _strip(patch)
    if any(isinstance(v, dict) and v.get("$patch") == "replace" and len(v) == 1 for v in patch):
        return _strip([v for v in patch if not (isinstance(v, dict) and v.get("$patch") == "replace")])
    result: list[Any] = [v for v in original] if isinstance(original, list) else []
    for item in patch:
        if not isinstance(item, dict):
            raise ValueError(f'"{field}" entries must be objects with the merge key "{key}"')
        if key not in item:
            raise ValueError(f'"{field}" entry does not contain declared merge key: {key}')
        pos = next(
            (i for i, cur in enumerate(result) if isinstance(cur, dict) and cur.get(key) == item[key]), None
        )
        if item.get("$patch") == "delete":
            if pos is not None:
                del result[pos]
            continue
        if pos is None:
            result.append(_strategic({}, item, path=(*path, field), kind=kind))
        else:
            result[pos] = _strategic(result[pos], item, path=(*path, field), kind=kind)
    return result


def _apply_order(items: list[Any], order: Any, *, field: str, path: tuple[str, ...], kind: str) -> list[Any]:
    """Honour ``$setElementOrder``: listed entries in the given order, the rest kept after them."""
    if not isinstance(order, list):
        raise ValueError(f'"$setElementOrder/{field}" must be a list')
    key = _merge_key(field, path, kind)

    def ident(v: Any) -> Any:
        if key is not None and isinstance(v, dict):
            return json.dumps(v.get(key), sort_keys=True)
        return json.dumps(v, sort_keys=True)

    rank = {ident(v): i for i, v in enumerate(order)}
    listed = sorted((v for v in items if ident(v) in rank), key=lambda v: rank[ident(v)])
    rest = [v for v in items if ident(v) not in rank]
    return listed + rest


__all__ = ["APPLY", "JSON_PATCH", "MERGE", "STRATEGIC", "apply_patch", "unsupported_media_type"]
