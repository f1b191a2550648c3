"""Over real HTTP on 127.0.0.1: the Application long-polls a loopback fake Bot API."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from bot.core import Bridges
from bot.telegram_app import build_application
from tests.fakebot import FAKE_TOKEN, ChatDriver, FakeBotApi, LoopbackBotApiServer, running
from tests.run_process import start_bridges_run
from tests.telegram_harness import onboard


async def test_onboarding_over_http_with_long_polling(tmp_path: Path) -> None:
    fake = FakeBotApi()
    bridges = Bridges.open(f"sqlite:///{tmp_path}/bridges.db")
    async with LoopbackBotApiServer(fake) as server:
        app = build_application(bridges, FAKE_TOKEN, base_url=server.base_url, rate_limit=True)
        async with running(app, polling=True):
            ada = ChatDriver(app, fake, user_id=1001, mode="http")
            bob = ChatDriver(app, fake, user_id=1002, first_name="Bob", mode="http")
            # Two people at once: each gets their own conversation, in order.
            await asyncio.gather(onboard(ada, "Tokyo", "7:30"), onboard(bob, "UTC-5", "9:00"))
    bridges.close()
    assert ada.last_text == "What would you like to do?"
    assert bob.last_text == "What would you like to do?"
    assert "Asia/Tokyo" in ada.transcript()
    assert "07:30" in ada.transcript()
    assert "UTC-5" in bob.transcript()
    assert fake.unanswered_callback_queries() == []
    assert fake.calls_to("getUpdates"), "the bot really long-polled"


async def test_bridges_run_uses_the_configured_api_base_url(tmp_path: Path) -> None:
    """The real `bridges run` command, configured only by environment variables."""
    fake = FakeBotApi()
    async with LoopbackBotApiServer(fake) as server:
        proc = await start_bridges_run(tmp_path, server.base_url, LOG_LEVEL="DEBUG")
        try:
            server.fake.push_update(fake.make_text_update(1001, "/start"))
            welcome = await fake.wait_for_messages(1001, 1, timeout=30)
            assert "I'm Bridges" in welcome[0].text
            assert {"menu", "help", "cancel", "start"} <= {c["command"] for c in fake.commands}
        finally:
            proc.send_signal(signal.SIGINT)
            out, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    logs = (out + err).decode()
    assert proc.returncode == 0, logs
    assert FAKE_TOKEN not in logs
    assert "Traceback" not in logs


async def test_bridges_run_without_a_token_explains_in_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run",
        env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    message = err.decode().strip()
    assert proc.returncode == 2
    assert out == b""
    assert "\n" not in message
    assert "BotFather" in message and "bridges chat" in message
    assert not list(tmp_path.iterdir()), "nothing is created without a token"
