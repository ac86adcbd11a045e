"""The sandbox's Kubernetes REST API over aiohttp, one job per module.

- ``dispatch``: the aiohttp app, auth, error middleware, URL routing, forbid rules (:class:`ApiServer`);
- ``crud``: create/get/list/update/patch/delete and the scale/status subresources;
- ``watch``: watch streams and the notifier that wakes them;
- ``discovery``: ``/version``, aggregated and legacy discovery, OpenAPI v3;
- ``logs``: ``pods/log``; ``body``: request body decoding; ``encode``: cached JSON of objects and rows;
  ``wire``: Status errors, content negotiation and the parsed URL shared by all of them.
"""

from __future__ import annotations

from tui.sandbox.api.dispatch import ApiServer, ForbidRule, new_event_loop
from tui.sandbox.api.wire import dumps

__all__ = ["ApiServer", "ForbidRule", "dumps", "new_event_loop"]
