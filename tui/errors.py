"""One error tree for the whole program.

Every message says what went wrong and what to do about it, so the UI and the CLI can show ``str(err)``
verbatim and never a traceback.
"""

from __future__ import annotations

import re
import sys
import threading

from tui.text import escape_controls

REDACTED = "<redacted>"
_MIN_SECRET_LEN = 8
# "Bearer <token>" where the value looks like one (8+ token characters, a digit or punctuation among them), so
# prose such as "bearer token expired" stays readable. Basic credentials are hidden by registration.
_TOKEN_CHARS = r"[A-Za-z0-9._~+/=-]"
_AUTH_VALUE = re.compile(rf"(?i)\b(bearer)(\s+)(?={_TOKEN_CHARS}*[0-9._~+/=-]){_TOKEN_CHARS}{{8,}}")
_secrets: set[str] = set()
_secrets_lock = threading.Lock()


def register_secret(value: str) -> None:
    """Remember a credential (a token, a password) so ``redact`` hides it wherever it shows up later."""
    value = value.strip()
    if len(value) >= _MIN_SECRET_LEN:
        with _secrets_lock:
            _secrets.add(value)


def redact(text: str) -> str:
    """Hide every registered credential and every ``Bearer`` token in ``text``."""
    with _secrets_lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        text = text.replace(secret, REDACTED)
    return _AUTH_VALUE.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)


def user_line(err: BaseException | str) -> str:
    """What the user may see of an error: credentials redacted, control characters escaped, one line.

    Every place that prints or notifies an error goes through here, so hostile or broken input (a token
    file, a URL with a newline) can neither leak a credential nor forge extra output lines.
    """
    if isinstance(err, BaseException) and not isinstance(err, IstioTuiError):
        text = f"unexpected {type(err).__name__}: {err}"
    else:
        text = str(err)
    return escape_controls(redact(text))


def print_error(prog: str, err: BaseException | str) -> None:
    """One line on stderr: ``prog: message``."""
    print(f"{prog}: {user_line(err)}", file=sys.stderr, flush=True)


class IstioTuiError(Exception):
    """Base of every error we expect and explain to the user."""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigError(IstioTuiError):
    """Bad settings, flags, kubeconfig or form input."""


class TrafficError(IstioTuiError):
    """A traffic run failed as a whole: the login was refused or a worker process died."""


class ToolMissing(IstioTuiError):
    """An external program such as helm is not installed."""


class ToolFailed(IstioTuiError):
    """An external program ran and failed; ``message`` carries its stderr."""


class PortInUse(IstioTuiError):
    """A port we were asked to listen on is taken."""


class KubeError(IstioTuiError):
    """A Kubernetes API call failed. Keeps the server's Status."""

    def __init__(
        self,
        message: str,
        *,
        hint: str = "",
        code: int = 0,
        reason: str = "",
        status: dict[str, object] | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.code = code
        self.reason = reason
        self.status = status or {}


class Unreachable(KubeError):
    """The API server did not answer: connection refused, DNS, TLS or timeout."""


class Unauthorized(KubeError):
    """401: the credentials were rejected."""


class Forbidden(KubeError):
    """403: RBAC denies the verb on the resource."""


class NotFound(KubeError):
    """404."""


class Conflict(KubeError):
    """409: already exists, or a stale resourceVersion."""


class Gone(KubeError):
    """410: a watch resourceVersion is too old; the caller must list again."""


class Invalid(KubeError):
    """400 or 422: the server rejected the body."""
