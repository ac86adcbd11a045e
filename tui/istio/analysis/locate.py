"""Where a finding's field path sits in the YAML we show, so a viewer can highlight and scroll to it."""

from __future__ import annotations

import yaml

from tui.istio.analysis.model import Path


def field_lines(text: str, path: Path) -> tuple[int, int] | None:
    """First and last line (1-based) of the field at ``path`` in ``text``: the key's line through the end of
    its value. The deepest part of the path that exists is used; None for an empty path or unreadable YAML."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    found: tuple[int, int] | None = None
    for part in path:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            pair = next(((k, v) for k, v in node.value if k.value == part), None)
            if pair is None:
                break
            key, node = pair
            found = (key.start_mark.line + 1, _last_line(node))
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            found = (node.start_mark.line + 1, _last_line(node))
        else:
            break
    return found


def _last_line(node: yaml.Node) -> int:
    """The line of a value's last scalar (a block collection's end mark is where the next key starts)."""
    if isinstance(node, yaml.MappingNode) and node.value:
        return _last_line(node.value[-1][1])
    if isinstance(node, yaml.SequenceNode) and node.value:
        return _last_line(node.value[-1])
    return int(node.end_mark.line) + 1
