"""LoopbackBotApiServer: the FakeBotApi behind real HTTP on 127.0.0.1, Telegram URL scheme.

An asyncio server (keep-alive HTTP/1.1, one task per connection), so a pending getUpdates long
poll never blocks other requests. ``async with`` runs it on the caller's event loop: no extra
thread, hence no GIL ping-pong that would distort a 200-user benchmark. Sync ``with`` (or
``own_thread=True``) runs it on a private loop in a daemon thread instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import threading
from http import HTTPStatus
from types import TracebackType
from typing import Self
from urllib.parse import unquote, urlsplit

from tests.fakebot.api import FakeBotApi
from tests.fakebot.faults import LostReply, lost_reply, wire_payload
from tests.fakebot.wire import parse_body

HOST = "127.0.0.1"  # never anything else: this is a test double, not a service
_METHOD_PATH = re.compile(r"/bot([^/]+)/([A-Za-z]+)/?")
_NOT_FOUND = json.dumps({"ok": False, "error_code": 404, "description": "Not Found"}).encode()
# How long a withheld answer (timeout_after_delivery) waits for the client to give up.
LOST_REPLY_HANG = 60.0
Response = tuple[int, bytes, str, LostReply | None]  # status, payload, content type, lost?


async def _read_request(
    reader: asyncio.StreamReader,
) -> tuple[str, str, dict[str, str], bytes] | None:
    """(version, target, headers, body) of the next request, or None when the client is done."""
    request_line = await reader.readline()
    parts = request_line.decode("latin-1").split()
    if len(parts) != 3:
        return None
    _, target, version = parts
    headers: dict[str, str] = {}
    while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
        key, _, value = line.decode("latin-1").partition(":")
        headers[key.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = bytearray()
        while size := int((await reader.readline()).split(b";")[0].strip() or b"0", 16):
            body += await reader.readexactly(size)
            await reader.readline()
        await reader.readline()  # CRLF after the last chunk
        return version, target, headers, bytes(body)
    length = int(headers.get("content-length") or 0)
    return version, target, headers, await reader.readexactly(length) if length else b""


class LoopbackBotApiServer:
    """Serves ``POST /bot<TOKEN>/<method>`` (form, multipart or JSON) from a FakeBotApi.

    Binds 127.0.0.1 on a free port. Use ``async with`` / astart()+astop() (same loop, or a
    private thread with own_thread=True) or ``with`` / start()+stop() (always a private thread).
    Stopping answers pending long polls with an empty batch and then drops connections.
    Injected faults: error pages go out as text/html with their status; a lost reply
    (timeout_after_delivery) is performed, then the connection closes without an answer,
    after the client hangs up (read timeout) or at once with drop=True.
    """

    def __init__(self, fake: FakeBotApi, *, own_thread: bool = False) -> None:
        self.fake = fake
        self.own_thread = own_thread
        self._server: asyncio.Server | None = None
        self._port: int | None = None
        self._thread: threading.Thread | None = None
        self._thread_loop: asyncio.AbstractEventLoop | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._busy = 0
        self._idle: asyncio.Event | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("server not started")
        return self._port

    @property
    def base_url(self) -> str:
        """For ``ApplicationBuilder().base_url(...)``; PTB appends the token itself."""
        return f"http://{HOST}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """For ``ApplicationBuilder().base_file_url(...)`` (File.download_* requests)."""
        return f"http://{HOST}:{self.port}/file/bot"

    # --- lifecycle --------------------------------------------------------------------------

    async def astart(self) -> Self:
        if self.own_thread:
            return await asyncio.to_thread(self.start)
        await self._open()
        return self

    async def astop(self) -> None:
        if self._thread is not None:
            await asyncio.to_thread(self.stop)  # joining the thread would block the loop
        else:
            await self._close()

    def start(self) -> Self:
        """Serve from a private event loop in a daemon thread."""
        if self._port is not None:
            return self
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="fakebot-http", daemon=True)
        thread.start()
        asyncio.run_coroutine_threadsafe(self._open(), loop).result(timeout=5)
        self._thread, self._thread_loop = thread, loop
        return self

    def stop(self) -> None:
        if self._port is None:
            return
        loop, thread = self._thread_loop, self._thread
        if loop is None or thread is None:
            raise RuntimeError("started on an event loop: use `await server.astop()`")
        asyncio.run_coroutine_threadsafe(self._close(), loop).result(timeout=5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()
        self._thread = self._thread_loop = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        return await self.astart()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.astop()

    async def _open(self) -> None:
        if self._server is not None:
            return
        self._stopping = False
        self._idle = asyncio.Event()
        self._idle.set()
        self._server = await asyncio.start_server(self._serve, HOST, 0)
        self._port = int(self._server.sockets[0].getsockname()[1])

    async def _close(self) -> None:
        server, idle = self._server, self._idle
        if server is None or idle is None:
            return
        self._stopping = True
        server.close()
        self.fake.wake_pollers()  # pending long polls see _stopping and answer right away
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(idle.wait(), timeout=1.0)
        for task in list(self._connections):  # idle keep-alive connections
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        await server.wait_closed()
        self._server = self._idle = self._port = None

    # --- HTTP -------------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            while not self._stopping:
                request = await _read_request(reader)
                if request is None:
                    break
                version, target, headers, body = request
                status, payload, content_type, lost = await self._tracked(target, headers, body)
                if lost is not None:
                    await self._withhold(reader, lost)
                    break  # the connection closes without an answer
                keep_alive = version == "HTTP/1.1" and headers.get("connection") != "close"
                head = (
                    f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
                    f"Content-Type: {content_type}\r\nContent-Length: {len(payload)}\r\n"
                    f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
                )
                writer.write(head.encode("latin-1") + payload)  # one write: no Nagle stall
                await writer.drain()
                if not keep_alive:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass  # client went away (e.g. PTB cancelled a long poll) or sent garbage
        finally:
            self._connections.discard(task)
            writer.close()

    async def _withhold(self, reader: asyncio.StreamReader, lost: LostReply) -> None:
        """Answer nothing: wait until the client hangs up (httpx does so when its read timeout
        fires, so PTB raises TimedOut) or LOST_REPLY_HANG passes; drop=True returns at once.

        Not counted as in flight, so stopping the server cancels the wait instead of waiting.
        """
        if lost.drop:
            return
        with contextlib.suppress(TimeoutError, ConnectionError):
            await asyncio.wait_for(reader.read(1), LOST_REPLY_HANG)  # b"" once the client closed

    async def _tracked(self, target: str, headers: dict[str, str], body: bytes) -> Response:
        """Respond while counted as in flight, so shutdown can let long polls answer first."""
        assert self._idle is not None
        self._busy += 1
        self._idle.clear()
        try:
            return await self._respond(target, headers, body)
        finally:
            self._busy -= 1
            if not self._busy:
                self._idle.set()

    async def _respond(self, target: str, headers: dict[str, str], body: bytes) -> Response:
        url = urlsplit(target)
        path = unquote(url.path)
        if path.startswith("/file/bot"):  # {base_file_url}{token}/{file_path}
            content = self.fake.download(path.removeprefix("/file/bot").split("/", 1)[-1])
            if content is None:
                return 404, _NOT_FOUND, "application/json", None
            return 200, content, "application/octet-stream", None
        match = _METHOD_PATH.fullmatch(path)
        if match is None:
            return 404, _NOT_FOUND, "application/json", None
        try:
            params, files = parse_body(headers.get("content-type", ""), body, url.query)
        except ValueError as error:
            reply = {"ok": False, "error_code": 400, "description": f"Bad Request: {error}"}
            return 400, json.dumps(reply).encode(), "application/json", None
        status, answer = await self.fake.handle_async(
            match.group(2), params, files, abort=lambda: self._stopping
        )
        payload, content_type = wire_payload(answer)
        return status, payload, content_type, lost_reply(answer)
