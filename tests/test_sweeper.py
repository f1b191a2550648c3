"""The sweep that sends morning check-ins, end to end with a controlled clock.

The real PTB Application runs on the fake Bot API; the tests move a clock object
and call `Sweeper.sweep` directly instead of waiting for the JobQueue. The first
tests are the due-time rule itself (storage.repository.planned_checkin).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import OperationalError

from bot import scheduler
from bot.scheduler import Sweeper
from dialogs.model import Profile
from storage import outbox
from storage.outbox import LEASE, Pending
from storage.repository import planned_checkin
from tests.telegram_harness import (
    FIRST_PROMPT,
    START,
    USERS,
    Clock,
    ClockedBot,
    bridges_with_clock,
    new_messages,
    onboard,
    received,
)

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
        # The engine never saw a stale check-in. No reminder either: they noted nothing
        # yet, so no weekly review is planned (dialogs/reminders.py).
        assert bot.turns(3002) == turns
        assert bot.next_reminder(3002) is None
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


async def test_send_errors_are_retried_by_the_sender_and_logged_without_text(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The sweep only queues; the sender retries, and the check-in arrives exactly once."""
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
        assert sum(FIRST_PROMPT in text for text in arrived) == 1

        # Telegram fails a few times in a row: retried with backoff, logged by type only.
        clock.set(eight + timedelta(hours=1))
        for _ in range(3):
            bot.tg.fake.fail_next("sendMessage", 500, "Internal Server Error")
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            arrived = await new_messages(bot, bo)
        assert sum(FIRST_PROMPT in text for text in arrived) == 1
        failures = [r.getMessage() for r in caplog.records if r.name.startswith("bridges.")]
        assert len(failures) == 3 and all("NetworkError" in line for line in failures)
        assert not any("6002" in line or "arriving" in line for line in failures)
        assert bot.active(6002)  # not blocked
        assert bot.next_checkin(6002) == eight + timedelta(days=1, hours=1)
        assert (await bot.outbox()) == []  # each row deleted once Telegram took it
        assert await new_messages(bot, bo) == []  # the next sweep sends nothing again


async def test_a_checkin_whose_send_timed_out_after_delivery_is_never_sent_twice(
    tmp_path: Path,
) -> None:
    clock = Clock(START)
    eight = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    async with bridges_with_clock(tmp_path, clock) as bot:
        ada = bot.tg.chat(6101)
        await onboard(ada, "Lisbon", "8:00")
        clock.set(eight)
        bot.tg.fake.timeout_after_delivery("sendMessage")  # delivered, the answer lost
        await bot.sweep()
        await bot.sweep()
        assert sum(FIRST_PROMPT in text for text in received(ada)) == 1
        sends = [c for c in bot.tg.fake.calls_to("sendMessage") if c.params["chat_id"] == 6101]
        assert sum(FIRST_PROMPT in str(c.params.get("text")) for c in sends) == 1
        assert (await bot.outbox()) == []


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
        await ada.click("Check-in time")
        await ada.click("9:00")
        assert bot.next_checkin(8001) == datetime(2026, 11, 23, 0, 0, tzinfo=UTC)

        await ada.send("/menu")
        await ada.click("Settings")
        await ada.click("Check-in time")
        await ada.click("No check-ins")
        assert bot.next_checkin(8001) is None

        clock.set(datetime(2026, 11, 23, 0, 0, tzinfo=UTC))
        assert await new_messages(bot, ada) == []


# --- crashes and doubles: one transaction per person ---------------------------------


async def test_a_crash_inside_a_persons_transaction_leaves_them_due_and_queues_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check-in's transaction dies after the turn, before the commit (as in a kill -9):
    that person is still due with nothing saved or queued; everyone else got theirs."""
    clock = Clock(START)
    eight = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    people = (7101, 7102, 7103)
    async with bridges_with_clock(tmp_path, clock) as bot:
        chats = {user_id: bot.tg.chat(user_id) for user_id in people}
        for chat in chats.values():
            await onboard(chat, "Lisbon", "8:00")
        turns = {user_id: bot.turns(user_id) for user_id in people}
        real_add = outbox.add

        def add(conn: Any, chat_id: int, *args: Any, **kwargs: Any) -> Any:
            if chat_id == 7102:
                raise RuntimeError("killed")  # the turn ran; the outbox write never happens
            return real_add(conn, chat_id, *args, **kwargs)

        monkeypatch.setattr(outbox, "add", add)
        clock.set(eight)
        assert await bot.sweep() == 2
        monkeypatch.undo()
        got = {user_id: sum(FIRST_PROMPT in t for t in received(c)) for user_id, c in chats.items()}
        assert got == {7101: 1, 7102: 0, 7103: 1}
        assert bot.next_checkin(7102) == eight  # still due
        assert bot.turns(7102) == turns[7102]  # its turn was rolled back with it
        assert bot._column(7102, USERS.c.unanswered) == 0
        assert bot._column(7101, USERS.c.unanswered) == 1
        assert bot.next_checkin(7101) == eight + timedelta(days=1)
        assert (await bot.outbox()) == []

        # The next sweep (this process's, or the restarted bot's) takes them; nobody twice.
        clock.set(eight + timedelta(minutes=1))
        assert await bot.sweep() == 1
        got = {user_id: sum(FIRST_PROMPT in t for t in received(c)) for user_id, c in chats.items()}
        assert got == {7101: 1, 7102: 1, 7103: 1}
        assert bot.next_checkin(7102) == eight + timedelta(days=1)


class DiesBeforeSending:
    """A sender in a process killed right after the sweep's commit: nothing goes out."""

    def __init__(self) -> None:
        self.items: list[Pending] = []

    def enqueue(self, items: Any) -> None:
        self.items.extend(items)


async def test_a_crash_after_the_commit_is_delivered_once_by_the_outbox_recovery(
    tmp_path: Path,
) -> None:
    clock = Clock(START)
    eight = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    async with bridges_with_clock(tmp_path, clock) as bot:
        ada = bot.tg.chat(7201)
        await onboard(ada, "Lisbon", "8:00")
        dead = DiesBeforeSending()
        clock.set(eight)
        assert await Sweeper(bot.tg.bridges, clock, sender=dead).sweep(bot.tg.app) == 1  # type: ignore[arg-type]
        assert not any(FIRST_PROMPT in text for text in received(ada))
        rows = await bot.outbox()
        assert rows and {(r["chat_id"], r["origin"]) for r in rows} == {(7201, "checkin")}
        assert sorted(r["id"] for r in rows) == [p.id for p in dead.items]
        assert bot.next_checkin(7201) == eight + timedelta(days=1)  # taken, with its rows
        assert await bot.sweep() == 0  # so no sweep ever writes it again

        # After the restart, once the dead process's claim on the rows has passed.
        clock.set(eight + LEASE + timedelta(seconds=1))
        await bot.tg.app.bot_data["adapter"].intake.recover()
        await bot.sender.idle()
        assert sum(FIRST_PROMPT in text for text in received(ada)) == 1
        assert (await bot.outbox()) == []


def seed_due(bot: ClockedBot, people: range, due: datetime) -> None:
    """Onboarded people (nudges off) whose check-in is due at `due`, straight into the table."""
    rows = [
        {
            "channel": "telegram", "external_id": str(user_id), "created_at": due,
            "last_seen_at": due - timedelta(days=1), "consented_at": due, "onboarded_at": due,
            "locale": "en", "timezone": "UTC", "checkin_time": "08:00",
            "next_checkin_at": due, "nudges": "off",
        }
        for user_id in people
    ]  # fmt: skip
    with bot.tg.bridges.store.engine.begin() as db:
        db.execute(insert(USERS), rows)


async def test_sweeping_twice_in_a_row_or_twice_at_once_never_doubles_a_checkin(
    tmp_path: Path,
) -> None:
    eight = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    clock = Clock(eight)
    async with bridges_with_clock(tmp_path, clock) as bot:
        seed_due(bot, range(7300, 7330), eight)
        assert await bot.sweep() == 30
        assert await bot.sweep() == 0  # in a row: nothing left due

        seed_due(bot, range(7400, 7430), eight)
        other = Sweeper(bot.tg.bridges, clock, sender=bot.sender, batch=7)
        both = await asyncio.gather(bot.sweeper.sweep(bot.tg.app), other.sweep(bot.tg.app))
        await bot.sender.idle()
        assert sum(both) == 30

        per_chat = Counter(
            c.params["chat_id"]
            for c in bot.tg.fake.calls_to("sendMessage")
            if FIRST_PROMPT in str(c.params.get("text"))
        )
        assert set(per_chat) == set(range(7300, 7330)) | set(range(7400, 7430))
        assert set(per_chat.values()) == {1}, "someone got the check-in twice"
        assert (await bot.outbox()) == []


async def test_when_the_database_fails_the_sweep_stops_soon_and_everyone_stays_due(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    eight = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    clock = Clock(eight)
    async with bridges_with_clock(tmp_path, clock) as bot:
        seed_due(bot, range(7500, 7510), eight)
        tried: list[str] = []

        def database_away(_bridges: Any, key: Any, *_args: Any) -> Any:
            tried.append(key.external_id)
            raise OperationalError("SELECT ...", {}, Exception("the server closed the connection"))

        monkeypatch.setattr(scheduler, "run_due", database_away)
        with caplog.at_level(logging.WARNING, logger="bridges.scheduler"):
            assert await bot.sweep() == 0
        assert len(tried) == scheduler.DB_ERRORS_TO_STOP  # not all ten, one after another
        assert any("the rest stay due" in r.getMessage() for r in caplog.records)
        assert not any("closed the connection" in r.getMessage() for r in caplog.records)
        monkeypatch.undo()
        assert all(bot.next_checkin(user_id) == eight for user_id in range(7500, 7510))
        assert await bot.sweep() == 10  # the database is back: everyone, once
