"""PLACEHOLDER owned by a helper: replace whole file."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(__name__.split(".")[1])
    p.set_defaults(run=lambda args: 1)
