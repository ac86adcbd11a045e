"""Fixtures the sandbox API tests share."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.helpers import sandbox_client
from tui.sandbox.cluster import Sandbox


@pytest.fixture
def api(sandbox: Sandbox) -> Iterator[httpx.Client]:
    """An authenticated client for the function-scoped ``sandbox``."""
    with sandbox_client(sandbox) as c:
        yield c
