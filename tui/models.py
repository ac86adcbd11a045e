"""Plain dataclasses the UI renders. Built from API dicts by pure functions; no I/O here."""

from __future__ import annotations
