"""Schema admission on the write path: unknown fields (pruned, or rejected under ``fieldValidation=Strict``),
and for custom resources the API server's structural-schema rules: types, required fields, enums and bounds
(422 with field paths), and defaults.

Built-in kinds are only checked for unknown fields and JSON types, as the API server's decoder does; their
semantic validation lives in ``validation.py``.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from tui.errors import Invalid, KubeError
from tui.sandbox.resources import ResourceType
from tui.sandbox.schema import deref, field_schema, items_schema, memo, preserves_unknown
from tui.sandbox.store import Obj, status_body

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}
_SKIP_META = frozenset({"apiVersion", "kind"})


def _wanted(node: Obj) -> tuple[str, ...]:
    """The JSON types a node accepts; empty when it does not say."""
    if node.get("x-kubernetes-int-or-string"):
        return ("integer", "string")
    if isinstance(node.get("type"), str):
        return (node["type"],)
    one_of = node.get("oneOf")
    if isinstance(one_of, list) and all(isinstance(o, dict) and "type" in o for o in one_of):
        return tuple(str(o["type"]) for o in one_of)
    return ()


def _json_type(v: Any) -> str:
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object" if isinstance(v, dict) else "null"


def _is(v: Any, t: str) -> bool:
    if isinstance(v, bool) and t in ("integer", "number"):
        return False
    if t == "integer" and isinstance(v, float):
        return v.is_integer()
    return isinstance(v, _TYPES.get(t, (object,)))


def _quote(v: Any) -> str:
    return f'"{v}"' if isinstance(v, str) else str(v).lower() if isinstance(v, bool) else str(v)


@dataclass
class Findings:
    unknown: list[str] = field(default_factory=list)
    causes: list[dict[str, str]] = field(default_factory=list)
    type_errors: list[tuple[str, str, str]] = field(default_factory=list)  # path, got, wanted

    def cause(self, path: str, message: str, type_: str = "FieldValueInvalid") -> None:
        self.causes.append({"type": type_, "message": message, "field": path})


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


class _Walker:
    def __init__(self, *, custom: bool, findings: Findings) -> None:
        self.custom = custom
        self.f = findings

    def value(self, v: Any, node: Obj, path: str) -> bool:
        """Check ``v`` against ``node``; False when it has the wrong type (the caller keeps it as is)."""
        if not self._type_ok(v, node, path):
            return False
        if isinstance(v, dict):
            self._object(v, node, path)
        elif isinstance(v, list):
            item = items_schema(node)
            for i, x in enumerate(v):
                if x is not None:
                    self.value(x, item, f"{path}[{i}]")
        if self.custom:
            self._bounds(v, node, path)
        return True

    def _type_ok(self, v: Any, node: Obj, path: str) -> bool:
        wanted: tuple[str, ...] = memo(node, "types", lambda: _wanted(node))
        if not wanted or any(_is(v, t) for t in wanted):
            return True
        got = _json_type(v)
        if self.custom:
            self.f.cause(
                path,
                f'Invalid value: "{got}": {path} in body must be of type {" or ".join(wanted)}: "{got}"',
                "FieldValueTypeInvalid",
            )
        else:
            self.f.type_errors.append((path, got, wanted[0]))
        return False

    def _object(self, v: Obj, node: Obj, path: str) -> None:
        preserve = preserves_unknown(node)
        declared = "properties" in node or isinstance(node.get("additionalProperties"), dict)
        if not declared and (preserve or not self.custom or node.get("additionalProperties") is True):
            return
        for key in list(v):
            if not path and key in _SKIP_META:
                continue
            sub = field_schema(node, key)
            if sub is None:
                if preserve:
                    continue
                self.f.unknown.append(_join(path, key))
                del v[key]
                continue
            if v[key] is None:
                if self.custom and not sub.get("nullable"):
                    del v[key]  # the API server drops nulls a schema does not allow
                continue
            self.value(v[key], sub, _join(path, key))
        if not self.custom:
            return
        for key, raw in (node.get("properties") or {}).items():
            sub = deref(raw)
            if key not in v and "default" in sub:
                v[key] = copy.deepcopy(sub["default"])
                self.value(v[key], sub, _join(path, key))
        for key in node.get("required") or []:
            if key not in v:
                self.f.cause(_join(path, key), "Required value", "FieldValueRequired")

    def _bounds(self, v: Any, node: Obj, path: str) -> None:
        enum = node.get("enum")
        if isinstance(enum, list) and v not in enum:
            allowed = ", ".join(_quote(e) for e in enum)
            self.f.cause(
                path, f"Unsupported value: {_quote(v)}: supported values: {allowed}", "FieldValueNotSupported"
            )
        if isinstance(v, int | float) and not isinstance(v, bool):
            lo, hi = node.get("minimum"), node.get("maximum")
            if isinstance(lo, int | float) and (v < lo or (node.get("exclusiveMinimum") and v == lo)):
                self.f.cause(
                    path, f"Invalid value: {v}: {path} in body should be greater than or equal to {lo}"
                )
            if isinstance(hi, int | float) and (v > hi or (node.get("exclusiveMaximum") and v == hi)):
                self.f.cause(path, f"Invalid value: {v}: {path} in body should be less than or equal to {hi}")
        if isinstance(v, str):
            if isinstance(node.get("maxLength"), int) and len(v) > node["maxLength"]:
                self.f.cause(
                    path, f"Too long: may not be more than {node['maxLength']} bytes", "FieldValueTooLong"
                )
            if isinstance(node.get("minLength"), int) and len(v) < node["minLength"]:
                self.f.cause(
                    path,
                    f'Invalid value: "{v}": {path} in body should be at least {node["minLength"]} chars long',
                )
            pattern = node.get("pattern")
            if isinstance(pattern, str) and not _matches(pattern, v):
                self.f.cause(path, f"Invalid value: \"{v}\": {path} in body should match '{pattern}'")
        if isinstance(v, list):
            if isinstance(node.get("maxItems"), int) and len(v) > node["maxItems"]:
                self.f.cause(
                    path,
                    f"Too many: {len(v)}: must have at most {node['maxItems']} items",
                    "FieldValueTooMany",
                )
            if isinstance(node.get("minItems"), int) and len(v) < node["minItems"]:
                self.f.cause(
                    path,
                    f"Invalid value: {len(v)}: {path} in body should have at least {node['minItems']} items",
                )


def _matches(pattern: str, value: str) -> bool:
    try:
        return re.search(pattern, value) is not None
    except re.error:
        return True  # an RE2 construct Python lacks: do not reject what the API server might accept


def admit(rt: ResourceType, version: str, obj: Obj, root: Obj, *, field_validation: str) -> list[str]:
    """Prune, default and check ``obj`` in place; return the warnings (unknown fields under ``Warn``).

    Raises 400 BadRequest for a JSON type error in a built-in kind or an unknown field under ``Strict``, and
    422 Invalid (with one cause per field) for a custom resource that breaks its schema.
    """
    findings = Findings()
    _Walker(custom=not rt.builtin, findings=findings).value(obj, root, "")
    handled = f'{rt.kind} in version "{version}" cannot be handled as a {rt.kind}'
    if findings.type_errors:
        path, got, wanted = findings.type_errors[0]
        raise _bad_request(
            f"{handled}: json: cannot unmarshal {got} into Go struct field .{path} of type {wanted}"
        )
    if findings.unknown and field_validation == "Strict":
        fields = ", ".join(f'unknown field "{p}"' for p in findings.unknown)
        raise _bad_request(f"{handled}: strict decoding error: {fields}")
    if findings.causes:
        name = str((obj.get("metadata") or {}).get("name") or "")
        raise _invalid(rt, name, findings.causes)
    if field_validation == "Ignore":
        return []
    return [f'unknown field "{p}"' for p in findings.unknown]


def _bad_request(message: str) -> KubeError:
    return KubeError(message, code=400, reason="BadRequest", status=status_body(400, "BadRequest", message))


def _invalid(rt: ResourceType, name: str, causes: list[dict[str, str]]) -> Invalid:
    """422 as the API server words it; kubectl prints details.kind and each cause on its own line."""
    detail = ", ".join(f"{c['field']}: {c['message']}" for c in causes)
    qualified = f"{rt.kind}.{rt.group}" if rt.group else rt.kind
    message = f'{qualified} "{name}" is invalid: ' + (f"[{detail}]" if len(causes) > 1 else detail)
    body = status_body(422, "Invalid", message, name=name, kind=rt.kind, causes=causes)
    body["details"]["group"] = rt.group
    return Invalid(message, code=422, reason="Invalid", status=body)
