"""Map what the API server or the transport said to our error tree (``tui.errors``), as one short line."""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any

import urllib3

from tui.errors import Conflict, Forbidden, Gone, Invalid, KubeError, NotFound, Unauthorized, redact
from tui.kube.resources import Obj


def one_line(text: str) -> str:
    """Server and library text for our messages: one line, credentials redacted (a server may quote them)."""
    return redact(" ".join(str(text).split()))


def describe_transport_error(exc: BaseException) -> str:
    """A short human reason for a urllib3/socket failure (the raw text repeats pool and object reprs)."""
    reason: BaseException = exc
    if isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason is not None:
        reason = exc.reason
    text = str(reason)
    if isinstance(reason, urllib3.exceptions.NameResolutionError) or "Name or service not known" in text:
        return "the host name does not resolve (DNS)"
    if isinstance(reason, urllib3.exceptions.SSLError) or "SSL" in text or "CERTIFICATE" in text:
        detail = re.search(r"\[SSL[^\]]*\] ([^(]*)", text)
        return f"TLS failed: {detail.group(1).strip() if detail else one_line(text)}"
    if "Connection refused" in text or isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, urllib3.exceptions.TimeoutError | TimeoutError):
        return "the connection timed out"
    if isinstance(reason, urllib3.exceptions.ProtocolError) or "Connection aborted" in text:
        return "the connection was closed by the server"
    return one_line(text)[:200]


_HINTS: dict[int, str] = {
    400: "fix the request body",
    401: "check the token or client certificate of this kubeconfig user, or log in again",
    403: "ask a cluster admin for RBAC permission, or switch context",
    404: "check the name and namespace",
    409: "reload the object and try again",
    410: "list again",
    422: "fix the fields the server named",
}


def status_error(code: int, body: bytes, *, server: str, context: str, what: str) -> KubeError:
    """Turn a non-2xx answer into our error tree, keeping the server's Status."""
    status: Obj = {}
    with contextlib.suppress(ValueError, UnicodeDecodeError):
        parsed = json.loads(body)
        if isinstance(parsed, dict):
            status = parsed
    message = one_line(status.get("message") or body.decode("utf-8", "replace")[:300] or f"HTTP {code}")
    reason = str(status.get("reason") or "")
    hint = _HINTS.get(code, "")
    if reason == "AlreadyExists":
        hint = "pick another name or edit the existing object"
    elif code == 400 and what.startswith("logs of "):  # the request is fine: the container has no log yet
        hint = "no such run of the container has a log: describe the pod for its state"
    kwargs: dict[str, Any] = {"hint": hint, "code": code, "reason": reason, "status": status}
    if code == 401:
        return Unauthorized(
            f"{message}: the API server {server} rejected the credentials of context '{context}'", **kwargs
        )
    if code == 403:
        return Forbidden(message, **kwargs)
    if code == 404:
        return NotFound(message, **kwargs)
    if code == 409:
        return Conflict(message, **kwargs)
    if code == 410:
        return Gone(message, **kwargs)
    if code in (400, 422):
        return Invalid(message, **kwargs)
    return KubeError(f"{what} failed: {message} (HTTP {code})", **kwargs)
