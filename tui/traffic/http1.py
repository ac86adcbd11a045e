"""A minimal keep-alive HTTP/1.1 GET client on ``asyncio.Protocol``: the load engine's hot loop.

Why it exists: measured on this 2-core machine (see ``engine.py``), aiohttp's ``ClientSession`` costs about
150 us of CPU per 15 KB page and httpx on the aiohttp transport about 600 us, while this client costs about
70 us including classification. Sending one fixed GET over and over needs none of a general client's
machinery (cookie jars, redirects, hooks, header objects), so the bytes of the request are built once and
the response is read straight off the socket buffer.

It handles what a gateway or productpage can answer: Content-Length, chunked, and close-delimited bodies,
``Connection: close``, HTTP/1.0, 1xx interim responses, and a keep-alive connection the server closed while
it sat idle (the request is retried once on a fresh connection, as browsers do). The session cookie of a
login is taken from httpx (the project's HTTP API) and sent as a fixed ``Cookie`` header.
"""

from __future__ import annotations

import asyncio
import ssl
from urllib.parse import urlsplit

from tui import __version__

_MAX_HEAD = 64 * 1024


class BadResponse(Exception):
    """The server's bytes are not an HTTP/1.x response we can read."""


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection; at most one request in flight."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.keep_alive = True
        self.got_bytes = False
        self._buf = bytearray()
        self._waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self._status = 0
        self._mode = ""  # "" = reading the head; then "length", "chunked" or "close"
        self._need = 0
        self._chunks: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self._buf += data
        self.got_bytes = True
        if self._waiter is not None:
            try:
                self._advance()
            except BadResponse as err:
                self._fail(err)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._waiter is None or self._waiter.done():
            return
        if self._mode == "close":
            self._finish(bytes(self._buf))
        else:
            self._fail(ConnectionResetError("the server closed the connection before the response ended"))

    def request(self, data: bytes) -> asyncio.Future[tuple[int, bytes]]:
        assert self.transport is not None
        if self._buf:
            raise BadResponse("the server sent bytes nobody asked for")
        self._waiter = asyncio.get_running_loop().create_future()
        self._mode = ""
        self.got_bytes = False
        self.transport.write(data)
        return self._waiter

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    def _finish(self, body: bytes) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result((self._status, body))

    def _fail(self, err: Exception) -> None:
        waiter, self._waiter = self._waiter, None
        self.keep_alive = False
        if waiter is not None and not waiter.done():
            waiter.set_exception(err)
        self.abort()

    def _advance(self) -> None:
        buf = self._buf
        while not self._mode:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > _MAX_HEAD:
                    raise BadResponse("response head larger than 64 KiB")
                return
            head = bytes(buf[:end])
            del buf[: end + 4]
            self._parse_head(head)
        if self._mode == "length":
            if len(buf) >= self._need:
                body = bytes(buf[: self._need])
                del buf[: self._need]
                self._finish(body)
        elif self._mode == "chunked":
            self._advance_chunks()

    def _parse_head(self, head: bytes) -> None:
        lines = head.split(b"\r\n")
        status_line = lines[0]
        if not status_line.startswith(b"HTTP/1.") or len(status_line) < 12 or not status_line[9:12].isdigit():
            raise BadResponse(f"not an HTTP/1.x status line: {status_line[:40]!r}")
        status = int(status_line[9:12])
        if 100 <= status < 200:
            return
        self._status = status
        length = -1
        chunked = False
        keep_alive = status_line[7:8] == b"1"
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                try:
                    length = int(value.strip())
                except ValueError:
                    raise BadResponse(f"bad Content-Length {value.strip()[:20]!r}") from None
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                token = value.strip().lower()
                if token == b"close":
                    keep_alive = False
                elif token == b"keep-alive":
                    keep_alive = True
        self.keep_alive = keep_alive
        if status in (204, 304):
            self._mode, self._need = "length", 0
        elif chunked:
            self._mode, self._need, self._chunks = "chunked", -1, []
        elif length >= 0:
            self._mode, self._need = "length", length
        else:
            self._mode, self.keep_alive = "close", False

    def _advance_chunks(self) -> None:
        """``_need`` is -1 while a size line is due, else the bytes of chunk data plus CRLF still to come."""
        buf = self._buf
        while True:
            if self._need < 0:
                eol = buf.find(b"\r\n")
                if eol < 0:
                    return
                try:
                    size = int(bytes(buf[:eol]).split(b";", 1)[0].strip(), 16)
                except ValueError:
                    raise BadResponse(f"bad chunk size line {bytes(buf[:eol])[:20]!r}") from None
                if size == 0:
                    # The last chunk; then optional trailer fields and an empty line.
                    if buf[eol + 2 : eol + 4] == b"\r\n":
                        end = eol + 4
                    else:
                        end = buf.find(b"\r\n\r\n", eol + 2)
                        if end < 0:
                            return
                        end += 4
                    del buf[:end]
                    self._finish(b"".join(self._chunks))
                    return
                del buf[: eol + 2]
                self._need = size + 2
            if len(buf) < self._need:
                return
            self._chunks.append(bytes(buf[: self._need - 2]))
            del buf[: self._need]
            self._need = -1


class Http1Client:
    """GETs one URL over a small pool of keep-alive connections; one request per connection at a time."""

    def __init__(self, url: str, *, timeout_s: float, cookie: str = "") -> None:
        parts = urlsplit(url)
        self._host = parts.hostname or ""
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._ssl: ssl.SSLContext | None = ssl.create_default_context() if parts.scheme == "https" else None
        self._timeout = timeout_s
        self._idle: list[_Connection] = []
        self._all: set[_Connection] = set()
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._path = target
        self._netloc = parts.netloc
        self.set_cookie(cookie)

    def set_cookie(self, cookie: str) -> None:
        extra = f"Cookie: {cookie}\r\n" if cookie else ""
        self._request = (
            f"GET {self._path} HTTP/1.1\r\nHost: {self._netloc}\r\nUser-Agent: istio-tui/{__version__}\r\n"
            f"Accept: text/html,*/*\r\n{extra}\r\n"
        ).encode("latin-1")

    async def get(self) -> tuple[int, bytes]:
        async with asyncio.timeout(self._timeout):
            conn, reused = await self._acquire()
            try:
                try:
                    result = await conn.request(self._request)
                except ConnectionResetError:
                    # A keep-alive connection the server closed while idle: retry once, fresh.
                    if not reused or conn.got_bytes:
                        raise
                    self._drop(conn)
                    conn, _ = await self._connect()
                    result = await conn.request(self._request)
            except BaseException:
                self._drop(conn)
                raise
        if conn.keep_alive and not conn.closed:
            self._idle.append(conn)
        else:
            self._drop(conn)
        return result

    def _drop(self, conn: _Connection) -> None:
        conn.abort()
        self._all.discard(conn)

    async def _acquire(self) -> tuple[_Connection, bool]:
        while self._idle:
            conn = self._idle.pop()
            if not conn.closed:
                return conn, True
            self._all.discard(conn)
        return await self._connect()

    async def _connect(self) -> tuple[_Connection, bool]:
        loop = asyncio.get_running_loop()
        sni = self._host if self._ssl else None
        _, conn = await loop.create_connection(
            _Connection, self._host, self._port, ssl=self._ssl, server_hostname=sni
        )
        self._all.add(conn)
        return conn, False

    async def aclose(self) -> None:
        for conn in list(self._all):
            conn.abort()
        self._all.clear()
        self._idle.clear()
