"""argparse ``type=`` converters shared by the subcommands: a bad value gets one line and exit 2."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

from tui.names import is_dns_label


def count(text: str) -> int:
    """A whole number >= 1."""
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text!r}")
    return value


def count_up_to(limit: int) -> Callable[[str], int]:
    """A whole number within 1..``limit``."""

    def convert(text: str) -> int:
        value = count(text)
        if value > limit:
            raise argparse.ArgumentTypeError(f"must be at most {limit}, got {text!r}")
        return value

    return convert


def zero_or_more(text: str) -> int:
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text!r}")
    return value


def seconds(text: str) -> float:
    """A finite number of seconds > 0 (``nan``, ``inf`` and negatives are refused)."""
    value = _float(text, "a number of seconds")
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return value


def rate(text: str) -> float:
    value = _float(text, "a number of requests per second")
    if not (value >= 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be 0 (as fast as possible) or more, got {text!r}")
    return value


def namespace(text: str) -> str:
    """A namespace name (an RFC 1123 label), refused before any request is sent."""
    if not is_dns_label(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a valid namespace name (lower-case letters, digits and '-', at most 63)"
        )
    return text


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None


def _float(text: str, what: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
