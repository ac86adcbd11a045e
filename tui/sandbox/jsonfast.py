"""JSON encoding and deep copies through orjson, several times faster than the standard library.

Pod creates spend most of their server time copying and encoding objects (each write copies the object into
the store and each response and watch event encodes it), so these are the sandbox's hottest functions. The
standard library stays the fallback for what orjson refuses (integers beyond 64 bits, NaN), so what was
storable before still is.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

# Types the standard library refuses stay refused (through the fallback), so "storable" means the same.
_OPTS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def dumps(obj: Any) -> bytes:
    """Compact UTF-8 JSON."""
    try:
        return orjson.dumps(obj, option=_OPTS)
    except (orjson.JSONEncodeError, OverflowError):
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def deep_copy(obj: Any) -> Any:
    """A deep copy of JSON-only data (dicts, lists, strings, numbers, booleans, None), as the data would come
    back from the wire: tuples become lists and keys become strings."""
    try:
        return orjson.loads(orjson.dumps(obj, option=_OPTS))
    except (orjson.JSONEncodeError, orjson.JSONDecodeError, OverflowError):
        return json.loads(json.dumps(obj))
