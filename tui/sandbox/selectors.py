"""Label and field selectors, parsed once per request and matched against many objects.

Why a real parser: kubectl and helm pass selectors through verbatim (``name=r,owner=helm``,
``app in (a,b)``, ``!canary``), and a bad one must be a precise 400, not a silent empty list.
The syntax and messages follow the API server's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tui.names import is_dns_subdomain, is_label_value, is_name_part

_SPECIAL = "!=(),<>"


def _check_key(key: str) -> None:
    prefix, _, name = key.rpartition("/")
    if "/" in key and not is_dns_subdomain(prefix):
        raise ValueError(f'invalid label key "{key}": prefix must be a DNS subdomain')
    if not is_name_part(name):
        raise ValueError(
            f'invalid label key "{key}": name part must be 63 characters or less, start and end with an '
            "alphanumeric character, and contain only alphanumerics, '-', '_' or '.'"
        )


def _check_value(value: str) -> None:
    if not is_label_value(value):
        raise ValueError(
            f'invalid label value "{value}": must be 63 characters or less, empty or start and end with an '
            "alphanumeric character, and contain only alphanumerics, '-', '_' or '.'"
        )


@dataclass(frozen=True, slots=True)
class Requirement:
    """One clause: ``key <op> values``; op is one of =, !=, in, notin, exists, !, gt, lt."""

    key: str
    op: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.op == "exists":
            return present
        if self.op == "!":
            return not present
        if self.op in ("=", "in"):
            return present and labels[self.key] in self.values
        if self.op in ("!=", "notin"):
            return not present or labels[self.key] not in self.values
        if not present:
            return False
        try:
            have = int(labels[self.key])
        except ValueError:
            return False
        want = int(self.values[0])
        return have > want if self.op == "gt" else have < want


@dataclass(frozen=True, slots=True)
class LabelSelector:
    """A parsed label selector: all requirements must hold (comma means AND)."""

    requirements: tuple[Requirement, ...]

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)

    @property
    def empty(self) -> bool:
        return not self.requirements


def _lex(s: str) -> list[str]:
    tokens: list[str] = []
    i, n = 0, len(s)
    while i < n:
        c = s[i]
        if c.isspace():
            i += 1
        elif c in "(),":
            tokens.append(c)
            i += 1
        elif c in "!=<>":
            if s.startswith("!=", i) or s.startswith("==", i):
                tokens.append(s[i : i + 2])
                i += 2
            else:
                tokens.append(c)
                i += 1
        else:
            j = i
            while j < n and not s[j].isspace() and s[j] not in _SPECIAL:
                j += 1
            tokens.append(s[i:j])
            i = j
    return tokens


def _is_ident(tok: str | None) -> bool:
    return tok is not None and tok not in ("(", ")", ",", "!", "!=", "=", "==", "<", ">")


def parse_label_selector(s: str) -> LabelSelector:
    """Parse ``a=b,c!=d,e in (x,y),f notin (z),g,!h``; raise ValueError on bad syntax."""
    toks = _lex(s or "")
    pos = 0
    reqs: list[Requirement] = []

    def peek() -> str | None:
        return toks[pos] if pos < len(toks) else None

    def fail(expected: str) -> ValueError:
        found = peek()
        where = f"found '{found}'" if found is not None else "found end of string"
        return ValueError(f"unable to parse requirement: {where}, expected: {expected} (selector {s!r})")

    while pos < len(toks):
        negated = peek() == "!"
        pos += negated
        key = peek()
        if not _is_ident(key):
            raise fail("identifier after '!'" if negated else "identifier")
        assert key is not None
        _check_key(key)
        pos += 1
        if negated:
            reqs.append(Requirement(key, "!"))
        else:
            op = peek()
            if op is None or op == ",":
                reqs.append(Requirement(key, "exists"))
            elif op in ("=", "==", "!="):
                pos += 1
                value = peek()
                if value is None or value == ",":
                    value = ""
                elif _is_ident(value):
                    pos += 1
                else:
                    raise fail("label value")
                _check_value(value)
                reqs.append(Requirement(key, "!=" if op == "!=" else "=", (value,)))
            elif op in ("in", "notin"):
                pos += 1
                if peek() != "(":
                    raise fail("'(' after in/notin")
                pos += 1
                values: list[str] = []
                while True:
                    tok = peek()
                    if tok == ")" and not values:
                        break
                    if tok in (",", ")"):
                        values.append("")
                    elif _is_ident(tok):
                        assert tok is not None
                        values.append(tok)
                        pos += 1
                    else:
                        raise fail("label value")
                    tok = peek()
                    if tok == ",":
                        pos += 1
                        continue
                    if tok == ")":
                        break
                    raise fail("',' or ')'")
                pos += 1
                if not values:
                    raise ValueError(
                        f"for 'in', 'notin' operators, values set can't be empty (selector {s!r})"
                    )
                for v in values:
                    _check_value(v)
                reqs.append(Requirement(key, op, tuple(values)))
            elif op in ("<", ">"):
                pos += 1
                value = peek()
                if not _is_ident(value) or not (value or "").lstrip("-").isdigit():
                    raise fail("an integer value")
                assert value is not None
                pos += 1
                reqs.append(Requirement(key, "gt" if op == ">" else "lt", (value,)))
            else:
                raise fail("one of =, ==, !=, in, notin, or ','")
        if pos < len(toks):
            if peek() != ",":
                raise fail("','")
            pos += 1
            if pos == len(toks):
                raise fail("identifier")
    return LabelSelector(tuple(reqs))


# ------------------------------------------------------------------------------------------------ fields
# Field labels the API server supports for field selectors (the union over the kinds the sandbox serves).
SUPPORTED_FIELDS = frozenset(
    {
        "metadata.name",
        "metadata.namespace",
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.schedulerName",
        "spec.serviceAccountName",
        "status.phase",
        "status.podIP",
        "type",
        "reason",
        "source",
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
    }
)


@dataclass(frozen=True, slots=True)
class FieldRequirement:
    field: str
    value: str
    negate: bool

    def matches(self, obj: Mapping[str, Any]) -> bool:
        have = _field_value(obj, self.field)
        return (have != self.value) if self.negate else (have == self.value)


def _field_value(obj: Mapping[str, Any], field: str) -> str:
    if field == "source":
        src = obj.get("source") or {}
        return str(src.get("component") or "") if isinstance(src, Mapping) else ""
    cur: Any = obj
    for part in field.split("."):
        if not isinstance(cur, Mapping):
            return ""
        cur = cur.get(part)
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


@dataclass(frozen=True, slots=True)
class FieldSelector:
    """A parsed field selector: all requirements must hold."""

    requirements: tuple[FieldRequirement, ...]

    def matches(self, obj: Mapping[str, Any]) -> bool:
        return all(r.matches(obj) for r in self.requirements)

    @property
    def empty(self) -> bool:
        return not self.requirements


def _split_unescaped(s: str, sep: str) -> list[str]:
    parts, cur, i = [], [], 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            cur.append(s[i : i + 2])
            i += 2
            continue
        if c == sep:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    parts.append("".join(cur))
    return parts


def _unescape(s: str) -> str:
    out, i = [], 0
    while i < len(s):
        if s[i] == "\\":
            if i + 1 >= len(s) or s[i + 1] not in "\\,=":
                raise ValueError(f"invalid field selector value escape in {s!r}")
            out.append(s[i + 1])
            i += 2
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def parse_field_selector(s: str) -> FieldSelector:
    """Parse ``metadata.name=x,status.phase!=Running``; ValueError for bad syntax or unsupported fields."""
    reqs: list[FieldRequirement] = []
    if not (s or "").strip():
        return FieldSelector(())
    for clause in _split_unescaped(s, ","):
        clause = clause.strip()
        if not clause:
            raise ValueError(f"invalid field selector {s!r}: empty requirement")
        m = re.match(r"^([^!=]+?)\s*(!=|==|=)(.*)$", clause)
        if m is None:
            raise ValueError(f"invalid selector: '{clause}'; can't understand '{clause}'")
        field, op, raw = m.group(1).strip(), m.group(2), m.group(3).strip()
        if field not in SUPPORTED_FIELDS:
            raise ValueError(f"field label not supported: {field}")
        reqs.append(FieldRequirement(field, _unescape(raw), op == "!="))
    return FieldSelector(tuple(reqs))


__all__ = [
    "FieldRequirement",
    "FieldSelector",
    "LabelSelector",
    "Requirement",
    "SUPPORTED_FIELDS",
    "parse_field_selector",
    "parse_label_selector",
]
