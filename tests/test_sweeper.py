"""The sweep that sends morning check-ins, end to end with a controlled clock.

The real PTB Application runs on the fake Bot API; the tests move a clock object
and call `Sweeper.sweep` directly instead of waiting for the JobQueue. The first
tests are the due-time rule itself (storage.repository.planned_checkin).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.core import Bridges
from bot.scheduler import Sweeper, pseudonym
from bot.telegram_app import build_application
from dialogs.model import Profile
from storage.repository import planned_checkin
from storage.tables import Conversation, User
from tests.fakebot import FAKE_TOKEN, ChatDriver, FakeBotApi, InProcessRequest, running
from tests.telegram_harness import Harness, onboard

USERS = User.__table__
START = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)  # a Sunday evening in UTC
FIRST_PROMPT = "How are you arriving today?"


class Clock:
    """The time the adapter and the sweeper see; tests move it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, at: datetime) -> None:
        self.now = at


@dataclass
class Bot:
    tg: Harness
    sweeper: Sweeper
    clock: Clock

    async def sweep(self) -> int:
        return await self.sweeper.sweep(self.tg.app)

    def next_checkin(self, user_id: int) -> datetime | None:
        return self._column(user_id, USERS.c.next_checkin_at)

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
) -> AsyncIterator[Bot]:
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
    sweeper = Sweeper(bridges, clock, backoff_seconds=0.01)
    try:
        async with running(app):
            yield Bot(Harness(fake, app, bridges), sweeper, clock)
    finally:
        bridges.close()


def received(chat: ChatDriver) -> list[str]:
    return [m.text or "" for m in chat.messages()]


async def new_messages(bot: Bot, chat: ChatDriver) -> list[str]:
    before = len(chat.messages())
    await bot.sweep()
    return received(chat)[before:]


# --- the rule: when is the next check-in, after a turn ------------------------------

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PLANNED = datetime(2026, 3, 2, 7, 30, tzinfo=UTC)
LISBON_8 = Profile(onboarded=True, timezone="Europe/Lisbon", checkin_time="08:00")


@pytest.mark.parametrize(
    ("profile", "current", "active", "replan", "expected"),
    [
        # Nothing planned yet: the next 08:00 in Lisbon (UTC+0 in March) after noon.
        (LISBON_8, None, True, False, datetime(2026, 3, 2, 8, 0, tzinfo=UTC)),
        # Planned already, nothing changed: kept as is (the sweep advanced it).
        (LISBON_8, PLANNED, True, False, PLANNED),
        # Zone or time changed, or they came back: planned again from now.
        (LISBON_8, PLANNED, True, True, datetime(2026, 3, 2, 8, 0, tzinfo=UTC)),
        # A half-hour zone: 08:00 in Kolkata is 02:30 UTC.
        (
            Profile(onboarded=True, timezone="Asia/Kolkata", checkin_time="08:00"),
            None,
            True,
            False,
            datetime(2026, 3, 2, 2, 30, tzinfo=UTC),
        ),
        # Check-ins switched off, onboarding unfinished, or the bot blocked: nothing.
        (Profile(onboarded=True, timezone="Europe/Lisbon"), PLANNED, True, True, None),
        (Profile(timezone="Europe/Lisbon", checkin_time="08:00"), None, True, False, None),
        (LISBON_8, PLANNED, False, False, None),
        # A zone that does not exist never breaks the turn.
        (Profile(onboarded=True, timezone="Mars/Olympus", checkin_time="08:00"), None, True,
         False, None),
    ],
)  # fmt: skip
def test_the_next_checkin_after_a_turn(
    profile: Profile,
    current: datetime | None,
    active: bool,
    replan: bool,
    expected: datetime | None,
) -> None:
    assert planned_checkin(profile, current, active, replan, NOW) == expected


# --- end to end -------------------------------------------------------------------


async def test_the_sweep_job_is_registered_on_the_job_queue(tmp_path: Path) -> None:
    async with bridges_with_clock(tmp_path, Clock(START), sweep_seconds=7) as bot:
        assert bot.tg.app.job_queue is not None
        jobs = bot.tg.app.job_queue.get_jobs_by_name("sweep")
        assert len(jobs) == 1
        assert jobs[0].job.trigger.interval == timedelta(seconds=7)
        assert isinstance(bot.tg.app.bot_data["sweeper"], Sweeper)


async def test_no_sweep_job_unless_asked(tmp_path: Path) -> None:
    async with bridges_with_clock(tmp_path, Clock(START)) as bot:
        assert bot.tg.app.job_queue is not None
        assert bot.tg.app.job_queue.get_jobs_by_name("sweep") == ()


# Everyone chooses 8:00; the sweep finds each at 8:00 their time, never before.
ZONES = [  # (city typed in onboarding, user id, 08:00 local in UTC after START)
    ("Tokyo", 2001, datetime(2026, 11, 22, 23, 0, tzinfo=UTC)),  # UTC+9
    ("Kolkata", 2002, datetime(2026, 11, 23, 2, 30, tzinfo=UTC)),  # UTC+5:30
    ("Berlin", 2003, datetime(2026, 11, 23, 7, 0, tzinfo=UTC)),  # UTC+1
    ("Lisbon", 2004, datetime(2026, 11, 23, 8, 0, tzinfo=UTC)),  # UTC+0
    ("New York", 2005, datetime(2026, 11, 23, 13, 0, tzinfo=UTC)),  # UTC-5
]


async def test_each_person_is_checked_in_at_eight_their_time(tmp_path: Path) -> None:
    clock = Clock(START)
    async with bridges_with_clock(tmp_path, clock) as bot:
        chats = {}
        for city, user_id, local_eight in ZONES:
            chats[user_id] = bot.tg.chat(user_id)
            await onboard(chats[user_id], city, "8:00")
            assert bot.next_checkin(user_id) == local_eight, city

        for city, user_id, local_eight in ZONES:
            clock.set(local_eight - timedelta(minutes=1))
            assert await new_messages(bot, chats[user_id]) == [], f"{city}: too early"
            assert bot.next_checkin(user_id) == local_eight

            clock.set(local_eight)
            arrived = await new_messages(bot, chats[user_id])
            assert any(FIRST_PROMPT in text for text in arrived), city
            assert bot.next_checkin(user_id) == local_eight + timedelta(days=1), city
            # Nobody else was reached at someone else's 8:00.
            others = [chats[u] for _, u, t in ZONES if u != user_id and t > local_eight]
            assert all(FIRST_PROMPT not in " ".join(received(c)) for c in others)

        # A second sweep at the same instant sends nothing again.
        assert await bot.sweep() == 0


async def test_after_downtime_an_hour_late_is_sent_five_hours_late_is_skipped(
    tmp_path: Path,
) -> None:
    clock = Clock(START)
    eight = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # 08:00 in Lisbon
    async with bridges_with_clock(tmp_path, clock) as bot:
        ada = bot.tg.chat(3001)
        await onboard(ada, "Lisbon", "8:00")
        clock.set(eight + timedelta(hours=1))  # the bot was down from 07:30 to 09:00
        arrived = await new_messages(bot, ada)
        assert any(FIRST_PROMPT in text for text in arrived)
        assert bot.next_checkin(3001) == eight + timedelta(days=1)

    clock = Clock(START)
    (tmp_path / "later").mkdir()
    async with bridges_with_clock(tmp_path / "later", clock) as bot:
        bo = bot.tg.chat(3002)
        await onboard(bo, "Lisbon", "8:00")
        turns = bot.turns(3002)
        clock.set(eight + timedelta(hours=5))  # down until 13:00: too late for "good morning"
        assert await new_messages(bot, bo) == []
        assert bot.turns(3002) == turns  # the engine never saw a stale check-in
        # Planned from now: tomorrow morning, and only one.
        assert bot.next_checkin(3002) == eight + timedelta(days=1)
        clock.set(eight + timedelta(days=1))
        arrived = await new_messages(bot, bo)
        assert sum(FIRST_PROMPT in text for text in arrived) == 1
        # Down for days: no burst of old mornings, just the next one from now.
        clock.set(eight + timedelta(days=4, hours=5))
        late = await new_messages(bot, bo)  # a gentle nudge may be due by now; no check-in
        assert not any(FIRST_PROMPT in text for text in late)
        assert bot.next_checkin(3002) == eight + timedelta(days=5)


async def test_a_person_who_blocked_the_bot_gets_nothing_until_they_write_again(
    tmp_path: Path,
) -> None:
    clock = Clock(START)
    eight = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    async with bridges_with_clock(tmp_path, clock) as bot:
        ada = bot.tg.chat(4001)
        await onboard(ada, "Lisbon", "8:00")
        clock.set(eight)
        bot.tg.fake.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
        assert await new_messages(bot, ada) == []
        assert not bot.active(4001)
        assert bot.next_checkin(4001) is None

        clock.set(eight + timedelta(days=1))
        assert await new_messages(bot, ada) == []

        # A week later they unblock the bot and say hello: planned again from then.
        clock.set(eight + timedelta(days=7, hours=2))
        await ada.send("/menu")
        assert bot.active(4001)
        assert bot.next_checkin(4001) == eight + timedelta(days=8)
        clock.set(eight + timedelta(days=8))
        arrived = await new_messages(bot, ada)
        assert any(FIRST_PROMPT in text for text in arrived)


async def test_retry_after_is_honoured_and_the_checkin_still_arrives(tmp_path: Path) -> None:
    clock = Clock(START)
    eight = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    async with bridges_with_clock(tmp_path, clock, rate_limit=True) as bot:
        ada = bot.tg.chat(5001)
        await onboard(ada, "Lisbon", "8:00")
        clock.set(eight)
        bot.tg.fake.fail_next("sendMessage", 429, retry_after=1)  # the shortest Telegram says
        arrived = await new_messages(bot, ada)
        assert any(FIRST_PROMPT in text for text in arrived)
        assert bot.active(5001)
        # AIORateLimiter waited and retried: a refused call, then the same one accepted.
        sends = [c for c in bot.tg.fake.calls_to("sendMessage") if c.params["chat_id"] == 5001]
        refused = [c for c in sends if c.error_code == 429]
        assert len(refused) == 1
        retried = sends[sends.index(refused[0]) + 1]
        assert retried.error_code is None and retried.params["text"] == refused[0].params["text"]
        assert retried.at - refused[0].at >= 1.0


async def test_other_send_errors_are_retried_a_few_times_and_logged_without_text(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock(START)
    eight = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    async with bridges_with_clock(tmp_path, clock) as bot:
        ada, bo = bot.tg.chat(6001), bot.tg.chat(6002)
        await onboard(ada, "Lisbon", "8:00")
        await onboard(bo, "Lisbon", "9:00")

        # One hiccup: retried, and the check-in arrives.
        clock.set(eight)
        bot.tg.fake.fail_next("sendMessage", 500, "Internal Server Error")
        arrived = await new_messages(bot, ada)
        assert any(FIRST_PROMPT in text for text in arrived)

        # Telegram keeps failing: three attempts, then given up and logged.
        clock.set(eight + timedelta(hours=1))
        for _ in range(3):
            bot.tg.fake.fail_next("sendMessage", 500, "Internal Server Error")
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="bridges.scheduler"):
            assert await new_messages(bot, bo) == []
        failures = [r.getMessage() for r in caplog.records if r.name == "bridges.scheduler"]
        assert len(failures) == 3
        assert "giving up" in failures[-1]
        assert all(pseudonym("6002") in line for line in failures)
        assert not any("6002" in line or "arriving" in line for line in failures)
        assert bot.active(6002)  # not blocked: tomorrow is another day
        assert bot.next_checkin(6002) == eight + timedelta(days=1, hours=1)


async def test_a_paused_person_gets_no_checkin_until_the_pause_ends(tmp_path: Path) -> None:
    clock = Clock(START)
    eight = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    async with bridges_with_clock(tmp_path, clock) as bot:
        ada = bot.tg.chat(7001)
        await onboard(ada, "Lisbon", "8:00")
        bot.set_column(7001, paused_until=eight + timedelta(days=1, hours=12))
        for day in (0, 1):
            clock.set(eight + timedelta(days=day))
            assert await new_messages(bot, ada) == []
        clock.set(eight + timedelta(days=2))
        arrived = await new_messages(bot, ada)
        assert any(FIRST_PROMPT in text for text in arrived)


async def test_changing_zone_or_time_in_settings_moves_the_next_checkin(tmp_path: Path) -> None:
    clock = Clock(START)
    async with bridges_with_clock(tmp_path, clock) as bot:
        ada = bot.tg.chat(8001)
        await onboard(ada, "Lisbon", "8:00")
        assert bot.next_checkin(8001) == datetime(2026, 11, 23, 8, 0, tzinfo=UTC)

        await ada.send("/menu")
        await ada.click("Settings")
        await ada.click("Time zone")
        await ada.send("Tokyo")
        assert bot.tg.state(8001).profile.timezone == "Asia/Tokyo"
        assert bot.next_checkin(8001) == datetime(2026, 11, 22, 23, 0, tzinfo=UTC)

        await ada.send("/menu")
        await ada.click("Settings")
        await ada.click("Morning check-in time")
        await ada.click("9:00")
        assert bot.next_checkin(8001) == datetime(2026, 11, 23, 0, 0, tzinfo=UTC)

        await ada.send("/menu")
        await ada.click("Settings")
        await ada.click("Morning check-in time")
        await ada.click("No check-ins")
        assert bot.next_checkin(8001) is None

        clock.set(datetime(2026, 11, 23, 0, 0, tzinfo=UTC))
        assert await new_messages(bot, ada) == []
