"""The hot-loop HTTP/1.1 client against a raw loopback server that answers with exact bytes."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from tui.traffic.http1 import BadResponse, Http1Client

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[bool]]


class RawServer:
    """Calls ``handler(reader, writer, n)`` per request (n counts requests on the server); False closes."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[bytes] = []
        self.connections = 0
        self.server: asyncio.Server | None = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                self.requests.append(head)
                if not await self.handler(reader, writer, len(self.requests)):
                    return
        finally:
            writer.close()

    @property
    def url(self) -> str:
        assert self.server is not None
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/productpage?x=1"


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Handler], Awaitable[RawServer]]]:
    servers: list[asyncio.Server] = []

    async def start(handler: Handler) -> RawServer:
        raw = RawServer(handler)
        raw.server = await asyncio.start_server(raw._serve, "127.0.0.1", 0)
        servers.append(raw.server)
        return raw

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


def _reply(data: bytes, *, keep: bool = True) -> Handler:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> bool:
        writer.write(data)
        await writer.drain()
        return keep

    return handler


async def _get_many(url: str, n: int, **kwargs: object) -> list[tuple[int, bytes]]:
    client = Http1Client(url, timeout_s=2.0, **kwargs)  # type: ignore[arg-type]
    try:
        return [await client.get() for _ in range(n)]
    finally:
        await client.aclose()


async def test_content_length_keep_alive_reuses_one_connection(serve) -> None:
    raw = await serve(_reply(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/html\r\n\r\nhello"))
    assert await _get_many(raw.url, 3) == [(200, b"hello")] * 3
    assert raw.connections == 1
    first = raw.requests[0]
    assert first.startswith(b"GET /productpage?x=1 HTTP/1.1\r\n")
    assert b"\r\nHost: 127.0.0.1:" in first and b"Cookie" not in first


async def test_cookie_header_is_sent(serve) -> None:
    raw = await serve(_reply(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
    assert await _get_many(raw.url, 1, cookie="session=abc") == [(200, b"")]
    assert b"\r\nCookie: session=abc\r\n" in raw.requests[0]


async def test_chunked_body_with_extensions_and_trailers(serve) -> None:
    body = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-T: 1\r\n\r\n"
    )
    raw = await serve(_reply(body))
    assert await _get_many(raw.url, 2) == [(200, b"hello, world")] * 2
    assert raw.connections == 1


async def test_response_split_into_single_bytes(serve) -> None:
    data = b"HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"

    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> bool:
        for i in range(len(data)):
            writer.write(data[i : i + 1])
            await writer.drain()
            await asyncio.sleep(0)
        return True

    raw = await serve(trickle)
    assert await _get_many(raw.url, 2) == [(503, b"abc")] * 2


async def test_connection_close_and_http10_bodies(serve) -> None:
    close = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"
    raw = await serve(_reply(close, keep=False))
    assert await _get_many(raw.url, 3) == [(200, b"ok")] * 3
    assert raw.connections == 3
    raw = await serve(_reply(b"HTTP/1.0 200 OK\r\n\r\nuntil close", keep=False))
    assert await _get_many(raw.url, 2) == [(200, b"until close")] * 2


async def test_interim_100_and_no_body_statuses(serve) -> None:
    raw = await serve(_reply(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"))
    assert await _get_many(raw.url, 2) == [(204, b"")] * 2


async def test_idle_connection_closed_by_server_is_retried_once(serve) -> None:
    async def once_per_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1")
        await writer.drain()
        return False  # close after answering, without saying Connection: close

    raw = await serve(once_per_connection)
    client = Http1Client(raw.url, timeout_s=2.0)
    try:
        assert await client.get() == (200, b"1")
        for _ in range(100):
            if client._idle and client._idle[0].closed:
                break
            await asyncio.sleep(0.01)
        assert await client.get() == (200, b"1")
    finally:
        await client.aclose()
    assert len(raw.requests) == 2 and raw.connections == 2


async def test_close_mid_body_is_a_reset(serve) -> None:
    raw = await serve(_reply(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort", keep=False))
    with pytest.raises(ConnectionResetError):
        await _get_many(raw.url, 1)


@pytest.mark.parametrize(
    "data",
    [
        b"SSH-2.0-OpenSSH_9.2\r\n\r\n",
        b"HTTP/1.1 2xx OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
    ids=["not-http", "bad-status", "bad-length", "bad-chunk"],
)
async def test_garbage_is_bad_response(serve, data) -> None:
    raw = await serve(_reply(data))
    with pytest.raises(BadResponse):
        await _get_many(raw.url, 1)


async def test_timeout_and_refused() -> None:
    silent = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    client = Http1Client(f"http://127.0.0.1:{port}/", timeout_s=0.2)
    try:
        with pytest.raises(TimeoutError):
            await client.get()
        assert not client._all
    finally:
        await client.aclose()
        silent.close()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    with pytest.raises(ConnectionRefusedError):
        await _get_many(f"http://127.0.0.1:{closed}/", 1)
