"""Builds the real Bridges Application on the fake Bot API, for transcript tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from telegram.ext import Application

from bot.core import Bridges
from bot.telegram_app import build_application
from dialogs.model import UserState
from dialogs.spec import FLOWS_DIR
from prompts import Catalog
from storage.repository import UserKey
from tests.fakebot import FAKE_TOKEN, ChatDriver, FakeBotApi, InProcessRequest, running

FIXED_NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


class Clock:
    """A time the bot (turns, sender, sweep) sees; tests move it with `set`."""

    def __init__(self, now: datetime = FIXED_NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, at: datetime) -> None:
        self.now = at


@dataclass
class Harness:
    fake: FakeBotApi
    app: Application[Any, Any, Any, Any, Any, Any]
    bridges: Bridges

    def chat(self, user_id: int = 1001, **kwargs: Any) -> ChatDriver:
        return ChatDriver(self.app, self.fake, user_id=user_id, **kwargs)

    def state(self, user_id: int = 1001) -> UserState:
        return self.bridges.store.load(UserKey("telegram", str(user_id)))


@asynccontextmanager
async def bridges_on_fake(
    database_url: str,
    fake: FakeBotApi | None = None,
    now: datetime = FIXED_NOW,
    flows: Path = FLOWS_DIR,
    catalog: Catalog | None = None,
) -> AsyncIterator[Harness]:
    """The whole bot, in-process: real PTB Application, real database, fake Telegram.
    `flows` and `catalog`: other dialog files and prompts than the shipped ones."""
    fake = fake or FakeBotApi()
    bridges = Bridges.open(database_url, flows=flows, catalog=catalog)
    app = build_application(
        bridges,
        FAKE_TOKEN,
        request=InProcessRequest(fake),
        updates_request=InProcessRequest(fake),
        clock=lambda: now,
        rate_limit=False,
    )
    try:
        async with running(app):
            yield Harness(fake, app, bridges)
    finally:
        bridges.close()


async def onboard(chat: ChatDriver, zone_text: str = "Lisbon", time_label: str = "8:00") -> None:
    """Onboard with the usual answers, leaving the reach-out list for later: ends at the menu."""
    await chat.send("/start")
    await chat.click("Tell me more")
    await chat.click("Okay, got it")
    await chat.click("Yes, keep my answers")
    await chat.send(zone_text)
    await chat.click(time_label)
    await chat.click("Skip for now")  # the loneliness measure
    await chat.click("Maybe later")
