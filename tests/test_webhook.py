"""Webhook mode over real HTTP on 127.0.0.1: the secret is checked before the body is read,
bodies are capped, updates go to a pluggable hand-off, and health reports the database."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from sqlalchemy import Engine, create_engine
from telegram import Update
from telegram.ext import ApplicationBuilder
from tornado.netutil import bind_sockets

from bot.webhook import (
    HEALTH_TIMEOUT_SECONDS,
    SECRET_HEADER,
    WEBHOOK_MAX_BODY,
    Accept,
    AnyApp,
    make_http_server,
    make_web_app,
    webhook_path,
)
from tests.fakebot import FAKE_TOKEN, FakeBotApi
from tests.fakebot.server import LoopbackBotApiServer
from tests.run_process import start_bridges_run
from tests.telegram_harness import Harness, bridges_on_fake

SECRET = "s3cret_token-for-tests"
PATH = "/telegram/hook"
MB = 1_048_576


@asynccontextmanager
async def serving(app: AnyApp, engine: Engine, accept: Accept | None = None) -> AsyncIterator[str]:
    """Our webhook server, with its production limits, on a free local port."""
    sockets = bind_sockets(0, "127.0.0.1")
    port = sockets[0].getsockname()[1]
    server = make_http_server(make_web_app(app, SECRET, PATH, engine, accept))
    server.add_sockets(sockets)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
        await server.close_all_connections()


@asynccontextmanager
async def webhook_server(tg: Harness, engine: Engine | None = None) -> AsyncIterator[str]:
    """The webhook server feeding the harness's real Application."""
    async with serving(tg.app, engine or tg.bridges.store.engine) as base:
        yield base


@asynccontextmanager
async def bare_server(
    tmp_path: Path, accept: Accept | None = None, engine: Engine | None = None
) -> AsyncIterator[tuple[str, AnyApp]]:
    """The webhook server on an Application that is built but never started: enough to
    see what reaches its update queue, without the rest of the bot."""
    app = ApplicationBuilder().token(FAKE_TOKEN).build()
    own = create_engine(f"sqlite:///{tmp_path}/bare.db")
    try:
        async with serving(app, engine or own, accept) as base:
            yield base, app
    finally:
        own.dispose()


class Recorder:
    """An `accept` that records what it was given and answers `status` (or raises)."""

    def __init__(self, status: int = 200, error: Exception | None = None) -> None:
        self.status = status
        self.error = error
        self.seen: list[dict[str, Any]] = []

    async def __call__(self, data: dict[str, Any]) -> int:
        self.seen.append(data)
        if self.error is not None:
            raise self.error
        return self.status


# --- A raw HTTP/1.1 client, so a test controls exactly which bytes are sent -----------

PIECE = b"x" * 65536


def _head(secret: str | None, length: int | None, path: str = PATH, method: str = "POST") -> bytes:
    """Request headers; `length` None means a chunked body."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    if secret is not None:
        lines.append(f"{SECRET_HEADER}: {secret}")
    lines.append("Transfer-Encoding: chunked" if length is None else f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def _push(writer: asyncio.StreamWriter, total: int, framing: str, end: bool = True) -> int:
    """Send up to `total` body bytes in 64 KB pieces and return how many the server let in
    before it closed the connection (all of them if it never did).

    framing: "length" (plain bytes after a Content-Length), "chunks" (one chunk per piece)
    or "one-chunk" (a single chunk announcing all `total` bytes). `end`: finish the body."""
    sent = 0
    with contextlib.suppress(ConnectionError):
        if framing == "one-chunk":
            writer.write(b"%x\r\n" % total)
        while sent < total:
            data = PIECE[: min(len(PIECE), total - sent)]
            writer.write(b"%x\r\n%s\r\n" % (len(data), data) if framing == "chunks" else data)
            await writer.drain()
            sent += len(data)
        if end and framing != "length":
            writer.write(b"\r\n0\r\n\r\n" if framing == "one-chunk" else b"0\r\n\r\n")
            await writer.drain()
    return sent


async def _answer(reader: asyncio.StreamReader, within: float = 5.0) -> tuple[int | None, bool]:
    """The status the server answered (None if none) and whether it then closed the
    connection (an end of stream, or a reset because body bytes were left unread)."""
    data = b""
    closed = False
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(within):
            try:
                while chunk := await reader.read(65536):
                    data += chunk
            except ConnectionError:
                pass
            closed = True
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else None
    return status, closed


async def _exchange(
    base: str, head: bytes, total: int, framing: str, end: bool = True, within: float = 5.0
) -> tuple[int | None, bool, int]:
    """Send `head`, then push a `total`-byte body (see _push) while reading the answer.

    Returns (status, closed, body bytes the server let in)."""
    host, port = base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(head)
        await writer.drain()
        pushing = asyncio.create_task(_push(writer, total, framing, end))
        status, closed = await _answer(reader, within)
        sent = await pushing
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    return status, closed, sent


def _rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


@contextlib.contextmanager
def peak_rss_growth() -> Iterator[list[int]]:
    """Samples this process's RSS every 2 ms from a thread; yields a list that holds, on
    exit, the peak growth over the starting RSS in bytes. (A body read and then freed
    shows only in the peak, not in the RSS afterwards.)"""
    before = _rss_bytes()
    peak = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.002):
            peak[0] = max(peak[0], _rss_bytes())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    grew: list[int] = []
    try:
        yield grew
    finally:
        done.set()
        sampler.join()
        grew.append(max(peak[0], _rss_bytes()) - before)


def test_the_path_comes_from_the_webhook_url() -> None:
    assert webhook_path("https://bot.example.org/telegram/hook") == "/telegram/hook"
    assert webhook_path("https://bot.example.org/") == "/telegram"


async def test_an_update_with_the_right_secret_is_processed(tmp_path: Path) -> None:
    async with (
        bridges_on_fake(f"sqlite:///{tmp_path}/bridges.db") as tg,
        webhook_server(tg) as base,
        httpx.AsyncClient(base_url=base) as http,
    ):
        update = tg.fake.make_text_update(1001, "/start")
        tg.fake.note_incoming(update)
        answer = await http.post(PATH, json=update, headers={SECRET_HEADER: SECRET})
        assert answer.status_code == 200
        [welcome] = await tg.fake.wait_for_messages(1001, 1)
        assert "Shall I tell you a little about how this works?" in (welcome.text or "")


async def test_a_missing_or_wrong_secret_gets_403_and_nothing_happens(tmp_path: Path) -> None:
    async with (
        bridges_on_fake(f"sqlite:///{tmp_path}/bridges.db") as tg,
        webhook_server(tg) as base,
        httpx.AsyncClient(base_url=base) as http,
    ):
        update = tg.fake.make_text_update(1001, "/start")
        missing = await http.post(PATH, json=update)
        wrong = await http.post(PATH, json=update, headers={SECRET_HEADER: SECRET + "x"})
        empty = await http.post(PATH, json=update, headers={SECRET_HEADER: ""})
        assert [missing.status_code, wrong.status_code, empty.status_code] == [403, 403, 403]
        # A valid one afterwards is the first the bot ever answers.
        ok = await http.post(PATH, json=update, headers={SECRET_HEADER: SECRET})
        assert ok.status_code == 200
        await tg.fake.wait_for_messages(1001, 1)
        assert len(tg.fake.messages(1001)) == 1


async def test_a_garbled_body_with_the_right_secret_is_a_400(tmp_path: Path) -> None:
    async with (
        bridges_on_fake(f"sqlite:///{tmp_path}/bridges.db") as tg,
        webhook_server(tg) as base,
        httpx.AsyncClient(base_url=base) as http,
    ):
        answer = await http.post(PATH, content=b"not json", headers={SECRET_HEADER: SECRET})
        assert answer.status_code == 400


async def test_health_reports_whether_the_database_answers(tmp_path: Path) -> None:
    async with bridges_on_fake(f"sqlite:///{tmp_path}/bridges.db") as tg:
        async with webhook_server(tg) as base, httpx.AsyncClient(base_url=base) as http:
            healthy = await http.get("/health")
        assert (healthy.status_code, healthy.json()) == (200, {"database": "ok"})

        # A database file in a folder that does not exist cannot be opened.
        gone = create_engine(f"sqlite:///{tmp_path}/no/such/folder/bridges.db")
        async with webhook_server(tg, gone) as base, httpx.AsyncClient(base_url=base) as http:
            sick = await http.get("/health")
        assert (sick.status_code, json.loads(sick.text)) == (503, {"database": "unreachable"})
        gone.dispose()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_bridges_run_webhook_sets_the_webhook_and_serves_it(tmp_path: Path) -> None:
    """The real `bridges run --webhook` command, configured only by environment variables."""
    fake = FakeBotApi()
    port = _free_port()
    url = f"https://bridges.example.org{PATH}"
    async with LoopbackBotApiServer(fake) as server:
        proc = await start_bridges_run(
            tmp_path, server.base_url, "--webhook",
            WEBHOOK_URL=url, WEBHOOK_SECRET=SECRET, PORT=str(port),
        )  # fmt: skip
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                for _ in range(300):  # the server is up once health answers
                    with contextlib.suppress(httpx.TransportError):
                        health = await http.get("/health")
                        break
                    await asyncio.sleep(0.1)
                assert health.status_code == 200
                [set_webhook] = fake.calls_to("setWebhook")
                assert set_webhook.params["url"] == url
                assert set_webhook.params["secret_token"] == SECRET
                update = fake.make_text_update(1001, "/start")
                rejected = await http.post(PATH, json=update)
                accepted = await http.post(PATH, json=update, headers={SECRET_HEADER: SECRET})
                assert (rejected.status_code, accepted.status_code) == (403, 200)
                [welcome] = await fake.wait_for_messages(1001, 1, timeout=30)
                assert "I'm Bridges" in (welcome.text or "")
        finally:
            proc.send_signal(signal.SIGINT)
            out, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    logs = (out + err).decode()
    assert proc.returncode == 0, logs
    assert FAKE_TOKEN not in logs and SECRET not in logs
    assert "Traceback" not in logs


# --- The webhook refuses before it reads -------------------------------------------------

FIFTY_MB = 50 * MB


@pytest.mark.parametrize("framing", ["length", "chunks"])
@pytest.mark.parametrize("secret", [None, "", SECRET + "x"])
async def test_an_unauthenticated_50_mb_body_is_refused_after_its_first_64_kb(
    tmp_path: Path, framing: str, secret: str | None
) -> None:
    """Only the headers and 64 KB of a 50 MB body are sent, and the body is left unfinished:
    the 403 and the close arrive anyway, so the server never waited for (or read) the rest."""
    recorder = Recorder()
    async with bare_server(tmp_path, recorder) as (base, _):
        head = _head(secret, FIFTY_MB if framing == "length" else None)
        started = time.monotonic()
        status, closed, sent = await _exchange(base, head, 65536, framing, end=False)
        took = time.monotonic() - started
    assert (status, closed, sent) == (403, True, 65536)
    assert took < 2
    assert recorder.seen == []


async def test_unauthenticated_50_mb_bodies_are_never_read_into_memory(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The client tries to push all 50 MB, four times: the server cuts each off at once, and
    the process (server and client share it) does not grow. Before, four 90 MB requests
    added 399 MB."""
    caplog.set_level(logging.INFO)
    recorder = Recorder()
    async with bare_server(tmp_path, recorder) as (base, _):
        await _exchange(base, _head(None, 100), 100, "length")  # warm up the code paths
        with peak_rss_growth() as grew:
            results = [
                await _exchange(base, _head(secret, length), FIFTY_MB, framing)
                for secret, length, framing in [
                    (None, FIFTY_MB, "length"),
                    ("wrong", FIFTY_MB, "length"),
                    (None, None, "chunks"),
                    ("wrong", None, "one-chunk"),
                ]
            ]
    print(f"let in per request: {[sent for *_, sent in results]}; peak RSS growth {grew}")
    assert [(status, closed) for status, closed, _ in results] == [(403, True)] * 4
    # The kernel's socket buffers take a few MB before the client learns of the close.
    assert all(sent < 16 * MB for *_, sent in results)
    assert grew[0] < 10 * MB
    assert recorder.seen == []
    # Refusals are quiet: tornado has nothing to complain about, and nothing was logged.
    assert [r for r in caplog.records if r.levelno >= logging.INFO] == []


@pytest.mark.parametrize("framing", ["chunks", "one-chunk"])
async def test_an_authenticated_chunked_body_over_1_mb_gets_413(
    tmp_path: Path, framing: str
) -> None:
    recorder = Recorder()
    async with bare_server(tmp_path, recorder) as (base, _):
        status, closed, sent = await _exchange(base, _head(SECRET, None), 2 * MB, framing)
    assert (status, closed) == (413, True)
    assert sent > WEBHOOK_MAX_BODY  # it was refused only once it had grown past the cap
    assert recorder.seen == []


async def test_an_authenticated_content_length_over_1_mb_gets_413_before_any_body(
    tmp_path: Path,
) -> None:
    recorder = Recorder()
    async with bare_server(tmp_path, recorder) as (base, _):
        over = await _exchange(base, _head(SECRET, WEBHOOK_MAX_BODY + 1), 0, "length", end=False)
        # The same with a 2 MB body on its way.
        pushed = await _exchange(base, _head(SECRET, 2 * MB), 2 * MB, "length")
        # A length too long to be a number Python will convert is still just "too big".
        huge = await _exchange(base, _head(SECRET, "9" * 5000), 0, "length", end=False)
    assert over == huge == (413, True, 0)
    assert pushed[:2] == (413, True)
    assert recorder.seen == []


async def test_other_routes_do_not_buffer_big_bodies_either(tmp_path: Path) -> None:
    """The server-wide cap: a 50 MB POST to /health or an unknown path is cut off at once
    (tornado answers 400) instead of being buffered for a handler that will not read it."""
    async with bare_server(tmp_path) as (base, _):
        for path in ["/health", "/nowhere"]:
            head = _head(None, FIFTY_MB, path=path)
            status, closed, sent = await _exchange(base, head, 65536, "length", end=False)
            assert (status, closed, sent) == (400, True, 65536)


def _padded(update: dict[str, Any], size: int) -> bytes:
    """The update's JSON padded with spaces to exactly `size` bytes (still valid JSON)."""
    body = json.dumps(update).encode()
    return body + b" " * (size - len(body))


async def test_a_body_of_exactly_1_mb_is_accepted_by_length_or_in_chunks(tmp_path: Path) -> None:
    recorder = Recorder()
    update = FakeBotApi().make_text_update(1001, "hello")
    body = _padded(update, WEBHOOK_MAX_BODY)

    async def in_chunks() -> AsyncIterator[bytes]:
        for at in range(0, len(body), 100_000):
            yield body[at : at + 100_000]

    async with bare_server(tmp_path, recorder) as (base, _), httpx.AsyncClient() as http:
        headers = {SECRET_HEADER: SECRET}
        by_length = await http.post(base + PATH, content=body, headers=headers)
        chunked = await http.post(base + PATH, content=in_chunks(), headers=headers)
    assert (by_length.status_code, chunked.status_code) == (200, 200)
    assert recorder.seen == [update, update]


# --- The hand-off is pluggable -----------------------------------------------------------


async def test_an_update_reaches_accept_and_its_status_is_the_answer(tmp_path: Path) -> None:
    update = FakeBotApi().make_text_update(1001, "hello")
    headers = {SECRET_HEADER: SECRET}
    for status in [200, 503]:
        recorder = Recorder(status)
        async with bare_server(tmp_path, recorder) as (base, app), httpx.AsyncClient() as http:
            answer = await http.post(base + PATH, json=update, headers=headers)
        assert answer.status_code == status
        assert recorder.seen == [update]
        assert app.update_queue.empty()  # accept replaces the default hand-off


async def test_an_accept_that_raises_is_a_503_and_logs_only_the_type(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = Recorder(error=RuntimeError("could not store: I feel hopeless"))
    update = FakeBotApi().make_text_update(1001, "I feel hopeless")
    async with bare_server(tmp_path, recorder) as (base, _), httpx.AsyncClient() as http:
        answer = await http.post(base + PATH, json=update, headers={SECRET_HEADER: SECRET})
    assert answer.status_code == 503
    assert recorder.seen == [update]
    assert "RuntimeError" in caplog.text
    assert "hopeless" not in caplog.text


async def test_by_default_an_update_goes_onto_the_update_queue(tmp_path: Path) -> None:
    update = FakeBotApi().make_text_update(1001, "hello")
    headers = {SECRET_HEADER: SECRET}
    async with bare_server(tmp_path) as (base, app), httpx.AsyncClient() as http:
        ok = await http.post(base + PATH, json=update, headers=headers)
        not_an_object = await http.post(base + PATH, json=[update], headers=headers)
    assert (ok.status_code, not_an_object.status_code) == (200, 400)
    queued = app.update_queue.get_nowait()
    assert isinstance(queued, Update) and queued.update_id == update["update_id"]
    assert app.update_queue.empty()


# --- Health answers promptly when the database hangs --------------------------------------


class HungDatabase:
    """Stands in for an Engine whose database takes the connection and never answers,
    until `release` is set; then it fails, as a dropped connection would."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.connects = 0

    @contextlib.contextmanager
    def connect(self) -> Any:
        self.connects += 1
        self.release.wait(30)
        raise ConnectionError("the database went away")
        yield  # a context manager that never enters


async def test_health_answers_503_within_the_timeout_when_the_database_hangs(
    tmp_path: Path,
) -> None:
    hung = HungDatabase()
    try:
        async with (
            bare_server(tmp_path, engine=cast(Engine, hung)) as (base, _),
            httpx.AsyncClient(base_url=base, timeout=30) as http,
        ):
            started = time.monotonic()
            first, second = await asyncio.gather(http.get("/health"), http.get("/health"))
            took = time.monotonic() - started
            third = await http.get("/health")
            assert [first.status_code, second.status_code, third.status_code] == [503] * 3
            assert first.json() == second.json() == third.json() == {"database": "timeout"}
            assert HEALTH_TIMEOUT_SECONDS <= took < HEALTH_TIMEOUT_SECONDS + 1
            # All three waited on the one hung check rather than each starting a thread.
            assert hung.connects == 1

            hung.release.set()  # the hung connection finally fails, and health says so
            after = await http.get("/health")
            assert (after.status_code, after.json()) == (503, {"database": "unreachable"})
    finally:
        hung.release.set()
