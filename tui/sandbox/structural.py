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
from tui.sandbox.schema import JSON_CLASSES, Shape, shape
from tui.sandbox.store import Obj, status_body

_SKIP_META = frozenset({"apiVersion", "kind"})
_EMBEDDED_META = frozenset({"apiVersion", "kind", "metadata"})  # implied by x-kubernetes-embedded-resource


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
    return isinstance(v, JSON_CLASSES.get(t, (object,)))


def _quote(v: Any) -> str:
    return f'"{v}"' if isinstance(v, str) else str(v).lower() if isinstance(v, bool) else str(v)


@dataclass
class Findings:
    unknown: list[str] = field(default_factory=list)
    causes: list[dict[str, str]] = field(default_factory=list)
    type_errors: list[tuple[str, str, str]] = field(default_factory=list)  # path, got, wanted

    def cause(self, path: str, message: str, type_: str = "FieldValueInvalid") -> None:
        self.causes.append({"type": type_, "message": message, "field": path})


Path = tuple[Any, str | int] | None  # (parent, field name or list index): spelled out only for a finding


def _spell(path: Path) -> str:
    parts: list[str] = []
    while path is not None:
        path, part = path
        parts.append(f"[{part}]" if isinstance(part, int) else f".{part}")
    return "".join(reversed(parts)).lstrip(".")


class _Walker:
    def __init__(self, *, custom: bool, findings: Findings) -> None:
        self.custom = custom
        self.f = findings

    def value(self, v: Any, sh: Shape, path: Path) -> bool:
        """Check ``v`` against ``sh``; False when it has the wrong type (the caller keeps it as is)."""
        if sh.types and type(v) not in sh.exact and not any(_is(v, t) for t in sh.types):
            self._wrong_type(v, sh.types, path)
            return False
        if isinstance(v, dict):
            self._object(v, sh, path)
        elif isinstance(v, list):
            for i, x in enumerate(v):
                if x is not None:
                    self.value(x, sh.item, (path, i))
        if self.custom:
            self._bounds(v, sh.node, _spell(path))
        return True

    def _wrong_type(self, v: Any, wanted: tuple[str, ...], path: Path) -> None:
        got, where = _json_type(v), _spell(path)
        if self.custom:
            self.f.cause(
                where,
                f'Invalid value: "{got}": {where} in body must be of type {" or ".join(wanted)}: "{got}"',
                "FieldValueTypeInvalid",
            )
        else:
            self.f.type_errors.append((where, got, wanted[0]))

    def _object(self, v: Obj, sh: Shape, path: Path) -> None:
        if not sh.declared and (
            sh.preserve or not self.custom or sh.node.get("additionalProperties") is True
        ):
            return
        for key in list(v):
            if (path is None and key in _SKIP_META) or (sh.embedded and key in _EMBEDDED_META):
                continue
            sub = sh.sub(key)
            if sub is None:
                if not sh.preserve:
                    self.f.unknown.append(_spell((path, key)))
                    del v[key]
                continue
            if v[key] is None:
                if self.custom and not sub.node.get("nullable"):
                    del v[key]  # the API server drops nulls a schema does not allow
                continue
            self.value(v[key], sub, (path, key))
        if not self.custom:
            return
        for key, default in sh.default.items():
            if key not in v:
                v[key] = copy.deepcopy(default)
                self.value(v[key], shape(sh.props[key]), (path, key))
        for key in sh.node.get("required") or []:
            if key not in v:
                self.f.cause(_spell((path, key)), "Required value", "FieldValueRequired")

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
    _Walker(custom=not rt.builtin, findings=findings).value(obj, shape(root), None)
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
