"""Two bot processes sweeping one database: every due person gets exactly one check-in.

Each sweeper takes each due person in a transaction of their own, under the person's
row lock, checking there that the check-in is still due (bot/due_turn.py). So when two
sweepers read the same candidates, the second finds the time already moved and writes
nothing: one set of outbox rows per person, whichever sweeper wrote it. Runs on SQLite
and, with TEST_DATABASE_URL, on PostgreSQL (where both sweep at once).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select

from bot.core import Bridges
from bot.scheduler import Sweeper
from bot.sender import Sender
from bot.telegram_app import build_application
from storage.outbox import Pending
from storage.tables import OutboxRow, User
from tests.fakebot import FAKE_TOKEN, FakeBotApi, InProcessRequest, running

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
PEOPLE = 1000
FIRST_ID = 500_000
USERS = User.__table__
OUTBOX = OutboxRow.__table__


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
        db.execute(insert(USERS), rows)


async def test_two_sweepers_send_each_checkin_exactly_once(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On PostgreSQL the sent journal is written to the working directory
    # (storage/sent_journal.py): in tmp_path, not in the checkout the suite runs from.
    monkeypatch.chdir(tmp_path)
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
        for _, app in processes:  # the sweep only queues; its process's sender sends
            sender: Sender = app.bot_data["adapter"].intake.sender
            await sender.idle()

    per_chat = Counter(call.params["chat_id"] for call in fake.calls_to("sendMessage"))
    assert sum(sent) == PEOPLE
    assert len(per_chat) == PEOPLE
    assert set(per_chat.values()) == {1}, "someone got the check-in twice"
    if "postgresql" in db_url:
        assert min(sent) > 0, f"both should sweep in parallel: {sent}"


class Keeps:
    """A sender that keeps what it is given and sends nothing: the outbox rows stay."""

    def __init__(self) -> None:
        self.items: list[Pending] = []

    def enqueue(self, items: Any) -> None:
        self.items.extend(items)


async def test_two_sweepers_write_one_set_of_outbox_rows_per_person(db_url: str) -> None:
    """The outbox itself: each person's check-in rows written once, by one sweeper, and
    their due time and unanswered count moved once."""
    everyone = [Bridges.open(db_url) for _ in range(2)]
    try:
        seed_due_people(everyone[0])
        senders = [Keeps(), Keeps()]
        sweepers = [
            Sweeper(bridges, lambda: NOW, sender=sender, batch=100)  # type: ignore[arg-type]
            for bridges, sender in zip(everyone, senders, strict=True)
        ]
        counts = await asyncio.gather(*(s.sweep(None) for s in sweepers))
        with everyone[0].store.engine.connect() as db:
            rows = list(db.execute(select(OUTBOX.c.id, OUTBOX.c.chat_id, OUTBOX.c.origin)))
            users = list(db.execute(select(USERS.c.next_checkin_at, USERS.c.unanswered)))
    finally:
        for bridges in everyone:
            bridges.close()

    by_sweeper = [{p.chat_id for p in sender.items} for sender in senders]
    assert by_sweeper[0].isdisjoint(by_sweeper[1]), "a person's check-in written twice"
    assert by_sweeper[0] | by_sweeper[1] == {FIRST_ID + i for i in range(PEOPLE)}
    assert list(counts) == [len(chats) for chats in by_sweeper]
    # What the senders were given is exactly what the outbox holds, one set per person.
    given = sorted(p.id for sender in senders for p in sender.items)
    assert given == sorted(r.id for r in rows)
    per_chat = Counter(r.chat_id for r in rows)
    assert len(set(per_chat.values())) == 1, "people got different numbers of rows"
    assert {r.origin for r in rows} == {"checkin"}
    tomorrow = NOW + timedelta(days=1)
    assert {(at if at.tzinfo else at.replace(tzinfo=UTC), n) for at, n in users} == {(tomorrow, 1)}
    print(f"\n[{db_url.split(':')[0]}] outbox rows per sweeper: {counts}")
    if "postgresql" in db_url:
        assert min(counts) > 0, f"both should sweep in parallel: {counts}"
