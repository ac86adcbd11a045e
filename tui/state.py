"""Choices the app remembers per cluster (e.g. the Traffic pane's routing API), in the user's state dir.

A cluster is its kubeconfig context plus its API server URL, so two contexts of the same cluster, or one
context name reused for a new cluster, each keep their own choices. The file is small JSON; a missing or
damaged file reads as "nothing remembered" rather than stopping the app.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tui.errors import ConfigError
from tui.launch import state_dir

FILE_NAME = "clusters.json"


def cluster_key(*, context: str, server: str) -> str:
    return f"{context}@{server}"


def _path() -> Path:
    return state_dir() / FILE_NAME


def _read() -> dict[str, Any]:
    try:
        data = json.loads(_path().read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def remembered(key: str, name: str) -> str | None:
    """The value saved for ``name`` on the cluster ``key``, if any."""
    entry = _read().get(key)
    value = entry.get(name) if isinstance(entry, dict) else None
    return value if isinstance(value, str) else None


def remember(key: str, name: str, value: str) -> None:
    """Save ``name`` = ``value`` for the cluster ``key`` (atomically: a crash never leaves half a file)."""
    data = _read()
    entry = data.get(key)
    data[key] = {**(entry if isinstance(entry, dict) else {}), name: value}
    path = _path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
        os.replace(tmp, path)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ConfigError(f"cannot save {path}: {reason}", hint="check the state directory") from exc
