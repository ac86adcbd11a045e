"""Kubeconfig: which files, which context, and loading it into a client configuration.

We check the files ourselves first so a mistake gets one precise line instead of the loader's traceback.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes.config.config_exception import ConfigException

from tui.config import read_yaml_file
from tui.errors import ConfigError, register_secret
from tui.inputs import check_url
from tui.kube.errors import one_line


def kubeconfig_paths(path: str | None) -> list[str]:
    raw = path if path else os.environ.get("KUBECONFIG") or "~/.kube/config"
    return [os.path.expanduser(p) for p in raw.split(os.pathsep) if p]


@dataclass(frozen=True)
class KubeconfigFacts:
    shown: str
    context: str
    namespace: str
    uses_exec: bool


def check_kubeconfig(paths: list[str], context: str | None) -> KubeconfigFacts:
    """Validate the files ourselves so the user gets one precise line instead of a loader traceback."""
    shown = os.pathsep.join(paths)
    existing = [p for p in paths if Path(p).is_file()]
    for p in paths:
        if Path(p).exists() and not Path(p).is_file():
            raise ConfigError(f"kubeconfig {p} is not a file", hint="pass the path of a kubeconfig file")
    if not existing:
        raise ConfigError(
            f"kubeconfig {shown} does not exist",
            hint="pass --kubeconfig FILE, set KUBECONFIG, or use --sandbox",
        )
    contexts: dict[str, Mapping[str, Any]] = {}
    users: dict[str, Mapping[str, Any]] = {}
    current = ""
    for p in existing:
        doc = read_yaml_file(Path(p), what="kubeconfig", hint="fix the file or point --kubeconfig elsewhere")
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise ConfigError(f"kubeconfig {p} is not a kubeconfig (expected a mapping at the top level)")
        for key, into in (("contexts", contexts), ("users", users)):
            entries = doc.get(key) or []
            if not isinstance(entries, list):
                raise ConfigError(f"kubeconfig {p}: '{key}' must be a list")
            for item in entries:
                if isinstance(item, dict) and item.get("name"):
                    body = item.get(key[:-1])
                    into.setdefault(str(item["name"]), body if isinstance(body, dict) else {})
        if not current and doc.get("current-context"):
            current = str(doc["current-context"])
    if not contexts:
        raise ConfigError(f"kubeconfig {shown} has no contexts", hint="add a context or use --sandbox")
    chosen = context or current
    names = ", ".join(contexts)
    if not chosen:
        raise ConfigError(
            f"kubeconfig {shown} has no current-context", hint=f"pass --context (one of: {names})"
        )
    if chosen not in contexts:
        raise ConfigError(f"context '{chosen}' is not in kubeconfig {shown}", hint=f"use one of: {names}")
    ctx = contexts[chosen]
    user = users.get(str(ctx.get("user") or ""), {})
    return KubeconfigFacts(
        shown=shown,
        context=chosen,
        namespace=str(ctx.get("namespace") or "default"),
        uses_exec=bool(user.get("exec")),
    )


class _LogCapture(logging.Handler):
    """The client logs (instead of raising) when an exec plugin fails; we want that text in our error."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


_TOKEN_KEY = "BearerToken"  # where the client keeps "Bearer <token>" (or "Basic <user:password>")


@dataclass(frozen=True)
class LoadedConfig:
    configuration: k8s_client.Configuration
    facts: KubeconfigFacts
    kubeconfig: str  # the file(s), joined as in $KUBECONFIG


def load_configuration(*, path: str | None, context: str | None) -> LoadedConfig:
    """Load (exec plugins included). ConfigError for a missing/malformed file or an unknown context."""
    paths = kubeconfig_paths(path)
    facts = check_kubeconfig(paths, context)
    where = f"kubeconfig {facts.shown}, context '{facts.context}'"
    configuration = k8s_client.Configuration()
    capture = _LogCapture()
    root = logging.getLogger()
    if not root.handlers:
        # The client calls logging.error() when a token refresh fails; on a bare root logger that runs
        # basicConfig() and every later library warning would print over the TUI.
        root.addHandler(logging.NullHandler())
    root.addHandler(capture)
    try:
        k8s_config.load_kube_config(
            config_file=os.pathsep.join(paths),
            context=facts.context,
            client_configuration=configuration,
            persist_config=False,
        )
    except (ConfigException, KeyError, TypeError, ValueError, AttributeError, OSError) as exc:
        detail = one_line(str(exc)) or type(exc).__name__
        raise ConfigError(f"{where}: {detail}", hint="fix the kubeconfig entry") from None
    finally:
        root.removeHandler(capture)
    if facts.uses_exec and not configuration.api_key and not configuration.cert_file:
        why = "; ".join(one_line(m) for m in capture.messages) or "it returned no credentials"
        raise ConfigError(
            f"{where}: the exec credential plugin failed: {why}",
            hint="run the plugin command by hand to see why",
        )
    try:
        check_url(str(configuration.host or ""), what="server", schemes=("https", "http"), example="")
    except ConfigError as err:
        why = f"the cluster has no valid server URL: {err.message}"
        raise ConfigError(f"{where}: {why}", hint="fix clusters[].cluster.server") from None
    _clean_token(configuration, where=where)
    refresh = configuration.refresh_api_key_hook
    if refresh is not None:
        # Before every request the client re-copies its raw token into the configuration, and re-installs its
        # own hook while doing so; put ours back each time.
        def refresh_clean(conf: k8s_client.Configuration) -> None:
            refresh(conf)
            conf.refresh_api_key_hook = refresh_clean
            _clean_token(conf, where=where)

        configuration.refresh_api_key_hook = refresh_clean
    return LoadedConfig(configuration=configuration, facts=facts, kubeconfig=os.pathsep.join(paths))


def _clean_token(configuration: k8s_client.Configuration, *, where: str) -> None:
    """Trim the token as kubectl does (a tokenFile normally ends in a newline) and register it for redaction.

    A token with whitespace or a control character inside would only fail later, deep in the HTTP library,
    with the token in the message; refuse it here without showing it."""
    value = configuration.api_key.get(_TOKEN_KEY)
    if not value:
        return
    scheme, _, token = str(value).partition(" ")
    token = token.strip()
    register_secret(token)
    if not token or any(ch.isspace() or not ch.isprintable() for ch in token):
        raise ConfigError(
            f"{where}: the user's token is empty or has spaces or control characters inside",
            hint="fix users[].user.token or the file named by tokenFile",
        )
    configuration.api_key[_TOKEN_KEY] = f"{scheme} {token}"
