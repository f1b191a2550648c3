"""The whole bot on the fake Bot API with a clock the test moves, for delivery-fault tests.

Like tests/telegram_harness.py `bridges_on_fake`, plus what tests of the inbox, the
outbox and the sweep need: the Intake and Sender the Application uses, a Sweeper
sharing that sender, the time both see, and the outbox and inbox rows as they stand.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from bot.core import Bridges
from bot.intake import Intake
from bot.scheduler import Sweeper
from bot.sender import Sender
from bot.telegram_app import build_application
from storage.tables import InboxRow, OutboxRow, User
from tests.fakebot import FAKE_TOKEN, FakeBotApi, InProcessRequest, running
from tests.telegram_harness import Clock, Harness

# A Monday, 09:00 UTC: 09:00 in Lisbon, where `onboard` puts people.
USERS = User.__table__


@dataclass
class Rig(Harness):
    """A Harness plus the pieces of the delivery path (shapes: see module docstring)."""

    clock: Clock
    sweeper: Sweeper

    @property
    def intake(self) -> Intake:
        intake: Intake = self.app.bot_data["adapter"].intake
        return intake

    @property
    def sender(self) -> Sender:
        return self.intake.sender

    async def sweep(self) -> int:
        """One sweep, then wait until what it queued was sent or given up."""
        queued = await self.sweeper.sweep(self.app)
        await self.sender.idle()
        return queued

    async def outbox(self) -> list[dict[str, Any]]:
        """Rows still waiting to be sent. A sent row is deleted; one named in the sent
        journal up to SENT_DELETE_DELAY later (bot/sender.py), so those deletes are made
        first."""
        await self.sender.flush_deletes()
        with self.bridges.store.engine.connect() as db:
            return [dict(r) for r in db.execute(select(OutboxRow.__table__)).mappings()]

    def pending_updates(self) -> int:
        """Updates stored in the inbox whose turn has not run yet."""
        inbox = InboxRow.__table__
        query = select(func.count()).select_from(inbox).where(inbox.c.done_at.is_(None))
        with self.bridges.store.engine.connect() as db:
            return int(db.execute(query).scalar_one())

    def undelivered(self, user_id: int) -> bool:
        """Whether the person is marked: a reply to them was given up."""
        query = select(USERS.c.undelivered_at).where(USERS.c.external_id == str(user_id))
        with self.bridges.store.engine.connect() as db:
            return db.execute(query).scalar_one() is not None


@asynccontextmanager
async def bot_on_fake(
    database_url: str, *, rate_limit: bool = False, clock: Clock | None = None
) -> AsyncIterator[Rig]:
    """The real PTB Application on `database_url` and a fresh FakeBotApi, running.

    rate_limit=True uses the production AIORateLimiter (no retries inside it).
    """
    clock = clock or Clock()
    fake = FakeBotApi()
    bridges = Bridges.open(database_url)
    app = build_application(
        bridges,
        FAKE_TOKEN,
        request=InProcessRequest(fake),
        updates_request=InProcessRequest(fake),
        clock=clock,
        rate_limit=rate_limit,
    )
    sweeper = Sweeper(bridges, clock, sender=app.bot_data["adapter"].intake.sender)
    try:
        async with running(app):
            yield Rig(fake, app, bridges, clock, sweeper)
    finally:
        bridges.close()
