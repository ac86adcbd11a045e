"""The one YAML reader: one set of alias, recursion and depth rules for kubeconfigs, settings, bodies."""

from __future__ import annotations

import pytest
import yaml

from tui import yamlsafe
from tui.yamlsafe import YamlRefused


def _bomb(levels: int) -> str:
    lines = ["l0: &l0 [a,a,a,a,a,a,a,a,a]"]
    lines += [f"l{n}: &l{n} [{','.join(f'*l{n - 1}' for _ in range(9))}]" for n in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_a_few_aliases_load_and_a_bomb_is_refused_before_it_expands() -> None:
    assert yamlsafe.load(_bomb(3), max_depth=10)["l2"][0][0][0] == "a"
    with pytest.raises(YamlRefused, match="excessive aliasing"):
        yamlsafe.load(_bomb(9), max_depth=10)
    with pytest.raises(YamlRefused, match="excessive aliasing"):
        yamlsafe.compose(_bomb(9), max_depth=10)


def test_a_node_that_contains_itself_is_refused() -> None:
    with pytest.raises(YamlRefused, match="recursive alias at line 1"):
        yamlsafe.load("a: &d {b: *d}\n", max_depth=10)


@pytest.mark.parametrize("depth", [7, 2000])
def test_depth_counts_collections_and_names_the_callers_limit(depth: int) -> None:
    assert yamlsafe.load("a: " + "[" * 4 + "]" * 4, max_depth=5) == {"a": [[[[]]]]}
    with pytest.raises(YamlRefused, match="nested more than 5 levels deep"):
        yamlsafe.load("a: " + "[" * depth + "]" * depth, max_depth=5)
    block = "a:\n" + "".join("  " * i + "k:\n" for i in range(1, depth))
    with pytest.raises(YamlRefused, match="nested more than 5 levels deep at line"):
        yamlsafe.load(block, max_depth=5)


def test_duplicate_keys_only_when_asked_and_merge_keys_never() -> None:
    assert yamlsafe.load("a: 1\na: 2\n", max_depth=5) == {"a": 2}
    with pytest.raises(YamlRefused, match="duplicate key 'a' at line 2"):
        yamlsafe.load("a: 1\na: 2\n", max_depth=5, unique_keys=True)
    merged = yamlsafe.load("b: &b {x: 1}\nc: {<<: *b, y: 2}\n", max_depth=5, unique_keys=True)
    assert merged["c"] == {"x": 1, "y": 2}


def test_documents_and_syntax_errors() -> None:
    assert yamlsafe.load_all("a: 1\n---\nb: 2\n", max_depth=5) == [{"a": 1}, {"b": 2}]
    assert yamlsafe.load("", max_depth=5) is None
    with pytest.raises(YamlRefused, match="single document"):
        yamlsafe.load("a: 1\n---\nb: 2\n", max_depth=5)
    with pytest.raises(yaml.MarkedYAMLError):
        yamlsafe.load("a: [\n", max_depth=5)
