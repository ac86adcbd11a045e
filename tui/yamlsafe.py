"""The one YAML reader for input we did not write: kubeconfigs, settings, request bodies, cluster data.

PyYAML shares aliased nodes, so loading a "billion laughs" is cheap and the blow-up comes later, when the
shared structure is walked or serialised. The node graph is therefore composed first (libyaml when present,
which also caps nesting at 1,000 levels in C) and checked iteratively before any Python object is built:
its expanded size, self-referencing aliases and nesting depth. Callers choose the depth and whether a
repeated mapping key is an error; a refusal is a :class:`YamlRefused` with one line naming the problem.
"""

from __future__ import annotations

from typing import Any

import yaml

ALIAS_FLOOR = 10_000  # an alias-expanded document may grow to this many nodes...
ALIAS_RATIO = 10  # ...or to this many times its distinct nodes, and no further

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: 5x faster


class YamlRefused(yaml.YAMLError):
    """A document outside the caller's limits (aliasing, depth, a duplicate key)."""


class _Loader(_BaseLoader):  # type: ignore[valid-type,misc]
    max_depth = 100
    unique_keys = False

    def checked_node(self) -> yaml.Node | None:
        node = self.get_node()
        if node is not None:
            _check_graph(node, max_depth=self.max_depth)
        return node

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        if self.unique_keys:
            self._refuse_duplicate_keys(node)
        return super().construct_mapping(node, deep=deep)

    def _refuse_duplicate_keys(self, node: yaml.MappingNode) -> None:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:
                continue  # an unhashable key; the base class reports it
            if duplicate:
                raise YamlRefused(f"duplicate key '{key}' at line {key_node.start_mark.line + 1}")


def _check_graph(root: yaml.Node, *, max_depth: int) -> None:
    """Depth-first over the node graph, memoising each node's expanded size so the count stays linear."""
    sizes: dict[int, int] = {}
    path: set[int] = set()  # the collections from the root down to the current node
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        ident = id(node)
        children = _children(node)
        if done:
            path.discard(ident)
            sizes[ident] = size = 1 + sum(sizes[id(c)] for c in children)
            if size > ALIAS_FLOOR and size > ALIAS_RATIO * len(sizes):
                raise YamlRefused("document contains excessive aliasing")
            continue
        if ident in sizes:
            continue
        if ident in path:
            raise YamlRefused(f"document contains a recursive alias at line {node.start_mark.line + 1}")
        if not isinstance(node, yaml.CollectionNode):
            sizes[ident] = 1
            continue
        path.add(ident)
        if len(path) > max_depth:
            raise YamlRefused(f"nested more than {max_depth} levels deep at line {node.start_mark.line + 1}")
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in sizes)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _too_deep(exc: Exception, max_depth: int) -> Exception:
    """libyaml stops at 1,000 levels (pure PyYAML hits the recursion limit): say so in the caller's terms."""
    if isinstance(exc, RecursionError):
        return YamlRefused(f"nested more than {max_depth} levels deep")
    if "maximum nesting depth" not in str(exc):
        return exc
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}" if mark is not None else ""
    return YamlRefused(f"nested more than {max_depth} levels deep{where}")


def _loader(text: str | bytes, *, max_depth: int, unique_keys: bool) -> _Loader:
    loader = _Loader(text)
    loader.max_depth = max_depth
    loader.unique_keys = unique_keys
    return loader


def load_all(text: str | bytes, *, max_depth: int, unique_keys: bool = False) -> list[Any]:
    """Every document in ``text``; YamlRefused (a yaml.YAMLError) past a limit, YAMLError when invalid."""
    loader = _loader(text, max_depth=max_depth, unique_keys=unique_keys)
    docs: list[Any] = []
    try:
        while loader.check_node():
            node = loader.checked_node()
            docs.append(None if node is None else loader.construct_document(node))
    except (RecursionError, yaml.MarkedYAMLError) as exc:
        raise _too_deep(exc, max_depth) from None
    finally:
        loader.dispose()
    return docs


def load(text: str | bytes, *, max_depth: int, unique_keys: bool = False) -> Any:
    """The single document in ``text`` (None when empty), within the same limits as :func:`load_all`."""
    docs = load_all(text, max_depth=max_depth, unique_keys=unique_keys)
    if len(docs) > 1:
        raise YamlRefused("expected a single document, found several")
    return docs[0] if docs else None


def compose(text: str | bytes, *, max_depth: int) -> yaml.Node | None:
    """The node graph of the single document in ``text`` (for line positions), checked like :func:`load`."""
    loader = _loader(text, max_depth=max_depth, unique_keys=False)
    try:
        node = loader.checked_node() if loader.check_node() else None
        if loader.check_node():
            raise YamlRefused("expected a single document, found several")
        return node
    except (RecursionError, yaml.MarkedYAMLError) as exc:
        raise _too_deep(exc, max_depth) from None
    finally:
        loader.dispose()
