"""Rules for text a user hands us that ends up in a URL, a path or a generated script.

One place, so the install plan, the traffic CLI and any later caller refuse the same things the same way:
whitespace and control characters (a newline in a value is how a script gets an extra command), URLs that do
not parse, name no host or carry a password.
"""

from __future__ import annotations

import string
from urllib.parse import SplitResult, urlsplit

from tui.errors import ConfigError

# RFC 3986: unreserved, reserved and "%" of percent-encoding; anything else must be percent-encoded.
_URL_CHARS = frozenset(string.ascii_letters + string.digits + "-._~:/?#[]@!$&'()*+,;=%")


def check_printable(text: str, *, what: str) -> str:
    """``text`` unchanged, or ConfigError if it is empty or holds a control character (spaces are fine)."""
    if not text:
        raise ConfigError(f"{what} is empty")
    if any(ch != " " and (ch.isspace() or not ch.isprintable()) for ch in text):
        raise ConfigError(f"{what} {text!r} contains a control character", hint="remove line breaks and tabs")
    return text


def check_plain(text: str, *, what: str) -> str:
    """Like ``check_printable``, and no spaces either."""
    check_printable(text, what=what)
    if " " in text:
        raise ConfigError(f"{what} {text!r} contains a space", hint="spaces are not allowed here")
    return text


def check_url(text: str, *, what: str, schemes: tuple[str, ...], example: str) -> SplitResult:
    """Parse ``text`` as an absolute URL with one of ``schemes`` and a host; ConfigError naming ``what``."""
    check_plain(text, what=what)
    stray = next((ch for ch in text if ch not in _URL_CHARS), None)
    if stray is not None:
        raise ConfigError(
            f"{what} {text!r} contains {stray!r}, which a URL cannot hold", hint="percent-encode it"
        )
    try:
        parts = urlsplit(text)
        _ = parts.port  # a bad port only raises when read
    except ValueError as exc:
        raise ConfigError(f"{what} {text!r} is not a valid URL: {exc}", hint=f"e.g. {example}") from None
    if parts.username is not None or parts.password is not None:
        # Not echoed: the text holds a credential.
        raise ConfigError(f"{what} must not carry a user name or password", hint=f"e.g. {example}")
    if parts.scheme.lower() not in schemes or not parts.hostname:
        wanted = " or ".join(f"{s}://" for s in schemes)
        raise ConfigError(
            f"{what} must start with {wanted} and name a host, got {text!r}", hint=f"e.g. {example}"
        )
    return parts
