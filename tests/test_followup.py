"""The gentle follow-up after a crisis screen, delivered by the sweep with a controlled clock.

The real PTB Application on the fake Bot API; the tests move a clock and call
`Sweeper.sweep` themselves. The sweep's part (claim once, not paused, not counted as
unanswered, dropped when 12 hours late, blocked people) is tested with a stand-in for
the dialog manager's follow-up turn, so it holds whatever the follow-up says. The last tests
run the whole path: "No, I'm not safe" on the crisis screen, then the real follow-up.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.scheduler import FOLLOWUP_STALE
from dialogs.model import Due, Event, Reply, Turn, UserState
from tests.fakebot import ChatDriver
from tests.telegram_harness import (
    START,
    USERS,
    Clock,
    ClockedBot,
    bridges_with_clock,
    onboard,
    received,
)

CRISIS = "honestly I just want to die"
STAND_IN = "common/picking_up"  # any short prompt: what the follow-up says is the dialog manager's


def follow_ups_answered_by_stand_in(bot: ClockedBot) -> list[Event]:
    """Make the dialog manager answer Due("followup") with one short message; returns the events
    the dialog manager saw, so a test can tell whether a turn ran at all."""
    manager = bot.tg.bridges.manager
    real: Callable[[UserState, Event, datetime], Turn] = manager.step
    seen: list[Event] = []

    def step(state: UserState, event: Event, now: datetime) -> Turn:
        seen.append(event)
        if event == Due("followup"):
            turn = Turn(state.copy(), replies=[Reply(STAND_IN)])
            turn.state.profile.followup_at = None
            return turn
        return real(state, event, now)

    manager.step = step  # type: ignore[method-assign]
    return seen


def column(bot: ClockedBot, user_id: int, name: str) -> Any:
    return bot._column(user_id, USERS.c[name])


async def sweep_and_read(bot: ClockedBot, chat: ChatDriver) -> list[str]:
    before = len(chat.messages())
    await bot.sweep()
    return received(chat)[before:]


# START is Sunday 20:00 UTC: Lisbon's check-in is Monday 08:00 and the quiet hours
# (21:00-08:00) hold nudges back, so before then the follow-up is the only thing due.
DUE = START + timedelta(hours=1)


async def test_a_due_followup_is_sent_once_even_while_paused_and_not_counted(
    tmp_path: Path,
) -> None:
    clock = Clock(START)
    async with bridges_with_clock(tmp_path, clock) as bot:
        ada = bot.tg.chat(9101)
        await onboard(ada, "Lisbon", "8:00")
        seen = follow_ups_answered_by_stand_in(bot)
        bot.set_column(9101, followup_at=DUE, paused_until=DUE + timedelta(days=3))

        clock.set(DUE - timedelta(minutes=1))
        assert await sweep_and_read(bot, ada) == []
        assert column(bot, 9101, "followup_at") == DUE

        clock.set(DUE + timedelta(minutes=2))  # in their quiet hours, and paused: still sent
        arrived = await sweep_and_read(bot, ada)
        assert len(arrived) == 1
        assert seen.count(Due("followup")) == 1
        assert column(bot, 9101, "followup_at") is None
        assert column(bot, 9101, "unanswered") == 0  # not coaching: no back-off from it

        clock.set(DUE + timedelta(minutes=30))
        assert await sweep_and_read(bot, ada) == []  # once only
        assert seen.count(Due("followup")) == 1


async def test_nobody_without_a_planned_followup_gets_one(tmp_path: Path) -> None:
    clock = Clock(START)
    async with bridges_with_clock(tmp_path, clock) as bot:
        bo = bot.tg.chat(9102)
        await onboard(bo, "Lisbon", "8:00")
        seen = follow_ups_answered_by_stand_in(bot)
        for hours in (1, 2, 6):
            clock.set(START + timedelta(hours=hours))
            assert await sweep_and_read(bot, bo) == []
        assert Due("followup") not in seen


@pytest.mark.parametrize(
    ("late", "sent"),
    [
        (timedelta(hours=3), True),  # the bot was down a few hours: still kind to ask
        (FOLLOWUP_STALE - timedelta(minutes=1), True),
        (FOLLOWUP_STALE + timedelta(minutes=1), False),  # a day-old reminder: dropped
    ],
)
async def test_a_followup_late_after_downtime_is_sent_unless_12_hours_late(
    tmp_path: Path, late: timedelta, sent: bool
) -> None:
    clock = Clock(START)
    async with bridges_with_clock(tmp_path, clock) as bot:
        ada = bot.tg.chat(9103)
        await onboard(ada, "Lisbon", "8:00")
        seen = follow_ups_answered_by_stand_in(bot)
        bot.set_column(9103, followup_at=DUE, next_checkin_at=None, next_nudge_at=None)
        clock.set(DUE + late)
        arrived = await sweep_and_read(bot, ada)
        assert len(arrived) == (1 if sent else 0)
        assert (Due("followup") in seen) is sent  # a dropped one never reaches the dialog manager
        assert column(bot, 9103, "followup_at") is None  # either way, never again


async def test_a_blocked_person_is_marked_inactive_and_not_retried(tmp_path: Path) -> None:
    clock = Clock(START)
    async with bridges_with_clock(tmp_path, clock) as bot:
        ada = bot.tg.chat(9104)
        await onboard(ada, "Lisbon", "8:00")
        follow_ups_answered_by_stand_in(bot)
        bot.set_column(9104, followup_at=DUE)
        clock.set(DUE)
        bot.tg.fake.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
        assert await sweep_and_read(bot, ada) == []
        assert not bot.active(9104)
        assert column(bot, 9104, "followup_at") is None
        clock.set(DUE + timedelta(hours=1))
        assert await sweep_and_read(bot, ada) == []


# --- the whole path: the crisis screen plans it, the sweep delivers it ---------------------


async def test_not_safe_brings_exactly_one_followup_later_and_nobody_else_gets_one(
    tmp_path: Path,
) -> None:
    clock = Clock(START)
    async with bridges_with_clock(tmp_path, clock) as bot:
        ada, bo = bot.tg.chat(9201), bot.tg.chat(9202)
        await onboard(ada, "Lisbon", "8:00")
        await onboard(bo, "Lisbon", "8:00")

        await ada.send(CRISIS)
        await ada.click("No, I'm not safe")
        planned = bot.tg.state(9201).profile.followup_at
        assert planned is not None, "the crisis screen planned no follow-up"
        # "Not safe": about an hour later, even though 21:00 in Lisbon is in quiet hours.
        assert START < planned <= START + timedelta(hours=2)
        assert bot.tg.state(9202).profile.followup_at is None

        clock.set(planned - timedelta(minutes=1))
        assert await sweep_and_read(bot, ada) == []

        clock.set(planned + timedelta(minutes=1))
        arrived = await sweep_and_read(bot, ada)
        assert len(arrived) == 1, ada.transcript()
        # Not safe: the follow-up keeps the emergency number in view.
        assert "112" in arrived[0], arrived[0]
        assert bot.tg.state(9201).profile.followup_at is None
        assert column(bot, 9201, "unanswered") == 0

        clock.set(planned + timedelta(hours=2))
        assert await sweep_and_read(bot, ada) == []  # exactly one
        assert await sweep_and_read(bot, bo) == []  # never saw a crisis screen: nothing
        assert not any("die" in text for text in received(bo))
