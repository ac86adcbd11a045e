"""Decoding request bodies: JSON, YAML (kubectl and helm send either) and kubectl's protobuf."""

from __future__ import annotations

import json
from typing import Any

import yaml
from aiohttp import web

from tui.sandbox.api.wire import JSON, PROTOBUF, api_error, bad_request

MAX_BODY = 64 * 1024 * 1024


async def read_body(request: web.Request, *, allow_yaml: bool = False) -> Any:
    data = await request.read()
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
    if not data.strip():
        raise bad_request("the request body is empty")
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as err:
        if allow_yaml or ctype in ("application/yaml", "application/apply-patch+yaml"):
            try:
                return yaml.safe_load(data)
            except yaml.YAMLError as yerr:
                raise bad_request(f"error decoding YAML body: {str(yerr).splitlines()[0]}") from yerr
        raise bad_request(f"couldn't decode the request body as JSON: {err}") from err
