"""Settings precedence (flags > env > XDG file) and one precise error per bad input."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from tui.config import (
    MAX_YAML_DEPTH,
    Settings,
    config_file_path,
    load_settings,
    manifests_dir,
    read_yaml_file,
)
from tui.errors import ConfigError


def _args(**overrides: object) -> argparse.Namespace:
    values: dict[str, object] = {
        "kubeconfig": None,
        "context": None,
        "namespace": None,
        "readonly": False,
        "sandbox": False,
    }
    values.update(overrides)
    return argparse.Namespace(**values)


@pytest.fixture
def xdg(tmp_path: Path) -> dict[str, str]:
    return {"XDG_CONFIG_HOME": str(tmp_path / "xdg"), "HOME": str(tmp_path / "home")}


def _write_config(env: dict[str, str], text: str) -> Path:
    path = config_file_path(env)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_defaults_without_file_or_env(xdg: dict[str, str]) -> None:
    assert load_settings(_args(), env=xdg) == Settings()


def test_xdg_path_and_home_fallback(tmp_path: Path) -> None:
    assert config_file_path({"XDG_CONFIG_HOME": "/x"}) == Path("/x/istio-tui/config.yaml")
    home = {"HOME": str(tmp_path)}
    assert config_file_path(home) == tmp_path / ".config" / "istio-tui" / "config.yaml"
    assert config_file_path({"HOME": str(tmp_path), "XDG_CONFIG_HOME": "relative"}) == config_file_path(home)


def test_file_values_are_used(xdg: dict[str, str]) -> None:
    _write_config(
        xdg, "kubeconfig: /k/file\ncontext: prod\nnamespace: shop\nreadonly: true\nsandbox: false\n"
    )
    assert load_settings(_args(), env=xdg) == Settings(
        kubeconfig="/k/file", context="prod", namespace="shop", readonly=True, sandbox=False
    )


def test_env_beats_file_and_flags_beat_env(xdg: dict[str, str]) -> None:
    _write_config(xdg, "kubeconfig: /from/file\ncontext: file-ctx\nnamespace: filens\nreadonly: false\n")
    env = dict(
        xdg,
        KUBECONFIG="/from/kubeconfig-env",
        ISTIO_TUI_CONTEXT="env-ctx",
        ISTIO_TUI_NAMESPACE="envns",
        ISTIO_TUI_READONLY="yes",
    )
    from_env = load_settings(_args(), env=env)
    assert from_env == Settings(
        kubeconfig="/from/kubeconfig-env", context="env-ctx", namespace="envns", readonly=True
    )
    env["ISTIO_TUI_KUBECONFIG"] = "/from/istio-env"
    assert load_settings(_args(), env=env).kubeconfig == "/from/istio-env"
    flags = load_settings(_args(kubeconfig="/from/flag", context="flag-ctx", namespace="flagns"), env=env)
    assert (flags.kubeconfig, flags.context, flags.namespace) == ("/from/flag", "flag-ctx", "flagns")


def test_readonly_env_false_overrides_file_but_not_flag(xdg: dict[str, str]) -> None:
    _write_config(xdg, "readonly: true\n")
    env = dict(xdg, ISTIO_TUI_READONLY="0")
    assert load_settings(_args(), env=env).readonly is False
    assert load_settings(_args(readonly=True), env=env).readonly is True


def test_empty_file_means_defaults(xdg: dict[str, str]) -> None:
    _write_config(xdg, "# nothing yet\n")
    assert load_settings(_args(sandbox=True), env=xdg) == Settings(sandbox=True)


def test_unknown_key_names_file_and_key(xdg: dict[str, str]) -> None:
    path = _write_config(xdg, "readonly: true\nnamepsace: shop\n")
    with pytest.raises(ConfigError) as info:
        load_settings(_args(), env=xdg)
    assert str(path) in str(info.value)
    assert "unknown key 'namepsace'" in str(info.value)


def test_wrong_type_names_file_and_key(xdg: dict[str, str]) -> None:
    path = _write_config(xdg, "readonly: maybe\n")
    with pytest.raises(ConfigError) as info:
        load_settings(_args(), env=xdg)
    message = str(info.value)
    assert str(path) in message
    assert "'readonly' must be a bool, not str" in message


def test_malformed_yaml_names_file_and_line(xdg: dict[str, str]) -> None:
    path = _write_config(xdg, "readonly: true\nnamespace: [shop\n")
    with pytest.raises(ConfigError) as info:
        load_settings(_args(), env=xdg)
    assert f"config file {path} is not valid YAML at line" in str(info.value)


def test_file_must_be_a_mapping(xdg: dict[str, str]) -> None:
    _write_config(xdg, "- readonly\n")
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_settings(_args(), env=xdg)


def test_bad_boolean_env_names_the_variable(xdg: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match=r"ISTIO_TUI_READONLY='sometimes' is not a boolean"):
        load_settings(_args(), env=dict(xdg, ISTIO_TUI_READONLY="sometimes"))


@pytest.mark.parametrize("flag", ["kubeconfig", "context", "namespace"])
def test_empty_flag_values_are_rejected(xdg: dict[str, str], flag: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(_args(**{flag: " "}), env=xdg)
    assert info.value.message == f"--{flag} needs a value"


@pytest.mark.parametrize("bad", ["Shop", "-shop", "shop_1", "a" * 64])
def test_bad_namespace_flag_is_rejected(xdg: dict[str, str], bad: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(_args(namespace=bad), env=xdg)
    assert info.value.message == f"--namespace: '{bad}' is not a valid namespace name"


def test_a_namespace_with_a_trailing_newline_is_refused_on_one_line(xdg: dict[str, str]) -> None:
    """``re.match`` with ``$`` accepted "demo\\n"; the names module's fullmatch does not."""
    with pytest.raises(ConfigError) as info:
        load_settings(_args(), env=dict(xdg, ISTIO_TUI_NAMESPACE="demo\n"))
    assert info.value.message == "ISTIO_TUI_NAMESPACE: 'demo\\n' is not a valid namespace name"


def test_bad_namespace_in_env_and_file_names_the_source(xdg: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="^ISTIO_TUI_NAMESPACE: 'Bad'"):
        load_settings(_args(), env=dict(xdg, ISTIO_TUI_NAMESPACE="Bad"))
    path = _write_config(xdg, "namespace: Bad\n")
    with pytest.raises(ConfigError) as info:
        load_settings(_args(), env=xdg)
    assert f"config file {path}, key 'namespace'" in str(info.value)


def test_missing_attributes_on_subcommand_namespace(xdg: dict[str, str]) -> None:
    assert load_settings(argparse.Namespace(), env=xdg) == Settings()


def test_manifests_dir_is_the_repo_directory() -> None:
    path = manifests_dir()
    assert path.is_dir()
    assert path.name in ("manifests", "_manifests")


def test_strict_yaml_keeps_ordinary_nesting_and_refuses_the_pathological(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text("a: " + "[" * (MAX_YAML_DEPTH - 2) + "1" + "]" * (MAX_YAML_DEPTH - 2) + "\n")
    inner = read_yaml_file(path, what="file", hint="h")["a"]
    for _ in range(MAX_YAML_DEPTH - 3):
        inner = inner[0]
    assert inner == [1]
    path.write_text("a: " + "[" * MAX_YAML_DEPTH + "]" * MAX_YAML_DEPTH + "\n")
    with pytest.raises(ConfigError, match=f"nested more than {MAX_YAML_DEPTH} levels deep"):
        read_yaml_file(path, what="file", hint="h")


def test_duplicate_keys_are_refused_at_any_depth_and_in_flow_style(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    for text, key, line in (
        ("users:\n- name: a\n  user:\n    token: x\n    token: y\n", "token", 5),
        ("a: {b: 1, b: 2}\n", "b", 1),
        ("1: x\n1: y\n", "1", 2),
    ):
        path.write_text(text)
        with pytest.raises(ConfigError) as info:
            read_yaml_file(path, what="kubeconfig", hint="h")
        assert f"duplicate key '{key}' at line {line}" in info.value.message
