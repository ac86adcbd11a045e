"""Text that is safe to show or to write into a line-oriented file."""

from __future__ import annotations


def escape_controls(text: str) -> str:
    """Control characters become their backslash escapes (a newline becomes the two characters ``\\n``), so
    user text can never start a new line of output, of a log or of a generated script."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)
