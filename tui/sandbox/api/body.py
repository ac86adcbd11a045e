"""Decoding request bodies (JSON, YAML, kubectl's protobuf) within the API server's limits.

A request body is read and parsed before anything is stored, so this is where hostile input is stopped:
more than 3 MiB is refused with 413 before it is read; YAML whose aliases would expand far beyond its own
size (a "billion laughs") is refused before it is expanded; nesting deeper than any Kubernetes object is a
400, never a RecursionError. Large bodies are parsed on a small dedicated thread pool, so other clients
keep being served meanwhile.
"""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import yaml
from aiohttp import web

from tui import yamlsafe
from tui.sandbox.api.wire import JSON, PROTOBUF, api_error, bad_request

MAX_BODY = 3 * 1024 * 1024  # kube-apiserver's MaxRequestBodyBytes
MAX_DEPTH = 200
INLINE_PARSE = 64 * 1024  # smaller bodies are parsed on the loop: a thread hop costs more than they do
_PARSERS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sandbox-body")
YAML_TYPES = ("application/yaml", "application/apply-patch+yaml")


def _check_depth(value: Any, data: bytes) -> None:
    """Iteratively bound the nesting depth of decoded JSON (deep values crash recursive code later)."""
    if data.count(b"{") + data.count(b"[") <= MAX_DEPTH:
        return  # too few brackets to nest that deep: the common case, at C speed
    level: list[Any] = [value]
    for _ in range(MAX_DEPTH + 1):
        nxt: list[Any] = []
        for v in level:
            if isinstance(v, dict):
                nxt.extend(c for c in v.values() if isinstance(c, dict | list))
            elif isinstance(v, list):
                nxt.extend(c for c in v if isinstance(c, dict | list))
        if not nxt:
            return
        level = nxt
    raise bad_request(f"the request body is nested deeper than {MAX_DEPTH} levels")


def decode(data: bytes, *, yaml_ok: bool) -> Any:
    """JSON, or (when ``yaml_ok``) YAML, as the API server decodes it; raises a 400 ApiError."""
    if not data.strip():
        raise bad_request("the request body is empty")
    try:
        value = json.loads(data)
    except RecursionError as err:
        raise bad_request(f"the request body is nested deeper than {MAX_DEPTH} levels") from err
    except (ValueError, UnicodeDecodeError) as err:
        if not yaml_ok:
            raise bad_request(f"couldn't decode the request body as JSON: {err}") from err
        try:
            value = yamlsafe.load(data, max_depth=MAX_DEPTH)
            value = json.loads(json.dumps(value, default=str))  # as the apiserver, YAML is read as JSON
        except yaml.YAMLError as yerr:
            raise bad_request(f"error decoding YAML body: yaml: {str(yerr).splitlines()[0]}") from yerr
    _check_depth(value, data)
    return value


async def read_body(request: web.Request, *, allow_yaml: bool = False) -> Any:
    data = await request.read()  # aiohttp answers 413 past client_max_size (MAX_BODY)
    ctype = (request.headers.get("Content-Type") or JSON).split(";", 1)[0].strip().lower()
    if ctype == PROTOBUF:
        try:
            from tui.sandbox import protobuf
        except ImportError as err:
            msg = f"the body of the request was in an unknown format - accepted media types include: {JSON}"
            raise api_error(415, "UnsupportedMediaType", msg) from err
        try:
            return protobuf.decode_body(data)
        except ValueError as err:
            raise bad_request(f"unable to decode protobuf body: {err}") from err
    return await decode_off_loop(data, yaml_ok=allow_yaml or ctype in YAML_TYPES)


async def decode_off_loop(data: bytes, *, yaml_ok: bool) -> Any:
    """:func:`decode`, on the parser pool when the body is big enough to stall other clients."""
    if len(data) <= INLINE_PARSE:
        return decode(data, yaml_ok=yaml_ok)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_PARSERS, lambda: decode(data, yaml_ok=yaml_ok))
