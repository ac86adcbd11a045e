"""Kubernetes ``Status`` failure bodies and the errors that carry them, worded as kube-apiserver words them.

Clients act on ``code`` and ``reason`` (client-go retries 429/5xx after ``Retry-After``, relists on 410
``Expired``), so each helper fixes both; ``tui.sandbox.store`` re-exports them for its callers.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from tui.errors import Conflict, Gone, Invalid, KubeError, NotFound

Obj = dict[str, Any]


def status_body(
    code: int,
    reason: str,
    message: str,
    *,
    name: str = "",
    kind: str = "",
    causes: list[dict[str, str]] | None = None,
) -> Obj:
    """A Kubernetes ``Status`` failure body."""
    body: Obj = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    details: Obj = {}
    if name:
        details["name"] = name
    if kind:
        details["kind"] = kind
    if causes:
        details["causes"] = causes
    if details:
        body["details"] = details
    return body


def not_found(key: str, name: str) -> NotFound:
    msg = f'{key} "{name}" not found'
    return NotFound(
        msg, code=404, reason="NotFound", status=status_body(404, "NotFound", msg, name=name, kind=key)
    )


def already_exists(key: str, name: str) -> Conflict:
    msg = f'{key} "{name}" already exists'
    return Conflict(
        msg,
        code=409,
        reason="AlreadyExists",
        status=status_body(409, "AlreadyExists", msg, name=name, kind=key),
    )


def conflict(key: str, name: str) -> Conflict:
    msg = (
        f'Operation cannot be fulfilled on {key} "{name}": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )
    return Conflict(
        msg, code=409, reason="Conflict", status=status_body(409, "Conflict", msg, name=name, kind=key)
    )


def invalid(key: str, name: str, kind: str, causes: list[dict[str, str]]) -> Invalid:
    detail = ", ".join(f"{c.get('field', '')}: {c.get('message', '')}" for c in causes)
    msg = f'{kind} "{name}" is invalid: {detail}'
    return Invalid(
        msg,
        code=422,
        reason="Invalid",
        status=status_body(422, "Invalid", msg, name=name, kind=key, causes=causes),
    )


def gone(rv: int, oldest: int) -> Gone:
    msg = f"too old resource version: {rv} ({oldest})"
    return Gone(msg, code=410, reason="Expired", status=status_body(410, "Expired", msg))


def too_large(rv: int, current: int) -> KubeError:
    """The API server's answer to a resourceVersion it has not reached (e.g. one from before a restart
    that lost the state): a 504 ``Timeout`` whose cause ``ResourceVersionTooLarge`` tells clients to list
    again. The real server first waits up to 3 s for its watch cache to catch up; our store is the source of
    truth and never lags, so it answers at once.
    """
    msg = f"Timeout: Too large resource version: {rv}, current: {current}"
    causes = [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}]
    status = status_body(504, "Timeout", msg, causes=causes)
    status["details"]["retryAfterSeconds"] = 1
    return KubeError(msg, code=504, reason="Timeout", status=status)


def state_busy(err: sqlite3.Error) -> KubeError:
    """A write the state file refused (another process holds a lock on it): nothing was changed, and
    clients such as client-go retry by themselves after ``Retry-After``."""
    msg = f"the sandbox state file refused the write ({err}); nothing was changed, retry shortly"
    status = status_body(503, "ServiceUnavailable", msg)
    status.setdefault("details", {})["retryAfterSeconds"] = 1
    return KubeError(msg, code=503, reason="ServiceUnavailable", status=status)
