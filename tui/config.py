"""Settings: command-line flags win over environment variables, which win over the XDG config file.

The file is strict (an unknown key or a wrong type is an error naming the file and the key), because a typo
that is silently ignored is worse than a refusal to start.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

import tui
from tui import yamlsafe
from tui.errors import ConfigError
from tui.names import is_dns_label

APP_DIR = "istio-tui"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


# What `make image` builds; the sandbox's kubelet runs an istio-tui image as a local process.
DEFAULT_LOAD_IMAGE = "istio-tui:latest"


@dataclass(frozen=True)
class Settings:
    kubeconfig: str | None = None  # None: $KUBECONFIG or ~/.kube/config, resolved by tui.kube
    context: str | None = None  # None: the kubeconfig's current-context
    namespace: str | None = None  # None: the context's namespace, else "default"
    readonly: bool = False
    sandbox: bool = False
    load_image: str = DEFAULT_LOAD_IMAGE  # the image of in-cluster load pods (`traffic --in-cluster`)


_FILE_TYPES: dict[str, type] = {
    "kubeconfig": str,
    "context": str,
    "namespace": str,
    "readonly": bool,
    "sandbox": bool,
    "load_image": str,
}


def config_file_path(env: Mapping[str, str] = os.environ) -> Path:
    """$XDG_CONFIG_HOME/istio-tui/config.yaml, else ~/.config/istio-tui/config.yaml."""
    xdg = env.get("XDG_CONFIG_HOME", "")
    if xdg and os.path.isabs(xdg):
        base = Path(xdg)
    else:
        home = env.get("HOME")
        base = (Path(home) if home else Path.home()) / ".config"
    return base / APP_DIR / "config.yaml"


MAX_YAML_DEPTH = 100


def read_yaml_file(path: Path, *, what: str, hint: str) -> Any:
    """Parse a YAML file strictly (no duplicate keys, no alias bombs, at most ``MAX_YAML_DEPTH`` levels); an
    unreadable or invalid one is one ConfigError naming ``what`` and why."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{what} {path} cannot be read: {' '.join(str(exc).split())}") from None
    try:
        return yamlsafe.load(text, max_depth=MAX_YAML_DEPTH, unique_keys=True)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{what} {path} is not valid YAML{where}", hint=hint) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{what} {path}: {exc}", hint=hint) from None


def _read_file(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    data = read_yaml_file(path, what="config file", hint="fix or delete it")
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must be a mapping of settings", hint="e.g. 'readonly: true'")
    allowed = ", ".join(_FILE_TYPES)
    for key, value in data.items():
        expected = _FILE_TYPES.get(str(key))
        if expected is None:
            raise ConfigError(f"config file {path}: unknown key '{key}'", hint=f"known keys: {allowed}")
        if value is None:
            continue
        if not isinstance(value, expected):
            raise ConfigError(
                f"config file {path}: '{key}' must be a {expected.__name__}, not {type(value).__name__}",
                hint="e.g. 'readonly: true'" if expected is bool else f"e.g. '{key}: value'",
            )
    return {str(k): v for k, v in data.items() if v is not None}


def _env_bool(env: Mapping[str, str], name: str) -> bool | None:
    if name not in env:
        return None
    raw = env[name].strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigError(f"{name}={env[name]!r} is not a boolean", hint="use 1/0, true/false, yes/no or on/off")


def check_namespace(value: str, source: str) -> str:
    """``value`` when it is a namespace name; else a ConfigError naming ``source`` (a flag or a variable)."""
    if not is_dns_label(value):
        raise ConfigError(
            f"{source}: {value!r} is not a valid namespace name",
            hint="use lower-case letters, digits and '-' (at most 63), starting and ending alphanumeric",
        )
    return value


def refuse_sandbox_flag(args: argparse.Namespace) -> None:
    """Subcommands reach a cluster through a kubeconfig; ``--sandbox`` starts one only for the TUI."""
    if getattr(args, "sandbox", False):
        raise ConfigError(
            "--sandbox only serves the TUI",
            hint="run `istio-tui sandbox serve --kubeconfig FILE` and pass --kubeconfig FILE",
        )


def load_settings(args: argparse.Namespace, *, env: Mapping[str, str] = os.environ) -> Settings:
    """Merge flags > env > config file. Raises ConfigError for a bad file, variable or flag value."""
    path = config_file_path(env)
    file_values = _read_file(path)

    def pick(flag: str, env_names: tuple[str, ...]) -> tuple[str | None, str]:
        value = getattr(args, flag, None)
        if value is not None:
            if not str(value).strip():
                raise ConfigError(f"--{flag} needs a value", hint=f"leave out --{flag} to use the default")
            return str(value), f"--{flag}"
        for name in env_names:
            if env.get(name):
                return env[name], name
        if flag in file_values:
            return str(file_values[flag]), f"config file {path}, key '{flag}'"
        return None, ""

    kubeconfig, _ = pick("kubeconfig", ("ISTIO_TUI_KUBECONFIG", "KUBECONFIG"))
    context, _ = pick("context", ("ISTIO_TUI_CONTEXT",))
    namespace, ns_source = pick("namespace", ("ISTIO_TUI_NAMESPACE",))
    if namespace is not None:
        namespace = check_namespace(namespace, ns_source)

    def flag_bool(flag: str, env_name: str) -> bool:
        if getattr(args, flag, False):
            return True
        from_env = _env_bool(env, env_name)
        if from_env is not None:
            return from_env
        return bool(file_values.get(flag, False))

    return Settings(
        kubeconfig=kubeconfig,
        context=context,
        namespace=namespace,
        readonly=flag_bool("readonly", "ISTIO_TUI_READONLY"),
        sandbox=flag_bool("sandbox", "ISTIO_TUI_SANDBOX"),
        load_image=pick("load_image", ("ISTIO_TUI_LOAD_IMAGE",))[0] or DEFAULT_LOAD_IMAGE,
    )


def manifests_dir() -> Path:
    """The repo's ``manifests/`` (editable install) or its copy inside the wheel (``tui/_manifests``)."""
    package = Path(tui.__file__).resolve().parent
    for candidate in (package / "_manifests", package.parent / "manifests"):
        if candidate.is_dir():
            return candidate
    raise ConfigError(
        f"the manifests directory is missing (looked in {package}/_manifests and {package.parent}/manifests)",
        hint="reinstall istio-tui",
    )
