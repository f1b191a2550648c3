"""Nudges end to end with a controlled clock, and check-ins across DST changes.

Same set-up as tests/test_sweeper.py: the real PTB Application on the fake Bot API,
a clock object the tests move, `Sweeper.sweep` called directly. Settings are
changed the way a person changes them (/menu → Settings, /pause), so the due
times are planned by storage exactly as in production.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

from dialogs.model import Profile
from storage.repository import planned_nudge
from tests.fakebot import ChatDriver
from tests.telegram_harness import (
    FIRST_PROMPT,
    USERS,
    Clock,
    ClockedBot,
    bridges_with_clock,
    received,
)

NUDGE = "A gentle nudge"
START = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)  # a Monday, midday in Lisbon


async def onboard_at(chat: ChatDriver, city: str, checkin: str = "No check-ins") -> None:
    """Onboarding with a typed check-in time ("8:30") or a button ("No check-ins")."""
    await chat.send("/start")
    await chat.click("Tell me more")
    await chat.click("Okay, got it")
    await chat.click("Yes, keep my answers")
    await chat.send(city)
    if checkin[0].isdigit():
        await chat.send(checkin)
    else:
        await chat.click(checkin)
    await chat.click("Skip for now")
    await chat.click("Maybe later")


async def settings(chat: ChatDriver, item: str, choice: str) -> None:
    await chat.send("/menu")
    await chat.click("Settings")
    await chat.click(item)
    await chat.click(choice)


def next_nudge_at(bot: ClockedBot, user_id: int) -> datetime | None:
    return bot._column(user_id, USERS.c.next_nudge_at)


def within_a_week(times: list[datetime]) -> int:
    """The most nudges in any 7-day window."""
    return max((sum(0 <= (u - t).days < 7 for u in times) for t in times), default=0)


def local_hours(times: Iterable[datetime], zone: str) -> list[int]:
    return [t.astimezone(ZoneInfo(zone)).hour for t in times]


async def run(
    bot: ClockedBot,
    chats: dict[int, ChatDriver],
    until: datetime,
    step: timedelta,
    answering: Iterable[int] = (),
) -> dict[int, list[datetime]]:
    """Sweep every `step` until `until`; when each person got a nudge. The people in
    `answering` tap the first button of every nudge right away."""
    got: dict[int, list[datetime]] = {user_id: [] for user_id in chats}
    seen = {user_id: len(chat.messages()) for user_id, chat in chats.items()}
    while bot.clock.now < until:
        bot.clock.set(bot.clock.now + step)
        await bot.sweep()
        for user_id, chat in chats.items():
            new = received(chat)[seen[user_id] :]
            if any(NUDGE in text for text in new):
                got[user_id].append(bot.clock.now)
                if user_id in answering:
                    await chat.click(chat.buttons()[0])
            seen[user_id] = len(chat.messages())
    return got


# --- the rule: when is the next nudge, after a turn ---------------------------------

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # noon in Lisbon (UTC+0 in March)
LISBON = Profile(onboarded=True, timezone="Europe/Lisbon", nudges="daily")


def test_the_next_nudge_after_a_turn() -> None:
    tomorrow = NOW + timedelta(days=1)
    assert planned_nudge(LISBON, None, True, False, NOW) == tomorrow
    assert planned_nudge(LISBON, tomorrow, True, False, NOW) == tomorrow  # kept
    # Off, not onboarded, blocked, or a broken zone: nothing planned.
    assert planned_nudge(Profile(onboarded=True, timezone="Europe/Lisbon", nudges="off"),
                         tomorrow, True, True, NOW) is None  # fmt: skip
    assert planned_nudge(Profile(timezone="Europe/Lisbon"), None, True, False, NOW) is None
    assert planned_nudge(LISBON, tomorrow, False, False, NOW) is None
    assert planned_nudge(Profile(onboarded=True, timezone="Mars/Olympus"), None, True, False,
                         NOW) is None  # fmt: skip
    # They just wrote: a nudge planned sooner waits until 3 hours after.
    soon = NOW + timedelta(hours=1)
    assert planned_nudge(LISBON, soon, True, False, NOW, last_seen_at=NOW) == NOW + timedelta(
        hours=3
    )
    # Replanned (settings changed): backed off by unanswered, out of quiet hours.
    assert planned_nudge(LISBON, soon, True, True, NOW, unanswered=2) == NOW + timedelta(days=2)
    evening = NOW + timedelta(hours=9)  # 21:00 Lisbon: the next day's nudge waits for 08:00
    assert planned_nudge(LISBON, None, True, False, evening) == datetime(
        2026, 3, 4, 8, 0, tzinfo=UTC
    )


# --- three weeks of hourly sweeps -----------------------------------------------------


async def test_three_weeks_of_nudges_follow_each_persons_settings(tmp_path: Path) -> None:
    clock = Clock(START)
    async with bridges_with_clock(tmp_path, clock) as bot:
        people = {
            9001: ("Lisbon", "off", None),
            9002: ("Lisbon", "Gentle", None),  # never answers
            9003: ("Lisbon", "Daily", None),  # answers every nudge
            9004: ("Tokyo", "Daily", "20:00–09:00"),  # answers, a wider quiet window
            9005: ("Lisbon", "Daily", None),  # never answers: backs off
            9006: ("Kolkata", "Daily", None),  # answers, but paused for a week first
        }
        chats: dict[int, ChatDriver] = {}
        for user_id, (city, frequency, quiet) in people.items():
            chats[user_id] = bot.tg.chat(user_id)
            await onboard_at(chats[user_id], city)
            await settings(chats[user_id], "How often to nudge", frequency)
            if quiet:
                await settings(chats[user_id], "Quiet hours", quiet)
        await chats[9006].send("/pause")
        await chats[9006].click("For a week")
        pause_ends = START + timedelta(days=7)
        assert bot.tg.state(9006).profile.paused_until == pause_ends
        assert next_nudge_at(bot, 9001) is None

        got = await run(
            bot, chats, START + timedelta(days=21), timedelta(hours=1), answering=(9003, 9004, 9006)
        )

    # Off: never.
    assert got[9001] == []
    # Gentle: at most 2 in any 7 days, and backed off once two went unanswered.
    gentle = got[9002]
    assert 2 <= len(gentle) <= 5 and within_a_week(gentle) <= 2
    assert all(b - a >= timedelta(days=3, hours=12) for a, b in pairwise(gentle))
    # Daily and answered: about one a day, a day apart, never in quiet hours.
    for user_id, zone, quiet in [
        (9003, "Europe/Lisbon", range(8, 21)),
        (9004, "Asia/Tokyo", range(9, 20)),
    ]:
        daily = got[user_id]
        assert 18 <= len(daily) <= 21, user_id
        gaps = [b - a for a, b in pairwise(daily)]
        assert all(timedelta(days=1) <= gap <= timedelta(days=2) for gap in gaps), user_id
        assert all(hour in quiet for hour in local_hours(daily, zone)), (user_id, daily)
    # Daily but never answered: the gaps grow, and the last week has fewer than the first.
    ignored = got[9005]
    gaps = [b - a for a, b in pairwise(ignored)]
    assert gaps == sorted(gaps) and gaps[-1] >= timedelta(days=4)
    assert sum(t < START + timedelta(days=7) for t in ignored) > sum(
        t >= START + timedelta(days=14) for t in ignored
    )
    # Paused for a week: nothing until the pause ends, then daily again.
    paused = got[9006]
    assert paused and min(paused) >= pause_ends
    assert len(paused) >= 12
    assert all(hour in range(8, 21) for hour in local_hours(paused, "Asia/Kolkata"))


async def test_no_nudge_within_three_hours_after_they_wrote(tmp_path: Path) -> None:
    clock = Clock(START)
    async with bridges_with_clock(tmp_path, clock) as bot:
        ada = bot.tg.chat(9101)
        await onboard_at(ada, "Lisbon")
        await settings(ada, "How often to nudge", "Daily")
        due = next_nudge_at(bot, 9101)
        assert due == START + timedelta(days=1)

        clock.set(due - timedelta(hours=1))
        await ada.send("/menu")  # they talk to the bot an hour before the nudge
        assert next_nudge_at(bot, 9101) == due + timedelta(hours=2)
        got = await run(bot, {9101: ada}, due + timedelta(hours=3), timedelta(minutes=30))
        assert got[9101] == [due + timedelta(hours=2)]


# --- check-ins across DST changes -----------------------------------------------------


async def checkins_over(
    bot: ClockedBot, chat: ChatDriver, zone: str, days: list[datetime], until: datetime
) -> list[datetime]:
    """Sweep every 5 minutes from 06:00 to 11:00 local on each of `days`, hourly in
    between; when each check-in arrived."""
    tz = ZoneInfo(zone)
    fine = [
        (day + timedelta(hours=6)).replace(tzinfo=tz).astimezone(UTC) + timedelta(minutes=5 * i)
        for day in days
        for i in range(5 * 12)
    ]
    coarse = []
    at = bot.clock.now
    while at < until:
        at += timedelta(hours=1)
        coarse.append(at)
    arrived = []
    for at in sorted(set(fine + coarse)):
        bot.clock.set(at)
        before = len(chat.messages())
        await bot.sweep()
        if any(FIRST_PROMPT in text for text in received(chat)[before:]):
            arrived.append(at)
    return arrived


async def test_a_0830_checkin_stays_at_0830_local_across_dst_changes(tmp_path: Path) -> None:
    cases = [  # zone, city, the DST change day, two local days either side
        ("Europe/Berlin", "Berlin", datetime(2026, 3, 29)),  # spring forward, 02:00 → 03:00
        ("America/New_York", "New York", datetime(2026, 11, 1)),  # fall back, 02:00 → 01:00
    ]
    for n, (zone, city, change) in enumerate(cases):
        tz = ZoneInfo(zone)
        days = [change + timedelta(days=d) for d in (-1, 0, 1)]
        clock = Clock((days[0] - timedelta(hours=12)).replace(tzinfo=tz).astimezone(UTC))
        (tmp_path / zone.replace("/", "_")).mkdir()
        async with bridges_with_clock(tmp_path / zone.replace("/", "_"), clock) as bot:
            chat = bot.tg.chat(9200 + n)
            await onboard_at(chat, city, "8:30")
            await settings(chat, "How often to nudge", "Off")
            until = (days[-1] + timedelta(hours=12)).replace(tzinfo=tz).astimezone(UTC)
            arrived = await checkins_over(bot, chat, zone, days, until)

        local = [t.astimezone(tz) for t in arrived]
        assert [t.date() for t in local] == [d.date() for d in days], (zone, local)
        assert all((t.hour, t.minute) == (8, 30) for t in local), (zone, local)
        # The UTC time moved by an hour across the change: the local time did not.
        assert arrived[2] - arrived[0] != timedelta(days=2), zone
