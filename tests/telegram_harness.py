"""Builds the real Bridges Application on the fake Bot API, for transcript tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from telegram.ext import Application

from bot.core import Bridges
from bot.scheduler import Sweeper
from bot.sender import Sender
from bot.telegram_app import build_application
from dialogs.model import UserState
from dialogs.spec import FLOWS_DIR
from prompts import Catalog, default_catalog
from storage.repository import UserKey
from storage.tables import Conversation, OutboxRow, User
from tests.fakebot import FAKE_TOKEN, ChatDriver, FakeBotApi, InProcessRequest, running

FIXED_NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
USERS = User.__table__
OUTBOX = OutboxRow.__table__
START = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)  # a Sunday evening in UTC
FIRST_PROMPT = "How are you arriving today?"


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


async def onboard(
    chat: ChatDriver, zone_text: str = "Lisbon", time_label: str = "8:00", locale: str = "en"
) -> None:
    """Onboard with the usual answers, leaving the reach-out list for later: ends at the menu.
    `locale`: the language the buttons are read in (the chat's app language picks it)."""

    def label(key: str) -> str:
        return default_catalog().label(locale, key)

    await chat.send("/start")
    await chat.click(label("onboarding.welcome.more"))
    await chat.click(label("onboarding.about.ok"))
    await chat.click(label("onboarding.consent.keep"))
    await chat.send(zone_text)
    await chat.click(time_label)
    await chat.click(label("onboarding.measure_offer.skip"))  # the loneliness measure
    await chat.click(label("onboarding.invite.later"))


@dataclass
class ClockedBot:
    """The bot with a movable clock and a sweeper that tests call directly."""

    tg: Harness
    sweeper: Sweeper
    clock: Clock

    @property
    def sender(self) -> Sender:
        sender: Sender = self.tg.app.bot_data["adapter"].intake.sender
        return sender

    async def sweep(self) -> int:
        """One sweep, then wait until what it queued was sent (the sweep itself doesn't)."""
        queued = await self.sweeper.sweep(self.tg.app)
        await self.sender.idle()
        return queued

    async def outbox(self) -> list[dict[str, Any]]:
        """Rows still waiting to be sent. A sent row is deleted; one named in the sent
        journal up to SENT_DELETE_DELAY later (bot/sender.py), so those deletes are made
        first."""
        await self.sender.flush_deletes()
        with self.tg.bridges.store.engine.connect() as db:
            return [dict(r) for r in db.execute(select(OUTBOX)).mappings()]

    def next_checkin(self, user_id: int) -> datetime | None:
        return self._column(user_id, USERS.c.next_checkin_at)

    def next_reminder(self, user_id: int) -> datetime | None:
        return self._column(user_id, USERS.c.next_reminder_at)

    def active(self, user_id: int) -> bool:
        return bool(self._column(user_id, USERS.c.active))

    def turns(self, user_id: int) -> int:
        """How many turns were saved for them (the scheduler's included)."""
        conv = Conversation.__table__
        query = select(conv.c.version).join(USERS, USERS.c.id == conv.c.user_id)
        with self.tg.bridges.store.engine.connect() as db:
            return int(db.execute(query.where(USERS.c.external_id == str(user_id))).scalar_one())

    def set_column(self, user_id: int, **values: Any) -> None:
        with self.tg.bridges.store.engine.begin() as db:
            db.execute(update(USERS).where(USERS.c.external_id == str(user_id)).values(**values))

    def _column(self, user_id: int, column: Any) -> Any:
        with self.tg.bridges.store.engine.connect() as db:
            value = db.execute(
                select(column).where(USERS.c.external_id == str(user_id))
            ).scalar_one()
        if isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)  # SQLite keeps UTC without the offset
        return value


@asynccontextmanager
async def bridges_with_clock(
    tmp_path: Path, clock: Clock, rate_limit: bool = False, sweep_seconds: float | None = None
) -> AsyncIterator[ClockedBot]:
    """The whole bot on SQLite in tmp_path, with `clock` as its time and a sweeper to call."""
    fake = FakeBotApi()
    bridges = Bridges.open(f"sqlite:///{tmp_path}/bridges.db")
    app = build_application(
        bridges,
        FAKE_TOKEN,
        request=InProcessRequest(fake),
        updates_request=InProcessRequest(fake),
        clock=clock,
        rate_limit=rate_limit,
        sweep_seconds=sweep_seconds,
    )
    sender: Sender = app.bot_data["adapter"].intake.sender
    sender.first_backoff = 0.01  # retries without the real half-second waits
    sweeper = Sweeper(bridges, clock, sender=sender)
    try:
        async with running(app):
            yield ClockedBot(Harness(fake, app, bridges), sweeper, clock)
    finally:
        bridges.close()


def received(chat: ChatDriver) -> list[str]:
    """The texts of every message the chat received so far."""
    return [m.text or "" for m in chat.messages()]


async def new_messages(bot: ClockedBot, chat: ChatDriver) -> list[str]:
    """The texts one sweep sent to the chat."""
    before = len(chat.messages())
    await bot.sweep()
    return received(chat)[before:]
