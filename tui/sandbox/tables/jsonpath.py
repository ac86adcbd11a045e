"""The JSONPath subset CRD ``additionalPrinterColumns`` use: fields, ``[n]``, ``[*]`` and ``[?(@.a=="b")]``.

Like the API server's table convertor, a column shows only the first match.
"""

from __future__ import annotations

import json
import re
from typing import Any

_STEP = re.compile(
    r"""\.(?P<field>[^.\[\]]+)
      |\[(?P<index>-?\d+)\]
      |\[(?P<star>\*)\]
      |\[\?\(@(?P<fpath>(?:\.[^.=!<>\s)]+)+)\s*(?:(?P<op>==|!=)\s*(?P<value>'[^']*'|"[^"]*"|[^)\s]+))?\s*\)\]
      |\[['"](?P<quoted>[^'"]+)['"]\]""",
    re.X,
)


def _steps(path: str) -> list[re.Match[str]] | None:
    text = path.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1]
    text = text.removeprefix("$")
    if text and not text.startswith((".", "[")):
        text = "." + text
    steps, pos = [], 0
    while pos < len(text):
        m = _STEP.match(text, pos)
        if m is None:
            return None
        steps.append(m)
        pos = m.end()
    return steps


def _literal(raw: str) -> Any:
    if raw[:1] in "'\"":
        return raw[1:-1]
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def find_all(obj: Any, path: str) -> list[Any]:
    """Every value ``path`` selects in ``obj``; an unsupported path selects nothing."""
    steps = _steps(path)
    if steps is None:
        return []
    current = [obj]
    for m in steps:
        nxt: list[Any] = []
        for node in current:
            field = m.group("field") or m.group("quoted")
            if field is not None:
                if isinstance(node, dict) and field in node:
                    nxt.append(node[field])
            elif m.group("index") is not None:
                i = int(m.group("index"))
                if isinstance(node, list) and -len(node) <= i < len(node):
                    nxt.append(node[i])
            elif m.group("star"):
                if isinstance(node, list):
                    nxt.extend(node)
                elif isinstance(node, dict):
                    nxt.extend(node.values())
            elif isinstance(node, list):
                nxt.extend(item for item in node if _keep(item, m))
        current = nxt
    return current


def _keep(item: Any, m: re.Match[str]) -> bool:
    found = find_all(item, m.group("fpath"))
    if m.group("op") is None:
        return bool(found)
    want = _literal(m.group("value"))
    equal = bool(found) and found[0] == want
    return equal if m.group("op") == "==" else not equal


def json_path(obj: Any, path: str) -> Any:
    """The first value ``path`` selects, or None."""
    found = find_all(obj, path)
    return found[0] if found else None
