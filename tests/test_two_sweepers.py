"""Two bot processes sweeping one database: every due person gets exactly one check-in."""

from __future__ import annotations

import asyncio
from collections import Counter
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from bot.core import Bridges
from bot.scheduler import Sweeper
from bot.telegram_app import build_application
from storage.tables import User
from tests.fakebot import FAKE_TOKEN, FakeBotApi, InProcessRequest, running

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
PEOPLE = 1000
FIRST_ID = 500_000


def seed_due_people(bridges: Bridges) -> None:
    """1,000 onboarded people whose check-in was due a minute ago (nudges off)."""
    rows = [
        {
            "channel": "telegram", "external_id": str(FIRST_ID + i), "created_at": NOW,
            "last_seen_at": NOW - timedelta(days=1), "consented_at": NOW, "onboarded_at": NOW,
            "locale": "en", "timezone": "UTC", "checkin_time": "08:00",
            "next_checkin_at": NOW - timedelta(minutes=1), "nudges": "off",
        }
        for i in range(PEOPLE)
    ]  # fmt: skip
    with bridges.store.engine.begin() as db:
        db.execute(insert(User.__table__), rows)


async def test_two_sweepers_send_each_checkin_exactly_once(db_url: str) -> None:
    fake = FakeBotApi()
    async with AsyncExitStack() as stack:
        processes = []
        for _ in range(2):  # two bot processes: own engine, own Application, same database
            bridges = Bridges.open(db_url)
            stack.callback(bridges.close)
            app = build_application(
                bridges, FAKE_TOKEN, request=InProcessRequest(fake),
                updates_request=InProcessRequest(fake), clock=lambda: NOW, rate_limit=False,
            )  # fmt: skip
            await stack.enter_async_context(running(app))
            processes.append((Sweeper(bridges, lambda: NOW, batch=100), app))
        seed_due_people(processes[0][0].bridges)

        sent = await asyncio.gather(*(sweeper.sweep(app) for sweeper, app in processes))

    per_chat = Counter(call.params["chat_id"] for call in fake.calls_to("sendMessage"))
    assert sum(sent) == PEOPLE
    assert len(per_chat) == PEOPLE
    assert set(per_chat.values()) == {1}, "someone got the check-in twice"
    if "postgresql" in db_url:
        assert min(sent) > 0, f"SKIP LOCKED should let both sweep in parallel: {sent}"
