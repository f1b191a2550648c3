"""Webhook mode over real HTTP on 127.0.0.1: the secret is checked, health reports the database."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from sqlalchemy import Engine, create_engine
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from bot.webhook import SECRET_HEADER, make_web_app, webhook_path
from tests.fakebot import FAKE_TOKEN, FakeBotApi
from tests.fakebot.server import LoopbackBotApiServer
from tests.run_process import start_bridges_run
from tests.telegram_harness import Harness, bridges_on_fake

SECRET = "s3cret_token-for-tests"
PATH = "/telegram/hook"


@asynccontextmanager
async def webhook_server(tg: Harness, engine: Engine | None = None) -> AsyncIterator[str]:
    """Our webhook server on a free local port, feeding the harness's real Application."""
    sockets = bind_sockets(0, "127.0.0.1")
    port = sockets[0].getsockname()[1]
    server = HTTPServer(make_web_app(tg.app, SECRET, PATH, engine or tg.bridges.store.engine))
    server.add_sockets(sockets)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
        await server.close_all_connections()


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
